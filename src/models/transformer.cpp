// The decoder-only Transformer: modules top to bottom (MLP, attention, block, model), then the factory.
#include "models/transformer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "common/error.h"
#include "models/factories.h"
#include "models/relative_attention.h"

namespace cadenza::models {
namespace {

// y = x W^T + b for one position per sequence, x (B, in) -> (B, out). At B = 1 with `matrix_vector` this is one
// addmv (sgemv) instead of a one-row sgemm; which is faster depends on the BLAS (see set_matrix_vector_step).
torch::Tensor project(const torch::nn::Linear& linear, const torch::Tensor& x, bool matrix_vector) {
  if (matrix_vector && x.size(0) == 1) return torch::addmv(linear->bias, linear->weight, x[0]).unsqueeze(0);
  return torch::nn::functional::linear(x, linear->weight, linear->bias);
}

torch::Tensor apply_dropout(const torch::Tensor& x, double p, bool training) {
  return (p > 0.0 && training) ? torch::dropout(x, p, training) : x;
}

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes() << " " << t.dtype();
  return out.str();
}

// Cache capacity of a fresh state; doubled whenever decoding runs past it.
constexpr int64_t kInitialCacheCapacity = 64;

}  // namespace

// ---- decode state -------------------------------------------------------------------------------------------

void TransformerDecodeState::select_rows(const torch::Tensor& rows) {
  const torch::Device device = keys.empty() ? rows.device() : keys.front().device();
  const auto selected = checked_decode_rows(rows, batch_size, device, "transformer");
  // The whole capacity is copied, not just [0, length): the cache keeps its size, so reserve_cache()'s doubling
  // bookkeeping (capacity = keys[i].size(2)) stays as it was.
  for (auto& t : keys) t = t.index_select(0, selected);    // (N, H, capacity, D)
  for (auto& t : values) t = t.index_select(0, selected);  // (N, H, capacity, D)
  batch_size = selected.size(0);
}

// ---- MLP ----------------------------------------------------------------------------------------------------

MlpImpl::MlpImpl(int64_t model_size, int64_t feedforward_size) {
  fc = register_module("fc", torch::nn::Linear(model_size, feedforward_size));
  proj = register_module("proj", torch::nn::Linear(feedforward_size, model_size));
}

// ---- causal self-attention ----------------------------------------------------------------------------------

CausalSelfAttentionImpl::CausalSelfAttentionImpl(int64_t model_size, int64_t num_heads, int64_t max_relative_distance,
                                                 double dropout)
    : num_heads_(num_heads), head_size_(model_size / num_heads), dropout_(dropout) {
  qkv = register_module("qkv", torch::nn::Linear(model_size, 3 * model_size));
  proj = register_module("proj", torch::nn::Linear(model_size, model_size));
  if (max_relative_distance > 0) {
    relative_keys = register_parameter("relative_keys", torch::zeros({num_heads, max_relative_distance, head_size_}));
  }
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), H = num_heads_, D = head_size_;
  auto parts = qkv(x).split(C, -1);                      // 3 x (B, T, C)
  auto q = parts[0].view({B, T, H, D}).transpose(1, 2);  // (B, H, T, D)
  auto k = parts[1].view({B, T, H, D}).transpose(1, 2);  // (B, H, T, D)
  auto v = parts[2].view({B, T, H, D}).transpose(1, 2);  // (B, H, T, D)

  auto scores = torch::matmul(q, k.transpose(-2, -1));                          // (B, H, T, T)
  if (relative_keys.defined()) scores.add_(relative_logits(q, relative_keys));  // (B, H, T, T)
  scores.mul_(1.0 / std::sqrt(static_cast<double>(D)));
  auto future = torch::ones({T, T}, torch::dtype(torch::kBool).device(x.device())).triu(1);  // (T, T)
  scores.masked_fill_(future, -std::numeric_limits<float>::infinity());
  auto weights = apply_dropout(torch::softmax(scores, -1), dropout_, is_training());  // (B, H, T, T)

  auto y = torch::matmul(weights, v);                  // (B, H, T, D)
  y = y.transpose(1, 2).contiguous().view({B, T, C});  // (B, T, C)
  return proj(y);                                      // (B, T, C)
}

