#include "train/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "codec/batches.h"
#include "common/error.h"
#include "models/checkpoint.h"
#include "models/device.h"
#include "models/sequence_model.h"
#include "train/distributed.h"

namespace cadenza::train {
using codec::piece_tensor;
using codec::shard_input_size;
namespace {

struct Window {
  size_t piece = 0;
  int64_t start = 0;
  int64_t length = 0;
};

std::vector<size_t> split_pieces(const Shard& shard, Split split, const EvaluationOptions& options) {
  if (options.window < 2) throw Error("evaluate: window must be >= 2");
  std::vector<size_t> pieces;
  for (size_t index : shard.pieces_in_split(split))
    if (shard.piece(index).length >= 2) pieces.push_back(index);
  if (options.max_pieces > 0 && pieces.size() > static_cast<size_t>(options.max_pieces))
    pieces.resize(static_cast<size_t>(options.max_pieces));
  if (pieces.empty())
    throw Error(shard.path() + ": the " + split_name(split) + " split has no piece of two or more elements to score");
  return pieces;
}

// Windows overlapping by one element: window k covers [k (W - 1), k (W - 1) + W).
std::vector<Window> make_windows(const Shard& shard, const std::vector<size_t>& pieces, int64_t window) {
  std::vector<Window> windows;
  for (size_t piece : pieces) {
    const int64_t length = static_cast<int64_t>(shard.piece(piece).length);
    for (int64_t start = 0; start + 1 < length; start += window - 1)
      windows.push_back({piece, start, std::min(window, length - start)});
  }
  // Longest first, so that each batch pads little.
  std::stable_sort(windows.begin(), windows.end(),
                   [](const Window& a, const Window& b) { return a.length > b.length; });
  return windows;
}

// Windows [first, last) of equal or decreasing length as one zero-padded batch: (B, T) tokens or (B, T, V) frames,
// and (B, T) true where real. The last piece read is kept: windows of one piece are usually in one batch.
// with_context: also the (B, T, 3) step contexts of token windows (codec/batches.h window_context), undefined else.
class WindowReader {
 public:
  WindowReader(const Shard& shard, const std::vector<Window>& windows, int64_t keys, bool with_context = false,
               const ContextColumns& columns = {}, const std::vector<std::string>* style_names = nullptr)
      : shard_(shard),
        windows_(windows),
        keys_(keys),
        frames_(shard.is_piano_roll()),
        styles_(style_names ? static_cast<int64_t>(style_names->size()) : 0),
        columns_(columns) {
    if (style_names) codec::check_shard_styles(shard, *style_names);
    if (with_context) encoding_ = shard.make_encoding();
    if (columns.chords && !shard.has_chords())
      throw Error(shard.path() +
                  ": the model reads chords, but the shard stores none (prepare it with "
                  "--chords-track N)");
  }
  struct Batch {
    torch::Tensor input, real, context;
  };
  Batch read(size_t first, size_t last) {
    const int64_t T = windows_[first].length, B = static_cast<int64_t>(last - first);
    Batch out;
    out.input = frames_ ? torch::zeros({B, T, keys_}) : torch::zeros({B, T}, torch::kLong);
    out.real = torch::zeros({B, T}, torch::kBool);
    if (encoding_) out.context = torch::zeros({B, T, columns_.width()}, torch::kLong);
    for (size_t i = first; i < last; ++i) {
      const Window& w = windows_[i];
      if (w.piece != cached_piece_) {
        cached_ = piece_tensor(shard_, w.piece), cached_piece_ = w.piece;
        if (encoding_)
          cached_tokens_ = shard_.token_vector(w.piece), cached_contexts_ = encoding_->contexts(cached_tokens_);
        if (columns_.chords) cached_chords_ = shard_.piece_chords(w.piece);
        if (styles_ > 0) cached_style_ = codec::one_hot_style(styles_, shard_.piece_style(w.piece));
      }
      const int64_t row = static_cast<int64_t>(i - first);
      out.input[row].narrow(0, 0, w.length).copy_(cached_.narrow(0, w.start, w.length));
      out.real[row].narrow(0, 0, w.length).fill_(true);
      if (encoding_)
        out.context[row]
            .narrow(0, 0, w.length)
            .copy_(codec::window_context(cached_tokens_, cached_contexts_, static_cast<size_t>(w.start),
                                         static_cast<size_t>(w.length), static_cast<int>(keys_),
                                         columns_.chords ? &cached_chords_ : nullptr,
                                         styles_ > 0 ? &cached_style_ : nullptr, columns_));
    }
    return out;
  }

