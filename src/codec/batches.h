// Shards -> tensors: random training batches and the fixed windows that evaluation scores.
// Dimension letters: see the legend in src/models/sequence_model.h.
//
// Token shards give (B, T) int64 token ids; padding (rows shorter than T) holds pad_id = V, which the embedding
// never sees (model_input() replaces it by 0) and the loss never scores. Piano-roll shards give (B, T, V) float
// frames in {0, 1}, V = tracks x pitches (track-major), with a (B, T) mask of the real frames.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "data/batch.h"
#include "data/shard.h"
#include "encoding/encoding.h"

namespace cadenza::codec {

struct TensorBatch {
  torch::Tensor input;        // (B, T) int64 or (B, T, V) float: what the model reads
  torch::Tensor targets;      // (B, T) int64 with pad_id, or (B, T, V) float frames
  torch::Tensor frame_mask;   // (B, T) bool, true = real (frames only; tokens use pad_id)
  torch::Tensor context;      // (B, T, 3) int64 step contexts, (B, T, 4) with chords (tokens, when asked for;
                              // models/sequence_model.h)
  int64_t real_elements = 0;  // real tokens / frames in the batch (throughput accounting)
};

// The width of a model input for this shard: vocabulary size, or tracks x pitches of a piano roll.
int64_t shard_input_size(const Shard& shard);

// Random crops from one split (see data/batch.h). Deterministic: next(seed) draws a batch from `seed` alone.
// with_context: token batches carry each token's step context, `columns` wide (encoding/encoding.h ContextColumns has
// the layout): the encoding's grammar run over the whole piece gives the positions, bar numbers and the header;
// lookback tokens come from the crop itself, "none" before its first token. Time stretching would move the bar
// lines, so it is refused with a context.
// columns.chords: column 3 holds the chord under token t + 1 (data/shard.h ShardChords), transposed with the crop;
// the shard must store chords. Its encoding then need not give positions (they stay 0).
// columns.styles S > 0: columns 4.. the piece's style one-hot in the model's fixed point (models/sequence_model.h
// kStyleUnit); the shard must store that many styles (data/shard.h ShardStyles).
// columns.far_lookbacks F (1 or 2): the tokens 4 (and 8) bars back. columns.header: the piece's METER and KEY tokens
// (the key transposed with the crop) at every token of the crop (a crop that starts mid-tune reads them too).
// columns.phrase: the bar number of token t + 1 from the tune's start (kNoBar off the steps).
// columns.bars_left: the bars left in the tune at token t + 1 (encoding.h bars_left_value), from the piece's own
// length; in a share of the rows (set_bars_left_unknown_share) "unknown", so that the model also writes tunes of no
// planned length.
// Lookbacks (columns 1, 2 and the far ones) read "none" in a share of the rows (set_lookback_hidden_share), so that a
// conditioned model must predict those rows from its chords and style rather than from the bars it has just heard.
// Chords (column 3) read "no chord" (0) at every step in a share of the rows (set_chords_hidden_share), so that a
// chord-conditioned model also learns to write without chords (as `generate` without --chords asks of it: every step
// then reads 0), leaning on its style there; the other columns and the tokens stay as they were.
class BatchSource {
 public:
  BatchSource(const Shard& shard, Split split, const BatchOptions& options, bool with_context = false,
              const ContextColumns& columns = {});
  TensorBatch next(uint64_t seed);
  bool frames() const { return roll_sampler_ != nullptr; }
  int64_t pad_id() const { return pad_id_; }
  // The share of rows (each drawn from the batch's seed) whose bars-left column reads "unknown"; in [0, 1].
  void set_bars_left_unknown_share(double share);
  // The share of rows (each drawn from the batch's seed) whose lookback columns all read "none"; in [0, 1].
  void set_lookback_hidden_share(double share);
  // The share of rows (each drawn from the batch's seed) whose chord column reads 0 at every step; in [0, 1].
  void set_chords_hidden_share(double share);

 private:
  const std::vector<StepContext>& piece_contexts(size_t piece);

  const Shard& shard_;
  std::unique_ptr<TokenBatchSampler> token_sampler_;
  std::unique_ptr<RollBatchSampler> roll_sampler_;
  int64_t pad_id_ = -1;
  std::unique_ptr<TokenEncoding> encoding_;                        // with a context
  std::unordered_map<size_t, std::vector<StepContext>> contexts_;  // per piece
  std::unordered_map<size_t, int64_t> tune_bars_;                  // per piece (tune_bar_count)
  double bars_left_unknown_share_ = 0.0;
  double lookback_hidden_share_ = 0.0;
  double chords_hidden_share_ = 0.0;
  ContextColumns columns_;
  std::unordered_map<size_t, std::vector<uint16_t>> chords_;  // per piece
};

// The step contexts of tokens[first, first + T) of a token piece (contexts: the piece's, from the encoding's
// grammar), lookback tokens from the piece: (T, width) in the layout of `columns` (encoding/encoding.h
// ContextColumns), its chords and styles given here instead: with chords (the piece's, one mask per token), column 3
// the chord under token t + 1 (0 past the end); with a style (S fixed-point weights, models/sequence_model.h
// style_weights_column), the style in columns 4.. of every row. columns.far_lookbacks, header and phrase as in
// BatchSource; columns.bars_left from `tune_bars` (the tune's length in bars; -1, evaluation's: "unknown").
torch::Tensor window_context(std::span<const Token> piece, const std::vector<StepContext>& contexts, size_t first,
                             size_t length, int vocab, const std::vector<uint16_t>* chords = nullptr,
                             const std::vector<int64_t>* style = nullptr, const ContextColumns& columns = {},
                             int64_t tune_bars = -1);
// The fixed-point one-hot style column of style `index` of `count`.
std::vector<int64_t> one_hot_style(int64_t count, int64_t index);

// Checks that a style model's `style_names` are the shard's (same names, same order); throws Error naming both.
void check_shard_styles(const Shard& shard, const std::vector<std::string>& style_names);

// One piece as a tensor: (T) int64 tokens, or (T, V) float frames.
torch::Tensor piece_tensor(const Shard& shard, size_t piece);

// Replaces padding ids by 0 so that an embedding can read the batch (the loss masks those positions).
torch::Tensor model_input(const torch::Tensor& tokens, int64_t pad_id);

}  // namespace cadenza::codec
