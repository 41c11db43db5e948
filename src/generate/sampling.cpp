#include "generate/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/random.h"

namespace cadenza {

void validate_sampling_options(const SamplingOptions& options) {
  if (!std::isfinite(options.temperature) || options.temperature < 0.0) {
    throw Error("sampling: temperature must be a finite number >= 0, got " + std::to_string(options.temperature));
  }
  if (options.top_k < 0) throw Error("sampling: top_k must be >= 0 (0 = off), got " + std::to_string(options.top_k));
  if (!(options.top_p > 0.0 && options.top_p <= 1.0)) {
    throw Error("sampling: top_p must be in (0, 1], got " + std::to_string(options.top_p));
  }
}

int sample_token(const float* logits, int vocab, const uint8_t* mask, const SamplingOptions& options,
                 std::mt19937_64& rng) {
  validate_sampling_options(options);
  if (vocab <= 0) throw Error("sampling: vocabulary size must be positive, got " + std::to_string(vocab));

  // Candidates: allowed tokens with a usable logit.
  std::vector<int> candidates;
  candidates.reserve(vocab);
  for (int t = 0; t < vocab; ++t) {
    if (mask != nullptr && mask[t] == 0) continue;
    if (std::isnan(logits[t]) || logits[t] == -std::numeric_limits<float>::infinity()) continue;
    candidates.push_back(t);
  }
  if (candidates.empty()) throw Error("sampling: no token is allowed (empty mask or all logits -inf/NaN)");

  // Most likely first; ties keep the lower id first so greedy is deterministic.
  std::stable_sort(candidates.begin(), candidates.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  if (options.temperature == 0.0 || candidates.size() == 1) return candidates.front();

  // +inf logits: they share all the probability equally.
  const float top = logits[candidates.front()];
  if (std::isinf(top)) {
    size_t count = 0;
    while (count < candidates.size() && std::isinf(logits[candidates[count]])) ++count;
    candidates.resize(count);
  }
  if (options.top_k > 0 && static_cast<size_t>(options.top_k) < candidates.size()) candidates.resize(options.top_k);

  // Softmax in double over the kept candidates (max-subtracted, so exp never overflows).
  std::vector<double> weights(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    const double scaled = std::isinf(top) ? 0.0 : (double(logits[candidates[i]]) - double(top)) / options.temperature;
    weights[i] = std::exp(scaled);
  }
  double total = std::accumulate(weights.begin(), weights.end(), 0.0);

  if (options.top_p < 1.0) {
    // Smallest prefix (in decreasing probability) whose mass reaches top_p; the small epsilon keeps p = 0.5 on an
    // exact 0.5 boundary from depending on rounding.
    double cumulative = 0.0;
    size_t keep = 0;
    while (keep < weights.size()) {
      cumulative += weights[keep] / total;
      ++keep;
      if (cumulative >= options.top_p - 1e-12) break;
    }
    weights.resize(keep);
    candidates.resize(keep);
    total = std::accumulate(weights.begin(), weights.end(), 0.0);
  }

  const double draw = random_real(rng, 0.0, total);
  double cumulative = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    cumulative += weights[i];
    if (draw < cumulative) return candidates[i];
  }
  return candidates.back();  // draw == total up to rounding
}

bool sample_key(double logit, double temperature, std::mt19937_64& rng) {
  if (temperature == 0.0) return logit > 0;
  const double probability = 1.0 / (1.0 + std::exp(-logit / temperature));
  return random_unit(rng) < probability;
}

void sample_keys(const float* logits, int64_t count, double temperature, std::mt19937_64& rng, float* out) {
  if (!std::isfinite(temperature) || temperature < 0.0)
    throw Error("sampling: temperature must be a finite number >= 0, got " + std::to_string(temperature));
  for (int64_t k = 0; k < count; ++k) out[k] = sample_key(logits[k], temperature, rng) ? 1.0f : 0.0f;
}

}  // namespace cadenza
