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
#include "common/output_lock.h"
#include "data/sha256.h"
#include "data/shard.h"
#include "models/checkpoint.h"
#include "models/device.h"
#include "models/torch_compat.h"
#include "train/fine_tune.h"
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
    // A damaged or hand-edited checkpoint must not send the loop somewhere absurd.
    constexpr int64_t kMaxStep = int64_t{1} << 40;
    if (state.step < 0 || state.step > kMaxStep || state.schedule_steps < state.step ||
        state.schedule_steps > kMaxStep || state.validations_without_improvement < 0 ||
        !std::isfinite(state.elapsed_seconds) || state.elapsed_seconds < 0 || !std::isfinite(state.elements_seen) ||
        state.elements_seen < 0)
      throw FormatError(path, -1,
                        "its training loop state is out of range (step " + std::to_string(state.step) +
                            ", schedule_steps " + std::to_string(state.schedule_steps) + "); it cannot be resumed");
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
    out_ << record.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
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

json resolve_config(const json& config, const std::string& data_path, FamilyLookup families) {
  json resolved = config;
  if (!resolved.contains("model") || !resolved.contains("train"))
    throw Error("training config: needs both \"model\" and \"train\" sections");
  Shard shard(data_path, /*verify_payload=*/false);
  // A fine-tuning run: the data must speak the checkpoint's encoding and vocabulary (checked before the data decides
  // vocab_size below, so that the message says what differs rather than which tensor has the wrong shape).
  if (resolved.contains("fine_tune")) {
    const json& fine_tune = resolved["fine_tune"];
    if (!fine_tune.is_object() || !fine_tune.contains("checkpoint") || !fine_tune["checkpoint"].is_string())
      throw Error("training config: \"fine_tune\" must be an object with a string \"checkpoint\"");
    const models::CheckpointInfo source = models::read_checkpoint_info(fine_tune["checkpoint"].get<std::string>());
    check_data_matches_checkpoint(shard, source, "the checkpoint to fine-tune");
    if (fine_tune.contains("freeze") && !fine_tune["freeze"].is_array())
      throw Error("training config: \"fine_tune\".\"freeze\" must be an array of parameter group names");
  }
  // Validate both sections now, so a typo fails before any work, and spell out every default so that
  // config.json (and --print-config) lists every key there is.
  resolved["model"] = resolve_model_config(resolved["model"], shard, families);
  resolved["train"] = TrainOptions::from_json(resolved["train"]).to_json();
  return resolved;
}

namespace {

// One session of a run, in the order it happens: open the run (fresh or resumed), build the learner, then step until
// a stop condition, validating, logging and checkpointing on the way, and finish with a last validation and save.
class TrainingSession {
 public:
  TrainingSession(const TrainRequest& request, FamilyLookup families, const ProgressCallback& progress,
                  const std::atomic<bool>* stop_requested)
      : request_(request),
        progress_(progress),
        stop_requested_(stop_requested),
        shard_(request.data_path),
        run_dir_(request.run_dir),
        last_path_((run_dir_ / "checkpoints" / "last.safetensors").string()),
        best_path_((run_dir_ / "checkpoints" / "best.safetensors").string()),
        parallel_(request.parallel),
        writer_(parallel_ == nullptr || parallel_->rank() == 0),
        lock_(writer_ ? std::make_unique<OutputLock>(request.run_dir, "train") : nullptr) {
    open_run(families);
    build_learner(families);
    write_run_files();
  }

  TrainResult run() {
    while (!stop_condition()) {
      train_one_step();
      record_progress();
      const bool stop_early = validate_and_checkpoint();
      if (progress_ && writer_) progress_(shown_);
      if (stop_early) {
        result_.stop_reason = "early stopping";
        shown_.event = "early stop";
        break;
      }
    }
    finish();
    return result_;
  }

