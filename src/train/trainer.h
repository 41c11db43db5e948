// The training loop shared by every model family: one `cadenza train` run. What differs between families (the
// model, its optimizers, its data windows, one step, validation) is a Learner (learner.h).
//
// A run lives in a folder:
//   RUN/config.json                 the resolved configuration ({"model", "train", "data"}), written at the start
//   RUN/metrics.jsonl               one JSON object per line: {"kind": "train", step, loss, lr, tokens_per_s, ...}
//                                   every log_every steps, {"kind": "valid", step, nll, perplexity, accuracy, ...}
//                                   at each validation, {"kind": "end", ...} once
//   RUN/checkpoints/last.safetensors  weights + AdamW state + the loop's state; every checkpoint_every steps, at
//                                   each validation, on a stop request (Ctrl-C) and at the end
//   RUN/checkpoints/best.safetensors  weights of the best validation score so far (no optimizer state): NLL for the
//                                   autoregressive families, the ELBO bound for the VAE; the GANs have no such
//                                   score, so their best is their final weights
// All files are written atomically (write to a temporary, fsync, rename).
//
// Determinism: the model is initialised from torch::manual_seed(seed); step s draws its batch from
// mix(seed, s) and seeds dropout from another mix(seed, s). So a run resumed from its last checkpoint at step k
// computes exactly what the uninterrupted run computes from step k on (tested). The learning-rate schedule is a
// function of the step and of schedule_steps, which is `steps`, or, with a time budget, the number of steps the
// budget allows, estimated after the first steps and re-estimated every log_every steps (stored in the checkpoint;
// a time-budgeted run depends on the machine's speed, so only runs without a time budget are bit-reproducible).
// With a fitted schedule the warm-up is capped at a quarter of it, so a short budget still reaches the peak rate.
//
// A non-finite loss stops the run before the update is applied, with an Error naming the step; the last
// checkpoint on disk is the last good one.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "train/distributed.h"
#include "train/learner.h"

namespace cadenza::train {

struct TrainRequest {
  std::string data_path;  // a shard file
  std::string run_dir;
  nlohmann::json config;  // {"model": {...}, "train": {...}} after presets, --config and --set
  bool resume = false;    // continue RUN/checkpoints/last.safetensors; config then comes from the run
  // When not resuming, an existing run folder with checkpoints is an error unless overwrite is set.
  bool overwrite = false;
  // Several processes training one model (distributed.h): each trains on its slice of every global batch; rank 0
  // alone writes the run folder and reports progress; every rank takes the same decisions. Null: one process.
  DataParallel* parallel = nullptr;
  // `--device` (models/device.h): "cpu", "cuda", "cuda:N" or "auto". Checkpoints are written as CPU tensors.
  std::string device = "cpu";
  // `--precision` (models/torch_compat.h): "fp32", or "bf16" for autocast in the training step's forward pass.
  std::string precision = "fp32";
};

// What the progress display shows; sent every step (the display decides how often to draw).
struct TrainProgress {
  int64_t step = 0;
  int64_t schedule_steps = 0;  // the step the run is headed for
  double epoch = 0;            // training elements seen / elements in the train split
  double loss = 0;             // mean of the training loss since the previous log line
  double learning_rate = 0;
  std::optional<double> valid_score;  // latest validation score (lower is better)
  std::optional<double> best_valid_score;
  std::string valid_score_name;    // "nll", "elbo", ... ("" until a scored validation)
  double elements_per_second = 0;  // training tokens / frames per second since the previous log line
  double elapsed_seconds = 0;
  double eta_seconds = 0;
  bool log_line = false;  // true on log_every steps: a plain log should print this one
  std::string event;      // "", "validation", "checkpoint", "early stop", ...
};

struct TrainResult {
  int64_t steps = 0;                       // steps completed (including those of earlier sessions of a resumed run)
  std::string stop_reason;                 // "steps", "time budget", "early stopping", "interrupted"
  std::optional<double> best_valid_score;  // NLL / ELBO per element; none for GANs
  std::string valid_score_name;
  std::string best_checkpoint;
  std::string last_checkpoint;
  double seconds = 0;  // this session
  int64_t parameters = 0;
};

using ProgressCallback = std::function<void(const TrainProgress&)>;

// Runs (or resumes) a run. Throws cadenza::Error on bad data, configuration or a non-finite loss.
// `stop_requested` (may be null) is polled every step: when it becomes true, the run saves `last` and returns
// with stop_reason "interrupted".
// `families` finds a family's registry row by name (src/families/registry.h: find_family).
TrainResult run_training(const TrainRequest& request, FamilyLookup families, const ProgressCallback& progress,
                         const std::atomic<bool>* stop_requested = nullptr);

// The configuration a request resolves to, with the keys the data decides filled from the shard (vocab_size,
// input_kind; tracks and pitches for musegan; the pitch range for crnngan) and every default spelled out.
nlohmann::json resolve_config(const nlohmann::json& config, const std::string& data_path, FamilyLookup families);

}  // namespace cadenza::train
