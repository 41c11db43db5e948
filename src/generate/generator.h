// Grammar-masked autoregressive generation of token sequences with a SequenceModel.
//
// The primer is fed through step() token by token, then each new token is drawn with sample_token() from the
// model's logits restricted to what the encoding's Grammar allows, so the output is always grammatical.
//
// Start convention (no BOS token yet): token models need a first input. With a non-empty primer that is the
// primer's first token. With an empty primer the first token is drawn uniformly (with the seeded rng) among the
// tokens the fresh grammar allows, and counts as a generated token. A later milestone may add a BOS token.
//
// Ending: after max_tokens generated tokens, if the grammar cannot end there (e.g. a note still sounds), up to
// kMaxClosingTokens extra tokens are chosen greedily: among the allowed tokens after which the grammar can end, the
// one the model prefers; if no single token ends it, the model's preferred allowed token. If the sequence still
// cannot end, stats->ended_cleanly is false; decode() closes hanging notes anyway, so the output still decodes to
// valid music.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "encoding/encoding.h"
#include "generate/sampling.h"
#include "models/sequence_model.h"

namespace cadenza {

struct GenerationOptions {
  SamplingOptions sampling;
  int64_t max_tokens = 512;  // tokens generated after the primer (before any closing tokens); >= 0
  uint64_t seed = 0;
  bool stop_when_can_end = false;  // stop at the first generated token after which the grammar can end
  // Called with the whole sequence after each generated token; returning true stops sampling there (closing
  // tokens may follow). Used for lengths in bars or seconds, which only a decode can tell.
  std::function<bool(std::span<const Token>)> stop_after;
  // Chord models (SequenceModelImpl::reads_chords()): the chord under the next token (12 pitch-class bits, 0 = no
  // chord), given the sequence before it. Absent: "no chord" throughout.
  std::function<int64_t(std::span<const Token>)> next_chord;
  // Style models (SequenceModelImpl::style_count() > 0): the style vector of the next token, given the sequence
  // before it, as the context's fixed-point columns (models/sequence_model.h style_weights_column). Absent: the even
  // mixture of the model's styles throughout.
  std::function<std::vector<int64_t>(std::span<const Token>)> next_style;
  // true: the encoding's end token (END of a tune) is never sampled, so a piece of a length asked for runs to that
  // length instead of stopping early (the grammar still closes a sounding note at the end).
  bool forbid_end = false;
  // Models that read the bars left (context_bars_left): the piece's planned length in bars after the primer (the
  // length asked for), so that the model ends the piece there; -1 = no plan (the model reads "unknown").
  int64_t planned_bars = -1;
  // Bars-left models with no plan (planned_bars -1; `generate --until-end` without --bars): a plan that starts late.
  // The model reads "unknown" until the tune comes within kBarsLeftHorizon of this many bars after the primer (the
  // length cap), then the bars left to it, so that a tune still going near the cap is brought to its end there (the
  // model still chooses its notes and its END) instead of being cut off. -1 = none.
  int64_t late_plan_bars = -1;
};

// What happened at the end of one generate_tokens() call.
struct GenerationStats {
  int64_t generated_tokens = 0;  // sampled tokens (including a uniform first token), excluding closing tokens
  int64_t closing_tokens = 0;    // extra tokens chosen to let the grammar end
  bool ended_cleanly = true;     // grammar can_end() at the end of the returned sequence
};

inline constexpr int64_t kMaxClosingTokens = 64;

// Returns primer + generated tokens. Runs under eval() and torch::NoGradGuard on the model's device. Throws
// cadenza::Error when the model is not a token model, its vocabulary size differs from the encoding's, the options
// are invalid, or a primer token is not allowed by the grammar (the message names its position and name).
std::vector<Token> generate_tokens(models::SequenceModelImpl& model, const TokenEncoding& encoding,
                                   std::span<const Token> primer, const GenerationOptions& options,
                                   GenerationStats* stats = nullptr);

// Pieces shared by generate_tokens() and beam_search_tokens() (generate/beam_search.h), so that both apply the same
// checks, start convention and closing rule. `who` prefixes error messages ("generate", "beam search").
namespace generation_detail {

// Throws cadenza::Error unless model is a token model whose vocabulary size is the encoding's.
void check_token_model(const models::SequenceModelImpl& model, const TokenEncoding& encoding, const std::string& who);
// A fresh grammar with the primer pushed; throws cadenza::Error naming the first primer token it does not allow.
std::unique_ptr<Grammar> primed_grammar(const TokenEncoding& encoding, std::span<const Token> primer,
                                        const std::string& who);
// The device of the model's parameters (CPU for a model without parameters).
torch::Device model_device(const models::SequenceModelImpl& model);
// The start convention: a token drawn uniformly among those `grammar` allows (one draw from rng).
Token uniform_first_token(const Grammar& grammar, int vocab, std::mt19937_64& rng);
// With `forbid`, takes the encoding's end token (if any) out of `mask` (a grammar that has ended keeps it: nothing
// else may follow END).
void forbid_end_token(bool forbid, const TokenEncoding& encoding, const Grammar& grammar, std::vector<uint8_t>& mask);
// The closing rule: among the allowed tokens after which `grammar` can end, the one with the largest logit; if no
// single token ends it, the allowed token with the largest logit (ties -> lowest id).
Token closing_token(const Grammar& grammar, const float* logits, int vocab);
// The model's context row for one token (models/sequence_model.h has the layout; encoding.h ContextColumns its
// width): the position and the 1- and 2-bar lookbacks of `values` (context_values()), the chord column when the model
// reads chords or any later column (`chord`, 0 = none), the style weights (`style`, style models only; their count
// is checked, errors start with `who`), then the far lookbacks, the tune's meter and key (header models), the bar
// number (phrase models), the bars left (`bars_left`, encoding.h bars_left_value; bars-left models).
// Empty when the model reads no context.
std::vector<int64_t> context_row(const models::SequenceModelImpl& model, const ContextValues& values, int64_t chord,
                                 const std::vector<int64_t>& style, const char* who,
                                 int64_t bars_left = kBarsLeftUnknown);

// The tune's planned length in bars, counted from its first bar: the bars the primer reaches (`at_primer_end`: the
// grammar's context after the primer; a bar begun counts whole) plus `planned_bars` after it; -1 when no plan
// (planned_bars < 0).
int64_t planned_tune_bars(const StepContext& at_primer_end, int64_t planned_bars);

}  // namespace generation_detail

}  // namespace cadenza
