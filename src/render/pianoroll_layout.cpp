#include "render/pianoroll_layout.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "score/operations.h"

namespace cadenza::render_detail {

namespace {

constexpr int kEmptyScoreLowest = 48;  // C3..C5 for a score without notes
constexpr int kEmptyScoreHighest = 72;
constexpr double kMinBarLineSpacing = 3.0;
constexpr int64_t kMaxBars = 100000;  // more bars than this are not drawn (see bar_boundaries)

std::string fmt(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

void validate(const Score& score, const ImageOptions& options) {
  if (score.ticks_per_quarter <= 0)
    throw Error("piano roll: score has " + std::to_string(score.ticks_per_quarter) + " ticks per quarter");
  if (!std::isfinite(options.pixels_per_quarter) || options.pixels_per_quarter <= 0.0 ||
      options.pixels_per_quarter > 10000.0)
    throw Error("piano roll: pixels per quarter note must be in (0, 10000], not " + fmt(options.pixels_per_quarter));
  if (options.pixels_per_pitch < 1 || options.pixels_per_pitch > 64)
    throw Error("piano roll: pixels per pitch must be in 1..64, not " + std::to_string(options.pixels_per_pitch));
  if (options.pitch_margin < 0 || options.pitch_margin > 127)
    throw Error("piano roll: pitch margin must be in 0..127, not " + std::to_string(options.pitch_margin));
  const bool fixed = options.fixed_lowest_pitch >= 0 || options.fixed_highest_pitch >= 0;
  if (fixed && !(options.fixed_lowest_pitch >= 0 && options.fixed_highest_pitch <= 127 &&
                 options.fixed_lowest_pitch <= options.fixed_highest_pitch))
    throw Error("piano roll: a fixed pitch range needs 0 <= lowest <= highest <= 127, not " +
                std::to_string(options.fixed_lowest_pitch) + ".." + std::to_string(options.fixed_highest_pitch));
  if (options.max_width < 64)
    throw Error("piano roll: maximum width must be at least 64 pixels, not " + std::to_string(options.max_width));
  if (options.max_height < 256)
    throw Error("piano roll: maximum height must be at least 256 pixels, not " + std::to_string(options.max_height));
}

int64_t bar_length_ticks(const Score& score, const TimeSignature& signature) {
  if (signature.numerator <= 0 || signature.denominator <= 0) return 4 * static_cast<int64_t>(score.ticks_per_quarter);
  const int64_t length =
      static_cast<int64_t>(score.ticks_per_quarter) * 4 * signature.numerator / signature.denominator;
  return std::max<int64_t>(length, 1);
}

}  // namespace

bool is_black_key(int pitch) {
  switch (((pitch % 12) + 12) % 12) {
    case 1:
    case 3:
    case 6:
    case 8:
    case 10:
      return true;
    default:
      return false;
  }
}

int PianoRollLayout::column_of_tick(int64_t tick) const {
  return static_cast<int>(std::lround(x_of_tick(tick)));
}

std::vector<int64_t> bar_boundaries(const Score& score) {
  // bars() lists every bar, so a corrupt file whose last note sits at tick 2^40 would ask for billions of
  // them; such a grid would be solid grey anyway, so it is not drawn at all.
  int64_t shortest_bar = 4 * static_cast<int64_t>(score.ticks_per_quarter);
  for (const TimeSignature& signature : score.time_signatures)
    shortest_bar = std::min(shortest_bar, bar_length_ticks(score, signature));
  if (score.end_tick() / shortest_bar > kMaxBars) return {};

  std::vector<int64_t> boundaries;
  const std::vector<Bar> bar_list = bars(score);
  for (const Bar& bar : bar_list) boundaries.push_back(bar.start_tick);
  if (!bar_list.empty()) {
    boundaries.push_back(bar_list.back().end_tick);
  } else {
    // An empty score (bars() covers notes only) still gets the first bar of its first time signature.
    boundaries.push_back(0);
    boundaries.push_back(score.time_signatures.empty() ? 4 * static_cast<int64_t>(score.ticks_per_quarter)
                                                       : bar_length_ticks(score, score.time_signatures[0]));
  }
  return boundaries;
}

std::vector<int64_t> thin_out(const std::vector<int64_t>& ticks, double pixels_per_tick, double min_pixels) {
  std::vector<int64_t> kept;
  double last_x = 0.0;
  for (int64_t tick : ticks) {
    const double x = static_cast<double>(tick) * pixels_per_tick;
    if (kept.empty() || x - last_x >= min_pixels) {
      kept.push_back(tick);
      last_x = x;
    }
  }
  return kept;
}

PianoRollLayout plan_piano_roll(const Score& score, const ImageOptions& options) {
  validate(score, options);
  PianoRollLayout layout;
  layout.ticks_per_quarter = score.ticks_per_quarter;
  ImageResult& r = layout.result;
  r.legend_height = options.legend ? kLegendHeight : 0;

  // Pitch range.
  if (options.fixed_lowest_pitch >= 0) {
    r.lowest_pitch = options.fixed_lowest_pitch;
    r.highest_pitch = options.fixed_highest_pitch;
  } else if (score.note_count() == 0) {
    r.lowest_pitch = kEmptyScoreLowest;
    r.highest_pitch = kEmptyScoreHighest;
  } else {
    int lowest = 127, highest = 0;
    for (const auto& track : score.tracks)
      for (const auto& note : track.notes) {
        lowest = std::min(lowest, note.pitch);
        highest = std::max(highest, note.pitch);
      }
    r.lowest_pitch = std::max(0, lowest - options.pitch_margin);
    r.highest_pitch = std::min(127, highest + options.pitch_margin);
  }
  const int rows = r.highest_pitch - r.lowest_pitch + 1;

  // Height, within the cap (max_height >= 256 always fits 128 one-pixel rows and the legend).
  r.pixels_per_pitch = options.pixels_per_pitch;
  if (r.legend_height + rows * r.pixels_per_pitch > options.max_height) {
    r.pixels_per_pitch = std::max(1, (options.max_height - r.legend_height) / rows);
    r.scaled_down = true;
    r.note = "pitch rows reduced from " + std::to_string(options.pixels_per_pitch) + " to " +
             std::to_string(r.pixels_per_pitch) + " px to keep the height within " +
             std::to_string(options.max_height) + " px";
  }
  r.height = r.legend_height + rows * r.pixels_per_pitch;

  // Width: the whole score rounded up to whole bars (an empty score shows one bar), plus one column for the
  // closing bar line.
  const std::vector<int64_t> boundaries = bar_boundaries(score);
  int64_t end_tick = score.end_tick();
  if (!boundaries.empty()) end_tick = std::max(end_tick, boundaries.back());
  end_tick = std::max<int64_t>(end_tick, 1);
  const double quarters = static_cast<double>(end_tick) / score.ticks_per_quarter;
  r.pixels_per_quarter = options.pixels_per_quarter;
  double content_width = std::ceil(quarters * r.pixels_per_quarter);
  if (content_width + 1 > options.max_width) {
    r.pixels_per_quarter = static_cast<double>(options.max_width - 1) / quarters;
    // Rounding must not push the width back over the cap.
    while (std::ceil(quarters * r.pixels_per_quarter) + 1 > options.max_width) r.pixels_per_quarter *= 0.999999;
    content_width = std::ceil(quarters * r.pixels_per_quarter);
    std::string remark = "time scaled from " + fmt(options.pixels_per_quarter) + " to " + fmt(r.pixels_per_quarter) +
                         " px per quarter note to keep the width within " + std::to_string(options.max_width) + " px";
    r.note = r.note.empty() ? remark : r.note + "; " + remark;
    r.scaled_down = true;
  }
  r.width = static_cast<int>(content_width) + 1;
  if (boundaries.empty()) {
    const std::string remark = "bar lines omitted: more than " + std::to_string(kMaxBars) + " bars";
    r.note = r.note.empty() ? remark : r.note + "; " + remark;
  }
  layout.bar_ticks = thin_out(boundaries, r.pixels_per_quarter / score.ticks_per_quarter, kMinBarLineSpacing);
  return layout;
}

}  // namespace cadenza::render_detail
