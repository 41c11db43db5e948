// MuseGAN-style hybrid GAN, read top to bottom: the config (JSON and checks), noise, the generator (temporal and bar
// generators), the critic, then the WGAN-GP losses. The architecture is drawn in musegan.h.
#include "models/musegan.h"

#include <cmath>
#include <set>
#include <sstream>
#include <string>

#include "common/error.h"

namespace cadenza::models {
namespace {

constexpr double kLeakySlope = 0.2;

std::string describe(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream out;
  out << t.sizes() << " " << t.dtype();
  return out.str();
}

std::string join(const std::vector<int64_t>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + std::to_string(values[i]);
  return text + "]";
}

// (B, ...) -> (B, 1, 1, ...): alpha per example, broadcastable against an example tensor of `dims` dimensions.
torch::Tensor per_example(const torch::Tensor& alpha, int64_t dims) {
  std::vector<int64_t> shape(dims, 1);
  shape[0] = alpha.size(0);
  return alpha.reshape(shape);
}

}  // namespace

// ---- noise ----------------------------------------------------------------------------------------------------

torch::Tensor sample_truncated_normal(const std::vector<int64_t>& shape, double truncation,
                                      const torch::TensorOptions& options) {
  if (!(truncation >= 0.0 && std::isfinite(truncation)))
    throw Error("noise: truncation must be >= 0 (0 = none), got " + std::to_string(truncation));
  if (truncation == 0.0) return torch::randn(shape, options);
  // Inverse CDF of the truncated normal: u uniform on (Phi(-t), Phi(t)), z = Phi^-1(u) = sqrt(2) erfinv(2u - 1).
  // Exact, with no rejection loop (a small t would reject almost every draw). In double so that erfinv stays finite
  // further out; the clamp catches the last ulp (erfinv(1) is infinite).
  const double edge = std::erf(truncation / std::sqrt(2.0));
  auto u = torch::rand(shape, torch::kDouble) * (2 * edge) - edge;  // uniform in (-edge, edge)
  return (std::sqrt(2.0) * torch::erfinv(u)).clamp(-truncation, truncation).to(options);
}

MuseGanNoise sample_musegan_noise(const MuseGanConfig& config, int64_t batch_size, double truncation,
                                  const torch::TensorOptions& options) {
  config.validate();
  if (batch_size <= 0) throw Error("musegan noise: batch size must be positive, got " + std::to_string(batch_size));
  const int64_t B = batch_size, K = config.num_tracks;
  return {sample_truncated_normal({B, config.shared_latent}, truncation, options),
          sample_truncated_normal({B, config.shared_temporal_latent}, truncation, options),
          sample_truncated_normal({B, K, config.track_latent}, truncation, options),
          sample_truncated_normal({B, K, config.track_temporal_latent}, truncation, options)};
}

// ---- batch norm over the global batch -------------------------------------------------------------------------

template <typename BatchNorm>
torch::Tensor synced_batch_norm(BatchNorm& norm, const torch::Tensor& x, const BatchStatisticsReducer& reducer) {
  const int64_t C = x.size(1);
  std::vector<int64_t> reduced_dims{0};  // every dimension but the channels'
  for (int64_t d = 2; d < x.dim(); ++d) reduced_dims.push_back(d);
  std::vector<int64_t> channel_shape(x.dim(), 1);  // (1, C, 1, ...)
  channel_shape[1] = C;
  const torch::Tensor x64 = x.to(torch::kDouble);
  const double count_here = static_cast<double>(x.numel() / C);
  // [sum (C), sum of squares (C), count (1)] of this slice, summed over the processes.
  const torch::Tensor local =
      torch::cat({x64.sum(reduced_dims), (x64 * x64).sum(reduced_dims), torch::full({1}, count_here, x64.options())});
  const torch::Tensor global = reducer(local);  // (2C + 1)
  const torch::Tensor count = global.narrow(0, 2 * C, 1).detach();
  const torch::Tensor mean = global.narrow(0, 0, C) / count;                                   // (C)
  const torch::Tensor variance = (global.narrow(0, C, C) / count - mean * mean).clamp_min(0);  // (C), biased
  const auto& options = norm.options;
  if (options.track_running_stats()) {
    torch::NoGradGuard no_grad;
    const double n = count.item<double>();
    norm.num_batches_tracked.add_(1);
    // No momentum: torch's cumulative moving average.
    const double momentum =
        options.momentum() ? *options.momentum() : 1.0 / norm.num_batches_tracked.template item<double>();
    norm.running_mean.mul_(1 - momentum).add_(mean.detach().to(norm.running_mean.dtype()) * momentum);
    norm.running_var.mul_(1 - momentum)
        .add_(variance.detach().to(norm.running_var.dtype()) * (momentum * n / std::max(n - 1, 1.0)));
  }
  torch::Tensor y = (x64 - mean.view(channel_shape)) * torch::rsqrt(variance + options.eps()).view(channel_shape);
  if (options.affine())
    y = y * norm.weight.to(torch::kDouble).view(channel_shape) + norm.bias.to(torch::kDouble).view(channel_shape);
  return y.to(x.scalar_type());
}

template torch::Tensor synced_batch_norm(torch::nn::BatchNorm1dImpl&, const torch::Tensor&,
                                         const BatchStatisticsReducer&);
template torch::Tensor synced_batch_norm(torch::nn::BatchNorm2dImpl&, const torch::Tensor&,
                                         const BatchStatisticsReducer&);

namespace {

// The module's own forward (one process: this batch's statistics; eval mode: the running ones), or the global
// batch's statistics in data-parallel training.
template <typename Holder>
torch::Tensor normalise(Holder& norm, const torch::Tensor& x, const BatchStatisticsReducer& reducer) {
  if (!reducer || !norm->is_training()) return norm->forward(x);
  return synced_batch_norm(*norm, x, reducer);
}

}  // namespace

// ---- generator ------------------------------------------------------------------------------------------------

TemporalGeneratorImpl::TemporalGeneratorImpl(int64_t latent_size, int64_t hidden_size, int64_t num_bars)
    : latent_size_(latent_size), num_bars_(num_bars) {
  hidden = register_module("hidden", torch::nn::Linear(latent_size, hidden_size));
  hidden_norm = register_module("hidden_norm", torch::nn::BatchNorm1d(hidden_size));
  output = register_module("output", torch::nn::Linear(hidden_size, num_bars * latent_size));
}

torch::Tensor TemporalGeneratorImpl::forward(const torch::Tensor& z) {
  auto h = torch::relu(normalise(hidden_norm, hidden->forward(z), reducer));  // (B, H)
  return output->forward(h).view({z.size(0), num_bars_, latent_size_});       // (B, N, Z)
}

BarGeneratorImpl::BarGeneratorImpl(const MuseGanConfig& config) {
  const auto& channels = config.generator_channels;
  first_channels_ = channels.front();
  first_steps_ = config.steps_per_bar >> (channels.size() - 1);  // S0
  project = register_module("project", torch::nn::Linear(config.bar_input_size(), first_channels_ * first_steps_));
  project_norm = register_module("project_norm", torch::nn::BatchNorm1d(first_channels_ * first_steps_));
  time = register_module("time", torch::nn::ModuleList());
  time_norms = register_module("time_norms", torch::nn::ModuleList());
  for (size_t j = 0; j + 1 < channels.size(); ++j) {
    time_layers_.emplace_back(
        torch::nn::ConvTranspose2dOptions(channels[j], channels[j + 1], {4, 1}).stride({2, 1}).padding({1, 0}));
    time_norm_layers_.emplace_back(channels[j + 1]);
    time->push_back(time_layers_.back());
    time_norms->push_back(time_norm_layers_.back());
  }
  const int64_t C = channels.back();
  octave = register_module(
      "octave", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(C, C, {1, config.pitch_blocks()})));
  octave_norm = register_module("octave_norm", torch::nn::BatchNorm2d(C));
  pitch = register_module(
      "pitch",
      torch::nn::ConvTranspose2d(
          torch::nn::ConvTranspose2dOptions(C, 1, {1, config.pitch_kernel()}).stride({1, config.pitch_stride})));
}

