// `cadenza style-classifier train | classify` on a few synthetic tunes of two styles named by their file names:
// "even" (stepwise eighths) and "dotted" (dotted-eighth + sixteenth pairs with leaps), a style transition, and the
// errors a user meets.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "common/file_io.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza::testing {
namespace {

constexpr int64_t Q = 480;

// `bars` 4/4 bars of one style from bar `first_bar` on, appended to notes.
void add_bars(std::vector<Note>& notes, bool dotted, uint32_t seed, int first_bar, int bars) {
  std::mt19937 random(seed);
  int pitch = 62 + static_cast<int>(random() % 8);
  for (int64_t bar = first_bar; bar < first_bar + bars; ++bar)
    for (int64_t beat = 0; beat < 4; ++beat) {
      const int64_t at = (bar * 4 + beat) * Q;
      const int64_t split = dotted ? 3 * Q / 4 : Q / 2;
      for (const auto& [start, end] : {std::pair<int64_t, int64_t>{0, split}, {split, Q}}) {
        const int step = dotted ? static_cast<int>(random() % 9) - 4 : static_cast<int>(random() % 5) - 2;
        pitch = std::clamp(pitch + step, 55, 84);
        notes.push_back({pitch, 80, at + start, at + end});
      }
    }
}

void write_tune(const std::string& path, const std::vector<Note>& notes) {
  Score score = make_empty_score(static_cast<int>(Q), 120.0);
  Track track;
  track.name = "melody";
  track.notes = notes;
  score.tracks.push_back(track);
  score.normalize();
  write_midi_file(score, path);
}

struct StyleFixture {
  TempDir dir;
  std::string classifier = dir.file("clf.json");
  StyleFixture() {
    std::filesystem::create_directories(dir.file("real"));
    std::filesystem::create_directories(dir.file("dotted"));
    for (uint32_t i = 0; i < 16; ++i)
      for (bool dotted : {false, true}) {
        std::vector<Note> notes;
        add_bars(notes, dotted, i, 0, 8);
        write_tune(dir.file(std::string("real/") + (dotted ? "dotted" : "even") + "_" + std::to_string(i) + ".mid"),
                   notes);
      }
    for (uint32_t i = 0; i < 5; ++i) {
      std::vector<Note> notes;
      add_bars(notes, true, 1000 + i, 0, 8);
      write_tune(dir.file("dotted/new" + std::to_string(i) + ".mid"), notes);
    }
    std::vector<Note> transition;  // 8 bars even, then 8 bars dotted
    add_bars(transition, false, 500, 0, 8);
    add_bars(transition, true, 501, 8, 8);
    write_tune(dir.file("transition.mid"), transition);
  }
};

TEST(CliStyleClassifier, TrainReportsAccuracyAndClassifyMeasuresStyles) {
  StyleFixture fixture;
  CommandResult trained =
      run_cadenza("style-classifier train --input " + fixture.dir.file("real") +
                  " --style-from 'name:^([a-z]+)_' --split 0.5,0.25,0.25 --out " + fixture.classifier);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_TRUE(message_names("train", trained.output,
                            {"32 labelled", "held-out (valid+test)", "whole pieces", "4-bar windows",
                             "held-out if always", "held-out whole pieces (rows: true style", "wrote"}));
  ASSERT_TRUE(std::filesystem::exists(fixture.classifier));
  const nlohmann::json saved = nlohmann::json::parse(read_file_text(fixture.classifier));
  EXPECT_EQ(saved["format"], "cadenza-style-classifier");
  EXPECT_EQ(saved["styles"], nlohmann::json({"dotted", "even"}));
  EXPECT_EQ(saved["training"]["held_out"]["pieces"]["accuracy"], 1.0) << trained.output;

  CommandResult classified = run_cadenza("style-classifier classify -c " + fixture.classifier + " " +
                                         fixture.dir.file("dotted") + " --expect dotted");
  ASSERT_EQ(classified.exit_code, 0) << classified.output;
  EXPECT_TRUE(message_names(
      "classify", classified.output,
      {"new0.mid", "new4.mid", "classified as 'dotted': 1.000 (5/5)", "mean probability per 4-bar window"}));

  // A piece without notes (a generator can write one) is listed and counted as not of the expected style.
  write_tune(fixture.dir.file("silent.mid"), {});
  CommandResult with_silent =
      run_cadenza("style-classifier classify -c " + fixture.classifier + " " + fixture.dir.file("dotted/new0.mid") +
                  " " + fixture.dir.file("silent.mid") + " --expect dotted");
  ASSERT_EQ(with_silent.exit_code, 0) << with_silent.output;
  EXPECT_TRUE(message_names("classify", with_silent.output,
                            {"silent.mid", "(no notes)", "classified as 'dotted': 0.500 (1/2)"}));

  // The transition: the first two windows read "even", the last two "dotted".
  CommandResult moving = run_cadenza("style-classifier classify -c " + fixture.classifier + " " +
                                     fixture.dir.file("transition.mid") + " --json");
  ASSERT_EQ(moving.exit_code, 0) << moving.output;
  const nlohmann::json report = nlohmann::json::parse(moving.output);
  ASSERT_EQ(report["windows"].size(), 4u) << moving.output;
  for (int w = 0; w < 4; ++w) {
    const char* expected = w < 2 ? "even" : "dotted";
    EXPECT_GT(report["windows"][w]["mean"][expected].get<double>(), 0.9) << "window " << w << "\n" << moving.output;
    EXPECT_EQ(report["windows"][w]["files"], 1);
    EXPECT_EQ(report["windows"][w]["first_bar"], 4 * w);
  }
}

TEST(CliStyleClassifier, ErrorsNameTheProblem) {
  StyleFixture fixture;
  const std::string train = "style-classifier train --input " + fixture.dir.file("real") +
                            " --style-from 'name:^([a-z]+)_' --split 0.5,0.25,0.25 --out " + fixture.classifier;
  EXPECT_CLI_ERROR(run_cadenza(train + " --styles even,polka"),
                   {"no piece of style 'polka'", "styles found: dotted, even"});
  EXPECT_CLI_ERROR(run_cadenza(train + " --styles even"), {"only one style found", "at least two"});
  EXPECT_CLI_ERROR(run_cadenza("style-classifier train --input " + fixture.dir.file("real") +
                               " --style-from 'title' --out " + fixture.classifier),
                   {"style rule 'title'", "'folder' or 'name:REGEX'"});
  ASSERT_EQ(run_cadenza(train).exit_code, 0);
  EXPECT_CLI_ERROR(run_cadenza("style-classifier classify -c " + fixture.classifier + " " +
                               fixture.dir.file("transition.mid") + " --expect polka"),
                   {"unknown style 'polka'", "the classifier knows: dotted, even"});
  std::filesystem::create_directories(fixture.dir.file("empty"));
  EXPECT_CLI_ERROR(run_cadenza("style-classifier classify -c " + fixture.classifier + " " + fixture.dir.file("empty")),
                   {fixture.dir.file("empty"), "holds no .mid or .midi file"});
  EXPECT_CLI_ERROR(run_cadenza("style-classifier classify -c " + fixture.classifier + " " + fixture.classifier),
                   {fixture.classifier});  // not a MIDI file: the reader names it
  EXPECT_CLI_ERROR(run_cadenza("style-classifier classify -c " + fixture.classifier + " " +
                               fixture.dir.file("transition.mid") + " --track-index 3"),
                   {"transition.mid", "no track 3"});
  const std::string bad = fixture.dir.file("bad.json");
  write_file_atomic(bad, std::string_view("{\"format\": \"cadenza-style-classifier\", \"version\": 7}"));
  EXPECT_CLI_ERROR(run_cadenza("style-classifier classify -c " + bad + " " + fixture.dir.file("transition.mid")),
                   {bad, "version 7 is not supported"});
  EXPECT_CLI_ERROR(run_cadenza("style-classifier classify -c " + fixture.dir.file("none.json") + " " +
                               fixture.dir.file("transition.mid")),
                   {"none.json"});
}

}  // namespace
}  // namespace cadenza::testing
