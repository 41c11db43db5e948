// The Transformer family: relative attention (skew vs naive), step() with the KV cache vs forward(), causality,
// config and input errors, and agreement with an independent PyTorch implementation (fixtures).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <tuple>

#include "common/error.h"
#include "common/safetensors.h"
#include "models/factories.h"
#include "models/losses.h"
#include "models/relative_attention.h"
#include "models/tensor_io.h"
#include "models/transformer.h"
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

ModelConfig small_config(InputKind kind, bool relative) {
  ModelConfig config;
  config.family = "transformer";
  config.input_kind = kind;
  config.vocab_size = 11;
  config.hidden_size = 24;
  config.num_layers = 3;
  config.num_heads = 3;
  config.feedforward_size = 40;
  config.max_sequence_length = 64;
  config.relative_attention = relative;
  config.max_relative_distance = 20;  // < T in the tests below: distances clip
  config.dropout = 0.1;               // eval() must switch it off
  return config;
}

// GPT-2 initialisation makes every layer nearly the identity; larger random weights make attention and positions
// dominate the logits so that a mistake in them cannot hide below the tolerance.
void randomize(torch::nn::Module& module, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) p.normal_(0.0, 0.3);
}

torch::Tensor random_input(const ModelConfig& config, int64_t B, int64_t T) {
  if (config.input_kind == InputKind::kTokens) return torch::randint(config.vocab_size, {B, T}, torch::kLong);
  return torch::bernoulli(torch::full({B, T, config.vocab_size}, 0.3));
}

// ---- relative attention: skewing == the O(T^2 D) definition -------------------------------------------------

TEST(RelativeAttention, SkewEqualsNaiveGather) {
  torch::manual_seed(1);
  const int64_t B = 2, H = 3, T = 23, D = 5;
  auto q = torch::randn({B, H, T, D});
  auto past = torch::ones({T, T}, torch::kBool).tril();
  for (int64_t M : {int64_t{40}, T, int64_t{7}, int64_t{1}}) {  // more, as many, fewer (clipping), one distance
    auto keys = torch::randn({H, M, D});
    auto fast = relative_logits(q, keys).masked_fill(past.logical_not(), 0.0);  // (B, H, T, T)
    auto naive = relative_logits_naive(q, keys);
    ASSERT_EQ(fast.sizes(), naive.sizes());
    EXPECT_LT(max_abs_diff(fast, naive), 1e-6) << "M = " << M;
    // Spot check the naive definition itself: entry (i, j) uses embedding min(i - j, M - 1).
    for (auto [i, j] : {std::pair<int64_t, int64_t>{5, 5}, {9, 2}, {T - 1, 0}}) {
      auto expected = (q[1][2][i] * keys[2][std::min(i - j, M - 1)]).sum().item<double>();
      EXPECT_NEAR(naive[1][2][i][j].item<double>(), expected, 1e-5);
    }
  }
}

TEST(RelativeAttention, LastQueryRowEqualsNaiveRow) {
  torch::manual_seed(2);
  const int64_t B = 2, H = 2, D = 4;
  for (int64_t M : {int64_t{6}, int64_t{30}}) {
    auto keys = torch::randn({H, M, D});
    for (int64_t length : {int64_t{1}, int64_t{5}, int64_t{6}, int64_t{7}, int64_t{19}}) {
      auto q = torch::randn({B, H, length, D});
      auto naive = relative_logits_naive(q, keys).select(2, length - 1);  // (B, H, length)
      auto row = relative_logits_last_query(q.select(2, length - 1), keys, length);
      ASSERT_EQ(row.sizes(), naive.sizes());
      EXPECT_LT(max_abs_diff(row, naive), 1e-6) << "M = " << M << " length = " << length;
    }
  }
}

// ---- step() with the KV cache reproduces forward() ----------------------------------------------------------

class TransformerStep : public ::testing::TestWithParam<std::tuple<InputKind, bool, bool, int64_t>> {};

