// The recurrent families (rnn | lstm | gru), read top to bottom: config checks, construction, the whole-sequence
// forward() on torch's fused modules, then step() with the gate equations written out on the same weights.
#include "models/recurrent.h"

#include <sstream>

#include "common/error.h"
#include "models/factories.h"

namespace cadenza::models {
namespace {

// y = x W^T + b for one time step, x (B, in) -> (B, out). At B = 1 a matrix-vector product: BLAS sgemm with a single
// row is several times slower than sgemv for the same arithmetic.
torch::Tensor affine(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (x.size(0) == 1) return torch::addmv(bias, weight, x[0]).unsqueeze(0);  // (1, out)
  return torch::addmm(bias, x, weight.t());                                  // (B, out)
}

std::string describe(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes() << " " << t.dtype();
  return out.str();
}

// Why `state` cannot carry a batch of `batch_size` through `num_layers` layers (what it holds against what is needed).
[[noreturn]] void state_mismatch(const RecurrentDecodeState& state, int64_t num_layers, int64_t batch_size) {
  const int64_t held = state.h.empty() ? 0 : state.h[0].size(0);
  throw Error("recurrent model: state does not match this model and a batch of " + std::to_string(batch_size) +
              ": it holds " + std::to_string(held) + " sequences in " + std::to_string(state.h.size()) +
              " layers, the model has " + std::to_string(num_layers) + " layers");
}

}  // namespace

RecurrentFamily parse_recurrent_family(const std::string& family) {
  if (family == "rnn") return RecurrentFamily::kRnn;
  if (family == "lstm") return RecurrentFamily::kLstm;
  if (family == "gru") return RecurrentFamily::kGru;
  throw Error("unknown recurrent family \"" + family + "\" (expected rnn, lstm or gru)");
}

void RecurrentDecodeState::detach() {
  for (auto& t : h) t = t.detach();
  for (auto& t : c) t = t.detach();
  if (past.defined()) past = past.detach();
}

void RecurrentDecodeState::select_rows(const torch::Tensor& rows) {
  if (h.empty()) throw Error("recurrent model select_rows(): the state holds no layers");
  const auto selected = checked_decode_rows(rows, h[0].size(0), h[0].device(), "recurrent model");
  for (auto& t : h) t = t.index_select(0, selected);          // (N, C)
  for (auto& t : c) t = t.index_select(0, selected);          // (N, C)
  if (past.defined()) past = past.index_select(0, selected);  // (N, K, C)
}

// ---- construction -------------------------------------------------------------------------------------------

RecurrentModelImpl::RecurrentModelImpl(ModelConfig config)
    : SequenceModelImpl(std::move(config)), family_(parse_recurrent_family(config_.family)) {
  config_.validate();
  const int64_t V = config_.vocab_size, C = config_.hidden_size, L = config_.num_layers;
  input_size_ = config_.embedding_size > 0 ? config_.embedding_size : C;  // E

  if (config_.input_kind == InputKind::kTokens) {
    embedding = register_module("embedding", torch::nn::Embedding(V, input_size_));
  } else {
    input_projection = register_module("input_projection", torch::nn::Linear(V, input_size_));
  }
  register_context(input_size_);

  if (config_.residual) {
    layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < L; ++i) {
      stacks_.push_back(make_stack(i == 0 ? input_size_ : C, 1, 0.0));
      layers->push_back(stacks_.back());
    }
  } else {
    stacks_.push_back(register_module("rnn", make_stack(input_size_, L, L > 1 ? config_.dropout : 0.0)));
  }

  if (config_.attention_length > 0) {
    attention_key = register_module("attention_key", torch::nn::Linear(torch::nn::LinearOptions(C, C).bias(false)));
    attention_query = register_module("attention_query", torch::nn::Linear(C, C));
    attention_score = register_module("attention_score", torch::nn::Linear(torch::nn::LinearOptions(C, 1).bias(false)));
  }
  head = register_module("head", torch::nn::Linear(C, V));

  // The weight tensors step() uses are the modules' own parameters (same storage): loading or training the
  // modules updates them too.
  for (int64_t i = 0; i < L; ++i) {
    auto& stack = config_.residual ? stacks_[i] : stacks_[0];
    const std::string suffix = "_l" + std::to_string(config_.residual ? 0 : i);
    auto params = stack->named_parameters(/*recurse=*/false);
    layer_weights_.push_back({params["weight_ih" + suffix], params["weight_hh" + suffix], params["bias_ih" + suffix],
                              params["bias_hh" + suffix]});
  }
}

