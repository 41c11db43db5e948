// A NADE output head over the K binary keys of a piano-roll frame (Larochelle & Murray 2011, "The Neural
// Autoregressive Distribution Estimator"), conditioned per time step as in the RNN-NADE of Boulanger-Lewandowski et
// al. 2012 ("Modeling Temporal Dependencies in High-Dimensional Sequences") and Magenta's pianoroll_rnn_nade
// (magenta/common/nade.py), and the interface of the two hybrids built on it (rnn_nade.h, transformer_nade.h).
//
// Legend of dimension letters (besides those of sequence_model.h):
//   K keys per frame (the V of frame models; 88 for the piano), U NADE hidden units, C conditioning width (the
//   backbone's output width), N rows scored or sampled together (any leading dimensions flattened, e.g. B x T).
//
// The distribution of one frame v in {0, 1}^K given a condition x (C), key i = 0 .. K-1 in order:
//   b_enc = to_b_enc(x)  (U)        b_dec = to_b_dec(x)  (K)          two Linear layers (Magenta's external biases)
//   a_i   = b_enc + sum_{j < i} v_j w_enc[j]                  (U)     a_0 = b_enc
//   h_i   = sigmoid(a_i)                                       (U)
//   l_i   = b_dec[i] + w_dec[i] . h_i                                 the logit of p(v_i = 1 | v_<i, x)
//   log p(v | x) = sum_i [ v_i log sigmoid(l_i) + (1 - v_i) log sigmoid(-l_i) ]      exact, in nats
// so p(v | x) = prod_i p(v_i | v_<i, x) sums to 1 over the 2^K frames (tested for K <= 10).
//
// Parameter names (PyTorch attribute names of tests/fixtures/make_nade_fixtures.py): w_enc (K, U) (Magenta's w_enc,
// stored there as (K, 1, U); "V" in the paper), w_dec (K, U) (Magenta's w_dec_t stored as (K, U, 1); "W" in the
// paper), to_b_enc.{weight (U, C), bias (U)}, to_b_dec.{weight (K, C), bias (K)}. Initialisation as Magenta:
// w_enc and w_dec ~ N(0, 1/K) (Magenta truncates at 2 sigma; libtorch has no truncated normal), torch's default for
// the Linear layers. Unlike Magenta, the log-probabilities are log-sigmoids of the logits (exact and stable), not
// log(1e-6 + p).
//
// Teacher-forced scoring is vectorised over keys: every a_i at once is an exclusive cumulative sum over keys of
// v_j w_enc[j] ((N, K, U)), so log_prob() is a handful of elementwise passes over N x K x U numbers and no loop over
// keys; its backward pass is written by hand (nade.cpp). Sampling is ancestral, key by key (v_i must be drawn before
// a_{i+1} exists): K steps of (N, U) work.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>

#include "models/sequence_model.h"  // DecodeState

namespace cadenza::models {

class NadeImpl : public torch::nn::Module {
 public:
  // num_keys K, hidden_size U, condition_size C; each must be positive (cadenza::Error otherwise).
  NadeImpl(int64_t num_keys, int64_t hidden_size, int64_t condition_size);

  int64_t num_keys() const { return num_keys_; }              // K
  int64_t hidden_size() const { return hidden_size_; }        // U
  int64_t condition_size() const { return condition_size_; }  // C

  // condition (..., C) and frames (..., K) {0, 1} with the same leading dimensions -> (..., K): l_i, the logit of
  // p(v_i = 1 | v_<i, condition), for every key at once (teacher forcing). Throws cadenza::Error on mismatched shapes
  // or frames that are not 0/1.
  torch::Tensor key_logits(const torch::Tensor& condition, const torch::Tensor& frames);
  // The same arguments -> (...) log p(frames | condition) in nats, summed over the K keys. Differentiable.
  torch::Tensor log_prob(const torch::Tensor& condition, const torch::Tensor& frames);