 private:
  // ---- opening the run: a fresh config, or the config and loop state of the run's last checkpoint
  void open_run(FamilyLookup families) {
    if (request_.resume) {
      if (!fs::exists(last_path_))
        throw Error(request_.run_dir + ": nothing to resume: " + last_path_ + " does not exist");
      const models::CheckpointInfo info = models::read_checkpoint_info(last_path_);
      if (!info.has_optimizer_state)
        throw FormatError(last_path_, -1, "has no optimizer state; only a `last` checkpoint can be resumed");
      if (!info.training.contains("config")) throw FormatError(last_path_, -1, "has no training config to resume");
      config_ = info.training["config"];
      loop_ = loop_state_from(info.training, last_path_);
      check_data_matches_checkpoint(shard_, info, "the run being resumed");
      last_saved_step_ = loop_.step;
    } else {
      if (writer_ && fs::exists(last_path_) && !request_.overwrite)
        throw Error(request_.run_dir + ": already holds a run (" + last_path_ +
                    "); use --resume to continue it or --overwrite to start again");
      config_ = resolve_config(request_.config, request_.data_path, families);
      // The source's checksum, so that the model's provenance survives a source file that is later replaced.
      if (config_.contains("fine_tune"))
        config_["fine_tune"]["sha256"] = sha256_file_hex(config_["fine_tune"]["checkpoint"].get<std::string>());
    }
    options_ = TrainOptions::from_json(config_["train"]);
    config_["data"] = {{"path", request_.data_path}, {"encoding", shard_.metadata().encoding_name()}};
  }

  // ---- the learner: fresh weights from the seed; a resumed run then takes weights and optimizer state from `last`
  void build_learner(FamilyLookup families) {
    learner_ = make_learner(config_, shard_, options_, families);
    torch::nn::Module& model = learner_->module();
    if (parallel_ != nullptr) {
      if (!learner_->supports_data_parallel()) {
        const std::string reason = learner_->one_process_reason();
        throw Error("distributed training: " +
                    (reason.empty()
                         ? "the " + family_name_of(config_["model"]) + " family trains in one process only for now"
                         : reason) +
                    " (WORLD_SIZE is " + std::to_string(parallel_->world_size()) +
                    "); docs/distributed.md lists the families that train on several");
      }
      parallel_->slice_of(options_.batch_size);  // refuses a batch that does not split evenly, before any work
      learner_->set_data_parallel(parallel_);
    }
    const torch::Device device = models::resolve_device(request_.device);
    device_ = device;
    precision_ = models::parse_precision(request_.precision);
    // "auto" means the best place this family can train: the CPU for those that take no device.
    if (!device.is_cpu() && (learner_->supports_accelerators() || request_.device != "auto")) {
      if (!learner_->supports_accelerators())
        throw Error("--device " + request_.device + ": the " + family_name_of(config_["model"]) +
                    " family trains on the CPU only for now (the autoregressive and NADE families take a device)");
      // In place (the parameters keep their identity), so the optimizers built with them stay valid.
      model.to(device);
    }
    if (request_.resume) {
      // Every rank reads the same `last` (the run folder must be one that every rank sees); the weights are then
      // broadcast from rank 0 all the same, so no rank can start from other weights.
      models::load_checkpoint_weights(last_path_, model);
      for (torch::optim::AdamW* optimizer : learner_->optimizers())
        models::restore_optimizer_state(last_path_, *optimizer, model);
    } else {
      // Fine-tuning: the source's weights replace the fresh ones (strictly: every tensor, of the same shape); the
      // optimizers keep their fresh state and the loop starts at step 0.
      if (config_.contains("fine_tune"))
        models::load_checkpoint_weights(config_["fine_tune"]["checkpoint"].get<std::string>(), model);
      loop_.schedule_steps = options_.steps;
    }
    if (parallel_ != nullptr) parallel_->broadcast_parameters(model);
    model.train();
    model_config_ = learner_->model_config();
    for (torch::optim::AdamW* optimizer : learner_->optimizers()) optimizers_.push_back(optimizer);
    result_.parameters = models::count_parameters(model);
    if (config_.contains("fine_tune")) freeze_groups();
    result_.last_checkpoint = last_path_;
    schedule_ = {options_.schedule, options_.learning_rate, options_.min_learning_rate, options_.warmup_steps};
    elapsed_before_ = loop_.elapsed_seconds;
    first_step_ = loop_.step;
    shown_.best_valid_score = loop_.best_valid_score;
  }

