// RNN-NADE (Boulanger-Lewandowski et al. 2012; Magenta's pianoroll_rnn_nade): a recurrent network over piano-roll
// frames whose output at frame t conditions a NADE (nade.h) over the keys of frame t + 1, so that the model defines
// the exact likelihood p(frames 1..T-1 | frame 0) = prod_t p(frame t | frames < t), each frame autoregressive over its
// keys. Dimension letters: the legend of nade.h (K keys, U NADE hidden units) and sequence_model.h (B, T, C, L), plus
// E the input-layer width (embedding_size, or C when that is 0).
//
//   input      input_projection: Linear K -> E of the {0, 1} frame                       (B, T, E)
//   backbone   `rnn`: one torch LSTM | GRU | RNN (tanh) module of L layers, batch_first, C wide, dropout between
//              layers (the module's own)                                                  (B, T, C)
//   condition  dropout(y_t) (training only): the condition of frame t + 1                (B, T, C)
//   output     nade: NADE over K keys with U hidden units conditioned on C                (B, T-1) log-probabilities
//
// Parameter names (the PyTorch attribute names of tests/fixtures/make_nade_fixtures.py): input_projection.{weight,
// bias}, rnn.{weight_ih,weight_hh,bias_ih,bias_hh}_l{i}, nade.w_enc, nade.w_dec, nade.to_b_enc.{weight,bias},
// nade.to_b_dec.{weight,bias}. Gate order is PyTorch's: LSTM (i, f, g, o), GRU (r, z, n).
//
// step() runs the same torch module on a one-frame sequence from the carried state, so step decoding reproduces
// conditions() exactly (tests: 1e-5); the recurrent family's gate-by-gate step (recurrent.h) is not needed here,
// where each generated frame costs K NADE steps anyway.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/options.h"
#include "models/nade.h"
#include "models/recurrent.h"  // RecurrentFamily, RecurrentDecodeState

namespace cadenza::models {

// Everything needed to rebuild an RNN-NADE; stored in checkpoints as JSON (to_json()).
struct RnnNadeConfig {
  RecurrentFamily cell = RecurrentFamily::kLstm;  // "lstm" | "gru" | "rnn" in JSON
  int64_t vocab_size = 88;                        // K: keys per frame
  int64_t embedding_size = 0;                     // E: input_projection width; 0 = hidden_size
  int64_t hidden_size = 256;                      // C
  int64_t num_layers = 2;                         // L
  int64_t nade_hidden = 128;                      // U
  double dropout = 0.0;                           // between recurrent layers and on the condition; training only

  nlohmann::json to_json() const;  // includes "family": "rnn_nade"
  // Absent keys take the defaults; "family", if present, must be "rnn_nade". Throws cadenza::Error naming the key on
  // an unknown key, a wrong type or a bad value (validate()).
  static RnnNadeConfig from_json(const nlohmann::json& json);
  // Throws cadenza::Error naming the field and the value.
  void validate() const;
};

const OptionFields<RnnNadeConfig>& rnn_nade_config_fields();

class RnnNadeImpl : public NadeSequenceModelImpl {
 public:
  // Throws cadenza::Error on a bad config (RnnNadeConfig::validate).
  explicit RnnNadeImpl(RnnNadeConfig config);
  const RnnNadeConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }

  // frames (B, T, K) -> (B, T, C) from a zero state (NadeSequenceModelImpl::conditions).
  torch::Tensor conditions(const torch::Tensor& frames) override;
  // The same, starting from `state` (B must match) and leaving the final state in it: for long pieces in chunks
  // (state.detach() between chunks for truncated backpropagation) and for priming generation with a whole prefix.
  // A chunk's first frame is then scored against the previous chunk's last condition (the caller keeps it).
  torch::Tensor conditions(const torch::Tensor& frames, RecurrentDecodeState& state);

  // Zeros (a RecurrentDecodeState: L x (B, C) h, and c for lstm), on the parameters' device and dtype.
  std::unique_ptr<DecodeState> initial_state(int64_t batch_size) override;
  // frame_t (B, K) -> (B, C); advances `state` (a RecurrentDecodeState). No autograd.
  torch::Tensor step(const torch::Tensor& frame_t, DecodeState& state) override;

  torch::nn::Linear input_projection{nullptr};  // K -> E

 private:
  // (B, T, E) through `rnn` from h/c (L, B, C) -> (B, T, C); h/c become the final state.
  torch::Tensor run_rnn(const torch::Tensor& x, torch::Tensor& h, torch::Tensor& c);
  void check_state(const RecurrentDecodeState& state, int64_t batch_size, const char* who) const;

  RnnNadeConfig config_;
  std::shared_ptr<torch::nn::Module> rnn_;  // registered as "rnn"
};
TORCH_MODULE(RnnNade);

}  // namespace cadenza::models
