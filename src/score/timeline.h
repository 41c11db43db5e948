// Positions on a score's timeline (seconds, bars and beats) for many ticks at once.
//
// Score::tick_to_seconds walks the tempo map from the start for every call, which is fine for one tick but
// quadratic when asked for every event of a long map (a file with 200,000 tempo or meter changes took a minute in
// `cadenza midi info`). These functions take the ticks in ascending order and sweep the map once: O(ticks + map).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "score/score.h"

namespace cadenza {

// The seconds at each tick, as Score::tick_to_seconds computes them. Ticks must be ascending (Error otherwise);
// the tempo map must be sorted by tick (the invariant of score.h).
std::vector<double> seconds_at(const Score& score, std::span<const int64_t> ticks);

// Where a tick falls in bars and beats of the time-signature map: `bars` bars lie before it (counted from 0) and
// `beats` beats of the denominator into the bar it is in. A meter change starts a new bar, so a partial bar before
// it counts as a whole one (as bars() in score/operations.h cuts it), and the tick of a change is beat 0 of a bar.
// Before the first signature (and at tick 0) a tick is at {0, 0}.
struct BarPosition {
  int64_t bars = 0;
  double beats = 0.0;
};
// The bar position of each tick. Ticks must be ascending (Error otherwise); the time signatures sorted by tick.
std::vector<BarPosition> bar_positions(const Score& score, std::span<const int64_t> ticks);

}  // namespace cadenza
