#include "data/windows.h"

#include <algorithm>
#include <string>

#include "common/error.h"

namespace cadenza {

std::vector<Window> melody_windows(const Shard& shard, Split split, int64_t length, int64_t stride) {
  if (shard.is_piano_roll()) throw Error(shard.path() + ": melody windows need a token shard, not a piano roll");
  if (length <= 0 || stride <= 0) throw Error("melody windows: length and stride must be positive");
  const auto encoding = shard.make_encoding();
  std::vector<Window> windows;
  for (size_t piece : shard.pieces_in_split(split)) {
    const std::vector<Token> tokens = shard.token_vector(piece);
    const auto size = static_cast<int64_t>(tokens.size());
    // onsets_before[i]: note onsets among tokens [0, i), so a window's onset count is one subtraction.
    std::vector<int64_t> onsets_before(tokens.size() + 1, 0);
    for (size_t i = 0; i < tokens.size(); ++i)
      onsets_before[i + 1] = onsets_before[i] + (encoding->token_pitch(tokens[i]) >= 0 ? 1 : 0);
    for (int64_t start = 0; start + length <= size; start += stride)
      if (onsets_before[start + length] > onsets_before[start]) windows.push_back({piece, start});
  }
  return windows;
}

std::vector<Window> roll_windows(const Shard& shard, Split split, int64_t num_bars, int64_t steps_per_bar) {
  if (!shard.is_piano_roll()) throw Error(shard.path() + ": piano-roll windows need a piano-roll shard");
  if (num_bars <= 0 || steps_per_bar <= 0) throw Error("piano-roll windows: bars and steps per bar must be positive");
  std::vector<Window> windows;
  for (size_t piece : shard.pieces_in_split(split)) {
    const PianoRoll roll = shard.roll(piece);
    const size_t bars = roll.bar_starts.size();
    auto bar_length = [&](size_t bar) {
      const int end = bar + 1 < bars ? roll.bar_starts[bar + 1] : roll.num_steps;
      return static_cast<int64_t>(end - roll.bar_starts[bar]);
    };
    // sounding[s]: some cell of step s is on (any track).
    std::vector<int64_t> sounding_before(static_cast<size_t>(roll.num_steps) + 1, 0);
    for (int step = 0; step < roll.num_steps; ++step) {
      bool on = false;
      for (int track = 0; track < roll.num_tracks && !on; ++track)
        for (int pitch = 0; pitch < roll.num_pitches && !on; ++pitch) on = roll.at(track, step, pitch) != 0;
      sounding_before[step + 1] = sounding_before[step] + (on ? 1 : 0);
    }
    for (size_t first = 0; first + num_bars <= bars; ++first) {
      bool whole = true;
      for (size_t bar = first; bar < first + num_bars && whole; ++bar) whole = bar_length(bar) == steps_per_bar;
      if (!whole) continue;
      const int64_t start = roll.bar_starts[first];
      if (sounding_before[start + num_bars * steps_per_bar] > sounding_before[start]) windows.push_back({piece, start});
    }
  }
  return windows;
}

void copy_roll_window(const PianoRoll& roll, int64_t start, int64_t num_steps, std::span<uint8_t> out) {
  const size_t pitches = static_cast<size_t>(roll.num_pitches);
  if (out.size() != static_cast<size_t>(roll.num_tracks) * num_steps * pitches || start < 0 ||
      start + num_steps > roll.num_steps)
    throw Error("copy_roll_window: window out of range");
  for (int track = 0; track < roll.num_tracks; ++track)
    std::copy_n(&roll.cells[(static_cast<size_t>(track) * roll.num_steps + start) * pitches], num_steps * pitches,
                &out[static_cast<size_t>(track) * num_steps * pitches]);
}

std::vector<Window> spread_windows(const std::vector<Window>& windows, size_t count) {
  if (count == 0 || count >= windows.size()) return windows;
  std::vector<Window> picked;
  picked.reserve(count);
  for (size_t i = 0; i < count; ++i) picked.push_back(windows[i * windows.size() / count]);
  return picked;
}

}  // namespace cadenza
