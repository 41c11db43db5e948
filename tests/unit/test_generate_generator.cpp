// generate_tokens() with tiny randomly initialised models over the melody encoding: grammaticality, determinism,
// primer handling, and greedy output equal to the masked argmax of forward() over the generated sequence.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "encoding/encoding.h"
#include "families/registry.h"
#include "generate/beam_search.h"
#include "generate/generator.h"
#include "generate/style_schedule.h"
#include "models/sequence_model.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

std::unique_ptr<TokenEncoding> melody() {
  return make_token_encoding(nlohmann::json{{"name", "melody"}});
}

std::shared_ptr<models::SequenceModelImpl> tiny_model(const std::string& family, int64_t vocab) {
  torch::manual_seed(11);
  models::ModelConfig config;
  config.family = family;
  config.vocab_size = vocab;
  config.hidden_size = 16;
  config.num_layers = 2;
  config.num_heads = 2;
  config.max_sequence_length = 256;
  return families::make_sequence_model(config);
}

// Every token is allowed by a fresh grammar at its position.
void expect_grammatical(const TokenEncoding& encoding, const std::vector<Token>& tokens) {
  auto grammar = encoding.grammar();
  for (size_t i = 0; i < tokens.size(); ++i) {
    ASSERT_TRUE(grammar->is_allowed(tokens[i])) << "token " << i << " " << encoding.vocabulary().name(tokens[i]);
    grammar->push(tokens[i]);
  }
}

void expect_valid_score(const Score& score) {
  for (const Track& track : score.tracks) {
    for (size_t i = 0; i < track.notes.size(); ++i) {
      const Note& note = track.notes[i];
      EXPECT_GE(note.pitch, 0);
      EXPECT_LE(note.pitch, 127);
      EXPECT_LT(note.start_tick, note.end_tick);
      if (i > 0) EXPECT_LE(track.notes[i - 1].start_tick, note.start_tick);
    }
  }
  EXPECT_FALSE(score.tempos.empty());
}

class GenerateGenerator : public ::testing::TestWithParam<std::string> {};

TEST_P(GenerateGenerator, OutputIsGrammaticalDecodesAndEndsCleanly) {
  auto encoding = melody();
  auto model = tiny_model(GetParam(), encoding->vocabulary().size());
  GenerationOptions options;
  options.max_tokens = 60;
  options.seed = 5;
  GenerationStats stats;
  const auto tokens = generate_tokens(*model, *encoding, {}, options, &stats);
  EXPECT_EQ(stats.generated_tokens, 60);
  EXPECT_EQ(tokens.size(), static_cast<size_t>(60 + stats.closing_tokens));
  EXPECT_TRUE(stats.ended_cleanly);
  expect_grammatical(*encoding, tokens);
  auto grammar = encoding->grammar();
  for (Token t : tokens) grammar->push(t);
  EXPECT_TRUE(grammar->can_end());
  expect_valid_score(encoding->decode(tokens));
}

TEST_P(GenerateGenerator, SameSeedSameOutputOtherSeedDiffers) {
  auto encoding = melody();
  auto model = tiny_model(GetParam(), encoding->vocabulary().size());
  GenerationOptions options;
  options.max_tokens = 40;
  options.seed = 1;
  const auto first = generate_tokens(*model, *encoding, {}, options);
  const auto again = generate_tokens(*model, *encoding, {}, options);
  options.seed = 2;
  const auto other = generate_tokens(*model, *encoding, {}, options);
  EXPECT_EQ(first, again);
  EXPECT_NE(first, other);
}

TEST_P(GenerateGenerator, PrimerIsKeptVerbatim) {
  auto encoding = melody();
  auto model = tiny_model(GetParam(), encoding->vocabulary().size());
  const auto primer = encoding->from_text("NOTE_ON_60 NO_EVENT NOTE_OFF NOTE_ON_64 NO_EVENT");
  GenerationOptions options;
  options.max_tokens = 20;
  options.seed = 9;
  const auto tokens = generate_tokens(*model, *encoding, primer, options);
  ASSERT_GE(tokens.size(), primer.size() + 20);
  EXPECT_TRUE(std::equal(primer.begin(), primer.end(), tokens.begin()));
  expect_grammatical(*encoding, tokens);
}

