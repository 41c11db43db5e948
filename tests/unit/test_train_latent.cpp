// The latent-variable families through the one training loop: vae, musegan and crnngan train, checkpoint, resume
// exactly and come back through their samplers; tiny shards written by the test.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>

#include "codec/vae_segments.h"
#include "common/error.h"
#include "data/windows.h"
#include "encoding/melody.h"
#include "eval/melody_features.h"
#include "families/registry.h"
#include "generate/sampler.h"
#include "models/checkpoint.h"
#include "models/crnngan.h"
#include "models/musegan.h"
#include "models/vae.h"
#include "score/operations.h"
#include "support/test_support.h"
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
json resolve_config(const json& config, const std::string& data_path) {
  return train::resolve_config(config, data_path, families::find_family);
}
void apply_setting(json& config, const std::string& setting) {
  train::apply_setting(config, setting,
                       families::model_keys(families::find_family(config["model"].value("family", "lstm"))),
                       families::data_keys());
}
using testing::TempDir;

// A melody shard: 12 train pieces, 3 valid, 3 test, each 20..26 eighth notes (40..52 steps of 16ths).
std::string write_melody_shard(const TempDir& dir) {
  return testing::write_split_melody_shard(dir.file("melody.cdz"), 20);
}

// A two-track piano-roll shard, 2 steps per quarter (8-step 4/4 bars), 24 pitches; each piece has 3..6 bars of
// random sparse cells, and piece 3 has a 6-step (3/4) bar in the middle.
std::string write_two_track_roll_shard(const TempDir& dir) {
  PianoRollSpec spec;
  spec.steps_per_quarter = 2;
  spec.lowest_pitch = 48;
  spec.highest_pitch = 71;
  spec.num_tracks = 2;
  ShardMetadata metadata;
  metadata.encoding = spec.to_json();
  ShardWriter writer(metadata);
  std::mt19937 rng(11);
  for (int i = 0; i < 12; ++i) {
    writer.metadata().sources.push_back({"r" + std::to_string(i) + ".mid", 0, "fnv1a64:0"});
    PianoRoll roll;
    roll.num_tracks = 2;
    roll.num_pitches = 24;
    const int bars = 3 + i % 4;
    for (int bar = 0; bar < bars; ++bar)
      roll.bar_starts.push_back(roll.num_steps), roll.num_steps += (i == 3 && bar == 1) ? 6 : 8;
    roll.cells.resize(static_cast<size_t>(2 * roll.num_steps * 24));
    for (auto& cell : roll.cells) cell = rng() % 6 == 0;
    const Split split = i < 8 ? Split::kTrain : (i < 10 ? Split::kValid : Split::kTest);
    writer.add_roll(static_cast<uint32_t>(i), split, roll);
  }
  const std::string path = dir.file("roll2.cdz");
  writer.write(path);
  return path;
}

// The family of a test parameter: "vae-frames" is the vae on the two-track roll (2-bar segments, hierarchical);
// "crnngan-fm" the crnngan whose generator also matches the discriminator's features.
std::string family_of(const std::string& name) {
  if (name == "vae-frames") return "vae";
  return name == "crnngan-fm" ? "crnngan" : name;
}
bool reads_roll(const std::string& name) {
  return name == "musegan" || name == "vae-frames";
}

json tiny_config(const std::string& name, int64_t steps) {
  const std::string family = family_of(name);
  json config = preset_config("tiny", family, reads_roll(name));
  config["model"]["family"] = family;
  config["train"].update({{"steps", steps},
                          {"log_every", 1},
                          {"eval_every", steps / 2},
                          {"checkpoint_every", 1000},
                          {"batch_size", 4},
                          {"eval_samples", 8}});
  if (family == "vae") config["model"].update({{"dropout", 0.1}, {"decoder_layers", 2}});  // dropout stream resumes too
  if (family == "musegan") {
    config["model"].update({{"num_bars", 2}, {"generator_channels", {8, 4}}, {"critic_channels", {4, 8}}});
    config["train"]["critic_steps"] = 2;
  }
  if (family == "crnngan") config["train"]["crop_length"] = 6;
  if (name == "crnngan-fm") config["model"]["feature_matching"] = 10.0;
  if (name == "vae-frames")  // 2 bars of 8 steps, one conductor step per bar
    config["model"].update({{"sequence_length", 16}, {"decoder", "hierarchical"}, {"num_segments", 2}});
  return config;
}

