// Training on the real data sets, briefly: a tiny LSTM on Nottingham melodies must beat the unigram baseline on
// the held-out split within a few hundred steps, and what it generates must be valid music in the melody range.
// Also the JSB piano-roll pipeline: a tiny GRU on JSB Chorales beats the key-rate baseline.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/prepare.h"
#include "data/shard.h"
#include "families/registry.h"
#include "generate/sampler.h"
#include "support/test_support.h"
#include "train/evaluate.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace cadenza {
namespace {

TEST(TrainReal, TinyLstmOnNottinghamBeatsTheUnigramBaselineAndGeneratesMelodies) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  testing::TempDir dir;
  PrepareOptions prepare;
  prepare.inputs = {testing::data_dir() + "/nottingham/MIDI"};
  prepare.recursive = false;
  prepare.encoding = "melody";
  prepare.track_index = 0;
  prepare.threads = 2;
  const std::string shard_path = dir.file("melody.cdz");
  prepare_dataset(prepare, shard_path);

  nlohmann::json config = families::preset_config("tiny", "lstm", false);
  config["train"]["steps"] = 150;
  config["train"]["learning_rate"] = 5e-3;
  config["train"]["eval_every"] = 150;
  train::TrainRequest request{shard_path, dir.file("run"), train::resolve_config(config, shard_path, families::find_family)};
  const train::TrainResult result = train::run_training(request, families::find_family, nullptr);

  const Shard shard(shard_path);
  train::EvaluationOptions options;
  options.max_pieces = 32;  // as the tiny preset validates
  const auto baseline = train::evaluate_unigram_baseline(shard, Split::kValid, options);
  ASSERT_TRUE(result.best_valid_score.has_value());
  EXPECT_LT(*result.best_valid_score, baseline.nll - 0.1)
      << "150 steps should clearly beat the unigram baseline (" << baseline.nll << " nats/token)";
  const auto test = train::evaluate_model(*families::load_sequence_checkpoint(dir.file("run")).model, shard, Split::kTest);
  EXPECT_LT(test.nll, train::evaluate_unigram_baseline(shard, Split::kTest).nll);

  const auto generator = families::open_sampler(dir.file("run"));
  SampleRequest piece_request;
  piece_request.bars = 8;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    piece_request.seed = seed;
    const SampledPiece piece = generator->sample(piece_request);
    EXPECT_GT(piece.score.note_count(), 4u);
    EXPECT_LE(piece.score.end_tick(), 8 * 4 * piece.score.ticks_per_quarter);
    for (const auto& track : piece.score.tracks)
      for (const auto& note : track.notes) {
        EXPECT_GE(note.pitch, 48);
        EXPECT_LE(note.pitch, 84);
        EXPECT_GT(note.end_tick, note.start_tick);
      }
  }
}

TEST(TrainReal, TinyGruOnJsbChoralesBeatsTheKeyRateBaseline) {
  CADENZA_REQUIRE_DATA("jsb-chorales/jsb-chorales-quarter.json");
  testing::TempDir dir;
  PrepareOptions prepare;
  prepare.inputs = {testing::data_dir() + "/jsb-chorales/jsb-chorales-quarter.json"};
  prepare.encoding = "pianoroll";
  prepare.settings = {{"steps_per_quarter", 1}, {"merge_all_tracks", true}};
  const std::string shard_path = dir.file("jsb.cdz");
  prepare_dataset(prepare, shard_path);

  nlohmann::json config = families::preset_config("tiny", "gru", true);
  config["train"].update({{"steps", 300}, {"learning_rate", 1e-2}, {"eval_every", 300}, {"max_eval_pieces", 0}});
  train::TrainRequest request{shard_path, dir.file("run"), train::resolve_config(config, shard_path, families::find_family)};
  const train::TrainResult result = train::run_training(request, families::find_family, nullptr);
  const Shard shard(shard_path);
  const auto baseline = train::evaluate_unigram_baseline(shard, Split::kValid);
  ASSERT_TRUE(result.best_valid_score.has_value());
  EXPECT_LT(*result.best_valid_score, baseline.nll - 0.5) << "key-rate baseline " << baseline.nll;
}

}  // namespace
}  // namespace cadenza