TEST_P(GenerateGenerator, GreedyEqualsMaskedArgmaxOfForward) {
  auto encoding = melody();
  const int vocab = encoding->vocabulary().size();
  auto model = tiny_model(GetParam(), vocab);
  // Make NOTE_OFF the model's favourite everywhere: it is forbidden whenever no note sounds, so greedy generation
  // only matches the MASKED argmax of forward() if the generator applies the grammar mask.
  {
    torch::NoGradGuard no_grad;
    model->named_parameters()["head.bias"][encoding->vocabulary().id("NOTE_OFF")] += 50.0;
  }
  const auto primer = encoding->from_text("NOTE_ON_67 NO_EVENT");
  GenerationOptions options;
  options.max_tokens = 50;
  options.sampling.temperature = 0.0;
  GenerationStats stats;
  const auto tokens = generate_tokens(*model, *encoding, primer, options, &stats);
  ASSERT_EQ(stats.generated_tokens, 50);

  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<int64_t> ids(tokens.begin(), tokens.end());
  const torch::Tensor logits = model->forward(torch::tensor(ids, torch::kLong).unsqueeze(0))[0];  // (T, V)
  auto grammar = encoding->grammar();
  std::vector<uint8_t> mask(vocab);
  bool mask_mattered = false;
  const size_t end = primer.size() + 50;
  for (size_t i = 0; i < end; ++i) {
    if (i >= primer.size()) {
      grammar->allowed(mask);
      const auto row = logits[i - 1];
      float best = -INFINITY;
      int best_token = -1;
      for (int t = 0; t < vocab; ++t) {
        if (mask[t] && row[t].item<float>() > best) best = row[t].item<float>(), best_token = t;
      }
      // Ties within the step/forward tolerance could legitimately flip; otherwise the choice must match.
      EXPECT_GE(row[tokens[i]].item<float>(), best - 1e-4f) << "position " << i;
      EXPECT_TRUE(mask[tokens[i]]) << "position " << i;
      if (best_token != row.argmax().item<int64_t>()) mask_mattered = true;
    }
    grammar->push(tokens[i]);
  }
  EXPECT_TRUE(mask_mattered) << "the unmasked argmax was never forbidden: this test would not see a missing mask";
}

TEST_P(GenerateGenerator, InvalidPrimerIsAnErrorNamingThePosition) {
  auto encoding = melody();
  auto model = tiny_model(GetParam(), encoding->vocabulary().size());
  // NOTE_OFF with no sounding note is not allowed by the melody grammar.
  const auto primer = encoding->from_text("NO_EVENT NOTE_OFF");
  try {
    generate_tokens(*model, *encoding, primer, GenerationOptions{});
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("primer token 1 (NOTE_OFF)"), std::string::npos) << error.what();
  }
  const std::vector<Token> out_of_range = {5000};
  EXPECT_THROW_WITH(generate_tokens(*model, *encoding, out_of_range, GenerationOptions{}), Error,
                    {"primer token 0 is id 5000", "outside the 'melody' vocabulary [0, 39)"});
}

INSTANTIATE_TEST_SUITE_P(Families, GenerateGenerator, ::testing::Values("lstm", "transformer"));

TEST(GenerateGeneratorChecks, MismatchedVocabularyAndBadOptionsAreErrors) {
  auto encoding = melody();
  auto model = tiny_model("lstm", encoding->vocabulary().size() + 1);
  EXPECT_THROW_WITH(generate_tokens(*model, *encoding, {}, GenerationOptions{}), Error,
                    {"model vocabulary size 40", "'melody' encoding's 39"});
  auto good = tiny_model("lstm", encoding->vocabulary().size());
  GenerationOptions negative;
  negative.max_tokens = -1;
  EXPECT_THROW_WITH(generate_tokens(*good, *encoding, {}, negative), Error, {"max_tokens must be >= 0", "got -1"});
  GenerationOptions bad_p;
  bad_p.sampling.top_p = 0.0;
  EXPECT_THROW_WITH(generate_tokens(*good, *encoding, {}, bad_p), Error, {"top_p must be in (0, 1]", "got 0"});
}

TEST(GenerateGeneratorChecks, ZeroTokensReturnsThePrimer) {
  auto encoding = melody();
  auto model = tiny_model("lstm", encoding->vocabulary().size());
  GenerationOptions options;
  options.max_tokens = 0;
  EXPECT_TRUE(generate_tokens(*model, *encoding, {}, options).empty());
  const auto primer = encoding->from_text("NOTE_ON_60 NO_EVENT NOTE_OFF");
  EXPECT_EQ(generate_tokens(*model, *encoding, primer, options), primer);
}

