// A MusicVAE-style variational autoencoder over token sequences or piano-roll frames (Roberts et al. 2018, "A
// Hierarchical Latent Vector Model for Learning Long-Term Structure in Music"). Dimension letters: the legend in
// sequence_model.h (V = tokens, or keys per frame), plus
//   E input embedding width, Z latent size, He / Hd / Hc encoder / decoder / conductor hidden sizes,
//   Le / Ld / Lc their layer counts, K segments (bars) of the hierarchical decoder, S = T / K steps per segment.
//
// Two input kinds (config.input_kind), as for the autoregressive families:
//   tokens     (B, T) int64 in [0, V): input layer `embedding` (V, E); softmax over V; a melody (2 or 16 bars).
//   frames     (B, T, V) {0, 1} float, V = tracks x pitches keys (a multi-track piano roll, track-major within a
//              frame): input layer `input_projection` Linear V -> E; an independent Bernoulli (sigmoid) per key.
//              This is the multi-track segment model (melody + chords, or four voices, over 4 bars).
// Below, "embedding(x)" is whichever input layer the kind has.
//
//   encoder    x -> embedding (B, T, E) -> bidirectional LSTM `encoder` (Le layers, He per direction);
//              the last layer's final forward and backward h, concatenated (B, 2He) -> Linear `to_latent`
//              -> (B, 2Z) = [mu | logvar]
//   latent     z = mu + exp(logvar / 2) * epsilon, epsilon ~ N(0, I)
//   flat       decoder_init: tanh(Linear Z -> 2 Ld Hd) = the LSTM's initial state, laid out
//   decoder    [h_0, ..., h_{Ld-1}, c_0, ..., c_{Ld-1}] (each Hd wide);
//              LSTM `decoder` (Ld layers) with input [embedding(previous token), z] (B, T, E + Z); `head` Hd -> V
//   hierarchical  conductor_init: tanh(Linear Z -> 2 Lc Hc) = the conductor's initial state (same layout);
//   decoder    LSTM `conductor` (Lc layers) runs K steps, each fed z; its top-layer output at step k is segment k's
//              embedding e_k (B, Hc). For every segment, decoder_init: tanh(Linear Hc -> 2 Ld Hd) of e_k is the
//              initial state of the bottom LSTM `decoder`, which reads [embedding(previous token), e_k]
//              (B, S, E + Hc) over the segment's S steps; `head` Hd -> V.
//
// Teacher forcing: logits[:, t] predict step t (not t + 1 as in the autoregressive families) from the previous
// step's token or frame. The previous token of t = 0 is a zero vector in place of its embedding (no start
// id is reserved in the vocabulary). The previous-token stream runs across segment boundaries: the first step of
// segment k > 0 reads the last token of segment k - 1, in training and in sampling alike.
//
// Dropout (config.dropout) acts between stacked LSTM layers (torch's own), in training only.
//
// Parameter names equal the PyTorch attribute names of tests/fixtures/make_vae_fixtures.py, so weights load by name:
//   embedding.weight (tokens) or input_projection.{weight,bias} (frames);
//   encoder.{weight_ih,weight_hh,bias_ih,bias_hh}_l{i}[_reverse], to_latent.{weight,bias};
//   hierarchical only: conductor_init.{weight,bias}, conductor.{...}_l{i};
//   decoder_init.{weight,bias}, decoder.{...}_l{i}, head.{weight,bias}.
//
// Two decoding paths that must agree (tests hold them to 1e-5): decode_teacher_forced() runs torch's fused LSTM
// modules over whole sequences (segments batched together); decode_step() spells out the gate equations one step at
// a time on the same weights, and is what sample_tokens() uses.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "models/vae_config.h"