 private:
  const Shard& shard_;
  const std::vector<Window>& windows_;
  int64_t keys_;
  bool frames_;
  std::unique_ptr<TokenEncoding> encoding_;
  size_t cached_piece_ = static_cast<size_t>(-1);
  torch::Tensor cached_;
  std::vector<Token> cached_tokens_;
  std::vector<StepContext> cached_contexts_;
  std::vector<uint16_t> cached_chords_;
  int64_t styles_ = 0;
  std::vector<int64_t> cached_style_;  // the cached piece's one-hot style
  ContextColumns columns_;
};

// Every world_size-th window for this rank (all of them in one process). The windows are sorted longest first, so
// each rank's share stays sorted and of about the same size.
std::vector<Window> windows_of_this_rank(const std::vector<Window>& windows, const DataParallel* parallel) {
  if (parallel == nullptr) return windows;
  std::vector<Window> mine;
  for (size_t i = static_cast<size_t>(parallel->rank()); i < windows.size();
       i += static_cast<size_t>(parallel->world_size()))
    mine.push_back(windows[i]);
  return mine;
}

void finish(EvaluationResult& result, double nll_sum, double correct, double accuracy_denominator, int64_t keys) {
  result.nll = result.elements > 0 ? nll_sum / static_cast<double>(result.elements) : 0.0;
  result.perplexity = std::exp(result.frames ? result.nll / static_cast<double>(keys) : result.nll);
  result.bits_per_element = result.nll / std::log(2.0);
  result.accuracy = accuracy_denominator > 0 ? correct / accuracy_denominator : 0.0;
}

}  // namespace

EvaluationResult evaluate_model(models::SequenceModelImpl& model, const Shard& shard, Split split,
                                const EvaluationOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const bool frames = shard.is_piano_roll();
  const auto& config = model.config();
  if (frames != (config.input_kind == models::InputKind::kFrames))
    throw Error(shard.path() + ": the model reads " + (frames ? "tokens" : "piano-roll frames") +
                " but the shard holds " + (frames ? "piano rolls" : "tokens"));
  const int64_t V = shard_input_size(shard);
  if (config.vocab_size != V)
    throw Error(shard.path() + ": the model expects " + std::to_string(config.vocab_size) +
                (frames ? " keys per frame" : " tokens") + " but the shard has " + std::to_string(V));

  const std::vector<size_t> pieces = split_pieces(shard, split, options);
  const std::vector<Window> all_windows = make_windows(shard, pieces, options.window);
  const std::vector<Window> windows = windows_of_this_rank(all_windows, options.parallel);
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  const auto parameters = model.parameters();
  const torch::Device device = parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();

  EvaluationResult result;
  result.frames = frames;
  result.pieces = static_cast<int64_t>(pieces.size());
  result.windows = static_cast<int64_t>(all_windows.size());
  double nll_sum = 0, correct = 0, accuracy_denominator = 0;
  WindowReader reader(shard, windows, V, model.reads_context(), model.context_columns(),
                      model.style_count() > 0 ? &model.config().style_names : nullptr);
  for (size_t first = 0; first < windows.size();) {
    const int64_t T = windows[first].length;
    const int64_t rows = std::max<int64_t>(1, options.max_batch_elements / T);
    const size_t last = std::min(windows.size(), first + static_cast<size_t>(rows));
    const auto read = reader.read(first, last);  // (B, T[, V]), (B, T), (B, T, 3)
    const torch::Tensor batch = read.input.to(device), real = read.real.to(device);
    const torch::Tensor context = read.context.defined() ? read.context.to(device) : torch::Tensor();
    auto logits = model.forward(batch, context).to(torch::kFloat);  // (B, T, V)
    auto predicted = logits.narrow(1, 0, T - 1);                    // (B, T-1, V)
    auto scored = real.narrow(1, 1, T - 1);                         // (B, T-1)
    if (frames) {
      auto targets = batch.narrow(1, 1, T - 1);  // (B, T-1, V)
      auto per_frame =
          torch::binary_cross_entropy_with_logits(predicted, targets, {}, {}, at::Reduction::None).sum(-1);  // (B, T-1)
      nll_sum += per_frame.masked_select(scored).to(torch::kDouble).sum().item<double>();
      auto on = (predicted > 0).logical_and(scored.unsqueeze(-1));  // (B, T-1, V) predicted notes
      auto truth = (targets > 0.5).logical_and(scored.unsqueeze(-1));
      const double tp = on.logical_and(truth).sum().item<double>();
      const double fp = on.logical_and(truth.logical_not()).sum().item<double>();
      const double fn = on.logical_not().logical_and(truth).sum().item<double>();
      correct += tp;
      accuracy_denominator += tp + fp + fn;
    } else {
      auto targets = batch.narrow(1, 1, T - 1);                               // (B, T-1)
      auto log_probs = torch::log_softmax(predicted, -1);                     // (B, T-1, V)
      auto picked = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1);  // (B, T-1)
      nll_sum -= picked.masked_select(scored).to(torch::kDouble).sum().item<double>();
      correct += (predicted.argmax(-1) == targets).logical_and(scored).sum().item<double>();
      accuracy_denominator += scored.sum().item<double>();
    }
    result.elements += scored.sum().item<int64_t>();
    first = last;
  }
  if (was_training) model.train();
  if (options.parallel != nullptr) {
    std::vector<double> sums{nll_sum, correct, accuracy_denominator, static_cast<double>(result.elements)};
    options.parallel->all_reduce_sum(sums);
    nll_sum = sums[0], correct = sums[1], accuracy_denominator = sums[2];
    result.elements = static_cast<int64_t>(std::llround(sums[3]));
  }
  finish(result, nll_sum, correct, accuracy_denominator, V);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

EvaluationResult evaluate_frame_scorer(const FrameScorer& log_prob, const Shard& shard, Split split,
                                       const EvaluationOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  if (!shard.is_piano_roll()) throw Error(shard.path() + ": a frame model is scored on a piano-roll shard");
  const int64_t V = shard_input_size(shard);
  const std::vector<size_t> pieces = split_pieces(shard, split, options);
  const std::vector<Window> all_windows = make_windows(shard, pieces, options.window);
  const std::vector<Window> windows = windows_of_this_rank(all_windows, options.parallel);
  torch::NoGradGuard no_grad;
  EvaluationResult result;
  result.frames = true;
  result.pieces = static_cast<int64_t>(pieces.size());
  result.windows = static_cast<int64_t>(all_windows.size());
  double nll_sum = 0;
  WindowReader reader(shard, windows, V);
  for (size_t first = 0; first < windows.size();) {
    const int64_t T = windows[first].length;
    const size_t last =
        std::min(windows.size(), first + static_cast<size_t>(std::max<int64_t>(1, options.max_batch_elements / T)));
    const auto read = reader.read(first, last);                               // (B, T, V), (B, T)
    const torch::Tensor scored = read.real.narrow(1, 1, T - 1);               // (B, T-1)
    const torch::Tensor per_frame = log_prob(read.input).to(torch::kDouble);  // (B, T-1)
    nll_sum -= per_frame.masked_select(scored).sum().item<double>();
    result.elements += scored.sum().item<int64_t>();
    first = last;
  }
  if (options.parallel != nullptr) {
    std::vector<double> sums{nll_sum, static_cast<double>(result.elements)};
    options.parallel->all_reduce_sum(sums);
    nll_sum = sums[0];
    result.elements = static_cast<int64_t>(std::llround(sums[1]));
  }
  finish(result, nll_sum, 0, 0, V);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

void require_cpu_device(const EvaluationRequest& request, const std::string& family) {
  if (request.device != "auto" && !models::resolve_device(request.device).is_cpu())
    throw Error("--device " + request.device + ": the " + family +
                " family evaluates on the CPU only for now (the autoregressive and NADE families take a device)");
}

void check_same_encoding(const models::CheckpointInfo& checkpoint, const Shard& shard) {
  if (checkpoint.encoding != shard.metadata().encoding)
    throw Error(shard.path() + ": prepared with a different encoding than the model in " + checkpoint.path +
                " (model: " + checkpoint.encoding.dump() + ", shard: " + shard.metadata().encoding.dump() + ")");
}

EvaluationResult evaluate_unigram_baseline(const Shard& shard, Split split, const EvaluationOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const bool frames = shard.is_piano_roll();
  const int64_t V = shard_input_size(shard);
  // Frequencies from the whole training split (every element, since the baseline needs no context).
  std::vector<double> counts(static_cast<size_t>(V), frames ? 0.0 : 1.0);  // add-one for tokens
  double total = frames ? 0.0 : static_cast<double>(V);
  for (size_t piece : shard.pieces_in_split(Split::kTrain)) {
    auto tensor = piece_tensor(shard, piece);
    if (frames) {
      auto on = tensor.sum(0).to(torch::kDouble);  // (V)
      for (int64_t k = 0; k < V; ++k) counts[k] += on[k].item<double>();
      total += static_cast<double>(tensor.size(0));
    } else {
      const auto* data = tensor.data_ptr<int64_t>();
      for (int64_t i = 0; i < tensor.size(0); ++i) counts[data[i]] += 1.0;
      total += static_cast<double>(tensor.size(0));
    }
  }
  if (total <= 0) throw Error(shard.path() + ": the train split is empty; no baseline can be estimated");

  EvaluationResult result;
  result.frames = frames;
  const std::vector<size_t> pieces = split_pieces(shard, split, options);
  result.pieces = static_cast<int64_t>(pieces.size());
  result.windows = static_cast<int64_t>(make_windows(shard, pieces, options.window).size());
  double nll_sum = 0, correct = 0, accuracy_denominator = 0;
  std::vector<double> log_p(V), log_not_p(V);
  size_t most_frequent = 0;
  for (int64_t k = 0; k < V; ++k) {
    const double p = frames ? std::clamp(counts[k] / total, 1e-6, 1 - 1e-6) : counts[k] / total;
    log_p[k] = std::log(p);
    log_not_p[k] = std::log1p(-p);
    if (counts[k] > counts[most_frequent]) most_frequent = static_cast<size_t>(k);
  }
  // Which windows a piece is cut into does not matter for a context-free model: every element but the first
  // of each piece is scored.
  for (size_t piece : pieces) {
    auto tensor = piece_tensor(shard, piece);
    const int64_t T = tensor.size(0);
    if (frames) {
      auto accessor = tensor.accessor<float, 2>();
      for (int64_t t = 1; t < T; ++t) {
        for (int64_t k = 0; k < V; ++k) {
          const bool on = accessor[t][k] > 0.5f;
          nll_sum -= on ? log_p[k] : log_not_p[k];
          const bool predicted = log_p[k] > log_not_p[k];
          if (predicted && on) correct += 1;
          if (predicted || on) accuracy_denominator += 1;
        }
      }
    } else {
      const auto* data = tensor.data_ptr<int64_t>();
      for (int64_t t = 1; t < T; ++t) {
        nll_sum -= log_p[data[t]];
        correct += static_cast<size_t>(data[t]) == most_frequent ? 1 : 0;
        accuracy_denominator += 1;
      }
    }
    result.elements += T - 1;
  }
  finish(result, nll_sum, correct, accuracy_denominator, V);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace cadenza::train
