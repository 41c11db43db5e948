// MuseGAN training (WGAN-GP): bar-aligned multi-track piano-roll windows; critic_steps critic updates with the
// gradient penalty, then one generator update, per step.
#include "train/learner_musegan.h"

#include <chrono>
#include <random>
#include <unordered_map>

#include "codec/roll_windows.h"
#include "common/error.h"
#include "data/batch.h"
#include "data/windows.h"
#include "models/checkpoint.h"
#include "models/musegan.h"
#include "score/operations.h"
#include "train/distributed.h"
#include "train/gan_report.h"

namespace cadenza::train {
namespace {

using nlohmann::json;

class MuseGanLearner final : public Learner {
 public:
  MuseGanLearner(const json& model_json, const Shard& shard, const TrainOptions& options)
      : shard_(shard), options_(options), config_(models::MuseGanConfig::from_json(model_json)) {
    if (!shard.is_piano_roll()) throw Error(shard.path() + ": the musegan family trains on piano-roll shards");
    train_windows_ = roll_windows(shard, Split::kTrain, config_.num_bars, config_.steps_per_bar);
    if (train_windows_.empty())
      throw Error(shard.path() + ": no training window of " + std::to_string(config_.num_bars) + " bars of " +
                  std::to_string(config_.steps_per_bar) + " steps (the GAN needs whole 4/4 bars at this resolution)");
    valid_windows_ = spread_windows(roll_windows(shard, Split::kValid, config_.num_bars, config_.steps_per_bar),
                                    static_cast<size_t>(options.eval_samples));
    reference_windows_ = spread_windows(train_windows_, static_cast<size_t>(options.eval_samples));
    torch::manual_seed(options.seed);
    model_ = models::MuseGan(config_);
    model_->train();
    generator_optimizer_ = make_adam(*model_->generator, options);
    critic_optimizer_ = make_adam(*model_->critic, options);
  }

  torch::nn::Module& module() override { return *model_; }
  json model_config() const override { return config_.to_json(); }
  std::vector<torch::optim::AdamW*> optimizers() override {
    return {generator_optimizer_.get(), critic_optimizer_.get()};
  }
  double elements_per_epoch() const override {
    return static_cast<double>(train_windows_.size()) * static_cast<double>(config_.num_bars * config_.steps_per_bar);
  }