torch::Tensor BarGeneratorImpl::forward(const torch::Tensor& bar_input) {
  const int64_t M = bar_input.size(0);
  auto h = torch::relu(normalise(project_norm, project->forward(bar_input), reducer));  // (M, C0*S0)
  h = h.view({M, first_channels_, first_steps_, 1});                                    // (M, C0, S0, 1)
  for (size_t j = 0; j < time_layers_.size(); ++j)
    h = torch::relu(normalise(time_norm_layers_[j], time_layers_[j]->forward(h), reducer));  // (M, C_j+1, 2 S_j, 1)
  h = torch::relu(normalise(octave_norm, octave->forward(h), reducer));                      // (M, C, S, O)
  return pitch->forward(h).squeeze(1);                                                       // (M, S, P)
}

MuseGanGeneratorImpl::MuseGanGeneratorImpl(MuseGanConfig config) : config_(std::move(config)) {
  config_.validate();
  const int64_t K = config_.num_tracks, H = config_.temporal_hidden, N = config_.num_bars;
  if (config_.shared_temporal_latent > 0)
    shared_temporal = register_module("shared_temporal", TemporalGenerator(config_.shared_temporal_latent, H, N));
  if (config_.track_temporal_latent > 0) {
    track_temporal = register_module("track_temporal", torch::nn::ModuleList());
    for (int64_t k = 0; k < K; ++k) {
      track_temporal_generators_.emplace_back(config_.track_temporal_latent, H, N);
      track_temporal->push_back(track_temporal_generators_.back());
    }
  }
  bar_generators = register_module("bar_generators", torch::nn::ModuleList());
  for (int64_t k = 0; k < K; ++k) {
    bar_generator_modules_.emplace_back(config_);
    bar_generators->push_back(bar_generator_modules_.back());
  }
}

