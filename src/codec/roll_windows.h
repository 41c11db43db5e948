// Piano-roll shard windows as tensors: the multi-track VAE's frames (codec/vae_segments.h) and MuseGAN's
// (bars x steps) blocks are both views of roll_window_cells().
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "data/shard.h"
#include "data/windows.h"
#include "encoding/pianoroll.h"
#include "models/musegan_config.h"

namespace cadenza {

// The cells of `num_steps` steps from each window's start, windows[first, first + count) of a piano-roll shard:
// (count, tracks, num_steps, pitches) uint8 {0, 1}, the roll's own [track][step][pitch] layout. Decoded pieces are
// kept in `cache`.
torch::Tensor roll_window_cells(const Shard& shard, const std::vector<Window>& windows, size_t first, size_t count,
                                int64_t num_steps, std::unordered_map<size_t, PianoRoll>& cache);

// (B, K, N, S, P) float {0, 1} rolls of bar-aligned windows for a MuseGAN config; decoded pieces kept in `cache`.
torch::Tensor roll_window_batch(const Shard& shard, const std::vector<Window>& windows,
                                const models::MuseGanConfig& config, std::unordered_map<size_t, PianoRoll>& cache);

// A (K, T, P) {0, 1} tensor back to a PianoRoll with a bar line every `steps_per_bar` steps.
PianoRoll piano_roll_of(const torch::Tensor& cells, int64_t steps_per_bar);

}  // namespace cadenza
