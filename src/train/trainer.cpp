#include "train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/file_io.h"
#include "data/shard.h"
#include "models/checkpoint.h"
#include "models/losses.h"
#include "models/sequence_model.h"
#include "train/batches.h"
#include "train/evaluate.h"
#include "train/schedule.h"
#include "train/train_config.h"

namespace cadenza::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// SplitMix64: decorrelates the per-step seeds derived from one run seed.
uint64_t mix(uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}
uint64_t batch_seed(uint64_t seed, int64_t step) { return mix(seed ^ mix(static_cast<uint64_t>(step))); }
uint64_t dropout_seed(uint64_t seed, int64_t step) { return mix(batch_seed(seed, step) ^ 0x5eedd20b0u); }

// What the loop carries from one session of a run to the next (stored in each checkpoint's "training").
struct LoopState {
  int64_t step = 0;
  int64_t schedule_steps = 0;
  std::optional<double> best_valid_nll;
  int64_t validations_without_improvement = 0;
  double elapsed_seconds = 0;  // over all sessions
  double elements_seen = 0;    // training tokens / frames, for the epoch count
  bool schedule_estimated = false;
};

json loop_state_json(const LoopState& state) {
  json object = {{"step", state.step},
                 {"schedule_steps", state.schedule_steps},
                 {"validations_without_improvement", state.validations_without_improvement},
                 {"elapsed_seconds", state.elapsed_seconds},
                 {"elements_seen", state.elements_seen},
                 {"schedule_estimated", state.schedule_estimated}};
  object["best_valid_nll"] = state.best_valid_nll ? json(*state.best_valid_nll) : json(nullptr);
  return object;
}

LoopState loop_state_from(const json& training, const std::string& path) {
  try {
    const json& loop = training.at("loop");
    LoopState state;
    state.step = loop.at("step").get<int64_t>();
    state.schedule_steps = loop.at("schedule_steps").get<int64_t>();
    state.validations_without_improvement = loop.at("validations_without_improvement").get<int64_t>();
    state.elapsed_seconds = loop.at("elapsed_seconds").get<double>();
    state.schedule_estimated = loop.at("schedule_estimated").get<bool>();
    state.elements_seen = loop.at("elements_seen").get<double>();
    if (!loop.at("best_valid_nll").is_null()) state.best_valid_nll = loop.at("best_valid_nll").get<double>();
    return state;
  } catch (const json::exception& error) {
    throw FormatError(path, -1, std::string("the checkpoint has no usable training loop state (") + error.what() +
                                    "); it cannot be resumed (was it written by `cadenza train`?)");
  }
}

void check_model_fits_shard(const models::ModelConfig& model, const Shard& shard, const std::string& what) {
  const bool frames = shard.is_piano_roll();
  if (frames != (model.input_kind == models::InputKind::kFrames))
    throw Error(shard.path() + ": " + what + " reads " + (frames ? "tokens" : "piano-roll frames") +
                " but the shard holds " + (frames ? "piano rolls" : "tokens"));
  if (model.vocab_size != shard_input_size(shard))
    throw Error(shard.path() + ": " + what + " has input width " + std::to_string(model.vocab_size) +
                " but the shard's is " + std::to_string(shard_input_size(shard)));
}

// Appends JSON lines; each line is flushed so a crash loses at most the line being written.
class MetricsLog {
 public:
  // Keeps the records up to `keep_through_step` of an existing log (a resumed run rewrites what came after its
  // checkpoint, so the log reads as one run), or starts empty.
  MetricsLog(const std::string& path, std::optional<int64_t> keep_through_step) : path_(path) {
    std::string kept;
    if (keep_through_step) {
      std::ifstream in(path);
      std::string line;
      while (std::getline(in, line)) {
        const json record = json::parse(line, nullptr, false);
        if (record.is_discarded() || !record.contains("step") || record.value("kind", "") == "end") continue;
        if (record["step"].get<int64_t>() <= *keep_through_step) kept += line + "\n";
      }
    }
    write_file_atomic(path, std::vector<uint8_t>(kept.begin(), kept.end()));
    out_.open(path, std::ios::app);
    if (!out_) throw IoError(path, "cannot open for appending: " + errno_text());
  }
  void write(const json& record) {
    out_ << record.dump() << '\n';
    out_.flush();
    if (!out_) throw IoError(path_, "cannot write a metrics record: " + errno_text());
  }

