// `cadenza originality` end to end: a shard prepared from a folder of tunes, a transposed copy of a training tune
// and a new tune checked against it (files and folders, text and JSON, options), and errors naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/shard.h"
#include "midi/midi.h"
#include "score/operations.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::run_cadenza;

// A 40-note melody on the sixteenth grid; seeds give unrelated tunes.
Score tune(uint32_t seed, int ticks_per_quarter = 480) {
  uint32_t state = seed * 2654435761u + 7u;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  Score score = make_empty_score(ticks_per_quarter, 100.0, 3, 4);
  Track track;
  track.name = "melody";
  const int64_t sixteenth = ticks_per_quarter / 4;
  int64_t onset = 0;
  for (int i = 0; i < 40; ++i) {
    const int64_t length = (1 + static_cast<int64_t>(next() % 4)) * sixteenth;
    track.notes.push_back({55 + static_cast<int>(next() % 25), 90, onset, onset + length});
    onset += length;
  }
  score.tracks.push_back(track);
  score.normalize();
  return score;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Eight tunes prepared into a melody shard split between train and valid, a transposed copy of a training tune and
// a new tune in gen/.
struct Workspace {
  testing::TempDir dir;
  std::string shard = dir.file("tunes.cdz");
  std::string copy = dir.file("gen/copy.mid");
  std::string fresh = dir.file("gen/fresh.mid");
  std::string copied_source;  // the training tune the copy comes from
  size_t train = 0;
  size_t held_out = 0;

  Workspace() {
    for (uint32_t i = 0; i < 8; ++i)
      write_bytes(dir.file("tunes/tune" + std::to_string(i) + ".mid"), write_midi(tune(i + 1)));
    const auto prepared = run_cadenza("dataset prepare -i " + dir.file("tunes") +
                                      " --encoding melody --split 0.5,0.5,0 -o " + shard + " --threads 1");
    EXPECT_EQ(prepared.exit_code, 0) << prepared.output;
    const Shard opened(shard);
    const auto train_pieces = opened.pieces_in_split(Split::kTrain);
    train = train_pieces.size();
    held_out = opened.num_pieces() - train;
    if (train_pieces.empty()) return;
    copied_source = opened.metadata().sources[opened.piece(train_pieces[0]).source].path;
    const uint32_t seed = static_cast<uint32_t>(std::stoi(copied_source.substr(4))) + 1;  // "tune<i>.mid"
    write_bytes(copy, write_midi(transpose(tune(seed, 96), 3)));
    write_bytes(fresh, write_midi(tune(1000)));
  }
};

// One workspace for all the tests (preparing the shard runs the CLI); tests only add files outside tunes/ and gen/.
const Workspace& workspace() {
  static const Workspace work;
  return work;
}

TEST(CliOriginality, CopyIsFlaggedAndNewTuneIsNot) {
  const Workspace& work = workspace();
  ASSERT_GT(work.train, 0u);
  ASSERT_GT(work.held_out, 0u) << "the split should leave some tunes for the baseline";

  const auto run = run_cadenza("originality --data " + work.shard + " " + work.copy + " " + work.fresh + " --json");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto report = nlohmann::json::parse(run.output);
  EXPECT_EQ(report["grid_steps_per_quarter"], 4);
  EXPECT_EQ(report["ngram_sizes"], nlohmann::json({8, 16}));
  EXPECT_EQ(report["training"]["pieces"], work.train);
  EXPECT_EQ(report["training"]["notes"], 40 * work.train);
  ASSERT_EQ(report["pieces"].size(), 2u);

  const auto& copy = report["pieces"][0];
  EXPECT_EQ(copy["source"], work.copy);
  EXPECT_EQ(copy["notes"], 40);
  EXPECT_EQ(copy["longest"]["notes"], 40);
  EXPECT_EQ(copy["longest"]["first_note"], 1);
  EXPECT_EQ(copy["longest"]["start_bar"], 1);
  EXPECT_EQ(copy["longest"]["training_source"], work.copied_source);
  EXPECT_EQ(copy["longest"]["training_first_note"], 1);
  EXPECT_NEAR(copy["longest"]["bars"].get<double>(), copy["longest"]["quarters"].get<double>() / 3.0, 1e-9)
      << "3/4: three quarters per bar";
  EXPECT_EQ(copy["ngrams"][0]["n"], 8);
  EXPECT_EQ(copy["ngrams"][0]["total"], 33);
  EXPECT_EQ(copy["ngrams"][0]["share"], 1.0);
  EXPECT_EQ(copy["ngrams"][1]["share"], 1.0);

  const auto& fresh = report["pieces"][1];
  EXPECT_LT(fresh["longest"]["notes"].get<int>(), 8);
  EXPECT_EQ(fresh["ngrams"][0]["found"], 0);

  EXPECT_EQ(report["summary"]["pieces"], 2);
  EXPECT_EQ(report["summary"]["longest_notes"]["max"], 40);
  EXPECT_EQ(report["summary"]["longest_notes"]["max_piece"], work.copy);
  EXPECT_DOUBLE_EQ(report["summary"]["ngrams"][0]["mean_share"].get<double>(), 0.5);
  ASSERT_TRUE(report.contains("heldout"));
  EXPECT_EQ(report["heldout"]["pieces"].size(), work.held_out);
  EXPECT_EQ(report["heldout"]["summary"]["pieces"], work.held_out);
}

TEST(CliOriginality, TextReportAndFolderInput) {
  const Workspace& work = workspace();
  ASSERT_GT(work.train, 0u);
  const auto run = run_cadenza("originality --data " + work.shard + " " + work.dir.file("gen"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string& text = run.output;
  EXPECT_NE(text.find("training    " + std::to_string(work.train) + " pieces, " + std::to_string(40 * work.train) +
                      " melody notes"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1/4-quarter grid"), std::string::npos) << text;
  // The folder's files in sorted order: copy.mid, then fresh.mid.
  const size_t copy_line = text.find(work.copy + " (bar 1, note 1) <- " + work.copied_source + " (note 1)");
  ASSERT_NE(copy_line, std::string::npos) << text;
  EXPECT_NE(text.rfind("     40       40", copy_line), std::string::npos) << text;
  EXPECT_GT(text.find(work.fresh), copy_line) << text;
  EXPECT_NE(text.find("pieces      2 checked"), std::string::npos) << text;
  EXPECT_NE(text.find("max 40 notes"), std::string::npos) << text;
  EXPECT_NE(text.find("held-out    " + std::to_string(work.held_out) + " valid + test pieces"), std::string::npos)
      << text;
}

TEST(CliOriginality, OptionsChangeWhatIsMeasured) {
  const Workspace& work = workspace();
  ASSERT_GT(work.train, 0u);
  const auto run = run_cadenza("originality -d " + work.shard + " " + work.copy +
                               " --no-heldout --ngram 4 --ngram 40 --grid 12 --json");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto report = nlohmann::json::parse(run.output);
  EXPECT_FALSE(report.contains("heldout"));
  EXPECT_EQ(report["grid_steps_per_quarter"], 12);
  EXPECT_EQ(report["ngram_sizes"], nlohmann::json({4, 40}));
  const auto& ngrams = report["pieces"][0]["ngrams"];
  ASSERT_EQ(ngrams.size(), 2u);
  EXPECT_EQ(ngrams[0]["total"], 37);
  EXPECT_EQ(ngrams[1]["total"], 1);
  EXPECT_EQ(ngrams[1]["share"], 1.0);

  // Baseline only: no pieces named.
  const auto baseline = run_cadenza("originality --data " + work.shard + " --json");
  ASSERT_EQ(baseline.exit_code, 0) << baseline.output;
  const auto only = nlohmann::json::parse(baseline.output);
  EXPECT_TRUE(only["pieces"].empty());
  EXPECT_TRUE(only["summary"].is_null());
  EXPECT_EQ(only["heldout"]["pieces"].size(), work.held_out);
}

TEST(CliOriginality, ErrorsNameTheFile) {
  const Workspace& work = workspace();
  const std::string broken = work.dir.file("broken.mid");
  write_bytes(broken, {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0});
  EXPECT_CLI_ERROR(run_cadenza("originality --data " + work.shard + " " + work.copy + " " + broken),
                   {"cadenza: error: " + broken + ": byte"});

  const std::string bad_shard = work.dir.file("bad.cdz");
  write_bytes(bad_shard, std::vector<uint8_t>(200, 'x'));
  EXPECT_CLI_ERROR(run_cadenza("originality --data " + bad_shard + " " + work.copy),
                   {"cadenza: error: " + bad_shard + ": byte 0", "not a Cadenza dataset shard"});

  EXPECT_CLI_ERROR(run_cadenza("originality --data " + work.dir.file("missing.cdz") + " " + work.copy),
                   {work.dir.file("missing.cdz"), "cannot open"});

  EXPECT_CLI_ERROR(run_cadenza("originality --data " + work.shard + " " + work.dir.file("nowhere.mid")),
                   {work.dir.file("nowhere.mid") + ": no such file or folder"});

  fs::create_directories(work.dir.file("empty"));
  EXPECT_CLI_ERROR(run_cadenza("originality --data " + work.shard + " " + work.dir.file("empty")),
                   {work.dir.file("empty") + ": no .mid / .midi files"});

  EXPECT_CLI_ERROR(run_cadenza("originality --data " + work.shard + " --no-heldout"),
                   {"nothing to check", "--no-heldout"});

  // Refused by the option parser, which names the option and its range.
  const auto run = run_cadenza("originality --data " + work.shard + " " + work.copy + " --ngram 1");
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("--ngram: Value 1 not in range 2"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace cadenza