namespace cadenza::models {

struct VaeOutput {
  torch::Tensor logits;  // (B, T, V); logits[:, t] predict tokens[:, t]
  torch::Tensor mu;      // (B, Z)
  torch::Tensor logvar;  // (B, Z)
  torch::Tensor z;       // (B, Z), the latent the decoder read
};

// The step-by-step decoding state of a batch of B latents (made by MusicVaeImpl::initial_decode_state).
struct VaeDecodeState {
  torch::Tensor z;                         // (B, Z)
  int64_t length = 0;                      // T: steps this state decodes
  int64_t position = 0;                    // the next step to decode, in [0, length]
  std::vector<torch::Tensor> h, c;         // the (bottom) decoder, Ld x (B, Hd)
  std::vector<torch::Tensor> conductor_h;  // hierarchical: Lc x (B, Hc)
  std::vector<torch::Tensor> conductor_c;  // hierarchical: Lc x (B, Hc)
  torch::Tensor segment_embedding;         // hierarchical: e_k (B, Hc) of the current segment
};

// The MusicVAE loss terms, MusicVAE's way: per sequence, reconstruction = the negative log-likelihood summed over its
// T steps (tokens: softmax cross-entropy; frames: binary cross-entropy summed over the V keys) and kl = KL(q(z|x) ||
// N(0, I)) summed over Z; loss = mean_B(reconstruction) + beta * mean_B(kl_cost) with the free-bits hinge kl_cost =
// max(kl - free_bits * ln 2, 0).
struct VaeLoss {
  torch::Tensor loss;            // () the training objective (negative ELBO with beta and free bits)
  torch::Tensor reconstruction;  // () nats per sequence: summed over T (and keys), averaged over B
  torch::Tensor kl;              // () nats per sequence, averaged over B (without free bits)
  torch::Tensor kl_bits;         // () the same in bits
  torch::Tensor kl_cost;         // () mean_B of the free-bits hinge, the term beta multiplies
};

// logits (B, T, V); targets (B, T) int64 tokens or (B, T, V) float frames in {0, 1}; mu and logvar (B, Z). Throws
// cadenza::Error on mismatched shapes, frames that are not 0/1, or a negative beta / free_bits.
VaeLoss elbo_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& mu,
                  const torch::Tensor& logvar, double beta, double free_bits);

// Fraction of steps the logits get exactly right: tokens (B, T) int64, the argmax is the target; frames (B, T, V),
// every key's (logit > 0) equals the target key. logits (B, T, V) -> () in [0, 1].
torch::Tensor step_accuracy(const torch::Tensor& logits, const torch::Tensor& targets);

class MusicVaeImpl : public torch::nn::Module {
 public:
  // Throws cadenza::Error on a bad config (VaeConfig::validate).
  explicit MusicVaeImpl(VaeConfig config);
  const VaeConfig& config() const { return config_; }

