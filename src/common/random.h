// The one random-number policy of Cadenza: every draw (batches, augmentation, sampling tokens and keys, latents)
// comes from a std::mt19937_64 through these explicit functions, never through std::*_distribution, whose output
// differs between standard libraries. So a seed gives the same data order and the same music on every platform.
#pragma once

#include <cstdint>
#include <random>

namespace cadenza {

uint64_t random_below(std::mt19937_64& rng, uint64_t bound);              // uniform in [0, bound), bound > 0
int random_int(std::mt19937_64& rng, int lowest, int highest);            // uniform in [lowest, highest]
double random_real(std::mt19937_64& rng, double lowest, double highest);  // uniform in [lowest, highest)
double random_unit(std::mt19937_64& rng);                                 // uniform in [0, 1), 53 bits
double random_normal(std::mt19937_64& rng);                               // standard normal (Box-Muller)

}  // namespace cadenza
