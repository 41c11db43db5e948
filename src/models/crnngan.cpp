// C-RNN-GAN-style recurrent GAN, read top to bottom: the config, event <-> feature conversion, noise, the generator
// (stepped, with feedback), the discriminator (bidirectional), the losses. The design is drawn in crnngan.h.
#include "models/crnngan.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <string>

#include "common/error.h"
#include "models/musegan.h"

namespace cadenza::models {
namespace {

std::string describe(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream out;
  out << t.sizes() << " " << t.dtype();
  return out.str();
}

// Raw head output (..., 3) -> valid features: pitch tanh to [-1, 1], the two times softplus to >= 0.
torch::Tensor to_features(const torch::Tensor& raw) {
  return torch::cat({torch::tanh(raw.narrow(-1, 0, 1)), torch::softplus(raw.narrow(-1, 1, 2))}, -1);
}

}  // namespace

// ---- events <-> features --------------------------------------------------------------------------------------

torch::Tensor events_to_features(const std::vector<MelodyEvent>& events, const CrnnGanConfig& config) {
  config.validate();
  if (events.empty()) throw Error("crnngan events: a melody needs at least one event");
  const double low = static_cast<double>(config.min_pitch), span = static_cast<double>(config.max_pitch - low);
  auto features = torch::empty({static_cast<int64_t>(events.size()), kCrnnGanFeatures}, torch::kFloat);
  auto out = features.accessor<float, 2>();
  for (size_t i = 0; i < events.size(); ++i) {
    const MelodyEvent& e = events[i];
    auto fail = [&](const std::string& problem) {
      throw Error("crnngan events: event " + std::to_string(i) + ": " + problem);
    };
    if (e.pitch < config.min_pitch || e.pitch > config.max_pitch)
      fail("pitch " + std::to_string(e.pitch) + " outside [" + std::to_string(config.min_pitch) + ", " +
           std::to_string(config.max_pitch) + "]");
    if (!(std::isfinite(e.duration) && e.duration >= 0))
      fail("duration must be >= 0, got " + std::to_string(e.duration));
    if (!(std::isfinite(e.time_shift) && e.time_shift >= 0))
      fail("time_shift must be >= 0, got " + std::to_string(e.time_shift));
    out[i][0] = static_cast<float>(2.0 * (e.pitch - low) / span - 1.0);
    out[i][1] = static_cast<float>(e.duration);
    out[i][2] = static_cast<float>(e.time_shift);
  }
  return features;
}

std::vector<MelodyEvent> features_to_events(const torch::Tensor& features, const CrnnGanConfig& config) {
  config.validate();
  if (!features.defined() || features.dim() != 2 || features.size(1) != kCrnnGanFeatures ||
      !features.is_floating_point())
    throw Error("crnngan events: features must be float (T, 3), got " + describe(features));
  auto values = features.detach().to(torch::kCPU, torch::kDouble).contiguous();
  auto in = values.accessor<double, 2>();
  const double low = static_cast<double>(config.min_pitch), span = static_cast<double>(config.max_pitch - low);
  std::vector<MelodyEvent> events;
  for (int64_t t = 0; t < values.size(0); ++t) {
    const double position = std::isfinite(in[t][0]) ? std::clamp(in[t][0], -1.0, 1.0) : 0.0;
    MelodyEvent e;
    e.pitch = static_cast<int>(std::lround(low + (position + 1.0) / 2.0 * span));
    e.duration = std::isfinite(in[t][1]) ? std::max(in[t][1], 0.0) : 0.0;
    e.time_shift = std::isfinite(in[t][2]) ? std::max(in[t][2], 0.0) : 0.0;
    events.push_back(e);
  }
  return events;
}

torch::Tensor sample_crnngan_noise(const CrnnGanConfig& config, int64_t batch_size, int64_t num_events,
                                   double truncation, const torch::TensorOptions& options) {
  config.validate();
  if (batch_size <= 0 || num_events <= 0)
    throw Error("crnngan noise: batch size and number of events must be positive, got " + std::to_string(batch_size) +
                " and " + std::to_string(num_events));
  return sample_truncated_normal({batch_size, num_events, config.noise_size}, truncation, options);
}

// ---- generator ------------------------------------------------------------------------------------------------

CrnnGeneratorImpl::CrnnGeneratorImpl(CrnnGanConfig config) : config_(std::move(config)) {
  config_.validate();
  rnn = register_module(
      "rnn", torch::nn::LSTM(torch::nn::LSTMOptions(config_.noise_size + kCrnnGanFeatures, config_.generator_hidden)
                                 .num_layers(config_.generator_layers)
                                 .batch_first(true)));
  head = register_module("head", torch::nn::Linear(config_.generator_hidden, kCrnnGanFeatures));
}

torch::Tensor CrnnGeneratorImpl::forward(const torch::Tensor& noise) {
  if (!noise.defined() || noise.dim() != 3 || noise.size(2) != config_.noise_size || noise.size(0) == 0 ||
      noise.size(1) == 0 || !noise.is_floating_point())
    throw Error("crnngan generator: noise must be float (B, T, " + std::to_string(config_.noise_size) +
                ") with B, T >= 1, got " + describe(noise));
  const int64_t B = noise.size(0), T = noise.size(1), L = config_.generator_layers, C = config_.generator_hidden;
  auto options = head->weight.options();
  auto x = noise.to(options.dtype());
  auto state = std::make_tuple(torch::zeros({L, B, C}, options), torch::zeros({L, B, C}, options));  // h, c
  auto previous = torch::zeros({B, kCrnnGanFeatures}, options);                                      // (B, F)
  std::vector<torch::Tensor> outputs;
  for (int64_t t = 0; t < T; ++t) {
    auto input = torch::cat({x.select(1, t), previous}, 1).unsqueeze(1);  // (B, 1, Z+F)
    auto [y, next_state] = rnn->forward(input, state);                    // (B, 1, C)
    state = next_state;
    previous = to_features(head->forward(y.squeeze(1)));  // (B, F)
    outputs.push_back(previous);
  }
  return torch::stack(outputs, 1);  // (B, T, F)
}

// ---- discriminator --------------------------------------------------------------------------------------------

CrnnDiscriminatorImpl::CrnnDiscriminatorImpl(CrnnGanConfig config) : config_(std::move(config)) {
  config_.validate();
  rnn = register_module("rnn", torch::nn::LSTM(torch::nn::LSTMOptions(kCrnnGanFeatures, config_.discriminator_hidden)
                                                   .num_layers(config_.discriminator_layers)
                                                   .bidirectional(true)
                                                   .batch_first(true)));
  head = register_module("head", torch::nn::Linear(2 * config_.discriminator_hidden, 1));
}

torch::Tensor CrnnDiscriminatorImpl::hidden_features(const torch::Tensor& features) {
  if (!features.defined() || features.dim() != 3 || features.size(2) != kCrnnGanFeatures || features.size(0) == 0 ||
      features.size(1) == 0 || !features.is_floating_point())
    throw Error("crnngan discriminator: features must be float (B, T, 3) with B, T >= 1, got " + describe(features));
  auto [y, unused_state] = rnn->forward(features.to(head->weight.scalar_type()));
  return y;  // (B, T, 2C)
}

torch::Tensor CrnnDiscriminatorImpl::logits(const torch::Tensor& hidden) {
  return head->forward(hidden).squeeze(2);  // (B, T)
}

torch::Tensor CrnnDiscriminatorImpl::forward(const torch::Tensor& features) {
  return logits(hidden_features(features));
}

CrnnGanImpl::CrnnGanImpl(CrnnGanConfig config) : config_(std::move(config)) {
  config_.validate();
  generator = register_module("generator", CrnnGenerator(config_));
  discriminator = register_module("discriminator", CrnnDiscriminator(config_));
}

// ---- losses ---------------------------------------------------------------------------------------------------

namespace {
void check_logits(const torch::Tensor& logits, const char* who) {
  if (!logits.defined() || logits.numel() == 0 || !logits.is_floating_point())
    throw Error(std::string(who) + ": logits must be a non-empty float tensor, got " + describe(logits));
}
}  // namespace

torch::Tensor crnngan_discriminator_loss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits) {
  check_logits(real_logits, "crnngan_discriminator_loss");
  check_logits(fake_logits, "crnngan_discriminator_loss");
  return torch::binary_cross_entropy_with_logits(real_logits, torch::ones_like(real_logits)) +
         torch::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
}

torch::Tensor crnngan_generator_loss(const torch::Tensor& fake_logits) {
  check_logits(fake_logits, "crnngan_generator_loss");
  return torch::binary_cross_entropy_with_logits(fake_logits, torch::ones_like(fake_logits));
}

torch::Tensor crnngan_feature_matching_loss(const torch::Tensor& real_hidden, const torch::Tensor& fake_hidden) {
  auto valid = [](const torch::Tensor& t) {
    return t.defined() && t.dim() == 3 && t.numel() > 0 && t.is_floating_point();
  };
  if (!valid(real_hidden) || !valid(fake_hidden) || real_hidden.size(2) != fake_hidden.size(2))
    throw Error(
        "crnngan_feature_matching_loss: real and generated features must be non-empty float (B, T, K) with "
        "the same K, got " +
        describe(real_hidden) + " and " + describe(fake_hidden));
  const std::vector<int64_t> rows_and_steps{0, 1};
  const torch::Tensor real_mean = real_hidden.mean(rows_and_steps),
                      fake_mean = fake_hidden.mean(rows_and_steps);  // (K)
  return (real_mean - fake_mean).pow(2).mean();
}

}  // namespace cadenza::models
