#include "score/operations.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "common/error.h"

namespace cadenza {

namespace {

// Resolution, source and the header of every track, without notes or meta events.
Score copy_track_headers(const Score& score) {
  Score result;
  result.ticks_per_quarter = score.ticks_per_quarter;
  result.source = score.source;
  result.tracks.reserve(score.tracks.size());
  for (const auto& track : score.tracks)
    result.tracks.push_back({track.name, track.program, track.is_drum, track.channel, {}});
  return result;
}

// A copy of everything but the notes.
Score copy_without_notes(const Score& score) {
  Score result = copy_track_headers(score);
  result.tempos = score.tempos;
  result.time_signatures = score.time_signatures;
  result.key_signatures = score.key_signatures;
  return result;
}

Track header_of(const Track& track) {
  return {track.name, track.program, track.is_drum, track.channel, {}};
}

// floor(numerator / denominator) for denominator > 0, in 128-bit so that tick * steps cannot overflow.
__int128 floor_div(__int128 numerator, __int128 denominator) {
  __int128 quotient = numerator / denominator;
  if ((numerator % denominator != 0) && (numerator < 0)) --quotient;
  return quotient;
}

// round(a / b) with halves rounded up, b > 0, exact.
int64_t round_div(__int128 a, __int128 b) {
  return static_cast<int64_t>(floor_div(2 * a + b, 2 * b));
}

// Maps ticks to the nearest point of a grid of steps_per_quarter steps per quarter, staying in ticks. The grid
// step (ticks_per_quarter / steps_per_quarter) may be fractional, so the grid point k sits at
// round(k * tpq / spq): computing the step index first and converting back keeps the arithmetic exact and makes
// snapping idempotent (a snapped tick is within half a tick of its grid point, which is less than half a step
// whenever a step is longer than a tick).
class Grid {
 public:
  Grid(int ticks_per_quarter, int steps_per_quarter) : tpq_(ticks_per_quarter), spq_(steps_per_quarter) {}
  int64_t step_of(int64_t tick) const { return round_div(static_cast<__int128>(tick) * spq_, tpq_); }
  int64_t tick_of(int64_t step) const { return round_div(static_cast<__int128>(step) * tpq_, spq_); }
  int64_t snap(int64_t tick) const { return tick_of(step_of(tick)); }

 private:
  int64_t tpq_;
  int64_t spq_;
};

template <typename Event>
void snap_events(std::vector<Event>& events, const Grid& grid) {
  for (auto& event : events) event.tick = grid.snap(event.tick);
}

void sort_notes(std::vector<Note>& notes) {
  std::sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) {
    if (a.start_tick != b.start_tick) return a.start_tick < b.start_tick;
    if (a.pitch != b.pitch) return a.pitch < b.pitch;
    if (a.end_tick != b.end_tick) return a.end_tick < b.end_tick;
    return a.velocity < b.velocity;
  });
}

// Removes notes identical in pitch, velocity, start and end (notes must be sorted so that such notes are adjacent).
void drop_identical_notes(std::vector<Note>& notes) {
  notes.erase(std::unique(notes.begin(), notes.end()), notes.end());
}

void check_track_indices(const Score& score, const std::vector<int>& track_indices, const char* operation) {
  for (int index : track_indices) {
    if (index < 0 || static_cast<size_t>(index) >= score.tracks.size())
      throw Error(std::string(operation) + ": track index " + std::to_string(index) + " out of range (the score" +
                  (score.source.empty() ? "" : " " + score.source) + " has " + std::to_string(score.tracks.size()) +
                  " tracks)");
  }
}

// Meta events of one kind for the window [start, end): the one in force at start moved to tick 0, then the ones
// strictly inside the window shifted by -start. Events must be sorted by tick.
template <typename Event>
std::vector<Event> clip_events(const std::vector<Event>& events, int64_t start, int64_t end) {
  std::vector<Event> result;
  auto first_after = std::upper_bound(events.begin(), events.end(), start,
                                      [](int64_t tick, const Event& event) { return tick < event.tick; });
  if (first_after != events.begin()) {
    Event in_force = *std::prev(first_after);
    in_force.tick = 0;
    result.push_back(in_force);
  }
  for (auto it = first_after; it != events.end() && it->tick < end; ++it) {
    Event shifted = *it;
    shifted.tick -= start;
    result.push_back(shifted);
  }
  return result;
}

// Cuts a sorted score into consecutive windows without rescanning every note per window: each track keeps a
// cursor into its notes (sorted by start) and the notes that started earlier and still sound, so the total work
// is proportional to the notes plus the pieces of notes emitted. Windows must be given in increasing order and
// must not overlap.
class WindowClipper {
 public:
  explicit WindowClipper(const Score& score)
      : score_(is_sorted_for_sweep(score) ? score : normalized_copy(score)),
        cursors_(score.tracks.size(), 0),
        active_(score.tracks.size()) {}

