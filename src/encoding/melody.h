// Monophonic melody tokens in the style of Magenta's MelodyRNN ("melody_one_hot"): one token per grid step.
//
//   NO_EVENT      the previous state holds (a note keeps sounding, or a rest continues)
//   NOTE_OFF      the sounding note ends at this step (a rest starts)
//   NOTE_ON_<p>   a note of pitch p starts at this step, ending any sounding note
//
// Vocabulary order: NO_EVENT = 0, NOTE_OFF = 1, then NOTE_ON_<min_pitch> .. NOTE_ON_<max_pitch> (39 tokens with
// the defaults 48..84), as in Magenta.
//
// encode(): the score is quantized to steps_per_quarter (quantize()), reduced to one monophonic line with
// extract_melody() (from the track named by the "track" option, otherwise the skyline over all non-drum tracks),
// and shifted by whole octaves into [min_pitch, max_pitch] when transpose_into_range is set (the shift of
// smallest size that fits; none when it already fits). A melody whose span is wider than the range, or that
// does not fit without transposition when transpose_into_range is false, is an Error that names the span.
// Step 0 is the score's tick 0, so leading rests are NO_EVENTs. A note ending exactly where the next one
// starts needs no NOTE_OFF (the NOTE_ON implies it); a rest starts with a NOTE_OFF at the note's end. The
// sequence ends with the NOTE_OFF at the last note's end, so nothing hangs. Tempo, meter and velocity are not
// encoded. An empty melody encodes to an empty sequence.
//
// decode(): token i is step i. Ids outside the vocabulary are ignored (as if absent); a NOTE_OFF with no
// sounding note acts as NO_EVENT; a note still sounding at the end closes at the end of the last step. The
// Score has one track "melody" (program 0, channel 0), velocity = the "velocity" option, tempo = the "qpm"
// option, 4/4, and ticks_per_quarter = ticks_per_step * steps_per_quarter where ticks_per_step =
// ceil(480 / steps_per_quarter) (480 for every divisor of 480).
//
// Grammar: NO_EVENT and every NOTE_ON are always allowed; NOTE_OFF only while a note sounds (Magenta allows it
// anywhere; forbidding the redundant case keeps generated sequences canonical). can_end() is true when no note
// sounds, so generated output never ends on a hanging note (decode would close it, but the encoder never
// produces that form).
//
// Spec options (all optional): steps_per_quarter 4 (1..480), min_pitch 48, max_pitch 84 (0..127, inclusive),
// transpose_into_range true, qpm 120 (decode tempo), velocity 100 (decode velocity 1..127), track "" (name of
// the track to take the melody from; "" = all non-drum tracks), structure false.
//
// structure true (a versioned option: a spec without it is the plain encoding above, so older shards and
// checkpoints keep their meaning) frames each piece as a tune: a start, a meter token, a key token, the steps, and
// an end:
//
//   START          the first token: a tune begins (generation's first input, so the model chooses meter and key)
//   METER_<n>_<d>  the second: the piece's meter (2/4 3/4 4/4 5/4 6/4 2/2 3/2 3/8 6/8 9/8 12/8; another meter
//                  is written as the listed one with the same bar length, else 4/4)
//   KEY_<name>     the third: the tonic and mode (KEY_C .. KEY_B, KEY_Cm .. KEY_Bm; sharp names): the score's
//                  first key signature, else the Krumhansl-Schmuckler estimate of its notes (score/key.h)
//   ...steps...    as above
//   END            after the last step (the last NOTE_OFF): the tune is over
//
// The extra tokens come after the NOTE_ONs in the vocabulary (START, END, the meters, then the 24 keys), so the ids
// above keep their values. decode() sets the meter and key signature from them and stops at END. The grammar
// requires the three headers first, allows END only when no note sounds, and after END only END again (padding).
// KEY tokens transpose with the melody (token_pitch() gives 60 + tonic), so augmentation keeps them true.
// The grammar's context (encoding.h StepContext) gives each step's position in its bar (steps counted from the
// first step, bars of the METER token's length), the tokens 1, 2, 4 and 8 bars back, and from the header on the
// tune's METER and KEY tokens (so a model can read the key at every step, even in a window that starts mid-tune).
//
// one_key true (needs structure; versioned like it) moves every tune to one key before encoding it: a major tune to
// C major, a minor one to A minor (the tonic moved by the smallest shift, -6..+5 semitones, then whole octaves into
// the range as above), so that a model learns one scale and one tonic instead of 24. Its KEY token is then always
// KEY_C or KEY_Am (the grammar allows no other), and key_shift() tells what encode() moved a score by, so that
// generation can move a continued primer back to its own key (or a new tune to the key asked for). Tunes in the
// data's own keys become training data for one key: transposition augmentation would undo it, and the trainer
// refuses it.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "encoding/encoding.h"

