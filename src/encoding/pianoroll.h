// Multi-track binary piano roll: tracks x steps x pitches, for the GAN/VAE models and the JSB benchmark.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "score/score.h"

namespace cadenza {

struct PianoRollSpec {
  int steps_per_quarter = 4;  // grid resolution
  int lowest_pitch = 21;      // A0 ..
  int highest_pitch = 108;    // .. C8 (88 keys)
  int num_tracks = 1;         // tracks after mapping; score tracks beyond this are merged into the last one
  bool merge_all_tracks = false;  // true: every score track goes to roll track 0 (the JSB benchmark)
  bool transpose_into_range = false;  // shift by octaves to fit the pitch range instead of dropping notes

  int num_pitches() const { return highest_pitch - lowest_pitch + 1; }
  nlohmann::json to_json() const;
  static PianoRollSpec from_json(const nlohmann::json& json);  // throws Error on bad values
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
  explicit PianoRollEncoding(PianoRollSpec spec = {}) : spec_(spec) {}
  const PianoRollSpec& spec() const { return spec_; }

  // A cell is on while a note sounds at that step (after quantization). Notes outside the pitch range are
  // dropped (or octave-shifted with transpose_into_range).
  PianoRoll encode(const Score& score) const;
  // Runs of "on" cells become notes (the roll cannot tell a held note from repeated ones). Shape mismatches
  // are clamped, never fatal.
  Score decode(const PianoRoll& roll, double qpm = 120.0, int velocity = 80) const;
  // Splits a roll into windows of bars_per_segment bars (full windows only).
  std::vector<PianoRoll> segment_by_bars(const PianoRoll& roll, int bars_per_segment) const;

 private:
  PianoRollSpec spec_;
};

}  // namespace cadenza
