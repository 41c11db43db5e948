// Geometry shared by the PNG and SVG piano rolls (internal to the render area). See pianoroll_image.h for
// the coordinate conventions this implements.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "render/pianoroll_image.h"
#include "score/score.h"

namespace cadenza::render_detail {

constexpr int kLegendHeight = 18;

struct PianoRollLayout {
  ImageResult result;
  int ticks_per_quarter = 480;
  // Bar starts worth drawing: consecutive lines at least a few pixels apart (see bar_line_ticks()).
  std::vector<int64_t> bar_ticks;

  double x_of_tick(int64_t tick) const {
    return static_cast<double>(tick) / ticks_per_quarter * result.pixels_per_quarter;
  }
  // Whole-pixel columns [first, last) of a span of ticks: rounded edges, at least one column.
  int column_of_tick(int64_t tick) const;
  int row_top(int pitch) const {
    return result.legend_height + (result.highest_pitch - pitch) * result.pixels_per_pitch;
  }
  bool shows_pitch(int pitch) const { return pitch >= result.lowest_pitch && pitch <= result.highest_pitch; }
};

// Validates the options (throws Error) and works out size, scale and pitch range, applying the size caps.
PianoRollLayout plan_piano_roll(const Score& score, const ImageOptions& options);

// Ticks of the bar lines: every bar start from bars() (score/operations.h) and the end of the last bar; for a
// score without notes, the first bar of its time signature. Empty when the score has too many bars to draw.
std::vector<int64_t> bar_boundaries(const Score& score);

bool is_black_key(int pitch);

}  // namespace cadenza::render_detail
