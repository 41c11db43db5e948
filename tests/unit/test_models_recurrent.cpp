// The recurrent families: step() (explicit gate math) against forward() (torch's fused modules), and both against
// the PyTorch reference fixtures of tests/fixtures/make_model_fixtures.py (logits, loss, gradients, AdamW steps).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <tuple>

#include "common/error.h"
#include "common/safetensors.h"
#include "models/factories.h"
#include "models/losses.h"
#include "models/recurrent.h"
#include "models/tensor_io.h"
#include "support/pytorch_fixture.h"
#include "support/sequence_models.h"
#include "support/test_support.h"

namespace cadenza::models {
namespace {

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

ModelConfig small_config(const std::string& family, InputKind kind, bool residual) {
  ModelConfig config;
  config.family = family;
  config.input_kind = kind;
  config.vocab_size = 13;
  config.embedding_size = residual ? 0 : 6;  // residual: E == C, so layer 0 adds its input too
  config.hidden_size = 10;
  config.num_layers = 3;
  config.residual = residual;
  return config;
}

torch::Tensor random_input(const ModelConfig& config, int64_t B, int64_t T) {
  if (config.input_kind == InputKind::kTokens) return torch::randint(config.vocab_size, {B, T}, torch::kLong);
  return torch::bernoulli(torch::full({B, T, config.vocab_size}, 0.3));
}

// Runs step() over every position and stacks the logits: (B, T, V).
torch::Tensor logits_by_steps(SequenceModelImpl& model, const torch::Tensor& input) {
  auto state = model.initial_state(input.size(0));
  std::vector<torch::Tensor> logits;
  for (int64_t t = 0; t < input.size(1); ++t) logits.push_back(model.step(input.select(1, t), *state));
  return torch::stack(logits, 1);
}

// ---- step() against forward() -------------------------------------------------------------------------------

using StepCase = std::tuple<std::string, InputKind, bool>;

class RecurrentStepMatchesForward : public ::testing::TestWithParam<StepCase> {};

TEST_P(RecurrentStepMatchesForward, AtBatchOneAndThree) {
  auto [family, kind, residual] = GetParam();
  torch::manual_seed(7);
  auto model = make_recurrent_model(small_config(family, kind, residual));
  model->eval();
  for (int64_t B : {1, 3}) {  // B = 1 takes the addmv path, B = 3 the addmm path
    auto input = random_input(model->config(), B, 9);
    torch::Tensor whole;
    {
      torch::NoGradGuard no_grad;
      whole = model->forward(input);  // (B, T, V)
    }
    auto stepped = logits_by_steps(*model, input);
    EXPECT_LT(max_abs_diff(whole, stepped), 1e-5) << family << " B=" << B;
    EXPECT_GT(whole.abs().max().item<double>(), 1e-3) << "logits should not be trivially zero";
  }
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, RecurrentStepMatchesForward,
                         ::testing::Combine(::testing::Values("rnn", "lstm", "gru"),
                                            ::testing::Values(InputKind::kTokens, InputKind::kFrames),
                                            ::testing::Bool()),
                         [](const ::testing::TestParamInfo<StepCase>& info) {
                           return std::get<0>(info.param) +
                                  (std::get<1>(info.param) == InputKind::kTokens ? "_tokens" : "_frames") +
                                  (std::get<2>(info.param) ? "_residual" : "");
                         });

TEST(ModelsRecurrent, ForwardInChunksWithStateMatchesOneForward) {
  for (const char* family : {"lstm", "gru"}) {
    for (bool residual : {false, true}) {
      torch::manual_seed(3);
      auto model = std::make_shared<RecurrentModelImpl>(small_config(family, InputKind::kTokens, residual));
      auto input = random_input(model->config(), 2, 12);
      auto whole = model->forward(input);
      auto state_base = model->initial_state(2);
      auto& state = static_cast<RecurrentDecodeState&>(*state_base);
      auto first = model->forward(input.narrow(1, 0, 5), state);
      state.detach();
      auto second = model->forward(input.narrow(1, 5, 7), state);
      EXPECT_FALSE(state.h[0].requires_grad() && state.h[0].grad_fn() == nullptr);
      EXPECT_LT(max_abs_diff(whole, torch::cat({first, second}, 1)), 1e-5) << family;
      // Continuing with step() from the state of a primed prefix gives the same next logits as a longer forward.
      auto next = model->step(input.select(1, 11), state);
      auto longer = model->forward(torch::cat({input, input.narrow(1, 11, 1)}, 1));
      EXPECT_LT(max_abs_diff(next, longer.select(1, 12)), 1e-5) << family;
    }
  }
}

// Attention over past outputs (attention_length K): the whole-sequence path (windows by unfold) against step() (the
// window held in the state, written out per step), with T = 9 > K = 4 so the zero-padded start and full windows
// both occur; and in chunks with the state carrying the window.
TEST(ModelsRecurrent, AttentionStepMatchesForwardAndChunks) {
  for (const char* family : {"rnn", "lstm", "gru"})
    for (const InputKind kind : {InputKind::kTokens, InputKind::kFrames})
      for (const bool residual : {false, true}) {
        SCOPED_TRACE(std::string(family) + (kind == InputKind::kTokens ? " tokens" : " frames") +
                     (residual ? " residual" : ""));
        torch::manual_seed(11);
        ModelConfig config = small_config(family, kind, residual);
        config.attention_length = 4;
        auto model = std::make_shared<RecurrentModelImpl>(config);
        model->eval();
        for (int64_t B : {1, 3}) {
          auto input = random_input(config, B, 9);
          torch::Tensor whole;
          {
            torch::NoGradGuard no_grad;
            whole = model->forward(input);  // (B, T, V)
          }
          EXPECT_LT(max_abs_diff(whole, logits_by_steps(*model, input)), 1e-5) << "B=" << B;
          // The attention changes the logits (it is not a no-op) from the second step on.
          ModelConfig plain_config = config;
          plain_config.attention_length = 0;
          RecurrentModelImpl plain(plain_config);
          for (const auto& item : plain.named_parameters())
            item.value().data().copy_(model->named_parameters()[item.key()]);
          torch::NoGradGuard no_grad;
          EXPECT_GT(max_abs_diff(whole, plain.forward(input)), 1e-4) << "B=" << B;
          // In chunks: the window crosses the chunk boundary through the state.
          auto state_base = model->initial_state(B);
          auto& state = static_cast<RecurrentDecodeState&>(*state_base);
          auto first = model->forward(input.narrow(1, 0, 2), state);
          auto second = model->forward(input.narrow(1, 2, 7), state);
          EXPECT_LT(max_abs_diff(whole, torch::cat({first, second}, 1)), 1e-5) << "B=" << B;
        }
      }
}

TEST(ModelsRecurrent, ParameterNamesAreThePyTorchAttributeNames) {
  auto plain = make_recurrent_model(small_config("lstm", InputKind::kTokens, false));
  auto names = plain->named_parameters().keys();
  std::vector<std::string> expected = {"embedding.weight"};
  for (int layer = 0; layer < 3; ++layer)
    for (const char* part : {"weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l"})
      expected.push_back("rnn." + std::string(part) + std::to_string(layer));
  expected.push_back("head.weight");
  expected.push_back("head.bias");
  EXPECT_EQ(names, expected);

  auto residual = make_recurrent_model(small_config("gru", InputKind::kFrames, true));
  auto residual_names = residual->named_parameters().keys();
  EXPECT_EQ(residual_names.front(), "input_projection.weight");
  EXPECT_NE(std::find(residual_names.begin(), residual_names.end(), "layers.2.weight_hh_l0"), residual_names.end());
  EXPECT_EQ(residual->named_parameters()["layers.1.weight_ih_l0"].sizes(), torch::IntArrayRef({30, 10}));
}

TEST(ModelsRecurrent, AttentionAddsItsWeightsOnlyWhenAsked) {
  ModelConfig config = small_config("lstm", InputKind::kTokens, false);  // C 10
  const int64_t without = count_parameters(*make_recurrent_model(config));
  config.attention_length = 5;
  auto model = make_recurrent_model(config);
  const int64_t C = 10;
  EXPECT_EQ(count_parameters(*model), without + C * C + C * C + C + C);  // key, query (+ bias), score
  auto parameters = model->named_parameters();
  EXPECT_EQ(parameters["attention_key.weight"].sizes(), torch::IntArrayRef({C, C}));
  EXPECT_EQ(parameters["attention_query.bias"].sizes(), torch::IntArrayRef({C}));
  EXPECT_EQ(parameters["attention_score.weight"].sizes(), torch::IntArrayRef({1, C}));
  EXPECT_EQ(parameters.find("attention_score.bias"), nullptr);
  // A state made without the window (another model's) is refused with the reason.
  ModelConfig plain_config = config;
  plain_config.attention_length = 0;
  auto foreign = make_recurrent_model(plain_config)->initial_state(1);
  EXPECT_THROW_WITH(model->step(torch::zeros({1}, torch::kLong), *foreign), Error,
                    {"no window of 5 outputs for the attention"});
}

TEST(ModelsRecurrent, CountParametersFollowsTheLayerFormulas) {
  ModelConfig config = small_config("lstm", InputKind::kTokens, false);  // V 13, E 6, C 10, L 3
  const int64_t V = 13, E = 6, C = 10;
  int64_t per_layer_0 = 4 * C * E + 4 * C * C + 8 * C;
  int64_t per_layer_n = 4 * C * C + 4 * C * C + 8 * C;
  EXPECT_EQ(count_parameters(*make_recurrent_model(config)), V * E + per_layer_0 + 2 * per_layer_n + C * V + V);
  config.family = "rnn";
  EXPECT_EQ(count_parameters(*make_recurrent_model(config)),
            V * E + (C * E + C * C + 2 * C) + 2 * (2 * C * C + 2 * C) + C * V + V);
}

TEST(ModelsRecurrent, DropoutIsActiveOnlyInTraining) {
  ModelConfig config = small_config("lstm", InputKind::kTokens, true);
  config.dropout = 0.5;
  torch::manual_seed(5);
  auto model = make_recurrent_model(config);
  auto input = random_input(config, 2, 6);
  model->train();
  EXPECT_GT(max_abs_diff(model->forward(input), model->forward(input)), 1e-4);
  model->eval();
  EXPECT_EQ(max_abs_diff(model->forward(input), model->forward(input)), 0.0);
  EXPECT_LT(max_abs_diff(model->forward(input), logits_by_steps(*model, input)), 1e-5);
}

TEST(ModelsRecurrent, BadConfigsAndInputsAreClearErrors) {
  auto bad = [](auto change) {
    ModelConfig config = small_config("gru", InputKind::kTokens, false);
    change(config);
    return config;
  };
  EXPECT_THROW_WITH(make_recurrent_model(bad([](ModelConfig& c) { c.family = "transformer"; })), Error,
                    {"unknown recurrent family \"transformer\"", "rnn, lstm or gru"});
  EXPECT_THROW_WITH(make_recurrent_model(bad([](ModelConfig& c) { c.vocab_size = 0; })), Error,
                    {"\"vocab_size\" must be set", "got 0"});
  EXPECT_THROW_WITH(make_recurrent_model(bad([](ModelConfig& c) { c.hidden_size = -3; })), Error,
                    {"\"hidden_size\"", "[1, 16384]", "got -3"});
  EXPECT_THROW_WITH(make_recurrent_model(bad([](ModelConfig& c) { c.num_layers = 0; })), Error,
                    {"\"num_layers\"", "[1, 128]", "got 0"});
  EXPECT_THROW_WITH(make_recurrent_model(bad([](ModelConfig& c) { c.dropout = 1.0; })), Error,
                    {"\"dropout\"", "[0, 0.99]", "got 1.0"});
  EXPECT_THROW_WITH(cadenza::testing::test_sequence_model(bad([](ModelConfig& c) { c.family = "mamba"; })), Error,
                    {"unknown recurrent family \"mamba\"", "rnn, lstm or gru"});

  auto model = make_recurrent_model(small_config("gru", InputKind::kTokens, false));
  try {
    model->forward(torch::full({1, 4}, 13, torch::kLong));
    ADD_FAILURE() << "token 13 of a vocabulary of 13 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[0, 13)"), std::string::npos) << e.what();
  }
  EXPECT_THROW_WITH(model->forward(torch::zeros({1, 4}, torch::kFloat)), Error,
                    {"tokens must be int64", "[1, 4] float"});  // tokens must be int64
  EXPECT_THROW_WITH(model->forward(torch::zeros({4}, torch::kLong)), Error,
                    {"expects tokens of shape (B, T)", "[4] long"});  // (B, T) needed
  EXPECT_THROW_WITH(model->forward(torch::zeros({1, 0}, torch::kLong)), Error, {"empty input", "[1, 0]"});  // empty
  auto state = model->initial_state(2);
  EXPECT_THROW_WITH(
      model->step(torch::zeros({3}, torch::kLong), *state), Error,
      {"state does not match this model and a batch of 3", "it holds 2 sequences"});  // batch differs from the state
  DecodeState foreign;
  EXPECT_THROW_WITH(model->step(torch::zeros({2}, torch::kLong), foreign), Error,
                    {"step() needs the state made by this model's initial_state()"});  // not a recurrent state