TEST(GenerateGeneratorChecks, ClosesAHangingNoteAfterMaxTokens) {
  auto encoding = melody();
  auto model = tiny_model("lstm", encoding->vocabulary().size());
  const auto primer = encoding->from_text("NOTE_ON_60");  // a note sounds: the grammar cannot end here
  GenerationOptions options;
  options.max_tokens = 0;
  GenerationStats stats;
  const auto tokens = generate_tokens(*model, *encoding, primer, options, &stats);
  EXPECT_EQ(stats.closing_tokens, 1);  // NOTE_OFF ends it in one token
  EXPECT_TRUE(stats.ended_cleanly);
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(encoding->vocabulary().name(tokens[1]), "NOTE_OFF");
}

TEST(GenerateGeneratorChecks, StopWhenCanEndStopsEarly) {
  auto encoding = melody();
  auto model = tiny_model("lstm", encoding->vocabulary().size());
  GenerationOptions options;
  options.max_tokens = 200;
  options.stop_when_can_end = true;
  options.seed = 4;
  GenerationStats stats;
  const auto tokens = generate_tokens(*model, *encoding, {}, options, &stats);
  auto grammar = encoding->grammar();
  for (size_t i = 0; i < tokens.size(); ++i) {
    grammar->push(tokens[i]);
    // The first point where the grammar can end is the last token.
    if (i + 1 < tokens.size()) EXPECT_FALSE(grammar->can_end()) << "could have stopped at " << i;
  }
  EXPECT_TRUE(grammar->can_end());
}

TEST(GenerateGeneratorChecks, FiveHundredTwelveTokensWithASmallLstm) {
  auto encoding = melody();
  auto model = tiny_model("lstm", encoding->vocabulary().size());
  GenerationOptions options;
  options.max_tokens = 512;
  GenerationStats stats;
  const auto tokens = generate_tokens(*model, *encoding, {}, options, &stats);
  EXPECT_EQ(stats.generated_tokens, 512);
  expect_grammatical(*encoding, tokens);
}

// forbid_end (a length asked for): a model that would end the tune at once runs on instead, sampled or in a beam.
TEST(GenerateGeneratorChecks, ForbidEndRunsATuneModelThatWouldEndAtOnceToTheLength) {
  auto encoding = make_token_encoding(nlohmann::json{{"name", "melody"}, {"structure", true}});
  auto model = tiny_model("lstm", encoding->vocabulary().size());
  const Token end = encoding->end_token();
  ASSERT_GE(end, 0);
  {
    torch::NoGradGuard no_grad;
    model->named_parameters()["head.bias"][end].fill_(30.0);  // END whenever the grammar allows it
  }
  const auto primer = encoding->from_text("START METER_4_4 KEY_C");
  GenerationOptions options;
  options.max_tokens = 40;
  options.seed = 3;
  const auto ended = generate_tokens(*model, *encoding, primer, options);
  ASSERT_EQ(ended.size(), primer.size() + 1) << "without forbid_end the tune ends at once";
  EXPECT_EQ(ended.back(), end);
  options.forbid_end = true;
  GenerationStats stats;
  const auto long_tune = generate_tokens(*model, *encoding, primer, options, &stats);
  EXPECT_EQ(stats.generated_tokens, 40);
  EXPECT_EQ(std::count(long_tune.begin(), long_tune.end(), end), 0);
  expect_grammatical(*encoding, long_tune);
  BeamSearchOptions beam;
  beam.beam_size = 2;
  beam.max_tokens = 24;
  beam.forbid_end = true;
  const auto beamed = beam_search_tokens(*model, *encoding, primer, beam);
  EXPECT_GE(beamed.size(), primer.size() + 24);
  EXPECT_EQ(std::count(beamed.begin(), beamed.end(), end), 0);
  beam.forbid_end = false;
  const auto beam_ended = beam_search_tokens(*model, *encoding, primer, beam);
  EXPECT_EQ(beam_ended[primer.size()], end) << "the beam ends at once without forbid_end";
}