  // The groups of fine_tune.freeze stop learning (again, when resumed). An optimizer left with nothing to train
  // (e.g. a GAN's whole critic frozen) could not take its step, so that is refused.
  void freeze_groups() {
    const json& freeze = config_["fine_tune"].value("freeze", json::array());
    if (freeze.empty()) return;
    const auto groups = freeze.get<std::vector<std::string>>();
    std::string freeze_text;
    for (const auto& group : groups) freeze_text += (freeze_text.empty() ? "" : ",") + group;
    freeze_parameter_groups(learner_->module(), groups);
    int64_t frozen = 0;
    for (const auto& parameter : learner_->module().parameters())
      if (!parameter.requires_grad()) frozen += parameter.numel();
    for (torch::optim::AdamW* optimizer : learner_->optimizers()) {
      bool trains = false;
      for (const auto& group : optimizer->param_groups())
        for (const auto& parameter : group.params()) trains = trains || parameter.requires_grad();
      if (!trains)
        throw Error("--freeze " + freeze_text +
                    " freezes every parameter one of this family's optimizers trains (e.g. a GAN's whole "
                    "generator or critic); freeze fewer groups");
    }
    config_["fine_tune"]["frozen_parameters"] = frozen;
  }

  void write_run_files() {
    if (!writer_) return;
    fs::create_directories(run_dir_ / "checkpoints");
    // File names that are not UTF-8 are kept readable rather than failing the run (a replacement character).
    const std::string text = config_.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    write_file_atomic((run_dir_ / "config.json").string(), std::vector<uint8_t>(text.begin(), text.end()));
    metrics_ = std::make_unique<MetricsLog>((run_dir_ / "metrics.jsonl").string(),
                                            request_.resume ? std::optional<int64_t>(loop_.step) : std::nullopt);
  }

  // ---- the loop
  double elapsed() const { return elapsed_before_ + seconds_since(session_start_); }

  // Ctrl-C, the schedule's last step, the time budget. With several processes, Ctrl-C and the budget are what every
  // rank learnt from the control numbers of the last step's all-reduce (a Ctrl-C on any rank, rank 0's clock), so no
  // rank is left waiting in one.
  bool stop_condition() {
    const bool interrupted =
        parallel_ != nullptr ? agreed_interrupt_ : stop_requested_ != nullptr && stop_requested_->load();
    const bool budget_spent = parallel_ != nullptr ? agreed_budget_spent_ : time_budget_spent();
    if (interrupted) {
      result_.stop_reason = "interrupted";
      return true;
    }
    if (loop_.step >= loop_.schedule_steps) {
      result_.stop_reason = "steps";
      return true;
    }
    if (budget_spent) {
      result_.stop_reason = "time budget";
      return true;
    }
    return false;
  }
  bool time_budget_spent() const {
    return options_.time_budget_seconds > 0 && elapsed() >= options_.time_budget_seconds;
  }

  // What this rank tells the others with each step: [Ctrl-C here, rank 0's time budget spent, rank 0's fitted
  // schedule (0: none new)].
  void send_control() {
    const bool interrupt = stop_requested_ != nullptr && stop_requested_->load();
    const bool lead = parallel_->rank() == 0;
    const bool spent = lead && time_budget_spent();
    parallel_->set_control(
        {interrupt ? 1.0 : 0.0, spent ? 1.0 : 0.0, lead ? static_cast<double>(proposed_schedule_steps_) : 0.0});
    proposed_schedule_steps_ = 0;
  }
  void receive_control() {
    const std::vector<double>& control = parallel_->control();
    if (control.size() != 3) return;  // the learner made no all-reduce this step (nothing to agree on)
    agreed_interrupt_ = agreed_interrupt_ || control[0] > 0;
    agreed_budget_spent_ = agreed_budget_spent_ || control[1] > 0;
    if (control[2] > 0) {
      loop_.schedule_steps = std::max(loop_.step, static_cast<int64_t>(std::llround(control[2])));
      loop_.schedule_estimated = true;
    }
  }

