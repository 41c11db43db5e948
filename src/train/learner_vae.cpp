// MusicVAE training: bar-aligned melody windows, the negative ELBO with MusicVAE's beta schedule and free bits.
#include <random>

#include "common/error.h"
#include "data/batch.h"
#include "data/windows.h"
#include "encoding/melody.h"
#include "models/vae.h"
#include "train/family_learners.h"

namespace cadenza::train {
namespace {

using nlohmann::json;

// (B, T) int64 tokens of the given windows.
torch::Tensor window_tokens(const Shard& shard, const std::vector<Window>& windows, size_t first, size_t count,
                            int64_t length) {
  torch::Tensor tokens = torch::empty({static_cast<int64_t>(count), length}, torch::kLong);
  auto out = tokens.accessor<int64_t, 2>();
  for (size_t row = 0; row < count; ++row) {
    const Window& window = windows[first + row];
    const std::vector<Token> piece = shard.token_vector(window.piece);
    for (int64_t t = 0; t < length; ++t) out[row][t] = piece[window.start + t];
  }
  return tokens;
}

class VaeLearner final : public Learner {
 public:
  VaeLearner(const json& model_json, const Shard& shard, const TrainOptions& options)
      : shard_(shard), options_(options), config_(models::VaeConfig::from_json(model_json)) {
    const MelodySpec spec = melody_spec_of(shard, "vae");
    const int64_t steps_per_bar = 4 * spec.steps_per_quarter;
    train_windows_ = melody_windows(shard, Split::kTrain, config_.sequence_length, steps_per_bar);
    if (train_windows_.empty())
      throw Error(shard.path() + ": no training window of " + std::to_string(config_.sequence_length) +
                  " steps with a note (are the pieces shorter than the VAE's sequence_length?)");
    valid_windows_ = spread_windows(melody_windows(shard, Split::kValid, config_.sequence_length, steps_per_bar),
                                    static_cast<size_t>(options.eval_samples));
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
    const torch::Tensor tokens = window_tokens(shard_, batch, 0, batch.size(), config_.sequence_length);  // (B, T)
    const models::VaeOutput out = model_->forward(tokens);
    const double beta = models::kl_beta(config_, step);
    const models::VaeLoss loss = models::elbo_loss(out.logits, tokens, out.mu, out.logvar, beta, config_.free_bits);
    const double value = loss.loss.item<double>();
    check_finite_loss(value, "the negative ELBO");
    optimizer_->zero_grad();
    loss.loss.backward();
    if (options_.clip_norm > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.clip_norm);
    optimizer_->step();
    const double length = static_cast<double>(config_.sequence_length);
    return {value, tokens.numel(),
            json{{"reconstruction_per_token", loss.reconstruction.item<double>() / length},
                 {"kl_bits", loss.kl_bits.item<double>()},
                 {"beta", beta},
                 {"accuracy", models::token_accuracy(out.logits, tokens).item<double>()}}};
  }

  std::optional<ValidationOutcome> validate(int64_t /*step*/) override {
    if (valid_windows_.empty()) return std::nullopt;
    model_->eval();
    ValidationOutcome outcome;
    outcome.record = vae_window_metrics(*model_, shard_, valid_windows_);
    model_->train();
    outcome.score = outcome.record["elbo_per_token"].get<double>();
    outcome.score_name = "elbo";
    return outcome;
  }

 private:
  const Shard& shard_;
  TrainOptions options_;
  models::VaeConfig config_;
  models::MusicVae model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<Window> train_windows_, valid_windows_;
};

}  // namespace

json vae_window_metrics(models::MusicVaeImpl& model, const Shard& shard, const std::vector<Window>& windows) {
  if (windows.empty()) throw Error(shard.path() + ": no melody window to evaluate the vae on");
  torch::NoGradGuard no_grad;
  torch::manual_seed(0x5a11d);  // the ELBO's z draws: the same at every validation (the loop reseeds each step)
  const int64_t length = model.config().sequence_length;
  double elbo_sum = 0, reconstruction_sum = 0, kl_bits_sum = 0, forced_correct = 0, sampled_correct = 0;
  std::mt19937_64 unused_rng(0);  // argmax decoding draws nothing
  const size_t chunk = 128;
  for (size_t first = 0; first < windows.size(); first += chunk) {
    const size_t count = std::min(chunk, windows.size() - first);
    const torch::Tensor tokens = window_tokens(shard, windows, first, count, length);  // (B, T)
    const models::VaeOutput sampled = model.forward(tokens);                           // z ~ q(z|x)
    const models::VaeLoss loss = models::elbo_loss(sampled.logits, tokens, sampled.mu, sampled.logvar, 1.0, 0.0);
    const double rows = static_cast<double>(count);
    elbo_sum += (loss.reconstruction.item<double>() + loss.kl.item<double>()) * rows;
    reconstruction_sum += loss.reconstruction.item<double>() * rows;
    kl_bits_sum += loss.kl_bits.item<double>() * rows;
    // Reconstruction from the posterior mean: teacher-forced, and decoded greedily from the model's own outputs.
    const torch::Tensor forced = model.decode_teacher_forced(sampled.mu, tokens);
    forced_correct += models::token_accuracy(forced, tokens).item<double>() * rows;
    const torch::Tensor greedy = model.sample_tokens(sampled.mu, length, 0.0, unused_rng);
    sampled_correct += greedy.eq(tokens).to(torch::kDouble).mean().item<double>() * rows;
  }
  const double n = static_cast<double>(windows.size()), t = static_cast<double>(length);
  return {{"elbo_per_token", elbo_sum / n / t},
          {"reconstruction_per_token", reconstruction_sum / n / t},
          {"kl_bits", kl_bits_sum / n},
          {"accuracy_teacher_forced", forced_correct / n},
          {"accuracy_sampled", sampled_correct / n},
          {"windows", windows.size()}};
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
  const MelodySpec spec = melody_spec_of(shard, "vae");
  json resolved = model;
  resolved["vocab_size"] = shard.vocabulary_size();
  const models::VaeConfig config = models::VaeConfig::from_json(resolved);
  const int64_t steps_per_bar = 4 * spec.steps_per_quarter;
  if (config.sequence_length % steps_per_bar != 0)
    throw Error("vae: sequence_length " + std::to_string(config.sequence_length) + " is not a whole number of bars (" +
                std::to_string(steps_per_bar) + " steps per bar in " + shard.path() + ")");
  return config.to_json();
}

std::unique_ptr<Learner> make_vae_learner(const json& model, const Shard& shard, const TrainOptions& options) {
  return std::make_unique<VaeLearner>(model, shard, options);
}

}  // namespace cadenza::train