std::shared_ptr<torch::nn::Module> RecurrentModelImpl::make_stack(int64_t input_size, int64_t num_layers,
                                                                  double dropout) const {
  const int64_t C = config_.hidden_size;
  switch (family_) {
    case RecurrentFamily::kRnn:
      return torch::nn::RNN(torch::nn::RNNOptions(input_size, C)
                                .num_layers(num_layers)
                                .dropout(dropout)
                                .nonlinearity(torch::kTanh)
                                .batch_first(true))
          .ptr();
    case RecurrentFamily::kLstm:
      return torch::nn::LSTM(
                 torch::nn::LSTMOptions(input_size, C).num_layers(num_layers).dropout(dropout).batch_first(true))
          .ptr();
    case RecurrentFamily::kGru:
      return torch::nn::GRU(
                 torch::nn::GRUOptions(input_size, C).num_layers(num_layers).dropout(dropout).batch_first(true))
          .ptr();
  }
  throw Error("recurrent model: invalid family");
}

bool RecurrentModelImpl::layer_has_residual(size_t layer) const {
  return config_.residual && (layer > 0 || input_size_ == config_.hidden_size);
}

std::unique_ptr<DecodeState> RecurrentModelImpl::initial_state(int64_t batch_size) {
  if (batch_size <= 0) throw Error("recurrent model: batch size must be positive, got " + std::to_string(batch_size));
  auto state = std::make_unique<RecurrentDecodeState>();
  auto options = head->weight.options();
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    state->h.push_back(torch::zeros({batch_size, config_.hidden_size}, options));  // (B, C)
    if (family_ == RecurrentFamily::kLstm)
      state->c.push_back(torch::zeros({batch_size, config_.hidden_size}, options));  // (B, C)
  }
  if (config_.attention_length > 0)
    state->past = torch::zeros({batch_size, config_.attention_length, config_.hidden_size}, options);  // (B, K, C)
  return state;
}

// ---- input checks and the input layer -----------------------------------------------------------------------

void RecurrentModelImpl::check_input(const torch::Tensor& input, bool one_step) const {
  const int64_t V = config_.vocab_size;
  auto fail = [&](const std::string& problem) {
    throw Error("recurrent model: " + problem + " (input " + describe(input) + ")");
  };
  if (!input.defined()) fail("input is undefined");
  if (config_.input_kind == InputKind::kTokens) {
    const int64_t dims = one_step ? 1 : 2;
    if (input.dim() != dims) fail(one_step ? "step expects tokens of shape (B)" : "expects tokens of shape (B, T)");
    if (input.scalar_type() != torch::kLong) fail("tokens must be int64");
    if (input.numel() == 0) fail("empty input");
    auto [low, high] = torch::aminmax(input);
    if (low.item<int64_t>() < 0 || high.item<int64_t>() >= V)
      fail("token ids must be in [0, " + std::to_string(V) + "), found " + std::to_string(low.item<int64_t>()) + ".." +
           std::to_string(high.item<int64_t>()));
  } else {
    const int64_t dims = one_step ? 2 : 3;
    if (input.dim() != dims || input.size(-1) != V)
      fail(one_step ? "step expects frames of shape (B, " + std::to_string(V) + ")"
                    : "expects frames of shape (B, T, " + std::to_string(V) + ")");
    if (!input.is_floating_point() && input.scalar_type() != torch::kBool)
      fail("frames must be floating point or bool");
    if (input.numel() == 0) fail("empty input");
  }
}

torch::Tensor RecurrentModelImpl::embed(const torch::Tensor& input, bool one_step) {
  if (config_.input_kind == InputKind::kTokens) {
    if (one_step) return embedding->weight.index_select(0, input);  // (B, E)
    return embedding->forward(input);                               // (B, T, E)
  }
  auto frames = input.to(input_projection->weight.scalar_type());
  if (one_step) return affine(frames, input_projection->weight, input_projection->bias);  // (B, E)
  return input_projection->forward(frames);                                               // (B, T, E)
}

// ---- forward: whole sequences through torch's recurrent modules ----------------------------------------------

torch::Tensor RecurrentModelImpl::run_stack(torch::nn::Module& stack, const torch::Tensor& x, torch::Tensor& h0,
                                            torch::Tensor& c0) {
  switch (family_) {
    case RecurrentFamily::kRnn: {
      auto [y, h_n] = stack.as<torch::nn::RNNImpl>()->forward(x, h0);  // (B, T, C), (layers, B, C)
      h0 = h_n;
      return y;
    }
    case RecurrentFamily::kLstm: {
      auto [y, h_c] = stack.as<torch::nn::LSTMImpl>()->forward(x, std::make_tuple(h0, c0));
      h0 = std::get<0>(h_c);  // (layers, B, C)
      c0 = std::get<1>(h_c);  // (layers, B, C)
      return y;               // (B, T, C)
    }
    case RecurrentFamily::kGru: {
      auto [y, h_n] = stack.as<torch::nn::GRUImpl>()->forward(x, h0);  // (B, T, C), (layers, B, C)
      h0 = h_n;
      return y;
    }
  }
  throw Error("recurrent model: invalid family");
}