  // One optimizer step of the learner at the schedule's rate; a non-finite loss stops the run before the update.
  void train_one_step() {
    const int64_t step = loop_.step + 1;
    // A time budget that affords few steps must not spend them all warming up: there the warm-up is at most a
    // quarter of the fitted schedule (a tenth made the bundled LSTM stall on a plateau at lr 2e-3).
    if (loop_.schedule_estimated) schedule_.warmup_steps = std::min(options_.warmup_steps, loop_.schedule_steps / 4);
    learning_rate_ = schedule_.at(step, loop_.schedule_steps);
    // Each rank its own dropout masks (rank 0 those of a one-process run), unless the learner draws its random
    // numbers for the whole global batch and slices them (the latent families): then every rank draws the same.
    const bool own_stream = parallel_ != nullptr && !learner_->draws_for_the_global_batch();
    torch::manual_seed(dropout_seed(options_.seed, step) + static_cast<uint64_t>(own_stream ? parallel_->rank() : 0));
    if (parallel_ != nullptr) send_control();
    StepOutcome outcome;
    try {
      {
        const models::AutocastScope mixed_precision(device_, precision_);
        outcome = learner_->train_step(step, batch_seed(options_.seed, step), learning_rate_);
      }
      if (parallel_ != nullptr) receive_control();
    } catch (const NonFiniteLoss& error) {
      std::ostringstream message;
      message << "training stopped: " << error.what() << " is " << error.value << " at step " << step
              << " (learning rate " << learning_rate_ << "); " << last_good()
              << ". Try a lower learning_rate or clip_norm.";
      log({{"kind", "error"}, {"step", step}, {"message", message.str()}});
      throw Error(message.str());
    }
    loop_.step = step;
    loss_sum_ += outcome.loss;
    ++loss_count_;
    extras_.add(outcome.extra);
    elements_since_log_ += outcome.elements;
    loop_.elements_seen += static_cast<double>(outcome.elements);
    shown_.epoch = loop_.elements_seen / std::max(1.0, learner_->elements_per_epoch());
    fit_schedule_to_budget(step);
  }

  // With a time budget, the schedule is stretched over the steps the budget allows: first estimated from steps
  // first+2 .. first+11 (the first step pays one-off allocation costs), then re-estimated every log_every steps from
  // this session's average speed, so the learning rate still anneals when the machine gets slower or faster mid-run.
  // (Such a run depends on timing, so it is not bit-reproducible.)
  void fit_schedule_to_budget(int64_t step) {
    if (step == first_step_ + 1) timing_start_ = Clock::now();
    const bool first_estimate = !loop_.schedule_estimated && step == first_step_ + 11;
    const bool re_estimate = loop_.schedule_estimated && step > first_step_ + 11 && step % options_.log_every == 0;
    if (options_.time_budget_seconds <= 0 || !(first_estimate || re_estimate)) return;
    const double per_step = seconds_since(timing_start_) / static_cast<double>(step - first_step_ - 1);
    const double remaining = options_.time_budget_seconds - elapsed();
    const int64_t affordable = step + static_cast<int64_t>(std::max(0.0, remaining) / std::max(per_step, 1e-9));
    const int64_t fitted = std::max<int64_t>(step, std::min<int64_t>(options_.steps, affordable));
    if (parallel_ != nullptr) {
      // Rank 0's clock decides; every rank adopts the figure when the next step's all-reduce brings it.
      if (parallel_->rank() == 0) proposed_schedule_steps_ = std::max<int64_t>(fitted, step + 1);
      return;
    }
    loop_.schedule_steps = fitted;
    loop_.schedule_estimated = true;
  }

