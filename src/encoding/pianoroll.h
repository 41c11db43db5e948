// Multi-track binary piano roll: tracks x steps x pitches, for the GAN/VAE models and the JSB benchmark.
//
// encode(): the score is snapped to steps_per_quarter steps per quarter (nearest step, halves up; a note whose
// end snaps onto its start keeps one step: the rule of quantize()). A cell is on at every step a note sounds,
// [start, end). Track mapping: drum tracks are dropped (their keys are not pitches) unless include_drums; the
// i-th kept score track goes to roll track min(i, num_tracks - 1), or to track 0 with merge_all_tracks; the roll
// always has num_tracks tracks. Notes outside lowest_pitch..highest_pitch are dropped, or with
// transpose_into_range moved by whole octaves (note by note) into the range (dropped if the range is narrower
// than an octave and no shift fits). bar_starts are the starts (in steps) of the score's bars (bars(), which
// follows its time signatures) and num_steps runs to the end of the bar holding the last sounding step, so every
// bar of the roll is complete (an empty score gives an empty roll with no bars). More than kMaxCells cells is an
// Error.
//
// decode(): a run of on cells in one (track, pitch) row is one note, so a repeated note (two notes of one pitch
// that touch) comes back as one held note, and notes of one pitch that overlap become one. One Track per roll
// track, named "track0", "track1", ... (or as given), program 0, channels 0, 1, ... skipping 9; one tempo (qpm);
// velocity fixed. The meter comes from the bar lengths: a bar of L steps becomes n/d with the smallest d in
// 4, 8, .., 64 that makes n whole (so 6/8 comes back as 3/4 and 2/2 as 4/4: the same bars, another name); bars
// with no such meter, or a roll with no bars, give 4/4. Resolution: ticks_per_quarter = ceil(480 /
// steps_per_quarter) * steps_per_quarter. Hence encode(decode(roll)) == roll for every roll encode() makes
// whose bars all have such a meter: always when steps_per_quarter is a power of two up to 16 (with 3 steps
// per quarter, a 5/8 bar of 7.5 steps cannot be kept).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "score/score.h"

namespace cadenza {

struct PianoRollSpec {
  int steps_per_quarter = 4;          // grid resolution
  int lowest_pitch = 21;              // A0 ..
  int highest_pitch = 108;            // .. C8 (88 keys)
  int num_tracks = 1;                 // tracks after mapping; score tracks beyond this are merged into the last one
  bool merge_all_tracks = false;      // true: every score track goes to roll track 0 (the JSB benchmark)
  bool transpose_into_range = false;  // shift by octaves to fit the pitch range instead of dropping notes
  bool include_drums = false;         // drum tracks count as ordinary tracks instead of being dropped

  int num_pitches() const { return highest_pitch - lowest_pitch + 1; }
  // Every field plus "name": "pianoroll"; from_json accepts that "name" (or none) and every field optional.
  nlohmann::json to_json() const;
  static PianoRollSpec from_json(const nlohmann::json& json);  // throws Error on bad values or unknown keys
};

// Row-major [track][step][pitch] bytes, each 0 or 1.
struct PianoRoll {
  int num_tracks = 0;
  int num_steps = 0;
  int num_pitches = 0;
  std::vector<uint8_t> cells;
  // Bar boundaries in steps (bar i covers [bar_starts[i], bar_starts[i+1]) ; last bar ends at num_steps).
  std::vector<int> bar_starts;

  uint8_t at(int track, int step, int pitch_index) const {
    return cells[(static_cast<size_t>(track) * num_steps + step) * num_pitches + pitch_index];
  }
  uint8_t& at(int track, int step, int pitch_index) {
    return cells[(static_cast<size_t>(track) * num_steps + step) * num_pitches + pitch_index];
  }
};

class PianoRollEncoding {
 public:
  static constexpr int64_t kMaxCells = int64_t{1} << 31;

  explicit PianoRollEncoding(PianoRollSpec spec = {});  // throws Error on bad values
  const PianoRollSpec& spec() const { return spec_; }

  // A cell is on while a note sounds at that step (after quantization). Notes outside the pitch range are
  // dropped (or octave-shifted with transpose_into_range).
  PianoRoll encode(const Score& score) const;
  // The same roll cut (or extended with silent steps) to exactly the steps of [0, end_tick) instead of running to
  // the end of the last bar: for sources that know their length (a piano-roll JSON file's steps), so that no
  // padding steps are added and trailing rests are kept. Bars starting at or after the end are dropped; the last
  // bar may then be partial (whole-bar windows skip it). A score with no sounding note still gives an empty roll.
  // Throws Error when end_tick is negative or the roll would be too large.
  PianoRoll encode(const Score& score, int64_t end_tick) const;
  // Runs of "on" cells become notes (the roll cannot tell a held note from repeated ones). Shape mismatches
  // are clamped, never fatal.
  Score decode(const PianoRoll& roll, double qpm = 120.0, int velocity = 80) const;
  // The same with track names (missing names fall back to "track<i>").
  Score decode(const PianoRoll& roll, double qpm, int velocity, const std::vector<std::string>& track_names) const;
  // Splits a roll into windows of bars_per_segment consecutive bars (full windows only: leftover bars at the end
  // are dropped; the roll's last bar ends at num_steps). Each window keeps its bar starts, shifted to 0. A roll
  // without bar_starts gives no windows. Throws Error if bars_per_segment < 1.
  std::vector<PianoRoll> segment_by_bars(const PianoRoll& roll, int bars_per_segment) const;

 private:
  PianoRollSpec spec_;
};

// Compact storage of the cells, one bit each: cell i (row-major [track][step][pitch]) is bit (i % 8) of byte
// i / 8 (least significant bit first, the layout of the shard files); unused high bits of the last byte are 0.
std::vector<uint8_t> pack_bits(const PianoRoll& roll);
// The inverse for a roll of the given shape (bar_starts stay empty: store them separately). Throws Error when
// the byte count is not exactly ceil(cells / 8), a padding bit is set, or the shape is negative or too large.
PianoRoll unpack_bits(std::span<const uint8_t> bits, int num_tracks, int num_steps, int num_pitches);

}  // namespace cadenza
