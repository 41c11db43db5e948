#include "eval/melody_features.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "eval/musical_metrics.h"

namespace cadenza {
namespace {

// The pitched part of a score: every track but the drums.
Score without_drums(const Score& score) {
  Score pitched = score;
  std::erase_if(pitched.tracks, [](const Track& track) { return track.is_drum; });
  return pitched;
}

}  // namespace

std::vector<std::string> melody_attribute_names() {
  return {"note_density", "mean_pitch", "pitch_range", "rest_rate"};
}

double melody_attribute(const Score& score, const std::string& attribute, double bars) {
  const auto names = melody_attribute_names();
  if (std::find(names.begin(), names.end(), attribute) == names.end())
    throw Error("unknown attribute \"" + attribute +
                "\" (expected note_density, mean_pitch, pitch_range or rest_rate)");
  const Score pitched = without_drums(score);
  const bool empty = pitched.note_count() == 0;
  if (attribute == "note_density") return empty ? 0.0 : eval::note_density(pitched, bars);
  if (attribute == "mean_pitch") return eval::mean_pitch(pitched);  // NaN without notes
  if (attribute == "pitch_range")
    return empty ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(eval::pitch_range(pitched));
  // rest_rate: the share of [0, length of the bars) in which no pitched note sounds.
  const double bar_count = bars > 0 ? bars : static_cast<double>(std::max<int64_t>(1, eval::bar_count(pitched)));
  const auto total = static_cast<double>(eval::length_of_bars(pitched, bar_count));
  std::vector<Note> notes;
  for (const Track& track : pitched.tracks) notes.insert(notes.end(), track.notes.begin(), track.notes.end());
  std::sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) { return a.start_tick < b.start_tick; });
  double sounding = 0;
  int64_t covered_to = 0;
  for (const Note& note : notes) {
    const int64_t start = std::max(note.start_tick, covered_to);
    const int64_t end = std::min<int64_t>(note.end_tick, static_cast<int64_t>(total));
    if (end > start) sounding += static_cast<double>(end - start);
    covered_to = std::max(covered_to, note.end_tick);
  }
  return total > 0 ? std::clamp(1.0 - sounding / total, 0.0, 1.0) : 1.0;
}

}  // namespace cadenza