TEST_P(TransformerStep, ReproducesForwardLogits) {
  const auto [kind, relative, matrix_vector, B] = GetParam();
  auto config = small_config(kind, relative);
  TransformerModelImpl model(config);
  randomize(model, 3);
  model.eval();
  model.set_matrix_vector_step(matrix_vector);
  const int64_t T = config.max_sequence_length;
  auto input = random_input(config, B, T);

  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = model.forward(input);  // (B, T, V)
  }
  ASSERT_EQ(expected.sizes(), (std::vector<int64_t>{B, T, config.vocab_size}));
  ASSERT_GT(expected.abs().max().item<double>(), 1.0);  // logits large enough for the tolerance to mean something

  auto state = model.initial_state(B);
  double worst = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    auto logits = model.step(input.select(1, t), *state);  // (B, V)
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{B, config.vocab_size}));
    EXPECT_FALSE(logits.requires_grad());
    worst = std::max(worst, max_abs_diff(logits, expected.select(1, t)));
  }
  EXPECT_LT(worst, 1e-5);
  EXPECT_EQ(dynamic_cast<TransformerDecodeState&>(*state).length, T);
}

INSTANTIATE_TEST_SUITE_P(AllVariants, TransformerStep,
                         ::testing::Combine(::testing::Values(InputKind::kTokens, InputKind::kFrames),
                                            ::testing::Bool(), ::testing::Bool(),
                                            ::testing::Values(int64_t{1}, int64_t{3})),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == InputKind::kTokens ? "Tokens" : "Frames") +
                                  (std::get<1>(info.param) ? "Relative" : "Absolute") +
                                  (std::get<2>(info.param) ? "MatVec" : "Linear") + "Batch" +
                                  std::to_string(std::get<3>(info.param));
                         });

TEST(TransformerStep, CacheGrowsPastInitialCapacityWithRelativeAttention) {
  auto config = small_config(InputKind::kTokens, true);
  config.max_sequence_length = 32;  // relative attention is not limited by it; distances clip at 20
  config.num_layers = 2;
  TransformerModelImpl model(config);
  randomize(model, 4);
  model.eval();
  const int64_t T = 150;  // cache 64 -> 128 -> 256
  auto input = random_input(config, 2, T);
  torch::NoGradGuard no_grad;
  auto expected = model.forward(input);
  auto state = model.initial_state(2);
  double worst = 0.0;
  for (int64_t t = 0; t < T; ++t)
    worst = std::max(worst, max_abs_diff(model.step(input.select(1, t), *state), expected.select(1, t)));
  EXPECT_LT(worst, 1e-5);
}

TEST(TransformerStep, AbsolutePositionsStopAtMaxSequenceLength) {
  auto config = small_config(InputKind::kTokens, false);
  config.max_sequence_length = 4;
  TransformerModelImpl model(config);
  model.eval();
  EXPECT_THROW_WITH(model.forward(torch::zeros({1, 5}, torch::kLong)), Error,
                    {"forward()", "5 steps exceed max_sequence_length 4"});
  auto state = model.initial_state(1);
  for (int t = 0; t < 4; ++t) model.step(torch::zeros({1}, torch::kLong), *state);
  EXPECT_THROW_WITH(model.step(torch::zeros({1}, torch::kLong), *state), Error,
                    {"step()", "position 4 is past max_sequence_length 4"});
}

// ---- causality ----------------------------------------------------------------------------------------------

TEST(Transformer, ChangingStepTDoesNotChangeEarlierLogits) {
  for (auto kind : {InputKind::kTokens, InputKind::kFrames}) {
    for (bool relative : {true, false}) {
      auto config = small_config(kind, relative);
      TransformerModelImpl model(config);
      randomize(model, 5);
      model.eval();
      torch::NoGradGuard no_grad;
      const int64_t T = 30, t = 17;
      auto input = random_input(config, 2, T);
      auto changed = input.clone();
      if (kind == InputKind::kTokens) {
        changed.select(1, t).add_(1).remainder_(config.vocab_size);
      } else {
        changed.select(1, t).sub_(1).abs_();  // flip every key of frame t
      }
      auto before = model.forward(input), after = model.forward(changed);
      EXPECT_LT(max_abs_diff(before.narrow(1, 0, t), after.narrow(1, 0, t)), 1e-6);
      EXPECT_GT(max_abs_diff(before.narrow(1, t, T - t), after.narrow(1, t, T - t)), 1e-3)
          << "a change at t must reach the logits at t and later";
    }
  }
}

// ---- structure, dropout, errors -----------------------------------------------------------------------------

