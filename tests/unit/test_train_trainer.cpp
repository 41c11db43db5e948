// The training loop, its configuration and the evaluator, on tiny shards written by the test.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <map>

#include "codec/batches.h"
#include "common/error.h"
#include "encoding/melody.h"
#include "families/registry.h"
#include "models/checkpoint.h"
#include "models/losses.h"
#include "support/test_support.h"
#include "train/evaluate.h"
#include "train/fine_tune.h"
#include "train/learner_sequence.h"
#include "train/schedule.h"
#include "train/train_config.h"
#include "train/trainer.h"
#include "unit/test_data_fixtures.h"

namespace cadenza::train {
namespace {

using nlohmann::json;

// The registry's entry points under the names these tests use (the registry sits above train in the build).
json preset_config(const std::string& preset, const std::string& family, bool frames) {
  return families::preset_config(preset, family, frames);
}
TrainResult run_training(const TrainRequest& request, const ProgressCallback& progress,
                         const std::atomic<bool>* stop_requested = nullptr) {
  return train::run_training(request, families::find_family, progress, stop_requested);
}
void apply_setting(json& config, const std::string& setting) {
  train::apply_setting(config, setting,
                       families::model_keys(families::find_family(config["model"].value("family", "lstm"))),
                       families::data_keys());
}
EvaluationResult evaluate_checkpoint(const std::string& run, const Shard& shard, Split split) {
  return evaluate_model(*families::load_sequence_checkpoint(run).model, shard, split);
}
using testing::TempDir;

// A melody shard: 12 train pieces, 3 valid, 3 test.
std::string write_melody_shard(const TempDir& dir) {
  return testing::write_split_melody_shard(dir.file("melody.cdz"), 10);
}

// A one-track piano-roll shard of random sparse frames (12 pitches), 6 train, 2 valid, 2 test pieces.
std::string write_roll_shard(const TempDir& dir) {
  PianoRollSpec spec;
  spec.lowest_pitch = 60;
  spec.highest_pitch = 71;
  ShardMetadata metadata;
  metadata.encoding = spec.to_json();
  ShardWriter writer(metadata);
  std::mt19937 rng(7);
  for (int i = 0; i < 10; ++i) {
    writer.metadata().sources.push_back({"r" + std::to_string(i) + ".json", 0, "fnv1a64:0"});
    PianoRoll roll;
    roll.num_tracks = 1;
    roll.num_steps = 8 + i;
    roll.num_pitches = 12;
    roll.cells.resize(static_cast<size_t>(roll.num_steps) * 12);
    for (auto& cell : roll.cells) cell = rng() % 4 == 0;
    roll.bar_starts = {0};
    const Split split = i < 6 ? Split::kTrain : (i < 8 ? Split::kValid : Split::kTest);
    writer.add_roll(static_cast<uint32_t>(i), split, roll);
  }
  const std::string path = dir.file("roll.cdz");
  writer.write(path);
  return path;
}

json tiny_config(const std::string& family, bool frames, int64_t steps) {
  json config = preset_config("tiny", family, frames);
  config["model"]["hidden_size"] = 16;
  config["model"]["dropout"] = 0.1;  // so that resuming must also restore the dropout stream
  config["train"].update({{"steps", steps},
                          {"log_every", 1},
                          {"eval_every", steps / 2},
                          {"checkpoint_every", 1000},
                          {"batch_size", 4},
                          {"crop_length", 12},
                          {"warmup_steps", 2},
                          {"max_transpose", 2}});
  return config;
}

std::map<int64_t, double> train_losses(const std::string& run_dir) {
  std::map<int64_t, double> losses;
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const json record = json::parse(line);
    if (record["kind"] == "train") losses[record["step"].get<int64_t>()] = record["loss"].get<double>();
  }
  return losses;
}

class ResumeTest : public ::testing::TestWithParam<std::pair<std::string, bool>> {};

TEST_P(ResumeTest, HalfThenResumeEqualsStraightRun) {
  const auto [family, frames] = GetParam();
  TempDir dir;
  const std::string data = frames ? write_roll_shard(dir) : write_melody_shard(dir);
  const int64_t steps = 8;
  TrainRequest straight{data, dir.file("straight"), tiny_config(family, frames, steps)};
  const TrainResult full = run_training(straight, nullptr);
  EXPECT_EQ(full.steps, steps);
  EXPECT_EQ(full.stop_reason, "steps");

  TrainRequest halves{data, dir.file("halves"), tiny_config(family, frames, steps)};
  std::atomic<bool> stop{false};
  const TrainResult first = run_training(
      halves,
      [&](const TrainProgress& p) {
        if (p.step == steps / 2) stop = true;
      },
      &stop);
  EXPECT_EQ(first.stop_reason, "interrupted");
  EXPECT_EQ(first.steps, steps / 2);
  halves.resume = true;
  const TrainResult second = run_training(halves, nullptr);
  EXPECT_EQ(second.steps, steps);

  const auto a = train_losses(straight.run_dir), b = train_losses(halves.run_dir);
  ASSERT_EQ(a.size(), static_cast<size_t>(steps));
  ASSERT_EQ(b.size(), static_cast<size_t>(steps));
  for (int64_t step = 1; step <= steps; ++step) EXPECT_NEAR(a.at(step), b.at(step), 1e-6) << "step " << step;
  ASSERT_TRUE(full.best_valid_score && second.best_valid_score);
  EXPECT_NEAR(*full.best_valid_score, *second.best_valid_score, 1e-6);

  // And the final weights agree.
  auto x = families::load_sequence_checkpoint(full.last_checkpoint).model->named_parameters();
  auto y = families::load_sequence_checkpoint(second.last_checkpoint).model->named_parameters();
  for (const auto& item : x) EXPECT_TRUE(torch::allclose(item.value(), y[item.key()], 0, 1e-6)) << item.key();
}

INSTANTIATE_TEST_SUITE_P(Families, ResumeTest,
                         ::testing::Values(std::make_pair(std::string("lstm"), false),
                                           std::make_pair(std::string("gru"), true),
                                           std::make_pair(std::string("transformer"), false)),
                         [](const auto& info) {
                           return info.param.first + (info.param.second ? "_frames" : "_tokens");
                         });

TEST(Trainer, TrainingLowersTheValidationLoss) {
  TempDir dir;
  const std::string data = write_melody_shard(dir);
  json config = tiny_config("lstm", false, 60);
  config["model"]["hidden_size"] = 32;
  config["train"].update({{"learning_rate", 1e-2}, {"eval_every", 20}});
  const TrainResult result = run_training({data, dir.file("run"), config}, nullptr);
  std::vector<double> valid;
  std::ifstream in(dir.file("run") + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const json record = json::parse(line);
    if (record["kind"] == "valid") valid.push_back(record["nll"].get<double>());
  }
  ASSERT_EQ(valid.size(), 3u);
  const Shard shard(data);
  const double baseline = evaluate_unigram_baseline(shard, Split::kValid).nll;
  EXPECT_LT(valid.back(), valid.front());
  EXPECT_LT(*result.best_valid_score, baseline) << "a trained model must beat the unigram baseline";
  // best.safetensors holds the best validation weights: evaluating it gives that NLL again.
  EXPECT_NEAR(evaluate_checkpoint(dir.file("run"), shard, Split::kValid).nll, *result.best_valid_score, 1e-5);
}

TEST(Trainer, NonFiniteLossStopsNamingTheStep) {
  TempDir dir;
  const std::string data = write_melody_shard(dir);
  json config = tiny_config("rnn", false, 50);
  config["train"].update({{"learning_rate", 1e30},
                          {"clip_norm", 0.0},
                          {"warmup_steps", 0},
                          {"checkpoint_every", 1},
                          {"schedule", "constant"}});
  try {
    run_training({data, dir.file("run"), config}, nullptr);
    FAIL() << "expected the run to stop";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("at step "), std::string::npos) << message;
    EXPECT_NE(message.find("last good checkpoint"), std::string::npos) << message;
  }
  // The last checkpoint on disk is readable and holds finite weights of a step before the failure.
  const auto loaded = families::load_sequence_checkpoint(dir.file("run/checkpoints/last.safetensors"));
  for (const auto& parameter : loaded.model->parameters()) EXPECT_TRUE(torch::isfinite(parameter).all().item<bool>());

