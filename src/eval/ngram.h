// Honest likelihood baselines for token shards: an interpolated modified Kneser-Ney n-gram model over token ids,
// and the same model with a within-piece cache, scored with exactly the protocol of `cadenza evaluate`. Torch-free.
//
// The n-gram model (Chen & Goodman 1998, "An empirical study of smoothing techniques", section 3.5; adjusted counts
// as in KenLM):
//   - Every training sequence is read as [BOS, x0, x1, ...]: BOS (id = vocabulary size) is a context symbol only,
//     never predicted. Every n-gram of order 1..max_order that ends on a real token is counted.
//   - Adjusted counts: an n-gram of the model's top order N, or one that begins with BOS (it cannot be extended to
//     the left), keeps its raw count; a lower-order n-gram w1..wk counts the distinct symbols v that precede it,
//     N1+(. w1..wk) (the continuation count).
//   - Discounts per order k, from the count-of-counts n_j of adjusted counts of order-k n-grams:
//     Y = n1 / (n1 + 2 n2), D1 = 1 - 2 Y n2 / n1, D2 = 2 - 3 Y n3 / n2, D3+ = 3 - 4 Y n4 / n3. Where a formula is
//     undefined (n_j is zero) or not positive (sparse count-of-counts can give D2 < 0) D_j falls back to D_{j-1}
//     (0.5 for D1; Y = 1/2 when n1 + 2 n2 is zero), so that every seen context leaves mass to its lower order and no
//     token gets probability 0. (The formula never exceeds j.)
//   - Interpolation: p_0(w) = 1 / V (uniform over the V real tokens); for k = 1 .. top, with h the last k - 1
//     symbols of the context:
//         p_k(w | h) = max(a(h w) - D(a(h w)), 0) / T(h) + gamma(h) p_{k-1}(w | h'),
//         gamma(h)   = (D1 N1(h .) + D2 N2(h .) + D3+ N3+(h .)) / T(h),
//     with T(h) = sum over w of a(h w) and N_j(h .) the number of w with a(h w) = j (3 or more for N3+); a context
//     never seen followed by a token leaves p_{k-1} unchanged. The context is [BOS] + the tokens before the scored
//     one, so near the start of a sequence the top order is the length of that context + 1. Every p_k sums to 1
//     over the V tokens.
//
// The cache (a hierarchical Dirichlet cache over the sequence's own history, backing off to the n-gram model):
//     p^(j_min - 1)(w) = p_KN(w | context),
//     p^(j)(w) = (c_j(w) + beta p^(j-1)(w)) / (C_j + beta)   for j = j_min .. j_max (skipped when C_j = 0),
// where, over the positions s < t of the history x_0 .. x_{t-1}, C_j counts the positions whose preceding j tokens
// equal the last j tokens before t, and c_j(w) those among them with x_s = w (j = 0: every position of the history,
// the unigram cache). The history is the tokens already heard in the window being scored (never another piece).
// j_min (0..8), j_max (j_min..max_cache_context) and beta (0.125..512) are chosen on the valid split by a coordinate
// search: all settings at the plain model's chosen order, then the order under those settings, then the settings
// again at that order if it changed.
//
// The protocol (train/evaluate.h, `cadenza evaluate`): the pieces of a split with at least two tokens (the first
// max_pieces of them when max_pieces > 0), cut into windows of `window` tokens overlapping by one token; in each
// window every token but the first is scored from the window's own earlier tokens (for the n-gram: [BOS] + those
// tokens; for the cache: those tokens). Every token of a piece after the first is scored exactly once. The model
// is estimated on the train split only (no augmentation), orders and cache settings are chosen on the valid split.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/shard.h"
#include "encoding/encoding.h"

namespace cadenza::eval {

// ---- the scoring protocol shared with `cadenza evaluate` ----

struct ScoredWindow {
  size_t piece = 0;    // index in the shard
  int64_t start = 0;   // first token of the window in the piece
  int64_t length = 0;  // tokens in the window (>= 2); tokens 1 .. length - 1 are scored
};
// The windows train/evaluate.cpp scores, in piece order: window k of a piece covers [k (W - 1), k (W - 1) + W)
// clipped to the piece. Throws Error when window < 2 or the split has no piece of two or more elements.
std::vector<ScoredWindow> evaluation_windows(const Shard& shard, Split split, int64_t window, int64_t max_pieces = 0);

// ---- the n-gram model ----

struct KneserNeyDiscounts {
  double d1 = 0.5;
  double d2 = 1.0;
  double d3_plus = 1.5;
  bool operator==(const KneserNeyDiscounts&) const = default;
};
// The Chen & Goodman estimate from the count-of-counts n1..n4 (with the fallbacks described above).
KneserNeyDiscounts estimate_discounts(int64_t n1, int64_t n2, int64_t n3, int64_t n4);

class KneserNeyModel {
 public:
  // Tokens 0 .. vocabulary_size - 1; n-grams of up to max_order tokens (1 .. 64). Throws Error on bad sizes.
  KneserNeyModel(int vocabulary_size, int max_order);

  // Counts a training sequence (read as [BOS] + tokens). Throws Error on a token outside the vocabulary or when
  // called after finish().
  void add_sequence(std::span<const Token> tokens);
  // Computes continuation counts and the discounts of every order; the model order becomes max_order. Call once,
  // after the last add_sequence() and before any probability.
  void finish();