namespace cadenza {

struct MelodySpec {
  int steps_per_quarter = 4;
  int min_pitch = 48;
  int max_pitch = 84;
  bool transpose_into_range = true;
  double qpm = 120.0;
  int velocity = 100;
  std::string track;
  bool structure = false;
  bool one_key = false;

  int num_pitches() const { return max_pitch - min_pitch + 1; }
  // Ticks per grid step in decoded scores, and their resolution.
  int ticks_per_step() const { return (480 + steps_per_quarter - 1) / steps_per_quarter; }
  int decoded_ticks_per_quarter() const { return ticks_per_step() * steps_per_quarter; }

  nlohmann::json to_json() const;                           // includes "name": "melody"
  static MelodySpec from_json(const nlohmann::json& json);  // throws Error on unknown keys or bad values
};

class MelodyEncoding : public TokenEncoding {
 public:
  static constexpr Token kNoEvent = 0;
  static constexpr Token kNoteOff = 1;
  static constexpr Token kFirstNoteOn = 2;

  explicit MelodyEncoding(MelodySpec spec = {});

  std::string name() const override { return "melody"; }
  nlohmann::json spec() const override;
  const Vocabulary& vocabulary() const override { return vocabulary_; }
  std::vector<Token> encode(const Score& score) const override;
  Score decode(std::span<const Token> tokens) const override;
  std::unique_ptr<Grammar> grammar() const override;
  int token_pitch(Token token) const override;
  Token with_pitch(Token token, int pitch) const override;

  const MelodySpec& melody_spec() const { return spec_; }
  Token note_on(int pitch) const;  // -1 when pitch is outside [min_pitch, max_pitch]
  // True for the tokens that are one grid step each (NO_EVENT, NOTE_OFF, NOTE_ON), false for structure tokens.
  bool is_step_token(Token token) const { return token >= 0 && token < kFirstNoteOn + spec_.num_pitches(); }
  // The grid step of every token (for chords, data/shard.h ShardChords): the number of step tokens before it, so a
  // header token has step 0 and END the step after the last.
  std::vector<int64_t> token_steps(std::span<const Token> tokens) const;
  int position_count() const override;
  bool has_tune_header() const override { return spec_.structure; }
  Token end_token() const override;
  // structure only: the closing NOTE_OFF step marks the last note's end and opens no bar of its own.
  int64_t tune_bar_count(std::span<const Token> tokens, const std::vector<StepContext>& contexts) const override;
  // structure only (else -1): the meter token of n/d (exact, or the listed meter of the same bar length), the key
  // token of a key.
  Token meter_token(int numerator, int denominator) const;
  Token key_token(int root, bool minor) const;
  // one_key: the semitones encode() moves the score's key by (-6..+5: its tonic to C, or to A for a minor key; the
  // whole-octave shift into the range not counted); 0 for an encoding that keeps keys.
  int key_shift(const Score& score) const;
  bool one_key() const { return spec_.one_key; }

 private:
  MelodySpec spec_;
  Vocabulary vocabulary_;
};

}  // namespace cadenza