std::map<int64_t, json> train_records(const std::string& run_dir) {
  std::map<int64_t, json> records;
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const json record = json::parse(line);
    if (record["kind"] == "train") records[record["step"].get<int64_t>()] = record;
  }
  return records;
}

std::map<std::string, torch::Tensor> checkpoint_tensors(const std::string& path) {
  const models::CheckpointInfo info = models::read_checkpoint_info(path);
  std::shared_ptr<torch::nn::Module> module;
  if (info.family_name == "vae") {
    module = models::MusicVae(models::VaeConfig::from_json(info.model_config_json)).ptr();
  } else if (info.family_name == "musegan") {
    module = models::MuseGan(models::MuseGanConfig::from_json(info.model_config_json)).ptr();
  } else if (info.family_name == "crnngan") {
    module = models::CrnnGan(models::CrnnGanConfig::from_json(info.model_config_json)).ptr();
  } else {
    ADD_FAILURE() << "unexpected family " << info.family_name;
  }
  models::load_checkpoint_weights(path, *module);
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : module->named_parameters()) tensors[item.key()] = item.value().clone();
  for (const auto& item : module->named_buffers()) tensors[item.key()] = item.value().clone();
  return tensors;
}

class LatentResumeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LatentResumeTest, HalfThenResumeEqualsStraightRun) {
  const std::string family = family_of(GetParam());
  TempDir dir;
  const std::string data = reads_roll(GetParam()) ? write_two_track_roll_shard(dir) : write_melody_shard(dir);
  const int64_t steps = 6;
  TrainRequest straight{data, dir.file("straight"), tiny_config(GetParam(), steps)};
  const TrainResult full = run_training(straight, nullptr);
  EXPECT_EQ(full.steps, steps);

  TrainRequest halves{data, dir.file("halves"), tiny_config(GetParam(), steps)};
  std::atomic<bool> stop{false};
  const TrainResult first = run_training(
      halves,
      [&](const TrainProgress& p) {
        if (p.step == steps / 2) stop = true;
      },
      &stop);
  ASSERT_EQ(first.stop_reason, "interrupted");
  halves.resume = true;
  const TrainResult second = run_training(halves, nullptr);
  EXPECT_EQ(second.steps, steps);

  const auto a = train_records(straight.run_dir), b = train_records(halves.run_dir);
  ASSERT_EQ(a.size(), static_cast<size_t>(steps));
  ASSERT_EQ(b.size(), static_cast<size_t>(steps));
  for (int64_t step = 1; step <= steps; ++step) {
    EXPECT_NEAR(a.at(step)["loss"].get<double>(), b.at(step)["loss"].get<double>(), 1e-5) << "step " << step;
    for (const auto& [key, value] : a.at(step).items()) {  // the family's own numbers (kl, critic loss, ...) too
      if (value.is_number() && key != "elements_per_second" && key != "elapsed_seconds") {
        EXPECT_NEAR(value.get<double>(), b.at(step)[key].get<double>(), 1e-5) << key << " at step " << step;
      }
    }
  }
  const auto x = checkpoint_tensors(full.last_checkpoint), y = checkpoint_tensors(second.last_checkpoint);
  ASSERT_EQ(x.size(), y.size());
  for (const auto& [name, tensor] : x) EXPECT_TRUE(torch::allclose(tensor, y.at(name), 0, 1e-5)) << name;

