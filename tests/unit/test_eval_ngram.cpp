// The Kneser-Ney n-gram baseline and its cache: hand-computed probabilities on tiny corpora (worked out in the
// comments), a naive reference implementation beside the trie, normalisation over the vocabulary, the cache on a
// repeated phrase, and order selection and scoring protocol on small shards.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>

#include "common/error.h"
#include "data/shard.h"
#include "eval/ngram.h"
#include "support/test_support.h"

namespace cadenza::eval {
namespace {

using testing::TempDir;

constexpr Token a = 0, b = 1, c = 2;

// The corpus of the hand-computed cases: "a b a b" and "a c", read as [S a b a b] and [S a c] (S = BOS).
KneserNeyModel small_model(int order) {
  KneserNeyModel model(3, order);
  model.add_sequence(std::vector<Token>{a, b, a, b});
  model.add_sequence(std::vector<Token>{a, c});
  model.finish();
  return model;
}

template <typename Message>
void expect_error(Message&& action, const std::string& fragment) {
  try {
    action();
    ADD_FAILURE() << "no error; expected one containing '" << fragment << "'";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
  }
}

TEST(EvalNgram, DiscountsFollowChenAndGoodman) {
  // n = 10, 4, 2, 1: Y = 10 / 18 = 5/9; D1 = 1 - 2 (5/9)(4/10) = 5/9; D2 = 2 - 3 (5/9)(2/4) = 7/6;
  // D3+ = 3 - 4 (5/9)(1/2) = 17/9.
  const KneserNeyDiscounts d = estimate_discounts(10, 4, 2, 1);
  EXPECT_NEAR(d.d1, 5.0 / 9, 1e-12);
  EXPECT_NEAR(d.d2, 7.0 / 6, 1e-12);
  EXPECT_NEAR(d.d3_plus, 17.0 / 9, 1e-12);
  // No n2: Y = 1, D1 = 1 - 0 = 1, D2 falls back to D1, D3+ = 3 - 4 (1)(1/2) = 1.
  const KneserNeyDiscounts gaps = estimate_discounts(3, 0, 2, 1);
  EXPECT_DOUBLE_EQ(gaps.d1, 1.0);
  EXPECT_DOUBLE_EQ(gaps.d2, 1.0);
  EXPECT_DOUBLE_EQ(gaps.d3_plus, 1.0);
  // n = 1, 1, 10, 0: Y = 1/3; D1 = 1 - 2 (1/3)(1/1) = 1/3; D2 = 2 - 3 (1/3)(10/1) = -8 is not a discount, D2 falls
  // back to D1 = 1/3; D3+ = 3 - 0 = 3.
  const KneserNeyDiscounts negative = estimate_discounts(1, 1, 10, 0);
  EXPECT_NEAR(negative.d1, 1.0 / 3, 1e-12);
  EXPECT_NEAR(negative.d2, 1.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(negative.d3_plus, 3.0);
  // Nothing at all: the fallbacks 0.5, 0.5, 0.5 (D2 and D3+ fall back to D1).
  EXPECT_EQ(estimate_discounts(0, 0, 0, 0), (KneserNeyDiscounts{0.5, 0.5, 0.5}));
}

TEST(EvalNgram, BigramProbabilitiesByHand) {
  KneserNeyModel model = small_model(2);
  model.set_discounts({0.5, 0.5, 0.5});
  // Bigrams (top order, raw counts): S a 2, a b 2, b a 1, a c 1.
  // Unigrams (continuation counts): a {S, b} = 2, b {a} = 1, c {a} = 1; T = 4, N1 = 2, N2 = 1,
  // gamma = (0.5 * 2 + 0.5 * 1) / 4 = 3/8; p1(a) = 1.5/4 + (3/8)/3 = 1/2, p1(b) = p1(c) = 0.5/4 + 1/8 = 1/4.
  // Context a: b 2, c 1: T = 3, gamma = (0.5 + 0.5)/3 = 1/3:
  //   p(b|a) = 1.5/3 + 1/3 * 1/4 = 7/12, p(c|a) = 0.5/3 + 1/12 = 1/4, p(a|a) = 1/3 * 1/2 = 1/6.
  const std::vector<Token> after_a = {b, a};
  EXPECT_NEAR(model.probability(after_a, b), 7.0 / 12, 1e-12);
  EXPECT_NEAR(model.probability(after_a, c), 1.0 / 4, 1e-12);
  EXPECT_NEAR(model.probability(after_a, a), 1.0 / 6, 1e-12);
  // Context b: a 1: T = 1, gamma = 1/2: p(a|b) = 0.5 + 0.5 * 0.5 = 3/4, p(b|b) = p(c|b) = 0.5 * 1/4 = 1/8.
  const std::vector<Token> after_b = {a, b};
  EXPECT_NEAR(model.probability(after_b, a), 0.75, 1e-12);
  EXPECT_NEAR(model.probability(after_b, c), 0.125, 1e-12);
  // Context S (nothing heard yet): a 2: T = 2, gamma = 0.5/2 = 1/4: p(a|S) = 1.5/2 + 1/4 * 1/2 = 7/8,
  // p(b|S) = 1/4 * 1/4 = 1/16.
  EXPECT_NEAR(model.probability({}, a), 7.0 / 8, 1e-12);
  EXPECT_NEAR(model.probability({}, b), 1.0 / 16, 1e-12);
  // Context c was never followed by anything: the unigram p1.
  EXPECT_NEAR(model.probability(std::vector<Token>{c}, a), 0.5, 1e-12);
  // Order 1: the continuation unigram alone, whatever the history.
  model.set_order(1);
  // At the top order the unigrams keep raw counts: a 3, b 2, c 1; T = 6, gamma = (0.5 * 3) / 6 = 1/4;
  // p(a) = 2.5/6 + 1/12 = 1/2, p(b) = 1.5/6 + 1/12 = 1/3, p(c) = 0.5/6 + 1/12 = 1/6.
  EXPECT_NEAR(model.probability(after_a, a), 0.5, 1e-12);
  EXPECT_NEAR(model.probability(after_a, b), 1.0 / 3, 1e-12);
  EXPECT_NEAR(model.probability(after_a, c), 1.0 / 6, 1e-12);
}

TEST(EvalNgram, TrigramProbabilitiesByHand) {
  KneserNeyModel model = small_model(3);
  model.set_discounts({0.5, 0.5, 0.5});
  // Trigrams (raw): S a b 1, a b a 1, b a b 1, S a c 1. Bigrams below the top order: S a keeps its raw count 2
  // (it starts with S); a b has left extensions {S, b} = 2; b a {a} = 1; a c {S} = 1. Unigrams as in the bigram
  // case. History "a" is the context [S a]: p2(.|a) = 7/12, 1/4, 1/6 as before (same adjusted counts a b 2,
  // a c 1); context S a: b 1, c 1: T = 2, gamma = 1/2:
  //   p(b|S a) = 0.5/2 + 1/2 * 7/12 = 13/24, p(c|S a) = 1/4 + 1/8 = 9/24, p(a|S a) = 1/2 * 1/6 = 2/24.
  const std::vector<Token> history = {a};
  EXPECT_NEAR(model.probability(history, b), 13.0 / 24, 1e-12);
  EXPECT_NEAR(model.probability(history, c), 9.0 / 24, 1e-12);
  EXPECT_NEAR(model.probability(history, a), 2.0 / 24, 1e-12);
  // Context a b: a 1, gamma = 1/2; below it context b: b a 1, p2(a|b) = 3/4, p2(b|b) = p2(c|b) = 1/8:
  //   p(a|a b) = 0.5 + 0.5 * 3/4 = 7/8, p(c|a b) = 0.5 * 1/8 = 1/16.
  const std::vector<Token> ab = {a, b};
  EXPECT_NEAR(model.probability(ab, a), 7.0 / 8, 1e-12);
  EXPECT_NEAR(model.probability(ab, c), 1.0 / 16, 1e-12);
}

TEST(EvalNgram, EstimatedDiscountsByHand) {
  KneserNeyModel model = small_model(2);
  // Order 2 (raw bigram counts 2, 2, 1, 1): n1 = 2, n2 = 2: Y = 1/3, D1 = 1 - 2/3 = 1/3, D2 = 2 - 0 = 2,
  // D3+ = D2 (no n3). Order 1 (continuation counts 2, 1, 1): n1 = 2, n2 = 1: Y = 1/2, D1 = 1/2, D2 = 2, D3+ = 2.
  EXPECT_NEAR(model.discounts(2).d1, 1.0 / 3, 1e-12);
  EXPECT_NEAR(model.discounts(2).d2, 2.0, 1e-12);
  EXPECT_NEAR(model.discounts(1).d1, 0.5, 1e-12);
  EXPECT_NEAR(model.discounts(1).d2, 2.0, 1e-12);
  // p1: a 2 -> 0, b 1 -> 0.5, c 1 -> 0.5 over T = 4; gamma = (0.5 * 2 + 2 * 1) / 4 = 3/4: p1 = 1/4, 3/8, 3/8.
  // Context a: b 2 -> 0, c 1 -> 2/3, T = 3, gamma = (1/3 + 2) / 3 = 7/9:
  //   p(b|a) = 7/9 * 3/8 = 7/24, p(c|a) = 2/9 + 7/24 = 37/72, p(a|a) = 7/9 * 1/4 = 7/36.
  const std::vector<Token> history = {a};
  EXPECT_NEAR(model.probability(history, b), 7.0 / 24, 1e-12);
  EXPECT_NEAR(model.probability(history, c), 37.0 / 72, 1e-12);
  EXPECT_NEAR(model.probability(history, a), 7.0 / 36, 1e-12);
}

TEST(EvalNgram, CacheByHand) {
  KneserNeyModel model = small_model(2);
  model.set_discounts({0.5, 0.5, 0.5});
  // History a b a, next b: p_KN(b|a) = 7/12.
  // j = 0: the history holds a b a: C0 = 3, c0(b) = 1: p = (1 + 7/12) / (3 + 1) = 19/48.
  // j = 1: positions preceded by "a": s = 1 (b): C1 = 1, c1(b) = 1: p = (1 + 19/48) / 2 = 67/96.
  const std::vector<Token> history = {a, b, a};
  EXPECT_NEAR(cache_probability(model, history, b, {0, 1, 1.0}), 67.0 / 96, 1e-12);
  // j = 1 alone: (1 + 7/12) / 2 = 19/24. j = 2 (context "b a"): never seen before in the history, skipped.
  EXPECT_NEAR(cache_probability(model, history, b, {1, 2, 1.0}), 19.0 / 24, 1e-12);
  // Concentration 3, j = 1: (1 + 3 * 7/12) / 4 = 11/16.
  EXPECT_NEAR(cache_probability(model, history, b, {1, 1, 3.0}), 11.0 / 16, 1e-12);
  expect_error([&] { cache_probability(model, history, b, {2, 1, 1.0}); }, "2..1");
  expect_error([&] { cache_probability(model, history, b, {0, 1, 0.0}); }, "concentration");
}

// A naive interpolated modified Kneser-Ney, straight from the definitions: n-grams in a map, adjusted counts by
// enumerating left extensions, the recursion written out.
class NaiveKneserNey {
 public:
  NaiveKneserNey(int vocabulary, int order, const std::vector<std::vector<Token>>& corpus) : V(vocabulary), N(order) {
    for (const auto& tokens : corpus) {
      std::vector<int> s = {V};
      s.insert(s.end(), tokens.begin(), tokens.end());
      for (size_t i = 0; i < s.size(); ++i)
        for (size_t n = 1; n <= static_cast<size_t>(N) && i + n <= s.size(); ++n)
          ++raw[std::vector<int>(s.begin() + i, s.begin() + i + n)];
    }
    for (int k = 1; k <= N; ++k) {
      int64_t n[5] = {0, 0, 0, 0, 0};
      for (const auto& [gram, count] : raw)
        if (static_cast<int>(gram.size()) == k && gram.back() != V) {
          const int64_t value = adjusted(gram);
          if (value <= 4) ++n[value];
        }
      discounts[k] = estimate_discounts(n[1], n[2], n[3], n[4]);
    }
  }
  int64_t adjusted(const std::vector<int>& gram) const {
    const auto found = raw.find(gram);
    if (found == raw.end()) return 0;
    if (static_cast<int>(gram.size()) == N || gram.front() == V) return found->second;
    std::set<int> left;
    for (const auto& [other, count] : raw)
      if (other.size() == gram.size() + 1 && std::equal(gram.begin(), gram.end(), other.begin() + 1))
        left.insert(other.front());
    return static_cast<int64_t>(left.size());
  }
  double p(const std::vector<int>& context, int w, int k) const {  // context: the last k - 1 symbols
    if (k == 0) return 1.0 / V;
    const std::vector<int> shorter = context.empty() ? context : std::vector<int>(context.begin() + 1, context.end());
    const double lower = p(shorter, w, k - 1);
    double total = 0, n1 = 0, n2 = 0, n3 = 0;
    for (int v = 0; v < V; ++v) {
      std::vector<int> gram = context;
      gram.push_back(v);
      const int64_t count = adjusted(gram);
      total += count, n1 += count == 1, n2 += count == 2, n3 += count >= 3;
    }
    if (total == 0) return lower;
    const KneserNeyDiscounts& d = discounts.at(k);
    std::vector<int> gram = context;
    gram.push_back(w);
    const int64_t count = adjusted(gram);
    const double discount = count == 0 ? 0 : count == 1 ? d.d1 : count == 2 ? d.d2 : d.d3_plus;
    return std::max(count - discount, 0.0) / total + (d.d1 * n1 + d.d2 * n2 + d.d3_plus * n3) / total * lower;
  }
  double probability(const std::vector<Token>& history, Token w) const {
    std::vector<int> full = {V};
    full.insert(full.end(), history.begin(), history.end());
    const int m = std::min<int>(N - 1, static_cast<int>(full.size()));
    const std::vector<int> context(full.end() - m, full.end());
    // Unseen contexts drop out: p_k of an unseen (k-1)-context equals p_{k-1}, which the recursion gives.
    return p(context, w, m + 1);
  }

  int V, N;
  std::map<std::vector<int>, int64_t> raw;
  std::map<int, KneserNeyDiscounts> discounts;
};

std::vector<std::vector<Token>> random_corpus(int vocabulary, int pieces, int length, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<Token>> corpus(static_cast<size_t>(pieces));
  for (auto& piece : corpus) {
    // A sticky process (repeats and small steps) so that counts of every size occur.
    Token token = 0;
    for (int i = 0; i < length; ++i) {
      const uint64_t r = rng() % 10;
      token = r < 4   ? token
              : r < 8 ? static_cast<Token>((token + 1) % vocabulary)
                      : static_cast<Token>(rng() % vocabulary);
      piece.push_back(token);
    }
  }
  return corpus;
}

TEST(EvalNgram, TrieMatchesNaiveReferenceAtEveryOrder) {
  const int V = 5;
  const auto corpus = random_corpus(V, 6, 40, 7);
  const auto held_out = random_corpus(V, 1, 30, 99).front();
  KneserNeyModel model(V, 5);
  for (const auto& piece : corpus) model.add_sequence(piece);
  model.finish();
  for (int order = 1; order <= 5; ++order) {
    model.set_order(order);
    const NaiveKneserNey naive(V, order, corpus);
    for (int k = 1; k <= order; ++k) {
      EXPECT_NEAR(model.discounts(k).d1, naive.discounts.at(k).d1, 1e-12) << "order " << order << " k " << k;
      EXPECT_NEAR(model.discounts(k).d3_plus, naive.discounts.at(k).d3_plus, 1e-12);
    }
    for (size_t t = 0; t < held_out.size(); ++t) {
      const std::vector<Token> history(held_out.begin(), held_out.begin() + static_cast<int64_t>(t));
      for (Token w = 0; w < V; ++w)
        ASSERT_NEAR(model.probability(history, w), naive.probability(history, w), 1e-12)
            << "order " << order << " position " << t << " token " << w;
    }
  }
}

TEST(EvalNgram, DistributionsSumToOneForEveryContext) {
  const int V = 6;
  const auto corpus = random_corpus(V, 5, 50, 3);
  KneserNeyModel model(V, 4);
  for (const auto& piece : corpus) model.add_sequence(piece);
  model.finish();
  // Every context of up to 3 tokens over the vocabulary (seen or not), and the empty one.
  std::vector<std::vector<Token>> contexts = {{}};
  for (size_t i = 0; i < contexts.size(); ++i)
    if (contexts[i].size() < 3)
      for (Token w = 0; w < V; ++w) {
        auto longer = contexts[i];
        longer.push_back(w);
        contexts.push_back(longer);
      }
  ASSERT_EQ(contexts.size(), 1u + 6 + 36 + 216);
  for (int order = 1; order <= 4; ++order) {
    model.set_order(order);
    for (const auto& context : contexts) {
      const std::vector<double> p = model.distribution(context);
      ASSERT_EQ(p.size(), static_cast<size_t>(V));
      EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-12);
      for (Token w = 0; w < V; ++w) {
        EXPECT_GT(p[static_cast<size_t>(w)], 0.0);
        EXPECT_NEAR(p[static_cast<size_t>(w)], model.probability(context, w), 1e-15);
      }
      const std::vector<double> cached = cache_distribution(model, context, {0, 3, 0.5});
      EXPECT_NEAR(std::accumulate(cached.begin(), cached.end(), 0.0), 1.0, 1e-12);
      for (Token w = 0; w < V; ++w)
        EXPECT_NEAR(cached[static_cast<size_t>(w)], cache_probability(model, context, w, {0, 3, 0.5}), 1e-14);
    }
  }
}

TEST(EvalNgram, CachePredictsTheRepeatOfAPhrase) {
  // Train on varied material that never holds the phrase; then hear the phrase twice in one piece.
  const int V = 8;
  KneserNeyModel model(V, 3);
  for (const auto& piece : random_corpus(V, 8, 60, 11)) model.add_sequence(piece);
  model.finish();
  const std::vector<Token> phrase = {3, 7, 1, 6, 0, 5, 2, 4, 7, 7, 2, 0};
  std::vector<Token> piece = phrase;
  piece.insert(piece.end(), phrase.begin(), phrase.end());
  const CacheOptions cache{1, 8, 0.5};
  double first_plain = 0, second_plain = 0, first_cached = 0, second_cached = 0;
  for (size_t t = 1; t < piece.size(); ++t) {
    const std::span<const Token> history(piece.data(), t);
    const double plain = -std::log(model.probability(history, piece[t]));
    const double cached = -std::log(cache_probability(model, history, piece[t], cache));
    (t < phrase.size() ? first_plain : second_plain) += plain;
    (t < phrase.size() ? first_cached : second_cached) += cached;
  }
  // Without a cache the second copy costs about what the first did (a trigram remembers two tokens); with it,
  // once the copy is under way every token is predicted from the first copy: far below the plain model.
  EXPECT_GT(second_plain, 0.5 * first_plain);
  EXPECT_LT(second_cached, 0.25 * second_plain);
  // On the first copy (nothing to recall yet) the cache costs little.
  EXPECT_LT(first_cached, first_plain + 0.5 * static_cast<double>(phrase.size()));
}

TEST(EvalNgram, RejectsBadInput) {
  expect_error([] { KneserNeyModel(0, 3); }, "vocabulary size 0");
  expect_error([] { KneserNeyModel(4, 0); }, "order 0");
  KneserNeyModel model(4, 2);
  expect_error([&] { model.add_sequence(std::vector<Token>{1, 4}); }, "token 4 is outside 0..3");
  expect_error([&] { model.probability({}, 1); }, "before finish");
  model.add_sequence(std::vector<Token>{1, 2});
  model.finish();
  expect_error([&] { model.probability({}, -1); }, "token -1");
  expect_error([&] { model.set_order(3); }, "order 3 is outside 1..2");
  expect_error([&] { model.add_sequence(std::vector<Token>{1}); }, "after finish");
}

// ---- on shards ----

std::string write_shard(const TempDir& dir, int vocabulary,
                        const std::vector<std::pair<Split, std::vector<Token>>>& pieces) {
  ShardMetadata metadata;
  metadata.encoding = {{"name", "synthetic"}};
  for (int i = 0; i < vocabulary; ++i) metadata.vocabulary.push_back("tok" + std::to_string(i));
  for (size_t i = 0; i < pieces.size(); ++i) metadata.sources.push_back({"p" + std::to_string(i), 1, "fnv1a64:0"});
  ShardWriter writer(metadata);
  for (size_t i = 0; i < pieces.size(); ++i)
    writer.add_tokens(static_cast<uint32_t>(i), pieces[i].first, pieces[i].second);
  const std::string path = dir.file("toy.cdz");
  writer.write(path);
  return path;
}

TEST(EvalNgram, WindowsFollowTheEvaluateProtocol) {
  TempDir dir;
  std::vector<Token> ten(10, 1), one = {2}, five(5, 3);
  const Shard shard(
      write_shard(dir, 4, {{Split::kTest, ten}, {Split::kTest, one}, {Split::kTest, five}, {Split::kTrain, ten}}));
  // Windows of 4 overlapping by one: [0,4) [3,7) [6,10) of the 10-token piece; the 1-token piece is skipped; the
  // 5-token piece is [0,4) [3,5).
  const auto windows = evaluation_windows(shard, Split::kTest, 4);
  ASSERT_EQ(windows.size(), 5u);
  EXPECT_EQ(windows[2].start, 6);
  EXPECT_EQ(windows[2].length, 4);
  EXPECT_EQ(windows[4].piece, 2u);
  EXPECT_EQ(windows[4].start, 3);
  EXPECT_EQ(windows[4].length, 2);
  int64_t scored = 0;
  for (const auto& w : windows) scored += w.length - 1;
  EXPECT_EQ(scored, 9 + 4) << "every token of a piece but its first, once";
  EXPECT_EQ(evaluation_windows(shard, Split::kTest, 4, 1).size(), 3u) << "max_pieces keeps the first piece";
  expect_error([&] { evaluation_windows(shard, Split::kValid, 4); }, "the valid split has no piece");
  expect_error([&] { evaluation_windows(shard, Split::kTest, 1); }, "window 1");
}

// A deterministic process of order 3 (the next token is a function of the last two) with a little noise.
std::vector<Token> order_three_piece(uint64_t seed, int length) {
  std::mt19937_64 rng(seed);
  std::vector<Token> piece = {static_cast<Token>(rng() % 5), static_cast<Token>(rng() % 5)};
  while (static_cast<int>(piece.size()) < length) {
    const Token x = piece[piece.size() - 2], y = piece.back();
    piece.push_back(rng() % 20 == 0 ? static_cast<Token>(rng() % 5) : static_cast<Token>((2 * x + 3 * y + 1) % 5));
  }
  return piece;
}

TEST(EvalNgram, BaselineChoosesTheOrderOnValidAndScoresLikeTheReference) {
  TempDir dir;
  std::vector<std::pair<Split, std::vector<Token>>> pieces;
  for (uint64_t i = 0; i < 12; ++i) pieces.push_back({Split::kTrain, order_three_piece(i, 80)});
  for (uint64_t i = 0; i < 3; ++i) pieces.push_back({Split::kValid, order_three_piece(100 + i, 60)});
  for (uint64_t i = 0; i < 3; ++i) pieces.push_back({Split::kTest, order_three_piece(200 + i, 50)});
  const Shard shard(write_shard(dir, 5, pieces));
  NgramBaselineOptions options;
  options.max_order = 5;
  options.window = 16;  // several windows per piece: the context restarts at each
  options.max_cache_context = 6;
  const NgramBaseline result = fit_ngram_baseline(shard, options);

  // The order is the valid argmin, and the data's dependence on two tokens shows.
  ASSERT_EQ(result.valid_by_order.size(), 5u);
  double best = 1e9;
  int argmin = 0;
  for (const auto& score : result.valid_by_order)
    if (score.valid_nll < best) best = score.valid_nll, argmin = score.order;
  EXPECT_EQ(result.order, argmin);
  EXPECT_GE(result.order, 3);
  EXPECT_LT(result.valid_by_order[2].valid_nll, 0.6 * result.valid_by_order[1].valid_nll);
  EXPECT_DOUBLE_EQ(result.valid_nll, best);

  // The test figures recomputed token by token with the public model and the naive cache.
  KneserNeyModel model(5, 5);
  for (size_t piece : shard.pieces_in_split(Split::kTrain)) model.add_sequence(shard.token_vector(piece));
  model.finish();
  double plain = 0, cached = 0, bigram = 0;
  int64_t count = 0;
  for (const ScoredWindow& w : evaluation_windows(shard, Split::kTest, options.window)) {
    const std::vector<Token> tokens = shard.token_vector(w.piece);
    const std::span<const Token> window(tokens.data() + w.start, static_cast<size_t>(w.length));
    for (int64_t t = 1; t < w.length; ++t, ++count) {
      const auto history = window.first(static_cast<size_t>(t));
      model.set_order(result.order);
      plain -= std::log(model.probability(history, window[static_cast<size_t>(t)]));
      model.set_order(2);
      bigram -= std::log(model.probability(history, window[static_cast<size_t>(t)]));
      model.set_order(result.cached_order);
      cached -= std::log(cache_probability(model, history, window[static_cast<size_t>(t)], result.cache));
    }
  }
  EXPECT_EQ(result.elements, count);
  EXPECT_EQ(count, 3 * 49);
  EXPECT_EQ(result.pieces, 3);
  EXPECT_EQ(result.windows, 3 * 4);  // 50 tokens in windows of 16 overlapping by one: 0, 15, 30, 45
  EXPECT_NEAR(result.nll, plain / static_cast<double>(count), 1e-9);
  EXPECT_NEAR(result.nll_cached, cached / static_cast<double>(count), 1e-9);
  EXPECT_NEAR(result.bits, result.nll / std::log(2.0), 1e-12);
  // On this data (no repeats beyond what a 3-gram already knows) the cache cannot help, and its weakest setting
  // (concentration 512 on the longest contexts only) costs almost nothing.
  EXPECT_LE(result.valid_nll_cached, result.valid_nll + 0.002);
  EXPECT_EQ(result.train_tokens, 12 * 80);

  const nlohmann::json json = to_json(result);
  EXPECT_EQ(json["order"], result.order);
  EXPECT_EQ(json["cached"]["max_context"], result.cache.max_context);
  EXPECT_EQ(json["valid_by_order"].size(), 5u);

  // A given order needs no choice; without the cache there is no cached figure.
  options.order = 2;
  options.cache = false;
  const NgramBaseline fixed = fit_ngram_baseline(shard, options);
  EXPECT_EQ(fixed.order, 2);
  EXPECT_TRUE(std::isnan(fixed.nll_cached));
  EXPECT_FALSE(to_json(fixed).contains("cached"));
  EXPECT_NEAR(fixed.nll, bigram / static_cast<double>(count), 1e-9);
  EXPECT_TRUE(fixed.valid_by_order.empty()) << "nothing was chosen";
}

TEST(EvalNgram, BaselineRefusesWhatItCannotScore) {
  TempDir dir;
  const std::string tokens_only = write_shard(dir, 3, {{Split::kTrain, {0, 1, 2, 1}}, {Split::kTest, {0, 1, 2}}});
  const Shard shard(tokens_only);
  expect_error([&] { fit_ngram_baseline(shard); },
               "the valid split has no piece of two or more elements to score "
               "(the valid split chooses the n-gram order and the cache settings)");
  NgramBaselineOptions given;
  given.order = 2;
  given.cache = false;
  EXPECT_NO_THROW(fit_ngram_baseline(shard, given)) << "a given order without cache needs no valid split";
  given.max_cache_context = -1;
  expect_error([&] { fit_ngram_baseline(shard, given); }, "cache context -1");

  ShardMetadata roll;
  roll.encoding = {{"name", "pianoroll"}, {"lowest_pitch", 60}, {"highest_pitch", 61}};
  roll.sources = {{"r", 1, "h"}};
  ShardWriter writer(roll);
  writer.add_roll(0, Split::kTrain, PianoRoll{1, 2, 2, std::vector<uint8_t>(4, 0), {0}});
  writer.write(dir.file("roll.cdz"));
  const Shard roll_shard(dir.file("roll.cdz"));
  expect_error([&] { fit_ngram_baseline(roll_shard); },
               "roll.cdz: a piano-roll shard; the n-gram baseline scores token shards only");
}

}  // namespace
}  // namespace cadenza::eval