  Score clip(int64_t start, int64_t end) {
    Score result = copy_track_headers(score_);  // not the whole meta lists: each window takes its own slice
    result.tempos = clip_events(score_.tempos, start, end);
    result.time_signatures = clip_events(score_.time_signatures, start, end);
    result.key_signatures = clip_events(score_.key_signatures, start, end);
    for (size_t t = 0; t < score_.tracks.size(); ++t) {
      const auto& notes = score_.tracks[t].notes;
      auto& active = active_[t];
      std::erase_if(active, [start](const Note* note) { return note->end_tick <= start; });
      size_t& cursor = cursors_[t];
      for (; cursor < notes.size() && notes[cursor].start_tick < end; ++cursor)
        if (notes[cursor].end_tick > start) active.push_back(&notes[cursor]);
      auto& out = result.tracks[t].notes;
      out.reserve(active.size());
      for (const Note* note : active) {
        Note piece = *note;
        piece.start_tick = std::max(note->start_tick, start) - start;
        piece.end_tick = std::min(note->end_tick, end) - start;
        out.push_back(piece);
      }
    }
    result.normalize();
    return result;
  }

 private:
  // The sweep needs notes sorted by start and meta events by tick; a score that breaks the invariants of
  // score.h is swept through a normalized copy rather than clipped wrongly.
  static bool is_sorted_for_sweep(const Score& score) {
    auto by_tick = [](const auto& a, const auto& b) { return a.tick < b.tick; };
    for (const auto& track : score.tracks)
      if (!std::is_sorted(track.notes.begin(), track.notes.end(),
                          [](const Note& a, const Note& b) { return a.start_tick < b.start_tick; }))
        return false;
    return std::is_sorted(score.tempos.begin(), score.tempos.end(), by_tick) &&
           std::is_sorted(score.time_signatures.begin(), score.time_signatures.end(), by_tick) &&
           std::is_sorted(score.key_signatures.begin(), score.key_signatures.end(), by_tick);
  }
  const Score& normalized_copy(const Score& score) {
    owned_ = score;
    owned_.normalize();
    return owned_;
  }

  Score owned_;  // declared before score_: initialized first, so score_ may refer to it
  const Score& score_;
  std::vector<size_t> cursors_;
  std::vector<std::vector<const Note*>> active_;
};

// Skyline over notes sorted by start tick: at each onset the highest note starting there (the longest on a tie)
// competes with the melody note still sounding; a strictly higher onset cuts the sounding note, anything else is
// dropped. Dropping (rather than keeping the tail of a lower note after the higher one ends) keeps every melody
// note on a real onset: a tail would be a note the performer never started.
std::vector<Note> skyline(const std::vector<Note>& sorted_notes) {
  std::vector<Note> melody;
  size_t i = 0;
  while (i < sorted_notes.size()) {
    const int64_t onset = sorted_notes[i].start_tick;
    const Note* best = &sorted_notes[i];
    for (; i < sorted_notes.size() && sorted_notes[i].start_tick == onset; ++i) {
      const Note& candidate = sorted_notes[i];
      if (candidate.pitch > best->pitch || (candidate.pitch == best->pitch && candidate.end_tick > best->end_tick))
        best = &candidate;
    }
    if (!melody.empty() && melody.back().end_tick > onset) {
      if (best->pitch <= melody.back().pitch) continue;  // under (or doubling) the sounding note: dropped
      melody.back().end_tick = onset;                    // a higher note starts over it: cut
      if (melody.back().end_tick <= melody.back().start_tick) melody.pop_back();
    }
    melody.push_back(*best);
  }
  return melody;
}

}  // namespace

int64_t nearest_grid_step(int64_t tick, int steps_per_quarter, int ticks_per_quarter) {
  constexpr __int128 kLimit = int64_t{1} << 60;
  const __int128 a = static_cast<__int128>(tick) * steps_per_quarter;
  const __int128 b = ticks_per_quarter;
  return static_cast<int64_t>(std::clamp(floor_div(2 * a + b, 2 * b), -kLimit, kLimit));
}

