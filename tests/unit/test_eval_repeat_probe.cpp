// The repeat probe's pieces (eval/repeat_probe.h): the fast cached scoring against cache_probability() at every
// position, and the aggregation of the two copies from a scorer's log-probabilities.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/error.h"
#include "eval/ngram.h"
#include "eval/repeat_probe.h"

namespace cadenza::eval {
namespace {

TEST(EvalRepeatProbe, CachedLogProbsEqualTheDefinitionAtEveryPosition) {
  const int V = 6;
  std::mt19937 random(5);
  std::uniform_int_distribution<Token> token(0, V - 1);
  KneserNeyModel model(V, 3);
  for (int piece = 0; piece < 10; ++piece) {
    std::vector<Token> tokens(40);
    for (auto& t : tokens) t = token(random);
    model.add_sequence(tokens);
  }
  model.finish();
  // A sequence with repeats (so deep contexts match) and random stretches.
  std::vector<Token> sequence = {1, 2, 3, 1, 2, 3, 1, 2, 4, 4, 4, 4, 0};
  for (int i = 0; i < 30; ++i) sequence.push_back(token(random));
  sequence.insert(sequence.end(), sequence.begin(), sequence.begin() + 20);
  for (const CacheOptions cache : {CacheOptions{0, 0, 1.0}, CacheOptions{1, 8, 0.5}, CacheOptions{2, 64, 4.0}}) {
    SCOPED_TRACE(std::to_string(cache.min_context) + ".." + std::to_string(cache.max_context));
    const std::vector<double> fast = cached_log_probs(model, sequence, cache);
    ASSERT_EQ(fast.size(), sequence.size() - 1);
    for (size_t t = 1; t < sequence.size(); ++t)
      EXPECT_NEAR(fast[t - 1],
                  std::log(cache_probability(model, std::span<const Token>(sequence).first(t), sequence[t], cache)),
                  1e-12)
          << "position " << t;
  }
}

TEST(EvalRepeatProbe, ScoresTheSameTokensOfEachCopy) {
  // Header of 2 tokens, a phrase of 4, played twice: 10 tokens. Token t costs t nats, so the first copy scores
  // tokens 3, 4, 5 (positions first + 1 .. first + 3) and the second copy tokens 7, 8, 9.
  RepeatProbeSequence sequence;
  sequence.tokens = {9, 8, 0, 1, 2, 3, 0, 1, 2, 3};
  sequence.first = 2;
  sequence.length = 4;
  const std::vector<RepeatProbeSequence> sequences = {sequence, sequence};
  const RepeatProbeScore score = score_repeat_probe(sequences, [](std::span<const Token> tokens) {
    std::vector<double> log_probs;
    for (size_t t = 1; t < tokens.size(); ++t) log_probs.push_back(-static_cast<double>(t));
    return log_probs;
  });
  EXPECT_EQ(score.tokens, 6);
  EXPECT_DOUBLE_EQ(score.first_nll, 4.0);
  EXPECT_DOUBLE_EQ(score.second_nll, 8.0);
  EXPECT_DOUBLE_EQ(score.ratio, 2.0);

  try {
    score_repeat_probe(sequences, [](std::span<const Token>) { return std::vector<double>(3); });
    ADD_FAILURE() << "no error for a scorer of the wrong length";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("returned 3 log-probabilities for 10 tokens"), std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace cadenza::eval
