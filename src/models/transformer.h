// The decoder-only Transformer family (GPT-2 layout, pre-LayerNorm) with Music Transformer relative attention and a
// KV cache for step-by-step generation. Dimension letters: see the legend in sequence_model.h.
//
//   input      embedding (tokens, V -> C) or input_projection (frames, Linear V -> C)
//              + position_embedding (learned absolute positions, only when relative_attention is false), dropout
//   blocks.i   x = x + dropout(attention.proj(causal_self_attention(ln_1(x))))       i = 0..L-1
//              x = x + dropout(mlp.proj(gelu(mlp.fc(ln_2(x)))))
//   output     head(ln_f(x))  -> (B, T, V) logits
//
// Attention: scores = (q.k + S_rel) / sqrt(D) with the relative logits S_rel of relative_attention.h (per-head keys
// attention.relative_keys (H, M, D), M = max_relative_distance, distances >= M clip to the farthest), a causal mask,
// softmax and dropout on the attention weights. With relative_attention false S_rel is absent and position_embedding
// (max_sequence_length, C) is added to the input instead.
//
// Parameter names (they match tests/fixtures/make_transformer_fixtures.py, so PyTorch weights load by name):
//   embedding.weight | input_projection.{weight,bias}, position_embedding.weight,
//   blocks.i.ln_1.{weight,bias}, blocks.i.attention.qkv.{weight,bias}, blocks.i.attention.proj.{weight,bias},
//   blocks.i.attention.relative_keys, blocks.i.ln_2.{weight,bias}, blocks.i.mlp.fc.{weight,bias},
//   blocks.i.mlp.proj.{weight,bias}, ln_f.{weight,bias}, head.{weight,bias}.
//   The qkv output is [q; k; v], each C wide, heads contiguous within each (head h = columns h*D .. h*D+D-1).
//
// Sequence length: with learned absolute positions forward() and step() accept at most max_sequence_length steps
// (cadenza::Error beyond). With relative attention any length runs; the KV cache grows by doubling.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "models/sequence_model.h"

namespace cadenza::models {

// The KV cache of one batch of sequences: per layer the keys and values of every position decoded so far.
struct TransformerDecodeState : DecodeState {
  int64_t batch_size = 0;
  int64_t length = 0;                 // positions decoded so far (the next step is position `length`)
  std::vector<torch::Tensor> keys;    // per layer (B, H, capacity, D); positions [0, length) are valid
  std::vector<torch::Tensor> values;  // per layer (B, H, capacity, D)

  // Keeps batch rows `rows` of every cache tensor (see DecodeState::select_rows); length and capacity are unchanged,
  // batch_size becomes rows.size(0). Before the first step (no cache yet) only batch_size changes.
  void select_rows(const torch::Tensor& rows) override;
};

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t model_size, int64_t feedforward_size);
  torch::nn::Linear fc{nullptr}, proj{nullptr};
};
TORCH_MODULE(Mlp);

class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  // max_relative_distance 0 = absolute positions (no relative_keys parameter).
  CausalSelfAttentionImpl(int64_t model_size, int64_t num_heads, int64_t max_relative_distance, double dropout);

  // x: (B, T, C) -> (B, T, C), before the output projection's residual dropout.
  torch::Tensor forward(const torch::Tensor& x);

  // One position for every sequence in the batch: x (B, C) is the normalised input at position `position`;
  // its key and value are written into keys/values (B, H, capacity, D) at that position. Returns (B, C).
  torch::Tensor step(const torch::Tensor& x, torch::Tensor& keys, torch::Tensor& values, int64_t position,
                     bool matrix_vector);

  int64_t num_heads() const { return num_heads_; }
  int64_t head_size() const { return head_size_; }

  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  torch::Tensor relative_keys;  // (H, M, D); undefined with absolute positions

 private:
  int64_t num_heads_;
  int64_t head_size_;
  double dropout_;
};
TORCH_MODULE(CausalSelfAttention);

class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(const ModelConfig& config, int64_t max_relative_distance);
  torch::Tensor forward(const torch::Tensor& x);  // (B, T, C) -> (B, T, C)
  torch::Tensor step(const torch::Tensor& x, torch::Tensor& keys, torch::Tensor& values, int64_t position,
                     bool matrix_vector);  // (B, C) -> (B, C)

  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  CausalSelfAttention attention{nullptr};
  Mlp mlp{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(TransformerBlock);

class TransformerModelImpl : public SequenceModelImpl {
 public:
  // Throws cadenza::Error on a config the family cannot build (see make_transformer_model).
  explicit TransformerModelImpl(ModelConfig config);

  using SequenceModelImpl::forward;
  using SequenceModelImpl::step;
  torch::Tensor forward(const torch::Tensor& input, const torch::Tensor& context) override;
  std::unique_ptr<DecodeState> initial_state(int64_t batch_size) override;
  torch::Tensor step(const torch::Tensor& input_t, DecodeState& state, const torch::Tensor& context_t) override;

  // At batch size 1, step() computes every projection of the single position (qkv, proj, mlp, head, and the frame
  // input) as a matrix-vector product, torch::addmv (sgemv), instead of a one-row Linear (sgemm), which some BLAS
  // builds run several times slower. With Debian's libtorch 1.13 on OpenBLAS the two measure the same within noise
  // (C=256, L=4, 1 thread: ~1.1 ms per token either way), so this is a guard for other builds. Off = the plain Linear
  // path, the readable reference; both are tested against forward().
  void set_matrix_vector_step(bool enabled) { matrix_vector_step_ = enabled; }
  bool matrix_vector_step() const { return matrix_vector_step_; }

  torch::nn::Embedding embedding{nullptr};           // kTokens: (V, C)
  torch::nn::Linear input_projection{nullptr};       // kFrames: V -> C
  torch::nn::Embedding position_embedding{nullptr};  // absolute positions only: (max_sequence_length, C)
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm ln_f{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  // + the step context's embeddings (when the model reads one), before the input dropout.
  torch::Tensor embed(const torch::Tensor& input, int64_t first_position, bool matrix_vector,
                      const torch::Tensor& context = torch::Tensor());
  void check_input(const torch::Tensor& input, bool one_step) const;
  void reserve_cache(TransformerDecodeState& state, int64_t length) const;

  std::vector<TransformerBlock> block_list_;  // the same modules as `blocks`, typed
  bool matrix_vector_step_ = true;
};

}  // namespace cadenza::models