  StepOutcome train_step(int64_t /*step*/, uint64_t batch_seed, double learning_rate) override {
    set_learning_rate(*generator_optimizer_, learning_rate);
    set_learning_rate(*critic_optimizer_, learning_rate);
    // Batch norm in the generator's training pass: the statistics of the global batch, not of this rank's slice.
    if (parallel_ != nullptr) model_->generator->synchronise_batch_statistics(synchronised_statistics());
    std::mt19937_64 rng(batch_seed);
    const int64_t batch = options_.batch_size;
    // Data parallel: every rank draws the windows, noise and penalty mixing of the whole global batch (the loop
    // seeds torch's generator alike on every rank) and keeps its rows [begin, end).
    const auto [begin, end] = parallel_ != nullptr ? parallel_->slice_of(batch) : std::pair<int64_t, int64_t>{0, batch};
    const int64_t rows_here = end - begin;
    const auto mine = [&](const torch::Tensor& t) { return rows_here == batch ? t : t.narrow(0, begin, rows_here); };
    const auto noise_here = [&](const models::MuseGanNoise& noise) {
      return models::MuseGanNoise{mine(noise.shared), mine(noise.shared_temporal), mine(noise.track),
                                  mine(noise.track_temporal)};
    };
    double critic_loss_value = 0, w_estimate = 0, penalty_value = 0;
    for (int64_t c = 0; c < options_.critic_steps; ++c) {
      std::vector<Window> rows;
      for (int64_t row = 0; row < batch; ++row)
        rows.push_back(train_windows_[random_below(rng, train_windows_.size())]);
      const torch::Tensor real =
          window_rolls(std::vector<Window>(rows.begin() + begin, rows.begin() + end));  // (b, K, N, S, P)
      torch::Tensor fake;
      {
        // Without gradients the generator's pass for the whole global batch on every rank costs less than its
        // batch norms' all-reduces (one per layer), and gives the global statistics as exactly: so every rank makes
        // the whole batch and keeps its rows.
        torch::NoGradGuard no_grad;
        if (parallel_ != nullptr) model_->generator->synchronise_batch_statistics(nullptr);
        fake = mine(model_->generator->forward(models::sample_musegan_noise(config_, batch)));
        if (parallel_ != nullptr) model_->generator->synchronise_batch_statistics(synchronised_statistics());
      }
      const torch::Tensor real_scores = model_->critic->forward(real);
      const torch::Tensor fake_scores = model_->critic->forward(fake);
      const torch::Tensor wasserstein = models::wgan_critic_loss(real_scores, fake_scores);
      const torch::Tensor penalty =
          models::gradient_penalty(*model_->critic, real, fake, mine(torch::rand({batch})), options_.gradient_penalty);
      const torch::Tensor loss = wasserstein + penalty;
      // Each a mean over the rows: the ranks' slices are alike in size, so the global mean is the ranks' mean.
      std::vector<double> figures{wasserstein.item<double>(), penalty.item<double>()};
      critic_loss_value = apply_update(loss, "the critic's loss", *model_->critic, *critic_optimizer_, 0.0, parallel_,
                                       static_cast<double>(rows_here), &figures);
      w_estimate = -figures[0];
      penalty_value = figures[1];
    }
    const torch::Tensor fake = model_->generator->forward(noise_here(models::sample_musegan_noise(config_, batch)));
    const torch::Tensor generator_loss = models::wgan_generator_loss(model_->critic->forward(fake));
    const double generator_value = apply_update(generator_loss, "the generator's loss", *model_->generator,
                                                *generator_optimizer_, 0.0, parallel_, static_cast<double>(rows_here));
    critic_optimizer_->zero_grad();  // the generator's backward pass reached the critic too; drop those gradients
    const int64_t frames = options_.critic_steps * batch * config_.num_bars * config_.steps_per_bar;
    // The loss shown is the critic's estimate of the Wasserstein distance between real and generated windows
    // (it should fall as the generator improves); the rest goes to metrics.jsonl.
    return {w_estimate, frames,
            json{{"critic_loss", critic_loss_value},
                 {"gradient_penalty", penalty_value},
                 {"generator_loss", generator_value}}};
  }

  bool supports_data_parallel() const override { return true; }
  bool draws_for_the_global_batch() const override { return true; }

  std::optional<ValidationOutcome> validate(int64_t /*step*/) override {
    // No score decides anything here, and the sample report (pairwise distances between samples) does not split
    // into sums: with several processes rank 0, which writes the metrics, measures it alone.
    if (parallel_ != nullptr && parallel_->rank() != 0) return std::nullopt;
    torch::NoGradGuard no_grad;
    model_->eval();  // batch norm uses its running statistics, as when sampling
    torch::manual_seed(0x5a11d);
    const int64_t samples = std::max<int64_t>(2, options_.eval_samples);
    const torch::Tensor generated = model_->generator->forward(models::sample_musegan_noise(config_, samples));
    ValidationOutcome outcome;
    outcome.score_name = "";
    const PianoRollSpec spec = shard_.roll_spec();
    outcome.record = gan_sample_report(generated.gt(0.5), window_rolls(reference_windows_).to(torch::kBool), config_,
                                       spec.lowest_pitch, spec.steps_per_quarter);
    if (!valid_windows_.empty()) {
      const torch::Tensor real = window_rolls(valid_windows_);
      outcome.record["wasserstein_valid"] =
          (model_->critic->forward(real).mean() - model_->critic->forward(generated).mean()).item<double>();
    }
    model_->train();
    return outcome;
  }

 private:
  torch::Tensor window_rolls(const std::vector<Window>& windows) {  // (B, K, N, S, P)
    return roll_window_batch(shard_, windows, config_, rolls_);
  }

  models::BatchStatisticsReducer synchronised_statistics() const {
    DataParallel* parallel = parallel_;
    return [parallel](const torch::Tensor& values) { return parallel->sum_over_ranks(values); };
  }

