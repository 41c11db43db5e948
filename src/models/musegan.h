// MuseGAN-style multi-track piano-roll GAN (Dong et al. 2018, "hybrid" multi-track model with the temporal model for
// generation from scratch), trained as a WGAN-GP.
//
// Dimension letters (besides those of sequence_model.h): K tracks, N bars, S steps per bar, P pitches; a piano roll
// is (B, K, N, S, P) with values in [0, 1] (real data in {0, 1}).
//
// Noise (MuseGanNoise), one draw per piece:
//   shared          (B, Zs)     inter-track, time-independent ("z" in the paper)
//   shared_temporal (B, Zst)    inter-track, input of the shared temporal generator ("z_t")
//   track           (B, K, Zp)  intra-track, time-independent ("z_i")
//   track_temporal  (B, K, Zpt) intra-track, input of track i's temporal generator ("z_i,t")
// Any of the four sizes may be 0 (e.g. Zs = Zst = 0 is the "jamming" flavour, Zp = Zpt = 0 the "composer" one), but
// not all of them; a temporal generator exists only when its latent size is positive.
//
// Generator:
//   shared_temporal, track_temporal.i    temporal generators, z (B, Z) -> one latent per bar (B, N, Z):
//                                          hidden (Linear Z -> H) -> hidden_norm (BatchNorm1d) -> ReLU
//                                          -> output (Linear H -> N*Z), reshaped (B, N, Z)
//   bar_generators.i (one per track)     the bar generator of track i: for every bar n it takes
//                                          [shared, shared_temporal(n), track_i, track_temporal_i(n)]  (D wide)
//                                        and draws the track's bar:
//                                          project (Linear D -> C0*S0) -> project_norm (BatchNorm1d) -> ReLU,
//                                                  reshaped (C0, S0, 1)                S0 = S / 2^(G-1)
//                                          time.j (ConvTranspose2d C_j -> C_j+1, kernel (4,1), stride (2,1),
//                                                  padding (1,0): doubles the steps) -> time_norms.j -> ReLU
//                                          octave (ConvTranspose2d C -> C, kernel (1, O): 1 -> O pitch blocks)
//                                                  -> octave_norm -> ReLU
//                                          pitch (ConvTranspose2d C -> 1, kernel (1, W), stride (1, R))
//                                                  -> (S, P) logits; sigmoid -> [0, 1]
//                                        C_j = generator_channels[j], G = generator_channels.size(),
//                                        R = pitch_stride (12: octaves), O = P / R (integer division),
//                                        W = P - (O-1)*R, in [R, 2R): block o paints pitches [o*R, o*R + W).
//   The bar generators of all bars of a track run as one batch of B*N; batch norm statistics are taken over it.
//   In data-parallel training each process holds a slice of the batch: synchronise_batch_statistics() makes every
//   batch norm in training mode synced_batch_norm(), which takes its statistics over the whole global batch (sums
//   all-reduced, as PyTorch's SyncBatchNorm), so N processes compute what one computes.
//
// Critic (WGAN: an unbounded score, no sigmoid, no batch norm; tracks are the input channels of 3-D convolutions over
// (bars, steps, pitches)); LeakyReLU(0.2) after every convolution:
//   pitch   Conv3d K -> D0, kernel (1,1,W), stride (1,1,R)    P -> O     (mirror of the generator's last layer)
//   octave  Conv3d D0 -> D0, kernel (1,1,O)                   O -> 1
//   time.j  Conv3d D_j -> D_j+1, kernel (1,4,1), stride (1,2,1), padding (0,1,0): halves the steps
//   bars    Conv3d D -> D, kernel (N,1,1)                     N -> 1     (relates the bars)
//   score   Linear D*S0' -> 1, S0' = S / 2^(critic_channels.size()-1)   -> (B) scores
//   D_j = critic_channels[j].
//
// Parameter names equal the PyTorch attribute names of tests/fixtures/make_gan_fixtures.py (MuseGan there), e.g.
// generator.bar_generators.0.time.0.weight, critic.score.bias; MuseGanImpl holds `generator` and `critic`.
//
// Losses (Gulrajani et al. 2017): wgan_critic_loss = mean D(fake) - mean D(real), plus gradient_penalty() =
// weight * mean_b (|grad_x D(x_hat_b)|_2 - 1)^2 at x_hat = alpha*real + (1-alpha)*fake;
// wgan_generator_loss = -mean D(fake).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "models/musegan_config.h"

