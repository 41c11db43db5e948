// Transformer-NADE, read top to bottom: the config and its JSON, construction from a TransformerModelImpl's modules,
// the whole-sequence conditions, and step decoding with the KV cache.
#include "models/transformer_nade.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "common/options.h"

namespace cadenza::models {
namespace {

// Cache capacity of a fresh state; doubled whenever decoding runs past it (as the Transformer family does).
constexpr int64_t kInitialCacheCapacity = 64;

}  // namespace

// ---- config -------------------------------------------------------------------------------------------------

const OptionFields<TransformerNadeConfig>& transformer_nade_config_fields() {
  using C = TransformerNadeConfig;
  static const OptionFields<TransformerNadeConfig> fields =
      OptionFields<TransformerNadeConfig>("transformer_nade config")
          .tag("family", "transformer_nade")
          .integer("vocab_size", &C::vocab_size, 1, 4096)
          .integer("hidden_size", &C::hidden_size, 1, 16384)
          .integer("num_layers", &C::num_layers, 1, 128)
          .integer("num_heads", &C::num_heads, 1, 256)
          .integer("feedforward_size", &C::feedforward_size, 0, 65536)
          .integer("max_sequence_length", &C::max_sequence_length, 1, int64_t{1} << 20)
          .boolean("relative_attention", &C::relative_attention)
          .integer("max_relative_distance", &C::max_relative_distance, 0, int64_t{1} << 20)
          .integer("nade_hidden", &C::nade_hidden, 1, 16384)
          .number("dropout", &C::dropout, 0.0, 0.99);
  return fields;
}

void TransformerNadeConfig::validate() const {
  transformer_nade_config_fields().check(*this);
  if (hidden_size % num_heads != 0)
    throw Error("transformer_nade config: \"num_heads\" (" + std::to_string(num_heads) + ") must divide \"hidden_size\" (" +
                std::to_string(hidden_size) + ")");
  backbone_config().validate();  // the backbone's memory estimate
}

ModelConfig TransformerNadeConfig::backbone_config() const {
  ModelConfig backbone;
  backbone.family = "transformer";
  backbone.input_kind = InputKind::kFrames;
  backbone.vocab_size = vocab_size;
  backbone.embedding_size = 0;
  backbone.hidden_size = hidden_size;
  backbone.num_layers = num_layers;
  backbone.dropout = dropout;
  backbone.num_heads = num_heads;
  backbone.feedforward_size = feedforward_size;
  backbone.max_sequence_length = max_sequence_length;
  backbone.relative_attention = relative_attention;
  backbone.max_relative_distance = max_relative_distance;
  return backbone;
}

nlohmann::json TransformerNadeConfig::to_json() const {
  return transformer_nade_config_fields().to_json(*this);
}

TransformerNadeConfig TransformerNadeConfig::from_json(const nlohmann::json& json) {
  TransformerNadeConfig config = transformer_nade_config_fields().from_json(json);
  config.validate();
  return config;
}

// ---- construction -------------------------------------------------------------------------------------------

TransformerNadeImpl::TransformerNadeImpl(TransformerNadeConfig config) : config_(std::move(config)) {
  config_.validate();
  // The Transformer family builds, checks and initialises the backbone; this model keeps all of it but the head.
  TransformerModelImpl donor(config_.backbone_config());
  input_projection = register_module("input_projection", donor.input_projection);
  if (donor.position_embedding) position_embedding = register_module("position_embedding", donor.position_embedding);
  blocks = register_module("blocks", donor.blocks);
  for (size_t i = 0; i < blocks->size(); ++i) block_list_.push_back(blocks->ptr<TransformerBlockImpl>(i));
  ln_f = register_module("ln_f", donor.ln_f);
  nade = register_module("nade", Nade(config_.vocab_size, config_.nade_hidden, config_.hidden_size));
}

// ---- whole sequences ----------------------------------------------------------------------------------------

torch::Tensor TransformerNadeImpl::embed(const torch::Tensor& frames, int64_t first_position) {
  const bool whole_sequence = frames.dim() == 3;
  auto x = input_projection(frames.to(input_projection->weight.scalar_type()));  // (B, T, C) or (B, C)
  if (position_embedding) {
    x = whole_sequence ? x + position_embedding->weight.narrow(0, first_position, frames.size(1))  // + (T, C)
                       : x + position_embedding->weight[first_position];                           // + (C)
  }
  return torch::dropout(x, config_.dropout, is_training());
}

torch::Tensor TransformerNadeImpl::conditions(const torch::Tensor& frames) {
  check_frames(frames, false, "transformer_nade conditions()");
  const int64_t T = frames.size(1);
  if (position_embedding && T > config_.max_sequence_length) {
    throw Error("transformer_nade conditions(): " + std::to_string(T) + " frames exceed max_sequence_length " +
                std::to_string(config_.max_sequence_length) + " (learned absolute positions)");
  }
  auto x = embed(frames, 0);                              // (B, T, C)
  for (auto& block : block_list_) x = block->forward(x);  // (B, T, C)
  return ln_f(x);                                         // (B, T, C)
}

// ---- step decoding ------------------------------------------------------------------------------------------

std::unique_ptr<DecodeState> TransformerNadeImpl::initial_state(int64_t batch_size) {
  if (batch_size <= 0)
    throw Error("transformer_nade initial_state(): batch size must be positive, got " + std::to_string(batch_size));
  auto state = std::make_unique<TransformerDecodeState>();
  state->batch_size = batch_size;
  return state;
}

void TransformerNadeImpl::reserve_cache(TransformerDecodeState& state, int64_t length) const {
  const int64_t capacity = state.keys.empty() ? 0 : state.keys[0].size(2);
  if (length <= capacity) return;
  int64_t grown = std::max({length, 2 * capacity, kInitialCacheCapacity});
  if (position_embedding) grown = std::min(grown, config_.max_sequence_length);
  const auto& attention = block_list_.front()->attention;
  // Fresh zeros appended after the cached positions (the first call creates the cache).
  auto extra = torch::zeros({state.batch_size, attention->num_heads(), grown - capacity, attention->head_size()},
                            input_projection->weight.options());  // (B, H, grown - capacity, D)
  state.keys.resize(block_list_.size());
  state.values.resize(block_list_.size());
  for (auto* cache : {&state.keys, &state.values}) {
    for (auto& t : *cache) t = t.defined() ? torch::cat({t, extra}, 2) : extra.clone();  // (B, H, grown, D)
  }
}

torch::Tensor TransformerNadeImpl::step(const torch::Tensor& frame_t, DecodeState& decode_state) {
  auto* state = dynamic_cast<TransformerDecodeState*>(&decode_state);
  if (state == nullptr)
    throw Error("transformer_nade step(): the state was not made by a transformer_nade's initial_state()");
  check_frames(frame_t, true, "transformer_nade step()");
  if (frame_t.size(0) != state->batch_size) {
    throw Error("transformer_nade step(): batch of " + std::to_string(frame_t.size(0)) + " but the state holds " +
                std::to_string(state->batch_size) + " sequences");
  }
  if (position_embedding && state->length >= config_.max_sequence_length) {
    throw Error("transformer_nade step(): position " + std::to_string(state->length) + " is past max_sequence_length " +
                std::to_string(config_.max_sequence_length) + " (learned absolute positions)");
  }
  torch::NoGradGuard no_grad;
  reserve_cache(*state, state->length + 1);
  const int64_t position = state->length;
  auto x = embed(frame_t, position);  // (B, C)
  for (size_t i = 0; i < block_list_.size(); ++i) {
    x = block_list_[i]->step(x, state->keys[i], state->values[i], position, /*matrix_vector=*/true);  // (B, C)
  }
  state->length = position + 1;
  return ln_f(x);  // (B, C)
}

}  // namespace cadenza::models
