// The JSB Chorales loader against the real data set: piece counts, an exact round trip from Scores back to the
// JSON step lists, and the SATB-separated file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "common/file_io.h"
#include "score/jsb.h"
#include "score/operations.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

using StepSets = std::vector<std::set<int>>;

const char* kSplitNames[] = {"train", "valid", "test"};
constexpr size_t kSplitSizes[] = {229, 76, 77};

std::string jsb_path(const std::string& name) {
  return testing::data_dir() + "/jsb-chorales/" + name;
}

// The JSON file as written, read independently of the loader.
nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_file_text(path));
}

// The pitches sounding at each step, rebuilt from notes (every note must sit on the step grid).
void add_notes(const std::vector<Note>& notes, int64_t step_ticks, StepSets& steps, const std::string& where) {
  for (const auto& note : notes) {
    ASSERT_EQ(note.start_tick % step_ticks, 0) << where;
    ASSERT_EQ(note.end_tick % step_ticks, 0) << where;
    for (int64_t s = note.start_tick / step_ticks; s < note.end_tick / step_ticks; ++s) {
      ASSERT_LT(static_cast<size_t>(s), steps.size()) << where << ": note past the last step";
      EXPECT_TRUE(steps[s].insert(note.pitch).second) << where << ": pitch " << note.pitch << " twice at step " << s;
    }
  }
}

// A held pitch is one note: no note of a pitch may end exactly where another of the same pitch starts.
void expect_maximal_runs(const std::vector<Note>& notes, const std::string& where) {
  std::set<std::pair<int, int64_t>> ends;
  for (const auto& note : notes) ends.insert({note.pitch, note.end_tick});
  for (const auto& note : notes)
    EXPECT_FALSE(ends.count({note.pitch, note.start_tick}))
        << where << ": run of " << note.pitch << " split at " << note.start_tick;
}

void check_combined_file(const std::string& name, int expected_steps_per_quarter) {
  const std::string path = jsb_path(name);
  const int steps_per_quarter = jsb_steps_per_quarter_from_name(path);
  ASSERT_EQ(steps_per_quarter, expected_steps_per_quarter);
  JsbOptions options;
  options.steps_per_quarter = steps_per_quarter;
  const auto pieces = load_jsb_json(path, options);
  const nlohmann::json json = read_json(path);
  ASSERT_EQ(pieces.size(), 382u);
  const int64_t step_ticks = 480 / steps_per_quarter;

  size_t position = 0;
  for (int split = 0; split < 3; ++split) {
    const auto& json_pieces = json.at(kSplitNames[split]);
    ASSERT_EQ(json_pieces.size(), kSplitSizes[split]) << name << " " << kSplitNames[split];
    for (size_t i = 0; i < json_pieces.size(); ++i, ++position) {
      const JsbPiece& piece = pieces[position];
      const std::string where = name + " " + kSplitNames[split] + " " + std::to_string(i);
      ASSERT_EQ(static_cast<int>(piece.split), split) << where;
      ASSERT_EQ(piece.index, static_cast<int>(i)) << where;
      ASSERT_EQ(piece.score.tracks.size(), 1u) << where;
      const auto& notes = piece.score.tracks[0].notes;

      StepSets expected(json_pieces[i].size());
      for (size_t s = 0; s < expected.size(); ++s)
        for (const auto& pitch : json_pieces[i][s]) expected[s].insert(static_cast<int>(pitch.get<double>()));
      StepSets rebuilt(expected.size());
      add_notes(notes, step_ticks, rebuilt, where);
      ASSERT_EQ(rebuilt, expected) << where;
      expect_maximal_runs(notes, where);

      for (const auto& note : notes) {
        EXPECT_GE(note.pitch, 21) << where;
        EXPECT_LE(note.pitch, 108) << where;
      }
      // Already on the step grid: quantizing to it changes nothing.
      EXPECT_TRUE(quantize(piece.score, steps_per_quarter) == piece.score) << where;
    }
  }
}

TEST(ScoreJsbData, QuarterFileRoundTrips) {
  CADENZA_REQUIRE_DATA("jsb-chorales");
  check_combined_file("jsb-chorales-quarter.json", 1);
}

TEST(ScoreJsbData, EighthFileRoundTrips) {
  CADENZA_REQUIRE_DATA("jsb-chorales");
  check_combined_file("jsb-chorales-8th.json", 2);
}

TEST(ScoreJsbData, SixteenthFileRoundTrips) {
  CADENZA_REQUIRE_DATA("jsb-chorales");
  check_combined_file("jsb-chorales-16th.json", 4);
}

TEST(ScoreJsbData, SeparatedFileGivesFourVoicesThatRoundTrip) {
  CADENZA_REQUIRE_DATA("jsb-chorales");
  const std::string path = jsb_path("Jsb16thSeparated.json");
  JsbOptions options;
  options.steps_per_quarter = jsb_steps_per_quarter_from_name(path);
  ASSERT_EQ(options.steps_per_quarter, 4);
  const auto pieces = load_jsb_json(path, options);
  const nlohmann::json json = read_json(path);
  ASSERT_EQ(pieces.size(), 382u);
  const char* voices[] = {"soprano", "alto", "tenor", "bass"};

  size_t position = 0;
  for (int split = 0; split < 3; ++split) {
    const auto& json_pieces = json.at(kSplitNames[split]);
    ASSERT_EQ(json_pieces.size(), kSplitSizes[split]);
    for (size_t i = 0; i < json_pieces.size(); ++i, ++position) {
      const Score& score = pieces[position].score;
      const std::string where = std::string("separated ") + kSplitNames[split] + " " + std::to_string(i);
      ASSERT_EQ(score.tracks.size(), 4u) << where;
      for (int v = 0; v < 4; ++v) {
        EXPECT_EQ(score.tracks[v].name, voices[v]) << where;
        StepSets expected(json_pieces[i].size());
        for (size_t s = 0; s < expected.size(); ++s) {
          const int pitch = json_pieces[i][s].at(v).get<int>();
          if (pitch != -1) expected[s].insert(pitch);
        }
        StepSets rebuilt(expected.size());
        add_notes(score.tracks[v].notes, 120, rebuilt, where + " " + voices[v]);
        ASSERT_EQ(rebuilt, expected) << where << " " << voices[v];
        expect_maximal_runs(score.tracks[v].notes, where);
        for (const auto& note : score.tracks[v].notes) {
          EXPECT_GE(note.pitch, 21) << where;
          EXPECT_LE(note.pitch, 108) << where;
        }
      }
    }
  }
}

}  // namespace
}  // namespace cadenza
