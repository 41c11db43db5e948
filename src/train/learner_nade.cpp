// The NADE hybrids' learner: random crops of piano-roll frames (codec/batches.h), the mean negative log-likelihood of
// frames 1..T-1 (the first frame of a crop is context only, as the benchmark protocol leaves each piece's first frame
// unscored); validation and `cadenza evaluate` score held-out pieces whole with the same windows as every frame model
// (train/evaluate.h), beside the key-rate baseline.
#include "train/learner_nade.h"

#include <torch/torch.h>

#include <cstdio>

#include "codec/batches.h"
#include "common/error.h"
#include "models/checkpoint.h"
#include "models/device.h"
#include "models/family.h"
#include "models/rnn_nade.h"
#include "models/transformer_nade.h"

namespace cadenza::train {
namespace {

using nlohmann::json;

template <class Impl>
using ConfigOf = std::decay_t<decltype(std::declval<const Impl&>().config())>;

template <class Impl>
class NadeLearner final : public Learner {
 public:
  NadeLearner(const json& model_json, const Shard& shard, const TrainOptions& options)
      : shard_(shard), options_(options), config_(ConfigOf<Impl>::from_json(model_json)) {
    if (!shard.is_piano_roll()) throw Error(shard.path() + ": a NADE model trains on piano-roll shards");
    if (config_.vocab_size != codec::shard_input_size(shard))
      throw Error(shard.path() + ": the model reads frames of " + std::to_string(config_.vocab_size) +
                  " keys but the shard's have " + std::to_string(codec::shard_input_size(shard)));
    // The NADE's (B, T, K, U) activations dominate a step's memory.
    const double B = static_cast<double>(options.batch_size), T = static_cast<double>(options.crop_length);
    check_memory_estimate(4.0 * B * T * static_cast<double>(config_.vocab_size) *
                              (4.0 * static_cast<double>(config_.nade_hidden) + 8.0 * config_.hidden_size),
                          "training a NADE model with batch_size " + std::to_string(options.batch_size) +
                              ", crop_length " + std::to_string(options.crop_length) + " and nade_hidden " +
                              std::to_string(config_.nade_hidden));
    torch::manual_seed(options.seed);
    model_ = std::make_shared<Impl>(config_);
    model_->train();
    optimizer_ = make_adam(*model_, options);
    BatchOptions batch_options;
    batch_options.batch_size = static_cast<int>(options.batch_size);
    batch_options.crop_length = static_cast<int>(options.crop_length);
    batch_options.augment.max_transpose = static_cast<int>(options.max_transpose);
    source_ = std::make_unique<codec::BatchSource>(shard, Split::kTrain, batch_options);
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
    codec::TensorBatch batch = source_->next(batch_seed);  // (B, T, K) frames, (B, T) mask: the global batch
    const int64_t global_elements = batch.real_elements;
    if (parallel_ != nullptr) batch = rows_of_this_rank(batch, *parallel_);  // (b, T, K), (b, T)
    batch = on_device(batch, model_->parameters().front().device());
    const torch::Tensor log_probs = model_->log_prob(batch.input);                   // (b, T-1)
    const torch::Tensor loss = models::mean_frame_nll(log_probs, batch.frame_mask);  // nats per scored frame
    const double value = apply_update(loss, "the frame NLL", *model_, *optimizer_, options_.clip_norm, parallel_,
                                      parallel_ != nullptr ? scored_elements(batch, true, 0) : 1.0);
    return {value, global_elements, json::object()};
  }

  bool supports_data_parallel() const override { return true; }
  bool supports_accelerators() const override { return true; }

  std::optional<ValidationOutcome> validate(int64_t /*step*/) override {
    if (!has_validation_) return std::nullopt;
    EvaluationOptions eval_options;
    eval_options.window = options_.eval_window;
    eval_options.max_pieces = options_.max_eval_pieces;
    eval_options.parallel = parallel_;
    model_->eval();
    const EvaluationResult valid = evaluate_frame_scorer(
        [this](const torch::Tensor& frames) {
          return model_->log_prob(frames.to(model_->parameters().front().device())).to(torch::kCPU);
        },
        shard_, Split::kValid, eval_options);
    model_->train();
    ValidationOutcome outcome;
    outcome.score = valid.nll;
    outcome.score_name = "nll";
    outcome.record = {{"nll", valid.nll}, {"elements", valid.elements}, {"seconds", valid.seconds}};
    return outcome;
  }