  // The progress display's figures, and a metrics record every log_every steps.
  void record_progress() {
    const int64_t step = loop_.step;
    shown_.step = step;
    shown_.schedule_steps = loop_.schedule_steps;
    shown_.learning_rate = learning_rate_;
    shown_.elapsed_seconds = elapsed();
    shown_.event.clear();
    shown_.log_line = step % options_.log_every == 0;
    if (!shown_.log_line) return;
    const double interval = seconds_since(interval_start_);
    shown_.loss = loss_sum_ / static_cast<double>(loss_count_);
    shown_.elements_per_second = elements_since_log_ / std::max(interval, 1e-9);
    const double per_step = interval / static_cast<double>(loss_count_);
    shown_.eta_seconds = per_step * static_cast<double>(loop_.schedule_steps - step);
    if (options_.time_budget_seconds > 0)
      shown_.eta_seconds = std::min(shown_.eta_seconds, std::max(0.0, options_.time_budget_seconds - elapsed()));
    json record = {{"kind", "train"},
                   {"step", step},
                   {"loss", shown_.loss},
                   {"learning_rate", learning_rate_},
                   {"epoch", shown_.epoch},
                   {"elements_per_second", shown_.elements_per_second},
                   {"elapsed_seconds", shown_.elapsed_seconds}};
    record.update(extras_.means_and_reset());
    log(record);
    loss_sum_ = 0, loss_count_ = 0, elements_since_log_ = 0;
    interval_start_ = Clock::now();
  }

  // Validation every eval_every steps, `last` every checkpoint_every steps and at each validation. Returns true when
  // early stopping triggers.
  bool validate_and_checkpoint() {
    bool stop_early = false;
    const bool validate_now = loop_.step % options_.eval_every == 0;
    if (validate_now) {
      stop_early = validate();
      shown_.event = "validation";
    }
    if (validate_now || loop_.step % options_.checkpoint_every == 0) {
      save_last();
      last_saved_step_ = loop_.step;
      if (shown_.event.empty()) shown_.event = "checkpoint";
    }
    return stop_early;
  }

  bool validate() {
    const std::optional<ValidationOutcome> valid = learner_->validate(loop_.step);
    learner_->module().train();
    if (!valid) return false;
    json record = {{"kind", "valid"}, {"step", loop_.step}};
    record.update(valid->record);
    record["elapsed_seconds"] = elapsed();
    if (valid->score) {
      shown_.valid_score = *valid->score;
      shown_.valid_score_name = result_.valid_score_name = valid->score_name;
      if (!loop_.best_valid_score || *valid->score < *loop_.best_valid_score) {
        loop_.best_valid_score = *valid->score;
        loop_.validations_without_improvement = 0;
        check_finite_weights();
        save(best_path_, false);
        record["best"] = true;
      } else {
        ++loop_.validations_without_improvement;
      }
      shown_.best_valid_score = loop_.best_valid_score;
    }
    log(record);
    return valid->score && options_.patience > 0 && loop_.validations_without_improvement >= options_.patience;
  }

  // ---- the end: validate the final weights unless that just happened (or the user asked to stop now), and save
  void finish() {
    if (result_.stop_reason != "interrupted" && result_.stop_reason != "early stopping" &&
        loop_.step % options_.eval_every != 0 && loop_.step > first_step_)
      validate();
    loop_.elapsed_seconds = elapsed();
    save_last();
    // No scored validation (no validation split, or a family without a likelihood): the final weights are the best
    // we know of.
    if (!loop_.best_valid_score) save(best_path_, false);
    result_.steps = loop_.step;
    result_.best_valid_score = loop_.best_valid_score;
    result_.best_checkpoint = fs::exists(best_path_) ? best_path_ : "";
    result_.seconds = seconds_since(session_start_);
    json end = {{"kind", "end"},
                {"step", loop_.step},
                {"stop_reason", result_.stop_reason},
                {"elapsed_seconds", loop_.elapsed_seconds},
                {"parameters", result_.parameters}};
    end["best_valid_score"] = loop_.best_valid_score ? json(*loop_.best_valid_score) : json(nullptr);
    if (!result_.valid_score_name.empty()) end["valid_score_name"] = result_.valid_score_name;
    log(end);
    // Rank 0 has written `last`: the others return only then, so a launcher that waits for all sees the files.
    if (parallel_ != nullptr) parallel_->barrier();
    shown_.event = result_.stop_reason;
    shown_.log_line = true;
    if (progress_ && writer_) progress_(shown_);
  }

