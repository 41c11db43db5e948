// Rasterised piano roll, encoded as PNG.
#include <algorithm>

#include "render/pianoroll_image.h"
#include "render/pianoroll_layout.h"
#include "render/png.h"

namespace cadenza {

namespace {

constexpr Rgb kWhiteKeyRow = {255, 255, 255};
constexpr Rgb kBlackKeyRow = {243, 243, 246};
constexpr Rgb kOctaveLine = {200, 200, 212};
constexpr Rgb kBarLine = {140, 140, 152};
constexpr Rgb kLegendBackground = {232, 232, 232};

class Canvas {
 public:
  Canvas(int width, int height) : width_(width), height_(height), pixels_(size_t(width) * size_t(height) * 3, 255) {}

  // Fills [x0, x1) x [y0, y1), clipped to the canvas.
  void fill(int x0, int y0, int x1, int y1, const Rgb& colour) {
    x0 = std::max(x0, 0);
    y0 = std::max(y0, 0);
    x1 = std::min(x1, width_);
    y1 = std::min(y1, height_);
    for (int y = y0; y < y1; ++y) {
      uint8_t* p = pixels_.data() + (size_t(y) * size_t(width_) + size_t(x0)) * 3;
      for (int x = x0; x < x1; ++x, p += 3) std::copy(colour.begin(), colour.end(), p);
    }
  }
  int width() const { return width_; }
  int height() const { return height_; }
  const std::vector<uint8_t>& pixels() const { return pixels_; }

 private:
  int width_;
  int height_;
  std::vector<uint8_t> pixels_;
};

Rgb darker(const Rgb& colour) {
  return {static_cast<uint8_t>(colour[0] * 0.6), static_cast<uint8_t>(colour[1] * 0.6),
          static_cast<uint8_t>(colour[2] * 0.6)};
}

}  // namespace

std::vector<uint8_t> piano_roll_png(const Score& score, const ImageOptions& options, ImageResult* result) {
  const render_detail::PianoRollLayout layout = render_detail::plan_piano_roll(score, options);
  const ImageResult& r = layout.result;
  Canvas canvas(r.width, r.height);
  const int row_height = r.pixels_per_pitch;

  // Grid: shaded black-key rows, a faint line along the bottom of every C row, then bar lines.
  for (int pitch = r.lowest_pitch; pitch <= r.highest_pitch; ++pitch) {
    const int top = layout.row_top(pitch);
    canvas.fill(0, top, r.width, top + row_height, render_detail::is_black_key(pitch) ? kBlackKeyRow : kWhiteKeyRow);
    if (pitch % 12 == 0) canvas.fill(0, top + row_height - 1, r.width, top + row_height, kOctaveLine);
  }
  for (int64_t tick : layout.bar_ticks) {
    const int x = std::min(layout.column_of_tick(tick), r.width - 1);
    canvas.fill(x, r.legend_height, x + 1, r.height, kBarLine);
  }

  // Notes, track by track (later tracks on top), outlined when big enough for an outline to leave a fill.
  for (size_t t = 0; t < score.tracks.size(); ++t) {
    const Rgb outline = darker(track_colour(t));
    for (const Note& note : score.tracks[t].notes) {
      if (!layout.shows_pitch(note.pitch)) continue;
      const int x0 = layout.column_of_tick(note.start_tick);
      const int x1 = std::max(x0 + 1, layout.column_of_tick(note.end_tick));
      const int y0 = layout.row_top(note.pitch);
      const int y1 = y0 + row_height;
      if (x1 - x0 >= 3 && row_height >= 3) {
        canvas.fill(x0, y0, x1, y1, outline);
        canvas.fill(x0 + 1, y0 + 1, x1 - 1, y1 - 1, note_colour(t, note.velocity));
      } else {
        canvas.fill(x0, y0, x1, y1, note_colour(t, note.velocity));
      }
    }
  }

  // Legend: one colour swatch per track along the top (no font rendering in the PNG).
  if (r.legend_height > 0) {
    canvas.fill(0, 0, r.width, r.legend_height, kLegendBackground);
    for (size_t t = 0; t < score.tracks.size(); ++t) {
      const int x = 4 + static_cast<int>(t) * 20;
      if (x + 16 > r.width) break;
      canvas.fill(x, 3, x + 16, r.legend_height - 3, track_colour(t));
    }
  }

  if (result != nullptr) *result = r;
  return encode_png(canvas.width(), canvas.height(), 3, canvas.pixels());
}

}  // namespace cadenza
