// Transformer-NADE: the decoder-only Transformer of transformer.h over piano-roll frames, with the NADE head of
// nade.h in place of its independent-Bernoulli output layer: position t's output conditions a NADE over the keys of
// frame t + 1 (within-frame dependencies that the plain frames Transformer cannot express). It joins two of the
// seed's families, the Transformer and the autoregressive density estimator of the RNN-NADE. Dimension letters:
// sequence_model.h (B, T, C, L) and nade.h (K keys, U NADE hidden units).
//
//   input      input_projection (Linear K -> C) + position_embedding (learned absolute positions, only when
//              relative_attention is false), dropout                                      (B, T, C)
//   blocks.i   the Transformer's own blocks (TransformerBlock: pre-LayerNorm, causal self-attention with Music
//              Transformer relative positions, MLP)                                      (B, T, C)
//   condition  ln_f(x)                                                                    (B, T, C)
//   output     nade: NADE over K keys with U hidden units conditioned on C                (B, T-1) log-probabilities
//
// Built by composition from the Transformer family: the constructor builds a TransformerModelImpl for the frames
// backbone config (so the Transformer's validation and GPT-2 initialisation apply unchanged) and adopts its
// input_projection, position_embedding, blocks and ln_f modules; its output `head` (C -> K logits) is dropped. What
// TransformerModelImpl does not expose, and is therefore written here: the hidden states before the head (its
// forward() returns logits), the input embedding (embed() is private) and the KV-cache allocation (reserve_cache() is
// private; the cache itself is the public TransformerDecodeState and each block's step() fills it).
//
// Parameter names are the Transformer's (so a frames Transformer's backbone weights load by name) plus the NADE's:
//   input_projection.{weight,bias}, position_embedding.weight (absolute only), blocks.i.ln_1.{weight,bias},
//   blocks.i.attention.qkv.{weight,bias}, blocks.i.attention.proj.{weight,bias}, blocks.i.attention.relative_keys
//   (relative only), blocks.i.ln_2.{weight,bias}, blocks.i.mlp.fc.{weight,bias}, blocks.i.mlp.proj.{weight,bias},
//   ln_f.{weight,bias}, nade.w_enc, nade.w_dec, nade.to_b_enc.{weight,bias}, nade.to_b_dec.{weight,bias}.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/options.h"
#include "models/nade.h"
#include "models/transformer.h"

namespace cadenza::models {

// Everything needed to rebuild a Transformer-NADE; stored in checkpoints as JSON (to_json()).
struct TransformerNadeConfig {
  int64_t vocab_size = 88;             // K: keys per frame
  int64_t hidden_size = 256;           // C
  int64_t num_layers = 4;              // L
  int64_t num_heads = 4;               // attention heads; must divide hidden_size
  int64_t feedforward_size = 0;        // MLP width; 0 = 4 * hidden_size
  int64_t max_sequence_length = 2048;  // absolute positions: the longest input; relative: the default distance range
  bool relative_attention = true;      // Music Transformer relative positions; false = learned absolute positions
  int64_t max_relative_distance = 0;   // 0 = max_sequence_length
  int64_t nade_hidden = 128;           // U
  double dropout = 0.0;                // the Transformer's dropouts (input, attention, residual); training only

  nlohmann::json to_json() const;  // includes "family": "transformer_nade"
  // Absent keys take the defaults; "family", if present, must be "transformer_nade". Throws cadenza::Error naming
  // the key on an unknown key, a wrong type or a bad value (validate()).
  static TransformerNadeConfig from_json(const nlohmann::json& json);
  // Throws cadenza::Error naming the field and the value.
  void validate() const;
  // The frames Transformer (family "transformer", input_kind frames) whose backbone this model adopts.
  ModelConfig backbone_config() const;
};

const OptionFields<TransformerNadeConfig>& transformer_nade_config_fields();

class TransformerNadeImpl : public NadeSequenceModelImpl {
 public:
  // Throws cadenza::Error on a bad config (TransformerNadeConfig::validate).
  explicit TransformerNadeImpl(TransformerNadeConfig config);
  const TransformerNadeConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }

  // frames (B, T, K) -> (B, T, C). With absolute positions T <= max_sequence_length (cadenza::Error beyond).
  torch::Tensor conditions(const torch::Tensor& frames) override;

  // An empty KV cache (a TransformerDecodeState) for B sequences.
  std::unique_ptr<DecodeState> initial_state(int64_t batch_size) override;
  // frame_t (B, K) -> (B, C); appends the frame's keys and values to `state` (a TransformerDecodeState). No autograd.
  torch::Tensor step(const torch::Tensor& frame_t, DecodeState& state) override;

  torch::nn::Linear input_projection{nullptr};       // K -> C
  torch::nn::Embedding position_embedding{nullptr};  // absolute positions only: (max_sequence_length, C)
  torch::nn::ModuleList blocks{nullptr};             // L TransformerBlocks
  torch::nn::LayerNorm ln_f{nullptr};

 private:
  torch::Tensor embed(const torch::Tensor& frames, int64_t first_position);  // (B, T, K) -> (B, T, C), or one step
  void reserve_cache(TransformerDecodeState& state, int64_t length) const;

  TransformerNadeConfig config_;
  std::vector<std::shared_ptr<TransformerBlockImpl>> block_list_;  // the modules of `blocks`, typed
};
TORCH_MODULE(TransformerNade);

}  // namespace cadenza::models