  // ---- checkpoints
  std::string last_good() const {
    return last_saved_step_ >= 0
               ? "the last good checkpoint is " + last_path_ + " (step " + std::to_string(last_saved_step_) + ")"
               : std::string("no checkpoint had been written yet");
  }
  // A checkpoint must never hold overflowed weights (a huge update can overflow them while the loss that produced it
  // was still finite): checked before each save, stopping like a non-finite loss would.
  void check_finite_weights() {
    for (const auto& parameter : learner_->module().parameters()) {
      if (torch::isfinite(parameter).all().item<bool>()) continue;
      const std::string message = "training stopped: the weights are no longer finite at step " +
                                  std::to_string(loop_.step) + " (learning rate too high?); " + last_good();
      log({{"kind", "error"}, {"step", loop_.step}, {"message", message}});
      throw Error(message);
    }
  }
  void save(const std::string& path, bool with_optimizers) {
    if (!writer_) return;
    const json training = {{"config", config_}, {"loop", loop_state_json(loop_)}, {"parameters", result_.parameters}};
    const std::vector<std::string> vocabulary =
        shard_.is_piano_roll() ? std::vector<std::string>{} : shard_.metadata().vocabulary;
    models::save_model_checkpoint(path, learner_->module(), model_config_, shard_.metadata().encoding, vocabulary,
                                  training, with_optimizers ? optimizers_ : std::vector<const torch::optim::AdamW*>{});
  }
  void save_last() {
    check_finite_weights();
    save(last_path_, true);
  }

  const TrainRequest& request_;
  const ProgressCallback& progress_;
  const std::atomic<bool>* stop_requested_;
  const Clock::time_point session_start_ = Clock::now();
  const Shard shard_;
  const fs::path run_dir_;
  const std::string last_path_, best_path_;
  DataParallel* const parallel_;            // null: one process
  const bool writer_;                       // rank 0 (or the only process) writes the run folder
  const std::unique_ptr<OutputLock> lock_;  // one command at a time writes a run folder

  void log(const json& record) {
    if (metrics_) metrics_->write(record);
  }
  bool agreed_interrupt_ = false, agreed_budget_spent_ = false;
  int64_t proposed_schedule_steps_ = 0;

  json config_, model_config_;
  torch::Device device_ = torch::kCPU;
  models::Precision precision_ = models::Precision::kFp32;
  TrainOptions options_;
  LoopState loop_;
  std::unique_ptr<Learner> learner_;
  std::vector<const torch::optim::AdamW*> optimizers_;
  std::unique_ptr<MetricsLog> metrics_;
  LrSchedule schedule_;
  TrainResult result_;
  TrainProgress shown_;
  int64_t last_saved_step_ = -1, first_step_ = 0;
  double elapsed_before_ = 0, learning_rate_ = 0;
  // Since the previous log line
  double loss_sum_ = 0;
  int64_t loss_count_ = 0, elements_since_log_ = 0;
  ExtraAverager extras_;
  Clock::time_point interval_start_ = Clock::now(), timing_start_;
};

}  // namespace

TrainResult run_training(const TrainRequest& request, FamilyLookup families, const ProgressCallback& progress,
                         const std::atomic<bool>* stop_requested) {
  TrainingSession session(request, families, progress, stop_requested);
  return session.run();
}

}  // namespace cadenza::train