void MuseGanGeneratorImpl::synchronise_batch_statistics(const BatchStatisticsReducer& reducer) {
  batch_statistics_synchronised_ = static_cast<bool>(reducer);
  if (shared_temporal) shared_temporal->reducer = reducer;
  for (auto& generator : track_temporal_generators_) generator->reducer = reducer;
  for (auto& generator : bar_generator_modules_) generator->reducer = reducer;
}

void MuseGanGeneratorImpl::check_noise(const MuseGanNoise& noise) const {
  const int64_t K = config_.num_tracks;
  const torch::Tensor* parts[] = {&noise.shared, &noise.shared_temporal, &noise.track, &noise.track_temporal};
  const char* names[] = {"shared", "shared_temporal", "track", "track_temporal"};
  const int64_t widths[] = {config_.shared_latent, config_.shared_temporal_latent, config_.track_latent,
                            config_.track_temporal_latent};
  const int64_t B = noise.shared.defined() && noise.shared.dim() >= 1 ? noise.shared.size(0) : 0;
  if (B <= 0) throw Error("musegan generator: noise.shared must be (B, Zs) with B >= 1, got " + describe(noise.shared));
  for (int i = 0; i < 4; ++i) {
    const torch::Tensor& t = *parts[i];
    const bool per_track = i >= 2;
    std::vector<int64_t> expected =
        per_track ? std::vector<int64_t>{B, K, widths[i]} : std::vector<int64_t>{B, widths[i]};
    if (!t.defined() || t.sizes() != torch::IntArrayRef(expected) || !t.is_floating_point())
      throw Error(std::string("musegan generator: noise.") + names[i] + " must be float of shape " + join(expected) +
                  ", got " + describe(t));
  }
}

