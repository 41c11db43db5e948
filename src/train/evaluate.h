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
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "data/shard.h"

namespace at {
class Tensor;
}
namespace cadenza::models {
class SequenceModelImpl;
struct CheckpointInfo;
}  // namespace cadenza::models
namespace cadenza::eval {
struct NgramBaseline;
}

namespace cadenza::train {

class DataParallel;

struct EvaluationOptions {
  int64_t window = 1024;  // elements per window (>= 2)
  // Data-parallel training (distributed.h): each rank scores every world_size-th window and the sums are reduced,
  // so every rank returns the same result, that of one process (up to the order of summation).
  DataParallel* parallel = nullptr;
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

// A frame model that scores whole windows: frames (B, T, V) -> (B, T-1) log p(frame t | frames < t), t = 1..T-1.
// Scored like evaluate_model (same windows and protocol; padded frames are never counted). Accuracy is not
// measured (0).
using FrameScorer = std::function<at::Tensor(const at::Tensor& frames)>;
EvaluationResult evaluate_frame_scorer(const FrameScorer& log_prob, const Shard& shard, Split split,
                                       const EvaluationOptions& options = {});

// The NLL of predicting each training-split element from its frequency alone (tokens: unigram distribution;
// frames: independent per-key Bernoulli rates), scored on `split` with the protocol above: the floor a model
// must beat. Add-one smoothing for tokens; rates clamped to [1e-6, 1 - 1e-6] for keys.
EvaluationResult evaluate_unigram_baseline(const Shard& shard, Split split, const EvaluationOptions& options = {});

// ---- `cadenza evaluate`: what a family's evaluate entry point (models/family.h) is asked and answers --------------

// The latent families' evaluation sizes:
//   vae      on the split's bar-aligned windows: the ELBO bound, reconstruction cross-entropy, KL (bits), and
//            reconstruction accuracy teacher-forced and sampled (greedy decoding fed its own outputs: MusicVAE's
//            figure); plus interpolation smoothness over `interpolation_pairs` slerp paths of `interpolation_steps`.
//   musegan  `samples` generated windows vs the training windows and the split's windows (train/gan_report.h).
//   crnngan  generated event statistics vs the validation split's, and the discriminator's accuracy on them.
struct LatentEvaluationOptions {
  int64_t max_windows = 2048;    // vae: windows scored (spread evenly over the split)
  int interpolation_pairs = 32;  // vae
  int interpolation_steps = 9;   // vae: latents on each path, ends included
  int64_t samples = 256;         // GANs: generated windows
  uint64_t seed = 1;
};

struct EvaluationRequest {
  const models::CheckpointInfo* checkpoint = nullptr;  // read by the registry (its family's config is valid)
  const Shard* shard = nullptr;                        // prepared with the checkpoint's encoding
  Split split = Split::kTest;
  std::string split_name = "test";
  int64_t window = 1024;  // autoregressive: longest window scored at once
  // Autoregressive: the baselines beside the model: the context-free one, and for token data the Kneser-Ney n-gram
  // and the n-gram with a piece cache (eval/ngram.h, same split, window and tokens as the model).
  bool baselines = true;
  // The n-gram baselines fitted already on this shard, split and window (compare fits them once per shard); null:
  // fitted here when `baselines` is set.
  const eval::NgramBaseline* ngram = nullptr;
  // Autoregressive token models on melody shards, > 0: also the repeat probe (eval/repeat_probe.h) on the first
  // `repeat_probe_bars` bars of each piece of the split, beside the n-grams' (fitted on this shard when `ngram` is
  // null). Throws Error when the shard is not a melody shard or no piece has that many bars.
  int repeat_probe_bars = 0;
  LatentEvaluationOptions latent;
  // `--device` (models/device.h): where the model scores; the autoregressive and NADE families only (the latent
  // families refuse anything but the CPU).
  std::string device = "cpu";
};

// Throws cadenza::Error when `request.device` names a CUDA device: `family` evaluates on the CPU only ("auto" means
// the CPU for it).
void require_cpu_device(const EvaluationRequest& request, const std::string& family);

struct EvaluationReport {
  nlohmann::json result;        // everything measured: what `evaluate --json` prints
  std::string text;             // what `evaluate` prints
  std::optional<double> score;  // the family's held-out score, lower is better (NLL, ELBO bound); none for GANs
  std::string score_name;       // "nll" | "elbo"
};

// Throws cadenza::Error naming the shard when its encoding differs from the checkpoint's.
void check_same_encoding(const models::CheckpointInfo& checkpoint, const Shard& shard);

}  // namespace cadenza::train
