// C-RNN-GAN training: windows of note events (pitch, duration, time shift) from a melody shard; one discriminator
// update, then one generator update, per step (the standard GAN objective, non-saturating generator loss).
#include "train/learner_crnngan.h"

#include <random>

#include "codec/melody_events.h"
#include "common/error.h"
#include "data/batch.h"
#include "data/windows.h"
#include "models/checkpoint.h"
#include "models/crnngan.h"
#include "train/distributed.h"

namespace cadenza::train {
namespace {

using nlohmann::json;

// The melody of a token piece as note events, times in beats (quarter notes).
std::vector<models::MelodyEvent> piece_events(const Shard& shard, const TokenEncoding& encoding, size_t piece) {
  return melody_events(encoding.decode(shard.token_vector(piece)));
}

class CrnnGanLearner final : public Learner {
 public:
  CrnnGanLearner(const json& model_json, const Shard& shard, const TrainOptions& options)
      : options_(options), config_(models::CrnnGanConfig::from_json(model_json)) {
    melody_spec_of(shard, "rgan (crnngan)");
    const auto encoding = shard.make_encoding();
    length_ = options.crop_length;
    for (Split split : {Split::kTrain, Split::kValid}) {
      for (size_t piece : shard.pieces_in_split(split)) {
        std::vector<models::MelodyEvent> events = piece_events(shard, *encoding, piece);
        if (static_cast<int64_t>(events.size()) < length_) continue;
        torch::Tensor features = models::events_to_features(events, config_);  // (n, 3)
        auto& list = split == Split::kTrain ? train_pieces_ : valid_pieces_;
        list.push_back(features);
      }
    }
    for (const auto& features : train_pieces_)
      for (int64_t start = 0; start + length_ <= features.size(0); ++start)
        train_windows_.push_back({static_cast<size_t>(&features - train_pieces_.data()), start});
    if (train_windows_.empty())
      throw Error(shard.path() + ": no training piece has " + std::to_string(length_) +
                  " notes (crop_length, the events per training window)");
    for (size_t piece = 0; piece < valid_pieces_.size(); ++piece) valid_windows_.push_back({piece, 0});
    valid_windows_ = spread_windows(valid_windows_, static_cast<size_t>(options.eval_samples));
    torch::manual_seed(options.seed);
    model_ = models::CrnnGan(config_);
    model_->train();
    generator_optimizer_ = make_adam(*model_->generator, options);
    discriminator_optimizer_ = make_adam(*model_->discriminator, options);
  }

  torch::nn::Module& module() override { return *model_; }
  json model_config() const override { return config_.to_json(); }
  std::vector<torch::optim::AdamW*> optimizers() override {
    return {generator_optimizer_.get(), discriminator_optimizer_.get()};
  }
  double elements_per_epoch() const override { return static_cast<double>(train_windows_.size()); }

  StepOutcome train_step(int64_t /*step*/, uint64_t batch_seed, double learning_rate) override {
    set_learning_rate(*generator_optimizer_, learning_rate);
    set_learning_rate(*discriminator_optimizer_, learning_rate);
    std::mt19937_64 rng(batch_seed);
    const int64_t batch = options_.batch_size;
    std::vector<Window> rows;
    for (int64_t row = 0; row < batch; ++row) rows.push_back(train_windows_[random_below(rng, train_windows_.size())]);
    // Data parallel: every rank draws the windows and the noise of the whole global batch (the loop seeds torch's
    // generator alike on every rank) and keeps its rows [begin, end). The losses are means over the rows (and
    // steps), and the ranks' slices are alike in size.
    const auto [begin, end] = parallel_ != nullptr ? parallel_->slice_of(batch) : std::pair<int64_t, int64_t>{0, batch};
    const int64_t rows_here = end - begin;
    const auto mine = [&](const torch::Tensor& t) { return rows_here == batch ? t : t.narrow(0, begin, rows_here); };
    const torch::Tensor real =
        gather(train_pieces_, std::vector<Window>(rows.begin() + begin, rows.begin() + end));  // (b, T, 3)
    torch::Tensor fake;
    {
      torch::NoGradGuard no_grad;
      fake = model_->generator->forward(mine(models::sample_crnngan_noise(config_, batch, length_)));
    }
    const torch::Tensor real_logits = model_->discriminator->forward(real);
    const torch::Tensor fake_logits = model_->discriminator->forward(fake);
    const torch::Tensor discriminator_loss = models::crnngan_discriminator_loss(real_logits, fake_logits);
    std::vector<double> accuracy{
        0.5 *
        (real_logits.gt(0).to(torch::kDouble).mean() + fake_logits.le(0).to(torch::kDouble).mean()).item<double>()};
    const double discriminator_value =
        apply_update(discriminator_loss, "the discriminator's loss", *model_->discriminator, *discriminator_optimizer_,
                     options_.clip_norm, parallel_, static_cast<double>(rows_here), &accuracy);

    const torch::Tensor generated =
        model_->generator->forward(mine(models::sample_crnngan_noise(config_, batch, length_)));
    const torch::Tensor generated_hidden = model_->discriminator->hidden_features(generated);  // (b, T, 2C)
    torch::Tensor generator_loss = models::crnngan_generator_loss(model_->discriminator->logits(generated_hidden));
    if (config_.feature_matching > 0) {
      // The same real rows the discriminator just saw, through the updated discriminator; no gradient to it here.
      torch::Tensor real_hidden;
      {
        torch::NoGradGuard no_grad;
        real_hidden = model_->discriminator->hidden_features(real);
      }
      generator_loss = generator_loss +
                       config_.feature_matching * models::crnngan_feature_matching_loss(real_hidden, generated_hidden);
    }
    const double generator_value =
        apply_update(generator_loss, "the generator's loss", *model_->generator, *generator_optimizer_,
                     options_.clip_norm, parallel_, static_cast<double>(rows_here));
    discriminator_optimizer_->zero_grad();
    return {generator_value, batch * length_,
            json{{"discriminator_loss", discriminator_value}, {"discriminator_accuracy", accuracy[0]}}};
  }

