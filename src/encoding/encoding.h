// Encodings turn a Score into model input (token sequences or piano rolls) and back.
//
// Token encodings implement TokenEncoding: a Vocabulary with readable names, encode(), decode() and a
// Grammar that says which tokens may follow a prefix, so that generation can only emit valid music. decode()
// accepts ANY token sequence (out-of-range ids, ungrammatical order) and returns a valid Score: it never throws
// on token content and never crashes.
//
// The piano roll is not a token sequence and has its own class (encoding/pianoroll.h).
//
// Every encoding is fully described by a JSON spec ({"name": "melody", ...options}); make_token_encoding(spec)
// rebuilds it, so shards and checkpoints only store the spec.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "score/score.h"

namespace cadenza {

using Token = int32_t;

class Vocabulary {
 public:
  Vocabulary() = default;
  explicit Vocabulary(std::vector<std::string> names);
  int size() const { return static_cast<int>(names_.size()); }
  const std::string& name(Token token) const;  // "<invalid:N>" style name for out-of-range tokens
  Token id(const std::string& name) const;     // throws Error on an unknown name
  bool contains(const std::string& name) const;
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, Token> ids_;
};

// What a model may read beside each token (encodings that define it, models configured for it): where the NEXT token
// falls in its bar, and how far back (in tokens) the steps 1, 2, 4 and 8 bars before it are. The model's input at
// position i, predicting token i + 1, is token i plus the context of token i + 1.
constexpr int kLookbackBars[] = {1, 2, 4, 8};  // the lookback lags, in bars (Magenta's lookback_rnn reads 1 and 2)
constexpr int kLookbackCount = 4;
struct StepContext {
  int position = 0;  // 1 + the next token's step within its bar; 0 = not a step (a header, the end)
  // tokens back from the next token to the step kLookbackBars[k] bars earlier; 0 = none
  int lookback_distance[kLookbackCount] = {0, 0, 0, 0};
  // The tune's header as far as the grammar has read it (melody structure: its METER and KEY tokens), the same at
  // every step, so a model reads the key even in a window that starts mid-tune; -1 = not known (yet).
  Token meter = -1;
  Token key = -1;
  // The next token's bar, counted from the tune's first bar (0); -1 = not a step. Models read it as the bar within
  // an 8-bar phrase and the phrase's number (context_phrase): where a tune is in its form, so that it can end.
  int bar = -1;
};

// [position, the tokens 1, 2, 4 and 8 bars back, the tune's meter and key tokens, the bar number] (context_values()).
constexpr int kContextValueCount = 1 + kLookbackCount + 3;
using ContextValues = std::array<int64_t, kContextValueCount>;
constexpr int kMeterValue = 1 + kLookbackCount, kKeyValue = kMeterValue + 1;  // their indices in ContextValues
constexpr int kBarValue = kKeyValue + 1;
// The bar number as a model reads it: the bar from the tune's start, bars past the 8th phrase read as its last bar
// (kPhraseBars * kPhraseCount - 1), and kNoBar where the next token is not a step (a header, the end).
constexpr int kPhraseBars = 8, kPhraseCount = 8;
constexpr int64_t kNoBar = kPhraseBars * kPhraseCount;

// The bars left in a tune as a model reads them (context_bars_left): the tune's bar count minus the next token's bar,
// so 1 in the last bar and 0 where the tune is over (its END comes next); counts past kBarsLeftHorizon read as it
// (the end is further off), and kBarsLeftUnknown where no length is planned or the next token is not a step. In
// training the length is the tune's own; in generation, the length asked for (--bars).
constexpr int64_t kBarsLeftHorizon = 9;
constexpr int64_t kBarsLeftUnknown = kBarsLeftHorizon + 1;
// bar: the next token's bar (StepContext::bar, -1 = not a step); tune_bars: the tune's length in bars (-1 = unknown;
// TokenEncoding::tune_bar_count()).
int64_t bars_left_value(int bar, int64_t tune_bars);

// What a model reads beside tokens[i] (the context of token i + 1; models/sequence_model.h): [position, the tokens
// 1, 2, 4 and 8 bars back, the meter and key tokens, the bar number], the lookback tokens taken from `tokens`
// itself, the header tokens and the bar from `context`, and `vocab` where there is no token (before the first token,
// a header not read yet), kNoBar where there is no bar.
ContextValues context_values(std::span<const Token> tokens, size_t i, const StepContext& context, int vocab);

// The columns of a model's context row (models/sequence_model.h has the layout): [0] position, [1] and [2] the
// tokens 1 and 2 bars back, [3] the chord (present when any later column is; 0 = none), [4, 4 + S) the style
// weights, then the far lookbacks F (the tokens 4 and 8 bars back: models with context_lookback 3 or 4), then the
// tune's meter and key tokens (models with context_header), then the bar number (models with context_phrase), then
// the bars left (models with context_bars_left). The newer columns come last so that the rows of older models keep
// their columns.
struct ContextColumns {
  bool chords = false;        // the model reads the chord column
  int64_t styles = 0;         // S
  int64_t far_lookbacks = 0;  // F
  bool header = false;        // the meter and the key
  bool phrase = false;        // the bar number
  bool bars_left = false;     // the bars left in the tune
  // True when the row has the chord column and what follows it (else 3 columns).
  bool wide() const { return chords || styles > 0 || far_lookbacks > 0 || header || phrase || bars_left; }
  int64_t far_column() const { return 4 + styles; }
  int64_t header_column() const { return far_column() + far_lookbacks; }  // the meter; the key after it
  int64_t phrase_column() const { return header_column() + (header ? 2 : 0); }
  int64_t bars_left_column() const { return phrase_column() + (phrase ? 1 : 0); }
  int64_t width() const { return wide() ? bars_left_column() + (bars_left ? 1 : 0) : 3; }
};

// A grammar state: which tokens may come next, given everything pushed so far.
class Grammar {
 public:
  virtual ~Grammar() = default;
  // mask.size() == vocabulary size; sets mask[t] = 1 for every token t allowed next, 0 otherwise.
  // At least one token is always allowed.
  virtual void allowed(std::vector<uint8_t>& mask) const = 0;
  // Advances the state. Precondition: token was allowed (throws Error otherwise).
  virtual void push(Token token) = 0;
  // True when the sequence so far may end here and decode to a complete piece (no hanging notes, etc.).
  virtual bool can_end() const = 0;
  virtual std::unique_ptr<Grammar> clone() const = 0;
  // The context of the next token (StepContext). Encodings without bars give the empty context.
  virtual StepContext context() const { return {}; }
  // True once the sequence has reached its end marker (encodings with one): nothing but padding may follow.
  virtual bool ended() const { return false; }

