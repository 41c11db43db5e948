#include "eval/ngram.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace cadenza::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kMaxOrder = 64;
// Cache concentrations tried on the valid split (beta: how many history observations the prior is worth).
constexpr double kConcentrations[] = {0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 128, 512};
// The smallest cache context length tried (j_min); larger j_min rarely helps and each value is a pass over valid.
constexpr int kLargestMinContext = 8;

double discount_of(const KneserNeyDiscounts& d, uint64_t count) {
  return count == 0 ? 0.0 : count == 1 ? d.d1 : count == 2 ? d.d2 : d.d3_plus;
}

}  // namespace

// ---- protocol ----

std::vector<ScoredWindow> evaluation_windows(const Shard& shard, Split split, int64_t window, int64_t max_pieces) {
  if (window < 2) throw Error("evaluation window " + std::to_string(window) + " is below 2 tokens");
  std::vector<size_t> pieces;
  for (size_t index : shard.pieces_in_split(split))
    if (shard.piece(index).length >= 2) pieces.push_back(index);
  if (max_pieces > 0 && pieces.size() > static_cast<size_t>(max_pieces)) pieces.resize(static_cast<size_t>(max_pieces));
  if (pieces.empty())
    throw Error(shard.path() + ": the " + split_name(split) + " split has no piece of two or more elements to score");
  std::vector<ScoredWindow> windows;
  for (size_t piece : pieces) {
    const auto length = static_cast<int64_t>(shard.piece(piece).length);
    for (int64_t start = 0; start + 1 < length; start += window - 1)
      windows.push_back({piece, start, std::min(window, length - start)});
  }
  return windows;
}

// ---- discounts ----

KneserNeyDiscounts estimate_discounts(int64_t n1, int64_t n2, int64_t n3, int64_t n4) {
  const double y = n1 + 2 * n2 > 0 ? static_cast<double>(n1) / static_cast<double>(n1 + 2 * n2) : 0.5;
  const int64_t n[5] = {0, n1, n2, n3, n4};
  double d[4] = {0, 0, 0, 0};
  for (int j = 1; j <= 3; ++j) {
    const double fallback = j == 1 ? 0.5 : d[j - 1];
    d[j] = n[j] > 0 ? j - (j + 1) * y * static_cast<double>(n[j + 1]) / static_cast<double>(n[j]) : fallback;
    // A discount of 0 would leave a context nothing to give its lower order (unseen tokens would get probability
    // 0): sparse count-of-counts can push the formula there.
    if (!(d[j] > 0)) d[j] = fallback;
  }
  return {d[1], d[2], d[3]};
}

// ---- the model ----

KneserNeyModel::KneserNeyModel(int vocabulary_size, int max_order)
    : vocabulary_size_(vocabulary_size), max_order_(max_order), order_(max_order) {
  if (vocabulary_size < 1 || vocabulary_size >= std::numeric_limits<int32_t>::max())
    throw Error("n-gram model: vocabulary size " + std::to_string(vocabulary_size) + " is not positive");
  if (max_order < 1 || max_order > kMaxOrder)
    throw Error("n-gram model: order " + std::to_string(max_order) + " is outside 1.." + std::to_string(kMaxOrder));
  nodes_.emplace_back();  // the root: the empty n-gram
}

void KneserNeyModel::check_token(Token token, const char* what) const {
  if (token < 0 || token >= vocabulary_size_)
    throw Error(std::string("n-gram model: ") + what + " token " + std::to_string(token) + " is outside 0.." +
                std::to_string(vocabulary_size_ - 1));
}

uint32_t KneserNeyModel::child(uint32_t node, int32_t symbol) const {
  const auto found = index_.find(static_cast<uint64_t>(node) * static_cast<uint64_t>(vocabulary_size_ + 1) +
                                 static_cast<uint64_t>(symbol));
  return found == index_.end() ? 0 : found->second;
}