namespace cadenza::models {

// One noise draw; shapes in the header comment. All on the same device, float.
struct MuseGanNoise {
  torch::Tensor shared;           // (B, Zs)
  torch::Tensor shared_temporal;  // (B, Zst)
  torch::Tensor track;            // (B, K, Zp)
  torch::Tensor track_temporal;   // (B, K, Zpt)

  int64_t batch_size() const { return shared.size(0); }
};

// Standard normal samples of `shape`; truncation > 0 draws from the normal truncated to [-truncation, truncation]
// (exactly, by the inverse CDF; the "truncation trick" of GAN sampling), 0 = no truncation. Uses torch's global
// generator (torch::manual_seed makes it reproducible). Throws cadenza::Error for truncation < 0 or not finite.
torch::Tensor sample_truncated_normal(const std::vector<int64_t>& shape, double truncation,
                                      const torch::TensorOptions& options = torch::kFloat);

// Noise for B pieces, each part from sample_truncated_normal(shape, truncation). Throws cadenza::Error for B <= 0,
// a bad truncation or a bad config.
MuseGanNoise sample_musegan_noise(const MuseGanConfig& config, int64_t batch_size, double truncation = 0.0,
                                  const torch::TensorOptions& options = torch::kFloat);

// Sums a tensor over the processes of a data-parallel run, differentiably (the gradient of the sum flows back as the
// sum of the processes' gradients): train/distributed.h's DataParallel::sum_over_ranks. Empty: one process.
using BatchStatisticsReducer = std::function<torch::Tensor(const torch::Tensor&)>;

// Batch norm in training mode with the statistics of the global batch: the per-channel sum and sum of squares of x
// (and its count) are summed over the processes by `reducer`, then normalised as torch's batch_norm does (biased
// variance for the output, unbiased for running_var, momentum and eps from the module). x (M, C) or (M, C, H, W).
// Updates the running statistics and num_batches_tracked. Computed in float64, returned in x's dtype.
template <typename BatchNorm>
torch::Tensor synced_batch_norm(BatchNorm& norm, const torch::Tensor& x, const BatchStatisticsReducer& reducer);

// z (B, Z) -> (B, N, Z): one latent per bar.
class TemporalGeneratorImpl : public torch::nn::Module {
 public:
  TemporalGeneratorImpl(int64_t latent_size, int64_t hidden_size, int64_t num_bars);
  torch::Tensor forward(const torch::Tensor& z);

  torch::nn::Linear hidden{nullptr};
  torch::nn::BatchNorm1d hidden_norm{nullptr};
  torch::nn::Linear output{nullptr};
  BatchStatisticsReducer reducer;  // set: batch norm over the global batch (training mode)

 private:
  int64_t latent_size_, num_bars_;
};
TORCH_MODULE(TemporalGenerator);

// One track's bars: (M, D) bar inputs -> (M, S, P) logits (M = B*N bars).
class BarGeneratorImpl : public torch::nn::Module {
 public:
  explicit BarGeneratorImpl(const MuseGanConfig& config);
  torch::Tensor forward(const torch::Tensor& bar_input);

  torch::nn::Linear project{nullptr};
  torch::nn::BatchNorm1d project_norm{nullptr};
  torch::nn::ModuleList time{nullptr};        // ConvTranspose2d
  torch::nn::ModuleList time_norms{nullptr};  // BatchNorm2d
  torch::nn::ConvTranspose2d octave{nullptr};
  torch::nn::BatchNorm2d octave_norm{nullptr};
  torch::nn::ConvTranspose2d pitch{nullptr};
  BatchStatisticsReducer reducer;  // set: batch norm over the global batch (training mode)

 private:
  int64_t first_channels_, first_steps_;
  std::vector<torch::nn::ConvTranspose2d> time_layers_;
  std::vector<torch::nn::BatchNorm2d> time_norm_layers_;
};
TORCH_MODULE(BarGenerator);

class MuseGanGeneratorImpl : public torch::nn::Module {
 public:
  // Throws cadenza::Error on a bad config.
  explicit MuseGanGeneratorImpl(MuseGanConfig config);