  // The order N used by probability(): 1 .. max_order. Adjusted counts and discounts follow it.
  void set_order(int order);
  int order() const { return order_; }
  int max_order() const { return max_order_; }
  int vocabulary_size() const { return vocabulary_size_; }
  int64_t training_tokens() const { return training_tokens_; }
  size_t ngram_count() const { return nodes_.size() - 1; }  // distinct n-grams of every order (BOS alone included)
  // The discounts of order k (1 .. order()) in the current model.
  const KneserNeyDiscounts& discounts(int k) const;
  // Overrides the estimated discounts of every order (for experiments and hand-computed tests); finish() estimates
  // them again.
  void set_discounts(const KneserNeyDiscounts& discounts);

  // p(next | [BOS] + history). Throws Error when next is outside the vocabulary or finish() was not called.
  double probability(std::span<const Token> history, Token next) const;
  // The whole distribution over the V tokens (sums to 1).
  std::vector<double> distribution(std::span<const Token> history) const;

 private:
  struct Node {
    uint64_t count = 0;         // raw count of the n-gram
    uint32_t continuation = 0;  // distinct left extensions (filled by finish())
    uint32_t suffix = 0;        // the node of the n-gram without its first symbol (root for order 1)
    uint32_t child_begin = 0;   // children in children_ (filled by finish())
    uint32_t child_end = 0;
    int32_t symbol = 0;  // last symbol
    uint16_t length = 0;
    bool starts_with_bos = false;
  };
  uint32_t child(uint32_t node, int32_t symbol) const;  // 0 when absent (0 is the root, never a child)
  uint32_t child_or_add(uint32_t node, int32_t symbol, uint32_t suffix);
  uint64_t adjusted_count(const Node& node) const;
  // Fills p (size V) with p_k for every k up to the top order allowed by the context.
  void interpolate(std::span<const Token> history, std::vector<double>* full, Token single, double* single_p) const;
  void check_token(Token token, const char* what) const;

  int vocabulary_size_ = 0;
  int max_order_ = 0;
  int order_ = 0;
  bool finished_ = false;
  int64_t training_tokens_ = 0;
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, uint32_t> index_;  // (node * (V + 1) + symbol) -> child node
  std::vector<uint32_t> children_;                // children of each node, sorted by symbol
  // discounts_raw_[k] from raw counts of order k (used at the top order), discounts_adjusted_[k] from adjusted
  // counts (below the top order).
  std::vector<KneserNeyDiscounts> discounts_raw_, discounts_adjusted_;
  std::vector<KneserNeyDiscounts> current_discounts_;  // index k = 1 .. order_
};

// ---- the cache ----

struct CacheOptions {
  int min_context = 1;       // j_min >= 0
  int max_context = 8;       // j_max >= j_min
  double concentration = 1;  // beta > 0
  bool operator==(const CacheOptions&) const = default;
};
// p(next | history) of the cached model: the definition above computed directly (the reference the fast
// evaluation in fit_ngram_baseline is tested against). Throws Error on bad options.
double cache_probability(const KneserNeyModel& model, std::span<const Token> history, Token next,
                         const CacheOptions& cache);
std::vector<double> cache_distribution(const KneserNeyModel& model, std::span<const Token> history,
                                       const CacheOptions& cache);

// ---- the baseline, fitted and scored on a shard ----

struct NgramBaselineOptions {
  Split split = Split::kTest;  // the split reported
  int max_order = 10;          // orders 1 .. max_order are tried on the valid split
  int order = 0;               // > 0: use this order, no choice (the valid split may then be empty)
  int64_t window = 1024;       // as train::EvaluationOptions
  int64_t max_pieces = 0;      // as train::EvaluationOptions (applies to the valid split too)
  int max_cache_context = 64;  // j_max is chosen among j_min .. this
  bool cache = true;           // fit and score the cached model
};

struct NgramOrderScore {
  int order = 0;
  double valid_nll = 0;         // nats per token
  double valid_nll_cached = 0;  // with the chosen cache settings (NaN when the cache is off)
};

struct NgramBaseline {
  std::string split;                            // the split scored ("test")
  int order = 0;                                // chosen on valid (or given) for the plain n-gram
  int cached_order = 0;                         // chosen on valid with the cache settings (coordinate search)
  CacheOptions cache;                           // chosen on valid
  std::vector<NgramOrderScore> valid_by_order;  // empty when the order was given and valid is empty
  double valid_nll = 0, valid_nll_cached = 0;   // at the chosen settings (NaN when not measured)
  double nll = 0, nll_cached = 0;               // on `split`, nats per token (nll_cached NaN without cache)
  double bits = 0, bits_cached = 0;             // the same in bits
  int64_t elements = 0;                         // tokens scored on `split`
  int64_t pieces = 0, windows = 0;              // on `split`
  int64_t valid_elements = 0;
  int64_t train_tokens = 0;
  size_t ngrams = 0;
  double seconds = 0;
};

// Estimates the model on the train split, chooses order and cache on valid, scores options.split. Throws Error for
// a piano-roll shard, an empty train split, no scorable piece in a split it needs, or bad options.
NgramBaseline fit_ngram_baseline(const Shard& shard, const NgramBaselineOptions& options = {});
nlohmann::json to_json(const NgramBaseline& baseline);  // NaN as null

}  // namespace cadenza::eval
