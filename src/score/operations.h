// Operations on Scores. Each returns a new Score and keeps the invariants listed in score.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "score/score.h"

namespace cadenza {

// Snaps note starts and ends to a grid of steps_per_quarter steps per quarter note (nearest step; a note that
// would collapse to zero length keeps one step). Ticks stay in the score's own resolution; meta events snap too.
Score quantize(const Score& score, int steps_per_quarter);

// Shifts every non-drum pitch by semitones. Throws Error if any pitch would leave 0..127.
Score transpose(const Score& score, int semitones);
// The range of transpositions that keeps every non-drum pitch within [low, high] (empty if none).
struct TransposeRange {
  int lowest = 0;
  int highest = 0;
};
std::optional<TransposeRange> transpose_range(const Score& score, int low = 0, int high = 127);

// Keeps notes overlapping [start_tick, end_tick), cut to that window and shifted so start_tick becomes 0.
// The tempo / meter / key in force at start_tick moves to tick 0.
Score clip(const Score& score, int64_t start_tick, int64_t end_tick);

// Bar boundaries [start, end) in ticks following the time-signature map, covering the whole score.
struct Bar {
  int64_t start_tick = 0;
  int64_t end_tick = 0;
  int numerator = 4;
  int denominator = 4;
};
std::vector<Bar> bars(const Score& score);
// One Score per bar (clip() of each bar).
std::vector<Score> split_into_bars(const Score& score);

// Merges all tracks (or those listed) into one track; name/program/channel of the first.
Score merge_tracks(const Score& score, const std::vector<int>& track_indices = {});
// Keeps the listed tracks, in the given order. Throws Error on an out-of-range index.
Score select_tracks(const Score& score, const std::vector<int>& track_indices);

// A monophonic melody in one track: from the named track if given (throws Error if no such track),
// otherwise from all non-drum tracks; where notes overlap the highest one sounds ("skyline") and a lower
// note that is interrupted is cut.
Score extract_melody(const Score& score, const std::string& track_name = "");

}  // namespace cadenza