  const models::CheckpointInfo info = models::read_checkpoint_info(second.last_checkpoint);
  EXPECT_EQ(info.family_name, family);
  EXPECT_TRUE(info.has_optimizer_state);
  EXPECT_THROW_WITH(families::load_sequence_checkpoint(second.last_checkpoint), FormatError,
                    {second.last_checkpoint, "not an autoregressive one"})
      << "an autoregressive loader must refuse a " << family << " checkpoint";
}

INSTANTIATE_TEST_SUITE_P(Families, LatentResumeTest,
                         ::testing::Values("vae", "vae-frames", "musegan", "crnngan", "crnngan-fm"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(LatentTraining, VaeValidationReportsElboAndBothAccuracies) {
  TempDir dir;
  const std::string data = write_melody_shard(dir);
  TrainRequest request{data, dir.file("run"), tiny_config("vae", 4)};
  const TrainResult result = run_training(request, nullptr);
  ASSERT_TRUE(result.best_valid_score.has_value());
  EXPECT_EQ(result.valid_score_name, "elbo");
  std::ifstream in(dir.file("run") + "/metrics.jsonl");
  std::string line;
  int validations = 0;
  while (std::getline(in, line)) {
    const json record = json::parse(line);
    if (record["kind"] != "valid") continue;
    ++validations;
    for (const char* key : {"accuracy_teacher_forced", "accuracy_sampled"}) {
      EXPECT_GE(record[key].get<double>(), 0.0);
      EXPECT_LE(record[key].get<double>(), 1.0);
    }
    // The ELBO bound per token = reconstruction per token + KL (nats) / T, and the KL in bits is KL / ln 2.
    const double kl_nats = record["kl_bits"].get<double>() * std::log(2.0);
    EXPECT_NEAR(record["elbo_per_step"].get<double>(), record["reconstruction_per_step"].get<double>() + kl_nats / 32.0,
                1e-4);
  }
  EXPECT_EQ(validations, 2);
}

// Feature matching adds to the generator's loss and changes nothing before it: at step 1 the discriminator's update
// and the generator's adversarial loss are the same as without it, so the logged generator loss grows by the weighted
// (positive) feature-matching term alone.
TEST(LatentTraining, CrnnGanFeatureMatchingAddsToTheGeneratorLossOnly) {
  TempDir dir;
  const std::string data = write_melody_shard(dir);
  TrainRequest plain{data, dir.file("plain"), tiny_config("crnngan", 2)};
  TrainRequest matched{data, dir.file("matched"), tiny_config("crnngan-fm", 2)};
  run_training(plain, nullptr);
  const TrainResult result = run_training(matched, nullptr);
  const auto a = train_records(plain.run_dir), b = train_records(matched.run_dir);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_NEAR(a.at(1)["discriminator_loss"].get<double>(), b.at(1)["discriminator_loss"].get<double>(), 1e-6);
  EXPECT_GT(b.at(1)["loss"].get<double>() - a.at(1)["loss"].get<double>(), 1e-6);
  EXPECT_EQ(models::read_checkpoint_info(result.last_checkpoint).model_config_json.value("feature_matching", -1.0),
            10.0);
}

TEST(LatentTraining, MuseGanWindowsSkipBarsOfAnotherLength) {
  TempDir dir;
  const Shard shard(write_two_track_roll_shard(dir));
  const std::vector<Window> windows = roll_windows(shard, Split::kTrain, 2, 8);
  ASSERT_FALSE(windows.empty());
  bool piece3 = false;
  for (const Window& window : windows) {
    const auto starts = shard.roll(window.piece).bar_starts;
    EXPECT_NE(std::find(starts.begin(), starts.end(), window.start), starts.end()) << "windows start on bar lines";
    if (window.piece == 3) {
      piece3 = true;
      EXPECT_GE(window.start, 14) << "no window of piece 3 may hold its 6-step bar (steps 8..13)";
    }
  }
  EXPECT_TRUE(piece3) << "piece 3 has 4 bars, so the window of bars 2-3 (from step 14) exists";
}

TEST(LatentTraining, WrongShardKindIsAClearError) {
  TempDir dir;
  const std::string melody = write_melody_shard(dir), roll = write_two_track_roll_shard(dir);
  try {
    resolve_config(tiny_config("musegan", 2), melody);
    FAIL() << "musegan on a token shard must fail";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("piano-roll"), std::string::npos) << error.what();
  }
  // A vae on a piano roll is the multi-track model: frames of tracks x pitches keys, whole bars of the roll's grid.
  const json frames = resolve_config(tiny_config("vae-frames", 2), roll);
  EXPECT_EQ(frames["model"]["input_kind"], "frames");
  EXPECT_EQ(frames["model"]["vocab_size"], 2 * 24);
  json ragged = tiny_config("vae-frames", 2);
  ragged["model"].update({{"sequence_length", 12}, {"decoder", "flat"}});  // 1.5 bars of 8 steps
  try {
    resolve_config(ragged, roll);
    FAIL() << "a segment of 1.5 bars must fail";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("whole number of bars"), std::string::npos) << error.what();
  }
  json config = tiny_config("vae", 2);
  EXPECT_THROW_WITH(apply_setting(config, "num_heads=2"), Error, {"--set num_heads=2", "unknown key \"num_heads\""})
      << "a transformer key is not a vae key";
  apply_setting(config, "latent_size=8");
  EXPECT_EQ(config["model"]["latent_size"], 8);
  EXPECT_THROW_WITH(apply_setting(config, "vocab_size=3"), Error,
                    {"--set vocab_size=3", "\"vocab_size\" comes from the data", "cannot be set"});
}