TEST(Transformer, ParameterNamesAndShapes) {
  auto config = small_config(InputKind::kTokens, true);
  TransformerModelImpl model(config);
  auto params = model.named_parameters();
  const int64_t V = 11, C = 24, H = 3, D = 8, F = 40, M = 20;
  std::map<std::string, std::vector<int64_t>> expected = {
      {"embedding.weight", {V, C}},
      {"blocks.2.ln_1.weight", {C}},
      {"blocks.2.attention.qkv.weight", {3 * C, C}},
      {"blocks.2.attention.qkv.bias", {3 * C}},
      {"blocks.2.attention.proj.weight", {C, C}},
      {"blocks.2.attention.relative_keys", {H, M, D}},
      {"blocks.2.ln_2.bias", {C}},
      {"blocks.2.mlp.fc.weight", {F, C}},
      {"blocks.2.mlp.proj.weight", {C, F}},
      {"ln_f.weight", {C}},
      {"head.weight", {V, C}},
      {"head.bias", {V}},
  };
  for (const auto& [name, shape] : expected) {
    ASSERT_TRUE(params.contains(name)) << name;
    EXPECT_EQ(params[name].sizes(), shape) << name;
  }
  EXPECT_FALSE(params.contains("position_embedding.weight"));
  EXPECT_EQ(params.size(), 1 + 3 * 13 + 2 + 2);  // embedding; 13 per block; ln_f; head

  auto absolute = TransformerModelImpl(small_config(InputKind::kFrames, false)).named_parameters();
  EXPECT_TRUE(absolute.contains("input_projection.weight"));
  EXPECT_EQ(absolute["position_embedding.weight"].sizes(), (std::vector<int64_t>{64, C}));
  EXPECT_FALSE(absolute.contains("blocks.0.attention.relative_keys"));

  config.max_relative_distance = 0;  // 0 = max_sequence_length
  auto defaulted = TransformerModelImpl(config).named_parameters();
  EXPECT_EQ(defaulted["blocks.0.attention.relative_keys"].sizes(), (std::vector<int64_t>{H, 64, D}));
}

TEST(Transformer, DropoutOnlyInTraining) {
  auto config = small_config(InputKind::kTokens, true);
  config.dropout = 0.5;
  auto model = make_transformer_model(config);
  auto input = random_input(config, 2, 10);
  model->train();
  EXPECT_GT(max_abs_diff(model->forward(input), model->forward(input)), 1e-4);
  model->eval();
  EXPECT_EQ(max_abs_diff(model->forward(input), model->forward(input)), 0.0);
}

TEST(Transformer, RejectsBadConfigs) {
  auto bad = [](auto change) {
    auto config = small_config(InputKind::kTokens, true);
    change(config);
    return config;
  };
  EXPECT_THROW_WITH(make_transformer_model(bad([](ModelConfig& c) { c.num_heads = 5; })), Error,
                    {"num_heads (5)", "divide hidden_size (24)"});  // 24 % 5 != 0
  EXPECT_THROW_WITH(make_transformer_model(bad([](ModelConfig& c) { c.vocab_size = 0; })), Error,
                    {"\"vocab_size\" must be set", "got 0"});
  EXPECT_THROW_WITH(make_transformer_model(bad([](ModelConfig& c) { c.num_layers = 0; })), Error,
                    {"\"num_layers\"", "[1, 128]", "got 0"});
  EXPECT_THROW_WITH(make_transformer_model(bad([](ModelConfig& c) { c.embedding_size = 16; })), Error,
                    {"embedding_size must be 0 or equal hidden_size", "got 16"});
  EXPECT_THROW_WITH(make_transformer_model(bad([](ModelConfig& c) { c.dropout = 1.0; })), Error,
                    {"\"dropout\"", "[0, 0.99]", "got 1.0"});
  EXPECT_THROW_WITH(make_transformer_model(bad([](ModelConfig& c) { c.max_relative_distance = -1; })), Error,
                    {"\"max_relative_distance\"", "[0, 1048576]", "got -1"});
  try {
    make_transformer_model(bad([](ModelConfig& c) { c.num_heads = 5; }));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("num_heads"), std::string::npos) << e.what();
  }
}

struct OtherState : DecodeState {};

