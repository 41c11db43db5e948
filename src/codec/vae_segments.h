// What a MusicVAE model reads and writes, in both input kinds (models/vae.h), and the segments it trains on:
//
//   tokens   melody-encoded shards: bar-aligned windows of sequence_length melody tokens (B, T) int64; a MIDI file
//            becomes its first T melody tokens (the skyline of its non-drum tracks), padded with rests.
//   frames   piano-roll shards: windows of whole bars, each exactly steps_per_bar long, as frames (B, T, N*P) float
//            {0, 1}, key n*P + p = track n, pitch lowest_pitch + p (track-major, as the roll's [track][step][pitch]
//            with step moved first); a MIDI file becomes its first T roll steps under the shard's roll spec (score
//            track i -> roll track min(i, N - 1); see encoding/pianoroll.h), padded with silence.
//
// Segments are 4/4 bars (MusicVAE's), steps_per_bar(4, 4, steps_per_quarter) steps each. Used by the VAE learner,
// its evaluation and its sampler, so the three read a segment the same way.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "data/shard.h"
#include "data/windows.h"
#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "models/vae_config.h"
#include "score/score.h"

namespace cadenza {

// Score <-> model tensors for one VAE model, from its config and the encoding spec it was trained with.
class VaeCodec {
 public:
  // Throws cadenza::Error when the encoding does not fit the config's input kind (a frames model needs a pianoroll
  // spec with tracks x pitches == vocab_size; a tokens model a melody spec).
  VaeCodec(const models::VaeConfig& config, const nlohmann::json& encoding);
  ~VaeCodec();
  VaeCodec(VaeCodec&&) noexcept;

  bool frames() const { return frames_; }
  int64_t steps_per_bar() const { return steps_per_bar_; }
  int64_t length() const { return length_; }  // T
  int64_t bars() const { return length_ / steps_per_bar_; }

  // The first T steps of a score: tokens (T) int64, or frames (T, V) float. Shorter scores are padded.
  torch::Tensor input_of(const Score& score) const;
  // Decoded steps back to music: tokens (T') int64 or frames (T', V) float, any whole number of bars T'. Frames get
  // a bar line every steps_per_bar steps.
  Score score_of(const torch::Tensor& steps, double qpm = 120.0) const;

 private:
  bool frames_ = false;
  int64_t steps_per_bar_ = 16, length_ = 0, keys_ = 0;
  std::unique_ptr<TokenEncoding> melody_;
  PianoRollSpec roll_spec_;
};

// The bar-aligned segments of one shard for one VAE model.
class VaeSegments {
 public:
  // Throws cadenza::Error naming the shard when it does not fit the model (its kind, its vocabulary or keys).
  VaeSegments(const Shard& shard, const models::VaeConfig& config);
  const VaeCodec& codec() const { return codec_; }

  // Every window of the split that holds a note: melody windows starting at bar lines, or roll windows of whole
  // bars of exactly steps_per_bar steps (data/windows.h).
  std::vector<Window> windows(Split split) const;
  // windows[first, first + count) as one batch: (B, T) int64 tokens or (B, T, V) float frames.
  torch::Tensor batch(const std::vector<Window>& windows, size_t first, size_t count);
  torch::Tensor batch(const std::vector<Window>& windows) { return batch(windows, 0, windows.size()); }

 private:
  const Shard& shard_;
  VaeCodec codec_;
  std::unordered_map<size_t, PianoRoll> rolls_;  // decoded pieces (frames)
};

}  // namespace cadenza
