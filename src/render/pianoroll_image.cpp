// Palette and the file-writing entry points of the piano-roll pictures.
#include "render/pianoroll_image.h"

#include <algorithm>
#include <cmath>

#include "common/file_io.h"

namespace cadenza {

namespace {

// Tableau 10: distinct hues that stay distinguishable when shaded towards white.
constexpr std::array<Rgb, 10> kPalette = {{
    {31, 119, 180},
    {255, 127, 14},
    {44, 160, 44},
    {214, 39, 40},
    {148, 103, 189},
    {140, 86, 75},
    {227, 119, 194},
    {127, 127, 127},
    {188, 189, 34},
    {23, 190, 207},
}};

}  // namespace

Rgb track_colour(size_t track_index) {
  return kPalette[track_index % kPalette.size()];
}

Rgb note_colour(size_t track_index, int velocity) {
  const double strength = 0.35 + 0.65 * (std::clamp(velocity, 1, 127) - 1) / 126.0;
  const Rgb full = track_colour(track_index);
  Rgb mixed{};
  for (size_t c = 0; c < 3; ++c) mixed[c] = static_cast<uint8_t>(std::lround(255.0 + (full[c] - 255.0) * strength));
  return mixed;
}

ImageResult render_piano_roll_png(const Score& score, const std::string& path, const ImageOptions& options) {
  ImageResult result;
  const std::vector<uint8_t> png = piano_roll_png(score, options, &result);
  write_file_atomic(path, png);
  return result;
}

ImageResult render_piano_roll_svg(const Score& score, const std::string& path, const ImageOptions& options) {
  ImageResult result;
  const std::string svg = piano_roll_svg(score, options, &result);
  write_file_atomic(path, std::string_view(svg));
  return result;
}

}  // namespace cadenza