TEST(Transformer, RejectsBadInputsWithoutCorruptingTheCache) {
  auto tokens = make_transformer_model(small_config(InputKind::kTokens, true));
  tokens->eval();
  EXPECT_THROW_WITH(tokens->forward(torch::zeros({2, 5}, torch::kInt)), Error,
                    {"expected (B, T) int64 token ids", "got [2, 5] int"});  // not int64
  EXPECT_THROW_WITH(tokens->forward(torch::zeros({2, 5, 11}, torch::kLong)), Error,
                    {"expected (B, T) int64 token ids", "got [2, 5, 11] long"});  // wrong rank
  EXPECT_THROW_WITH(tokens->forward(torch::full({2, 5}, 11, torch::kLong)), Error,
                    {"token id 11 outside the vocabulary [0, 11)"});  // id == V
  EXPECT_THROW_WITH(tokens->forward(torch::full({2, 5}, -1, torch::kLong)), Error,
                    {"token id -1 outside the vocabulary [0, 11)"});  // negative id
  auto state = tokens->initial_state(2);
  EXPECT_THROW_WITH(tokens->step(torch::zeros({3}, torch::kLong), *state), Error,
                    {"step()", "batch of 3 but the state holds 2 sequences"});  // batch mismatch
  EXPECT_THROW_WITH(tokens->step(torch::full({2}, 99, torch::kLong), *state), Error,
                    {"step()", "token id 99 outside the vocabulary [0, 11)"});  // id out of range
  OtherState other;
  EXPECT_THROW_WITH(tokens->step(torch::zeros({2}, torch::kLong), other), Error,
                    {"step()", "not made by a transformer's initial_state()"});  // foreign state
  EXPECT_EQ(dynamic_cast<TransformerDecodeState&>(*state).length, 0);            // nothing advanced
  EXPECT_THROW_WITH(tokens->initial_state(0), Error, {"initial_state()", "batch size must be positive", "got 0"});

  auto frames = make_transformer_model(small_config(InputKind::kFrames, false));
  EXPECT_THROW_WITH(frames->forward(torch::zeros({2, 5, 10})), Error,
                    {"expected (B, T, 11) floating-point frames", "got [2, 5, 10] float"});  // 10 keys, V = 11
  EXPECT_THROW_WITH(frames->forward(torch::zeros({2, 5, 11}, torch::kLong)), Error,
                    {"expected (B, T, 11) floating-point frames", "got [2, 5, 11] long"});  // not floating point
  auto frame_state = frames->initial_state(1);
  EXPECT_THROW_WITH(
      frames->step(torch::zeros({1, 5, 11}), *frame_state), Error,
      {"step()", "expected (B, 11) floating-point frames", "got [1, 5, 11] float"});  // a sequence, not a step
}

// ---- the PyTorch reference (tests/fixtures/make_transformer_fixtures.py) -------------------------------------

class TransformerMatchesPyTorch : public testing::PyTorchFixtureTest {};

TEST_P(TransformerMatchesPyTorch, LogitsLossGradientsAndAdamWSteps) {
  ASSERT_EQ(config_.family, "transformer");
  auto model = cadenza::testing::test_sequence_model(config_);
  load_module_tensors(*model, file_, path_, "model.");  // every parameter present, by name, with its shape
  model->train();                                       // dropout is 0 in the fixtures
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

  {  // step() with the KV cache reproduces the reference logits too
    model->eval();
    auto state = model->initial_state(input.size(0));
    for (int64_t t = 0; t < input.size(1); ++t) {
      EXPECT_LT(max_abs_diff(model->step(input.select(1, t), *state), get("logits").select(1, t)), 1e-5) << t;
    }
    model->train();
  }

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
  // The key part of qkv.bias is left out: adding b to every key adds q.b to a whole row of attention scores, which
  // the softmax ignores, so its gradient is 0 up to round-off (~1e-9; checked below). Adam divides a gradient by its
  // own running magnitude, so it turns that round-off into steps of ~lr whose sign differs between any two
  // implementations: those entries carry no information.
  const int64_t C = config_.hidden_size;
  for (const auto& item : model->named_parameters()) {
    auto ours = item.value(), reference = get("adamw.model." + item.key());
    if (item.key().ends_with("attention.qkv.bias")) {
      EXPECT_LT(get("grad." + item.key()).narrow(0, C, C).abs().max().item<double>(), 1e-6) << item.key();
      ours = torch::cat({ours.narrow(0, 0, C), ours.narrow(0, 2 * C, C)});
      reference = torch::cat({reference.narrow(0, 0, C), reference.narrow(0, 2 * C, C)});
    }
    EXPECT_LT(max_abs_diff(ours, reference), 1e-5) << item.key();
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TransformerMatchesPyTorch,
                         ::testing::Values("transformer_tokens", "transformer_frames", "transformer_tokens_absolute",
                                           "transformer_frames_absolute"));

}  // namespace
}  // namespace cadenza::models
