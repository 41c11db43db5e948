#include "codec/batches.h"

#include "common/error.h"

namespace cadenza::codec {

int64_t shard_input_size(const Shard& shard) {
  if (!shard.is_piano_roll()) return shard.vocabulary_size();
  const PianoRollSpec spec = shard.roll_spec();
  return static_cast<int64_t>(spec.num_tracks) * spec.num_pitches();
}

BatchSource::BatchSource(const Shard& shard, Split split, const BatchOptions& options) {
  if (shard.is_piano_roll()) {
    roll_sampler_ = std::make_unique<RollBatchSampler>(shard, split, options, 0);
  } else {
    token_sampler_ = std::make_unique<TokenBatchSampler>(shard, split, options, 0);
    pad_id_ = token_sampler_->pad_id();
  }
}

TensorBatch BatchSource::next(uint64_t seed) {
  TensorBatch batch;
  if (token_sampler_) {
    token_sampler_->reseed(seed);
    TokenBatch drawn = token_sampler_->next();
    auto tokens = torch::empty({drawn.batch_size, drawn.length}, torch::kLong);  // (B, T)
    auto* out = tokens.data_ptr<int64_t>();
    for (size_t i = 0; i < drawn.tokens.size(); ++i) out[i] = drawn.tokens[i];
    for (const auto& row : drawn.rows) batch.real_elements += row.length;
    batch.targets = tokens;
    batch.input = model_input(tokens, pad_id_);
    return batch;
  }
  roll_sampler_->reseed(seed);
  RollBatch drawn = roll_sampler_->next();
  const int64_t B = drawn.batch_size, K = drawn.num_tracks, T = drawn.length, P = drawn.num_pitches;
  auto cells = torch::from_blob(drawn.cells.data(), {B, K, T, P}, torch::kUInt8);      // (B, K, T, P)
  auto frames = cells.permute({0, 2, 1, 3}).reshape({B, T, K * P}).to(torch::kFloat);  // (B, T, V)
  auto mask = torch::zeros({B, T}, torch::kBool);                                      // (B, T)
  for (int64_t b = 0; b < B; ++b) {
    mask[b].narrow(0, 0, drawn.rows[b].length).fill_(true);
    batch.real_elements += drawn.rows[b].length;
  }
  batch.input = frames;
  batch.targets = frames;
  batch.frame_mask = mask;
  return batch;
}

torch::Tensor piece_tensor(const Shard& shard, size_t piece) {
  if (!shard.is_piano_roll()) {
    const std::vector<Token> tokens = shard.token_vector(piece);
    auto out = torch::empty({static_cast<int64_t>(tokens.size())}, torch::kLong);  // (T)
    auto* data = out.data_ptr<int64_t>();
    for (size_t i = 0; i < tokens.size(); ++i) data[i] = tokens[i];
    return out;
  }
  PianoRoll roll = shard.roll(piece);
  const int64_t K = roll.num_tracks, T = roll.num_steps, P = roll.num_pitches;
  auto cells = torch::from_blob(roll.cells.data(), {K, T, P}, torch::kUInt8);  // (K, T, P)
  return cells.permute({1, 0, 2}).reshape({T, K * P}).to(torch::kFloat);       // (T, V), a copy
}

torch::Tensor model_input(const torch::Tensor& tokens, int64_t pad_id) {
  if (pad_id < 0) return tokens;
  return tokens.masked_fill(tokens == pad_id, 0);
}

}  // namespace cadenza::codec