torch::Tensor MuseGanGeneratorImpl::logits(const MuseGanNoise& noise) {
  check_noise(noise);
  const int64_t B = noise.batch_size(), K = config_.num_tracks, N = config_.num_bars;
  const int64_t S = config_.steps_per_bar, P = config_.num_pitches, D = config_.bar_input_size();
  // (Synchronised, the statistics are the global batch's, which the training loop keeps at 2 or more rows.)
  if (is_training() && B < 2 && !batch_statistics_synchronised_)
    throw Error("musegan generator: batch norm in training mode needs a batch of at least 2, got 1 (call eval())");

  // Time-independent latents repeat over the bars; temporal ones get one latent per bar from their generator.
  const auto dtype = bar_generator_modules_[0]->project->weight.scalar_type();
  auto over_bars = [&](const torch::Tensor& z) { return z.unsqueeze(1).expand({B, N, z.size(-1)}); };  // (B, N, Z)
  auto shared = over_bars(noise.shared.to(dtype));                                                     // (B, N, Zs)
  auto shared_temporal_bars = config_.shared_temporal_latent > 0
                                  ? shared_temporal->forward(noise.shared_temporal.to(dtype))
                                  : over_bars(noise.shared_temporal.to(dtype));  // (B, N, Zst)
  std::vector<torch::Tensor> tracks;
  for (int64_t k = 0; k < K; ++k) {
    auto track = over_bars(noise.track.select(1, k).to(dtype));               // (B, N, Zp)
    auto track_temporal_noise = noise.track_temporal.select(1, k).to(dtype);  // (B, Zpt)
    auto track_temporal_bars = config_.track_temporal_latent > 0
                                   ? track_temporal_generators_[k]->forward(track_temporal_noise)
                                   : over_bars(track_temporal_noise);  // (B, N, Zpt)
    auto bar_input = torch::cat({shared, shared_temporal_bars, track, track_temporal_bars}, 2).reshape({B * N, D});
    tracks.push_back(bar_generator_modules_[k]->forward(bar_input).view({B, N, S, P}));  // (B, N, S, P)
  }
  return torch::stack(tracks, 1);  // (B, K, N, S, P)
}

torch::Tensor MuseGanGeneratorImpl::forward(const MuseGanNoise& noise) {
  return torch::sigmoid(logits(noise));
}

// ---- critic ---------------------------------------------------------------------------------------------------

MuseGanCriticImpl::MuseGanCriticImpl(MuseGanConfig config) : config_(std::move(config)) {
  config_.validate();
  const auto& channels = config_.critic_channels;
  const int64_t K = config_.num_tracks, D0 = channels.front(), D = channels.back();
  pitch = register_module(
      "pitch",
      torch::nn::Conv3d(
          torch::nn::Conv3dOptions(K, D0, {1, 1, config_.pitch_kernel()}).stride({1, 1, config_.pitch_stride})));
  octave =
      register_module("octave", torch::nn::Conv3d(torch::nn::Conv3dOptions(D0, D0, {1, 1, config_.pitch_blocks()})));
  time = register_module("time", torch::nn::ModuleList());
  for (size_t j = 0; j + 1 < channels.size(); ++j) {
    time_layers_.emplace_back(torch::nn::Conv3dOptions(channels[j], channels[j + 1], {1, 4, 1})
                                  .stride({1, 2, 1})
                                  .padding(torch::ExpandingArray<3>({0, 1, 0})));
    time->push_back(time_layers_.back());
  }
  bars = register_module("bars", torch::nn::Conv3d(torch::nn::Conv3dOptions(D, D, {config_.num_bars, 1, 1})));
  const int64_t last_steps = config_.steps_per_bar >> (channels.size() - 1);
  score = register_module("score", torch::nn::Linear(D * last_steps, 1));
}