  // Without checkpoints in between, the loss itself turns non-finite and the message says nothing was saved.
  config["train"]["checkpoint_every"] = 1000;
  try {
    run_training({data, dir.file("run2"), config}, nullptr);
    FAIL() << "expected the run to stop";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("the loss is"), std::string::npos) << message;
    EXPECT_NE(message.find("no checkpoint had been written yet"), std::string::npos) << message;
  }
}

TEST(Trainer, RefusesToOverwriteARunAndResumesOnlyWhatExists) {
  TempDir dir;
  const std::string data = write_melody_shard(dir);
  const json config = tiny_config("gru", false, 2);
  run_training({data, dir.file("run"), config}, nullptr);
  EXPECT_THROW_WITH(run_training({data, dir.file("run"), config}, nullptr), Error,
                    {dir.file("run"), "already holds a run", "--resume", "--overwrite"});
  TrainRequest overwrite{data, dir.file("run"), config};
  overwrite.overwrite = true;
  EXPECT_NO_THROW(run_training(overwrite, nullptr));
  TrainRequest resume_nothing{data, dir.file("empty"), config};
  resume_nothing.resume = true;
  EXPECT_THROW_WITH(run_training(resume_nothing, nullptr), Error,
                    {dir.file("empty"), "nothing to resume", "last.safetensors does not exist"});
  // A roll shard cannot continue a token run.
  TrainRequest wrong_data{write_roll_shard(dir), dir.file("run"), config};
  wrong_data.resume = true;
  EXPECT_THROW_WITH(run_training(wrong_data, nullptr), Error,
                    {"roll.cdz", "does not match the run being resumed", dir.file("run"), "\"name\":\"pianoroll\""});
}