// ---- the samplers of the trained tiny models ----

class LatentSamplerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    melody_ = write_melody_shard(*dir_);
    roll_ = write_two_track_roll_shard(*dir_);
    for (const std::string name : {"vae", "vae-frames", "musegan", "crnngan"}) {
      TrainRequest request{reads_roll(name) ? roll_ : melody_, dir_->file(name), tiny_config(name, 4)};
      run_training(request, nullptr);
    }
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
  static std::string melody_, roll_;
};
TempDir* LatentSamplerTest::dir_ = nullptr;
std::string LatentSamplerTest::melody_, LatentSamplerTest::roll_;

int64_t last_tick(const Score& score) {
  return score.end_tick();
}

TEST_F(LatentSamplerTest, SamplingIsDeterministicPerSeedAndHonoursBars) {
  for (const std::string family : {"vae", "vae-frames", "musegan", "crnngan"}) {
    const auto generator = families::open_sampler(dir_->file(family));
    EXPECT_EQ(generator->capabilities().family, family_of(family));
    SampleRequest options;
    options.bars = 3;
    for (uint64_t seed : {5, 6}) {
      options.seed = seed;
      const SampledPiece a = generator->sample(options), b = generator->sample(options);
      EXPECT_EQ(a.score.tracks, b.score.tracks) << family << ": same seed, same piece";
      EXPECT_LE(last_tick(a.score), 3 * 4 * a.score.ticks_per_quarter) << family << ": cut at 3 bars";
    }
  }
}

TEST_F(LatentSamplerTest, VaeDrawsAreSeededAndTemperatureSpreadsThem) {
  for (const std::string family : {"vae", "vae-frames"}) {
    const auto sampler = families::open_sampler(dir_->file(family));
    SampleRequest request;
    auto draw = [&](uint64_t seed, double temperature) {
      request.seed = seed;
      request.sampling.temperature = temperature;
      return sampler->sample(request).score;
    };
    EXPECT_EQ(draw(1, 1.0), draw(1, 1.0)) << family;
    EXPECT_NE(draw(1, 1.0).tracks, draw(2, 1.0).tracks) << family;
    // A very hot decoder draws nearly uniformly: far more notes than the greedy decoding of the same latent.
    EXPECT_GT(draw(3, 1000.0).note_count(), draw(3, 0.0).note_count()) << family;
    request.sampling.temperature = -1;
    EXPECT_THROW_WITH(sampler->sample(request), Error, {"temperature must be a finite number >= 0", "got -1"})
        << family;
  }
}

