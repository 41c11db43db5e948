// The learners of the latent-variable families (learner_vae.cpp, learner_musegan.cpp, learner_crnngan.cpp) and the
// data windows they train on. Internal to src/train: callers use make_learner() (learner.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>
#include <vector>

#include "data/shard.h"
#include "data/windows.h"
#include "encoding/melody.h"
#include "generate/vae_segments.h"
#include "models/musegan.h"
#include "models/vae.h"
#include "train/learner.h"

namespace cadenza::train {

// The melody spec of a shard, or an Error naming the shard and saying that `family` needs a melody shard.
MelodySpec melody_spec_of(const Shard& shard, const char* family);

void set_learning_rate(torch::optim::AdamW& optimizer, double learning_rate);
// AdamW over `module`'s parameters with the run's rate, betas and weight decay (0 = Adam).
std::unique_ptr<torch::optim::AdamW> make_adam(torch::nn::Module& module, const TrainOptions& options);

// The VAE's held-out figures over its windows (melody tokens or roll frames; eval mode, no gradients; restores
// nothing: the caller sets the mode): "elbo_per_step" (reconstruction + KL in nats per step, a token or a frame; z
// drawn from q(z|x) with a fixed seed), "reconstruction_per_step", "kl_bits", "accuracy_teacher_forced" and
// "accuracy_sampled" (steps exactly right, decoded from the posterior mean; sampled = argmax / threshold decoding fed
// its own outputs, MusicVAE's reconstruction accuracy), "windows", "input_kind"; frames models add the sampled
// reconstruction's cell precision, recall and F1 ("cells_*_sampled").
nlohmann::json vae_window_metrics(models::MusicVaeImpl& model, VaeSegments& segments,
                                  const std::vector<Window>& windows);

// (B, K, N, S, P) float {0, 1} rolls of bar-aligned windows; decoded pieces are kept in `cache`.
torch::Tensor roll_window_batch(const Shard& shard, const std::vector<Window>& windows,
                                const models::MuseGanConfig& config, std::unordered_map<size_t, PianoRoll>& cache);

nlohmann::json resolve_vae_config(const nlohmann::json& model, const Shard& shard);
nlohmann::json resolve_musegan_config(const nlohmann::json& model, const Shard& shard);
nlohmann::json resolve_crnngan_config(const nlohmann::json& model, const Shard& shard);
std::unique_ptr<Learner> make_vae_learner(const nlohmann::json& model, const Shard& shard, const TrainOptions& options);
std::unique_ptr<Learner> make_musegan_learner(const nlohmann::json& model, const Shard& shard,
                                              const TrainOptions& options);
std::unique_ptr<Learner> make_crnngan_learner(const nlohmann::json& model, const Shard& shard,
                                              const TrainOptions& options);

}  // namespace cadenza::train