// A module with the parameter names of the families: an embedding, a torch LSTM (rnn.*_lN), a numbered block list
// (blocks.N.*) and a head.
struct NamedLayers : torch::nn::Module {
  NamedLayers() {
    register_module("embedding", torch::nn::Embedding(10, 4));
    register_module("rnn", torch::nn::LSTM(torch::nn::LSTMOptions(4, 4).num_layers(2)));
    blocks = register_module("blocks", torch::nn::ModuleList(torch::nn::Linear(4, 4), torch::nn::Linear(4, 4)));
    register_module("head", torch::nn::Linear(4, 10));
  }
  torch::nn::ModuleList blocks;
};

TEST(FineTune, ParameterGroupsComeFromTheNames) {
  NamedLayers module;
  EXPECT_EQ(parameter_groups(module),
            (std::vector<std::string>{"blocks", "embedding", "head", "rnn", "layers", "layers:0", "layers:1"}));
  EXPECT_EQ(freeze_parameter_groups(module, {"embedding", "layers:1"}), 1 + 4 + 2);
  for (const auto& parameter : module.named_parameters()) {
    const std::string& name = parameter.key();
    const bool frozen =
        name == "embedding.weight" || name.find("_l1") != std::string::npos || name.rfind("blocks.1.", 0) == 0;
    EXPECT_EQ(parameter.value().requires_grad(), !frozen) << name;
  }
  NamedLayers other;
  EXPECT_EQ(freeze_parameter_groups(other, {"layers"}), 8 + 4);
  EXPECT_THROW_WITH(
      freeze_parameter_groups(other, {"layer:0"}), Error,
      {"unknown parameter group \"layer:0\"", "valid: blocks, embedding, head, rnn, layers, layers:0, layers:1"});
  EXPECT_THROW_WITH(freeze_parameter_groups(other, {"embedding", "head", "layers"}), Error,
                    {"freezes every parameter"});
}

