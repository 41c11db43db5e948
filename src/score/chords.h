// Chords as the melody models read them: the 12 pitch classes sounding, as a bitmask (bit p = pitch class p,
// C = 0 .. B = 11; 0 = no chord). Read from a score's chord / accompaniment track, or parsed from chord symbols.
//
// Symbols: a root A..G with an optional # or b, an optional quality, an optional /bass (a root spelling):
//   ""/maj (major), m/min (minor), 7 (dominant 7th), m7/min7, maj7, dim, dim7, m7b5, aug/+, sus2, sus4, 6, m6, 9.
// A progression is bars separated by '|'; the symbols of one bar (separated by spaces) split the bar evenly.
// Example: "C | G7 | Am F/C | Bdim". A slash bass adds its pitch class to the chord.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "score/key.h"
#include "score/score.h"

namespace cadenza {

struct ChordSymbol {
  std::string text;   // as written
  int root = 0;       // pitch class 0..11
  int bass = -1;      // pitch class of a slash bass, -1 = none
  uint16_t mask = 0;  // pitch classes sounding (root, quality's intervals, bass)
};

// Throws Error naming the symbol and what is wrong with it ("where" prefixes the message, e.g. "bar 2, chord 1").
ChordSymbol parse_chord_symbol(const std::string& text, const std::string& where = "");
// Bars of chords. Throws Error naming the bad symbol and its position (bar and chord, 1-based), or an empty bar.
std::vector<std::vector<ChordSymbol>> parse_chord_progression(const std::string& text);

// The chord bitmask rotated by semitones (transposition).
uint16_t transpose_chord_mask(uint16_t mask, int semitones);
// "C E G" style listing of a mask's pitch classes (sharp names), "none" for 0.
std::string chord_mask_text(uint16_t mask);

// The chord sounding at each of the first `steps` grid steps of a track (notes quantized to steps_per_quarter as
// quantize() would; the chord at step s is every pitch class of the non-drum notes covering s). Throws Error when
// the score has no track `track_index`.
std::vector<uint16_t> chord_masks_at_steps(const Score& score, int track_index, int steps_per_quarter, int64_t steps);

// Per grid step chord masks of a progression, with bars of `bar_steps` steps, for `bars` bars from step 0
// (steps past the progression's last bar have no chord).
std::vector<uint16_t> progression_step_masks(const std::vector<std::vector<ChordSymbol>>& bars, int64_t bar_steps);

// The key of a chord progression (one mask per grid step, 0 = no chord): the Krumhansl-Schmuckler correlation
// (key_correlation) of how many grid steps each pitch class sounds in, with kFinalChordKeyBonus added for the key
// whose tonic triad is the last chord, when that is a plain major or minor triad. Tunes mostly end on their tonic
// chord, while the pitch classes alone lean towards the dominant: over "G | D | G | D | G | D7 | G" D major
// correlates 0.88 and G major 0.76. nullopt without any chord.
std::optional<Key> chord_progression_key(const std::vector<uint16_t>& step_masks);
// Chosen on the chord tracks of the Nottingham valid split (95 tunes; the key of each file's key signature found
// for 0.779 of them without the bonus, 0.811 with 0.1, 0.853 with 0.2, 0.842 with 0.3, 0.832 with 1; the train
// split agrees: 0.802 without, 0.880 with 0.2). docs/conditioning.md has the measurement.
inline constexpr double kFinalChordKeyBonus = 0.2;

// Adds a track "chords" (program 0, channel 1) playing each chord of `step_masks` as a block of notes in 48..59,
// one note per pitch class, held while the chord lasts. ticks_per_step converts steps to the score's ticks.
void add_chord_track(Score& score, const std::vector<uint16_t>& step_masks, int64_t ticks_per_step, int velocity = 70);

}  // namespace cadenza

namespace cadenza {

// How many melody notes are chord tones (their pitch class is in the chord sounding at their onset), for the
// chord-tone share of docs/conditioning.md. Onsets are quantized to steps_per_quarter; notes over no chord are not
// counted. A note is on a beat when its onset step is a multiple of the beat (from tick 0, the first meter: a quarter
// for n/4 and n/2, a dotted quarter for 6/8 9/8 12/8, an eighth for other n/8). Throws Error when a track is
// missing.
struct ChordToneCount {
  int64_t notes = 0, chord_tones = 0;            // melody notes over a chord; of them, chord tones
  int64_t beat_notes = 0, beat_chord_tones = 0;  // the same for notes on a beat
};
ChordToneCount count_chord_tones(const Score& score, int melody_track, int chord_track, int steps_per_quarter);

}  // namespace cadenza
