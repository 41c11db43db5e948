// The "fed a phrase twice" probe of issue 13: can a model reuse a phrase it has just heard? For each piece of a
// split, the first `bars` bars of its melody are played twice in a row, and the model's NLL on the second copy is
// compared with its NLL on the first (the same tokens). A model that remembers the phrase predicts the second copy
// far better (ratio second / first well below 1); the Kneser-Ney n-gram with a piece cache does so by construction
// and is reported beside it as the check that the probe measures what it says. Torch-free: the model is scored
// through a callback.
//
// The sequence (melody encoding only; one token per grid step):
//   - structured shards (`structure=true`): START METER_n_d KEY_x + phrase + phrase, where the phrase is the first
//     bars * (steps per bar of the meter) steps of the tune (the END after them, if any, is never included);
//   - plain shards: phrase + phrase, bars of 4 quarters (the plain encoding carries no meter).
// Pieces with fewer steps than the phrase are skipped. Both copies are scored on tokens 1 .. L-1 of the copy (L the
// phrase length), each predicted from every token before it in the sequence, so the two figures are over the same
// tokens (token 0 of a plain piece has nothing to be predicted from).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "data/shard.h"
#include "encoding/encoding.h"
#include "eval/ngram.h"

namespace cadenza::eval {

struct RepeatProbeSequence {
  size_t piece = 0;           // index in the shard
  std::vector<Token> tokens;  // header + phrase + phrase
  int64_t first = 0;          // first token of the first copy
  int64_t length = 0;         // tokens per copy; the second copy starts at first + length
};

// The probe sequences of `split` (the first max_pieces qualifying pieces when max_pieces > 0). Throws Error naming
// the shard when it is not a melody shard, bars < 1, or no piece of the split has `bars` bars.
std::vector<RepeatProbeSequence> repeat_probe_sequences(const Shard& shard, Split split, int bars,
                                                        int64_t max_pieces = 0);

// Scores a whole sequence: result[t - 1] = log p(tokens[t] | tokens[< t]) for t = 1 .. size - 1.
using SequenceScorer = std::function<std::vector<double>(std::span<const Token> tokens)>;

struct RepeatProbeScore {
  double first_nll = 0;   // nats per token on the first copy
  double second_nll = 0;  // nats per token on the second copy (the same tokens)
  double ratio = 0;       // second_nll / first_nll
  int64_t tokens = 0;     // scored tokens per copy, summed over pieces
};
RepeatProbeScore score_repeat_probe(std::span<const RepeatProbeSequence> sequences, const SequenceScorer& scorer);

// The n-gram baselines on the probe: the model estimated on the train split as fit_ngram_baseline() estimates it,
// at the order (plain) and the cached order and cache settings that `baseline` chose on valid.
struct RepeatProbeNgram {
  RepeatProbeScore plain, cached;
};
RepeatProbeNgram ngram_repeat_probe(const Shard& shard, const NgramBaseline& chosen,
                                    std::span<const RepeatProbeSequence> sequences);

// log p(tokens[t] | tokens[< t]) for t = 1 .. size - 1 under the cached model: cache_probability() at every position
// (the reference it is tested against), computed in O(size^2) for the whole sequence.
std::vector<double> cached_log_probs(const KneserNeyModel& model, std::span<const Token> tokens,
                                     const CacheOptions& cache);

nlohmann::json to_json(const RepeatProbeScore& score);  // NaN as null

}  // namespace cadenza::eval