torch::Tensor RecurrentModelImpl::forward(const torch::Tensor& input, const torch::Tensor& context) {
  check_input(input, false);
  auto state = initial_state(input.size(0));
  return forward_checked(input, context, static_cast<RecurrentDecodeState&>(*state));
}

torch::Tensor RecurrentModelImpl::forward(const torch::Tensor& input, RecurrentDecodeState& state) {
  check_input(input, false);
  return forward_checked(input, torch::Tensor(), state);
}

torch::Tensor RecurrentModelImpl::forward_checked(const torch::Tensor& input, const torch::Tensor& context,
                                                  RecurrentDecodeState& state) {
  const int64_t B = input.size(0), L = config_.num_layers;
  const bool lstm = family_ == RecurrentFamily::kLstm;
  if (static_cast<int64_t>(state.h.size()) != L || (lstm && static_cast<int64_t>(state.c.size()) != L) ||
      state.h[0].size(0) != B)
    state_mismatch(state, L, B);
  if (config_.attention_length > 0 && (!state.past.defined() || state.past.dim() != 3 || state.past.size(0) != B ||
                                       state.past.size(1) != config_.attention_length))
    throw Error("recurrent model: the state holds no window of " + std::to_string(config_.attention_length) +
                " outputs for the attention (make it with this model's initial_state())");
  const double p = config_.dropout;

  auto x = embed(input, false);                                                  // (B, T, E)
  if (reads_context()) x = x + embed_context(context, B, input.size(1), false);  // + (B, T, E)
  torch::Tensor y;                                                               // (B, T, C)
  if (!config_.residual) {
    auto h = torch::stack(state.h);                           // (L, B, C)
    auto c = lstm ? torch::stack(state.c) : torch::Tensor();  // (L, B, C)
    y = run_stack(*stacks_[0], x, h, c);                      // (B, T, C)
    state.h = h.unbind(0);
    if (lstm) state.c = c.unbind(0);
  } else {
    for (int64_t i = 0; i < L; ++i) {
      auto h = state.h[i].unsqueeze(0);                           // (1, B, C)
      auto c = lstm ? state.c[i].unsqueeze(0) : torch::Tensor();  // (1, B, C)
      y = run_stack(*stacks_[i], x, h, c);                        // (B, T, C)
      if (layer_has_residual(i)) y = y + x;                       // (B, T, C)
      state.h[i] = h[0];
      if (lstm) state.c[i] = c[0];
      if (i + 1 < L) x = torch::dropout(y, p, is_training());  // (B, T, C)
    }
  }
  if (config_.attention_length > 0) y = attend_sequence(y, state);  // (B, T, C)
  y = torch::dropout(y, p, is_training());                          // (B, T, C)
  return head->forward(y);                                          // (B, T, V)
}

torch::Tensor RecurrentModelImpl::attend_sequence(const torch::Tensor& outputs, RecurrentDecodeState& state) {
  const int64_t T = outputs.size(1), K = config_.attention_length;
  const auto padded = torch::cat({state.past.to(outputs.dtype()), outputs}, 1);  // (B, K+T, C)
  // Window of step t: padded positions t .. t+K-1, i.e. outputs t-K .. t-1.
  auto windows = [&](const torch::Tensor& x) {  // (B, K+T, D) -> (B, T, K, D)
    return x.unfold(1, K, 1).narrow(1, 0, T).permute({0, 1, 3, 2});
  };
  const auto keys = windows(attention_key->forward(padded));                            // (B, T, K, C)
  const auto query = attention_query->forward(outputs).unsqueeze(2);                    // (B, T, 1, C)
  const auto scores = attention_score->forward(torch::tanh(keys + query)).squeeze(-1);  // (B, T, K)
  const auto weights = torch::softmax(scores, -1).unsqueeze(3);                         // (B, T, K, 1)
  const auto attended = (weights * windows(padded)).sum(2);                             // (B, T, C)
  state.past = padded.narrow(1, T, K);                                                  // (B, K, C)
  return outputs + attended;
}

