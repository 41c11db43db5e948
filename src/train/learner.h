// What the training loop (trainer.cpp) needs from a model family: one object that owns the model, its optimizers
// and its data pipeline, and knows how to take one training step and how to validate. The loop itself (schedule,
// time budget, logging, checkpoints, resume, stop requests, non-finite checks) is the same for every family.
//
//   file                    one step                                        validation score (lower = better)
//   learner_sequence.cpp    next-element cross-entropy (autoregressive)     NLL per token / frame
//   learner_vae.cpp         negative ELBO with beta and free bits           ELBO bound per token (beta 1)
//   learner_musegan.cpp     critic_steps WGAN-GP critic updates, then one generator update
//                                                                           none (the final weights are "best")
//   learner_crnngan.cpp     one discriminator and one generator update      none
// The family registry (src/families/registry.cpp) names which learner each family uses.
//
// Randomness: the loop seeds torch's generator before every step (dropout, latent noise, penalty mixing) and
// passes a batch seed from which the learner draws its data, so a resumed run repeats the uninterrupted one.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/shard.h"
#include "encoding/melody.h"
#include "models/family.h"
#include "train/train_config.h"

namespace cadenza::codec {
struct TensorBatch;
}

namespace cadenza::train {

struct StepOutcome {
  double loss = 0;       // the number the progress display shows (the family's main objective)
  int64_t elements = 0;  // training elements (tokens, frames, events) this step consumed
  nlohmann::json extra = nlohmann::json::object();  // more numbers for metrics.jsonl (averaged over a log interval)
};

struct ValidationOutcome {
  std::optional<double> score;  // lower is better; chooses checkpoints/best (none: the final weights are best)
  std::string score_name;       // "nll", "elbo", ...
  nlohmann::json record = nlohmann::json::object();  // everything measured, for metrics.jsonl
};

// Thrown by a learner when a loss is not finite, before the update that would use it.
struct NonFiniteLoss : std::runtime_error {
  NonFiniteLoss(double value, const std::string& what) : std::runtime_error(what), value(value) {}
  double value;
};

class DataParallel;

// This rank's rows of a global batch (DataParallel::slice_of), every tensor of it cut alike.
codec::TensorBatch rows_of_this_rank(const codec::TensorBatch& batch, const DataParallel& parallel);
// The elements the next-element loss of `batch` is a mean over (models/losses.h, models/nade.h): targets after the
// first step that are not `pad_id` (tokens), or real frames after the first (frames). A rank's gradient weight.
double scored_elements(const codec::TensorBatch& batch, bool frames, int64_t pad_id);
// `batch` with every tensor on `device` (itself when that is the CPU).
codec::TensorBatch on_device(const codec::TensorBatch& batch, const torch::Device& device);

class Learner {
 public:
  virtual ~Learner() = default;
  // The whole model as one module (its state dict is what checkpoints hold) and its config JSON (with "family").
  virtual torch::nn::Module& module() = 0;
  virtual nlohmann::json model_config() const = 0;
  // The optimizers, built by the learner from the TrainOptions (a GAN has two); their state is checkpointed.
  virtual std::vector<torch::optim::AdamW*> optimizers() = 0;
  // One training step at `learning_rate` (the learner sets it on its optimizers). Throws NonFiniteLoss.
  virtual StepOutcome train_step(int64_t step, uint64_t batch_seed, double learning_rate) = 0;
  // Validation on the valid split; nullopt when the split has nothing to validate on.
  virtual std::optional<ValidationOutcome> validate(int64_t step) = 0;
  // Training elements in one epoch (for the epoch count).
  virtual double elements_per_epoch() const = 0;

  // Data-parallel training (train/distributed.h). A learner that supports it trains on its rank's slice of each
  // global batch, averages gradients through `parallel` before clipping, and shards its validation; the others are
  // refused by the loop with a message naming the family.
  virtual bool supports_data_parallel() const { return false; }
  // Why a learner that refuses data parallelism does so, when the reason is its configuration rather than its family
  // (empty: "the FAMILY family trains in one process only for now").
  virtual std::string one_process_reason() const { return {}; }
  // Whether the learner draws its random numbers (latent noise, penalty mixing) for the whole global batch and takes
  // its slice of them: then the loop seeds torch's generator alike on every rank (with the one-process seed), rather
  // than each rank its own (which gives each rank its own dropout masks).
  virtual bool draws_for_the_global_batch() const { return false; }
  // Whether the learner trains on a CUDA device (`--device`): it moves its batches to the model's device. The loop
  // moves the model before the first step; the others are refused on anything but the CPU.
  virtual bool supports_accelerators() const { return false; }
  void set_data_parallel(DataParallel* parallel) { parallel_ = parallel; }

 protected:
  DataParallel* parallel_ = nullptr;  // null: one process
};

// The registry row of a family by name or alias (src/families/registry.h: find_family). The trainer takes it as a
// parameter because the registry sits above train and generate in the build.
using FamilyLookup = const models::Family& (*)(const std::string& name_or_alias);

// The learner of config["model"]["family"] with fresh weights (torch::manual_seed(seed) first). The shard must
// outlive the learner. Throws cadenza::Error when the model does not fit the shard.
std::unique_ptr<Learner> make_learner(const nlohmann::json& config, const Shard& shard, const TrainOptions& options,
                                      FamilyLookup families);

// Fills the keys the data decides (vocabulary size, tracks, pitches, ...) into config["model"] for its family and
// validates it (unknown keys and bad values throw cadenza::Error naming the key); returns the family's full config.
nlohmann::json resolve_model_config(const nlohmann::json& model, const Shard& shard, FamilyLookup families);

// Throws NonFiniteLoss when `value` is not finite.
void check_finite_loss(double value, const std::string& what);

// One optimizer update from `loss` (a scalar): checks its value is finite (NonFiniteLoss naming `what` before any
// weight changes), back-propagates, clips the gradient norm of `module`'s parameters to `clip_norm` (0 = no
// clipping) and steps. Returns the loss's value.
// With `parallel`, `loss` is this rank's mean over `weight` elements: the gradients are averaged over the ranks
// (weighted) before the finite check, clipping and the step, and the value returned is the global mean, so every
// rank makes the same update and the same decision. `means` (this rank's figures, each a mean over `weight`
// elements, for metrics) ride in the same all-reduce and come back as the global means; untouched in one process.
double apply_update(const torch::Tensor& loss, const std::string& what, torch::nn::Module& module,
                    torch::optim::Optimizer& optimizer, double clip_norm, DataParallel* parallel = nullptr,
                    double weight = 1, std::vector<double>* means = nullptr);

void set_learning_rate(torch::optim::AdamW& optimizer, double learning_rate);
// AdamW over `module`'s parameters with the run's rate, betas and weight decay (0 = Adam).
std::unique_ptr<torch::optim::AdamW> make_adam(torch::nn::Module& module, const TrainOptions& options);
// The melody spec of a shard, or an Error naming the shard and saying that `family` needs a melody shard.
MelodySpec melody_spec_of(const Shard& shard, const char* family);
// The family name a model config holds (a non-empty string), or an Error saying what is wrong.
std::string family_name_of(const nlohmann::json& model_config);

}  // namespace cadenza::train
