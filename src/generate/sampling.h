// Drawing one token from a model's logits: grammar mask, temperature, top-k and top-p (nucleus) filtering.
//
// Every draw of generation goes through this file: one token from a softmax (temperature, top-k, top-p), or the keys
// of a piano-roll frame, each an independent Bernoulli (temperature). They work on plain float buffers (a CPU copy of
// the logits) and draw with the portable helpers of common/random.h, so a seed gives the same music whatever
// standard library or libtorch version is installed.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace cadenza {

struct SamplingOptions {
  double temperature = 1.0;  // > 0 scales logits by 1/temperature; 0 = greedy (argmax of the allowed tokens)
  int top_k = 0;             // keep only the k most likely tokens; 0 = all
  double top_p = 1.0;        // keep the smallest set of most likely tokens whose probability sums to >= p; (0, 1]
};

// Throws cadenza::Error naming the bad field (negative or non-finite temperature, negative top_k, top_p outside
// (0, 1]).
void validate_sampling_options(const SamplingOptions& options);

// Returns a token in [0, vocab). Steps, in order: tokens with mask[t] == 0 (when mask is not null) get -inf;
// temperature (0 = argmax, ties -> lowest id); top-k; top-p (at least one token is always kept); inverse-CDF draw
// from rng. Throws cadenza::Error on invalid options, vocab <= 0, or a mask that allows no token. Non-finite
// logits: NaN counts as disallowed; +inf is treated as the most likely token(s).
int sample_token(const float* logits, int vocab, const uint8_t* mask, const SamplingOptions& options,
                 std::mt19937_64& rng);

// The keys of one frame, each on with probability sigmoid(logit / temperature), one random_unit draw per key in
// order; at temperature 0 a key is on when its logit is > 0 (no draw). Writes 0/1 into `out` (count values).
// Throws cadenza::Error on a negative or non-finite temperature.
void sample_keys(const float* logits, int64_t count, double temperature, std::mt19937_64& rng, float* out);
// One key: true with probability sigmoid(logit / temperature) (temperature 0: logit > 0).
bool sample_key(double logit, double temperature, std::mt19937_64& rng);

}  // namespace cadenza