torch::Tensor CausalSelfAttentionImpl::step(const torch::Tensor& x, torch::Tensor& keys, torch::Tensor& values,
                                            int64_t position, bool matrix_vector) {
  const int64_t B = x.size(0), C = x.size(1), H = num_heads_, D = head_size_, length = position + 1;
  auto parts = project(qkv, x, matrix_vector).view({B, 3, H, D});  // (B, 3, H, D)
  auto q = parts.select(1, 0);                                     // (B, H, D)
  keys.select(2, position).copy_(parts.select(1, 1));              // (B, H, D) into (B, H, capacity, D)
  values.select(2, position).copy_(parts.select(1, 2));
  auto k = keys.narrow(2, 0, length);    // (B, H, length, D)
  auto v = values.narrow(2, 0, length);  // (B, H, length, D)

  auto scores = torch::matmul(k, q.unsqueeze(-1)).squeeze(-1);  // (B, H, length)
  if (relative_keys.defined()) scores.add_(relative_logits_last_query(q, relative_keys, length));
  scores.mul_(1.0 / std::sqrt(static_cast<double>(D)));
  // Every cached position is in the past: no mask.
  auto weights = apply_dropout(torch::softmax(scores, -1), dropout_, is_training());  // (B, H, length)

  auto y = torch::matmul(weights.unsqueeze(2), v).squeeze(2);  // (B, H, D)
  return project(proj, y.reshape({B, C}), matrix_vector);      // (B, C)
}

// ---- block --------------------------------------------------------------------------------------------------

TransformerBlockImpl::TransformerBlockImpl(const ModelConfig& config, int64_t max_relative_distance)
    : dropout_(config.dropout) {
  const int64_t C = config.hidden_size;
  const int64_t F = config.feedforward_size > 0 ? config.feedforward_size : 4 * C;
  ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C})));
  attention =
      register_module("attention", CausalSelfAttention(C, config.num_heads, max_relative_distance, config.dropout));
  ln_2 = register_module("ln_2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C})));
  mlp = register_module("mlp", Mlp(C, F));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x_in) {
  auto x = x_in + apply_dropout(attention(ln_1(x_in)), dropout_, is_training());  // (B, T, C)
  auto h = torch::gelu(mlp->fc(ln_2(x)));                                         // (B, T, F)
  return x + apply_dropout(mlp->proj(h), dropout_, is_training());                // (B, T, C)
}

torch::Tensor TransformerBlockImpl::step(const torch::Tensor& x_in, torch::Tensor& keys, torch::Tensor& values,
                                         int64_t position, bool matrix_vector) {
  auto a = attention->step(ln_1(x_in), keys, values, position, matrix_vector);              // (B, C)
  auto x = x_in + apply_dropout(a, dropout_, is_training());                                // (B, C)
  auto h = torch::gelu(project(mlp->fc, ln_2(x), matrix_vector));                           // (B, F)
  return x + apply_dropout(project(mlp->proj, h, matrix_vector), dropout_, is_training());  // (B, C)
}

// ---- model --------------------------------------------------------------------------------------------------

