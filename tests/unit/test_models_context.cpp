// The step context (bar position + lookback tokens, models/sequence_model.h) on every token backbone: step() with
// the context of each position reproduces forward() over the whole sequence, the context really changes the
// logits, the embeddings carry the PyTorch attribute names, and a missing or malformed context is a clear error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "common/error.h"
#include "models/factories.h"
#include "models/tensor_io.h"
#include "support/pytorch_fixture.h"
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

// Gives `smaller` the parameters it shares with `model` (by name) and zeroes the ones only `model` has.
void copy_shared_and_zero_the_rest(torch::nn::Module& model, torch::nn::Module& smaller) {
  auto shared = smaller.named_parameters();
  for (const auto& item : model.named_parameters()) {
    if (shared.contains(item.key()))
      shared[item.key()].copy_(item.value());
    else
      item.value().zero_();
  }
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

// Lookbacks of 4 and 8 bars (context_lookback 3, 4): a chord column (0) and then the far tokens, last in the row.
TEST_P(ContextBackbone, FarLookbacksAreTheLastColumnsAndStepReproducesForward) {
  for (int64_t lookback : {3, 4}) {
    torch::manual_seed(13);
    auto model = testing::test_sequence_model(context_config(GetParam(), lookback));
    model->eval();
    torch::NoGradGuard no_grad;
    const int64_t B = 3, T = 12, far = lookback - 2;
    ASSERT_EQ(model->far_lookbacks(), far);
    EXPECT_TRUE(model->named_parameters().contains("lookback." + std::to_string(lookback - 1) + ".weight"));
    const torch::Tensor input = torch::randint(kVocab, {B, T}, torch::kLong);
    const torch::Tensor context = torch::cat({random_context(B, T), torch::zeros({B, T, 1}, torch::kLong),
                                              torch::randint(kVocab + 1, {B, T, far}, torch::kLong)},
                                             -1);  // (B, T, 4 + F)
    const torch::Tensor full = model->forward(input, context);
    auto state = model->initial_state(B);
    for (int64_t t = 0; t < T; ++t) {
      const torch::Tensor logits = model->step(input.select(1, t), *state, context.select(1, t));
      EXPECT_LT(max_abs_diff(logits, full.select(1, t)), 1e-5) << GetParam() << " lookback " << lookback << " t " << t;
    }
    // Each far column is read: another token there gives other logits from the first position on.
    for (int64_t k = 0; k < far; ++k) {
      torch::Tensor other = context.clone();
      other.select(-1, 4 + k).add_(1).remainder_(kVocab + 1);
      EXPECT_GT(max_abs_diff(model->forward(input, other).select(1, 0), full.select(1, 0)), 1e-4)
          << GetParam() << " far column " << k;
    }
    // The far embeddings add to the near model: with them zeroed, the model is the context_lookback 2 model with the
    // same weights, fed the first 3 columns (so the near columns keep their meaning).
    auto near = testing::test_sequence_model(context_config(GetParam(), 2));
    near->eval();
    copy_shared_and_zero_the_rest(*model, *near);
    EXPECT_LT(max_abs_diff(model->forward(input, context), near->forward(input, context.narrow(-1, 0, 3))), 1e-5)
        << GetParam() << " lookback " << lookback;
    // A row without the far columns is refused with the layout named.
    EXPECT_THROW_WITH(model->forward(input, context.narrow(-1, 0, 3)), Error,
                      {"(B, T, " + std::to_string(4 + far) + ")", "lookbacks of 4 and 8 bars"});
    torch::Tensor bad = context.clone();
    bad.select(-1, 3 + far).fill_(kVocab + 1);
    EXPECT_THROW_WITH(model->forward(input, bad), Error,
                      {lookback == 3 ? "lookback tokens (4 bars)" : "lookback tokens (8 bars)", "[0, 14)"});
  }
  ModelConfig too_far = context_config(GetParam(), 5);
  EXPECT_THROW_WITH(ModelConfig::from_json(too_far.to_json()), Error, {"context_lookback"});
}

// The tune's header (context_header): the meter and key tokens, the last two columns, after the far lookbacks.
TEST_P(ContextBackbone, HeaderColumnsComeLastAndStepReproducesForward) {
  for (int64_t lookback : {2, 4}) {
    torch::manual_seed(17);
    ModelConfig config = context_config(GetParam(), lookback);
    config.context_header = true;
    auto model = testing::test_sequence_model(config);
    model->eval();
    torch::NoGradGuard no_grad;
    const int64_t B = 3, T = 12, far = lookback - 2, width = 4 + far + 2;
    ASSERT_TRUE(model->reads_header());
    ASSERT_EQ(model->context_row_width(), width);
    // header.0 (the meter) and header.1 (the key): (V + 1, E) like the lookback embeddings.
    const auto parameters = model->named_parameters();
    for (const char* name : {"header.0.weight", "header.1.weight"}) {
      ASSERT_TRUE(parameters.contains(name)) << name;
      EXPECT_EQ(parameters[name].sizes(), parameters["lookback.0.weight"].sizes()) << name;
    }
    const torch::Tensor input = torch::randint(kVocab, {B, T}, torch::kLong);
    const torch::Tensor context = torch::cat({random_context(B, T), torch::zeros({B, T, 1}, torch::kLong),
                                              torch::randint(kVocab + 1, {B, T, far + 2}, torch::kLong)},
                                             -1);  // (B, T, 4 + F + 2)
    const torch::Tensor full = model->forward(input, context);
    auto state = model->initial_state(B);
    for (int64_t t = 0; t < T; ++t) {
      const torch::Tensor logits = model->step(input.select(1, t), *state, context.select(1, t));
      EXPECT_LT(max_abs_diff(logits, full.select(1, t)), 1e-5) << GetParam() << " lookback " << lookback << " t " << t;
    }
    // Both header columns are read: another meter or key gives other logits from the first position on.
    for (int64_t k = 0; k < 2; ++k) {
      torch::Tensor other = context.clone();
      other.select(-1, 4 + far + k).add_(1).remainder_(kVocab + 1);
      EXPECT_GT(max_abs_diff(model->forward(input, other).select(1, 0), full.select(1, 0)), 1e-4)
          << GetParam() << " header column " << k;
    }
    // The header embeddings add to the model without them: zeroed, it is the same model without context_header fed
    // the columns before the header (so the older columns keep their meaning).
    auto plain = testing::test_sequence_model(context_config(GetParam(), lookback));
    plain->eval();
    copy_shared_and_zero_the_rest(*model, *plain);
    const torch::Tensor before_header = lookback > 2 ? context.narrow(-1, 0, 4 + far) : context.narrow(-1, 0, 3);
    EXPECT_LT(max_abs_diff(model->forward(input, context), plain->forward(input, before_header)), 1e-5)
        << GetParam() << " lookback " << lookback;
    // A row without the header is refused with the layout named; a key out of range names the column.
    EXPECT_THROW_WITH(model->forward(input, context.narrow(-1, 0, 4 + far)), Error,
                      {"(B, T, " + std::to_string(width) + ")", "2 header columns: meter, key"});
    torch::Tensor bad = context.clone();
    bad.select(-1, width - 1).fill_(kVocab + 1);
    EXPECT_THROW_WITH(model->forward(input, bad), Error, {"key tokens", "[0, 14)"});
  }
  // A config written before the option reads as without it.
  nlohmann::json old = context_config(GetParam(), 2).to_json();
  old.erase("context_header");
  EXPECT_FALSE(ModelConfig::from_json(old).context_header);
  ModelConfig frames = context_config(GetParam(), 0);
  frames.context_positions = 0, frames.context_header = true, frames.input_kind = InputKind::kFrames;
  EXPECT_THROW_WITH(ModelConfig::from_json(frames.to_json()), Error, {"context_header", "token models"});
}

// The bar number (context_phrase): the last column, read as the bar within its 8-bar phrase (phrase.0) and the
// phrase's number (phrase.1), kNoBar reading the last row of each.
TEST_P(ContextBackbone, PhraseColumnReadsTheBarInItsPhraseAndThePhraseNumber) {
  torch::manual_seed(23);
  ModelConfig config = context_config(GetParam(), 4);
  config.context_header = true;
  config.context_phrase = true;
  auto model = testing::test_sequence_model(config);
  model->eval();
  torch::NoGradGuard no_grad;
  const int64_t B = 3, T = 12, width = 4 + 2 + 2 + 1;
  ASSERT_TRUE(model->reads_phrase());
  ASSERT_EQ(model->context_row_width(), width);
  const auto parameters = model->named_parameters();
  const int64_t E = parameters["lookback.0.weight"].size(1);
  ASSERT_TRUE(parameters.contains("phrase.0.weight") && parameters.contains("phrase.1.weight"));
  EXPECT_EQ(parameters["phrase.0.weight"].sizes(), (std::vector<int64_t>{kPhraseBars + 1, E}));
  EXPECT_EQ(parameters["phrase.1.weight"].sizes(), (std::vector<int64_t>{kPhraseCount + 1, E}));
  const torch::Tensor input = torch::randint(kVocab, {B, T}, torch::kLong);
  const torch::Tensor before = torch::cat({random_context(B, T), torch::zeros({B, T, 1}, torch::kLong),
                                           torch::randint(kVocab + 1, {B, T, 4}, torch::kLong)},
                                          -1);  // (B, T, 8): up to the key
  // Step decoding equals the full sequence with bar numbers anywhere in [0, kNoBar].
  const torch::Tensor context = torch::cat({before, torch::randint(kNoBar + 1, {B, T, 1}, torch::kLong)}, -1);
  const torch::Tensor full = model->forward(input, context);
  auto state = model->initial_state(B);
  for (int64_t t = 0; t < T; ++t)
    EXPECT_LT(max_abs_diff(model->step(input.select(1, t), *state, context.select(1, t)), full.select(1, t)), 1e-5)
        << GetParam() << " t " << t;
  // Reference: the same model without context_phrase whose bar-position embedding has, added to every row, the two
  // rows the bar number selects (all embeddings are summed before the backbone): bar 13 is bar 5 of phrase 1, bars
  // past the 8th phrase were capped at 63 (bar 7 of phrase 7), kNoBar reads the last rows.
  ModelConfig plain_config = context_config(GetParam(), 4);
  plain_config.context_header = true;
  auto plain = testing::test_sequence_model(plain_config);
  plain->eval();
  copy_shared_and_zero_the_rest(*model, *plain);
  const torch::Tensor in_phrase = torch::randn({kPhraseBars + 1, E}), number = torch::randn({kPhraseCount + 1, E});
  parameters["phrase.0.weight"].copy_(in_phrase);
  parameters["phrase.1.weight"].copy_(number);
  const torch::Tensor position_rows = plain->named_parameters()["bar_position.weight"].clone();
  struct Case {
    int64_t bar, in_phrase, number;
  };
  for (const Case& c : {Case{0, 0, 0}, Case{13, 5, 1}, Case{63, 7, 7}, Case{kNoBar, kPhraseBars, kPhraseCount}}) {
    plain->named_parameters()["bar_position.weight"].copy_(position_rows + in_phrase[c.in_phrase] + number[c.number]);
    const torch::Tensor bars = torch::full({B, T, 1}, c.bar, torch::kLong);
    EXPECT_LT(max_abs_diff(model->forward(input, torch::cat({before, bars}, -1)), plain->forward(input, before)), 1e-5)
        << GetParam() << " bar " << c.bar;
  }
  // Another bar number gives other logits from the first position on.
  EXPECT_GT(max_abs_diff(model->forward(input, torch::cat({before, torch::full({B, T, 1}, 3, torch::kLong)}, -1)),
                         model->forward(input, torch::cat({before, torch::full({B, T, 1}, 11, torch::kLong)}, -1))),
            1e-4)
      << GetParam();
  // A row without the bar column is refused with the layout named; a bar number out of range names the column.
  EXPECT_THROW_WITH(model->forward(input, before), Error, {"(B, T, 9)", "1 bar number"});
  EXPECT_THROW_WITH(model->forward(input, torch::cat({before, torch::full({B, T, 1}, kNoBar + 1, torch::kLong)}, -1)),
                    Error, {"bar numbers", "[0, 65)"});
  // A config written before the option reads as without it; frames models refuse it.
  nlohmann::json old = context_config(GetParam(), 2).to_json();
  old.erase("context_phrase");
  EXPECT_FALSE(ModelConfig::from_json(old).context_phrase);
  ModelConfig frames = context_config(GetParam(), 0);
  frames.context_positions = 0, frames.context_phrase = true, frames.input_kind = InputKind::kFrames;
  EXPECT_THROW_WITH(ModelConfig::from_json(frames.to_json()), Error, {"context_phrase", "token models"});
}

TEST_P(ContextBackbone, BarsLeftColumnAddsItsRowAndStepDecodingEqualsTheFullSequence) {
  torch::manual_seed(29);
  ModelConfig config = context_config(GetParam(), 4);
  config.context_header = true;
  config.context_phrase = true;
  config.context_bars_left = true;
  auto model = testing::test_sequence_model(config);
  model->eval();
  torch::NoGradGuard no_grad;
  const int64_t B = 2, T = 10, width = 4 + 2 + 2 + 1 + 1;
  ASSERT_TRUE(model->reads_bars_left());
  ASSERT_EQ(model->context_row_width(), width);
  ASSERT_EQ(model->context_columns().bars_left_column(), width - 1);
  auto parameters = model->named_parameters();
  const int64_t E = parameters["lookback.0.weight"].size(1);
  ASSERT_TRUE(parameters.contains("bars_left.weight"));
  EXPECT_EQ(parameters["bars_left.weight"].sizes(), (std::vector<int64_t>{kBarsLeftUnknown + 1, E}));
  const torch::Tensor input = torch::randint(kVocab, {B, T}, torch::kLong);
  const torch::Tensor before = torch::cat(
      {random_context(B, T), torch::zeros({B, T, 1}, torch::kLong), torch::randint(kVocab + 1, {B, T, 4}, torch::kLong),
       torch::randint(kNoBar + 1, {B, T, 1}, torch::kLong)},
      -1);  // (B, T, 9): up to the bar number
  const torch::Tensor context = torch::cat({before, torch::randint(kBarsLeftUnknown + 1, {B, T, 1}, torch::kLong)}, -1);
  const torch::Tensor full = model->forward(input, context);
  auto state = model->initial_state(B);
  for (int64_t t = 0; t < T; ++t)
    EXPECT_LT(max_abs_diff(model->step(input.select(1, t), *state, context.select(1, t)), full.select(1, t)), 1e-5)
        << GetParam() << " t " << t;
  // Reference: the same model without context_bars_left whose bar-position embedding has the selected bars-left row
  // added to every row (all context embeddings are summed before the backbone).
  ModelConfig plain_config = config;
  plain_config.context_bars_left = false;
  auto plain = testing::test_sequence_model(plain_config);
  plain->eval();
  copy_shared_and_zero_the_rest(*model, *plain);
  const torch::Tensor rows = torch::randn({kBarsLeftUnknown + 1, E});
  parameters["bars_left.weight"].copy_(rows);
  const torch::Tensor position_rows = plain->named_parameters()["bar_position.weight"].clone();
  for (int64_t left : {int64_t{0}, int64_t{1}, kBarsLeftHorizon, kBarsLeftUnknown}) {
    plain->named_parameters()["bar_position.weight"].copy_(position_rows + rows[left]);
    const torch::Tensor column = torch::full({B, T, 1}, left, torch::kLong);
    EXPECT_LT(max_abs_diff(model->forward(input, torch::cat({before, column}, -1)), plain->forward(input, before)),
              1e-5)
        << GetParam() << " bars left " << left;
  }
  // A row without the column is refused with the layout named; a value out of range names the column.
  EXPECT_THROW_WITH(model->forward(input, before), Error, {"(B, T, 10)", "1 bars left"});
  EXPECT_THROW_WITH(
      model->forward(input, torch::cat({before, torch::full({B, T, 1}, kBarsLeftUnknown + 1, torch::kLong)}, -1)),
      Error, {"bars left", "[0, 11)"});
  // A config written before the option reads as without it; frames models refuse it.
  nlohmann::json old = context_config(GetParam(), 2).to_json();
  old.erase("context_bars_left");
  EXPECT_FALSE(ModelConfig::from_json(old).context_bars_left);
  ModelConfig frames = context_config(GetParam(), 0);
  frames.context_positions = 0, frames.context_bars_left = true, frames.input_kind = InputKind::kFrames;
  EXPECT_THROW_WITH(ModelConfig::from_json(frames.to_json()), Error, {"context_bars_left", "token models"});
}

INSTANTIATE_TEST_SUITE_P(Families, ContextBackbone, ::testing::Values("rnn", "lstm", "gru", "transformer"));

// ---- chords (config chord_conditioning: a 4th context column, 12 pitch-class bits) ---------------------------------

ModelConfig chord_config(const std::string& family, bool with_bar_context) {
  ModelConfig config = context_config(family, with_bar_context ? 2 : 0);
  if (!with_bar_context) config.context_positions = 0;
  config.chord_conditioning = true;
  return config;
}

// (B, T, 4): a random bar context and random chord masks in [0, 4096).
torch::Tensor random_chord_context(int64_t B, int64_t T) {
  return torch::cat({random_context(B, T), torch::randint(4096, {B, T, 1}, torch::kLong)}, -1);
}

class ChordBackbone : public ::testing::TestWithParam<std::string> {};

TEST_P(ChordBackbone, StepWithChordsReproducesForward) {
  for (bool with_bar_context : {false, true}) {
    torch::manual_seed(12);
    auto model = testing::test_sequence_model(chord_config(GetParam(), with_bar_context));
    model->eval();
    torch::NoGradGuard no_grad;
    const int64_t B = 3, T = 12;
    const torch::Tensor input = torch::randint(kVocab, {B, T}, torch::kLong);
    const torch::Tensor context = random_chord_context(B, T);
    const torch::Tensor full = model->forward(input, context);  // (B, T, V)
    auto state = model->initial_state(B);
    for (int64_t t = 0; t < T; ++t) {
      const torch::Tensor logits = model->step(input.select(1, t), *state, context.select(1, t));
      EXPECT_LT(max_abs_diff(logits, full.select(1, t)), 1e-5) << GetParam() << " bar context " << with_bar_context;
    }
    // The chord is read: other chords give other logits from the first position on.
    torch::Tensor other = context.clone();
    other.select(-1, 3).bitwise_xor_(5);
    EXPECT_GT(max_abs_diff(model->forward(input, other).select(1, 0), full.select(1, 0)), 1e-4) << GetParam();
    // Three columns (no chord column) read as "no chord" (all bits 0) everywhere.
    torch::Tensor no_chord = context.clone();
    no_chord.select(-1, 3).zero_();
    EXPECT_LT(max_abs_diff(model->forward(input, context.narrow(-1, 0, 3)), model->forward(input, no_chord)), 1e-6);
  }
}

TEST_P(ChordBackbone, ChordWeightHasThePyTorchNameAndShape) {
  auto model = testing::test_sequence_model(chord_config(GetParam(), false));
  const auto parameters = model->named_parameters();
  const int64_t width = GetParam() == "transformer" ? 16 : 6;
  ASSERT_TRUE(parameters.contains("chord.weight"));
  EXPECT_EQ(parameters["chord.weight"].sizes(), (std::vector<int64_t>{width, 12}));
  EXPECT_FALSE(parameters.contains("chord.bias"));
  EXPECT_TRUE(model->reads_chords());
  EXPECT_TRUE(model->reads_context());
  // Without chord_conditioning there is no chord weight (older checkpoints load unchanged), and the config key is
  // optional in JSON (absent = false).
  nlohmann::json json = context_config(GetParam(), 2).to_json();
  json.erase("chord_conditioning");
  const ModelConfig old_config = ModelConfig::from_json(json);
  EXPECT_FALSE(old_config.chord_conditioning);
  auto plain = testing::test_sequence_model(old_config);
  EXPECT_FALSE(plain->named_parameters().contains("chord.weight"));
  EXPECT_FALSE(plain->reads_chords());
}

TEST_P(ChordBackbone, MalformedChordsAreAClearError) {
  auto model = testing::test_sequence_model(chord_config(GetParam(), false));
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor input = torch::randint(kVocab, {2, 5}, torch::kLong);
  EXPECT_THROW_WITH(model->forward(input), Error, {"reads a step context", "chord", "none was given"});
  torch::Tensor bad = random_chord_context(2, 5);
  bad.select(-1, 3).fill_(4096);
  EXPECT_THROW_WITH(model->forward(input, bad), Error, {"chord masks", "[0, 4096)", "found 4096..4096"});
  EXPECT_THROW_WITH(model->forward(input, torch::zeros({2, 5, 5}, torch::kLong)), Error, {"(B, T, 3) or (B, T, 4)"});
}

INSTANTIATE_TEST_SUITE_P(Families, ChordBackbone, ::testing::Values("rnn", "lstm", "gru", "transformer"));

// The chord models against their PyTorch references (tests/fixtures/make_chord_fixtures.py): logits, loss and
// gradients of forward() with chords, and step() with the chord of each position.
class ChordMatchesPyTorch : public testing::PyTorchFixtureTest {};

TEST_P(ChordMatchesPyTorch, LogitsLossGradientsAndSteps) {
  auto model = testing::test_sequence_model(config_);
  load_module_tensors(*model, file_, path_, "model.");
  model->train();  // dropout is 0 in the fixtures
  const torch::Tensor input = get("input"), context = get("context");
  ASSERT_EQ(context.size(-1), 4);
  const torch::Tensor logits = model->forward(input, context);
  EXPECT_LT(max_abs_diff(logits, get("logits")), 1e-5);
  const torch::Tensor loss = loss_of(logits);
  EXPECT_NEAR(loss.item<double>(), get("loss").item<double>(), 1e-5);
  loss.backward();
  for (const auto& item : model->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_LT(max_abs_diff(item.value().grad(), get("grad." + item.key())), 1e-5) << item.key();
  }
  model->eval();
  torch::NoGradGuard no_grad;
  auto state = model->initial_state(input.size(0));
  for (int64_t t = 0; t < input.size(1); ++t) {
    const torch::Tensor step = model->step(input.select(1, t), *state, context.select(1, t));
    EXPECT_LT(max_abs_diff(step, get("logits").select(1, t)), 1e-5) << "t " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ChordMatchesPyTorch,
                         ::testing::Values("chord_rnn", "chord_lstm", "chord_gru", "chord_transformer"));

// ---- styles (config style_conditioning: columns 4.. of the context, the style vector in fixed point) ---------------

const std::vector<std::string> kStyleNames = {"hpps", "jigs", "reels"};

ModelConfig style_config(const std::string& family, bool with_chords) {
  ModelConfig config = chord_config(family, /*with_bar_context=*/with_chords);
  config.chord_conditioning = with_chords;
  config.style_conditioning = true;
  config.style_names = kStyleNames;
  return config;
}

// (B, T, 4 + S): a random bar context and chord, and a style vector that differs at every position (random mixtures
// in fixed point, summing to kStyleUnit), as a --style-path moving over the piece gives.
torch::Tensor random_style_context(int64_t B, int64_t T) {
  const auto S = static_cast<int64_t>(kStyleNames.size());
  torch::Tensor styles = torch::empty({B, T, S}, torch::kLong);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> weights;
      for (int64_t s = 0; s < S; ++s) weights.push_back(torch::rand({1}).item<double>());
      const std::vector<int64_t> column = style_weights_column(weights);
      for (int64_t s = 0; s < S; ++s) styles[b][t][s] = column[static_cast<size_t>(s)];
    }
  return torch::cat({random_chord_context(B, T), styles}, -1);
}

TEST(StyleWeights, FixedPointColumnsSumToOneUnitAndRejectBadWeights) {
  const std::vector<int64_t> column = style_weights_column({0.7, 0.3, 0.0});
  EXPECT_EQ(column[0] + column[1] + column[2], SequenceModelImpl::kStyleUnit);
  EXPECT_NEAR(static_cast<double>(column[0]) / SequenceModelImpl::kStyleUnit, 0.7, 1e-7);
  EXPECT_EQ(column[2], 0);
  EXPECT_EQ(style_weights_column({0, 2, 0}), (std::vector<int64_t>{0, SequenceModelImpl::kStyleUnit, 0}));
  const std::vector<int64_t> thirds = style_weights_column({1, 1, 1});
  EXPECT_EQ(thirds[0] + thirds[1] + thirds[2], SequenceModelImpl::kStyleUnit);
  EXPECT_THROW_WITH(style_weights_column({0, 0}), Error, {"must not all be zero"});
  EXPECT_THROW_WITH(style_weights_column({1, -0.5}), Error, {"non-negative", "-0.5"});
}

// A one-hot style picks a column of style.weight, an embedding row: it starts N(0, 1) like the token and context
// embeddings it is added to (Linear's own U(-1/sqrt(S), 1/sqrt(S)) left it a fifth of their scale, and the first step
// read it weakly: docs/conditioning.md, "The style starts at the scale of the other inputs").
TEST(StyleWeights, StyleVectorsStartAtTheScaleOfTheEmbeddings) {
  torch::manual_seed(3);
  auto model = testing::test_sequence_model(style_config("lstm", /*with_chords=*/true));  // with the bar position
  const auto parameters = model->named_parameters();
  const torch::Tensor style = parameters["style.weight"];  // (E, S)
  ASSERT_EQ(style.size(1), static_cast<int64_t>(kStyleNames.size()));
  // N(0, 1): the standard deviation of E x 3 draws; Linear's U(-1/sqrt(3), 1/sqrt(3)) would give 0.33.
  EXPECT_NEAR(style.std().item<double>(), 1.0, 0.2);
  // Beside the bar position's N(0, 1) rows (a small test model: a few hundred draws each, so a loose band; Linear's
  // initialisation would give a ratio near 0.3).
  const double ratio = style.std().item<double>() / parameters["bar_position.weight"].std().item<double>();
  EXPECT_GT(ratio, 0.6);
  EXPECT_LT(ratio, 1.6);
}

class StyleBackbone : public ::testing::TestWithParam<std::string> {};

TEST_P(StyleBackbone, StepWithMovingStylesReproducesForward) {
  for (bool with_chords : {false, true}) {
    torch::manual_seed(13);
    auto model = testing::test_sequence_model(style_config(GetParam(), with_chords));
    model->eval();
    torch::NoGradGuard no_grad;
    const int64_t B = 3, T = 12;
    const torch::Tensor input = torch::randint(kVocab, {B, T}, torch::kLong);
    const torch::Tensor context = random_style_context(B, T);
    const torch::Tensor full = model->forward(input, context);  // (B, T, V)
    auto state = model->initial_state(B);
    for (int64_t t = 0; t < T; ++t) {
      const torch::Tensor logits = model->step(input.select(1, t), *state, context.select(1, t));
      EXPECT_LT(max_abs_diff(logits, full.select(1, t)), 1e-5) << GetParam() << " chords " << with_chords;
    }
    // The style is read: another style vector gives other logits from the first position on.
    torch::Tensor other = context.clone();
    other.narrow(-1, 4, 3).zero_();
    other.select(-1, 4).fill_(SequenceModelImpl::kStyleUnit);
    EXPECT_GT(max_abs_diff(model->forward(input, other).select(1, 0), full.select(1, 0)), 1e-4) << GetParam();
  }
}

TEST_P(StyleBackbone, StyleWeightHasThePyTorchNameAndOldConfigsHaveNone) {
  auto model = testing::test_sequence_model(style_config(GetParam(), false));
  const auto parameters = model->named_parameters();
  const int64_t width = GetParam() == "transformer" ? 16 : 6;
  ASSERT_TRUE(parameters.contains("style.weight"));
  EXPECT_EQ(parameters["style.weight"].sizes(), (std::vector<int64_t>{width, 3}));
  EXPECT_FALSE(parameters.contains("style.bias"));
  EXPECT_FALSE(parameters.contains("chord.weight"));
  EXPECT_EQ(model->style_count(), 3);
  EXPECT_TRUE(model->reads_context());
  // The names round-trip through the config JSON; without the keys (older checkpoints) there is no style.
  const ModelConfig read = ModelConfig::from_json(style_config(GetParam(), false).to_json());
  EXPECT_EQ(read.style_names, kStyleNames);
  nlohmann::json json = context_config(GetParam(), 2).to_json();
  json.erase("style_conditioning");
  json.erase("style_names");
  const ModelConfig old_config = ModelConfig::from_json(json);
  EXPECT_FALSE(old_config.style_conditioning);
  auto plain = testing::test_sequence_model(old_config);
  EXPECT_FALSE(plain->named_parameters().contains("style.weight"));
  EXPECT_EQ(plain->style_count(), 0);
}

TEST_P(StyleBackbone, MalformedStylesAreAClearError) {
  auto model = testing::test_sequence_model(style_config(GetParam(), false));
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor input = torch::randint(kVocab, {2, 5}, torch::kLong);
  EXPECT_THROW_WITH(model->forward(input, random_chord_context(2, 5)), Error, {"(B, T, 7)", "3 styles"});
  torch::Tensor bad = random_style_context(2, 5);
  bad.select(-1, 5).fill_(SequenceModelImpl::kStyleUnit + 1);
  EXPECT_THROW_WITH(model->forward(input, bad), Error, {"style weights", "[0, 16777217)"});
  nlohmann::json json = style_config(GetParam(), false).to_json();
  json["style_names"] = {"jigs", "hpps"};
  EXPECT_THROW_WITH(ModelConfig::from_json(json), Error, {"style_names", "sorted"});
  json["style_conditioning"] = false;
  EXPECT_THROW_WITH(ModelConfig::from_json(json), Error, {"style_names", "\"style_conditioning\" is false"});
  ModelConfig unnamed = style_config(GetParam(), false);
  unnamed.style_names.clear();
  EXPECT_THROW_WITH(testing::test_sequence_model(unnamed), Error, {"style_conditioning", "style_names"});
}

INSTANTIATE_TEST_SUITE_P(Families, StyleBackbone, ::testing::Values("rnn", "lstm", "gru", "transformer"));

// The style models against their PyTorch references (tests/fixtures/make_style_fixtures.py; lstm and transformer
// with chords too): logits, loss and gradients of forward() with a style vector that moves over the positions, and
// step() with the style of each position.
class StyleMatchesPyTorch : public testing::PyTorchFixtureTest {};

TEST_P(StyleMatchesPyTorch, LogitsLossGradientsAndSteps) {
  auto model = testing::test_sequence_model(config_);
  load_module_tensors(*model, file_, path_, "model.");
  model->train();  // dropout is 0 in the fixtures
  const torch::Tensor input = get("input"), context = get("context");
  ASSERT_EQ(context.size(-1), 4 + 3);
  ASSERT_EQ(model->style_count(), 3);
  const torch::Tensor logits = model->forward(input, context);
  EXPECT_LT(max_abs_diff(logits, get("logits")), 1e-5);
  const torch::Tensor loss = loss_of(logits);
  EXPECT_NEAR(loss.item<double>(), get("loss").item<double>(), 1e-5);
  loss.backward();
  for (const auto& item : model->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_LT(max_abs_diff(item.value().grad(), get("grad." + item.key())), 1e-5) << item.key();
  }
  model->eval();
  torch::NoGradGuard no_grad;
  auto state = model->initial_state(input.size(0));
  for (int64_t t = 0; t < input.size(1); ++t) {
    const torch::Tensor step = model->step(input.select(1, t), *state, context.select(1, t));
    EXPECT_LT(max_abs_diff(step, get("logits").select(1, t)), 1e-5) << "t " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, StyleMatchesPyTorch,
                         ::testing::Values("style_rnn", "style_lstm", "style_gru", "style_transformer"));

}  // namespace
}  // namespace cadenza::models