torch::Tensor RecurrentModelImpl::attend_step(const torch::Tensor& output, RecurrentDecodeState& state) {
  const int64_t K = config_.attention_length;
  const auto& past = state.past;  // (B, K, C)
  // s_j = v . tanh(W_k o_j + W_q o_t + b_q), one window row at a time.
  const auto query = affine(output, attention_query->weight, attention_query->bias);                      // (B, C)
  const auto keys = torch::matmul(past, attention_key->weight.t());                                       // (B, K, C)
  const auto scores = torch::matmul(torch::tanh(keys + query.unsqueeze(1)), attention_score->weight[0]);  // (B, K)
  const auto weights = torch::softmax(scores, -1);                                                        // (B, K)
  const auto attended = torch::bmm(weights.unsqueeze(1), past).squeeze(1);                                // (B, C)
  state.past = torch::cat({past.narrow(1, 1, K - 1), output.unsqueeze(1)}, 1);                            // (B, K, C)
  return output + attended;
}

// ---- step: one time step, gate equations spelled out ---------------------------------------------------------

torch::Tensor RecurrentModelImpl::step(const torch::Tensor& input_t, DecodeState& decode_state,
                                       const torch::Tensor& context_t) {
  auto* state = dynamic_cast<RecurrentDecodeState*>(&decode_state);
  if (state == nullptr) throw Error("recurrent model: step() needs the state made by this model's initial_state()");
  check_input(input_t, true);
  const int64_t B = input_t.size(0), C = config_.hidden_size;
  const bool lstm = family_ == RecurrentFamily::kLstm;
  if (static_cast<int64_t>(state->h.size()) != config_.num_layers ||
      (lstm && static_cast<int64_t>(state->c.size()) != config_.num_layers) || state->h[0].size(0) != B)
    state_mismatch(*state, config_.num_layers, B);
  torch::NoGradGuard no_grad;

  auto x = embed(input_t, true);                                      // (B, E)
  if (reads_context()) x = x + embed_context(context_t, B, 1, true);  // + (B, E)
  for (size_t i = 0; i < layer_weights_.size(); ++i) {
    const LayerWeights& w = layer_weights_[i];
    auto& h = state->h[i];  // (B, C)
    switch (family_) {
      case RecurrentFamily::kRnn: {
        // h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
        h = torch::tanh(affine(x, w.weight_ih, w.bias_ih) + affine(h, w.weight_hh, w.bias_hh));  // (B, C)
        break;
      }
      case RecurrentFamily::kLstm: {
        auto& c = state->c[i];                                                               // (B, C)
        auto gates = affine(x, w.weight_ih, w.bias_ih) + affine(h, w.weight_hh, w.bias_hh);  // (B, 4C)
        auto input_gate = torch::sigmoid(gates.narrow(1, 0, C));                             // (B, C)
        auto forget_gate = torch::sigmoid(gates.narrow(1, C, C));                            // (B, C)
        auto cell_candidate = torch::tanh(gates.narrow(1, 2 * C, C));                        // (B, C)
        auto output_gate = torch::sigmoid(gates.narrow(1, 3 * C, C));                        // (B, C)
        c = forget_gate * c + input_gate * cell_candidate;                                   // (B, C)
        h = output_gate * torch::tanh(c);                                                    // (B, C)
        break;
      }
      case RecurrentFamily::kGru: {
        auto from_input = affine(x, w.weight_ih, w.bias_ih);                                     // (B, 3C)
        auto from_hidden = affine(h, w.weight_hh, w.bias_hh);                                    // (B, 3C)
        auto reset = torch::sigmoid(from_input.narrow(1, 0, C) + from_hidden.narrow(1, 0, C));   // (B, C)
        auto update = torch::sigmoid(from_input.narrow(1, C, C) + from_hidden.narrow(1, C, C));  // (B, C)
        auto candidate =
            torch::tanh(from_input.narrow(1, 2 * C, C) + reset * from_hidden.narrow(1, 2 * C, C));  // (B, C)
        h = candidate + update * (h - candidate);  // (B, C) = (1 - z) n + z h
        break;
      }
    }
    x = layer_has_residual(i) ? h + x : h;  // (B, C)
  }
  if (config_.attention_length > 0) {
    if (!state->past.defined() || state->past.dim() != 3 || state->past.size(0) != B ||
        state->past.size(1) != config_.attention_length)
      throw Error("recurrent model: the state holds no window of " + std::to_string(config_.attention_length) +
                  " outputs for the attention (make it with this model's initial_state())");
    x = attend_step(x, *state);  // (B, C)
  }
  return affine(x, head->weight, head->bias);  // (B, V)
}

std::shared_ptr<SequenceModelImpl> make_recurrent_model(const ModelConfig& config) {
  return std::make_shared<RecurrentModelImpl>(config);
}

}  // namespace cadenza::models