TransformerModelImpl::TransformerModelImpl(ModelConfig config) : SequenceModelImpl(std::move(config)) {
  const ModelConfig& c = config_;
  auto require = [](bool ok, const std::string& problem) {
    if (!ok) throw Error("transformer config: " + problem);
  };
  c.validate();  // every key in its range, and a size this machine can hold
  require(c.attention_length == 0, "attention_length is for the recurrent families (the transformer attends anyway)");
  require(c.num_heads > 0 && c.hidden_size % c.num_heads == 0, "num_heads (" + std::to_string(c.num_heads) +
                                                                   ") must be positive and divide hidden_size (" +
                                                                   std::to_string(c.hidden_size) + ")");
  require(
      c.embedding_size == 0 || c.embedding_size == c.hidden_size,
      "embedding_size must be 0 or equal hidden_size (the residual width), got " + std::to_string(c.embedding_size));

  const int64_t V = c.vocab_size, C = c.hidden_size, L = c.num_layers;
  if (c.input_kind == InputKind::kTokens) {
    embedding = register_module("embedding", torch::nn::Embedding(V, C));
  } else {
    input_projection = register_module("input_projection", torch::nn::Linear(V, C));
  }
  register_context(C);
  if (!c.relative_attention) {
    position_embedding = register_module("position_embedding", torch::nn::Embedding(c.max_sequence_length, C));
  }
  const int64_t max_relative_distance =
      !c.relative_attention ? 0 : (c.max_relative_distance > 0 ? c.max_relative_distance : c.max_sequence_length);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < L; ++i) {
    block_list_.push_back(TransformerBlock(c, max_relative_distance));
    blocks->push_back(block_list_.back());
  }
  ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C})));
  head = register_module("head", torch::nn::Linear(C, V));

  // GPT-2 initialisation: N(0, 0.02) weights, zero biases, and the projections that feed the residual stream scaled
  // by 1/sqrt(2L) so its variance does not grow with depth.
  torch::NoGradGuard no_grad;
  const double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(L));
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    if (name.find(".ln_") != std::string::npos || name.rfind("ln_f.", 0) == 0) continue;  // LayerNorm: 1 and 0
    if (is_bias) {
      p.zero_();
    } else if (name.find("attention.proj.") != std::string::npos || name.find("mlp.proj.") != std::string::npos) {
      p.normal_(0.0, residual_std);
    } else {
      p.normal_(0.0, 0.02);
    }
  }
}

void TransformerModelImpl::check_input(const torch::Tensor& input, bool one_step) const {
  const char* where = one_step ? "transformer step()" : "transformer forward()";
  const int64_t V = config_.vocab_size;
  if (config_.input_kind == InputKind::kTokens) {
    const int64_t dims = one_step ? 1 : 2;
    if (input.dim() != dims || input.scalar_type() != torch::kLong) {
      throw Error(std::string(where) + ": expected " + (one_step ? "(B)" : "(B, T)") + " int64 token ids, got " +
                  shape_of(input));
    }
    if (input.numel() == 0) throw Error(std::string(where) + ": empty input " + shape_of(input));
    const int64_t lowest = input.min().item<int64_t>(), highest = input.max().item<int64_t>();
    if (lowest < 0 || highest >= V) {
      throw Error(std::string(where) + ": token id " + std::to_string(lowest < 0 ? lowest : highest) +
                  " outside the vocabulary [0, " + std::to_string(V) + ")");
    }
  } else {
    const int64_t dims = one_step ? 2 : 3;
    if (input.dim() != dims || input.size(-1) != V || !input.is_floating_point()) {
      throw Error(std::string(where) + ": expected " + (one_step ? "(B, " : "(B, T, ") + std::to_string(V) +
                  ") floating-point frames, got " + shape_of(input));
    }
    if (input.numel() == 0) throw Error(std::string(where) + ": empty input " + shape_of(input));
  }
}

torch::Tensor TransformerModelImpl::embed(const torch::Tensor& input, int64_t first_position, bool matrix_vector,
                                          const torch::Tensor& context) {
  // A whole sequence ((B, T) or (B, T, V) -> (B, T, C)) or one step ((B) or (B, V) -> (B, C)).
  const bool tokens = config_.input_kind == InputKind::kTokens;
  const bool whole_sequence = input.dim() == (tokens ? 2 : 3);
  torch::Tensor x;
  if (tokens) {
    x = embedding(input);
  } else {
    auto frames = input.to(input_projection->weight.dtype());
    x = whole_sequence ? input_projection(frames) : project(input_projection, frames, matrix_vector);
  }
  if (position_embedding) {
    x = whole_sequence ? x + position_embedding->weight.narrow(0, first_position, input.size(1))  // + (T, C)
                       : x + position_embedding->weight[first_position];                          // + (C)
  }
  if (reads_context())
    x = x + embed_context(context, input.size(0), whole_sequence ? input.size(1) : 1, !whole_sequence);
  return apply_dropout(x, config_.dropout, is_training());
}