Score quantize(const Score& score, int steps_per_quarter) {
  if (steps_per_quarter <= 0)
    throw Error("quantize: steps per quarter must be positive, got " + std::to_string(steps_per_quarter));
  if (score.ticks_per_quarter <= 0)
    throw Error("quantize: ticks per quarter must be positive, got " + std::to_string(score.ticks_per_quarter));
  const Grid grid(score.ticks_per_quarter, steps_per_quarter);
  Score result = score;
  for (auto& track : result.tracks) {
    for (auto& note : track.notes) {
      const int64_t start_step = grid.step_of(note.start_tick);
      const int64_t end_step = std::max(grid.step_of(note.end_tick), start_step + 1);  // collapsed: keep one step
      note.start_tick = grid.tick_of(start_step);
      // With more steps than ticks per quarter a step can round to zero ticks; a note still keeps one tick.
      note.end_tick = std::max(grid.tick_of(end_step), note.start_tick + 1);
    }
  }
  snap_events(result.tempos, grid);
  snap_events(result.time_signatures, grid);
  snap_events(result.key_signatures, grid);
  // Snapping is monotonic, so meta events that land on the same tick keep their order and normalize() keeps
  // the last one, the one in force after that grid point.
  result.normalize();
  for (auto& track : result.tracks) drop_identical_notes(track.notes);
  return result;
}

Score transpose(const Score& score, int semitones) {
  Score result = score;
  for (auto& track : result.tracks) {
    if (track.is_drum) continue;
    for (auto& note : track.notes) {
      const int shifted = note.pitch + semitones;
      if (shifted < 0 || shifted > 127)
        throw Error("transpose by " + std::to_string(semitones) + ": pitch " + std::to_string(note.pitch) +
                    " at tick " + std::to_string(note.start_tick) + " in track '" + track.name + "'" +
                    (score.source.empty() ? "" : " of " + score.source) + " would become " + std::to_string(shifted) +
                    ", outside 0..127");
      note.pitch = shifted;
    }
  }
  result.normalize();
  return result;
}

std::optional<TransposeRange> transpose_range(const Score& score, int low, int high) {
  low = std::max(low, 0);
  high = std::min(high, 127);
  if (low > high) return std::nullopt;
  int lowest_pitch = std::numeric_limits<int>::max();
  int highest_pitch = std::numeric_limits<int>::min();
  for (const auto& track : score.tracks) {
    if (track.is_drum) continue;
    for (const auto& note : track.notes) {
      lowest_pitch = std::min(lowest_pitch, note.pitch);
      highest_pitch = std::max(highest_pitch, note.pitch);
    }
  }
  // No pitched notes: every shift is harmless but none means anything, so only the identity is offered.
  if (lowest_pitch > highest_pitch) return TransposeRange{0, 0};
  TransposeRange range{low - lowest_pitch, high - highest_pitch};
  if (range.lowest > range.highest) return std::nullopt;
  return range;
}

Score clip(const Score& score, int64_t start_tick, int64_t end_tick) {
  if (start_tick < 0 || end_tick < start_tick)
    throw Error("clip: invalid window [" + std::to_string(start_tick) + ", " + std::to_string(end_tick) + ")");
  return WindowClipper(score).clip(start_tick, end_tick);
}

std::vector<Bar> bars(const Score& score) {
  std::vector<Bar> result;
  const int64_t end = score.end_tick();
  if (end <= 0) return result;
  std::vector<TimeSignature> signatures = score.time_signatures;
  if (signatures.empty() || signatures.front().tick > 0) signatures.insert(signatures.begin(), TimeSignature{0, 4, 4});
  const int64_t tpq = score.ticks_per_quarter > 0 ? score.ticks_per_quarter : 480;
  for (size_t s = 0; s < signatures.size(); ++s) {
    const auto& signature = signatures[s];
    if (signature.tick >= end) break;
    const int64_t region_end = s + 1 < signatures.size() ? signatures[s + 1].tick : std::numeric_limits<int64_t>::max();
    if (region_end <= signature.tick) continue;  // unsorted or duplicate entry: the later one governs
    const int numerator = signature.numerator > 0 ? signature.numerator : 4;
    const int denominator = signature.denominator > 0 ? signature.denominator : 4;
    // Bar k of this region starts at tick + floor(k * bar_length) with the exact (possibly fractional) bar
    // length numerator * 4 * tpq / denominator, so fractional lengths do not drift.
    const __int128 length_numerator = static_cast<__int128>(numerator) * 4 * tpq;
    for (int64_t k = 0;; ++k) {
      const int64_t bar_start = signature.tick + static_cast<int64_t>(floor_div(length_numerator * k, denominator));
      if (bar_start >= end || bar_start >= region_end) break;
      int64_t bar_end = signature.tick + static_cast<int64_t>(floor_div(length_numerator * (k + 1), denominator));
      bar_end = std::max(bar_end, bar_start + 1);
      bar_end = std::min(bar_end, region_end);  // a change mid-bar ends this bar early and starts a new one
      result.push_back({bar_start, bar_end, numerator, denominator});
    }
  }
  return result;
}

std::vector<Score> split_into_bars(const Score& score) {
  std::vector<Score> result;
  const auto bar_list = bars(score);
  result.reserve(bar_list.size());
  WindowClipper clipper(score);
  for (const auto& bar : bar_list) result.push_back(clipper.clip(bar.start_tick, bar.end_tick));
  return result;
}