uint32_t KneserNeyModel::child_or_add(uint32_t node, int32_t symbol, uint32_t suffix) {
  const uint64_t key =
      static_cast<uint64_t>(node) * static_cast<uint64_t>(vocabulary_size_ + 1) + static_cast<uint64_t>(symbol);
  const auto [it, inserted] = index_.try_emplace(key, static_cast<uint32_t>(nodes_.size()));
  if (inserted) {
    if (nodes_.size() >= std::numeric_limits<uint32_t>::max())
      throw Error("n-gram model: more than 2^32 distinct n-grams; use a lower order or less data");
    Node added;
    added.symbol = symbol;
    added.length = static_cast<uint16_t>(nodes_[node].length + 1);
    added.starts_with_bos = node == 0 ? symbol == vocabulary_size_ : nodes_[node].starts_with_bos;
    added.suffix = suffix;
    nodes_.push_back(added);
  }
  return it->second;
}

void KneserNeyModel::add_sequence(std::span<const Token> tokens) {
  if (finished_) throw Error("n-gram model: add_sequence() after finish()");
  for (Token token : tokens) check_token(token, "training");
  std::vector<int32_t> sequence;
  sequence.reserve(tokens.size() + 1);
  sequence.push_back(vocabulary_size_);  // BOS
  sequence.insert(sequence.end(), tokens.begin(), tokens.end());
  const auto n = static_cast<int64_t>(sequence.size());
  // Starts from the last one backwards, so that the suffix of every n-gram (the same n-gram from the next start)
  // already exists when the n-gram is counted.
  std::vector<uint32_t> next_path(static_cast<size_t>(max_order_) + 1, 0), path(next_path.size(), 0);
  for (int64_t i = n - 1; i >= 0; --i) {
    uint32_t node = 0;
    const int64_t longest = std::min<int64_t>(max_order_, n - i);
    for (int64_t length = 1; length <= longest; ++length) {
      const uint32_t suffix = length == 1 ? 0 : next_path[static_cast<size_t>(length - 1)];
      node = child_or_add(node, sequence[static_cast<size_t>(i + length - 1)], suffix);
      ++nodes_[node].count;
      path[static_cast<size_t>(length)] = node;
    }
    std::swap(path, next_path);
  }
  training_tokens_ += static_cast<int64_t>(tokens.size());
}

void KneserNeyModel::finish() {
  if (finished_) throw Error("n-gram model: finish() called twice");
  finished_ = true;
  // Continuation counts: every distinct n-gram v w1..wk is one left extension of w1..wk.
  for (size_t i = 1; i < nodes_.size(); ++i)
    if (nodes_[i].length >= 2) ++nodes_[nodes_[i].suffix].continuation;
  // Children lists (counting sort by parent).
  std::vector<uint32_t> child_count(nodes_.size() + 1, 0);
  const auto stride = static_cast<uint64_t>(vocabulary_size_ + 1);
  for (const auto& [key, node] : index_) ++child_count[key / stride];
  uint32_t offset = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].child_begin = nodes_[i].child_end = offset;
    offset += child_count[i];
  }
  children_.assign(offset, 0);
  for (const auto& [key, node] : index_) children_[nodes_[key / stride].child_end++] = node;
  for (auto& node : nodes_) std::sort(children_.begin() + node.child_begin, children_.begin() + node.child_end);
  // Count-of-counts per order, of raw counts and of adjusted (below the top order) counts. BOS alone is not a
  // predicted n-gram.
  std::vector<std::array<int64_t, 5>> raw(static_cast<size_t>(max_order_) + 1), adjusted(raw.size());
  for (size_t i = 1; i < nodes_.size(); ++i) {
    const Node& node = nodes_[i];
    if (node.symbol == vocabulary_size_) continue;
    const uint64_t low_count = node.starts_with_bos ? node.count : node.continuation;
    if (node.count <= 4) ++raw[node.length][node.count];
    if (low_count >= 1 && low_count <= 4) ++adjusted[node.length][low_count];
  }
  discounts_raw_.assign(raw.size(), {});
  discounts_adjusted_.assign(raw.size(), {});
  for (int k = 1; k <= max_order_; ++k) {
    discounts_raw_[k] = estimate_discounts(raw[k][1], raw[k][2], raw[k][3], raw[k][4]);
    discounts_adjusted_[k] = estimate_discounts(adjusted[k][1], adjusted[k][2], adjusted[k][3], adjusted[k][4]);
  }
  set_order(max_order_);
}

