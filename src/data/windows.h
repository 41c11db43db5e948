// Bar-aligned training windows for the latent-variable families (no libtorch here).
//
// MusicVAE trains on fixed-length melody segments (2 or 16 bars) cut from the pieces at every bar line; MuseGAN on
// fixed-size multi-track piano-roll blocks (4 bars). These functions list every such window of one split, so a
// learner draws uniformly among windows (not pieces) and validation scores a fixed list.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/shard.h"
#include "encoding/pianoroll.h"

namespace cadenza {

struct Window {
  size_t piece = 0;   // index in the shard
  int64_t start = 0;  // first token / step of the window in the piece
};

// Windows of `length` tokens of a melody-encoded token shard starting at every multiple of `stride` (the steps of a
// 4/4 bar: the melody encoding keeps no meter, and MusicVAE's data is 4/4 too), wholly inside the piece and holding
// at least one note onset (MusicVAE drops silent windows). Throws cadenza::Error for a piano-roll shard or
// non-positive sizes.
std::vector<Window> melody_windows(const Shard& shard, Split split, int64_t length, int64_t stride);

// Windows of `num_bars` consecutive bars of a piano-roll shard, each bar exactly `steps_per_bar` steps long (so a
// 3/4 bar at 16 steps per 4/4 bar never enters a 4/4 window), with at least one sounding cell. `start` is the
// window's first step. Throws cadenza::Error for a token shard or non-positive sizes.
std::vector<Window> roll_windows(const Shard& shard, Split split, int64_t num_bars, int64_t steps_per_bar);

// Copies `num_steps` steps from `start` of a roll into out[track][step][pitch] (out holds tracks x num_steps x
// pitches bytes).
void copy_roll_window(const PianoRoll& roll, int64_t start, int64_t num_steps, std::span<uint8_t> out);

// Picks `count` windows evenly spread over the list (all of them when count is 0 or at least the list's size), in
// order: a fixed, deterministic validation set.
std::vector<Window> spread_windows(const std::vector<Window>& windows, size_t count);

}  // namespace cadenza
