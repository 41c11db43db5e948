#include "eval/repeat_probe.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "encoding/melody.h"

namespace cadenza::eval {

std::vector<RepeatProbeSequence> repeat_probe_sequences(const Shard& shard, Split split, int bars, int64_t max_pieces) {
  if (bars < 1) throw Error("repeat probe: bars must be >= 1, got " + std::to_string(bars));
  if (shard.is_piano_roll() || shard.metadata().encoding_name() != "melody")
    throw Error(shard.path() + ": the repeat probe needs a melody shard (its bars are grid steps), not '" +
                shard.metadata().encoding_name() + "'");
  const std::unique_ptr<TokenEncoding> encoding = shard.make_encoding();
  const auto* melody = dynamic_cast<const MelodyEncoding*>(encoding.get());
  if (melody == nullptr) throw Error(shard.path() + ": the repeat probe needs a melody shard");
  const bool structure = melody->melody_spec().structure;
  const int header = structure ? 3 : 0;  // START METER KEY
  const int plain_bar_steps = 4 * melody->melody_spec().steps_per_quarter;

  std::vector<RepeatProbeSequence> sequences;
  for (size_t piece : shard.pieces_in_split(split)) {
    const std::vector<Token> tokens = shard.token_vector(piece);
    if (static_cast<int64_t>(tokens.size()) <= header) continue;
    int bar_steps = plain_bar_steps;
    if (structure) {
      // The grammar's step context after the header: the lookback one bar back appears after exactly one bar, so
      // the bar length is the first non-zero lookback distance (the meter's steps per bar).
      const std::vector<StepContext> contexts = encoding->contexts(tokens);
      bar_steps = 0;
      for (const StepContext& context : contexts)
        if (context.lookback_distance[0] > 0) {
          bar_steps = context.lookback_distance[0];
          break;
        }
      if (bar_steps == 0) continue;  // shorter than one bar
    }
    const int64_t length = static_cast<int64_t>(bars) * bar_steps;
    // The phrase must be steps only: never the END that may follow the tune's last step.
    const Token end = melody->end_token();
    if (static_cast<int64_t>(tokens.size()) < header + length) continue;
    if (end >= 0 &&
        std::find(tokens.begin() + header, tokens.begin() + header + length, end) != tokens.begin() + header + length)
      continue;
    RepeatProbeSequence sequence;
    sequence.piece = piece;
    sequence.first = header;
    sequence.length = length;
    sequence.tokens.assign(tokens.begin(), tokens.begin() + header + length);
    sequence.tokens.insert(sequence.tokens.end(), tokens.begin() + header, tokens.begin() + header + length);
    sequences.push_back(std::move(sequence));
    if (max_pieces > 0 && static_cast<int64_t>(sequences.size()) >= max_pieces) break;
  }
  if (sequences.empty())
    throw Error(shard.path() + ": no piece of the " + split_name(split) + " split has " + std::to_string(bars) +
                " bars for the repeat probe (try fewer bars)");
  return sequences;
}

RepeatProbeScore score_repeat_probe(std::span<const RepeatProbeSequence> sequences, const SequenceScorer& scorer) {
  RepeatProbeScore score;
  double first_sum = 0, second_sum = 0;
  for (const RepeatProbeSequence& sequence : sequences) {
    const std::vector<double> log_probs = scorer(sequence.tokens);
    if (log_probs.size() + 1 != sequence.tokens.size())
      throw Error("repeat probe: the scorer returned " + std::to_string(log_probs.size()) + " log-probabilities for " +
                  std::to_string(sequence.tokens.size()) + " tokens");
    // Token t of the sequence is log_probs[t - 1]; copy tokens 1 .. L-1 of each copy.
    for (int64_t i = 1; i < sequence.length; ++i) {
      first_sum -= log_probs[static_cast<size_t>(sequence.first + i - 1)];
      second_sum -= log_probs[static_cast<size_t>(sequence.first + sequence.length + i - 1)];
    }
    score.tokens += sequence.length - 1;
  }
  if (score.tokens > 0) {
    score.first_nll = first_sum / static_cast<double>(score.tokens);
    score.second_nll = second_sum / static_cast<double>(score.tokens);
  }
  score.ratio = score.first_nll > 0 ? score.second_nll / score.first_nll : std::nan("");
  return score;
}

std::vector<double> cached_log_probs(const KneserNeyModel& model, std::span<const Token> tokens,
                                     const CacheOptions& cache) {
  // The definition of cache_probability(), with the contexts matched once per pair of positions: match[s] is the
  // length of the common suffix of tokens[0, s) and tokens[0, t) (so C_j counts the s < t with match[s] >= j).
  const size_t T = tokens.size();
  const int levels = cache.max_context + 1;
  std::vector<int> match(T + 1, 0), previous(T + 1, 0);
  std::vector<double> total(static_cast<size_t>(levels)), count(static_cast<size_t>(levels));
  std::vector<double> result;
  result.reserve(T > 0 ? T - 1 : 0);
  for (size_t t = 1; t < T; ++t) {
    // match for history tokens[0, t) from the one for tokens[0, t - 1).
    for (size_t s = 0; s < t; ++s) match[s] = s == 0 ? 0 : (tokens[s - 1] == tokens[t - 1] ? previous[s - 1] + 1 : 0);
    std::fill(total.begin(), total.end(), 0.0);
    std::fill(count.begin(), count.end(), 0.0);
    for (size_t s = 0; s < t; ++s) {
      const int m = std::min(match[s], cache.max_context);
      // Every j <= m: count at the deepest, accumulate below.
      total[static_cast<size_t>(m)] += 1;
      if (tokens[s] == tokens[t]) count[static_cast<size_t>(m)] += 1;
    }
    for (int j = levels - 2; j >= 0; --j)
      total[static_cast<size_t>(j)] += total[static_cast<size_t>(j) + 1],
          count[static_cast<size_t>(j)] += count[static_cast<size_t>(j) + 1];
    const std::span<const Token> history = tokens.first(t);
    double p = model.probability(history, tokens[t]);
    for (int j = cache.min_context; j <= cache.max_context; ++j)
      if (total[static_cast<size_t>(j)] > 0)
        p = (count[static_cast<size_t>(j)] + cache.concentration * p) /
            (total[static_cast<size_t>(j)] + cache.concentration);
    result.push_back(std::log(p));
    std::swap(match, previous);
  }
  return result;
}

RepeatProbeNgram ngram_repeat_probe(const Shard& shard, const NgramBaseline& chosen,
                                    std::span<const RepeatProbeSequence> sequences) {
  const int largest = std::max(chosen.order, chosen.cached_order);
  if (largest < 1) throw Error("repeat probe: the n-gram baseline has no chosen order");
  KneserNeyModel model(shard.vocabulary_size(), largest);
  for (size_t piece : shard.pieces_in_split(Split::kTrain)) model.add_sequence(shard.token_vector(piece));
  model.finish();
  RepeatProbeNgram result;
  model.set_order(chosen.order);
  result.plain = score_repeat_probe(sequences, [&](std::span<const Token> tokens) {
    std::vector<double> log_probs;
    for (size_t t = 1; t < tokens.size(); ++t)
      log_probs.push_back(std::log(model.probability(tokens.first(t), tokens[t])));
    return log_probs;
  });
  if (chosen.cached_order > 0) {
    model.set_order(chosen.cached_order);
    result.cached = score_repeat_probe(
        sequences, [&](std::span<const Token> tokens) { return cached_log_probs(model, tokens, chosen.cache); });
  } else {
    result.cached.first_nll = result.cached.second_nll = result.cached.ratio = std::nan("");
  }
  return result;
}

nlohmann::json to_json(const RepeatProbeScore& score) {
  auto number = [](double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); };
  return {{"first_nll", number(score.first_nll)},
          {"second_nll", number(score.second_nll)},
          {"ratio", number(score.ratio)},
          {"tokens", score.tokens}};
}

}  // namespace cadenza::eval
