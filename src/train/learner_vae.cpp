// MusicVAE training: bar-aligned melody windows (tokens) or multi-track piano-roll windows (frames), the negative
// ELBO with MusicVAE's beta schedule and free bits.
#include <random>

#include "common/error.h"
#include "data/batch.h"
#include "data/windows.h"
#include "encoding/melody.h"
#include "generate/vae_segments.h"
#include "models/vae.h"
#include "train/family_learners.h"

namespace cadenza::train {
namespace {

using nlohmann::json;

class VaeLearner final : public Learner {
 public:
  VaeLearner(const json& model_json, const Shard& shard, const TrainOptions& options)
      : options_(options), config_(models::VaeConfig::from_json(model_json)), segments_(shard, config_) {
    train_windows_ = segments_.windows(Split::kTrain);
    if (train_windows_.empty())
      throw Error(shard.path() + ": no training window of " + std::to_string(segments_.codec().bars()) +
                  " bars with a note (are the pieces shorter than the VAE's segment?)");
    valid_windows_ = spread_windows(segments_.windows(Split::kValid), static_cast<size_t>(options.eval_samples));
    torch::manual_seed(options.seed);
    model_ = models::MusicVae(config_);
    model_->train();
    optimizer_ = make_adam(*model_, options);
  }

  torch::nn::Module& module() override { return *model_; }
  json model_config() const override { return config_.to_json(); }
  std::vector<torch::optim::AdamW*> optimizers() override { return {optimizer_.get()}; }
  double elements_per_epoch() const override {
    return static_cast<double>(train_windows_.size()) * static_cast<double>(config_.sequence_length);
  }

  StepOutcome train_step(int64_t step, uint64_t batch_seed, double learning_rate) override {
    set_learning_rate(*optimizer_, learning_rate);
    std::mt19937_64 rng(batch_seed);
    std::vector<Window> batch;
    for (int64_t row = 0; row < options_.batch_size; ++row)
      batch.push_back(train_windows_[random_below(rng, train_windows_.size())]);
    const torch::Tensor x = segments_.batch(batch);  // (B, T) tokens or (B, T, V) frames
    const models::VaeOutput out = model_->forward(x);
    const double beta = models::kl_beta(config_, step);
    const models::VaeLoss loss = models::elbo_loss(out.logits, x, out.mu, out.logvar, beta, config_.free_bits);
    const double value = loss.loss.item<double>();
    check_finite_loss(value, "the negative ELBO");
    optimizer_->zero_grad();
    loss.loss.backward();
    if (options_.clip_norm > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.clip_norm);
    optimizer_->step();
    const double length = static_cast<double>(config_.sequence_length);
    return {value, x.size(0) * x.size(1),
            json{{"reconstruction_per_step", loss.reconstruction.item<double>() / length},
                 {"kl_bits", loss.kl_bits.item<double>()},
                 {"beta", beta},
                 {"accuracy", models::step_accuracy(out.logits, x).item<double>()}}};
  }

  std::optional<ValidationOutcome> validate(int64_t /*step*/) override {
    if (valid_windows_.empty()) return std::nullopt;
    model_->eval();
    ValidationOutcome outcome;
    outcome.record = vae_window_metrics(*model_, segments_, valid_windows_);
    model_->train();
    outcome.score = outcome.record["elbo_per_step"].get<double>();
    outcome.score_name = "elbo";
    return outcome;
  }

