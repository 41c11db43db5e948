// Piano-roll pictures of a Score: PNG (our own encoder over zlib) and SVG.
//
// Geometry, shared by both formats (so that a test or a caller can find any note):
//   x of a tick   = tick / ticks_per_quarter * pixels_per_quarter               (0 at the left edge)
//   row of pitch  = legend_height + (highest_pitch - pitch) * pixels_per_pitch  (top edge of the row)
// The picture spans the score rounded up to whole bars (one bar for an empty score) plus one column for the
// closing bar line. In the PNG a note covers columns [round(x(start)), round(x(end))) (at least one) and its
// pitch row; notes at least 3x3 px get a 1 px outline in a darker shade of the track colour. In the SVG each
// note is one <rect class="note"> with the exact x and width (at least 1). Each track has a palette colour;
// velocity shades it towards white (velocity 127 = the full colour); notes are opaque, later tracks on top.
// Bar lines follow the time-signature map (bars() of score/operations.h), a faint line marks the lower edge of
// every C row, and black-key rows are lightly shaded. The top legend_height pixels hold the legend: colour
// swatches in the PNG, swatches with track names in the SVG.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "score/score.h"

namespace cadenza {

struct ImageOptions {
  double pixels_per_quarter = 24.0;  // horizontal scale
  int pixels_per_pitch = 4;          // height of one pitch row, 1..64
  int pitch_margin = 2;              // rows of space above the highest and below the lowest note
  // A fixed pitch range instead of the score's own: used when both are set (0..127, lowest <= highest).
  int fixed_lowest_pitch = -1;
  int fixed_highest_pitch = -1;
  // Size caps: a piece too wide (or tall) for them is drawn at a smaller scale and the result says so.
  int max_width = 16384;
  int max_height = 4096;
  bool legend = true;
};

// What was drawn, including any scaling applied to respect the caps.
struct ImageResult {
  int width = 0;
  int height = 0;
  double pixels_per_quarter = 0.0;  // as drawn (smaller than asked when scaled down)
  int pixels_per_pitch = 0;         // as drawn
  int lowest_pitch = 0;             // pitch range shown, inclusive
  int highest_pitch = 0;
  int legend_height = 0;
  bool scaled_down = false;
  std::string note;  // a human-readable remark about scaling ("" when none)
};

using Rgb = std::array<uint8_t, 3>;
// The fixed track palette (cycled when there are more tracks than colours).
Rgb track_colour(size_t track_index);
// The colour a note of this track and velocity is filled with: the track colour mixed with white, from 35%
// colour at velocity 1 to 100% at velocity 127.
Rgb note_colour(size_t track_index, int velocity);

// In-memory renderings. `result` (optional) receives the layout actually used.
std::vector<uint8_t> piano_roll_png(const Score& score, const ImageOptions& options = {},
                                    ImageResult* result = nullptr);
std::string piano_roll_svg(const Score& score, const ImageOptions& options = {}, ImageResult* result = nullptr);

// Write the picture with write_file_atomic. Throws Error for invalid options and IoError for write failures.
ImageResult render_piano_roll_png(const Score& score, const std::string& path, const ImageOptions& options = {});
ImageResult render_piano_roll_svg(const Score& score, const std::string& path, const ImageOptions& options = {});

}  // namespace cadenza
