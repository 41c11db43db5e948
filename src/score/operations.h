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
// The step may be a fractional number of ticks: grid point k sits at round(k * tpq / spq) (exact integer
// arithmetic, halves round up), which makes quantize idempotent. Meta events of one kind that snap to the same
// tick keep the later one; notes that become identical are merged. Throws Error if steps_per_quarter <= 0.
Score quantize(const Score& score, int steps_per_quarter);

// Replaces the tempo map by one tempo (quarter notes per minute, > 0) and recomputes the seconds of every note.
void set_tempo(Score& score, double qpm);
// The index of the grid step nearest to a tick on a grid of steps_per_quarter steps per quarter (halves round
// up): the rule quantize() and the encoders share. Exact in 128-bit arithmetic and clamped to +-2^60, far beyond
// any usable score, so that callers' own length limits, not an overflow, stop absurd input.
int64_t nearest_grid_step(int64_t tick, int steps_per_quarter, int ticks_per_quarter);

// Shifts every non-drum pitch by semitones. Throws Error if any pitch would leave 0..127.
Score transpose(const Score& score, int semitones);
// The range of transpositions that keeps every non-drum pitch within [low, high] (empty if none). [low, high] is
// clamped to 0..127; a score without pitched notes gets {0, 0}.
struct TransposeRange {
  int lowest = 0;
  int highest = 0;
};
std::optional<TransposeRange> transpose_range(const Score& score, int low = 0, int high = 127);

// Keeps notes overlapping [start_tick, end_tick), cut to that window and shifted so start_tick becomes 0.
// The tempo / meter / key in force at start_tick moves to tick 0; events inside the window shift; events at or
// after end_tick are dropped. Throws Error if start_tick < 0 or end_tick < start_tick (an empty window is fine).
Score clip(const Score& score, int64_t start_tick, int64_t end_tick);

// Bar boundaries [start, end) in ticks following the time-signature map, covering the whole score: bars run from
// tick 0 until one reaches end_tick() (none for a score without notes). A bar lasts
// numerator * 4 * tpq / denominator ticks (bar k of a signature region starts at floor(k * that), so fractional
// lengths do not drift). A time-signature change in the middle of a bar ends that bar early and starts a new bar
// at the change; such a short bar still reports the signature it began under.
struct Bar {
  int64_t start_tick = 0;
  int64_t end_tick = 0;
  int numerator = 4;
  int denominator = 4;
};
std::vector<Bar> bars(const Score& score);

// The one rule for how long a bar is: numerator * 4 / denominator quarter notes. In grid steps of
// 1/steps_per_quarter quarter (rounded to the nearest step for meters that do not fill whole steps, at least 1).
int64_t steps_per_bar(int numerator, int denominator, int steps_per_quarter);
double quarters_per_bar(int numerator, int denominator);
// The time signature in effect at `tick` (4/4 when the score has none).
TimeSignature meter_at(const Score& score, int64_t tick);
// The tick `bars` bars after `from_tick`, in the meter in effect at from_tick (4/4 for an empty score).
int64_t tick_after_bars(const Score& score, int64_t from_tick, double bars);
// One Score per bar (clip() of each bar), computed in one sweep over the notes.
std::vector<Score> split_into_bars(const Score& score);

// Merges all tracks (or those listed) into one track; name/program/channel of the first. The merged track takes
// the place of the first listed track; unlisted tracks stay in order. Identical notes (a unison in two tracks)
// become one. Throws Error on an out-of-range or repeated index.
Score merge_tracks(const Score& score, const std::vector<int>& track_indices = {});
// Keeps the listed tracks, in the given order. Throws Error on an out-of-range index.
Score select_tracks(const Score& score, const std::vector<int>& track_indices);

// A monophonic melody in one track: from the named track if given (throws Error if no such track),
// otherwise from all non-drum tracks; where notes overlap the highest one sounds ("skyline") and a lower
// note that is interrupted is cut. A note that starts while a higher (or equal) melody note sounds is dropped, not
// resumed after the higher note ends: every melody note begins at a real onset. At one onset the highest note
// wins (the longest on a tie). The named track keeps its header; otherwise the track is called "melody" and takes
// program/channel of the first non-drum track. Throws Error listing the track names if the name is unknown.
Score extract_melody(const Score& score, const std::string& track_name = "");

}  // namespace cadenza
