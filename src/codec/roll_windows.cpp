#include "codec/roll_windows.h"

#include <span>

namespace cadenza {

torch::Tensor roll_window_cells(const Shard& shard, const std::vector<Window>& windows, size_t first, size_t count,
                                int64_t num_steps, std::unordered_map<size_t, PianoRoll>& cache) {
  const PianoRollSpec spec = shard.roll_spec();
  const int64_t N = spec.num_tracks, P = spec.num_pitches();
  torch::Tensor cells = torch::empty({static_cast<int64_t>(count), N, num_steps, P}, torch::kUInt8);
  uint8_t* data = cells.data_ptr<uint8_t>();
  const size_t per_window = static_cast<size_t>(N * num_steps * P);
  for (size_t row = 0; row < count; ++row) {
    const Window& window = windows[first + row];
    auto cached = cache.find(window.piece);
    if (cached == cache.end()) cached = cache.emplace(window.piece, shard.roll(window.piece)).first;
    copy_roll_window(cached->second, window.start, num_steps, std::span<uint8_t>(data + row * per_window, per_window));
  }
  return cells;  // (count, N, num_steps, P)
}

torch::Tensor roll_window_batch(const Shard& shard, const std::vector<Window>& windows,
                                const models::MuseGanConfig& config, std::unordered_map<size_t, PianoRoll>& cache) {
  const int64_t K = config.num_tracks, N = config.num_bars, S = config.steps_per_bar, P = config.num_pitches;
  const torch::Tensor cells = roll_window_cells(shard, windows, 0, windows.size(), N * S, cache);  // (B, K, N*S, P)
  return cells.view({static_cast<int64_t>(windows.size()), K, N, S, P}).to(torch::kFloat);
}

PianoRoll piano_roll_of(const torch::Tensor& cells, int64_t steps_per_bar) {
  const torch::Tensor bytes = cells.to(torch::kCPU).gt(0.5).to(torch::kUInt8).contiguous();  // (K, T, P)
  PianoRoll roll;
  roll.num_tracks = static_cast<int>(bytes.size(0));
  roll.num_steps = static_cast<int>(bytes.size(1));
  roll.num_pitches = static_cast<int>(bytes.size(2));
  roll.cells.assign(bytes.data_ptr<uint8_t>(), bytes.data_ptr<uint8_t>() + bytes.numel());
  for (int64_t start = 0; start < roll.num_steps; start += steps_per_bar)
    roll.bar_starts.push_back(static_cast<int>(start));
  return roll;
}

}  // namespace cadenza