  auto frames = make_recurrent_model(small_config("rnn", InputKind::kFrames, false));
  EXPECT_THROW_WITH(frames->forward(torch::zeros({1, 4, 12})), Error,
                    {"expects frames of shape (B, T, 13)", "[1, 4, 12] float"});  // V is 13
  EXPECT_NO_THROW(frames->forward(torch::zeros({1, 4, 13}, torch::kBool)));
}

// ---- ModelConfig and the factory ----------------------------------------------------------------------------

TEST(ModelsConfig, JsonRoundTripsEveryField) {
  ModelConfig config;
  config.family = "gru";
  config.input_kind = InputKind::kFrames;
  config.vocab_size = 88;
  config.embedding_size = 32;
  config.hidden_size = 48;
  config.num_layers = 3;
  config.dropout = 0.25;
  config.residual = true;
  config.num_heads = 6;
  config.feedforward_size = 100;
  config.max_sequence_length = 77;
  config.relative_attention = false;
  config.max_relative_distance = 9;
  config.attention_length = 12;
  auto json = config.to_json();
  EXPECT_EQ(json["input_kind"], "frames");
  auto back = ModelConfig::from_json(nlohmann::json::parse(json.dump()));
  EXPECT_EQ(back.to_json(), json);
  EXPECT_EQ(back.input_kind, InputKind::kFrames);
  EXPECT_EQ(back.dropout, 0.25);
  EXPECT_FALSE(back.relative_attention);
  // Absent keys take the defaults.
  auto minimal = ModelConfig::from_json({{"family", "rnn"}, {"vocab_size", 5}});
  EXPECT_EQ(minimal.hidden_size, ModelConfig().hidden_size);
  EXPECT_EQ(minimal.input_kind, InputKind::kTokens);
  EXPECT_EQ(minimal.attention_length, 0);  // checkpoints written before attention: off
  EXPECT_EQ(back.attention_length, 12);
}

