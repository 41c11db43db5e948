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

#include "data/batch.h"
#include "data/shard.h"

namespace cadenza::codec {

struct TensorBatch {
  torch::Tensor input;        // (B, T) int64 or (B, T, V) float: what the model reads
  torch::Tensor targets;      // (B, T) int64 with pad_id, or (B, T, V) float frames
  torch::Tensor frame_mask;   // (B, T) bool, true = real (frames only; tokens use pad_id)
  int64_t real_elements = 0;  // real tokens / frames in the batch (throughput accounting)
};

// The width of a model input for this shard: vocabulary size, or tracks x pitches of a piano roll.
int64_t shard_input_size(const Shard& shard);

// Random crops from one split (see data/batch.h). Deterministic: next(seed) draws a batch from `seed` alone.
class BatchSource {
 public:
  BatchSource(const Shard& shard, Split split, const BatchOptions& options);
  TensorBatch next(uint64_t seed);
  bool frames() const { return roll_sampler_ != nullptr; }
  int64_t pad_id() const { return pad_id_; }

 private:
  std::unique_ptr<TokenBatchSampler> token_sampler_;
  std::unique_ptr<RollBatchSampler> roll_sampler_;
  int64_t pad_id_ = -1;
};

// One piece as a tensor: (T) int64 tokens, or (T, V) float frames.
torch::Tensor piece_tensor(const Shard& shard, size_t piece);

// Replaces padding ids by 0 so that an embedding can read the batch (the loss masks those positions).
torch::Tensor model_input(const torch::Tensor& tokens, int64_t pad_id);

}  // namespace cadenza::codec
