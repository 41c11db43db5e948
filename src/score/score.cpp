#include "score/score.h"

#include <algorithm>
#include <sstream>

namespace cadenza {

size_t Score::note_count() const {
  size_t count = 0;
  for (const auto& track : tracks) count += track.notes.size();
  return count;
}

int64_t Score::end_tick() const {
  int64_t end = 0;
  for (const auto& track : tracks)
    for (const auto& note : track.notes) end = std::max(end, note.end_tick);
  return end;
}

double Score::end_seconds() const {
  return tick_to_seconds(end_tick());
}

double Score::tick_to_seconds(int64_t tick) const {
  // Walk the tempo map: seconds accumulate segment by segment. Tempo maps are short (usually one entry), so
  // a linear walk is cheaper than building an index; update_seconds() handles the many-notes case.
  double seconds = 0.0;
  int64_t segment_start = 0;
  int32_t tempo = 500000;
  for (const auto& change : tempos) {
    if (change.tick >= tick) break;
    seconds += static_cast<double>(change.tick - segment_start) * tempo / (1e6 * ticks_per_quarter);
    segment_start = change.tick;
    tempo = change.microseconds_per_quarter;
  }
  seconds += static_cast<double>(tick - segment_start) * tempo / (1e6 * ticks_per_quarter);
  return seconds;
}

void Score::update_seconds() {
  // Precompute the seconds at each tempo change once, then convert each note by binary search.
  std::vector<int64_t> change_ticks;
  std::vector<double> change_seconds;
  std::vector<int32_t> change_tempo;
  change_ticks.push_back(0);
  change_seconds.push_back(0.0);
  change_tempo.push_back(500000);
  for (const auto& change : tempos) {
    if (change.tick <= change_ticks.back()) {
      if (change.tick == change_ticks.back()) change_tempo.back() = change.microseconds_per_quarter;
      continue;
    }
    double seconds = change_seconds.back() + static_cast<double>(change.tick - change_ticks.back()) *
                                                 change_tempo.back() / (1e6 * ticks_per_quarter);
    change_ticks.push_back(change.tick);
    change_seconds.push_back(seconds);
    change_tempo.push_back(change.microseconds_per_quarter);
  }
  auto to_seconds = [&](int64_t tick) {
    size_t i = std::upper_bound(change_ticks.begin(), change_ticks.end(), tick) - change_ticks.begin();
    i = i == 0 ? 0 : i - 1;
    return change_seconds[i] +
           static_cast<double>(tick - change_ticks[i]) * change_tempo[i] / (1e6 * ticks_per_quarter);
  };
  for (auto& track : tracks)
    for (auto& note : track.notes) {
      note.start_sec = to_seconds(note.start_tick);
      note.end_sec = to_seconds(note.end_tick);
    }
}

namespace {

template <typename Event>
void sort_unique_by_tick(std::vector<Event>& events) {
  // Stable: when several events share a tick, the last one written wins.
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.tick < b.tick; });
  std::vector<Event> kept;
  for (const auto& event : events) {
    if (!kept.empty() && kept.back().tick == event.tick)
      kept.back() = event;
    else
      kept.push_back(event);
  }
  events.swap(kept);
}

}  // namespace

void Score::normalize() {
  for (auto& track : tracks) {
    std::erase_if(track.notes, [](const Note& note) { return note.end_tick < note.start_tick; });
    for (auto& note : track.notes) {
      if (note.end_tick == note.start_tick) ++note.end_tick;  // a zero-length note (a drum hit): one tick
      note.pitch = std::clamp(note.pitch, 0, 127);
      note.velocity = std::clamp(note.velocity, 1, 127);
    }
    std::sort(track.notes.begin(), track.notes.end(), [](const Note& a, const Note& b) {
      if (a.start_tick != b.start_tick) return a.start_tick < b.start_tick;
      if (a.pitch != b.pitch) return a.pitch < b.pitch;
      if (a.end_tick != b.end_tick) return a.end_tick < b.end_tick;
      return a.velocity < b.velocity;
    });
  }
  sort_unique_by_tick(tempos);
  sort_unique_by_tick(time_signatures);
  sort_unique_by_tick(key_signatures);
  if (tempos.empty() || tempos.front().tick != 0) tempos.insert(tempos.begin(), TempoChange{0, 500000});
  if (time_signatures.empty() || time_signatures.front().tick != 0)
    time_signatures.insert(time_signatures.begin(), TimeSignature{0, 4, 4});
  update_seconds();
}

Score make_empty_score(int ticks_per_quarter, double qpm, int numerator, int denominator) {
  Score score;
  score.ticks_per_quarter = ticks_per_quarter;
  score.tempos.push_back({0, static_cast<int32_t>(60'000'000.0 / qpm + 0.5)});
  score.time_signatures.push_back({0, numerator, denominator});
  return score;
}

std::string describe_difference(const Score& a, const Score& b) {
  std::ostringstream out;
  if (a.ticks_per_quarter != b.ticks_per_quarter)
    out << "ticks_per_quarter " << a.ticks_per_quarter << " vs " << b.ticks_per_quarter;
  else if (a.tempos != b.tempos)
    out << "tempo maps differ (" << a.tempos.size() << " vs " << b.tempos.size() << " changes)";
  else if (a.time_signatures != b.time_signatures)
    out << "time signatures differ (" << a.time_signatures.size() << " vs " << b.time_signatures.size() << ")";
  else if (a.key_signatures != b.key_signatures)
    out << "key signatures differ (" << a.key_signatures.size() << " vs " << b.key_signatures.size() << ")";
  else if (a.tracks.size() != b.tracks.size())
    out << "track count " << a.tracks.size() << " vs " << b.tracks.size();
  else {
    for (size_t t = 0; t < a.tracks.size(); ++t) {
      const auto& x = a.tracks[t];
      const auto& y = b.tracks[t];
      if (x.name != y.name || x.program != y.program || x.is_drum != y.is_drum || x.channel != y.channel) {
        out << "track " << t << " header differs ('" << x.name << "' prog " << x.program << " ch " << x.channel
            << " vs '" << y.name << "' prog " << y.program << " ch " << y.channel << ")";
        break;
      }
      if (x.notes.size() != y.notes.size()) {
        out << "track " << t << " note count " << x.notes.size() << " vs " << y.notes.size();
        break;
      }
      for (size_t i = 0; i < x.notes.size(); ++i) {
        if (!(x.notes[i] == y.notes[i])) {
          const auto& m = x.notes[i];
          const auto& n = y.notes[i];
          out << "track " << t << " note " << i << ": pitch " << m.pitch << " vel " << m.velocity << " ["
              << m.start_tick << "," << m.end_tick << ") vs pitch " << n.pitch << " vel " << n.velocity << " ["
              << n.start_tick << "," << n.end_tick << ")";
          return out.str();
        }
      }
    }
  }
  return out.str();
}

}  // namespace cadenza