torch::Tensor MuseGanCriticImpl::forward(const torch::Tensor& pianoroll) {
  const std::vector<int64_t> expected = {config_.num_tracks, config_.num_bars, config_.steps_per_bar,
                                         config_.num_pitches};
  if (!pianoroll.defined() || pianoroll.dim() != 5 || pianoroll.size(0) == 0 ||
      pianoroll.sizes().slice(1) != torch::IntArrayRef(expected) || !pianoroll.is_floating_point())
    throw Error("musegan critic: expects a float piano roll (B, K, N, S, P) with (K, N, S, P) = " + join(expected) +
                " and B >= 1, got " + describe(pianoroll));
  const int64_t B = pianoroll.size(0);
  auto h =
      torch::leaky_relu(pitch->forward(pianoroll.to(pitch->weight.scalar_type())), kLeakySlope);  // (B, D0, N, S, O)
  h = torch::leaky_relu(octave->forward(h), kLeakySlope);                                         // (B, D0, N, S, 1)
  for (auto& layer : time_layers_) h = torch::leaky_relu(layer->forward(h), kLeakySlope);  // (B, D_j+1, N, S_j/2, 1)
  h = torch::leaky_relu(bars->forward(h), kLeakySlope);                                    // (B, D, 1, S0', 1)
  return score->forward(h.reshape({B, -1})).squeeze(1);                                    // (B)
}

MuseGanImpl::MuseGanImpl(MuseGanConfig config) : config_(std::move(config)) {
  config_.validate();
  generator = register_module("generator", MuseGanGenerator(config_));
  critic = register_module("critic", MuseGanCritic(config_));
}

// ---- losses ---------------------------------------------------------------------------------------------------

namespace {
void check_scores(const torch::Tensor& scores, const char* who) {
  if (!scores.defined() || scores.dim() != 1 || scores.numel() == 0)
    throw Error(std::string(who) + ": scores must be a non-empty (B) tensor, got " + describe(scores));
}
}  // namespace

torch::Tensor wgan_critic_loss(const torch::Tensor& real_scores, const torch::Tensor& fake_scores) {
  check_scores(real_scores, "wgan_critic_loss");
  check_scores(fake_scores, "wgan_critic_loss");
  return fake_scores.mean() - real_scores.mean();
}

torch::Tensor wgan_generator_loss(const torch::Tensor& fake_scores) {
  check_scores(fake_scores, "wgan_generator_loss");
  return -fake_scores.mean();
}

torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                               const torch::Tensor& real, const torch::Tensor& fake, const torch::Tensor& alpha,
                               double weight) {
  auto fail = [&](const std::string& problem) { throw Error("gradient_penalty: " + problem); };
  if (!real.defined() || !fake.defined() || real.sizes() != fake.sizes() || real.dim() < 1 || real.size(0) == 0)
    fail("real and fake must be non-empty tensors of one shape, got " + describe(real) + " and " + describe(fake));
  if (!real.is_floating_point() || !fake.is_floating_point()) fail("real and fake must be floating point");
  const int64_t B = real.size(0);
  if (!alpha.defined() || alpha.dim() != 1 || alpha.size(0) != B)
    fail("alpha must have shape (" + std::to_string(B) + "), one per example, got " + describe(alpha));
  if (!torch::all((alpha >= 0) & (alpha <= 1)).item<bool>()) fail("alpha must lie in [0, 1]");
  if (!(weight >= 0.0)) fail("weight must be >= 0, got " + std::to_string(weight));

  torch::AutoGradMode enable_grad(true);  // the penalty is a gradient, even if the caller is in a no-grad scope
  auto a = per_example(alpha.detach().to(real.scalar_type()), real.dim());  // (B, 1, ...)
  auto interpolated = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(true);
  auto scores = critic(interpolated);  // (B)
  if (scores.dim() != 1 || scores.size(0) != B)
    fail("the critic must return (" + std::to_string(B) + ") scores, got " + describe(scores));
  // Each score depends only on its own example, so the gradient of their sum holds every example's own gradient.
  auto gradients = torch::autograd::grad({scores.sum()}, {interpolated}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                         /*create_graph=*/true)[0];  // (B, ...)
  auto norms = gradients.reshape({B, -1}).norm(2, 1);                // (B)
  return weight * (norms - 1).pow(2).mean();
}

torch::Tensor gradient_penalty(MuseGanCriticImpl& critic, const torch::Tensor& real, const torch::Tensor& fake,
                               const torch::Tensor& alpha, double weight) {
  return gradient_penalty([&](const torch::Tensor& x) { return critic.forward(x); }, real, fake, alpha, weight);
}

}  // namespace cadenza::models
