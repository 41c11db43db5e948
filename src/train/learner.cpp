// The learner factory, the data-decided config keys of each family, and the autoregressive families' learner.
#include "train/learner.h"

#include <cmath>

#include "common/error.h"
#include "models/checkpoint.h"
#include "models/crnngan.h"
#include "models/losses.h"
#include "models/musegan.h"
#include "models/sequence_model.h"
#include "models/vae.h"
#include "train/batches.h"
#include "train/evaluate.h"
#include "train/family_learners.h"

namespace cadenza::train {
namespace {

using nlohmann::json;

class SequenceLearner final : public Learner {
 public:
  SequenceLearner(const json& model_json, const Shard& shard, const TrainOptions& options)
      : shard_(shard), options_(options), config_(models::ModelConfig::from_json(model_json)) {
    const bool frames = shard.is_piano_roll();
    if (frames != (config_.input_kind == models::InputKind::kFrames))
      throw Error(shard.path() + ": the model reads " + std::string(frames ? "tokens" : "piano-roll frames") +
                  " but the shard holds " + (frames ? "piano rolls" : "tokens"));
    if (config_.vocab_size != shard_input_size(shard))
      throw Error(shard.path() + ": the model has input width " + std::to_string(config_.vocab_size) +
                  " but the shard's is " + std::to_string(shard_input_size(shard)));
    torch::manual_seed(options.seed);
    model_ = models::make_sequence_model(config_);
    model_->train();
    optimizer_ = make_adam(*model_, options);
    BatchOptions batch_options;
    batch_options.batch_size = static_cast<int>(options.batch_size);
    batch_options.crop_length = static_cast<int>(options.crop_length);
    batch_options.augment.max_transpose = static_cast<int>(options.max_transpose);
    batch_options.augment.min_stretch = options.min_stretch;
    batch_options.augment.max_stretch = options.max_stretch;
    source_ = std::make_unique<BatchSource>(shard, Split::kTrain, batch_options);
    for (size_t piece : shard.pieces_in_split(Split::kTrain)) train_elements_ += shard.piece(piece).length;
    for (size_t piece : shard.pieces_in_split(Split::kValid))
      if (shard.piece(piece).length >= 2) has_validation_ = true;
  }

  torch::nn::Module& module() override { return *model_; }
  json model_config() const override { return config_.to_json(); }
  std::vector<torch::optim::AdamW*> optimizers() override { return {optimizer_.get()}; }
  double elements_per_epoch() const override { return train_elements_; }

  StepOutcome train_step(int64_t /*step*/, uint64_t batch_seed, double learning_rate) override {
    set_learning_rate(*optimizer_, learning_rate);
    TensorBatch batch = source_->next(batch_seed);
    const torch::Tensor logits = model_->forward(batch.input);  // (B, T, V)
    const torch::Tensor loss = source_->frames()
                                   ? models::frame_nll(logits, batch.targets, batch.frame_mask)
                                   : models::token_cross_entropy(logits, batch.targets, source_->pad_id());
    const double value = loss.item<double>();  // CPU: no sync cost; needed to stop before a bad update
    check_finite_loss(value, "the loss");
    optimizer_->zero_grad();
    loss.backward();
    if (options_.clip_norm > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.clip_norm);
    optimizer_->step();
    return {value, batch.real_elements, json::object()};
  }

  std::optional<ValidationOutcome> validate(int64_t /*step*/) override {
    if (!has_validation_) return std::nullopt;
    EvaluationOptions eval_options;
    eval_options.window = options_.eval_window;
    eval_options.max_pieces = options_.max_eval_pieces;
    const EvaluationResult valid = evaluate_model(*model_, shard_, Split::kValid, eval_options);
    model_->train();
    ValidationOutcome outcome;
    outcome.score = valid.nll;
    outcome.score_name = "nll";
    outcome.record = {{"nll", valid.nll},
                      {"perplexity", valid.perplexity},
                      {"accuracy", valid.accuracy},
                      {"elements", valid.elements},
                      {"seconds", valid.seconds}};
    return outcome;
  }

 private:
  const Shard& shard_;
  TrainOptions options_;
  models::ModelConfig config_;
  std::shared_ptr<models::SequenceModelImpl> model_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<BatchSource> source_;
  double train_elements_ = 0;
  bool has_validation_ = false;
};

}  // namespace

void check_finite_loss(double value, const std::string& what) {
  if (!std::isfinite(value)) throw NonFiniteLoss(value, what);
}

std::unique_ptr<torch::optim::AdamW> make_adam(torch::nn::Module& module, const TrainOptions& options) {
  return std::make_unique<torch::optim::AdamW>(module.parameters(), torch::optim::AdamWOptions(options.learning_rate)
                                                                        .betas({options.beta1, options.beta2})
                                                                        .weight_decay(options.weight_decay));
}

void set_learning_rate(torch::optim::AdamW& optimizer, double learning_rate) {
  for (auto& group : optimizer.param_groups())
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(learning_rate);
}

json resolve_model_config(const json& model, const Shard& shard) {
  const models::ModelFamily family = models::model_family_of(model);
  switch (family) {
    case models::ModelFamily::kSequence: {
      json resolved = model;
      resolved["vocab_size"] = shard_input_size(shard);
      resolved["input_kind"] = shard.is_piano_roll() ? "frames" : "tokens";
      return models::ModelConfig::from_json(resolved).to_json();
    }
    case models::ModelFamily::kVae:
      return resolve_vae_config(model, shard);
    case models::ModelFamily::kMuseGan:
      return resolve_musegan_config(model, shard);
    case models::ModelFamily::kCrnnGan:
      return resolve_crnngan_config(model, shard);
  }
  throw Error("unreachable model family");
}

std::unique_ptr<Learner> make_learner(const json& config, const Shard& shard, const TrainOptions& options) {
  const json& model = config.at("model");
  switch (models::model_family_of(model)) {
    case models::ModelFamily::kSequence:
      return std::make_unique<SequenceLearner>(model, shard, options);
    case models::ModelFamily::kVae:
      return make_vae_learner(model, shard, options);
    case models::ModelFamily::kMuseGan:
      return make_musegan_learner(model, shard, options);
    case models::ModelFamily::kCrnnGan:
      return make_crnngan_learner(model, shard, options);
  }
  throw Error("unreachable model family");
}

}  // namespace cadenza::train