Score merge_tracks(const Score& score, const std::vector<int>& track_indices) {
  std::vector<int> indices = track_indices;
  if (indices.empty())
    for (size_t t = 0; t < score.tracks.size(); ++t) indices.push_back(static_cast<int>(t));
  check_track_indices(score, indices, "merge_tracks");
  std::vector<bool> merged(score.tracks.size(), false);
  for (int index : indices) {
    if (merged[index]) throw Error("merge_tracks: track index " + std::to_string(index) + " listed twice");
    merged[index] = true;
  }
  Score result = copy_without_notes(score);
  result.tracks.clear();
  if (indices.empty()) {
    result.normalize();
    return result;
  }
  Track combined = header_of(score.tracks[indices.front()]);
  for (int index : indices) {
    const auto& notes = score.tracks[index].notes;
    combined.notes.insert(combined.notes.end(), notes.begin(), notes.end());
  }
  sort_notes(combined.notes);
  drop_identical_notes(combined.notes);  // unison doublings would become overlapping identical notes
  // The merged track takes the place of the first listed one; unlisted tracks stay, in order.
  for (size_t t = 0; t < score.tracks.size(); ++t) {
    if (static_cast<int>(t) == indices.front())
      result.tracks.push_back(std::move(combined));
    else if (!merged[t])
      result.tracks.push_back(score.tracks[t]);
  }
  result.normalize();
  return result;
}

Score select_tracks(const Score& score, const std::vector<int>& track_indices) {
  check_track_indices(score, track_indices, "select_tracks");
  Score result = copy_without_notes(score);
  result.tracks.clear();
  for (int index : track_indices) result.tracks.push_back(score.tracks[index]);
  result.normalize();
  return result;
}

Score extract_melody(const Score& score, const std::string& track_name) {
  Score result = copy_without_notes(score);
  result.tracks.clear();
  std::vector<Note> candidates;
  Track melody;
  if (!track_name.empty()) {
    auto found = std::find_if(score.tracks.begin(), score.tracks.end(),
                              [&](const Track& track) { return track.name == track_name; });
    if (found == score.tracks.end()) {
      std::string names;
      for (const auto& track : score.tracks) names += (names.empty() ? "'" : ", '") + track.name + "'";
      throw Error("extract_melody: no track named '" + track_name + "'" +
                  (score.source.empty() ? "" : " in " + score.source) +
                  " (tracks: " + (names.empty() ? "none" : names) + ")");
    }
    melody = header_of(*found);
    candidates = found->notes;
  } else {
    melody.name = "melody";
    bool have_header = false;
    for (const auto& track : score.tracks) {
      if (track.is_drum) continue;
      if (!have_header) {
        melody.program = track.program;
        melody.channel = track.channel;
        have_header = true;
      }
      candidates.insert(candidates.end(), track.notes.begin(), track.notes.end());
    }
  }
  sort_notes(candidates);
  melody.notes = skyline(candidates);
  result.tracks.push_back(std::move(melody));
  result.normalize();
  return result;
}

void set_tempo(Score& score, double qpm) {
  if (!(qpm > 0) || !std::isfinite(qpm)) throw Error("set_tempo: qpm must be positive, got " + std::to_string(qpm));
  score.tempos.clear();
  TempoChange tempo;
  tempo.tick = 0;
  tempo.microseconds_per_quarter = static_cast<int32_t>(std::lround(60'000'000.0 / qpm));
  score.tempos.push_back(tempo);
  score.update_seconds();
}

int64_t steps_per_bar(int numerator, int denominator, int steps_per_quarter) {
  if (numerator <= 0 || denominator <= 0 || steps_per_quarter <= 0)
    throw Error("steps_per_bar: meter " + std::to_string(numerator) + "/" + std::to_string(denominator) + " at " +
                std::to_string(steps_per_quarter) + " steps per quarter is not a valid grid");
  return std::max<int64_t>(1, std::llround(quarters_per_bar(numerator, denominator) * steps_per_quarter));
}

double quarters_per_bar(int numerator, int denominator) {
  return 4.0 * numerator / denominator;
}

TimeSignature meter_at(const Score& score, int64_t tick) {
  TimeSignature meter;  // 4/4
  for (const auto& signature : score.time_signatures) {
    if (signature.tick > tick) break;
    meter = signature;
  }
  return meter;
}

int64_t tick_after_bars(const Score& score, int64_t from_tick, double bars) {
  const TimeSignature meter = meter_at(score, from_tick);
  return from_tick +
         std::llround(bars * quarters_per_bar(meter.numerator, meter.denominator) * score.ticks_per_quarter);
}

}  // namespace cadenza