TEST(ModelsConfig, FromJsonRejectsBadValuesWithTheKeyInTheMessage) {
  const nlohmann::json good = {{"family", "lstm"}, {"vocab_size", 5}};
  auto with = [&](const std::string& key, nlohmann::json value) {
    nlohmann::json json = good;
    json[key] = std::move(value);
    return json;
  };
  auto rejects = [&](nlohmann::json json, const std::string& key) {
    try {
      ModelConfig::from_json(json);
      ADD_FAILURE() << "accepted " << json.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  rejects(nlohmann::json::array(), "JSON object");
  rejects(with("hidden_sise", 3), "hidden_sise");
  rejects(with("hidden_size", "big"), "hidden_size");
  rejects(with("hidden_size", 1.5), "hidden_size");
  rejects(with("residual", 1), "residual");
  rejects(with("input_kind", "audio"), "input_kind");
  // An unknown family name is the registry's to refuse (test_families_registry.cpp), not ModelConfig's.
  rejects(with("vocab_size", 0), "vocab_size");
  rejects(with("dropout", -0.1), "dropout");
  rejects({{"family", "lstm"}}, "vocab_size");
}

TEST(ModelsConfig, MakeSequenceModelDispatchesOnFamily) {
  for (const char* family : {"rnn", "lstm", "gru"}) {
    ModelConfig config = small_config(family, InputKind::kTokens, false);
    auto model = cadenza::testing::test_sequence_model(config);
    auto* recurrent = dynamic_cast<RecurrentModelImpl*>(model.get());
    ASSERT_NE(recurrent, nullptr) << family;
    EXPECT_EQ(recurrent->family(), parse_recurrent_family(family));
  }
  ModelConfig transformer = small_config("lstm", InputKind::kTokens, false);
  transformer.family = "transformer";
  transformer.embedding_size = 0;
  transformer.hidden_size = 8;
  transformer.num_heads = 2;
  auto model = cadenza::testing::test_sequence_model(transformer);
  EXPECT_EQ(dynamic_cast<RecurrentModelImpl*>(model.get()), nullptr);
  EXPECT_EQ(model->forward(torch::zeros({1, 3}, torch::kLong)).sizes(), torch::IntArrayRef({1, 3, 13}));
  transformer.attention_length = 4;  // the recurrent families' key
  EXPECT_THROW_WITH(cadenza::testing::test_sequence_model(transformer), Error,
                    {"attention_length is for the recurrent families"});
}

// ---- losses ----------------------------------------------------------------------------------------------------

TEST(ModelsLosses, TokenCrossEntropyIgnoresPaddedTargetsOnly) {
  torch::manual_seed(11);
  auto logits = torch::randn({2, 4, 5});
  auto tokens = torch::tensor({{1, 2, 3, 4}, {3, 1, 0, 0}}, torch::kLong);
  auto loss = token_cross_entropy(logits, tokens, /*pad_id=*/0);
  // By hand: the 5 real targets (3 of sequence 0, targets 1 of sequence 1; its targets 0, 0 are padding).
  auto log_probs = torch::log_softmax(logits, -1);
  double total = 0;
  std::vector<std::tuple<int, int, int>> scored = {{0, 0, 2}, {0, 1, 3}, {0, 2, 4}, {1, 0, 1}};
  for (auto [b, t, target] : scored) total -= log_probs[b][t][target].item<double>();
  EXPECT_NEAR(loss.item<double>(), total / scored.size(), 1e-6);
  // Logits at positions whose target is padding, and at the last position, do not matter.
  auto changed = logits.clone();
  changed[1][1].fill_(9.0);
  changed[0][3].fill_(-9.0);
  EXPECT_NEAR(token_cross_entropy(changed, tokens, 0).item<double>(), loss.item<double>(), 1e-6);
  EXPECT_EQ(token_cross_entropy(logits, torch::zeros({2, 4}, torch::kLong), 0).item<double>(), 0.0);
}

// Weighted targets: each scored position's loss times its target's weight, summed, divided by the number of scored
// positions (not by the weights), checked by hand; with every weight 1 it is the plain loss.
TEST(ModelsLosses, WeightedTokenCrossEntropyWeighsEachTargetAndStillDividesByTheirCount) {
  torch::manual_seed(13);
  auto logits = torch::randn({2, 4, 5});
  auto tokens = torch::tensor({{1, 2, 3, 4}, {3, 1, 0, 0}}, torch::kLong);
  auto weights = torch::tensor({1.0f, 1.0f, 3.0f, 1.0f, 10.0f});  // token 2 counts 3 times, token 4 ten times
  auto loss = weighted_token_cross_entropy(logits, tokens, /*pad_id=*/0, weights);
  auto log_probs = torch::log_softmax(logits, -1);
  const double weight_of[] = {1, 1, 3, 1, 10};
  double total = 0;
  std::vector<std::tuple<int, int, int>> scored = {{0, 0, 2}, {0, 1, 3}, {0, 2, 4}, {1, 0, 1}};
  for (auto [b, t, target] : scored) total -= weight_of[target] * log_probs[b][t][target].item<double>();
  EXPECT_NEAR(loss.item<double>(), total / scored.size(), 1e-6);
  EXPECT_NEAR(weighted_token_cross_entropy(logits, tokens, 0, torch::ones({5})).item<double>(),
              token_cross_entropy(logits, tokens, 0).item<double>(), 1e-6);
  // The gradient of a weight-10 target's logits is ten times its unweighted gradient.
  auto leaf = logits.clone().requires_grad_(true);
  weighted_token_cross_entropy(leaf, tokens, 0, weights).backward();
  auto plain_leaf = logits.clone().requires_grad_(true);
  token_cross_entropy(plain_leaf, tokens, 0).backward();
  EXPECT_TRUE(torch::allclose(leaf.grad()[0][2], 10.0 * plain_leaf.grad()[0][2], 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(leaf.grad()[0][1], plain_leaf.grad()[0][1], 1e-5, 1e-6));
  EXPECT_THROW_WITH(weighted_token_cross_entropy(logits, tokens, 0, torch::ones({4})), Error,
                    {"target_weights must be (V) = (5)", "[4]"});
}

TEST(ModelsLosses, FrameNllSumsKeysAndAveragesRealFrames) {
  torch::manual_seed(12);
  auto logits = torch::randn({1, 3, 4});
  auto frames = torch::bernoulli(torch::full({1, 3, 4}, 0.5));
  auto mask = torch::tensor({{true, true, false}});
  double expected = 0;  // one scored frame: target frame 1 from logits at 0
  for (int k = 0; k < 4; ++k) {
    double p = 1.0 / (1.0 + std::exp(-logits[0][0][k].item<double>()));
    expected -= frames[0][1][k].item<double>() > 0.5 ? std::log(p) : std::log(1 - p);
  }
  EXPECT_NEAR(frame_nll(logits, frames, mask).item<double>(), expected, 1e-5);
  EXPECT_GT(frame_nll(logits, frames).item<double>(), 0.0);
  EXPECT_THROW_WITH(frame_nll(logits, frames.narrow(2, 0, 3)), Error,
                    {"frame_nll", "(B, T, V) like the logits", "logits [1, 3, 4]", "frames [1, 3, 3]"});
}

// ---- the PyTorch reference fixtures -----------------------------------------------------------------------------

class RecurrentMatchesPyTorch : public testing::PyTorchFixtureTest {};

TEST_P(RecurrentMatchesPyTorch, LogitsLossGradientsAndAdamWSteps) {
  auto model = cadenza::testing::test_sequence_model(config_);
  load_module_tensors(*model, file_, path_, "model.");
  model->train();  // dropout is 0 in the fixtures
  auto input = get("input");

  auto logits = model->forward(input);
  EXPECT_LT(max_abs_diff(logits, get("logits")), 1e-5);
  auto loss = loss_of(logits);
  EXPECT_NEAR(loss.item<double>(), get("loss").item<double>(), 1e-5);
  loss.backward();
  for (const auto& item : model->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_LT(max_abs_diff(item.value().grad(), get("grad." + item.key())), 1e-5) << item.key();
  }

  // step() reproduces the reference logits too.
  EXPECT_LT(max_abs_diff(logits_by_steps(*model, input), get("logits")), 1e-5);

  const double clip_norm = metadata_number("clip_norm");
  EXPECT_GT(get("grad_norm").item<double>(), clip_norm) << "fixture should exercise clipping";
  torch::optim::AdamW optimizer(
      model->parameters(),
      torch::optim::AdamWOptions(metadata_number("adamw_lr")).weight_decay(metadata_number("adamw_weight_decay")));
  auto reference_losses = get("adamw.losses");
  ASSERT_EQ(reference_losses.numel(), std::stoll(file_.metadata.at("adamw_steps")));
  for (int64_t i = 0; i < reference_losses.numel(); ++i) {
    optimizer.zero_grad();
    auto step_loss = loss_of(model->forward(input));
    step_loss.backward();
    double norm = torch::nn::utils::clip_grad_norm_(model->parameters(), clip_norm);
    if (i == 0) {
      EXPECT_NEAR(norm, get("grad_norm").item<double>(), 1e-5);
    }
    optimizer.step();
    EXPECT_NEAR(step_loss.item<double>(), reference_losses[i].item<double>(), 1e-5) << "AdamW step " << i;
  }
  for (const auto& item : model->named_parameters())
    EXPECT_LT(max_abs_diff(item.value(), get("adamw.model." + item.key())), 1e-5) << item.key();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RecurrentMatchesPyTorch,
                         ::testing::Values("rnn_tokens", "rnn_frames", "lstm_tokens", "lstm_frames", "gru_tokens",
                                           "gru_frames", "rnn_tokens_residual", "lstm_frames_residual",
                                           "gru_tokens_residual", "lstm_tokens_attention", "gru_frames_attention",
                                           "rnn_tokens_residual_attention"));

}  // namespace
}  // namespace cadenza::models