  // Feature matching compares means over the whole batch, which a process's slice does not hold: one process only.
  bool supports_data_parallel() const override { return config_.feature_matching == 0; }
  std::string one_process_reason() const override {
    return "an rgan with feature_matching " + option_detail::format_number(config_.feature_matching) +
           " (it matches means over the whole batch) trains in one process only; feature_matching=0 trains on "
           "several";
  }
  bool draws_for_the_global_batch() const override { return true; }

  std::optional<ValidationOutcome> validate(int64_t /*step*/) override {
    if (valid_windows_.empty()) return std::nullopt;
    // No score decides anything here: with several processes rank 0, which writes the metrics, measures it alone.
    if (parallel_ != nullptr && parallel_->rank() != 0) return std::nullopt;
    torch::NoGradGuard no_grad;
    model_->eval();
    torch::manual_seed(0x5a11d);
    const torch::Tensor real = gather(valid_pieces_, valid_windows_);  // (B, T, 3)
    const torch::Tensor fake = model_->generator->forward(models::sample_crnngan_noise(config_, real.size(0), length_));
    const double accuracy = 0.5 * (model_->discriminator->forward(real).gt(0).to(torch::kDouble).mean() +
                                   model_->discriminator->forward(fake).le(0).to(torch::kDouble).mean())
                                      .item<double>();
    ValidationOutcome outcome;
    outcome.record = {{"discriminator_accuracy", accuracy},
                      {"generated", event_statistics(fake)},
                      {"validation", event_statistics(real)}};
    model_->train();
    return outcome;
  }

 private:
  torch::Tensor gather(const std::vector<torch::Tensor>& pieces, const std::vector<Window>& windows) const {
    std::vector<torch::Tensor> rows;
    for (const Window& window : windows) rows.push_back(pieces[window.piece].narrow(0, window.start, length_));
    return torch::stack(rows);
  }
  // Means and spreads of the decoded events of (B, T, 3) features: the figures that show a generator stuck on one
  // pitch or one rhythm.
  json event_statistics(const torch::Tensor& features) const {
    std::vector<double> pitches, durations, shifts;
    for (int64_t row = 0; row < features.size(0); ++row)
      for (const auto& event : models::features_to_events(features[row], config_)) {
        pitches.push_back(event.pitch), durations.push_back(event.duration), shifts.push_back(event.time_shift);
      }
    auto mean_std = [](const std::vector<double>& values) {
      double sum = 0, squares = 0;
      for (double v : values) sum += v, squares += v * v;
      const double n = static_cast<double>(values.size()), mean = sum / n;
      return json{{"mean", mean}, {"std", std::sqrt(std::max(0.0, squares / n - mean * mean))}};
    };
    return {{"pitch", mean_std(pitches)}, {"duration", mean_std(durations)}, {"time_shift", mean_std(shifts)}};
  }