TEST(FineTune, PresetAndGroupLists) {
  json train = {{"learning_rate", 2e-3}, {"min_learning_rate", 1e-5}, {"warmup_steps", 200}, {"steps", 3000}};
  apply_fine_tune_preset(train);
  EXPECT_DOUBLE_EQ(train["learning_rate"].get<double>(), 2e-4);
  EXPECT_DOUBLE_EQ(train["min_learning_rate"].get<double>(), 1e-6);
  EXPECT_EQ(train["warmup_steps"], 50);
  EXPECT_EQ(train["steps"], 3000);
  json defaults = json::object();  // keys the preset leaves out take TrainOptions' defaults
  apply_fine_tune_preset(defaults);
  EXPECT_DOUBLE_EQ(defaults["learning_rate"].get<double>(), TrainOptions{}.learning_rate / 10);
  EXPECT_EQ(defaults["warmup_steps"], TrainOptions{}.warmup_steps / 4);
  EXPECT_EQ(parse_group_list("embedding, layers:0,embedding"), (std::vector<std::string>{"embedding", "layers:0"}));
  EXPECT_THROW_WITH(parse_group_list("embedding,,head"), Error,
                    {"--freeze \"embedding,,head\"", "separated by commas"});
}

TEST(TrainConfig, PresetsSettingsAndErrors) {
  json config = preset_config("small", "transformer", false);
  EXPECT_EQ(config["model"]["num_layers"], 4);
  apply_setting(config, "hidden_size=128");
  apply_setting(config, "learning_rate=3e-4");
  apply_setting(config, "train.schedule=inverse_sqrt");
  EXPECT_EQ(config["model"]["hidden_size"], 128);
  EXPECT_DOUBLE_EQ(config["train"]["learning_rate"].get<double>(), 3e-4);
  EXPECT_EQ(config["train"]["schedule"], "inverse_sqrt");
  EXPECT_THROW_WITH(apply_setting(config, "hiden_size=3"), Error, {"--set hiden_size=3", "unknown key \"hiden_size\""});
  EXPECT_THROW_WITH(apply_setting(config, "vocab_size=3"), Error,
                    {"--set vocab_size=3", "\"vocab_size\" comes from the data", "cannot be set"});
  EXPECT_THROW_WITH(apply_setting(config, "novalue"), Error, {"--set novalue", "expected key=value"});
  EXPECT_THROW_WITH(preset_config("huge", "lstm", false), Error, {"unknown preset \"huge\"", "tiny, small or base"});
  EXPECT_THROW_WITH(preset_config("small", "cnn", false), Error,
                    {"unknown model \"cnn\"", "rnn, lstm, gru, transformer"});
  EXPECT_THROW_WITH(TrainOptions::from_json({{"batch_size", "32"}}), Error,
                    {"\"batch_size\"", "must be an integer", "got \"32\""});
  EXPECT_THROW_WITH(TrainOptions::from_json({{"learning_rate", -1}}), Error,
                    {"\"learning_rate\"", "[1e-12, 1e+30]", "got -1"});
  EXPECT_THROW_WITH(TrainOptions::from_json({{"schedule", "linear"}}), Error,
                    {"\"schedule\"", "\"cosine\", \"inverse_sqrt\" or \"constant\"", "got \"linear\""});
  EXPECT_THROW_WITH(TrainOptions::from_json({{"unknown", 1}}), Error, {"training config", "unknown key \"unknown\""});
  const TrainOptions parsed = TrainOptions::from_json(TrainOptions().to_json());
  EXPECT_EQ(parsed.to_json(), TrainOptions().to_json());
}