void KneserNeyModel::set_order(int order) {
  if (order < 1 || order > max_order_)
    throw Error("n-gram model: order " + std::to_string(order) + " is outside 1.." + std::to_string(max_order_));
  if (!finished_) throw Error("n-gram model: set_order() before finish()");
  order_ = order;
  current_discounts_.assign(static_cast<size_t>(order) + 1, {});
  for (int k = 1; k <= order; ++k) current_discounts_[k] = k == order ? discounts_raw_[k] : discounts_adjusted_[k];
}

void KneserNeyModel::set_discounts(const KneserNeyDiscounts& discounts) {
  if (!finished_) throw Error("n-gram model: set_discounts() before finish()");
  for (double d : {discounts.d1, discounts.d2, discounts.d3_plus})
    if (!(d >= 0)) throw Error("n-gram model: discount " + std::to_string(d) + " is negative");
  if (discounts.d1 > 1 || discounts.d2 > 2 || discounts.d3_plus > 3)
    throw Error("n-gram model: discounts must be at most 1, 2 and 3 (a discount above the count is not a discount)");
  std::fill(discounts_raw_.begin(), discounts_raw_.end(), discounts);
  std::fill(discounts_adjusted_.begin(), discounts_adjusted_.end(), discounts);
  set_order(order_);
}

const KneserNeyDiscounts& KneserNeyModel::discounts(int k) const {
  if (!finished_) throw Error("n-gram model: discounts() before finish()");
  if (k < 1 || k > order_)
    throw Error("n-gram model: order " + std::to_string(k) + " is outside 1.." + std::to_string(order_));
  return current_discounts_[static_cast<size_t>(k)];
}

uint64_t KneserNeyModel::adjusted_count(const Node& node) const {
  return node.length == order_ || node.starts_with_bos ? node.count : node.continuation;
}

void KneserNeyModel::interpolate(std::span<const Token> history, std::vector<double>* full, Token single,
                                 double* single_p) const {
  if (!finished_) throw Error("n-gram model: probability before finish()");
  const int V = vocabulary_size_;
  // The context: the last (order - 1) symbols of [BOS] + history.
  const auto available = static_cast<int64_t>(history.size()) + 1;
  const int64_t m = std::min<int64_t>(order_ - 1, available);
  auto symbol = [&](int64_t back) {  // back = 1: the last symbol of the context
    const int64_t index = static_cast<int64_t>(history.size()) - back;
    return index < 0 ? V : history[static_cast<size_t>(index)];
  };
  if (full) full->assign(static_cast<size_t>(V), 1.0 / V);
  double p = 1.0 / V;
  std::vector<double> next;
  for (int64_t k = 1; k <= m + 1; ++k) {
    // The node of the last k - 1 context symbols, walked from the root.
    uint32_t context = 0;
    bool seen = true;
    for (int64_t back = k - 1; back >= 1 && seen; --back) {
      context = child(context, symbol(back));
      seen = context != 0;
    }
    if (!seen) break;  // unseen context: no longer one exists either (every substring of an n-gram is counted)
    const Node& h = nodes_[context];
    uint64_t total = 0, n1 = 0, n2 = 0, n3 = 0, target = 0;
    for (uint32_t c = h.child_begin; c < h.child_end; ++c) {
      const Node& w = nodes_[children_[c]];
      if (w.symbol == V) continue;  // BOS is never predicted
      const uint64_t a = adjusted_count(w);
      total += a;
      n1 += a == 1, n2 += a == 2, n3 += a >= 3;
      if (w.symbol == single) target = a;
    }
    if (total == 0) continue;
    const KneserNeyDiscounts& d = current_discounts_[static_cast<size_t>(k)];
    const double inverse = 1.0 / static_cast<double>(total);
    const double gamma = (d.d1 * n1 + d.d2 * n2 + d.d3_plus * n3) * inverse;
    if (single_p) p = std::max(target - discount_of(d, target), 0.0) * inverse + gamma * p;
    if (full) {
      for (double& value : *full) value *= gamma;
      for (uint32_t c = h.child_begin; c < h.child_end; ++c) {
        const Node& w = nodes_[children_[c]];
        if (w.symbol == V) continue;
        const uint64_t a = adjusted_count(w);
        (*full)[static_cast<size_t>(w.symbol)] += std::max(a - discount_of(d, a), 0.0) * inverse;
      }
    }
  }
  if (single_p) *single_p = p;
}

