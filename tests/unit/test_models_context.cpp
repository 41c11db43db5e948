// The step context (bar position + lookback tokens, models/sequence_model.h) on every token backbone: step() with
// the context of each position reproduces forward() over the whole sequence, the context really changes the
// logits, the embeddings carry the PyTorch attribute names, and a missing or malformed context is a clear error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "common/error.h"
#include "models/factories.h"
#include "support/sequence_models.h"
#include "support/test_support.h"

namespace cadenza::models {
namespace {

constexpr int64_t kVocab = 13;
constexpr int64_t kPositions = 9;

ModelConfig context_config(const std::string& family, int64_t lookback) {
  ModelConfig config;
  config.family = family;
  config.input_kind = InputKind::kTokens;
  config.vocab_size = kVocab;
  config.embedding_size = family == "transformer" ? 0 : 6;
  config.hidden_size = family == "transformer" ? 16 : 10;
  config.num_layers = 2;
  if (family == "transformer") {
    config.num_heads = 2;
    config.max_sequence_length = 64;
  }
  config.context_positions = kPositions;
  config.context_lookback = lookback;
  return config;
}

// (B, T, 3): positions in [0, kPositions), lookback tokens in [0, kVocab] (kVocab = none).
torch::Tensor random_context(int64_t B, int64_t T) {
  return torch::stack(
      {torch::randint(kPositions, {B, T}, torch::kLong), torch::randint(kVocab + 1, {B, T}, torch::kLong),
       torch::randint(kVocab + 1, {B, T}, torch::kLong)},
      -1);
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

class ContextBackbone : public ::testing::TestWithParam<std::string> {};

TEST_P(ContextBackbone, StepWithContextReproducesForward) {
  for (int64_t lookback : {0, 1, 2}) {
    torch::manual_seed(11);
    auto model = testing::test_sequence_model(context_config(GetParam(), lookback));
    model->eval();
    torch::NoGradGuard no_grad;
    const int64_t B = 3, T = 12;
    const torch::Tensor input = torch::randint(kVocab, {B, T}, torch::kLong);
    const torch::Tensor context = random_context(B, T);
    const torch::Tensor full = model->forward(input, context);  // (B, T, V)
    ASSERT_EQ(full.sizes(), (std::vector<int64_t>{B, T, kVocab}));
    auto state = model->initial_state(B);
    for (int64_t t = 0; t < T; ++t) {
      const torch::Tensor logits = model->step(input.select(1, t), *state, context.select(1, t));
      EXPECT_LT(max_abs_diff(logits, full.select(1, t)), 1e-5) << GetParam() << " lookback " << lookback << " t " << t;
    }
    // The context is read: another context gives other logits from the first position on.
    const torch::Tensor other = model->forward(input, (context + 1).remainder(kPositions));
    EXPECT_GT(max_abs_diff(other.select(1, 0), full.select(1, 0)), 1e-4) << GetParam();
  }
}

TEST_P(ContextBackbone, EmbeddingsHaveThePyTorchNamesAndShapes) {
  auto model = testing::test_sequence_model(context_config(GetParam(), 2));
  const auto parameters = model->named_parameters();
  const int64_t width = GetParam() == "transformer" ? 16 : 6;
  ASSERT_TRUE(parameters.contains("bar_position.weight"));
  EXPECT_EQ(parameters["bar_position.weight"].sizes(), (std::vector<int64_t>{kPositions, width}));
  for (const char* name : {"lookback.0.weight", "lookback.1.weight"}) {
    ASSERT_TRUE(parameters.contains(name)) << name;
    EXPECT_EQ(parameters[name].sizes(), (std::vector<int64_t>{kVocab + 1, width})) << name;
  }
  // A model without a context has none of them (older checkpoints load unchanged).
  ModelConfig plain = context_config(GetParam(), 0);
  plain.context_positions = 0;
  auto plain_model = testing::test_sequence_model(plain);
  for (const auto& item : plain_model->named_parameters()) {
    EXPECT_EQ(item.key().rfind("bar_position", 0), std::string::npos) << item.key();
    EXPECT_EQ(item.key().rfind("lookback", 0), std::string::npos) << item.key();
  }
  EXPECT_FALSE(plain_model->reads_context());
  EXPECT_TRUE(model->reads_context());
}

TEST_P(ContextBackbone, MissingOrMalformedContextIsAClearError) {
  auto model = testing::test_sequence_model(context_config(GetParam(), 2));
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor input = torch::randint(kVocab, {2, 5}, torch::kLong);
  EXPECT_THROW_WITH(model->forward(input), Error, {"reads a step context", "none was given"});
  EXPECT_THROW_WITH(model->forward(input, random_context(2, 4)), Error, {"(B, T, 3)"});
  torch::Tensor bad = random_context(2, 5);
  bad.select(-1, 0).fill_(kPositions);
  EXPECT_THROW_WITH(model->forward(input, bad), Error, {"positions", "[0, 9)", "found"});
  bad = random_context(2, 5);
  bad.select(-1, 2).fill_(-1);
  EXPECT_THROW_WITH(model->forward(input, bad), Error, {"lookback tokens (2 bars)", "[0, 14)"});
  auto state = model->initial_state(2);
  EXPECT_THROW_WITH(model->step(input.select(1, 0), *state), Error, {"none was given"});
  EXPECT_THROW_WITH(model->step(input.select(1, 0), *state, random_context(2, 1)), Error, {"(B, 3)"});
}

INSTANTIATE_TEST_SUITE_P(Families, ContextBackbone, ::testing::Values("rnn", "lstm", "gru", "transformer"));

}  // namespace
}  // namespace cadenza::models
