// Held-out likelihood of a model on one split of a shard: the numbers `cadenza evaluate` prints and the trainer's
// validation.
//
// Protocol: every piece is scored whole, next-element prediction from the piece's own start (no context from
// other pieces); the first element of a piece has nothing to be predicted from and is not scored. Pieces longer
// than `window` are cut into windows that overlap by one element, so every element after the first is scored
// exactly once and the context restarts at each window (documented as a bound on context, like any fixed-window
// evaluation). For piano rolls this is the JSB benchmark's frame-level NLL: binary cross-entropy summed over the
// keys, averaged over every predicted frame.
#pragma once

#include <cstdint>
#include <string>

#include "data/shard.h"

namespace cadenza::models {
class SequenceModelImpl;
}

namespace cadenza::train {

struct EvaluationOptions {
  int64_t window = 1024;               // elements per window (>= 2)
  int64_t max_pieces = 0;              // score only the first N pieces of the split (0 = all)
  int64_t max_batch_elements = 16384;  // windows are batched up to this many padded elements
};

struct EvaluationResult {
  bool frames = false;
  double nll = 0;         // nats per token, or per frame (summed over keys) for piano rolls
  double perplexity = 0;  // exp(nll) for tokens; for frames exp(nll / keys), the per-key perplexity
  double accuracy = 0;    // tokens: argmax == target; frames: sum TP / sum (TP + FP + FN) at threshold 0.5
  double bits_per_element = 0;
  int64_t elements = 0;  // scored tokens / frames
  int64_t pieces = 0;
  int64_t windows = 0;
  double seconds = 0;
};

// Runs under eval() and NoGradGuard (restores the training mode it found). Throws cadenza::Error when the split
// has no scorable piece or the model does not fit the shard (input kind or width).
EvaluationResult evaluate_model(models::SequenceModelImpl& model, const Shard& shard, Split split,
                                const EvaluationOptions& options = {});

// load_checkpoint(checkpoint) (a file or a run folder, see models::resolve_checkpoint_path) + evaluate_model.
EvaluationResult evaluate_checkpoint(const std::string& checkpoint, const Shard& shard, Split split,
                                     const EvaluationOptions& options = {});

// The NLL of predicting each training-split element from its frequency alone (tokens: unigram distribution;
// frames: independent per-key Bernoulli rates), scored on `split` with the protocol above: the floor a model
// must beat. Add-one smoothing for tokens; rates clamped to [1e-6, 1 - 1e-6] for keys.
EvaluationResult evaluate_unigram_baseline(const Shard& shard, Split split, const EvaluationOptions& options = {});

}  // namespace cadenza::train
