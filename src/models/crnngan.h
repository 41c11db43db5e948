// A recurrent GAN for melodies in the spirit of C-RNN-GAN (Mogren 2016): an LSTM generator emits one note event per
// step from random input, a bidirectional LSTM discriminator judges every step. Dimension letters: see
// sequence_model.h (B batch, T steps = note events, C hidden width, L layers); Z the noise width per step, F = 3.
//
// Note events are CONTINUOUS features, as in C-RNN-GAN, not a softmax over tokens: sampling a token is not
// differentiable, so the discriminator's gradient would not reach the generator without Gumbel-softmax or
// REINFORCE. Features (B, T, 3) per event:
//   0 pitch       in [-1, 1], mapped linearly onto MIDI pitches [min_pitch, max_pitch] (rounded when decoding)
//   1 duration    in beats (quarter notes), >= 0
//   2 time_shift  in beats from the previous event's onset (the first event: from the start), >= 0; 0 = a chord
//                 note, more than the previous duration = a rest before the note
// The generator's head ends in tanh for the pitch and softplus for the two times, so its output is always valid.
// events_to_features() / features_to_events() convert from and to MelodyEvent.
//
//   generator      step t: x_t = [noise_t (Z), previous output (F; zeros at t = 0)]   (C-RNN-GAN's feedback)
//                  rnn (LSTM Z+F -> C, L layers) -> head (Linear C -> F) -> tanh | softplus | softplus
//   discriminator  rnn (bidirectional LSTM F -> C, L layers) -> features (B, T, 2C) -> head (Linear 2C -> 1)
//                  -> (B, T) logits, one per step
//
// Losses (the standard GAN objective averaged over steps, as C-RNN-GAN averages its per-step decisions):
//   discriminator: mean BCE(real logits, 1) + mean BCE(fake logits, 0)
//   generator:     mean BCE(fake logits, 1)   (the non-saturating form)
//                  + feature_matching * mean_k (mean_{B,T} real features_k - mean_{B,T} fake features_k)^2
//                    (config feature_matching > 0; the real features carry no gradient)
//
// Parameter names equal the PyTorch attribute names of tests/fixtures/make_gan_fixtures.py (CrnnGan there):
// generator.rnn.{weight_ih,weight_hh,bias_ih,bias_hh}_l{i}, generator.head.{weight,bias},
// discriminator.rnn.*_l{i} and *_l{i}_reverse, discriminator.head.{weight,bias}.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "models/crnngan_config.h"

namespace cadenza::models {

inline constexpr int64_t kCrnnGanFeatures = 3;  // F: pitch, duration, time_shift

// events (T >= 1) -> (T, 3) float features. Throws cadenza::Error naming the event for a pitch outside
// [min_pitch, max_pitch] or a negative / non-finite time.
torch::Tensor events_to_features(const std::vector<MelodyEvent>& events, const CrnnGanConfig& config);
// (T, 3) features -> T events: pitch rounded to the nearest MIDI pitch and clamped to the range, times clamped to
// >= 0. Throws cadenza::Error on another shape.
std::vector<MelodyEvent> features_to_events(const torch::Tensor& features, const CrnnGanConfig& config);

// (B, T, Z) noise: sample_truncated_normal (musegan.h) with the given truncation (0 = plain normal).
torch::Tensor sample_crnngan_noise(const CrnnGanConfig& config, int64_t batch_size, int64_t num_events,
                                   double truncation = 0.0, const torch::TensorOptions& options = torch::kFloat);

class CrnnGeneratorImpl : public torch::nn::Module {
 public:
  explicit CrnnGeneratorImpl(CrnnGanConfig config);  // throws cadenza::Error on a bad config
  // noise (B, T, Z) -> features (B, T, 3), one step at a time (each step sees its previous output).
  torch::Tensor forward(const torch::Tensor& noise);
  const CrnnGanConfig& config() const { return config_; }

  torch::nn::LSTM rnn{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  CrnnGanConfig config_;
};
TORCH_MODULE(CrnnGenerator);

class CrnnDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit CrnnDiscriminatorImpl(CrnnGanConfig config);  // throws cadenza::Error on a bad config
  // features (B, T, 3) -> (B, T) logits (real = high). Throws cadenza::Error on another shape.
  torch::Tensor forward(const torch::Tensor& features);
  // features (B, T, 3) -> the last layer's outputs, both directions, (B, T, 2C): what forward() reads its logits
  // from, and what feature matching compares. Throws cadenza::Error on another shape.
  torch::Tensor hidden_features(const torch::Tensor& features);
  // (B, T, 2C) from hidden_features() -> (B, T) logits.
  torch::Tensor logits(const torch::Tensor& hidden);
  const CrnnGanConfig& config() const { return config_; }

  torch::nn::LSTM rnn{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  CrnnGanConfig config_;
};
TORCH_MODULE(CrnnDiscriminator);

// The pair, as saved in a checkpoint: names "generator.*" and "discriminator.*".
class CrnnGanImpl : public torch::nn::Module {
 public:
  explicit CrnnGanImpl(CrnnGanConfig config);
  const CrnnGanConfig& config() const { return config_; }

  CrnnGenerator generator{nullptr};
  CrnnDiscriminator discriminator{nullptr};

 private:
  CrnnGanConfig config_;
};
TORCH_MODULE(CrnnGan);

// mean BCE(real_logits, 1) + mean BCE(fake_logits, 0); logits of any (equal or not) non-empty shapes.
torch::Tensor crnngan_discriminator_loss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits);
// mean BCE(fake_logits, 1).
torch::Tensor crnngan_generator_loss(const torch::Tensor& fake_logits);
// Feature matching: the mean over k of (mean over rows and steps of real_hidden[..., k] - the same of fake_hidden)^2,
// for discriminator features (B, T, K) and (B', T', K) (batches and lengths may differ; K must agree). Throws
// cadenza::Error naming both shapes otherwise.
torch::Tensor crnngan_feature_matching_loss(const torch::Tensor& real_hidden, const torch::Tensor& fake_hidden);

}  // namespace cadenza::models