  bool is_allowed(Token token) const;  // convenience over allowed()
};

class TokenEncoding {
 public:
  virtual ~TokenEncoding() = default;
  virtual std::string name() const = 0;
  virtual nlohmann::json spec() const = 0;  // includes "name"; make_token_encoding(spec()) is equivalent
  virtual const Vocabulary& vocabulary() const = 0;

  // Encodes a score. May quantize, transpose or drop content the encoding cannot represent (documented per
  // encoding). Throws Error if the score cannot be encoded at all (e.g. melody encoding of an empty score
  // is fine -> empty sequence; a pitch range that cannot be met even after transposition -> Error).
  virtual std::vector<Token> encode(const Score& score) const = 0;
  // Decodes any token sequence into a valid Score (see the header comment).
  virtual Score decode(std::span<const Token> tokens) const = 0;
  // A fresh grammar state for an empty prefix.
  virtual std::unique_ptr<Grammar> grammar() const = 0;

  // Pitch handling in token space, used by augmentation (transposition without decoding):
  // token_pitch(t) is the MIDI pitch a token carries, or -1 for tokens without a transposable pitch (drums
  // included); with_pitch(t, p) is the same kind of token carrying pitch p, or -1 if p is not representable.
  virtual int token_pitch(Token token) const = 0;
  virtual Token with_pitch(Token token, int pitch) const = 0;
  // Shifts every pitch token by semitones. Returns false and leaves tokens unchanged if any pitch would fall
  // outside the vocabulary. transposition_range() gives the [lowest, highest] shifts that succeed.
  bool transpose(std::vector<Token>& tokens, int semitones) const;
  std::pair<int, int> transposition_range(std::span<const Token> tokens) const;

  // StepContext positions run over [0, position_count()); 0 when the encoding gives no context.
  virtual int position_count() const { return 0; }
  // True when the grammar's context names the tune's meter and key tokens (StepContext meter / key) once it has read
  // them: the encoding writes a header.
  virtual bool has_tune_header() const { return false; }
  // The token that ends a piece (encodings with one; -1 otherwise). Generation can stop there (--until-end).
  virtual Token end_token() const { return -1; }
  // The length in bars of a whole tune (the bars up to the end of its last note or rest, a bar begun counting whole),
  // from its tokens and their contexts(); -1 when the encoding does not end tunes or the tokens hold no ended tune.
  virtual int64_t tune_bar_count(std::span<const Token> tokens, const std::vector<StepContext>& contexts) const {
    (void)tokens, (void)contexts;
    return -1;
  }
  // The contexts of a whole sequence: contexts[i] is the context of token i + 1 after tokens[0..i] (what the model
  // reads beside token i). Tokens the grammar does not allow leave the context empty from there on.
  std::vector<StepContext> contexts(std::span<const Token> tokens) const;

  // Human-readable token names joined by spaces, and the reverse (throws Error on an unknown name).
  std::string to_text(std::span<const Token> tokens) const;
  std::vector<Token> from_text(const std::string& text) const;
};

// Builds an encoding from its spec; throws Error on an unknown name or bad option.
std::unique_ptr<TokenEncoding> make_token_encoding(const nlohmann::json& spec);
// Names of all token encodings ("melody", "performance", "remi").
std::vector<std::string> token_encoding_names();

}  // namespace cadenza
