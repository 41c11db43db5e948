// Data augmentation for training: pitch transposition and time stretch.
//
// Token pieces are transposed in token space (TokenEncoding::transposition_range / transpose: no decoding).
// Piano rolls are shifted along the pitch axis within the empty margins of the roll. Time stretch goes
// through a Score: decode -> scale every tick by the factor -> encode, so it costs one decode and one encode of
// the stretched region (linear in its length; see docs/dataset-format.md for measured figures). It is meant for
// performance events, whose time grid is absolute: grid encodings (melody, REMI) re-quantize the stretched
// notes, which changes rhythms rather than tempo, so leave it off for them.
#pragma once

#include <span>
#include <utility>
#include <vector>

#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "score/score.h"

namespace cadenza {

// Scales every tick (notes, tempo / meter / key changes) by factor (> 0), rounding to the nearest tick; a note
// that would collapse keeps one tick. The tempo map is kept, so durations in seconds scale by factor too.
// Throws Error on a factor that is not finite and positive.
Score stretch_time(const Score& score, double factor);

// decode(tokens) -> stretch_time(factor) -> encode.
std::vector<Token> stretch_tokens(const TokenEncoding& encoding, std::span<const Token> tokens, double factor);

// The [lowest, highest] pitch shifts (semitones) that keep every on cell inside the roll. A roll with no on
// cell can move anywhere: {-(num_pitches - 1), num_pitches - 1}.
std::pair<int, int> roll_transposition_range(const PianoRoll& roll);
// Shifts every cell by semitones along the pitch axis. Throws Error when an on cell would leave the roll.
void transpose_roll(PianoRoll& roll, int semitones);

}  // namespace cadenza