// end_loss_weight / header_loss_weight: the weights fall on END and on the header's METER_* and KEY_* tokens only,
// nothing is weighted when both are 1, and data without a tune header is refused with the option's name.
TEST(TrainConfig, LossWeightsFallOnTheEndAndTheHeaderTokensOnly) {
  TempDir dir;
  const auto encoding = make_token_encoding(json{{"name", "melody"}, {"structure", true}});
  ShardMetadata metadata;
  metadata.encoding = encoding->spec();
  metadata.vocabulary = encoding->vocabulary().names();
  metadata.sources.push_back({"tune.mid", 1, "fnv1a64:0"});
  ShardWriter writer(metadata);
  writer.add_tokens(0, Split::kTrain,
                    encoding->from_text("START METER_4_4 KEY_G NOTE_ON_67 NO_EVENT NOTE_OFF NOTE_ON_71 NOTE_OFF END"));
  writer.write(dir.file("tunes.cdz"));
  const Shard tunes(dir.file("tunes.cdz"));
  TrainOptions options;
  EXPECT_TRUE(token_loss_weights(tunes, options).empty()) << "both 1: the plain loss";
  options.end_loss_weight = 5.0;
  options.header_loss_weight = 3.0;
  const std::vector<float> weights = token_loss_weights(tunes, options);
  const Vocabulary& vocabulary = encoding->vocabulary();
  ASSERT_EQ(weights.size(), static_cast<size_t>(vocabulary.size()));
  int weighted = 0;
  for (int id = 0; id < vocabulary.size(); ++id) {
    const std::string& name = vocabulary.name(id);
    const float expected = name == "END"                                                  ? 5.0f
                           : (name.rfind("METER_", 0) == 0 || name.rfind("KEY_", 0) == 0) ? 3.0f
                                                                                          : 1.0f;
    EXPECT_EQ(weights[static_cast<size_t>(id)], expected) << name;
    weighted += expected != 1.0f;
  }
  EXPECT_EQ(weighted, 1 + 11 + 24) << "END, the 11 meters and the 24 keys";
  EXPECT_EQ(weights[static_cast<size_t>(vocabulary.id("START"))], 1.0f);

  const Shard plain(write_melody_shard(dir));
  EXPECT_THROW_WITH(token_loss_weights(plain, options), Error,
                    {"\"end_loss_weight\" 5", "END token", "melody.cdz", "has none", "structure=true"});
  options.end_loss_weight = 1.0;
  EXPECT_THROW_WITH(token_loss_weights(plain, options), Error,
                    {"\"header_loss_weight\" 3", "METER and KEY tokens", "structure=true"});
}

TEST(LrSchedule, WarmupCosineInverseSqrt) {
  LrSchedule cosine{"cosine", 1.0, 0.1, 10};
  EXPECT_DOUBLE_EQ(cosine.at(5, 110), 0.5);
  EXPECT_DOUBLE_EQ(cosine.at(10, 110), 1.0);
  EXPECT_NEAR(cosine.at(60, 110), 0.55, 1e-12);  // halfway: min + (peak - min) / 2
  EXPECT_NEAR(cosine.at(110, 110), 0.1, 1e-12);
  LrSchedule inverse{"inverse_sqrt", 1.0, 0.0, 4};
  EXPECT_NEAR(inverse.at(16, 100), 0.5, 1e-12);
  LrSchedule constant{"constant", 0.3, 0.0, 0};
  EXPECT_DOUBLE_EQ(constant.at(77, 100), 0.3);
}

// The evaluator against a direct computation: whole pieces through forward(), log_softmax, summed in double.
TEST(Evaluate, TokenNllMatchesADirectComputationAndWindowsCoverEveryToken) {
  TempDir dir;
  const Shard shard(write_melody_shard(dir));
  models::ModelConfig config;
  config.family = "gru";
  config.vocab_size = shard.vocabulary_size();
  config.hidden_size = 8;
  config.num_layers = 1;
  torch::manual_seed(3);
  auto model = families::make_sequence_model(config);
  model->eval();
  double nll = 0, correct = 0;
  int64_t count = 0;
  {
    torch::NoGradGuard no_grad;
    for (size_t piece : shard.pieces_in_split(Split::kTest)) {
      auto tokens = codec::piece_tensor(shard, piece);                                  // (T)
      auto log_probs = torch::log_softmax(model->forward(tokens.unsqueeze(0))[0], -1);  // (T, V)
      for (int64_t t = 0; t + 1 < tokens.size(0); ++t) {
        nll -= log_probs[t][tokens[t + 1].item<int64_t>()].item<double>();
        correct += log_probs[t].argmax().item<int64_t>() == tokens[t + 1].item<int64_t>();
        ++count;
      }
    }
  }
  const EvaluationResult result = evaluate_model(*model, shard, Split::kTest);
  EXPECT_EQ(result.elements, count);
  EXPECT_NEAR(result.nll, nll / count, 1e-5);
  EXPECT_NEAR(result.accuracy, correct / count, 1e-12);
  EXPECT_NEAR(result.perplexity, std::exp(nll / count), 1e-3);
  // Windows of 5 tokens overlap by one: every token after each piece's first is still scored once.
  EvaluationOptions short_windows;
  short_windows.window = 5;
  short_windows.max_batch_elements = 7;  // several batches
  const EvaluationResult windowed = evaluate_model(*model, shard, Split::kTest, short_windows);
  EXPECT_EQ(windowed.elements, count);
  EXPECT_GT(windowed.windows, result.windows);
}