double KneserNeyModel::probability(std::span<const Token> history, Token next) const {
  check_token(next, "predicted");
  double p = 0;
  interpolate(history, nullptr, next, &p);
  return p;
}

std::vector<double> KneserNeyModel::distribution(std::span<const Token> history) const {
  std::vector<double> p;
  interpolate(history, &p, -1, nullptr);
  return p;
}

// ---- the cache ----

namespace {

void check_cache(const CacheOptions& cache) {
  if (cache.min_context < 0 || cache.max_context < cache.min_context)
    throw Error("n-gram cache: context lengths " + std::to_string(cache.min_context) + ".." +
                std::to_string(cache.max_context) + " are not an interval of non-negative lengths");
  if (!(cache.concentration > 0) || !std::isfinite(cache.concentration))
    throw Error("n-gram cache: concentration " + std::to_string(cache.concentration) + " is not positive");
}

// Does the history before position s end with the same j tokens as the whole history?
bool same_context(std::span<const Token> history, size_t s, int j) {
  for (int i = 1; i <= j; ++i)
    if (history[s - static_cast<size_t>(i)] != history[history.size() - static_cast<size_t>(i)]) return false;
  return true;
}

}  // namespace

std::vector<double> cache_distribution(const KneserNeyModel& model, std::span<const Token> history,
                                       const CacheOptions& cache) {
  check_cache(cache);
  std::vector<double> p = model.distribution(history);
  for (int j = cache.min_context; j <= cache.max_context; ++j) {
    std::vector<double> counts(p.size(), 0.0);
    double total = 0;
    for (size_t s = static_cast<size_t>(j); s < history.size(); ++s)
      if (same_context(history, s, j)) counts[static_cast<size_t>(history[s])] += 1, total += 1;
    if (total == 0) continue;
    for (size_t w = 0; w < p.size(); ++w)
      p[w] = (counts[w] + cache.concentration * p[w]) / (total + cache.concentration);
  }
  return p;
}

double cache_probability(const KneserNeyModel& model, std::span<const Token> history, Token next,
                         const CacheOptions& cache) {
  check_cache(cache);
  double p = model.probability(history, next);
  for (int j = cache.min_context; j <= cache.max_context; ++j) {
    double count = 0, total = 0;
    for (size_t s = static_cast<size_t>(j); s < history.size(); ++s)
      if (same_context(history, s, j)) total += 1, count += history[s] == next;
    if (total > 0) p = (count + cache.concentration * p) / (total + cache.concentration);
  }
  return p;
}

// ---- fitting and scoring ----