 private:
  std::string path_;
  std::ofstream out_;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

json resolve_config(const json& config, const std::string& data_path) {
  json resolved = config;
  if (!resolved.contains("model") || !resolved.contains("train"))
    throw Error("training config: needs both \"model\" and \"train\" sections");
  Shard shard(data_path, /*verify_payload=*/false);
  resolved["model"]["vocab_size"] = shard_input_size(shard);
  resolved["model"]["input_kind"] = shard.is_piano_roll() ? "frames" : "tokens";
  // Validate both sections now, so a typo fails before any work, and spell out every default so that
  // config.json (and --print-config) lists every key there is.
  resolved["model"] = models::ModelConfig::from_json(resolved["model"]).to_json();
  resolved["train"] = TrainOptions::from_json(resolved["train"]).to_json();
  return resolved;
}

TrainResult run_training(const TrainRequest& request, const ProgressCallback& progress,
                         const std::atomic<bool>* stop_requested) {
  const auto session_start = Clock::now();
  const Shard shard(request.data_path);
  const fs::path run_dir(request.run_dir);
  const fs::path checkpoint_dir = run_dir / "checkpoints";
  const std::string last_path = (checkpoint_dir / "last.safetensors").string();
  const std::string best_path = (checkpoint_dir / "best.safetensors").string();

  json config;
  LoopState loop;
  std::shared_ptr<models::SequenceModelImpl> model;
  if (request.resume) {
    if (!fs::exists(last_path))
      throw Error(request.run_dir + ": nothing to resume: " + last_path + " does not exist");
    const models::CheckpointInfo info = models::read_checkpoint_info(last_path);
    if (!info.has_optimizer_state)
      throw FormatError(last_path, -1, "has no optimizer state; only a `last` checkpoint can be resumed");
    if (!info.training.contains("config")) throw FormatError(last_path, -1, "has no training config to resume");
    config = info.training["config"];
    loop = loop_state_from(info.training, last_path);
    if (info.encoding != shard.metadata().encoding || info.vocabulary != shard.metadata().vocabulary)
      throw Error(request.data_path + ": its encoding or vocabulary differs from the run's (" + last_path + ")");
    model = models::load_checkpoint(last_path).model;
  } else {
    if (fs::exists(last_path) && !request.overwrite)
      throw Error(request.run_dir + ": already holds a run (" + last_path +
                  "); use --resume to continue it or --overwrite to start again");
    config = resolve_config(request.config, request.data_path);
  }
  const models::ModelConfig model_config = models::ModelConfig::from_json(config["model"]);
  const TrainOptions options = TrainOptions::from_json(config["train"]);
  check_model_fits_shard(model_config, shard, "the model");
  config["data"] = {{"path", request.data_path}, {"encoding", shard.metadata().encoding_name()}};

  if (!model) {
    torch::manual_seed(options.seed);
    model = models::make_sequence_model(model_config);
    loop.schedule_steps = options.steps;
  }
  model->train();
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(options.learning_rate)
                                                         .betas({options.beta1, options.beta2})
                                                         .weight_decay(options.weight_decay));
  if (request.resume) models::restore_optimizer_state(last_path, optimizer, *model);

  fs::create_directories(checkpoint_dir);
  {
    const std::string text = config.dump(2) + "\n";
    write_file_atomic((run_dir / "config.json").string(), std::vector<uint8_t>(text.begin(), text.end()));
  }
  MetricsLog metrics((run_dir / "metrics.jsonl").string(),
                     request.resume ? std::optional<int64_t>(loop.step) : std::nullopt);

  const bool frames = shard.is_piano_roll();
  BatchOptions batch_options;
  batch_options.batch_size = static_cast<int>(options.batch_size);
  batch_options.crop_length = static_cast<int>(options.crop_length);
  batch_options.augment.max_transpose = static_cast<int>(options.max_transpose);
  batch_options.augment.min_stretch = options.min_stretch;
  batch_options.augment.max_stretch = options.max_stretch;
  BatchSource source(shard, Split::kTrain, batch_options);
  double train_elements = 0;
  for (size_t piece : shard.pieces_in_split(Split::kTrain)) train_elements += shard.piece(piece).length;
  const bool has_validation = [&] {
    for (size_t piece : shard.pieces_in_split(Split::kValid))
      if (shard.piece(piece).length >= 2) return true;
    return false;
  }();
  EvaluationOptions eval_options;
  eval_options.window = options.eval_window;
  eval_options.max_pieces = options.max_eval_pieces;