TEST(Evaluate, FrameNllMatchesTheLossFunctionAndTheBaselineIsHandComputed) {
  TempDir dir;
  const Shard shard(write_roll_shard(dir));
  models::ModelConfig config;
  config.family = "lstm";
  config.input_kind = models::InputKind::kFrames;
  config.vocab_size = 12;
  config.hidden_size = 8;
  config.num_layers = 1;
  torch::manual_seed(5);
  auto model = families::make_sequence_model(config);
  model->eval();
  double nll_sum = 0;
  int64_t frames = 0;
  {
    torch::NoGradGuard no_grad;
    for (size_t piece : shard.pieces_in_split(Split::kValid)) {
      auto roll = codec::piece_tensor(shard, piece).unsqueeze(0);  // (1, T, V)
      const int64_t predicted = roll.size(1) - 1;
      nll_sum += models::frame_nll(model->forward(roll), roll).item<double>() * predicted;
      frames += predicted;
    }
  }
  const EvaluationResult result = evaluate_model(*model, shard, Split::kValid);
  EXPECT_TRUE(result.frames);
  EXPECT_EQ(result.elements, frames);
  EXPECT_NEAR(result.nll, nll_sum / frames, 1e-4);

  // Baseline: per-key rates from the train split, scored on valid frames after the first.
  std::vector<double> on(12, 0);
  double train_frames = 0;
  for (size_t piece : shard.pieces_in_split(Split::kTrain)) {
    const PianoRoll roll = shard.roll(piece);
    for (int t = 0; t < roll.num_steps; ++t)
      for (int p = 0; p < 12; ++p) on[p] += roll.at(0, t, p);
    train_frames += roll.num_steps;
  }
  double expected = 0;
  for (size_t piece : shard.pieces_in_split(Split::kValid)) {
    const PianoRoll roll = shard.roll(piece);
    for (int t = 1; t < roll.num_steps; ++t)
      for (int p = 0; p < 12; ++p) {
        const double rate = std::clamp(on[p] / train_frames, 1e-6, 1 - 1e-6);
        expected -= roll.at(0, t, p) ? std::log(rate) : std::log(1 - rate);
      }
  }
  const EvaluationResult baseline = evaluate_unigram_baseline(shard, Split::kValid);
  EXPECT_EQ(baseline.elements, frames);
  EXPECT_NEAR(baseline.nll, expected / frames, 1e-9);
}

TEST(Evaluate, RejectsAModelThatDoesNotFitTheShard) {
  TempDir dir;
  const Shard shard(write_melody_shard(dir));
  models::ModelConfig config;
  config.family = "rnn";
  config.vocab_size = shard.vocabulary_size() + 1;
  config.hidden_size = 4;
  config.num_layers = 1;
  auto model = families::make_sequence_model(config);
  EXPECT_THROW_WITH(evaluate_model(*model, shard, Split::kTest), Error,
                    {"melody.cdz", "the model expects 40 tokens but the shard has 39"});
}

}  // namespace
}  // namespace cadenza::train
