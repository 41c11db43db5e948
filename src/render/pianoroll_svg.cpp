// Piano roll as SVG: vector notes (class="note", one <rect> each) over the same grid as the PNG, with a legend
// of track names.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>

#include "common/xml_text.h"
#include "render/pianoroll_image.h"
#include "render/pianoroll_layout.h"

namespace cadenza {

namespace {

// Fixed-point with up to three decimals, without trailing zeros; independent of the C locale.
std::string number(double value) {
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 3);
  if (error != std::errc()) return "0";
  std::string text(buffer, end);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text == "-0" ? "0" : text;
}

std::string hex(const Rgb& colour) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", colour[0], colour[1], colour[2]);
  return buffer;
}


}  // namespace

std::string piano_roll_svg(const Score& score, const ImageOptions& options, ImageResult* result) {
  const render_detail::PianoRollLayout layout = render_detail::plan_piano_roll(score, options);
  const ImageResult& r = layout.result;
  const int row_height = r.pixels_per_pitch;
  std::string svg;
  svg.reserve(1024 + score.note_count() * 96);
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(r.width) + "\" height=\"" +
         std::to_string(r.height) + "\" viewBox=\"0 0 " + std::to_string(r.width) + " " + std::to_string(r.height) +
         "\">\n";
  svg += "<rect class=\"background\" width=\"" + std::to_string(r.width) + "\" height=\"" + std::to_string(r.height) +
         "\" fill=\"#ffffff\"/>\n";

  // Grid.
  svg += "<g class=\"black-keys\" fill=\"#f3f3f6\">\n";
  for (int pitch = r.lowest_pitch; pitch <= r.highest_pitch; ++pitch)
    if (render_detail::is_black_key(pitch))
      svg += "<rect x=\"0\" y=\"" + std::to_string(layout.row_top(pitch)) + "\" width=\"" + std::to_string(r.width) +
             "\" height=\"" + std::to_string(row_height) + "\"/>\n";
  svg += "</g>\n<g class=\"octave-lines\" stroke=\"#c8c8d4\" stroke-width=\"1\">\n";
  for (int pitch = r.lowest_pitch; pitch <= r.highest_pitch; ++pitch)
    if (pitch % 12 == 0) {
      const std::string y = number(layout.row_top(pitch) + row_height - 0.5);
      svg += "<line x1=\"0\" y1=\"" + y + "\" x2=\"" + std::to_string(r.width) + "\" y2=\"" + y + "\"/>\n";
    }
  svg += "</g>\n<g class=\"bar-lines\" stroke=\"#8c8c98\" stroke-width=\"1\">\n";
  for (int64_t tick : layout.bar_ticks) {
    const std::string x = number(std::min(layout.x_of_tick(tick) + 0.5, r.width - 0.5));
    svg += "<line x1=\"" + x + "\" y1=\"" + std::to_string(r.legend_height) + "\" x2=\"" + x + "\" y2=\"" +
           std::to_string(r.height) + "\"/>\n";
  }
  svg += "</g>\n";

  // Notes: x and width in exact (fractional) pixels, at least one pixel wide.
  for (size_t t = 0; t < score.tracks.size(); ++t) {
    const Track& track = score.tracks[t];
    const Rgb colour = track_colour(t);
    svg += "<g class=\"track\" data-name=\"" + xml_text(track.name) + "\" stroke=\"" +
           hex({static_cast<uint8_t>(colour[0] * 0.6), static_cast<uint8_t>(colour[1] * 0.6),
                static_cast<uint8_t>(colour[2] * 0.6)}) +
           "\" stroke-width=\"0.5\">\n";
    for (const Note& note : track.notes) {
      if (!layout.shows_pitch(note.pitch)) continue;
      const double x = layout.x_of_tick(note.start_tick);
      const double width = std::max(1.0, layout.x_of_tick(note.end_tick) - x);
      svg += "<rect class=\"note\" x=\"" + number(x) + "\" y=\"" + std::to_string(layout.row_top(note.pitch)) +
             "\" width=\"" + number(width) + "\" height=\"" + std::to_string(row_height) + "\" fill=\"" +
             hex(note_colour(t, note.velocity)) + "\"/>\n";
    }
    svg += "</g>\n";
  }

  // Legend: swatch and name per track, laid out left to right along the top.
  if (r.legend_height > 0) {
    svg += "<g class=\"legend\" font-family=\"sans-serif\" font-size=\"11\">\n";
    svg += "<rect width=\"" + std::to_string(r.width) + "\" height=\"" + std::to_string(r.legend_height) +
           "\" fill=\"#e8e8e8\"/>\n";
    double x = 4;
    for (size_t t = 0; t < score.tracks.size(); ++t) {
      const Track& track = score.tracks[t];
      std::string name = track.name.empty() ? "track " + std::to_string(t + 1) : track.name;
      if (name.size() > 40) name = name.substr(0, 40) + "...";
      svg += "<rect x=\"" + number(x) + "\" y=\"4\" width=\"10\" height=\"10\" fill=\"" + hex(track_colour(t)) +
             "\"/>\n<text x=\"" + number(x + 14) + "\" y=\"13\">" + xml_text(name) + "</text>\n";
      x += 24 + 6.5 * static_cast<double>(name.size());  // rough text width; overlap is only cosmetic
    }
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  if (result != nullptr) *result = r;
  return svg;
}

}  // namespace cadenza
