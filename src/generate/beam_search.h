// Beam search over grammar-masked token generation, after the idea of Magenta's beam_search
// (magenta/common/beam_search.py): keep several candidate continuations, extend each by a few tokens, and keep the
// ones the model finds most likely as a whole, which gives more coherent output than one sampled sequence.
//
// Each step, every beam proposes up to branch_factor next tokens: drawn with sample_token() under the grammar mask
// and options.sampling (stochastic), or the branch_factor allowed tokens with the largest logits (not stochastic;
// ties -> lowest id). Proposals that repeat a token of the same beam are dropped, so the beams stay distinct
// sequences. Every candidate is scored by the total log-probability of its sequence under the model's masked
// distribution at temperature 1 (log_softmax over the tokens the grammar allows, whatever the sampling temperature),
// and the best beam_size candidates (ties -> earlier beam, earlier proposal) become the next beams.
//
// The search starts from ONE beam (the primer) and widens to beam_size as candidates allow, rather than from
// beam_size copies of the primer (Magenta's way), which would fill the first steps with duplicates. All beams run
// through step() as one batch; DecodeState::select_rows() reorders and duplicates the rows between steps.
//
// Start convention and closing rule are those of generate_tokens() (generate/generator.h): with an empty primer the
// first token is drawn uniformly among the tokens a fresh grammar allows (not scored, counted as generated); after
// max_tokens generated tokens, every beam whose grammar cannot end gets up to kMaxClosingTokens greedy closing tokens
// (scored like the others). The returned sequence is the best beam that ends cleanly, or the best beam when none does.
//
// With beam_size 1, branch_factor 1 and stochastic false this is greedy generate_tokens() (temperature 0).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "encoding/encoding.h"
#include "generate/generator.h"
#include "generate/sampling.h"
#include "models/sequence_model.h"

namespace cadenza {

struct BeamSearchOptions {
  int beam_size = 4;         // sequences kept after every step; >= 1 (also the batch size of step())
  int branch_factor = 4;     // proposals per beam per step; >= 1
  int64_t max_tokens = 512;  // tokens generated after the primer (before any closing tokens); >= 0
  SamplingOptions sampling;  // how stochastic proposals are drawn (scores always use temperature 1)
  uint64_t seed = 0;
  bool stochastic = true;  // false: each beam proposes its branch_factor most likely allowed tokens
  // Style models: the style vector of each beam's next token, given that beam's tokens before it (as
  // GenerationOptions::next_style). Absent: the even mixture of the model's styles.
  std::function<std::vector<int64_t>(std::span<const Token>)> next_style;
  bool forbid_end = false;    // as GenerationOptions::forbid_end: no beam proposes the encoding's end token
  int64_t planned_bars = -1;  // as GenerationOptions::planned_bars: the length after the primer a bars-left model reads
};

// What happened in one beam_search_tokens() call, for the returned sequence.
struct BeamSearchStats {
  double log_probability = 0.0;  // sum of log p(token) over the generated and closing tokens the model scored
                                 // (masked, temperature 1); a uniform first token is not scored
  int64_t generated_tokens = 0;  // tokens generated after the primer (including a uniform first token), no closing
  int64_t closing_tokens = 0;    // extra tokens chosen to let the grammar end
  bool ended_cleanly = true;     // grammar can_end() at the end of the returned sequence
};

// Returns primer + the generated (and closing) tokens of the best beam. Runs under eval() and torch::NoGradGuard on
// the model's device. Throws cadenza::Error when the options are invalid (beam_size or branch_factor < 1, negative
// max_tokens, bad sampling options), the model is not a token model of the encoding's vocabulary size, or a primer
// token is not allowed by the grammar (the message names its position and name).
std::vector<Token> beam_search_tokens(models::SequenceModelImpl& model, const TokenEncoding& encoding,
                                      std::span<const Token> primer, const BeamSearchOptions& options,
                                      BeamSearchStats* stats = nullptr);

// Throws cadenza::Error naming the first invalid field of options.
void validate_beam_search_options(const BeamSearchOptions& options);

}  // namespace cadenza
