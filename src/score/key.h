// The key of a piece: read from its key signature, or found from its notes (Krumhansl-Schmuckler). Used by the
// melody encoding's key token, the form metrics and the studio; one definition for all of them.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "score/score.h"

namespace cadenza {

enum class ScaleMode { kMajor, kMinor };

struct Key {
  int root = 0;  // pitch class of the tonic, 0 = C
  ScaleMode mode = ScaleMode::kMajor;
  bool operator==(const Key& other) const = default;
};

// The key of the score's first key signature (sharps and minor flag: 2 sharps minor = B minor), if it has one.
std::optional<Key> first_key(const Score& score);
// Krumhansl-Schmuckler key finding: the correlation of the duration-weighted pitch-class histogram of the non-drum
// notes with the Krumhansl-Kessler major and minor profiles rotated to each tonic; the best of the 24 keys (ties:
// major before minor, lower tonic first). nullopt without notes.
std::optional<Key> estimate_key(const Score& score);
// The same over a pitch-class histogram given directly (weights per pitch class, C first); nullopt when all are 0.
std::optional<Key> estimate_key(const std::array<double, 12>& histogram);
// What estimate_key maximises for one key: the Pearson correlation of the histogram with the key's profile
// (-1..1; 0 for a flat histogram).
double key_correlation(const std::array<double, 12>& histogram, const Key& key);
// first_key(score) when the score has a key signature, else estimate_key(score).
std::optional<Key> tune_key(const Score& score);

// "major" / "minor" <-> ScaleMode; parse throws Error on anything else.
ScaleMode parse_scale_mode(const std::string& text);
const char* scale_mode_name(ScaleMode mode);
// "C", "F#m", "Bb" ... (sharps for major keys with sharps, flats otherwise), and back ("f#m", "Bb", "Eb minor" ...).
std::string key_name(const Key& key);
// Throws Error naming the text when it is not a key.
Key parse_key(const std::string& text);
// A key signature (sharps -7..7) for a key: the conventional one, at most 6 sharps or flats.
KeySignature key_signature_of(const Key& key, int64_t tick = 0);

// transpose() (score/operations.h) that moves the key signatures too: each to the conventional signature of its key
// moved by semitones. Throws Error like transpose() when a pitch would leave 0..127.
Score transpose_with_key(const Score& score, int semitones);
// The shift by -6..+5 semitones that moves pitch class `from` to pitch class `to` (the nearer way; a tritone goes
// down).
int nearest_shift(int from, int to);

}  // namespace cadenza