  const nlohmann::json& encoding_spec = shard.metadata().encoding;
  const std::vector<std::string> vocabulary = frames ? std::vector<std::string>{} : shard.metadata().vocabulary;
  auto training_metadata = [&] {
    return json{{"config", config}, {"loop", loop_state_json(loop)}, {"parameters", models::count_parameters(*model)}};
  };
  int64_t last_saved_step = request.resume ? loop.step : -1;
  // A checkpoint must never hold overflowed weights (a huge update can overflow them while the loss that produced
  // it was still finite): check before each save and stop like a non-finite loss would.
  auto check_finite_weights = [&] {
    for (const auto& parameter : model->parameters()) {
      if (torch::isfinite(parameter).all().item<bool>()) continue;
      std::string message = "training stopped: the weights are no longer finite at step " +
                            std::to_string(loop.step) + " (learning rate too high?); ";
      message += last_saved_step >= 0 ? "the last good checkpoint is " + last_path + " (step " +
                                            std::to_string(last_saved_step) + ")"
                                      : std::string("no checkpoint had been written yet");
      metrics.write({{"kind", "error"}, {"step", loop.step}, {"message", message}});
      throw Error(message);
    }
  };
  auto save_last = [&] {
    check_finite_weights();
    models::save_checkpoint(last_path, *model, encoding_spec, vocabulary, training_metadata(), &optimizer);
  };

  TrainResult result;
  result.parameters = models::count_parameters(*model);
  result.last_checkpoint = last_path;
  LrSchedule schedule{options.schedule, options.learning_rate, options.min_learning_rate, options.warmup_steps};
  const double elapsed_before = loop.elapsed_seconds;
  auto elapsed = [&] { return elapsed_before + seconds_since(session_start); };

  TrainProgress shown;
  shown.best_valid_nll = loop.best_valid_nll;
  double loss_sum = 0;
  int64_t loss_count = 0, elements_since_log = 0;
  auto interval_start = Clock::now();
  Clock::time_point timing_start;

  auto validate = [&]() -> bool {  // returns true when early stopping triggers
    if (!has_validation) return false;
    const EvaluationResult valid = evaluate_model(*model, shard, Split::kValid, eval_options);
    model->train();
    json record = {{"kind", "valid"},     {"step", loop.step},         {"nll", valid.nll},
                   {"perplexity", valid.perplexity}, {"accuracy", valid.accuracy}, {"elements", valid.elements},
                   {"seconds", valid.seconds},       {"elapsed_seconds", elapsed()}};
    shown.valid_nll = valid.nll;
    if (!loop.best_valid_nll || valid.nll < *loop.best_valid_nll) {
      loop.best_valid_nll = valid.nll;
      loop.validations_without_improvement = 0;
      check_finite_weights();
      models::save_checkpoint(best_path, *model, encoding_spec, vocabulary, training_metadata(), nullptr);
      record["best"] = true;
    } else {
      ++loop.validations_without_improvement;
    }
    shown.best_valid_nll = loop.best_valid_nll;
    metrics.write(record);
    return options.patience > 0 && loop.validations_without_improvement >= options.patience;
  };

  const int64_t first_step = loop.step;
  while (true) {
    if (stop_requested != nullptr && stop_requested->load()) {
      result.stop_reason = "interrupted";
      break;
    }
    if (loop.step >= loop.schedule_steps) {
      result.stop_reason = "steps";
      break;
    }
    if (options.time_budget_seconds > 0 && elapsed() >= options.time_budget_seconds) {
      result.stop_reason = "time budget";
      break;
    }
    const int64_t step = loop.step + 1;
    // A time budget that affords few steps must not spend them all warming up: there the warm-up is at most a
    // quarter of the fitted schedule (a tenth made the bundled LSTM stall on a plateau at lr 2e-3).
    if (loop.schedule_estimated) schedule.warmup_steps = std::min(options.warmup_steps, loop.schedule_steps / 4);
    const double learning_rate = schedule.at(step, loop.schedule_steps);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(learning_rate);

    TensorBatch batch = source.next(batch_seed(options.seed, step));
    torch::manual_seed(dropout_seed(options.seed, step));
    const torch::Tensor logits = model->forward(batch.input);  // (B, T, V)
    const torch::Tensor loss = frames ? models::frame_nll(logits, batch.targets, batch.frame_mask)
                                      : models::token_cross_entropy(logits, batch.targets, source.pad_id());
    const double loss_value = loss.item<double>();  // CPU: no sync cost; needed to stop before a bad update
    if (!std::isfinite(loss_value)) {
      std::ostringstream message;
      message << "training stopped: the loss is " << loss_value << " at step " << step << " (learning rate "
              << learning_rate << "); ";
      if (last_saved_step >= 0) {
        message << "the last good checkpoint is " << last_path << " (step " << last_saved_step << ")";
      } else {
        message << "no checkpoint had been written yet";
      }
      message << ". Try a lower learning_rate or clip_norm.";
      metrics.write({{"kind", "error"}, {"step", step}, {"message", message.str()}});
      throw Error(message.str());
    }
    optimizer.zero_grad();
    loss.backward();
    if (options.clip_norm > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), options.clip_norm);
    optimizer.step();
    loop.step = step;
    loss_sum += loss_value;
    ++loss_count;
    elements_since_log += batch.real_elements;
    loop.elements_seen += static_cast<double>(batch.real_elements);
    shown.epoch = loop.elements_seen / std::max(1.0, train_elements);