namespace {

// What the fast evaluation keeps of every scored token: the n-gram probability at each order, and the cache counts
// C_j and c_j(target) for j = 0 .. max_cache_context.
struct ScoredTokens {
  int orders = 0;
  int levels = 0;               // max_cache_context + 1
  std::vector<double> p_ngram;  // [position][order - 1]
  std::vector<int32_t> cache;   // [position][j][2]: C_j, c_j(target)
  int64_t count = 0;
  int64_t pieces = 0, windows = 0;
};

ScoredTokens score_split(const Shard& shard, Split split, KneserNeyModel& model, const NgramBaselineOptions& options,
                         const std::vector<int>& orders, bool with_cache) {
  const std::vector<ScoredWindow> windows = evaluation_windows(shard, split, options.window, options.max_pieces);
  ScoredTokens scored;
  scored.orders = static_cast<int>(orders.size());
  scored.levels = with_cache ? options.max_cache_context + 1 : 0;
  scored.windows = static_cast<int64_t>(windows.size());
  size_t last_piece = static_cast<size_t>(-1);
  std::vector<Token> tokens;
  for (const ScoredWindow& w : windows) {
    if (w.piece != last_piece) tokens = shard.token_vector(w.piece), last_piece = w.piece, ++scored.pieces;
    scored.count += w.length - 1;
  }
  scored.p_ngram.assign(static_cast<size_t>(scored.count) * orders.size(), 0.0);
  scored.cache.assign(static_cast<size_t>(scored.count) * static_cast<size_t>(scored.levels) * 2, 0);
  // N-gram probabilities, one order at a time (set_order changes the adjusted counts).
  for (size_t o = 0; o < orders.size(); ++o) {
    model.set_order(orders[o]);
    int64_t position = 0;
    last_piece = static_cast<size_t>(-1);
    for (const ScoredWindow& w : windows) {
      if (w.piece != last_piece) tokens = shard.token_vector(w.piece), last_piece = w.piece;
      const std::span<const Token> window(tokens.data() + w.start, static_cast<size_t>(w.length));
      for (int64_t t = 1; t < w.length; ++t, ++position)
        scored.p_ngram[static_cast<size_t>(position) * orders.size() + o] =
            model.probability(window.first(static_cast<size_t>(t)), window[static_cast<size_t>(t)]);
    }
  }
  if (!with_cache) return scored;
  // Cache counts. match[s] = length of the longest common suffix (capped at max_context) of the tokens before s
  // and the tokens before t, updated from t - 1 to t in one backward sweep.
  const int levels = scored.levels, cap = options.max_cache_context;
  std::vector<int32_t> histogram_all(static_cast<size_t>(levels)), histogram_target(static_cast<size_t>(levels));
  int64_t position = 0;
  last_piece = static_cast<size_t>(-1);
  for (const ScoredWindow& w : windows) {
    if (w.piece != last_piece) tokens = shard.token_vector(w.piece), last_piece = w.piece;
    const Token* x = tokens.data() + w.start;
    std::vector<int32_t> match(static_cast<size_t>(w.length), 0);
    for (int64_t t = 1; t < w.length; ++t, ++position) {
      for (int64_t s = t - 1; s >= 1; --s) match[s] = x[s - 1] == x[t - 1] ? std::min(match[s - 1] + 1, cap) : 0;
      match[0] = 0;
      std::fill(histogram_all.begin(), histogram_all.end(), 0);
      std::fill(histogram_target.begin(), histogram_target.end(), 0);
      for (int64_t s = 0; s < t; ++s) {
        ++histogram_all[static_cast<size_t>(match[s])];
        if (x[s] == x[t]) ++histogram_target[static_cast<size_t>(match[s])];
      }
      int32_t* out = scored.cache.data() + static_cast<size_t>(position) * static_cast<size_t>(levels) * 2;
      int32_t all = 0, target = 0;
      for (int j = levels - 1; j >= 0; --j) {
        all += histogram_all[static_cast<size_t>(j)], target += histogram_target[static_cast<size_t>(j)];
        out[2 * j] = all, out[2 * j + 1] = target;
      }
    }
  }
  return scored;
}

// Mean NLL of the cached model at order index o for every j_max in min_context .. levels - 1 (index j_max).
std::vector<double> cached_nll_by_max_context(const ScoredTokens& scored, size_t o, int min_context, double beta) {
  std::vector<double> sums(static_cast<size_t>(scored.levels), 0.0);
  for (int64_t position = 0; position < scored.count; ++position) {
    double p = scored.p_ngram[static_cast<size_t>(position) * static_cast<size_t>(scored.orders) + o];
    const int32_t* counts =
        scored.cache.data() + static_cast<size_t>(position) * static_cast<size_t>(scored.levels) * 2;
    for (int j = min_context; j < scored.levels; ++j) {
      if (counts[2 * j] > 0) p = (counts[2 * j + 1] + beta * p) / (counts[2 * j] + beta);
      sums[static_cast<size_t>(j)] -= std::log(p);
    }
  }
  for (double& sum : sums) sum /= static_cast<double>(scored.count);
  return sums;
}

double ngram_nll(const ScoredTokens& scored, size_t o) {
  double sum = 0;
  for (int64_t position = 0; position < scored.count; ++position)
    sum -= std::log(scored.p_ngram[static_cast<size_t>(position) * static_cast<size_t>(scored.orders) + o]);
  return sum / static_cast<double>(scored.count);
}

double cached_nll(const ScoredTokens& scored, size_t o, const CacheOptions& cache) {
  return cached_nll_by_max_context(scored, o, cache.min_context,
                                   cache.concentration)[static_cast<size_t>(cache.max_context)];
}

}  // namespace

