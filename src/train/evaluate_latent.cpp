#include "train/evaluate_latent.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <random>

#include "common/error.h"
#include "data/windows.h"
#include "eval/melody_features.h"
#include "generate/vae_segments.h"
#include "models/checkpoint.h"
#include "models/crnngan.h"
#include "models/musegan.h"
#include "models/vae.h"
#include "train/family_learners.h"
#include "train/gan_report.h"

namespace cadenza::train {
namespace {

using nlohmann::json;

void check_encoding(const models::CheckpointInfo& info, const Shard& shard) {
  if (info.encoding != shard.metadata().encoding)
    throw Error(shard.path() + ": its encoding differs from the model's (" + info.path + ")");
}

// Mean |step-to-step change|, largest change / total variation, and last - first of a series.
json smoothness(const std::vector<std::vector<double>>& paths) {
  double mean_change = 0, jump_share = 0, endpoint = 0;
  int64_t changes = 0, counted = 0;
  for (const auto& values : paths) {
    double total = 0, largest = 0;
    for (size_t i = 1; i < values.size(); ++i) {
      const double change = std::abs(values[i] - values[i - 1]);
      mean_change += change, ++changes, total += change, largest = std::max(largest, change);
    }
    endpoint += std::abs(values.back() - values.front());
    if (total > 0) jump_share += largest / total, ++counted;
  }
  return {{"mean_abs_change_per_step", mean_change / std::max<int64_t>(1, changes)},
          {"largest_jump_share", counted > 0 ? json(jump_share / counted) : json(nullptr)},
          {"mean_abs_endpoint_difference", endpoint / static_cast<double>(paths.size())}};
}

json evaluate_vae(const models::CheckpointInfo& info, const Shard& shard, Split split,
                  const LatentEvaluationOptions& options) {
  models::MusicVae model(models::VaeConfig::from_json(info.model_config_json));
  models::load_checkpoint_weights(info.path, *model);
  model->eval();
  VaeSegments segments(shard, model->config());
  const int64_t length = model->config().sequence_length;
  const std::vector<Window> all = segments.windows(split);
  const std::vector<Window> windows = spread_windows(all, static_cast<size_t>(options.max_windows));
  json result = vae_window_metrics(*model, segments, windows);
  result["windows_in_split"] = all.size();

  // Interpolation smoothness between random pairs of the split's windows.
  torch::NoGradGuard no_grad;
  std::mt19937_64 rng(options.seed);
  std::vector<std::vector<double>> densities, pitches;
  const double bars = static_cast<double>(segments.codec().bars());
  for (int pair = 0; pair < options.interpolation_pairs && windows.size() >= 2; ++pair) {
    const std::vector<Window> ends = {windows[rng() % windows.size()], windows[rng() % windows.size()]};
    const torch::Tensor mu = model->encode(segments.batch(ends)).first;  // (2, Z)
    const torch::Tensor path = models::latent_path(mu[0], mu[1], options.interpolation_steps, true);
    const torch::Tensor decoded = model->sample(path, length, 0.0, rng);  // (steps, T[, V]), argmax / threshold
    std::vector<double> density, pitch;
    for (int64_t step = 0; step < decoded.size(0); ++step) {
      const Score score = segments.codec().score_of(decoded[step]);
      density.push_back(melody_attribute(score, "note_density", bars));
      const double mean_pitch = melody_attribute(score, "mean_pitch", bars);
      if (std::isfinite(mean_pitch)) pitch.push_back(mean_pitch);
    }
    densities.push_back(density);
    if (pitch.size() >= 2) pitches.push_back(pitch);
  }
  if (!densities.empty()) {
    result["interpolation"] = {{"pairs", densities.size()},
                               {"steps", options.interpolation_steps},
                               {"note_density", smoothness(densities)},
                               {"mean_pitch", pitches.empty() ? json(nullptr) : smoothness(pitches)}};
  }
  return result;
}

json evaluate_musegan(const models::CheckpointInfo& info, const Shard& shard, Split split,
                      const LatentEvaluationOptions& options) {
  const models::MuseGanConfig config = models::MuseGanConfig::from_json(info.model_config_json);
  models::MuseGan model(config);
  models::load_checkpoint_weights(info.path, *model);
  model->eval();
  torch::NoGradGuard no_grad;
  torch::manual_seed(options.seed);
  const auto start = std::chrono::steady_clock::now();
  const int64_t samples = std::max<int64_t>(2, options.samples);
  const torch::Tensor generated = model->generator->forward(models::sample_musegan_noise(config, samples)).gt(0.5);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::unordered_map<size_t, PianoRoll> cache;
  const auto windows_of = [&](Split which) {
    return spread_windows(roll_windows(shard, which, config.num_bars, config.steps_per_bar),
                          static_cast<size_t>(samples));
  };
  const std::vector<Window> train_windows = windows_of(Split::kTrain), split_windows = windows_of(split);
  if (train_windows.size() < 2 || split_windows.size() < 2)
    throw Error(shard.path() + ": too few " + std::to_string(config.num_bars) + "-bar windows to compare with");
  const PianoRollSpec spec = shard.roll_spec();
  json result = gan_sample_report(generated, roll_window_batch(shard, train_windows, config, cache).to(torch::kBool),
                                  config, spec.lowest_pitch, spec.steps_per_quarter);
  const json held_out = gan_sample_report(roll_window_batch(shard, split_windows, config, cache).to(torch::kBool),
                                          roll_window_batch(shard, train_windows, config, cache).to(torch::kBool),
                                          config, spec.lowest_pitch, spec.steps_per_quarter);
  result["held_out"] = held_out["generated"];  // the same figures for real held-out windows
  result["samples"] = samples;
  result["generation_seconds"] = seconds;
  return result;
}

json evaluate_crnngan(const models::CheckpointInfo& info, const Shard& shard, Split split,
                      const LatentEvaluationOptions& options) {
  // The learner holds the event extraction and the statistics; its validation on the split is the evaluation.
  json config = {{"model", info.model_config_json},
                 {"train", info.training.value("config", json::object()).value("train", json::object())}};
  TrainOptions train_options = TrainOptions::from_json(config["train"]);
  train_options.eval_samples = options.samples;
  (void)split;
  auto learner = make_learner(config, shard, train_options);
  models::load_checkpoint_weights(info.path, learner->module());
  auto outcome = learner->validate(0);
  if (!outcome) throw Error(shard.path() + ": no validation piece long enough to evaluate the rgan on");
  json result = outcome->record;
  result["split"] = "valid";  // the learner's validation set, whatever split was asked for
  return result;
}

}  // namespace

json evaluate_latent_checkpoint(const std::string& checkpoint, const Shard& shard, Split split,
                                const LatentEvaluationOptions& options) {
  const models::CheckpointInfo info = models::read_checkpoint_info(models::resolve_checkpoint_path(checkpoint));
  check_encoding(info, shard);
  json result;
  switch (info.family) {
    case models::ModelFamily::kSequence:
      throw Error(info.path + ": an autoregressive model; evaluate_checkpoint() scores it");
    case models::ModelFamily::kVae:
      result = evaluate_vae(info, shard, split, options);
      break;
    case models::ModelFamily::kMuseGan:
      result = evaluate_musegan(info, shard, split, options);
      break;
    case models::ModelFamily::kCrnnGan:
      result = evaluate_crnngan(info, shard, split, options);
      break;
  }
  result["family"] = info.family_name;
  result["checkpoint"] = info.path;
  return result;
}

}  // namespace cadenza::train