    // With a time budget, the schedule is stretched over the steps the budget allows: first estimated from steps
    // first_step+2 .. first_step+11 (the first step pays one-off allocation costs), then re-estimated every
    // log_every steps from this session's average speed, so that the learning rate still anneals when the machine
    // gets slower or faster mid-run. (Such a run depends on timing, so it is not bit-reproducible.)
    if (step == first_step + 1) timing_start = Clock::now();
    const bool first_estimate = !loop.schedule_estimated && step == first_step + 11;
    const bool re_estimate = loop.schedule_estimated && step > first_step + 11 && step % options.log_every == 0;
    if (options.time_budget_seconds > 0 && (first_estimate || re_estimate)) {
      const double per_step = seconds_since(timing_start) / static_cast<double>(step - first_step - 1);
      const double remaining = options.time_budget_seconds - elapsed();
      const int64_t affordable = step + static_cast<int64_t>(std::max(0.0, remaining) / std::max(per_step, 1e-9));
      loop.schedule_steps = std::max<int64_t>(step, std::min<int64_t>(options.steps, affordable));
      loop.schedule_estimated = true;
    }

    shown.step = step;
    shown.schedule_steps = loop.schedule_steps;
    shown.learning_rate = learning_rate;
    shown.elapsed_seconds = elapsed();
    shown.event.clear();
    shown.log_line = step % options.log_every == 0;
    if (shown.log_line) {
      const double interval = seconds_since(interval_start);
      shown.loss = loss_sum / static_cast<double>(loss_count);
      shown.elements_per_second = elements_since_log / std::max(interval, 1e-9);
      const double per_step = interval / static_cast<double>(loss_count);
      shown.eta_seconds = per_step * static_cast<double>(loop.schedule_steps - step);
      if (options.time_budget_seconds > 0)
        shown.eta_seconds = std::min(shown.eta_seconds, std::max(0.0, options.time_budget_seconds - elapsed()));
      metrics.write({{"kind", "train"},
                     {"step", step},
                     {"loss", shown.loss},
                     {"learning_rate", learning_rate},
                     {"epoch", shown.epoch},
                     {"elements_per_second", shown.elements_per_second},
                     {"elapsed_seconds", shown.elapsed_seconds}});
      loss_sum = 0, loss_count = 0, elements_since_log = 0;
      interval_start = Clock::now();
    }
    bool stop_early = false;
    const bool validate_now = step % options.eval_every == 0;
    if (validate_now) {
      stop_early = validate();
      shown.event = "validation";
    }
    if (validate_now || step % options.checkpoint_every == 0) {
      save_last();
      last_saved_step = step;
      if (shown.event.empty()) shown.event = "checkpoint";
    }
    if (progress) progress(shown);
    if (stop_early) {
      result.stop_reason = "early stopping";
      shown.event = "early stop";
      break;
    }
  }

  // Finish: validate the final weights unless that just happened (or the user asked to stop now), and save.
  if (result.stop_reason != "interrupted" && result.stop_reason != "early stopping" &&
      loop.step % options.eval_every != 0 && loop.step > first_step)
    validate();
  loop.elapsed_seconds = elapsed();
  save_last();
  if (!fs::exists(best_path) && !has_validation) {
    // No validation split: the final weights are the best we know of.
    models::save_checkpoint(best_path, *model, encoding_spec, vocabulary, training_metadata(), nullptr);
  }
  result.steps = loop.step;
  result.best_valid_nll = loop.best_valid_nll;
  result.best_checkpoint = fs::exists(best_path) ? best_path : "";
  result.seconds = seconds_since(session_start);
  json end = {{"kind", "end"}, {"step", loop.step}, {"stop_reason", result.stop_reason},
              {"elapsed_seconds", loop.elapsed_seconds}, {"parameters", result.parameters}};
  end["best_valid_nll"] = loop.best_valid_nll ? json(*loop.best_valid_nll) : json(nullptr);
  metrics.write(end);
  shown.event = result.stop_reason;
  shown.log_line = true;
  if (progress) progress(shown);
  return result;
}

}  // namespace cadenza::train