TEST_F(LatentSamplerTest, StitchedPieceStartsWithTheSingleWindowOfTheSameSeed) {
  // The first window of a stitched piece is the first anchor latent, which is what a one-window sample draws.
  const auto generator = families::open_sampler(dir_->file("musegan"));
  ASSERT_EQ(generator->capabilities().window_bars, 2);
  SampleRequest one, stitched;
  one.seed = stitched.seed = 9;
  stitched.bars = 8;  // 4 windows
  const Score single = generator->sample(one).score;
  const Score whole = generator->sample(stitched).score;
  const int64_t window_end = 2 * 4 * whole.ticks_per_quarter;
  EXPECT_EQ(cadenza::clip(whole, 0, window_end).tracks, cadenza::clip(single, 0, window_end).tracks);
  EXPECT_GT(whole.end_tick(), window_end) << "a stitched piece goes on past its first window";
}

TEST_F(LatentSamplerTest, VaeInterpolationEndsAreTheReconstructions) {
  const auto generator = families::open_sampler(dir_->file("vae"));
  const Score a = testing::varied_score(1, 8), b = testing::varied_score(4, 8);
  SampleRequest options;
  options.sampling.temperature = 0;
  const auto path = generator->interpolate(&a, &b, 4, /*spherical=*/true, options);
  ASSERT_EQ(path.size(), 4u);
  EXPECT_EQ(path.front().score.tracks, generator->reconstruct(a, options).output.tracks);
  EXPECT_EQ(path.back().score.tracks, generator->reconstruct(b, options).output.tracks);
  const Reconstruction again = generator->reconstruct(a, options);
  EXPECT_GE(again.step_accuracy, 0.0);
  EXPECT_LE(again.step_accuracy, 1.0);
  EXPECT_EQ(again.steps, 32);
  EXPECT_THROW_WITH(generator->interpolate(&a, &b, 1, true, options), Error,
                    {"interpolate", "--steps must be >= 2", "got 1"});
  EXPECT_THROW_WITH(generator->interpolate(nullptr, nullptr, 3, true, options), Error,
                    {"interpolate", "a vae interpolates between two MIDI files"});
}

TEST_F(LatentSamplerTest, AttributeVectorAndErrors) {
  const auto vae = families::open_sampler(dir_->file("vae"));
  const Score input = testing::varied_score(2, 8);
  SampleRequest options;
  options.sampling.temperature = 0;
  const SampledPiece zero = vae->apply_attribute(input, "note_density", 0.0, melody_, options);
  EXPECT_EQ(zero.score.tracks, vae->reconstruct(input, options).output.tracks) << "amount 0 is the reconstruction";
  EXPECT_THROW_WITH(vae->apply_attribute(input, "loudness", 1.0, melody_, options), Error,
                    {"unknown attribute \"loudness\"", "note_density, mean_pitch, pitch_range or rest_rate"});
  EXPECT_THROW_WITH(vae->apply_attribute(input, "note_density", 1.0, roll_, options), Error,
                    {roll_, "its encoding differs from the model's", dir_->file("vae")})
      << "another encoding";
  const auto gan = families::open_sampler(dir_->file("musegan"));
  SampleRequest gan_options;
  EXPECT_THROW_WITH(gan->reconstruct(input, gan_options), Error, {"reconstruct", "a musegan model has no encoder"});
  EXPECT_THROW_WITH(families::open_sampler(dir_->file("missing")), Error,
                    {dir_->file("missing"), "no such checkpoint file or run folder"});
}

