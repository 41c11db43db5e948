// Performance events in the style of Performance RNN (Oore et al. 2018; Magenta's PerformanceOneHotEncoding):
// polyphonic music as a stream of MIDI-like events on an absolute time grid (10 ms by default).
//
//   NOTE_ON_<p>     pitch p starts now (min_pitch..max_pitch; 128 tokens by default)
//   NOTE_OFF_<p>    pitch p ends now
//   TIME_SHIFT_<k>  time moves on by k grid steps, k = 1..max_shift_steps (TIME_SHIFT_1 = 10 ms .. TIME_SHIFT_100
//                   = 1 s by default)
//   VELOCITY_<b>    later NOTE_ONs have velocity bin b = 1..num_velocity_bins
//
// Vocabulary order as in Magenta: all NOTE_ONs, all NOTE_OFFs, all TIME_SHIFTs, all VELOCITYs (388 tokens with
// the defaults). Velocity bins follow Magenta: bin size = ceil(127 / num_velocity_bins), bin(v) = (v - 1) / size
// + 1, and a bin decodes to its lower edge 1 + (bin - 1) * size (so bins round-trip exactly).
//
// encode(): works in seconds (recomputed from ticks and the tempo map, so hand-built scores need no
// update_seconds()). All tracks are merged; drum tracks are dropped unless keep_drums (then their notes become
// ordinary pitched notes). Notes outside [min_pitch, max_pitch] are dropped. Start and end snap to the nearest
// grid step (halves up, as Magenta's absolute quantization); a note that would vanish keeps one step. One key
// sounds once: of notes with the same pitch and start step only the last in score order is kept (longest end,
// then highest velocity), and a note is cut where the next note of its pitch starts. Events are sorted by time,
// NOTE_OFFs before NOTE_ONs at the same time, then by pitch; a VELOCITY token precedes a NOTE_ON only when the
// bin changes (and before the first NOTE_ON); gaps longer than max_shift_steps become several TIME_SHIFTs
// (full ones first). Time starts at the score's second 0, so leading silence is kept as TIME_SHIFTs.
//
// decode(): ids outside the vocabulary are ignored; NOTE_OFF for a pitch that does not sound is ignored; a
// NOTE_ON of a sounding pitch ends the sounding note there (a note that would end at its own start, by that or
// by a NOTE_OFF in the same step, is dropped); notes still sounding at the end close at the final time, lasting
// at least one step. Before the first VELOCITY token notes take the "velocity" option, passed through the bins.
// The Score: one track "performance" (program 0, channel 0), 120 qpm, 4/4, ticks_per_quarter = 5 *
// steps_per_second so that one grid step is exactly 10 ticks (500 tpq, 1 tick = 1 ms with the defaults).
//
// Grammar (only canonical sequences: everything encode() emits, nothing redundant):
//   - NOTE_OFF_<p> only while p sounds and did not start in the current step;
//   - NOTE_ON_<p> unless p already started in the current step; with velocity bins, only after a VELOCITY;
//   - TIME_SHIFT always, except right after a VELOCITY;
//   - VELOCITY_<b> not right after a VELOCITY, not for the current bin, not for bins that decode above 127,
//     and only when some NOTE_ON can still follow in this step;
//   - right after a VELOCITY only NOTE_ONs; can_end() when nothing sounds and no VELOCITY awaits its note.
//
// Spec options (all optional): steps_per_second 100 (1..1000), max_shift_steps 100 (1..1000),
// num_velocity_bins 32 (0..127; 0 = no VELOCITY tokens, every note gets "velocity"), min_pitch 0,
// max_pitch 127, keep_drums false, velocity 100 (1..127).
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "encoding/encoding.h"

namespace cadenza {

struct PerformanceSpec {
  int steps_per_second = 100;
  int max_shift_steps = 100;
  int num_velocity_bins = 32;
  int min_pitch = 0;
  int max_pitch = 127;
  bool keep_drums = false;
  int velocity = 100;

  int num_pitches() const { return max_pitch - min_pitch + 1; }
  int velocity_bin_size() const {
    return num_velocity_bins > 0 ? (127 + num_velocity_bins - 1) / num_velocity_bins : 0;
  }
  int velocity_to_bin(int velocity) const;      // 1..num_velocity_bins (0 when there are no bins)
  int bin_to_velocity(int velocity_bin) const;  // lower edge of the bin, clamped to 1..127
  static constexpr int kTicksPerStep = 10;      // in decoded scores
  int decoded_ticks_per_quarter() const { return 5 * steps_per_second; }

  nlohmann::json to_json() const;                                // includes "name": "performance"
  static PerformanceSpec from_json(const nlohmann::json& json);  // throws Error on unknown keys or bad values
};

class PerformanceEncoding : public TokenEncoding {
 public:
  explicit PerformanceEncoding(PerformanceSpec spec = {});

  std::string name() const override { return "performance"; }
  nlohmann::json spec() const override;
  const Vocabulary& vocabulary() const override { return vocabulary_; }
  std::vector<Token> encode(const Score& score) const override;
  Score decode(std::span<const Token> tokens) const override;
  std::unique_ptr<Grammar> grammar() const override;
  int token_pitch(Token token) const override;
  Token with_pitch(Token token, int pitch) const override;

  const PerformanceSpec& performance_spec() const { return spec_; }
  // Token ids (-1 when the argument is out of range).
  Token note_on(int pitch) const;
  Token note_off(int pitch) const;
  Token time_shift(int steps) const;
  Token velocity(int velocity_bin) const;

  // Token layout: [0, P) NOTE_ON, [P, 2P) NOTE_OFF, [2P, 2P + S) TIME_SHIFT, then VELOCITY.
  Token first_note_off() const { return spec_.num_pitches(); }
  Token first_time_shift() const { return 2 * spec_.num_pitches(); }
  Token first_velocity() const { return first_time_shift() + spec_.max_shift_steps; }

 private:
  PerformanceSpec spec_;
  Vocabulary vocabulary_;
};

}  // namespace cadenza
