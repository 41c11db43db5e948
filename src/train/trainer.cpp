#include "train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.h"
#include "common/file_io.h"
#include "data/shard.h"
#include "models/checkpoint.h"
#include "train/learner.h"
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
uint64_t batch_seed(uint64_t seed, int64_t step) {
  return mix(seed ^ mix(static_cast<uint64_t>(step)));
}
uint64_t dropout_seed(uint64_t seed, int64_t step) {
  return mix(batch_seed(seed, step) ^ 0x5eedd20b0u);
}

// What the loop carries from one session of a run to the next (stored in each checkpoint's "training").
struct LoopState {
  int64_t step = 0;
  int64_t schedule_steps = 0;
  std::optional<double> best_valid_score;
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
  object["best_valid_score"] = state.best_valid_score ? json(*state.best_valid_score) : json(nullptr);
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
    // "best_valid_nll": the name before the latent families joined (every score then was an NLL).
    const json& best = loop.contains("best_valid_score") ? loop.at("best_valid_score") : loop.at("best_valid_nll");
    if (!best.is_null()) state.best_valid_score = best.get<double>();
    return state;
  } catch (const json::exception& error) {
    throw FormatError(path, -1,
                      std::string("the checkpoint has no usable training loop state (") + error.what() +
                          "); it cannot be resumed (was it written by `cadenza train`?)");
  }
}

// Sums the numbers of the learners' per-step extras over a log interval and gives their means.
class ExtraAverager {
 public:
  void add(const json& extra) {
    for (const auto& [key, value] : extra.items())
      if (value.is_number()) sums_[key] += value.get<double>(), ++counts_[key];
  }
  json means_and_reset() {
    json means = json::object();
    for (const auto& [key, sum] : sums_) means[key] = sum / static_cast<double>(counts_[key]);
    sums_.clear(), counts_.clear();
    return means;
  }

 private:
  std::map<std::string, double> sums_;
  std::map<std::string, int64_t> counts_;
};

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

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

