#include "codec/melody_events.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace cadenza {

std::vector<models::MelodyEvent> melody_events(const Score& score) {
  std::vector<Note> notes;
  for (const Track& track : score.tracks) notes.insert(notes.end(), track.notes.begin(), track.notes.end());
  std::stable_sort(notes.begin(), notes.end(),
                   [](const Note& a, const Note& b) { return a.start_tick < b.start_tick; });
  std::vector<models::MelodyEvent> events;
  const double ticks = static_cast<double>(score.ticks_per_quarter);
  int64_t previous_start = 0;
  for (const Note& note : notes) {
    events.push_back({note.pitch, static_cast<double>(note.end_tick - note.start_tick) / ticks,
                      static_cast<double>(note.start_tick - previous_start) / ticks});
    previous_start = note.start_tick;
  }
  return events;
}

Score score_of_events(const std::vector<models::MelodyEvent>& events, double max_quarters, int steps_per_quarter) {
  if (steps_per_quarter < 0)
    throw Error("score_of_events: steps_per_quarter must be >= 0, got " + std::to_string(steps_per_quarter));
  Score score;
  score.ticks_per_quarter = 480;
  Track track;
  track.name = "melody";
  const double grid = steps_per_quarter;
  auto on_grid = [grid](double quarters) { return std::round(quarters * grid) / grid; };
  double onset = 0;  // the events' own (continuous) onset
  for (const auto& event : events) {
    onset += event.time_shift;
    const double start = steps_per_quarter > 0 ? on_grid(onset) : onset;
    if (max_quarters > 0 && start >= max_quarters) break;
    double end = steps_per_quarter > 0
                     ? std::max(start + 1.0 / grid, on_grid(onset + event.duration))
                     : onset + std::max(event.duration, 1.0 / 16);  // a zero-length event still sounds a 64th
    if (max_quarters > 0) end = std::min(end, max_quarters);
    Note note;
    note.pitch = event.pitch;
    note.velocity = 90;
    note.start_tick = std::llround(start * score.ticks_per_quarter);
    note.end_tick = std::max(note.start_tick + 1, static_cast<int64_t>(std::llround(end * score.ticks_per_quarter)));
    track.notes.push_back(note);
  }
  score.tracks.push_back(track);
  score.time_signatures.push_back({});
  score.tempos.push_back({});
  score.normalize();
  return score;
}

}  // namespace cadenza
