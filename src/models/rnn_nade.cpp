// RNN-NADE, read top to bottom: the config and its JSON, construction, the whole-sequence conditions, step decoding.
#include "models/rnn_nade.h"

#include <cmath>
#include <string>

#include "common/error.h"
#include "common/options.h"

namespace cadenza::models {

// ---- config -------------------------------------------------------------------------------------------------

const OptionFields<RnnNadeConfig>& rnn_nade_config_fields() {
  using C = RnnNadeConfig;
  static const OptionFields<RnnNadeConfig> fields =
      OptionFields<RnnNadeConfig>("rnn_nade config")
          .tag("family", "rnn_nade")
          .choice("cell", &C::cell,
                  {{"lstm", RecurrentFamily::kLstm}, {"gru", RecurrentFamily::kGru}, {"rnn", RecurrentFamily::kRnn}})
          .integer("vocab_size", &C::vocab_size, 1, 4096)
          .integer("embedding_size", &C::embedding_size, 0, 16384)
          .integer("hidden_size", &C::hidden_size, 1, 16384)
          .integer("num_layers", &C::num_layers, 1, 64)
          .integer("nade_hidden", &C::nade_hidden, 1, 16384)
          .number("dropout", &C::dropout, 0.0, 0.99);
  return fields;
}

void RnnNadeConfig::validate() const {
  rnn_nade_config_fields().check(*this);
  const double K = static_cast<double>(vocab_size), C = static_cast<double>(hidden_size),
               E = static_cast<double>(embedding_size > 0 ? embedding_size : hidden_size),
               U = static_cast<double>(nade_hidden);
  check_memory_estimate(4.0 * (K * E + static_cast<double>(num_layers) * 4 * C * (std::max(E, C) + C + 2) +
                               2 * K * U + C * (U + K)),
                        "rnn_nade config: hidden_size " + std::to_string(hidden_size) + ", num_layers " +
                            std::to_string(num_layers) + " and nade_hidden " + std::to_string(nade_hidden));
}

nlohmann::json RnnNadeConfig::to_json() const {
  return rnn_nade_config_fields().to_json(*this);
}

RnnNadeConfig RnnNadeConfig::from_json(const nlohmann::json& json) {
  RnnNadeConfig config = rnn_nade_config_fields().from_json(json);
  config.validate();
  return config;
}

// ---- construction -------------------------------------------------------------------------------------------

RnnNadeImpl::RnnNadeImpl(RnnNadeConfig config) : config_(std::move(config)) {
  config_.validate();
  const RnnNadeConfig& c = config_;
  const int64_t K = c.vocab_size, C = c.hidden_size, L = c.num_layers;
  const int64_t E = c.embedding_size > 0 ? c.embedding_size : C;
  const double between_layers = L > 1 ? c.dropout : 0.0;
  input_projection = register_module("input_projection", torch::nn::Linear(K, E));
  switch (c.cell) {
    case RecurrentFamily::kRnn:
      rnn_ = torch::nn::RNN(torch::nn::RNNOptions(E, C)
                                .num_layers(L)
                                .dropout(between_layers)
                                .nonlinearity(torch::kTanh)
                                .batch_first(true))
                 .ptr();
      break;
    case RecurrentFamily::kLstm:
      rnn_ =
          torch::nn::LSTM(torch::nn::LSTMOptions(E, C).num_layers(L).dropout(between_layers).batch_first(true)).ptr();
      break;
    case RecurrentFamily::kGru:
      rnn_ = torch::nn::GRU(torch::nn::GRUOptions(E, C).num_layers(L).dropout(between_layers).batch_first(true)).ptr();
      break;
  }
  register_module("rnn", rnn_);
  nade = register_module("nade", Nade(K, c.nade_hidden, C));
}

// ---- whole sequences ----------------------------------------------------------------------------------------

void RnnNadeImpl::check_state(const RecurrentDecodeState& state, int64_t batch_size, const char* who) const {
  const auto L = static_cast<size_t>(config_.num_layers);
  const bool lstm = config_.cell == RecurrentFamily::kLstm;
  if (state.h.size() != L || (lstm && state.c.size() != L) || state.h[0].size(0) != batch_size) {
    throw Error(std::string("rnn_nade ") + who + ": the state does not match this model and a batch of " +
                std::to_string(batch_size));
  }
}

torch::Tensor RnnNadeImpl::run_rnn(const torch::Tensor& x, torch::Tensor& h, torch::Tensor& c) {
  switch (config_.cell) {
    case RecurrentFamily::kRnn: {
      auto [y, h_n] = rnn_->as<torch::nn::RNNImpl>()->forward(x, h);  // (B, T, C), (L, B, C)
      h = h_n;
      return y;
    }
    case RecurrentFamily::kLstm: {
      auto [y, h_c] = rnn_->as<torch::nn::LSTMImpl>()->forward(x, std::make_tuple(h, c));
      h = std::get<0>(h_c);  // (L, B, C)
      c = std::get<1>(h_c);  // (L, B, C)
      return y;              // (B, T, C)
    }
    case RecurrentFamily::kGru: {
      auto [y, h_n] = rnn_->as<torch::nn::GRUImpl>()->forward(x, h);  // (B, T, C), (L, B, C)
      h = h_n;
      return y;
    }
  }
  throw Error("rnn_nade: invalid cell");
}

torch::Tensor RnnNadeImpl::conditions(const torch::Tensor& frames) {
  check_frames(frames, false, "rnn_nade conditions()");
  auto state = initial_state(frames.size(0));
  return conditions(frames, static_cast<RecurrentDecodeState&>(*state));
}

torch::Tensor RnnNadeImpl::conditions(const torch::Tensor& frames, RecurrentDecodeState& state) {
  check_frames(frames, false, "rnn_nade conditions()");
  check_state(state, frames.size(0), "conditions()");
  const bool lstm = config_.cell == RecurrentFamily::kLstm;
  auto x = input_projection(frames.to(input_projection->weight.scalar_type()));  // (B, T, E)
  auto h = torch::stack(state.h);                                                // (L, B, C)
  auto c = lstm ? torch::stack(state.c) : torch::Tensor();                       // (L, B, C)
  auto y = run_rnn(x, h, c);                                                     // (B, T, C)
  state.h = h.unbind(0);
  if (lstm) state.c = c.unbind(0);
  return torch::dropout(y, config_.dropout, is_training());  // (B, T, C)
}

// ---- step decoding ------------------------------------------------------------------------------------------

std::unique_ptr<DecodeState> RnnNadeImpl::initial_state(int64_t batch_size) {
  if (batch_size <= 0)
    throw Error("rnn_nade initial_state(): batch size must be positive, got " + std::to_string(batch_size));
  auto state = std::make_unique<RecurrentDecodeState>();
  const auto options = input_projection->weight.options();
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    state->h.push_back(torch::zeros({batch_size, config_.hidden_size}, options));  // (B, C)
    if (config_.cell == RecurrentFamily::kLstm)
      state->c.push_back(torch::zeros({batch_size, config_.hidden_size}, options));  // (B, C)
  }
  return state;
}

torch::Tensor RnnNadeImpl::step(const torch::Tensor& frame_t, DecodeState& decode_state) {
  auto* state = dynamic_cast<RecurrentDecodeState*>(&decode_state);
  if (state == nullptr) throw Error("rnn_nade step(): the state was not made by an rnn_nade's initial_state()");
  check_frames(frame_t, true, "rnn_nade step()");
  torch::NoGradGuard no_grad;
  return conditions(frame_t.unsqueeze(1), *state).squeeze(1);  // (B, 1, K) -> (B, C)
}

}  // namespace cadenza::models