  // Ancestral sampling of one frame per condition (N, C) -> (N, K) float {0, 1}, on the condition's device, key 0
  // first. Key i is on when u_i < sigmoid(l_i / temperature), with l_i computed from the keys already drawn, and
  // u = `uniforms` (N, K) in [0, 1) (any device); at temperature 0 key i is on when l_i > 0 (greedy per key given
  // the keys before it; not the joint argmax) and the uniforms are not read. Temperature 1 draws exactly from
  // p(v | x); temperature -> infinity tends to fair coins. Runs under NoGradGuard. Throws cadenza::Error on a
  // negative or non-finite temperature, bad shapes, or non-finite logits.
  torch::Tensor sample(const torch::Tensor& condition, double temperature, const torch::Tensor& uniforms);
  // The same with u drawn from `rng`: N x K uniforms in row-major order (row 0's keys 0..K-1, then row 1, ...), each
  // (rng() >> 11) * 2^-53 (portable: the same frames for a seed on every standard library); at temperature 0 rng is
  // not advanced.
  torch::Tensor sample(const torch::Tensor& condition, double temperature, std::mt19937_64& rng);

  torch::Tensor w_enc;                  // (K, U)
  torch::Tensor w_dec;                  // (K, U)
  torch::nn::Linear to_b_enc{nullptr};  // C -> U
  torch::nn::Linear to_b_dec{nullptr};  // C -> K

 private:
  void check_condition(const torch::Tensor& condition, const char* who) const;

  int64_t num_keys_;
  int64_t hidden_size_;
  int64_t condition_size_;
};
TORCH_MODULE(Nade);

// Mean negative log-likelihood per scored frame, the benchmark's unit (nats per frame, summed over the keys):
// log_probs (B, T-1) from NadeSequenceModelImpl::log_prob(), frame_mask (B, T) bool (true = a real frame) or
// undefined (all real). Frame t is scored where frame_mask[:, t] is true, t >= 1. Returns () = sum of -log p over the
// scored frames / their number (0 when there are none). Throws cadenza::Error on mismatched shapes.
torch::Tensor mean_frame_nll(const torch::Tensor& log_probs, const torch::Tensor& frame_mask = torch::Tensor());

// The interface of the NADE hybrids: a backbone over frames whose output at position t is the condition of the NADE
// of frame t + 1. Frame 0 is given (not scored), as in the polyphonic benchmark protocol.
//
// Two ways to run a model, which must agree (tests hold them to 1e-5 in float32):
//   conditions(frames)           whole sequences, for training and evaluation (log_prob);
//   step(frame_t, state)         one frame at a time with a recurrent state or a KV cache, for generation:
//                                  state = initial_state(B); condition = step(frame_0, *state);
//                                  frame_1 = sample_frame(condition, ...); condition = step(frame_1, *state); ...
class NadeSequenceModelImpl : public torch::nn::Module {
 public:
  // frames (B, T, K) {0, 1} -> (B, T, C): position t conditions frame t + 1 (the last one conditions the frame after
  // the input). Throws cadenza::Error on bad frames.
  virtual torch::Tensor conditions(const torch::Tensor& frames) = 0;
  // frames (B, T, K) {0, 1}, T >= 2 -> (B, T-1): log p(frame t | frames 0..t-1) in nats for t = 1 .. T-1.
  torch::Tensor log_prob(const torch::Tensor& frames);

  // A fresh decoding state (recurrent zeros, or an empty KV cache) for B sequences.
  virtual std::unique_ptr<DecodeState> initial_state(int64_t batch_size) = 0;
  // frame_t (B, K) {0, 1} -> (B, C), the condition of frame t + 1; advances the state. Inference: no autograd; call
  // eval() first for no dropout.
  virtual torch::Tensor step(const torch::Tensor& frame_t, DecodeState& state) = 0;

  // condition (N, C) -> (N, K) frames drawn from the NADE (NadeImpl::sample).
  torch::Tensor sample_frame(const torch::Tensor& condition, double temperature, std::mt19937_64& rng);
  // condition (N, C), frame (N, K) -> (N) log p(frame | condition): scores a frame against a step's condition.
  torch::Tensor frame_log_prob(const torch::Tensor& condition, const torch::Tensor& frame);

  // The config as stored in checkpoints, with "family".
  virtual nlohmann::json config_json() const = 0;
  int64_t num_keys() const { return nade->num_keys(); }

  Nade nade{nullptr};  // registered by the subclass, after its backbone (parameter order = PyTorch's)

 protected:
  // Throws cadenza::Error ("WHO: ...") unless frames is floating point or bool, (B, T, K) or, one_step, (B, K),
  // non-empty.
  void check_frames(const torch::Tensor& frames, bool one_step, const std::string& who) const;
};


}  // namespace cadenza::models