 private:
  const Shard& shard_;
  TrainOptions options_;
  ConfigOf<Impl> config_;
  std::shared_ptr<Impl> model_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<codec::BatchSource> source_;
  double train_elements_ = 0;
  bool has_validation_ = false;
};

json result_json(const EvaluationResult& r) {
  return {{"nll", r.nll},
          {"bits", r.bits_per_element},
          {"elements", r.elements},
          {"pieces", r.pieces},
          {"seconds", r.seconds}};
}

// Sizes for 88-key piano-roll benchmarks on a CPU (Boulanger-Lewandowski 2012 used an RNN of 150-300 units and a NADE
// of 100-150; Magenta's pianoroll_rnn_nade 3 x 128 and 128).
json preset_for(const std::string& preset, bool attention) {
  check_preset_name(preset);
  json model = json::object(), train = json::object();
  if (preset == "tiny") {
    model = {{"hidden_size", 32}, {"num_layers", 1}, {"nade_hidden", 16}};
    if (attention) model.update({{"num_heads", 2}});
    train = {{"batch_size", 8},    {"crop_length", 32},     {"steps", 60},
             {"warmup_steps", 10}, {"eval_every", 30},      {"checkpoint_every", 30},
             {"log_every", 10},    {"max_eval_pieces", 16}, {"learning_rate", 3e-3}};
  } else if (preset == "small") {
    model = attention ? json{{"hidden_size", 128},      {"num_layers", 3},    {"num_heads", 4},
                             {"feedforward_size", 512}, {"nade_hidden", 128}, {"dropout", 0.3}}
                      : json{{"hidden_size", 256}, {"num_layers", 1}, {"nade_hidden", 128}, {"dropout", 0.3}};
    train = {{"batch_size", 16},   {"crop_length", 64},       {"steps", 3000},
             {"eval_every", 250},  {"checkpoint_every", 250}, {"learning_rate", attention ? 1e-3 : 2e-3},
             {"warmup_steps", 200}};
  } else {
    model = attention ? json{{"hidden_size", 256},       {"num_layers", 4},    {"num_heads", 4},
                             {"feedforward_size", 1024}, {"nade_hidden", 256}, {"dropout", 0.3}}
                      : json{{"hidden_size", 512}, {"num_layers", 2}, {"nade_hidden", 256}, {"dropout", 0.4}};
    train = {{"batch_size", 32},         {"crop_length", 128},    {"steps", 20000},     {"eval_every", 1000},
             {"checkpoint_every", 1000}, {"learning_rate", 1e-3}, {"warmup_steps", 500}};
  }
  return {{"model", model}, {"train", train}};
}

}  // namespace

template <class Impl>
json nade_default_config() {
  return ConfigOf<Impl>().to_json();
}

template <class Impl>
json nade_preset(const std::string& preset, bool /*frames*/) {
  return preset_for(preset, std::is_same_v<Impl, models::TransformerNadeImpl>);
}

template <class Impl>
json resolve_nade_config(const models::Family& /*family*/, const json& model, const Shard& shard) {
  json resolved = model;
  resolved["vocab_size"] = codec::shard_input_size(shard);
  return ConfigOf<Impl>::from_json(resolved).to_json();
}

template <class Impl>
std::unique_ptr<Learner> make_nade_learner(const models::Family& /*family*/, const json& model, const Shard& shard,
                                           const TrainOptions& options) {
  return std::make_unique<NadeLearner<Impl>>(model, shard, options);
}

template <class Impl>
EvaluationReport evaluate_nade(const models::Family& family, const EvaluationRequest& request) {
  const models::CheckpointInfo& info = *request.checkpoint;
  const Shard& shard = *request.shard;
  check_same_encoding(info, shard);
  const ConfigOf<Impl> config = ConfigOf<Impl>::from_json(info.model_config_json);
  models::check_input_width(info, models::InputKind::kFrames, config.vocab_size);
  auto model = std::make_shared<Impl>(config);
  models::load_checkpoint_weights(info.path, *model);
  const torch::Device device = models::resolve_device(request.device);
  model->to(device);
  model->eval();
  EvaluationOptions options;
  options.window = request.window;
  const EvaluationResult result = evaluate_frame_scorer(
      [&](const torch::Tensor& frames) { return model->log_prob(frames.to(device)).to(torch::kCPU); }, shard,
      request.split, options);
  std::optional<EvaluationResult> baseline;
  if (request.baselines) baseline = evaluate_unigram_baseline(shard, request.split, options);
  EvaluationReport report;
  report.score = result.nll;
  report.score_name = "nll";
  report.result = {{"checkpoint", info.path},     {"family", family.name}, {"data", shard.path()},
                   {"split", request.split_name}, {"unit", "frame"},       {"model", result_json(result)}};
  if (baseline) report.result["key_rate_baseline"] = result_json(*baseline);
  char line[256];
  std::snprintf(line, sizeof line, "%s on %s, %s split: %lld pieces, %lld frames scored\n", info.path.c_str(),
                shard.path().c_str(), request.split_name.c_str(), static_cast<long long>(result.pieces),
                static_cast<long long>(result.elements));
  report.text = line;
  std::snprintf(line, sizeof line, "  %-18s %10.4f nats per frame (exact NADE likelihood, summed over keys)\n", "model",
                result.nll);
  report.text += line;
  if (baseline) {
    std::snprintf(line, sizeof line, "  %-18s %10.4f\n", "key-rate baseline", baseline->nll);
    report.text += line;
  }
  return report;
}

#define CADENZA_NADE_LEARNER(Impl)                                                                            \
  template json nade_default_config<Impl>();                                                                  \
  template json nade_preset<Impl>(const std::string&, bool);                                                  \
  template json resolve_nade_config<Impl>(const models::Family&, const json&, const Shard&);                  \
  template std::unique_ptr<Learner> make_nade_learner<Impl>(const models::Family&, const json&, const Shard&, \
                                                            const TrainOptions&);                             \
  template EvaluationReport evaluate_nade<Impl>(const models::Family&, const EvaluationRequest&);
CADENZA_NADE_LEARNER(models::RnnNadeImpl)
CADENZA_NADE_LEARNER(models::TransformerNadeImpl)
#undef CADENZA_NADE_LEARNER

}  // namespace cadenza::train