  const Shard& shard_;
  TrainOptions options_;
  models::MuseGanConfig config_;
  models::MuseGan model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> generator_optimizer_, critic_optimizer_;
  std::vector<Window> train_windows_, valid_windows_, reference_windows_;
  std::unordered_map<size_t, PianoRoll> rolls_;
};

}  // namespace

json resolve_musegan_config(const models::Family& /*family*/, const json& model, const Shard& shard) {
  if (!shard.is_piano_roll()) throw Error(shard.path() + ": the musegan family trains on piano-roll shards");
  const PianoRollSpec spec = shard.roll_spec();
  json resolved = model;
  resolved["num_tracks"] = spec.num_tracks;
  resolved["num_pitches"] = spec.num_pitches();
  // MuseGAN's windows are 4/4 bars of the roll's grid.
  if (!resolved.contains("steps_per_bar")) resolved["steps_per_bar"] = steps_per_bar(4, 4, spec.steps_per_quarter);
  return models::MuseGanConfig::from_json(resolved).to_json();
}

std::unique_ptr<Learner> make_musegan_learner(const models::Family& /*family*/, const json& model, const Shard& shard,
                                              const TrainOptions& options) {
  return std::make_unique<MuseGanLearner>(model, shard, options);
}

namespace {

json musegan_evaluation(const models::CheckpointInfo& info, const Shard& shard, Split split,
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

// MuseGAN's training recipe (WGAN-GP: penalty 10, 5 critic steps per generator step, Adam lr 1e-3, betas (0.5,
// 0.9), no weight decay, constant rate) on 4-bar windows.
json musegan_preset(const std::string& preset) {
  check_preset_name(preset);
  json model = {{"family", "musegan"}, {"num_bars", 4}};
  json train = {{"learning_rate", 1e-3}, {"beta1", 0.5},           {"beta2", 0.9},
                {"weight_decay", 0.0},   {"schedule", "constant"}, {"warmup_steps", 0},
                {"clip_norm", 0.0},      {"critic_steps", 5},      {"gradient_penalty", 10.0}};
  if (preset == "tiny") {
    model.update({{"shared_latent", 8},
                  {"shared_temporal_latent", 8},
                  {"track_latent", 8},
                  {"track_temporal_latent", 8},
                  {"temporal_hidden", 32},
                  {"generator_channels", {32, 16, 8}},
                  {"critic_channels", {8, 16, 32}}});
    train.update({{"batch_size", 8},
                  {"steps", 40},
                  {"eval_every", 20},
                  {"checkpoint_every", 20},
                  {"log_every", 10},
                  {"eval_samples", 16}});
  } else if (preset == "small") {
    model.update({{"generator_channels", {128, 64, 32}}, {"critic_channels", {32, 64, 128}}});
    train.update(
        {{"batch_size", 16}, {"steps", 3000}, {"eval_every", 250}, {"checkpoint_every", 250}, {"eval_samples", 64}});
  } else {
    model.update({{"shared_latent", 64},
                  {"shared_temporal_latent", 64},
                  {"track_latent", 64},
                  {"track_temporal_latent", 64},
                  {"temporal_hidden", 256},
                  {"generator_channels", {256, 128, 64}},
                  {"critic_channels", {64, 128, 256}}});
    train.update({{"batch_size", 64},
                  {"steps", 20000},
                  {"eval_every", 1000},
                  {"checkpoint_every", 1000},
                  {"eval_samples", 128}});
  }
  return {{"model", model}, {"train", train}};
}

}  // namespace

json musegan_default_config() {
  return models::MuseGanConfig().to_json();
}

json musegan_preset_config(const std::string& preset, bool /*frames*/) {
  return musegan_preset(preset);
}

void apply_musegan_bars(json& config, int64_t bars, const Shard& /*shard*/) {
  config["model"]["num_bars"] = bars;
}

EvaluationReport evaluate_musegan(const models::Family& family, const EvaluationRequest& request) {
  require_cpu_device(request, family.name);
  check_same_encoding(*request.checkpoint, *request.shard);
  EvaluationReport report;
  report.result = musegan_evaluation(*request.checkpoint, *request.shard, request.split, request.latent);
  report.result["family"] = family.name;
  report.result["checkpoint"] = request.checkpoint->path;
  report.text = request.checkpoint->path + " (" + family.name + ") on " + request.shard->path() + ", " +
                request.split_name + " split:\n" + report.result.dump(2) + "\n";
  return report;
}

}  // namespace cadenza::train
