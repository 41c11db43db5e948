// `cadenza train`, `evaluate` and `generate` end to end on a small folder of tunes written by the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::run_cadenza;

Score tune(int seed, int length) {
  Score score = make_empty_score(480, 120.0);
  Track track;
  track.name = "tune";
  for (int i = 0; i < length; ++i) track.notes.push_back({60 + (seed * 5 + i * 3) % 12, 90, i * 240, i * 240 + 240});
  score.tracks.push_back(track);
  score.normalize();
  return score;
}

// 40 tunes prepared into a melody shard (60/20/20 split).
struct PreparedTunes {
  testing::TempDir dir;
  std::string shard = dir.file("tunes.cdz");
  PreparedTunes() {
    fs::create_directories(dir.file("tunes"));
    for (int i = 0; i < 40; ++i)
      write_midi_file(tune(i, 24 + i % 9), dir.file("tunes/tune" + std::to_string(i) + ".mid"));
    const auto prepared = run_cadenza("dataset prepare --input " + dir.file("tunes") +
                                      " --encoding melody --split 0.6,0.2,0.2 --out " + shard);
    EXPECT_EQ(prepared.exit_code, 0) << prepared.output;
  }
};

std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

TEST(CliTrain, TrainEvaluateGenerateEndToEnd) {
  PreparedTunes data;
  const std::string run = data.dir.file("run");
  const auto trained = run_cadenza("train --model lstm --preset tiny --data " + data.shard + " --out " + run +
                                   " --steps 30 --set eval_every=15 --set log_every=5 --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("best validation NLL"), std::string::npos) << trained.output;
  EXPECT_TRUE(fs::exists(run + "/config.json"));
  EXPECT_TRUE(fs::exists(run + "/checkpoints/best.safetensors"));
  EXPECT_TRUE(fs::exists(run + "/checkpoints/last.safetensors"));
  const auto metrics = read_metrics(run + "/metrics.jsonl");
  int train_records = 0, valid_records = 0;
  for (const auto& record : metrics) {
    train_records += record["kind"] == "train";
    valid_records += record["kind"] == "valid";
  }
  EXPECT_EQ(train_records, 6);
  EXPECT_EQ(valid_records, 2);
  EXPECT_EQ(metrics.back()["kind"], "end");

  const auto evaluated = run_cadenza("evaluate --checkpoint " + run + " --data " + data.shard + " --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  const auto result = nlohmann::json::parse(evaluated.output.substr(evaluated.output.find('{')));
  EXPECT_GT(result["model"]["elements"].get<int64_t>(), 0);
  EXPECT_GT(result["model"]["nll"].get<double>(), 0.0);
  EXPECT_NEAR(result["model"]["perplexity"].get<double>(), std::exp(result["model"]["nll"].get<double>()), 1e-6);
  EXPECT_TRUE(result.contains("unigram_baseline"));

  const std::string out = data.dir.file("samples");
  const auto generated = run_cadenza("generate --checkpoint " + run + " --out " + out +
                                     " -n 2 --bars 4 --seed 7 --top-p 0.95");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  for (const char* name : {"sample_001.mid", "sample_002.mid"}) {
    const Score score = read_midi_file(out + "/" + name);
    EXPECT_GT(score.note_count(), 0u) << name;
    EXPECT_LE(score.end_tick(), 4 * 4 * score.ticks_per_quarter) << name << ": longer than the 4 bars asked for";
  }
  // Same seed, same piece.
  const auto again = run_cadenza("generate --checkpoint " + run + " --out " + data.dir.file("again") +
                                 " -n 1 --bars 4 --seed 7 --top-p 0.95");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(read_file_bytes(out + "/sample_001.mid"), read_file_bytes(data.dir.file("again/sample_001.mid")));
  // Beam search and a token primer.
  const auto beam = run_cadenza("generate --checkpoint " + run + " --out " + data.dir.file("beam") +
                                " --steps 24 --beam-size 3 --branch-factor 2 --primer-tokens \"NOTE_ON_60\"");
  ASSERT_EQ(beam.exit_code, 0) << beam.output;
  EXPECT_GT(read_midi_file(data.dir.file("beam/sample_001.mid")).note_count(), 0u);
}

TEST(CliTrain, InterruptSavesAndResumeContinues) {
  PreparedTunes data;
  const std::string run = data.dir.file("run");
  // SIGINT after 5 seconds of a run far too long to finish by then (loading libtorch alone takes seconds on a busy
  // machine); the same again for the resumed run.
  const std::string interrupt = "timeout --preserve-status -s INT 5 " + std::string(CADENZA_BINARY) + " train ";
  const std::string args = "--model gru --preset tiny --data " + data.shard + " --out " + run;
  const auto interrupted =
      testing::run_command(interrupt + args + " --steps 1000000 --set checkpoint_every=1000000 --threads 1");
  ASSERT_EQ(interrupted.exit_code, 130) << interrupted.output;
  EXPECT_NE(interrupted.output.find("(interrupted)"), std::string::npos) << interrupted.output;
  EXPECT_NE(interrupted.output.find("--resume"), std::string::npos) << interrupted.output;
  ASSERT_TRUE(fs::exists(run + "/checkpoints/last.safetensors"));
  const int64_t first_steps = read_metrics(run + "/metrics.jsonl").back()["step"].get<int64_t>();
  EXPECT_GT(first_steps, 0);

  // Starting again without --resume is refused; --resume with new settings is refused too.
  const auto again = run_cadenza("train " + args);
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
  const auto changed = run_cadenza("train " + args + " --resume --steps 5");
  EXPECT_NE(changed.exit_code, 0);

  const auto resumed = testing::run_command(interrupt + args + " --resume --threads 1");
  ASSERT_EQ(resumed.exit_code, 130) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
  const auto metrics = read_metrics(run + "/metrics.jsonl");
  EXPECT_GT(metrics.back()["step"].get<int64_t>(), first_steps) << "the resumed run made no progress";
  // The log reads as one run: train records strictly increase in step.
  int64_t previous = 0;
  for (const auto& record : metrics) {
    if (record["kind"] != "train") continue;
    EXPECT_GT(record["step"].get<int64_t>(), previous);
    previous = record["step"].get<int64_t>();
  }
}

TEST(CliTrain, BadInputsGetClearErrors) {
  PreparedTunes data;
  auto result = run_cadenza("train --model lstm --data " + data.dir.file("missing.cdz") + " --out " +
                            data.dir.file("r"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("missing.cdz"), std::string::npos) << result.output;
  result = run_cadenza("train --model lstm --data " + data.shard + " --out " + data.dir.file("r") +
                       " --set hiden_size=3");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("hiden_size"), std::string::npos) << result.output;
  // A checkpoint that is not one.
  write_file_atomic(data.dir.file("fake.safetensors"), std::vector<uint8_t>{1, 2, 3});
  result = run_cadenza("generate --checkpoint " + data.dir.file("fake.safetensors") + " --out " + data.dir.file("o"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("fake.safetensors"), std::string::npos) << result.output;
  result = run_cadenza("generate --model no-such-model --out " + data.dir.file("o"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("no-such-model"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace cadenza