  // noise -> (B, K, N, S, P) logits. In training mode batch norm needs B >= 2 (cadenza::Error otherwise).
  torch::Tensor logits(const MuseGanNoise& noise);
  // sigmoid(logits(noise)): the piano roll in [0, 1] that the critic sees.
  torch::Tensor forward(const MuseGanNoise& noise);

  const MuseGanConfig& config() const { return config_; }

  // Every batch norm of the generator takes its training statistics over the global batch of a data-parallel run
  // through `reducer` (empty: over this process's batch, the default).
  void synchronise_batch_statistics(const BatchStatisticsReducer& reducer);

  TemporalGenerator shared_temporal{nullptr};     // absent when Zst = 0
  torch::nn::ModuleList track_temporal{nullptr};  // K TemporalGenerators; absent when Zpt = 0
  torch::nn::ModuleList bar_generators{nullptr};  // K BarGenerators

 private:
  void check_noise(const MuseGanNoise& noise) const;

  MuseGanConfig config_;
  bool batch_statistics_synchronised_ = false;
  std::vector<TemporalGenerator> track_temporal_generators_;
  std::vector<BarGenerator> bar_generator_modules_;
};
TORCH_MODULE(MuseGanGenerator);

class MuseGanCriticImpl : public torch::nn::Module {
 public:
  // Throws cadenza::Error on a bad config.
  explicit MuseGanCriticImpl(MuseGanConfig config);

  // pianoroll (B, K, N, S, P) float -> (B) scores. Throws cadenza::Error on another shape.
  torch::Tensor forward(const torch::Tensor& pianoroll);

  const MuseGanConfig& config() const { return config_; }

  torch::nn::Conv3d pitch{nullptr};
  torch::nn::Conv3d octave{nullptr};
  torch::nn::ModuleList time{nullptr};  // Conv3d
  torch::nn::Conv3d bars{nullptr};
  torch::nn::Linear score{nullptr};

 private:
  MuseGanConfig config_;
  std::vector<torch::nn::Conv3d> time_layers_;
};
TORCH_MODULE(MuseGanCritic);

// The pair, as saved in a checkpoint: names "generator.*" and "critic.*".
class MuseGanImpl : public torch::nn::Module {
 public:
  explicit MuseGanImpl(MuseGanConfig config);
  const MuseGanConfig& config() const { return config_; }

  MuseGanGenerator generator{nullptr};
  MuseGanCritic critic{nullptr};

 private:
  MuseGanConfig config_;
};
TORCH_MODULE(MuseGan);

// WGAN critic loss: mean(fake_scores) - mean(real_scores) (the critic minimises it; add gradient_penalty()).
// Scores (B) each; the two B may differ. Throws cadenza::Error on empty or non-1-D scores.
torch::Tensor wgan_critic_loss(const torch::Tensor& real_scores, const torch::Tensor& fake_scores);
// WGAN generator loss: -mean(fake_scores).
torch::Tensor wgan_generator_loss(const torch::Tensor& fake_scores);

// WGAN-GP penalty: x_hat = alpha*real + (1-alpha)*fake per example (alpha (B), each in [0, 1]; the WGAN-GP recipe
// draws it uniformly), then weight * mean_b (|d critic(x_hat)_b / d x_hat_b|_2 - 1)^2, the norm over all of an
// example's elements. real and fake are detached first: the penalty trains the critic only. The result keeps the
// graph (create_graph), so backward() reaches the critic's parameters. critic maps (B, ...) -> (B) scores.
// Throws cadenza::Error when shapes differ, alpha is not (B) in [0, 1], or weight < 0.
torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                               const torch::Tensor& real, const torch::Tensor& fake, const torch::Tensor& alpha,
                               double weight = 10.0);
torch::Tensor gradient_penalty(MuseGanCriticImpl& critic, const torch::Tensor& real, const torch::Tensor& fake,
                               const torch::Tensor& alpha, double weight = 10.0);

}  // namespace cadenza::models