NgramBaseline fit_ngram_baseline(const Shard& shard, const NgramBaselineOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  if (shard.is_piano_roll())
    throw Error(shard.path() + ": a piano-roll shard; the n-gram baseline scores token shards only");
  if (options.max_order < 1 || options.max_order > kMaxOrder)
    throw Error("n-gram baseline: max order " + std::to_string(options.max_order) + " is outside 1.." +
                std::to_string(kMaxOrder));
  if (options.order < 0 || options.order > kMaxOrder)
    throw Error("n-gram baseline: order " + std::to_string(options.order) + " is outside 1.." +
                std::to_string(kMaxOrder));
  if (options.max_cache_context < 0 || options.max_cache_context > 1024)
    throw Error("n-gram baseline: cache context " + std::to_string(options.max_cache_context) + " is outside 0..1024");
  const int largest_order = options.order > 0 ? options.order : options.max_order;

  KneserNeyModel model(shard.vocabulary_size(), largest_order);
  for (size_t piece : shard.pieces_in_split(Split::kTrain)) model.add_sequence(shard.token_vector(piece));
  if (model.training_tokens() == 0)
    throw Error(shard.path() + ": the train split has no token; no n-gram model can be estimated");
  model.finish();

  std::vector<int> orders;
  for (int order = options.order > 0 ? options.order : 1; order <= largest_order; ++order) orders.push_back(order);
  NgramBaseline result;
  result.split = split_name(options.split);
  result.train_tokens = model.training_tokens();
  result.ngrams = model.ngram_count();
  result.valid_nll = result.valid_nll_cached = result.nll_cached = result.bits_cached = kNaN;

  // Choices on valid: the order of the plain model, then (order, j_min, j_max, beta) of the cached one.
  size_t chosen = 0, chosen_cached = 0;
  CacheOptions cache{0, options.max_cache_context, 1.0};
  const bool need_valid = options.order == 0 || options.cache;
  if (need_valid) {
    ScoredTokens valid;
    try {
      valid = score_split(shard, Split::kValid, model, options, orders, options.cache);
    } catch (const Error& error) {
      throw Error(std::string(error.what()) + " (the valid split chooses the n-gram order" +
                  (options.cache ? " and the cache settings" : "") + ")");
    }
    result.valid_elements = valid.count;
    double best = std::numeric_limits<double>::infinity();
    for (size_t o = 0; o < orders.size(); ++o) {
      result.valid_by_order.push_back({orders[o], ngram_nll(valid, o), kNaN});
      if (result.valid_by_order.back().valid_nll < best) best = result.valid_by_order.back().valid_nll, chosen = o;
    }
    result.valid_nll = best;
    if (options.cache) {
      // Coordinate search: the cache settings at the plain model's order, then the order under those settings,
      // then the settings again at that order if it changed.
      double best_cached = std::numeric_limits<double>::infinity();
      auto tune = [&](size_t o) {
        best_cached = std::numeric_limits<double>::infinity();
        for (int min_context = 0; min_context <= std::min(kLargestMinContext, options.max_cache_context); ++min_context)
          for (double beta : kConcentrations) {
            const std::vector<double> by_max = cached_nll_by_max_context(valid, o, min_context, beta);
            for (int max_context = min_context; max_context <= options.max_cache_context; ++max_context)
              if (by_max[static_cast<size_t>(max_context)] < best_cached)
                best_cached = by_max[static_cast<size_t>(max_context)], cache = {min_context, max_context, beta};
          }
      };
      tune(chosen);
      chosen_cached = chosen;
      for (size_t o = 0; o < orders.size(); ++o) {
        const double nll = cached_nll(valid, o, cache);
        if (nll < best_cached) best_cached = nll, chosen_cached = o;
      }
      if (chosen_cached != chosen) tune(chosen_cached);
      for (size_t o = 0; o < orders.size(); ++o)
        result.valid_by_order[o].valid_nll_cached = cached_nll(valid, o, cache);
      result.valid_nll_cached = best_cached;
    }
  }
  result.order = orders[chosen];
  if (options.cache) result.cached_order = orders[chosen_cached], result.cache = cache;

  std::vector<int> test_orders = {result.order};
  if (options.cache && result.cached_order != result.order) test_orders.push_back(result.cached_order);
  const ScoredTokens scored = score_split(shard, options.split, model, options, test_orders, options.cache);
  result.elements = scored.count;
  result.pieces = scored.pieces;
  result.windows = scored.windows;
  result.nll = ngram_nll(scored, 0);
  result.bits = result.nll / std::log(2.0);
  if (options.cache) {
    const size_t cached_index = result.cached_order == result.order ? 0 : 1;
    result.nll_cached = cached_nll(scored, cached_index, cache);
    result.bits_cached = result.nll_cached / std::log(2.0);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

nlohmann::json to_json(const NgramBaseline& b) {
  auto number = [](double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr); };
  nlohmann::json by_order = nlohmann::json::array();
  for (const auto& score : b.valid_by_order)
    by_order.push_back({{"order", score.order},
                        {"valid_nll", number(score.valid_nll)},
                        {"valid_nll_cached", number(score.valid_nll_cached)}});
  nlohmann::json json = {{"split", b.split},
                         {"order", b.order},
                         {"nll", number(b.nll)},
                         {"bits", number(b.bits)},
                         {"valid_nll", number(b.valid_nll)},
                         {"elements", b.elements},
                         {"pieces", b.pieces},
                         {"windows", b.windows},
                         {"valid_elements", b.valid_elements},
                         {"train_tokens", b.train_tokens},
                         {"ngrams", b.ngrams},
                         {"valid_by_order", by_order},
                         {"seconds", b.seconds}};
  if (std::isfinite(b.nll_cached))
    json["cached"] = {{"order", b.cached_order},
                      {"nll", number(b.nll_cached)},
                      {"bits", number(b.bits_cached)},
                      {"valid_nll", number(b.valid_nll_cached)},
                      {"min_context", b.cache.min_context},
                      {"max_context", b.cache.max_context},
                      {"concentration", b.cache.concentration}};
  return json;
}

}  // namespace cadenza::eval
