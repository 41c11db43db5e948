// The work behind `cadenza compare` (cmd_compare.cpp), one model at a time: choosing each model's shard and run,
// training it, and measuring it (likelihood, generated pieces, statistics, originality) into a report::ModelReport.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compare_progress.h"
#include "data/shard.h"
#include "eval/musical_metrics.h"
#include "eval/ngram.h"
#include "eval/originality.h"
#include "report/comparison.h"

namespace cadenza::cli {

struct CompareSetup {
  std::string out;  // the report folder
  std::string preset = "small";
  int64_t steps = 0;          // 0: the budget (or the preset) decides
  double budget_seconds = 0;  // per model; 0: none
  uint64_t seed = 1;
  int samples = 8;
  int bars = 16;
  bool audio = true;
  std::string checkpoints;  // --checkpoints folder, "" for none
  bool retrain = false;
  const std::atomic<bool>* stop_requested = nullptr;
};

struct ModelPlan {
  std::string name;    // as given: "gan"
  std::string family;  // "musegan"
  bool autoregressive = false;
  size_t shard = 0;    // index into the shards
  std::string run;     // the run folder (or checkpoint file) the model is read from
  std::string origin;  // "trained", "resumed", "reused" (a finished run in OUT/runs), "checkpoint" (--checkpoints)
  bool train = false;
  bool resume = false;
  bool failed = false;  // training failed: left out of the report
};

// Picks each model's shard (the first that fits) and its run: --checkpoints DIR/<model>[.safetensors], else
// OUT/runs/<model> (reused when finished, resumed when interrupted, trained when absent or with --retrain).
// Throws Error naming the model when no shard fits it, and the file when an existing checkpoint is unreadable, of
// another family, or made for another encoding than its shard: all before anything is trained.
std::vector<ModelPlan> plan_models(const std::vector<std::string>& names,
                                   const std::vector<std::unique_ptr<Shard>>& shards, const CompareSetup& setup);

// Trains (or resumes) the plan's run with the preset, budget, steps and seed of the setup. Returns true when the
// run was interrupted (Ctrl-C): its last checkpoint is saved and a later invocation resumes it.
bool train_model(const ModelPlan& plan, const Shard& shard, const CompareSetup& setup, CompareProgress& progress,
                 size_t index);

// What every model trained on one shard is judged against.
struct ReferenceData {
  std::vector<eval::MetricSet> training_metrics;  // per training piece, cut to the generated length
  std::unique_ptr<OriginalityIndex> index;        // over the whole training pieces
  report::ReferenceSet summary;                   // held-out vs training, pitch-class histograms
  // Melody data: the form metrics of each training piece's melody, cut to the generated length (else empty).
  std::vector<eval::MetricSet> training_form;
  // Token data with a held-out split: the n-gram baselines on the split and window the models' NLL is measured on,
  // fitted once for every model of the shard; ngram_note says why they are missing otherwise.
  std::optional<eval::NgramBaseline> ngram;
  std::string ngram_note;
};

// Decodes the shard's train and held-out (valid + test) pieces and measures them (the form metrics too on melody
// data), and with `ngram` fits the n-gram baselines (token data only). Throws Error naming the shard when its train
// split is empty.
ReferenceData build_reference(const Shard& shard, int bars, bool ngram);

// Measures one trained model: held-out likelihood (exact NLL, the VAE's ELBO bound, or none), `samples` generated
// pieces written as MIDI / PNG (/ WAV) under OUT/samples, their statistics beside the training pieces', their
// originality, and the training log. Stops generating early when a stop was requested.
report::ModelReport evaluate_model(const ModelPlan& plan, const Shard& shard, const ReferenceData& reference,
                                   const CompareSetup& setup, CompareProgress& progress, size_t index);

}  // namespace cadenza::cli
