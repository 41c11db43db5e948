// The recurrent families: rnn (Elman, tanh), lstm and gru. Dimension letters: see the legend in sequence_model.h
// (E is the input-layer width, embedding_size, or C when that is 0).
//
//   input      embedding (tokens, Embedding V -> E) or input_projection (frames, Linear V -> E)
//   backbone   residual false: `rnn`, one torch RNN/LSTM/GRU module of L layers (batch_first), dropout between
//                              layers (the module's own);
//              residual true:  `layers.i`, one single-layer module per layer; layer i's output is
//                              y_i = rnn_i(x_i) + x_i when the widths match (always for i > 0; for i = 0 only when
//                              E == C), and x_{i+1} = dropout(y_i)
//   attention  attention_length K > 0 only (Magenta's attention_rnn, additive attention as Bahdanau et al.): with
//              o_t = y_{L-1} at step t and the window o_{t-K} .. o_{t-1} (zero vectors before the sequence start,
//              as Magenta's zero-initialised attention states; carried across forward() calls in the state),
//                s_{t,j} = attention_score(tanh(attention_key(o_j) + attention_query(o_t))),
//                a_t = softmax_j(s_{t,j}),   o'_t = o_t + sum_j a_{t,j} o_j
//   output     head(dropout(o'_t))  -> (B, T, V) logits
//
// Parameter names equal the PyTorch attribute names of tests/fixtures/make_model_fixtures.py, so weights trained in
// either load in the other by name: embedding.weight | input_projection.{weight,bias},
// rnn.{weight_ih,weight_hh,bias_ih,bias_hh}_l{i} (residual: layers.{i}.{weight_ih,weight_hh,bias_ih,bias_hh}_l0),
// attention_key.weight (C, C), attention_query.{weight (C, C), bias (C)}, attention_score.weight (1, C) (attention
// only), head.{weight,bias}. Gate order in the weights is PyTorch's: LSTM (i, f, g, o), GRU (r, z, n).
//
// step() does not call the torch modules: it spells out the gate equations on the same weight tensors, with
// matrix-vector products (addmv) at batch size 1 (a one-row sgemm is several times slower). It is therefore also
// the independent reference that the tests hold forward() to.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "models/sequence_model.h"

namespace cadenza::models {

enum class RecurrentFamily { kRnn, kLstm, kGru };

// "rnn" | "lstm" | "gru"; throws cadenza::Error for anything else.
RecurrentFamily parse_recurrent_family(const std::string& family);

// The recurrent state of a batch of B sequences: per layer h (B, C), and for LSTM also c (B, C).
struct RecurrentDecodeState : DecodeState {
  std::vector<torch::Tensor> h;  // L x (B, C)
  std::vector<torch::Tensor> c;  // L x (B, C); empty unless lstm
  torch::Tensor past;            // attention only: (B, K, C) the last K top-layer outputs, oldest first

  // Cuts the autograd history (truncated backpropagation through time between training chunks).
  void detach();
  // Keeps batch rows `rows` of every h and c (see DecodeState::select_rows).
  void select_rows(const torch::Tensor& rows) override;
};

class RecurrentModelImpl : public SequenceModelImpl {
 public:
  // Throws cadenza::Error on a config this family cannot build (see make_recurrent_model in factories.h).
  explicit RecurrentModelImpl(ModelConfig config);

  // input (B, T) int64 tokens or (B, T, V) float frames -> (B, T, V) logits, from a zero state.
  using SequenceModelImpl::forward;
  using SequenceModelImpl::step;
  torch::Tensor forward(const torch::Tensor& input, const torch::Tensor& context) override;
  // The same, starting from `state` (B must match) and leaving the final state in it: for training on long
  // sequences in chunks (call state.detach() between chunks) and for priming generation with a whole prefix.
  torch::Tensor forward(const torch::Tensor& input, RecurrentDecodeState& state);

  // Zeros, on the parameters' device and dtype.
  std::unique_ptr<DecodeState> initial_state(int64_t batch_size) override;
  // input_t (B) int64 tokens or (B, V) float frames -> (B, V) logits; advances `state` (a RecurrentDecodeState).
  // Always inference: no dropout, no autograd (runs under NoGradGuard).
  torch::Tensor step(const torch::Tensor& input_t, DecodeState& state, const torch::Tensor& context_t) override;

  RecurrentFamily family() const { return family_; }
  int64_t input_size() const { return input_size_; }  // E

  torch::nn::Embedding embedding{nullptr};      // kTokens: (V, E)
  torch::nn::Linear input_projection{nullptr};  // kFrames: V -> E
  torch::nn::ModuleList layers{nullptr};        // residual only: L single-layer modules
  torch::nn::Linear attention_key{nullptr};     // attention only: C -> C, no bias
  torch::nn::Linear attention_query{nullptr};   // attention only: C -> C
  torch::nn::Linear attention_score{nullptr};   // attention only: C -> 1, no bias
  torch::nn::Linear head{nullptr};              // C -> V

 private:
  // One layer's weights, shared with the torch module that owns them (PyTorch layout, G = 1, 4 or 3 gates).
  struct LayerWeights {
    torch::Tensor weight_ih;  // (G*C, in)
    torch::Tensor weight_hh;  // (G*C, C)
    torch::Tensor bias_ih;    // (G*C)
    torch::Tensor bias_hh;    // (G*C)
  };

  std::shared_ptr<torch::nn::Module> make_stack(int64_t input_size, int64_t num_layers, double dropout) const;
  // Runs one torch module over (B, T, in) from h0/c0 (layers, B, C); returns (B, T, C) and sets h0/c0 to the final
  // state.
  torch::Tensor run_stack(torch::nn::Module& stack, const torch::Tensor& x, torch::Tensor& h0, torch::Tensor& c0);
  // input already checked
  torch::Tensor forward_checked(const torch::Tensor& input, const torch::Tensor& context, RecurrentDecodeState& state);
  torch::Tensor embed(const torch::Tensor& input, bool one_step);  // (B, T, E) or, one step, (B, E)
  void check_input(const torch::Tensor& input, bool one_step) const;
  bool layer_has_residual(size_t layer) const;
  // Whole sequence: outputs (B, T, C) -> outputs plus their attention over the window (B, T, C); state.past
  // (B, K, C) is the window before the first step, and becomes the last K outputs.
  torch::Tensor attend_sequence(const torch::Tensor& outputs, RecurrentDecodeState& state);
  // One step: output (B, C) -> (B, C), written out on the same weights; advances state.past.
  torch::Tensor attend_step(const torch::Tensor& output, RecurrentDecodeState& state);

  RecurrentFamily family_;
  int64_t input_size_;
  std::vector<std::shared_ptr<torch::nn::Module>> stacks_;  // `rnn` (one entry), or the modules of `layers`
  std::vector<LayerWeights> layer_weights_;                 // L entries, for step()
};
TORCH_MODULE(RecurrentModel);

}  // namespace cadenza::models