// The multi-track VAE: a two-track score in, two tracks out, and its segments laid out as the roll.
TEST_F(LatentSamplerTest, FramesVaeReadsAndWritesTracks) {
  const auto generator = families::open_sampler(dir_->file("vae-frames"));
  EXPECT_EQ(generator->capabilities().window_bars, 2);
  EXPECT_NE(generator->describe().find("48-key frames"), std::string::npos) << generator->describe();
  Score input = testing::varied_score(1, 8);
  Track low = input.tracks[0];
  low.name = "low";
  for (Note& note : low.notes) note.pitch -= 12;
  input.tracks.push_back(low);
  input.normalize();
  SampleRequest options;
  options.sampling.temperature = 0;
  const Reconstruction reconstruction = generator->reconstruct(input, options);
  EXPECT_EQ(reconstruction.steps, 16);
  EXPECT_GE(reconstruction.step_accuracy, 0.0);
  EXPECT_LE(reconstruction.step_accuracy, 1.0);
  EXPECT_EQ(reconstruction.input.tracks.size(), 2u) << "the roll keeps both tracks";
  EXPECT_EQ(reconstruction.output.tracks.size(), 2u);
  const auto path = generator->interpolate(&input, &input, 3, true, options);
  EXPECT_EQ(path.front().score.tracks, reconstruction.output.tracks) << "an end of the path is the reconstruction";
  const SampledPiece zero = generator->apply_attribute(input, "note_density", 0.0, roll_, options);
  EXPECT_EQ(zero.score.tracks, reconstruction.output.tracks) << "amount 0 is the reconstruction";
  EXPECT_THROW_WITH(generator->apply_attribute(input, "note_density", 1.0, melody_, options), Error,
                    {melody_, "its encoding differs from the model's",
                     "attribute vectors must come from the data the model was trained on"})
      << "another encoding";

  // Segments: frame t of window w holds the roll's step start + t, track-major keys; and back to music intact.
  const Shard shard(roll_);
  const models::VaeConfig config = models::VaeConfig::from_json(
      models::read_checkpoint_info(models::resolve_checkpoint_path(dir_->file("vae-frames"))).model_config_json);
  VaeSegments segments(shard, config);
  const std::vector<Window> windows = segments.windows(Split::kTrain);
  ASSERT_GE(windows.size(), 3u);
  const torch::Tensor batch = segments.batch(windows, 1, 2);  // (2, 16, 48)
  ASSERT_EQ(batch.sizes(), torch::IntArrayRef({2, 16, 48}));
  for (int64_t row = 0; row < 2; ++row) {
    const Window& window = windows[1 + row];
    const PianoRoll roll = shard.roll(window.piece);
    for (int track = 0; track < 2; ++track)
      for (int t = 0; t < 16; ++t)
        for (int p = 0; p < 24; ++p)
          ASSERT_EQ(batch[row][t][track * 24 + p].item<float>(), roll.at(track, static_cast<int>(window.start) + t, p))
              << "window " << row << " track " << track << " step " << t << " pitch " << p;
    const Score score = segments.codec().score_of(batch[row]);
    EXPECT_TRUE(torch::equal(segments.codec().input_of(score), batch[row])) << "frames -> score -> frames";
  }
}

TEST(MelodyAttribute, HandComputed) {
  // Four eighth notes 60, 62, 64, 72 (2 quarters of sound) in a 2-bar (8-quarter) window.
  const Score score = testing::line_score({60, 62, 64, 72});
  EXPECT_DOUBLE_EQ(melody_attribute(score, "note_density", 2), 2.0);  // 4 notes / 2 bars
  EXPECT_DOUBLE_EQ(melody_attribute(score, "mean_pitch", 2), 64.5);   // (60+62+64+72)/4
  EXPECT_DOUBLE_EQ(melody_attribute(score, "pitch_range", 2), 12.0);  // 72 - 60
  EXPECT_DOUBLE_EQ(melody_attribute(score, "rest_rate", 2), 0.75);    // 2 of 8 quarters sound
  EXPECT_THROW_WITH(melody_attribute(score, "loudness", 2), Error,
                    {"unknown attribute \"loudness\"", "note_density, mean_pitch"});
}

}  // namespace
}  // namespace cadenza::train
