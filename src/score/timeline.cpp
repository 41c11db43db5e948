#include "score/timeline.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace cadenza {

namespace {

void check_ascending(std::span<const int64_t> ticks, const char* what) {
  for (size_t i = 1; i < ticks.size(); ++i)
    if (ticks[i] < ticks[i - 1])
      throw Error(std::string(what) + ": ticks must be ascending, but tick " + std::to_string(ticks[i]) + " follows " +
                  std::to_string(ticks[i - 1]));
}

}  // namespace

std::vector<double> seconds_at(const Score& score, std::span<const int64_t> ticks) {
  check_ascending(ticks, "seconds_at");
  std::vector<double> seconds;
  seconds.reserve(ticks.size());
  // The segment the sweep is in: it starts at segment_start (seconds `segment_seconds`) with `tempo`; the same
  // additions as tick_to_seconds, so the results are identical.
  const double ticks_per_quarter = score.ticks_per_quarter;
  double segment_seconds = 0.0;
  int64_t segment_start = 0;
  int32_t tempo = 500000;
  size_t next = 0;  // the first tempo change not yet entered
  for (int64_t tick : ticks) {
    while (next < score.tempos.size() && score.tempos[next].tick < tick) {
      const auto& change = score.tempos[next++];
      segment_seconds += static_cast<double>(change.tick - segment_start) * tempo / (1e6 * ticks_per_quarter);
      segment_start = change.tick;
      tempo = change.microseconds_per_quarter;
    }
    seconds.push_back(segment_seconds + static_cast<double>(tick - segment_start) * tempo / (1e6 * ticks_per_quarter));
  }
  return seconds;
}

std::vector<BarPosition> bar_positions(const Score& score, std::span<const int64_t> ticks) {
  check_ascending(ticks, "bar_positions");
  std::vector<BarPosition> positions;
  positions.reserve(ticks.size());
  const auto& signatures = score.time_signatures;
  auto bar_ticks_of = [&](const TimeSignature& signature) {
    const double beat_ticks = score.ticks_per_quarter * 4.0 / signature.denominator;
    return std::pair{beat_ticks, beat_ticks * signature.numerator};
  };
  // Bars before signature `current` (whole and partial ones, each counted once).
  int64_t bars_before = 0;
  size_t current = 0;  // the signature in force is current - 1; none before the sweep enters the first one
  for (int64_t tick : ticks) {
    // Enter every signature that starts at or before the tick, counting the bars of the one left behind (whole
    // bars plus a partial one, since a change starts a new bar).
    while (current < signatures.size() && signatures[current].tick <= tick) {
      if (current > 0) {
        const auto [beat_ticks, bar_ticks] = bar_ticks_of(signatures[current - 1]);
        const double length = static_cast<double>(signatures[current].tick - signatures[current - 1].tick);
        bars_before += static_cast<int64_t>(std::ceil(length / bar_ticks - 1e-9));
      }
      ++current;
    }
    BarPosition position;
    if (current > 0) {
      const TimeSignature& signature = signatures[current - 1];
      const auto [beat_ticks, bar_ticks] = bar_ticks_of(signature);
      const double length = static_cast<double>(tick - signature.tick);
      const auto whole = static_cast<int64_t>(std::floor(length / bar_ticks + 1e-9));
      position.bars = bars_before + whole;
      position.beats = std::max(0.0, (length - static_cast<double>(whole) * bar_ticks) / beat_ticks);
    }
    positions.push_back(position);
  }
  return positions;
}

}  // namespace cadenza
