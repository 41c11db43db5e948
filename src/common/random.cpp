#include "common/random.h"

#include <climits>
#include <cmath>

#include "common/error.h"

namespace cadenza {

uint64_t random_below(std::mt19937_64& rng, uint64_t bound) {
  if (bound == 0) throw Error("random_below: empty range");
  // Rejection keeps the draw exactly uniform: values in the last partial block of size bound are redrawn.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t value;
  do value = rng();
  while (value >= limit);
  return value % bound;
}

int random_int(std::mt19937_64& rng, int lowest, int highest) {
  if (highest < lowest) throw Error("random_int: empty range");
  return lowest + static_cast<int>(random_below(rng, static_cast<uint64_t>(int64_t{highest} - lowest + 1)));
}

double random_unit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

double random_real(std::mt19937_64& rng, double lowest, double highest) {
  return lowest + (highest - lowest) * random_unit(rng);
}

double random_normal(std::mt19937_64& rng) {
  // Box-Muller with u1 in (0, 1]: log never sees 0. One normal per call (the second is discarded) keeps the
  // stream position a simple function of the number of draws.
  const double u1 = 1.0 - random_unit(rng), u2 = random_unit(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace cadenza
