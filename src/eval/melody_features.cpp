#include "eval/melody_features.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace cadenza {
namespace {
constexpr double kBarQuarters = 4.0;  // 4/4 bars
}  // namespace

std::vector<std::string> melody_attribute_names() {
  return {"note_density", "mean_pitch", "pitch_range", "rest_rate"};
}

double melody_attribute(const Score& score, const std::string& attribute, double bars) {
  std::vector<Note> notes;
  for (const Track& track : score.tracks)
    if (!track.is_drum) notes.insert(notes.end(), track.notes.begin(), track.notes.end());
  const double tpq = score.ticks_per_quarter;
  if (bars <= 0) bars = std::max(1.0, std::ceil(static_cast<double>(score.end_tick()) / tpq / kBarQuarters));
  if (attribute == "note_density") return static_cast<double>(notes.size()) / bars;
  if (attribute == "mean_pitch" || attribute == "pitch_range") {
    if (notes.empty()) return std::numeric_limits<double>::quiet_NaN();
    double sum = 0;
    int low = 127, high = 0;
    for (const Note& note : notes)
      sum += note.pitch, low = std::min(low, note.pitch), high = std::max(high, note.pitch);
    return attribute == "mean_pitch" ? sum / static_cast<double>(notes.size()) : static_cast<double>(high - low);
  }
  if (attribute == "rest_rate") {
    const double total = bars * kBarQuarters * tpq;
    std::sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) { return a.start_tick < b.start_tick; });
    double sounding = 0;
    int64_t covered_to = 0;
    for (const Note& note : notes) {
      const int64_t start = std::max(note.start_tick, covered_to);
      const int64_t end = std::min<int64_t>(note.end_tick, static_cast<int64_t>(total));
      if (end > start) sounding += static_cast<double>(end - start);
      covered_to = std::max(covered_to, note.end_tick);
    }
    return std::clamp(1.0 - sounding / total, 0.0, 1.0);
  }
  throw Error("unknown attribute \"" + attribute + "\" (expected note_density, mean_pitch, pitch_range or rest_rate)");
}

}  // namespace cadenza