json resolve_config(const json& config, const std::string& data_path) {
  json resolved = config;
  if (!resolved.contains("model") || !resolved.contains("train"))
    throw Error("training config: needs both \"model\" and \"train\" sections");
  Shard shard(data_path, /*verify_payload=*/false);
  // Validate both sections now, so a typo fails before any work, and spell out every default so that
  // config.json (and --print-config) lists every key there is.
  resolved["model"] = resolve_model_config(resolved["model"], shard);
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
  if (request.resume) {
    if (!fs::exists(last_path)) throw Error(request.run_dir + ": nothing to resume: " + last_path + " does not exist");
    const models::CheckpointInfo info = models::read_checkpoint_info(last_path);
    if (!info.has_optimizer_state)
      throw FormatError(last_path, -1, "has no optimizer state; only a `last` checkpoint can be resumed");
    if (!info.training.contains("config")) throw FormatError(last_path, -1, "has no training config to resume");
    config = info.training["config"];
    loop = loop_state_from(info.training, last_path);
    if (info.encoding != shard.metadata().encoding ||
        (!shard.is_piano_roll() && info.vocabulary != shard.metadata().vocabulary))
      throw Error(request.data_path + ": its encoding or vocabulary differs from the run's (" + last_path + ")");
  } else {
    if (fs::exists(last_path) && !request.overwrite)
      throw Error(request.run_dir + ": already holds a run (" + last_path +
                  "); use --resume to continue it or --overwrite to start again");
    config = resolve_config(request.config, request.data_path);
  }
  const TrainOptions options = TrainOptions::from_json(config["train"]);
  config["data"] = {{"path", request.data_path}, {"encoding", shard.metadata().encoding_name()}};

  // The learner builds the model from torch::manual_seed(seed); a resumed run then takes its weights and optimizer
  // state from the checkpoint.
  const std::unique_ptr<Learner> learner = make_learner(config, shard, options);
  torch::nn::Module& model = learner->module();
  if (request.resume) {
    models::load_checkpoint_weights(last_path, model);
    for (torch::optim::AdamW* optimizer : learner->optimizers())
      models::restore_optimizer_state(last_path, *optimizer, model);
  } else {
    loop.schedule_steps = options.steps;
  }
  model.train();
  const json model_config = learner->model_config();

  fs::create_directories(checkpoint_dir);
  {
    const std::string text = config.dump(2) + "\n";
    write_file_atomic((run_dir / "config.json").string(), std::vector<uint8_t>(text.begin(), text.end()));
  }
  MetricsLog metrics((run_dir / "metrics.jsonl").string(),
                     request.resume ? std::optional<int64_t>(loop.step) : std::nullopt);

  const double train_elements = learner->elements_per_epoch();
  const nlohmann::json& encoding_spec = shard.metadata().encoding;
  const std::vector<std::string> vocabulary =
      shard.is_piano_roll() ? std::vector<std::string>{} : shard.metadata().vocabulary;
  std::vector<const torch::optim::AdamW*> optimizers;
  for (torch::optim::AdamW* optimizer : learner->optimizers()) optimizers.push_back(optimizer);
  const int64_t parameters = models::count_parameters(model);
  auto training_metadata = [&] {
    return json{{"config", config}, {"loop", loop_state_json(loop)}, {"parameters", parameters}};
  };
  int64_t last_saved_step = request.resume ? loop.step : -1;
  auto last_good = [&] {
    return last_saved_step >= 0
               ? "the last good checkpoint is " + last_path + " (step " + std::to_string(last_saved_step) + ")"
               : std::string("no checkpoint had been written yet");
  };
  // A checkpoint must never hold overflowed weights (a huge update can overflow them while the loss that produced
  // it was still finite): check before each save and stop like a non-finite loss would.
  auto check_finite_weights = [&] {
    for (const auto& parameter : model.parameters()) {
      if (torch::isfinite(parameter).all().item<bool>()) continue;
      const std::string message = "training stopped: the weights are no longer finite at step " +
                                  std::to_string(loop.step) + " (learning rate too high?); " + last_good();
      metrics.write({{"kind", "error"}, {"step", loop.step}, {"message", message}});
      throw Error(message);
    }
  };
  auto save = [&](const std::string& path, bool with_optimizers) {
    models::save_model_checkpoint(path, model, model_config, encoding_spec, vocabulary, training_metadata(),
                                  with_optimizers ? optimizers : std::vector<const torch::optim::AdamW*>{});
  };
  auto save_last = [&] {
    check_finite_weights();
    save(last_path, true);
  };

  TrainResult result;
  result.parameters = parameters;
  result.last_checkpoint = last_path;
  LrSchedule schedule{options.schedule, options.learning_rate, options.min_learning_rate, options.warmup_steps};
  const double elapsed_before = loop.elapsed_seconds;
  auto elapsed = [&] { return elapsed_before + seconds_since(session_start); };

  TrainProgress shown;
  shown.best_valid_score = loop.best_valid_score;
  double loss_sum = 0;
  int64_t loss_count = 0, elements_since_log = 0;
  ExtraAverager extras;
  auto interval_start = Clock::now();
  Clock::time_point timing_start;

  auto validate = [&]() -> bool {  // returns true when early stopping triggers
    const std::optional<ValidationOutcome> valid = learner->validate(loop.step);
    model.train();
    if (!valid) return false;
    json record = {{"kind", "valid"}, {"step", loop.step}};
    record.update(valid->record);
    record["elapsed_seconds"] = elapsed();
    if (valid->score) {
      shown.valid_score = *valid->score;
      shown.valid_score_name = result.valid_score_name = valid->score_name;
      if (!loop.best_valid_score || *valid->score < *loop.best_valid_score) {
        loop.best_valid_score = *valid->score;
        loop.validations_without_improvement = 0;
        check_finite_weights();
        save(best_path, false);
        record["best"] = true;
      } else {
        ++loop.validations_without_improvement;
      }
      shown.best_valid_score = loop.best_valid_score;
    }
    metrics.write(record);
    return valid->score && options.patience > 0 && loop.validations_without_improvement >= options.patience;
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

    torch::manual_seed(dropout_seed(options.seed, step));
    StepOutcome outcome;
    try {
      outcome = learner->train_step(step, batch_seed(options.seed, step), learning_rate);
    } catch (const NonFiniteLoss& error) {
      std::ostringstream message;
      message << "training stopped: " << error.what() << " is " << error.value << " at step " << step
              << " (learning rate " << learning_rate << "); " << last_good()
              << ". Try a lower learning_rate or clip_norm.";
      metrics.write({{"kind", "error"}, {"step", step}, {"message", message.str()}});
      throw Error(message.str());
    }
    loop.step = step;
    loss_sum += outcome.loss;
    ++loss_count;
    extras.add(outcome.extra);
    elements_since_log += outcome.elements;
    loop.elements_seen += static_cast<double>(outcome.elements);
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
      json record = {{"kind", "train"},
                     {"step", step},
                     {"loss", shown.loss},
                     {"learning_rate", learning_rate},
                     {"epoch", shown.epoch},
                     {"elements_per_second", shown.elements_per_second},
                     {"elapsed_seconds", shown.elapsed_seconds}};
      record.update(extras.means_and_reset());
      metrics.write(record);
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
  if (!loop.best_valid_score) {
    // No scored validation (no validation split, or a family without a likelihood): the final weights are the best
    // we know of.
    save(best_path, false);
  }
  result.steps = loop.step;
  result.best_valid_score = loop.best_valid_score;
  result.best_checkpoint = fs::exists(best_path) ? best_path : "";
  result.seconds = seconds_since(session_start);
  json end = {{"kind", "end"},
              {"step", loop.step},
              {"stop_reason", result.stop_reason},
              {"elapsed_seconds", loop.elapsed_seconds},
              {"parameters", result.parameters}};
  end["best_valid_score"] = loop.best_valid_score ? json(*loop.best_valid_score) : json(nullptr);
  if (!result.valid_score_name.empty()) end["valid_score_name"] = result.valid_score_name;
  metrics.write(end);
  shown.event = result.stop_reason;
  shown.log_line = true;
  if (progress) progress(shown);
  return result;
}

}  // namespace cadenza::train
