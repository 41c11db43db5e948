// DecodeState::select_rows(): reordering and duplicating batch rows of a decoding state mid-sequence must leave
// every selected row exactly where a fresh single-sequence decode of the same tokens would be.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "models/recurrent.h"
#include "models/sequence_model.h"
#include "models/transformer.h"
#include "support/sequence_models.h"
#include "support/test_support.h"

namespace cadenza::models {
namespace {

constexpr int64_t kVocab = 11;

struct Case {
  std::string name;
  std::string family;
  bool relative_attention = true;  // transformer only
  bool residual = false;           // recurrent only
};

std::shared_ptr<SequenceModelImpl> make_model(const Case& c) {
  torch::manual_seed(3);
  ModelConfig config;
  config.family = c.family;
  config.vocab_size = kVocab;
  config.hidden_size = 8;
  config.num_layers = 2;
  config.num_heads = 2;
  config.residual = c.residual;
  config.relative_attention = c.relative_attention;
  config.max_sequence_length = 128;
  auto model = cadenza::testing::test_sequence_model(config);
  model->eval();
  return model;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// Logits (T, V) of one sequence decoded alone from a fresh state; row t predicts tokens[t + 1].
torch::Tensor decode_alone(SequenceModelImpl& model, const std::vector<int64_t>& tokens) {
  auto state = model.initial_state(1);
  std::vector<torch::Tensor> logits;
  for (int64_t token : tokens) logits.push_back(model.step(torch::tensor({token}, torch::kLong), *state)[0]);
  return torch::stack(logits);
}

class DecodeStateSelectRows : public ::testing::TestWithParam<Case> {};

// Three different sequences share a batch for `before` steps; then rows {2, 0, 0} are kept and each continues with
// its own tokens. Every logit row, before and after the selection, must match that sequence decoded alone.
void check_select_then_continue(SequenceModelImpl& model, int64_t before, int64_t after) {
  const int64_t total = before + after;
  torch::manual_seed(17);
  const auto prefixes = torch::randint(kVocab, {3, before}, torch::kLong);  // (3, before)
  const auto suffixes = torch::randint(kVocab, {3, after}, torch::kLong);   // (3, after), row i continues row i
  const std::vector<int64_t> selected = {2, 0, 0};

  auto state = model.initial_state(3);
  std::vector<torch::Tensor> batch_logits;  // per step (3, V)
  for (int64_t t = 0; t < before; ++t) batch_logits.push_back(model.step(prefixes.select(1, t), *state));
  state->select_rows(torch::tensor(selected, torch::kLong));
  for (int64_t t = 0; t < after; ++t) batch_logits.push_back(model.step(suffixes.select(1, t), *state));
  const auto logits = torch::stack(batch_logits, 1);  // (3, total, V)
  ASSERT_EQ(logits.size(1), total);

  for (int64_t row = 0; row < 3; ++row) {
    const int64_t source = selected[row];
    std::vector<int64_t> tokens;
    for (int64_t t = 0; t < before; ++t) tokens.push_back(prefixes[source][t].item<int64_t>());
    for (int64_t t = 0; t < after; ++t) tokens.push_back(suffixes[row][t].item<int64_t>());
    const auto alone = decode_alone(model, tokens);  // (total, V)
    // After the selection, row `row` continues sequence `source`.
    EXPECT_LT(max_abs_diff(logits[row].narrow(0, before, after), alone.narrow(0, before, after)), 1e-5)
        << "row " << row << " (from " << source << ")";
    // Before it, the batch rows were the three prefixes in their original order.
    EXPECT_LT(max_abs_diff(logits[source].narrow(0, 0, before), alone.narrow(0, 0, before)), 1e-5)
        << "prefix " << source;
  }
  // The two copies of row 0 continued with different tokens, so they must have diverged (a selection that aliased
  // them, or ignored the rows, would not show this).
  EXPECT_GT(max_abs_diff(logits[1].narrow(0, before + 1, after - 1), logits[2].narrow(0, before + 1, after - 1)), 1e-4);
}

TEST_P(DecodeStateSelectRows, ReorderedAndDuplicatedRowsMatchFreshDecoding) {
  auto model = make_model(GetParam());
  check_select_then_continue(*model, /*before=*/5, /*after=*/6);
}

TEST_P(DecodeStateSelectRows, SelectingBeforeTheFirstStepChangesTheBatchSize) {
  auto model = make_model(GetParam());
  auto state = model->initial_state(2);
  state->select_rows(torch::tensor({1, 1, 0, 1}, torch::kLong));  // 4 rows now, nothing decoded yet
  const auto tokens = torch::tensor({3, 4, 5, 6}, torch::kLong);
  const auto logits = model->step(tokens, *state);  // (4, V)
  ASSERT_EQ(logits.size(0), 4);
  for (int64_t row = 0; row < 4; ++row) {
    const auto alone = decode_alone(*model, {tokens[row].item<int64_t>()});
    EXPECT_LT(max_abs_diff(logits[row], alone[0]), 1e-5) << "row " << row;
  }
  EXPECT_THROW_WITH(model->step(torch::tensor({3, 4}, torch::kLong), *state), Error,
                    {"batch of 2", "4 sequences"});  // the state now holds 4
}

TEST_P(DecodeStateSelectRows, BadRowsAreErrorsAndLeaveTheStateUsable) {
  auto model = make_model(GetParam());
  auto state = model->initial_state(3);
  model->step(torch::tensor({1, 2, 3}, torch::kLong), *state);
  EXPECT_THROW_WITH(state->select_rows(torch::tensor({0, 3}, torch::kLong)), Error,
                    {"select_rows()", "rows must be in [0, 3)", "found 0..3"});  // 3 is past the batch
  EXPECT_THROW_WITH(state->select_rows(torch::tensor({-1}, torch::kLong)), Error,
                    {"select_rows()", "rows must be in [0, 3)", "found -1..-1"});  // negative
  EXPECT_THROW_WITH(state->select_rows(torch::tensor({0, 1}, torch::kInt)), Error,
                    {"select_rows()", "rows must be a 1-D int64 tensor"});  // not int64
  EXPECT_THROW_WITH(state->select_rows(torch::zeros({0}, torch::kLong)), Error,
                    {"select_rows()", "rows must not be empty"});  // empty
  EXPECT_THROW_WITH(state->select_rows(torch::zeros({1, 1}, torch::kLong)), Error,
                    {"select_rows()", "rows must be a 1-D int64 tensor"});  // not 1-D
  try {
    state->select_rows(torch::tensor({5}, torch::kLong));
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("[0, 3)"), std::string::npos) << error.what();
  }
  EXPECT_NO_THROW(model->step(torch::tensor({4, 5, 6}, torch::kLong), *state));  // still a batch of 3
}

INSTANTIATE_TEST_SUITE_P(Families, DecodeStateSelectRows,
                         ::testing::Values(Case{"lstm", "lstm"}, Case{"gru", "gru"}, Case{"rnn", "rnn"},
                                           Case{"lstm_residual", "lstm", true, true},
                                           Case{"transformer", "transformer"},
                                           Case{"transformer_absolute", "transformer", false}),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// The KV cache starts at 64 positions and doubles: a selection at position 60 followed by steps past 64 must carry
// the selected rows through the growth, and keep length consistent.
TEST(DecodeStateSelectRowsTransformer, SelectionSurvivesCacheGrowth) {
  auto model = make_model(Case{"transformer", "transformer"});
  check_select_then_continue(*model, /*before=*/60, /*after=*/10);
}

TEST(DecodeStateSelectRowsTransformer, KeepsLengthAndCapacity) {
  auto model = make_model(Case{"transformer", "transformer"});
  auto state = model->initial_state(3);
  for (int i = 0; i < 4; ++i) model->step(torch::tensor({1, 2, 3}, torch::kLong), *state);
  auto& cache = dynamic_cast<TransformerDecodeState&>(*state);
  const int64_t capacity = cache.keys[0].size(2);
  cache.select_rows(torch::tensor({2, 0, 0, 1, 1}, torch::kLong));
  EXPECT_EQ(cache.batch_size, 5);
  EXPECT_EQ(cache.length, 4);
  for (size_t layer = 0; layer < cache.keys.size(); ++layer) {
    EXPECT_EQ(cache.keys[layer].size(0), 5);
    EXPECT_EQ(cache.values[layer].size(0), 5);
    EXPECT_EQ(cache.keys[layer].size(2), capacity);
  }
}

TEST(DecodeStateSelectRowsRecurrent, SelectsEveryLayerOfHAndC) {
  auto model = make_model(Case{"lstm", "lstm"});
  auto state = model->initial_state(3);
  model->step(torch::tensor({1, 2, 3}, torch::kLong), *state);
  auto& recurrent = dynamic_cast<RecurrentDecodeState&>(*state);
  const auto h1 = recurrent.h[1].clone(), c0 = recurrent.c[0].clone();
  recurrent.select_rows(torch::tensor({2, 0}, torch::kLong));
  ASSERT_EQ(recurrent.h[1].size(0), 2);
  ASSERT_EQ(recurrent.c[0].size(0), 2);
  EXPECT_TRUE(torch::equal(recurrent.h[1][0], h1[2]));
  EXPECT_TRUE(torch::equal(recurrent.h[1][1], h1[0]));
  EXPECT_TRUE(torch::equal(recurrent.c[0][0], c0[2]));
}

TEST(DecodeStateSelectRowsBase, AStateWithoutSupportSaysSo) {
  DecodeState plain;
  EXPECT_THROW_WITH(plain.select_rows(torch::tensor({0}, torch::kLong)), Error,
                    {"this decode state does not support select_rows()"});
}

}  // namespace
}  // namespace cadenza::models