// planned_bars (a length asked for): a bars-left model reads the bars left in the planned tune, "unknown" without a
// plan; the plan counts from the tune's first bar, a bar the primer began counting whole.
TEST(GenerateGeneratorChecks, APlannedLengthReachesABarsLeftModelAndNoPlanReadsUnknown) {
  StepContext header;  // before the first step
  EXPECT_EQ(generation_detail::planned_tune_bars(header, 16), 16);
  EXPECT_EQ(generation_detail::planned_tune_bars(header, -1), -1);
  StepContext mid_bar;
  mid_bar.bar = 2, mid_bar.position = 9;  // the primer ends halfway through bar 3 (counting from 1)
  EXPECT_EQ(generation_detail::planned_tune_bars(mid_bar, 16), 2 + 1 + 16);
  StepContext on_the_line;
  on_the_line.bar = 2, on_the_line.position = 1;  // the primer is 2 whole bars
  EXPECT_EQ(generation_detail::planned_tune_bars(on_the_line, 16), 2 + 16);

  auto encoding = make_token_encoding(nlohmann::json{{"name", "melody"}, {"structure", true}});
  torch::manual_seed(5);
  models::ModelConfig config;
  config.family = "lstm";
  config.vocab_size = encoding->vocabulary().size();
  config.hidden_size = 16;
  config.context_positions = encoding->position_count();
  config.context_bars_left = true;
  auto model = families::make_sequence_model(config);
  ASSERT_TRUE(model->reads_bars_left());
  // The row: position, lookbacks, the chord column, then the bars left last.
  ContextValues values{};
  values.fill(0);
  const auto row = generation_detail::context_row(*model, values, 0, {}, "test", 7);
  ASSERT_EQ(static_cast<int64_t>(row.size()), model->context_row_width());
  EXPECT_EQ(row.back(), 7);
  EXPECT_EQ(generation_detail::context_row(*model, values, 0, {}, "test").back(), kBarsLeftUnknown) << "no plan given";

  const auto primer = encoding->from_text("START METER_4_4 KEY_C");
  GenerationOptions options;
  options.max_tokens = 48;
  options.seed = 9;
  options.forbid_end = true;
  torch::Tensor rows = model->named_parameters()["bars_left.weight"];
  {
    torch::NoGradGuard no_grad;
    rows.zero_();
  }
  const auto unplanned_zero = generate_tokens(*model, *encoding, primer, options);
  options.planned_bars = 2;
  EXPECT_EQ(generate_tokens(*model, *encoding, primer, options), unplanned_zero) << "all rows zero: no effect";
  {
    torch::NoGradGuard no_grad;
    rows.narrow(0, 0, kBarsLeftUnknown).normal_(0.0, 3.0);  // the known counts move the model; "unknown" stays 0
  }
  EXPECT_NE(generate_tokens(*model, *encoding, primer, options), unplanned_zero) << "the plan reaches the model";
  options.planned_bars = -1;
  EXPECT_EQ(generate_tokens(*model, *encoding, primer, options), unplanned_zero) << "no plan reads the unknown row";

  // A late plan (--until-end's cap): "unknown" until the tune comes within the horizon of it, then the count. These
  // 48 steps are 3 bars: a cap of 20 bars stays out of reach (unknown throughout), one of 3 reads 3, 2, 1 from the
  // first bar, exactly as a plan of 3 bars does.
  options.late_plan_bars = 20;
  EXPECT_EQ(generate_tokens(*model, *encoding, primer, options), unplanned_zero) << "the cap is 17+ bars away";
  options.late_plan_bars = 3;
  const auto late = generate_tokens(*model, *encoding, primer, options);
  EXPECT_NE(late, unplanned_zero) << "the count reaches the model near the cap";
  options.late_plan_bars = -1;
  options.planned_bars = 3;
  EXPECT_EQ(generate_tokens(*model, *encoding, primer, options), late);
  options.late_plan_bars = 11;  // a plan wins over a late plan
  EXPECT_EQ(generate_tokens(*model, *encoding, primer, options), late);
  // Near a cap of 11 bars the count starts at bar 3 (8 left): these 3 bars read unknown.
  options.planned_bars = -1;
  EXPECT_EQ(generate_tokens(*model, *encoding, primer, options), unplanned_zero);
}

// ---- styles (generate/style_schedule.h; docs/conditioning.md "Styles and blends") ----------------------------------

TEST(GenerateStyles, ScheduleMovesBarByBarOnTheMelodyGrid) {
  auto encoding = melody();  // 4 steps per quarter: a 4/4 bar is 16 steps
  std::string text = "NOTE_ON_60";
  for (int i = 0; i < 47; ++i) text += " NO_EVENT";
  const std::vector<Token> tokens = encoding->from_text(text);  // 48 steps, 3 bars
  const auto schedule = style_schedule(parse_style_path("a@0 -> b@2", {"a", "b"}), *encoding);
  const auto before = [&](size_t count) { return schedule(std::span<const Token>(tokens.data(), count)); };
  // The next token after 15 tokens is step 15 (bar 0); after 16, step 16 (bar 1, halfway); after 32, bar 2.
  EXPECT_EQ(before(1), models::style_weights_column({1, 0}));
  EXPECT_EQ(before(15), models::style_weights_column({1, 0}));
  EXPECT_EQ(before(16), models::style_weights_column({0.5, 0.5}));
  EXPECT_EQ(before(31), models::style_weights_column({0.5, 0.5}));
  EXPECT_EQ(before(32), models::style_weights_column({0, 1}));
  EXPECT_EQ(before(48), models::style_weights_column({0, 1}));
  // One anchor: constant.
  const auto constant = style_schedule(parse_style_path("b@3", {"a", "b"}), *encoding);
  EXPECT_EQ(constant(std::span<const Token>(tokens.data(), 1)), models::style_weights_column({0, 1}));

  // Bars follow the meters: two bars of 3/4, then 4/4.
  Score score = make_empty_score(480, 120.0, 3, 4);
  score.time_signatures.push_back({2 * 1440, 4, 4});
  EXPECT_DOUBLE_EQ(bars_before(score, 1440), 1.0);
  EXPECT_DOUBLE_EQ(bars_before(score, 2 * 1440 + 1920), 3.0);
  EXPECT_DOUBLE_EQ(bars_before(score, 2 * 1440 + 960), 2.5);
}