  // x: tokens (B, T) int64 in [0, V), or frames (B, T, V) float in {0, 1} -> (mu (B, Z), logvar (B, Z)).
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x);
  // mu + exp(logvar / 2) * epsilon; epsilon (B, Z), or undefined to draw it from N(0, I) with torch's generator.
  torch::Tensor reparameterize(const torch::Tensor& mu, const torch::Tensor& logvar,
                               const torch::Tensor& epsilon = torch::Tensor()) const;
  // z (B, Z), x (tokens or frames, as encode) -> logits (B, T, V) with teacher forcing (see the header comment).
  // Hierarchical: T must be a multiple of num_segments.
  torch::Tensor decode_teacher_forced(const torch::Tensor& z, const torch::Tensor& x);
  // encode, reparameterize (epsilon as above; pass zeros to decode from the mean), decode_teacher_forced.
  VaeOutput forward(const torch::Tensor& x, const torch::Tensor& epsilon = torch::Tensor());

  // A state that decodes `length` steps from z (B, Z) (hierarchical: length a multiple of num_segments).
  VaeDecodeState initial_decode_state(const torch::Tensor& z, int64_t length);
  // The logits (B, V) of step state.position, given the step before: previous (B) int64 tokens or (B, V) frames,
  // which must be undefined at position 0 (the start input is a zero vector). Advances the state. Inference only: no
  // dropout and no autograd. Feeding the true steps reproduces decode_teacher_forced().
  torch::Tensor decode_step(const torch::Tensor& previous, VaeDecodeState& state);

  // Decodes each z (B, Z) into `length` steps, one at a time: `choose` maps the step's logits (B, V) (float64, on the
  // CPU) to the step's output, tokens (B) int64 or frames (B, V) float {0, 1}, which is fed back as the next step's
  // input. Returns tokens (B, length) or frames (B, length, V) on z's device. Inference only (no autograd).
  // Generation draws with src/generate/sampling.h in its chooser; decode_greedy() takes the most likely step.
  using StepChooser = std::function<torch::Tensor(const torch::Tensor& logits, int64_t step)>;
  torch::Tensor decode(const torch::Tensor& z, int64_t length, const StepChooser& choose);
  // decode() with the argmax token, or the keys whose logit is > 0: MusicVAE's "sampled" reconstruction.
  torch::Tensor decode_greedy(const torch::Tensor& z, int64_t length);

  torch::nn::Embedding embedding{nullptr};      // tokens: (V, E), shared by encoder and decoder
  torch::nn::Linear input_projection{nullptr};  // frames: V -> E, shared by encoder and decoder
  torch::nn::LSTM encoder{nullptr};             // bidirectional, E -> He per direction
  torch::nn::Linear to_latent{nullptr};         // 2He -> 2Z
  torch::nn::Linear conductor_init{nullptr};    // hierarchical: Z -> 2 Lc Hc
  torch::nn::LSTM conductor{nullptr};           // hierarchical: Z -> Hc
  torch::nn::Linear decoder_init{nullptr};      // Z (flat) or Hc (hierarchical) -> 2 Ld Hd
  torch::nn::LSTM decoder{nullptr};             // E + Z (flat) or E + Hc (hierarchical) -> Hd
  torch::nn::Linear head{nullptr};              // Hd -> V

 private:
  struct LstmLayerWeights {
    torch::Tensor weight_ih, weight_hh, bias_ih, bias_hh;  // PyTorch layout, gates (i, f, g, o)
  };

  // Tokens (B, T) int64 in range, or frames (B, T, V) of 0/1, by the input kind; cadenza::Error otherwise.
  void check_input(const torch::Tensor& x, const char* who) const;
  void check_latent(const torch::Tensor& z, const char* who) const;
  torch::Tensor embed(const torch::Tensor& x);  // tokens (B, T) or frames (B, T, V) -> (B, T, E)
  // The previous-step inputs (B, T, E): zeros at t = 0, embed(x[:, t - 1]) after.
  torch::Tensor previous_step_inputs(const torch::Tensor& x);
  // One step of a stacked LSTM, gate equations written out; updates h and c, returns the top layer's h.
  static torch::Tensor lstm_step(const std::vector<LstmLayerWeights>& layers, torch::Tensor x,
                                 std::vector<torch::Tensor>& h, std::vector<torch::Tensor>& c);

  VaeConfig config_;
  std::vector<LstmLayerWeights> decoder_weights_;    // Ld entries, sharing storage with `decoder`
  std::vector<LstmLayerWeights> conductor_weights_;  // Lc entries (hierarchical)
};
TORCH_MODULE(MusicVae);

// Interpolation between latents a and b ((Z) or (B, Z), same shape) at t (0 gives a, 1 gives b; other t
// extrapolate). slerp follows the great circle between the directions of a and b (MusicVAE's choice, as the prior's
// mass lies near a sphere); where a and b are nearly parallel or antiparallel (|cos| > 1 - 1e-6, per row) the angle
// is ill-defined and it falls back to lerp.
torch::Tensor lerp(const torch::Tensor& a, const torch::Tensor& b, double t);
torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t);
// `steps` latents evenly spaced from a to b inclusive, a and b of shape (Z): (steps, Z). steps >= 2.
torch::Tensor latent_path(const torch::Tensor& a, const torch::Tensor& b, int64_t steps, bool spherical);

}  // namespace cadenza::models
