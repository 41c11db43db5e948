// Sampling, interpolating, reconstructing and steering the latent-variable families: the work behind
// `cadenza sample | interpolate | reconstruct | attribute` and `cadenza generate` for vae / gan / rgan checkpoints.
//
//   vae (MusicVAE)   z ~ N(0, I) (optionally truncated) -> decoder, step by step at `temperature` (0 = argmax, or
//                    keys above probability 0.5 for frames) -> melody tokens or multi-track piano-roll frames ->
//                    Score. A MIDI file is encoded to z by the encoder's mean of its first segment (generate/
//                    vae_segments.h: the melody, or the roll of its tracks, padded).
//   musegan          noise (truncated normal with `truncation`) -> generator -> (K, N, S, P) probabilities ->
//                    binarised by threshold (> threshold) or Bernoulli draws -> piano roll -> Score (one track per
//                    roll track).
//   crnngan          noise -> note events (pitch, duration, time shift) -> Score.
//
// Longer than one window (vae, musegan: `bars` beyond the model's segment): consecutive windows are decoded from
// latents on a smooth path, a slerp through random anchor latents with `windows_per_anchor` windows between anchors,
// and concatenated, so the piece evolves instead of jumping between unrelated segments (MuseGAN itself is fixed at
// 4 bars).
//
// Everything is deterministic for a seed. This header is libtorch-free.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/melody_features.h"  // melody_attribute()
#include "score/score.h"

namespace cadenza {

struct LatentSampleOptions {
  double temperature = 1.0;            // vae: decoder softmax temperature (0 = argmax)
  double truncation = 0.0;             // latent / noise drawn from N(0, 1) truncated to +-truncation (0 = none)
  std::string binarize = "threshold";  // musegan: threshold | bernoulli
  double threshold = 0.5;              // musegan: a cell is on above this probability
  double bars = 0;                     // vae / musegan: piece length in 4/4 bars (0 = one window); crnngan: see events
  int64_t events = 0;                  // crnngan: note events (0 = 64, or enough for `bars`)
  int windows_per_anchor = 4;          // stitched pieces: windows between consecutive anchor latents
  double qpm = 120.0;                  // output tempo
  uint64_t seed = 1;
};

struct LatentPiece {
  Score score;
  double generation_seconds = 0;
  double music_seconds = 0;
};

// How a MIDI file came back through the VAE.
struct Reconstruction {
  Score input;               // the segment the encoder read (after encoding: quantized, in range, padded)
  Score output;              // decoded from the posterior mean
  double step_accuracy = 0;  // fraction of the segment's steps (tokens, or whole frames) the output reproduces
  int64_t steps = 0;
};

class LatentGenerator {
 public:
  // A checkpoint file or a run folder of a vae, musegan or crnngan model. Throws cadenza::Error / FormatError
  // (for an autoregressive checkpoint: use PieceGenerator).
  explicit LatentGenerator(const std::string& checkpoint_or_run);
  ~LatentGenerator();
  LatentGenerator(const LatentGenerator&) = delete;
  LatentGenerator& operator=(const LatentGenerator&) = delete;

  const std::string& checkpoint_path() const;
  const std::string& family() const;  // "vae" | "musegan" | "crnngan"
  std::string describe() const;       // "vae (hierarchical, 16 bars), 1.2M parameters, melody encoding"
  nlohmann::json training_metadata() const;
  int64_t window_bars() const;  // bars one latent decodes to (vae, musegan); 0 for crnngan

  // One new piece per seed (options.seed + i for i in [0, count)).
  std::vector<LatentPiece> sample(int count, const LatentSampleOptions& options);

  // `steps` pieces whose latents run from a to b inclusive (slerp when spherical, else lerp). vae: a and b are the
  // encodings of two scores; musegan / crnngan: two noise draws from seeds options.seed and options.seed + 1.
  // Throws cadenza::Error for steps < 2, or missing scores for a vae.
  std::vector<LatentPiece> interpolate(const Score* a, const Score* b, int steps, bool spherical,
                                       const LatentSampleOptions& options);

  // vae only: encodes the score (posterior mean) and decodes it at options.temperature.
  Reconstruction reconstruct(const Score& input, const LatentSampleOptions& options);

  // vae only: adds amount x attribute vector to the score's latent and decodes. The attribute vector is the mean
  // latent (posterior mean) of the training windows in the top quartile of the attribute minus that of the bottom
  // quartile, computed from `shard_path` (the shard the model was trained on; its train split) over at most
  // `max_windows` windows spread evenly.
  std::vector<std::string> attribute_names() const;  // note_density, mean_pitch, pitch_range, rest_rate
  LatentPiece apply_attribute(const Score& input, const std::string& attribute, double amount,
                              const std::string& shard_path, const LatentSampleOptions& options,
                              int64_t max_windows = 4096);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cadenza
