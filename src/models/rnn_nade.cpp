// RNN-NADE, read top to bottom: the config and its JSON, construction, the whole-sequence conditions, step decoding.
#include "models/rnn_nade.h"

#include <cmath>
#include <string>

#include "common/error.h"

namespace cadenza::models {
namespace {

const char* cell_name(RecurrentFamily cell) {
  switch (cell) {
    case RecurrentFamily::kRnn:
      return "rnn";
    case RecurrentFamily::kLstm:
      return "lstm";
    case RecurrentFamily::kGru:
      return "gru";
  }
  return "?";
}

}  // namespace

// ---- config -------------------------------------------------------------------------------------------------

void RnnNadeConfig::validate() const {
  auto fail = [](const std::string& problem) { throw Error("rnn_nade config: " + problem); };
  auto positive = [&](const char* key, int64_t value) {
    if (value <= 0) fail(std::string("\"") + key + "\" must be positive, got " + std::to_string(value));
  };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("num_layers", num_layers);
  positive("nade_hidden", nade_hidden);
  if (embedding_size < 0)
    fail("\"embedding_size\" must be positive, or 0 for hidden_size; got " + std::to_string(embedding_size));
  if (!(dropout >= 0.0 && dropout < 1.0)) fail("\"dropout\" must be in [0, 1), got " + std::to_string(dropout));
}

nlohmann::json RnnNadeConfig::to_json() const {
  return {{"family", "rnn_nade"},       {"cell", cell_name(cell)},
          {"vocab_size", vocab_size},   {"embedding_size", embedding_size},
          {"hidden_size", hidden_size}, {"num_layers", num_layers},
          {"nade_hidden", nade_hidden}, {"dropout", dropout}};
}

RnnNadeConfig RnnNadeConfig::from_json(const nlohmann::json& json) {
  nade_detail::ConfigReader reader(json, "rnn_nade");
  RnnNadeConfig config;
  std::string cell = cell_name(config.cell);
  reader.read_string("cell", cell);
  if (cell == "lstm" || cell == "gru" || cell == "rnn") {
    config.cell = parse_recurrent_family(cell);
  } else {
    reader.fail("\"cell\" must be \"lstm\", \"gru\" or \"rnn\", got \"" + cell + "\"");
  }
  reader.read_int("vocab_size", config.vocab_size);
  reader.read_int("embedding_size", config.embedding_size);
  reader.read_int("hidden_size", config.hidden_size);
  reader.read_int("num_layers", config.num_layers);
  reader.read_int("nade_hidden", config.nade_hidden);
  reader.read_number("dropout", config.dropout);
  reader.finish();
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