 private:
  TrainOptions options_;
  models::VaeConfig config_;
  VaeSegments segments_;
  models::MusicVae model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<Window> train_windows_, valid_windows_;
};

}  // namespace

json vae_window_metrics(models::MusicVaeImpl& model, VaeSegments& segments, const std::vector<Window>& windows) {
  if (windows.empty()) throw Error("vae: no window to evaluate on");
  torch::NoGradGuard no_grad;
  torch::manual_seed(0x5a11d);  // the ELBO's z draws: the same at every validation (the loop reseeds each step)
  const int64_t length = model.config().sequence_length;
  const bool frames = segments.codec().frames();
  double elbo_sum = 0, reconstruction_sum = 0, kl_bits_sum = 0, forced_correct = 0, sampled_correct = 0;
  double true_on = 0, sampled_on = 0, both_on = 0;  // frames: cells on in the input, the reconstruction, both
  std::mt19937_64 unused_rng(0);                    // argmax (threshold) decoding draws nothing
  const size_t chunk = 128;
  for (size_t first = 0; first < windows.size(); first += chunk) {
    const size_t count = std::min(chunk, windows.size() - first);
    const torch::Tensor x = segments.batch(windows, first, count);  // (B, T) or (B, T, V)
    const models::VaeOutput sampled = model.forward(x);             // z ~ q(z|x)
    const models::VaeLoss loss = models::elbo_loss(sampled.logits, x, sampled.mu, sampled.logvar, 1.0, 0.0);
    const double rows = static_cast<double>(count);
    elbo_sum += (loss.reconstruction.item<double>() + loss.kl.item<double>()) * rows;
    reconstruction_sum += loss.reconstruction.item<double>() * rows;
    kl_bits_sum += loss.kl_bits.item<double>() * rows;
    // Reconstruction from the posterior mean: teacher-forced, and decoded greedily from the model's own outputs.
    const torch::Tensor forced = model.decode_teacher_forced(sampled.mu, x);
    forced_correct += models::step_accuracy(forced, x).item<double>() * rows;
    const torch::Tensor greedy = model.sample(sampled.mu, length, 0.0, unused_rng);
    if (frames) {
      sampled_correct += greedy.eq(x).all(2).to(torch::kDouble).mean().item<double>() * rows;
      true_on += x.sum().item<double>();
      sampled_on += greedy.sum().item<double>();
      both_on += (greedy * x).sum().item<double>();
    } else {
      sampled_correct += greedy.eq(x).to(torch::kDouble).mean().item<double>() * rows;
    }
  }
  const double n = static_cast<double>(windows.size()), t = static_cast<double>(length);
  json record = {{"elbo_per_step", elbo_sum / n / t},
                 {"reconstruction_per_step", reconstruction_sum / n / t},
                 {"kl_bits", kl_bits_sum / n},
                 {"accuracy_teacher_forced", forced_correct / n},
                 {"accuracy_sampled", sampled_correct / n},
                 {"windows", windows.size()},
                 {"input_kind", frames ? "frames" : "tokens"}};
  if (frames) {
    // Cell-level agreement of the sampled reconstruction: a frame with one wrong key of many fails the accuracy.
    const double precision = sampled_on > 0 ? both_on / sampled_on : 0, recall = true_on > 0 ? both_on / true_on : 0;
    record["cells_precision_sampled"] = precision;
    record["cells_recall_sampled"] = recall;
    record["cells_f1_sampled"] = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
  }
  return record;
}

MelodySpec melody_spec_of(const Shard& shard, const char* family) {
  if (shard.is_piano_roll() || shard.metadata().encoding_name() != "melody")
    throw Error(shard.path() + ": the " + std::string(family) +
                " family trains on melody-encoded shards (`cadenza "
                "dataset prepare --encoding melody`), this one holds \"" +
                shard.metadata().encoding_name() + "\"");
  return MelodySpec::from_json(shard.metadata().encoding);
}

json resolve_vae_config(const json& model, const Shard& shard) {
  json resolved = model;
  if (shard.is_piano_roll()) {
    const PianoRollSpec spec = shard.roll_spec();
    resolved["input_kind"] = "frames";
    resolved["vocab_size"] = static_cast<int64_t>(spec.num_tracks) * spec.num_pitches();
  } else {
    melody_spec_of(shard, "vae");  // a clear error for any other token encoding
    resolved["input_kind"] = "tokens";
    resolved["vocab_size"] = shard.vocabulary_size();
  }
  const models::VaeConfig config = models::VaeConfig::from_json(resolved);
  VaeCodec(config, shard.metadata().encoding);  // checks the segment is whole bars of the shard's grid
  return config.to_json();
}

std::unique_ptr<Learner> make_vae_learner(const json& model, const Shard& shard, const TrainOptions& options) {
  return std::make_unique<VaeLearner>(model, shard, options);
}

}  // namespace cadenza::train