TEST(GenerateStyles, GreedyWithMovingStylesEqualsMaskedArgmaxOfForwardWithThoseStyles) {
  auto encoding = melody();
  const int vocab = encoding->vocabulary().size();
  torch::manual_seed(12);
  models::ModelConfig config;
  config.family = "gru";
  config.vocab_size = vocab;
  config.hidden_size = 16;
  config.num_layers = 1;
  config.style_conditioning = true;
  config.style_names = {"a", "b"};
  auto model = families::make_sequence_model(config);
  {
    torch::NoGradGuard no_grad;  // a strong style effect, so that the styles change the choices
    model->named_parameters()["style.weight"].mul_(40.0);
  }
  // The style flips at every token: a if the sequence before has an even length, b if odd.
  GenerationOptions options;
  options.max_tokens = 40;
  options.sampling.temperature = 0.0;
  std::vector<size_t> asked;
  options.next_style = [&](std::span<const Token> before) {
    asked.push_back(before.size());
    return models::style_weights_column(before.size() % 2 == 0 ? std::vector<double>{1, 0} : std::vector<double>{0, 1});
  };
  const auto primer = encoding->from_text("NOTE_ON_67 NO_EVENT");
  const auto tokens = generate_tokens(*model, *encoding, primer, options);
  ASSERT_GE(tokens.size(), primer.size() + 40);  // closing tokens may follow
  ASSERT_GE(asked.size(), tokens.size() - 1);
  for (size_t i = 0; i + 1 < tokens.size(); ++i) EXPECT_EQ(asked[i], i + 1) << "asked for the style of token i + 1";

  torch::NoGradGuard no_grad;
  model->eval();
  const auto T = static_cast<int64_t>(tokens.size());
  const std::vector<StepContext> contexts = encoding->contexts(tokens);
  torch::Tensor context = torch::zeros({1, T, 6}, torch::kLong);
  for (int64_t t = 0; t < T; ++t) {
    const auto row = context_values(tokens, static_cast<size_t>(t), contexts[static_cast<size_t>(t)], vocab);
    for (int c = 0; c < 3; ++c) context[0][t][c] = row[static_cast<size_t>(c)];
    context[0][t][(t + 1) % 2 == 0 ? 4 : 5] = models::SequenceModelImpl::kStyleUnit;
  }
  std::vector<int64_t> ids(tokens.begin(), tokens.end());
  const torch::Tensor logits = model->forward(torch::tensor(ids, torch::kLong).unsqueeze(0), context)[0];  // (T, V)
  auto grammar = encoding->grammar();
  std::vector<uint8_t> mask(vocab);
  for (size_t i = 0; i < primer.size() + 40; ++i) {  // the sampled tokens (a closing token follows its own rule)
    if (i >= primer.size()) {
      grammar->allowed(mask);
      float best = -INFINITY;
      for (int t = 0; t < vocab; ++t)
        if (mask[t]) best = std::max(best, logits[static_cast<int64_t>(i) - 1][t].item<float>());
      EXPECT_GE(logits[static_cast<int64_t>(i) - 1][tokens[i]].item<float>(), best - 1e-4f) << "position " << i;
    }
    grammar->push(tokens[i]);
  }
  // The styles matter: the same model under the other alternation writes something else.
  options.next_style = [](std::span<const Token> before) {
    return models::style_weights_column(before.size() % 2 == 0 ? std::vector<double>{0, 1} : std::vector<double>{1, 0});
  };
  EXPECT_NE(generate_tokens(*model, *encoding, primer, options), tokens);
}

}  // namespace
}  // namespace cadenza