torch::Tensor TransformerModelImpl::forward(const torch::Tensor& input, const torch::Tensor& context) {
  check_input(input, /*one_step=*/false);
  const int64_t T = input.size(1);
  if (position_embedding && T > config_.max_sequence_length) {
    throw Error("transformer forward(): " + std::to_string(T) + " steps exceed max_sequence_length " +
                std::to_string(config_.max_sequence_length) + " (learned absolute positions)");
  }
  auto x = embed(input, 0, false, context);               // (B, T, C)
  for (auto& block : block_list_) x = block->forward(x);  // (B, T, C)
  return head(ln_f(x));                                   // (B, T, V)
}

std::unique_ptr<DecodeState> TransformerModelImpl::initial_state(int64_t batch_size) {
  if (batch_size <= 0)
    throw Error("transformer initial_state(): batch size must be positive, got " + std::to_string(batch_size));
  auto state = std::make_unique<TransformerDecodeState>();
  state->batch_size = batch_size;
  return state;
}

void TransformerModelImpl::reserve_cache(TransformerDecodeState& state, int64_t length) const {
  const int64_t capacity = state.keys.empty() ? 0 : state.keys[0].size(2);
  if (length <= capacity) return;
  int64_t grown = std::max({length, 2 * capacity, kInitialCacheCapacity});
  if (position_embedding) grown = std::min(grown, config_.max_sequence_length);
  const auto& attention = block_list_.front()->attention;
  const auto options = head->weight.options();
  for (size_t i = 0; i < block_list_.size(); ++i) {
    auto keys = torch::zeros({state.batch_size, attention->num_heads(), grown, attention->head_size()}, options);
    auto values = torch::zeros_like(keys);  // (B, H, grown, D)
    if (capacity > 0) {
      keys.narrow(2, 0, state.length).copy_(state.keys[i].narrow(2, 0, state.length));
      values.narrow(2, 0, state.length).copy_(state.values[i].narrow(2, 0, state.length));
      state.keys[i] = keys;
      state.values[i] = values;
    } else {
      state.keys.push_back(keys);
      state.values.push_back(values);
    }
  }
}

torch::Tensor TransformerModelImpl::step(const torch::Tensor& input_t, DecodeState& base_state,
                                         const torch::Tensor& context_t) {
  auto* state = dynamic_cast<TransformerDecodeState*>(&base_state);
  if (state == nullptr) throw Error("transformer step(): the state was not made by a transformer's initial_state()");
  check_input(input_t, /*one_step=*/true);
  if (input_t.size(0) != state->batch_size) {
    throw Error("transformer step(): batch of " + std::to_string(input_t.size(0)) + " but the state holds " +
                std::to_string(state->batch_size) + " sequences");
  }
  if (position_embedding && state->length >= config_.max_sequence_length) {
    throw Error("transformer step(): position " + std::to_string(state->length) + " is past max_sequence_length " +
                std::to_string(config_.max_sequence_length) + " (learned absolute positions)");
  }
  torch::NoGradGuard no_grad;
  reserve_cache(*state, state->length + 1);

  const int64_t position = state->length;
  const bool mv = matrix_vector_step_;
  auto x = embed(input_t, position, mv, context_t);  // (B, C)
  for (size_t i = 0; i < block_list_.size(); ++i) {
    x = block_list_[i]->step(x, state->keys[i], state->values[i], position, mv);  // (B, C)
  }
  auto logits = project(head, ln_f(x), mv);  // (B, V)
  state->length = position + 1;
  return logits;
}

std::shared_ptr<SequenceModelImpl> make_transformer_model(const ModelConfig& config) {
  return std::make_shared<TransformerModelImpl>(config);
}

}  // namespace cadenza::models
