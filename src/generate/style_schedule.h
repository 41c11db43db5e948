// The style vector a style model reads at every generated token (issue 17, "Styles and blends";
// docs/conditioning.md): constant for --style, moving bar by bar along a --style-path.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "data/style_blend.h"
#include "encoding/encoding.h"
#include "score/score.h"

namespace cadenza {

// Bars from tick 0 to `tick` in the score's meters (4/4 before the first time signature).
double bars_before(const Score& score, int64_t tick);

// For GenerationOptions::next_style: given the tokens before the next one, the next token's style vector as the
// model's fixed-point columns (models/sequence_model.h style_weights_column). The next token's bar counts from the
// start of the piece (a primer's bars included) in the meters the tokens so far decode to; its time is its grid step
// (melody encoding: the step tokens before it) or, for other encodings, the end of the piece decoded so far. The
// style is path.at_bar(that whole bar). A one-anchor path is constant and decodes nothing. `encoding` must outlive
// the function.
std::function<std::vector<int64_t>(std::span<const Token>)> style_schedule(StylePath path,
                                                                           const TokenEncoding& encoding);

}  // namespace cadenza