  TrainOptions options_;
  models::CrnnGanConfig config_;
  int64_t length_ = 0;
  models::CrnnGan model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> generator_optimizer_, discriminator_optimizer_;
  std::vector<torch::Tensor> train_pieces_, valid_pieces_;  // (n, 3) features per piece with >= length_ events
  std::vector<Window> train_windows_, valid_windows_;       // piece = index into the lists above
};

}  // namespace

json resolve_crnngan_config(const models::Family& /*family*/, const json& model, const Shard& shard) {
  const MelodySpec spec = melody_spec_of(shard, "rgan (crnngan)");
  json resolved = model;
  resolved["min_pitch"] = spec.min_pitch;
  resolved["max_pitch"] = spec.max_pitch;
  return models::CrnnGanConfig::from_json(resolved).to_json();
}

std::unique_ptr<Learner> make_crnngan_learner(const models::Family& /*family*/, const json& model, const Shard& shard,
                                              const TrainOptions& options) {
  return std::make_unique<CrnnGanLearner>(model, shard, options);
}

namespace {

json crnngan_evaluation(const models::Family& family, const models::CheckpointInfo& info, const Shard& shard,
                        Split split, const LatentEvaluationOptions& options) {
  // The learner holds the event extraction and the statistics; its validation on the split is the evaluation.
  json config = {{"model", info.model_config_json},
                 {"train", info.training.value("config", json::object()).value("train", json::object())}};
  TrainOptions train_options = TrainOptions::from_json(config["train"]);
  train_options.eval_samples = options.samples;
  (void)split;
  auto learner = make_crnngan_learner(family, config["model"], shard, train_options);
  models::load_checkpoint_weights(info.path, learner->module());
  auto outcome = learner->validate(0);
  if (!outcome) throw Error(shard.path() + ": no validation piece long enough to evaluate the rgan on");
  json result = outcome->record;
  result["split"] = "valid";  // the learner's validation set, whatever split was asked for
  return result;
}

// C-RNN-GAN (Mogren 2016: 2 LSTM layers of 350, sequences of note events) scaled to a CPU; Adam with the usual GAN
// betas and gradient clipping (C-RNN-GAN clipped at 5).
json crnngan_preset(const std::string& preset) {
  check_preset_name(preset);
  json model = {{"family", "crnngan"}};
  json train = {{"learning_rate", 2e-4},  {"beta1", 0.5},      {"beta2", 0.999},  {"weight_decay", 0.0},
                {"schedule", "constant"}, {"warmup_steps", 0}, {"clip_norm", 5.0}};
  if (preset == "tiny") {
    model.update({{"noise_size", 8},
                  {"generator_hidden", 32},
                  {"generator_layers", 1},
                  {"discriminator_hidden", 32},
                  {"discriminator_layers", 1}});
    train.update({{"batch_size", 8},
                  {"crop_length", 16},
                  {"steps", 60},
                  {"eval_every", 30},
                  {"checkpoint_every", 30},
                  {"log_every", 10},
                  {"eval_samples", 32}});
  } else if (preset == "small") {
    // No feature matching by default (opt in with --set feature_matching=100): on Nottingham, 25 minutes, it widened
    // the note lengths' spread on two seeds and collapsed the generator on a third (docs/latent-models.md).
    model.update({{"noise_size", 32},
                  {"generator_hidden", 128},
                  {"generator_layers", 2},
                  {"discriminator_hidden", 128},
                  {"discriminator_layers", 2}});
    train.update({{"batch_size", 32},
                  {"crop_length", 64},
                  {"steps", 3000},
                  {"eval_every", 250},
                  {"checkpoint_every", 250},
                  {"eval_samples", 128}});
  } else {
    model.update({{"noise_size", 64},
                  {"generator_hidden", 350},
                  {"generator_layers", 2},
                  {"discriminator_hidden", 350},
                  {"discriminator_layers", 2}});
    train.update({{"batch_size", 64},
                  {"crop_length", 128},
                  {"steps", 20000},
                  {"eval_every", 1000},
                  {"checkpoint_every", 1000},
                  {"eval_samples", 256}});
  }
  return {{"model", model}, {"train", train}};
}

}  // namespace

json crnngan_default_config() {
  return models::CrnnGanConfig().to_json();
}

json crnngan_preset_config(const std::string& preset, bool /*frames*/) {
  return crnngan_preset(preset);
}

EvaluationReport evaluate_crnngan(const models::Family& family, const EvaluationRequest& request) {
  require_cpu_device(request, family.name);
  check_same_encoding(*request.checkpoint, *request.shard);
  EvaluationReport report;
  report.result = crnngan_evaluation(family, *request.checkpoint, *request.shard, request.split, request.latent);
  report.result["family"] = family.name;
  report.result["checkpoint"] = request.checkpoint->path;
  report.text = request.checkpoint->path + " (" + family.name + ") on " + request.shard->path() + ", " +
                report.result.value("split", request.split_name) + " split:\n" + report.result.dump(2) + "\n";
  return report;
}

}  // namespace cadenza::train
