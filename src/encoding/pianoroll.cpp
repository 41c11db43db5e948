#include "encoding/pianoroll.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "encoding/spec_options.h"
#include "score/operations.h"

namespace cadenza {

namespace {

constexpr int kMaxStepsPerQuarter = 480;
constexpr int kMaxTracks = 128;

void validate(const PianoRollSpec& spec) {
  auto check = [](const char* key, int value, int low, int high) {
    if (value < low || value > high)
      throw Error(std::string("piano roll: option '") + key + "' = " + std::to_string(value) + " is outside " +
                  std::to_string(low) + ".." + std::to_string(high));
  };
  check("steps_per_quarter", spec.steps_per_quarter, 1, kMaxStepsPerQuarter);
  check("lowest_pitch", spec.lowest_pitch, 0, 127);
  check("highest_pitch", spec.highest_pitch, 0, 127);
  check("num_tracks", spec.num_tracks, 1, kMaxTracks);
  if (spec.lowest_pitch > spec.highest_pitch)
    throw Error("piano roll: lowest_pitch " + std::to_string(spec.lowest_pitch) + " is above highest_pitch " +
                std::to_string(spec.highest_pitch));
}

// The pitch a note takes in the roll, or -1 when it is dropped.
int fit_pitch(int pitch, const PianoRollSpec& spec) {
  if (pitch >= spec.lowest_pitch && pitch <= spec.highest_pitch) return pitch;
  if (!spec.transpose_into_range) return -1;
  if (pitch < spec.lowest_pitch) pitch += 12 * ((spec.lowest_pitch - pitch + 11) / 12);
  if (pitch > spec.highest_pitch) pitch -= 12 * ((pitch - spec.highest_pitch + 11) / 12);
  return pitch >= spec.lowest_pitch && pitch <= spec.highest_pitch ? pitch : -1;
}

// The meter of a bar of `steps` steps: n/d with the smallest d in 4..64 giving a whole n (n <= 255, the most a
// MIDI time signature holds), or 4/4 when there is none.
TimeSignature meter_of_bar(int64_t steps, int steps_per_quarter) {
  for (int denominator = 4; denominator <= 64; denominator *= 2) {
    const int64_t scaled = steps * denominator;
    if (scaled % (4 * steps_per_quarter) != 0) continue;
    const int64_t numerator = scaled / (4 * steps_per_quarter);
    if (numerator >= 1 && numerator <= 255) return {0, static_cast<int>(numerator), denominator};
    break;
  }
  return {0, 4, 4};
}

// bars() lists every bar, so a meter with absurdly short bars (a huge denominator from a crafted file) over a
// long score would allocate without bound: refuse before listing them.
void check_bar_count(const Score& frame, int64_t end_tick) {
  constexpr double kMaxBars = 1 << 22;
  double count = 0;
  const auto& signatures = frame.time_signatures;
  for (size_t i = 0; i < signatures.size(); ++i) {
    const int64_t start = std::max<int64_t>(signatures[i].tick, 0);
    const int64_t end = i + 1 < signatures.size() ? std::min(signatures[i + 1].tick, end_tick) : end_tick;
    if (end <= start) continue;
    const double numerator = signatures[i].numerator > 0 ? signatures[i].numerator : 4;
    const double denominator = signatures[i].denominator > 0 ? signatures[i].denominator : 4;
    const double bar_ticks = std::max(1.0, numerator * 4.0 * frame.ticks_per_quarter / denominator);
    count += static_cast<double>(end - start) / bar_ticks + 1;
  }
  if (count > kMaxBars)
    throw Error("piano roll: the time signatures" + in_source(frame) + " make more than " +
                std::to_string(static_cast<int64_t>(kMaxBars)) + " bars");
}

// The bar starts of a roll that make sense: from 0 (added if missing), strictly increasing, below num_steps.
std::vector<int> usable_bar_starts(const std::vector<int>& bar_starts, int64_t num_steps) {
  std::vector<int> starts;
  for (int start : bar_starts) {
    if (start < 0 || start >= num_steps) continue;
    if (starts.empty() && start != 0) starts.push_back(0);
    if (!starts.empty() && start <= starts.back()) continue;
    starts.push_back(start);
  }
  return starts;
}

}  // namespace

nlohmann::json PianoRollSpec::to_json() const {
  return {{"name", "pianoroll"},
          {"steps_per_quarter", steps_per_quarter},
          {"lowest_pitch", lowest_pitch},
          {"highest_pitch", highest_pitch},
          {"num_tracks", num_tracks},
          {"merge_all_tracks", merge_all_tracks},
          {"transpose_into_range", transpose_into_range},
          {"include_drums", include_drums}};
}

PianoRollSpec PianoRollSpec::from_json(const nlohmann::json& json) {
  const SpecOptions options(json, "piano roll", "pianoroll",
                            {"steps_per_quarter", "lowest_pitch", "highest_pitch", "num_tracks", "merge_all_tracks",
                             "transpose_into_range", "include_drums"});
  PianoRollSpec spec;
  spec.steps_per_quarter = options.integer("steps_per_quarter", spec.steps_per_quarter, 1, kMaxStepsPerQuarter);
  spec.lowest_pitch = options.integer("lowest_pitch", spec.lowest_pitch, 0, 127);
  spec.highest_pitch = options.integer("highest_pitch", spec.highest_pitch, 0, 127);
  spec.num_tracks = options.integer("num_tracks", spec.num_tracks, 1, kMaxTracks);
  spec.merge_all_tracks = options.boolean("merge_all_tracks", spec.merge_all_tracks);
  spec.transpose_into_range = options.boolean("transpose_into_range", spec.transpose_into_range);
  spec.include_drums = options.boolean("include_drums", spec.include_drums);
  validate(spec);
  return spec;
}

PianoRollEncoding::PianoRollEncoding(PianoRollSpec spec) : spec_(spec) {
  validate(spec_);
}

PianoRoll PianoRollEncoding::encode(const Score& score) const {
  if (score.ticks_per_quarter <= 0)
    throw Error("piano roll: the score" + in_source(score) + " has ticks_per_quarter " +
                std::to_string(score.ticks_per_quarter));
  const int spq = spec_.steps_per_quarter;
  const int tpq = score.ticks_per_quarter;
  PianoRoll roll;
  roll.num_tracks = spec_.num_tracks;
  roll.num_pitches = spec_.num_pitches();

  struct Cell {
    int track;
    int pitch_index;
    int64_t start;
    int64_t end;
  };
  std::vector<Cell> runs;
  int64_t content_end = 0;
  int kept_track = 0;
  for (const auto& track : score.tracks) {
    if (track.is_drum && !spec_.include_drums) continue;
    const int roll_track = spec_.merge_all_tracks ? 0 : std::min(kept_track, spec_.num_tracks - 1);
    ++kept_track;
    for (const auto& note : track.notes) {
      const int pitch = fit_pitch(note.pitch, spec_);
      if (pitch < 0) continue;
      const int64_t start = std::max<int64_t>(nearest_grid_step(note.start_tick, spq, tpq), 0);
      const int64_t end = std::max(nearest_grid_step(note.end_tick, spq, tpq), start + 1);
      runs.push_back({roll_track, pitch - spec_.lowest_pitch, start, end});
      content_end = std::max(content_end, end);
    }
  }
  if (content_end == 0) return roll;  // nothing sounds: no steps, no bars
  auto too_big = [&](int64_t steps) {
    return Error("piano roll: the score" + in_source(score) + " needs " + std::to_string(steps) + " steps x " +
                 std::to_string(roll.num_tracks) + " tracks x " + std::to_string(roll.num_pitches) +
                 " pitches, more than the limit of " + std::to_string(kMaxCells) + " cells");
  };
  if (content_end > kMaxCells / (static_cast<int64_t>(roll.num_tracks) * roll.num_pitches)) throw too_big(content_end);

  // Bars of the sounding part only: a frame holding the meters and one note up to the last sounding step, so that
  // notes dropped above (out of range, drums) cannot stretch the bar list.
  Score frame;
  frame.ticks_per_quarter = tpq;
  frame.source = score.source;
  frame.time_signatures = score.time_signatures;
  const int64_t frame_end = (content_end * tpq + spq - 1) / spq;
  frame.tracks.push_back({"", 0, false, 0, {{60, 64, 0, frame_end}}});
  check_bar_count(frame, frame_end);
  // Tiny bars that round onto one step merge. The roll runs to the end of the bar holding the last sounding step.
  int64_t num_steps = content_end;
  std::vector<int64_t> bar_starts;
  for (const auto& bar : bars(frame)) {
    const int64_t start = nearest_grid_step(bar.start_tick, spq, tpq);
    if (start >= content_end) break;
    if (!bar_starts.empty() && start <= bar_starts.back()) continue;
    bar_starts.push_back(start);
    num_steps = std::max(content_end, nearest_grid_step(bar.end_tick, spq, tpq));
  }
  if (bar_starts.empty() || bar_starts.front() != 0) bar_starts.insert(bar_starts.begin(), 0);

  const int64_t cells = num_steps * roll.num_tracks * roll.num_pitches;
  if (num_steps > INT32_MAX || cells > kMaxCells) throw too_big(num_steps);
  roll.num_steps = static_cast<int>(num_steps);
  roll.bar_starts.assign(bar_starts.begin(), bar_starts.end());
  roll.cells.assign(static_cast<size_t>(cells), 0);
  for (const auto& run : runs)
    for (int64_t step = run.start; step < run.end; ++step)
      roll.at(run.track, static_cast<int>(step), run.pitch_index) = 1;
  return roll;
}

PianoRoll PianoRollEncoding::encode(const Score& score, int64_t end_tick) const {
  if (end_tick < 0)
    throw Error("piano roll: the end of the score" + in_source(score) + " is negative (" + std::to_string(end_tick) +
                " ticks)");
  PianoRoll padded = encode(score);
  if (padded.num_steps == 0) return padded;  // nothing sounds: no steps, no bars
  const int64_t steps = nearest_grid_step(end_tick, spec_.steps_per_quarter, score.ticks_per_quarter);
  const int64_t per_step = static_cast<int64_t>(padded.num_tracks) * padded.num_pitches;
  if (steps > INT32_MAX || steps > kMaxCells / per_step)
    throw Error("piano roll: the score" + in_source(score) + " needs " + std::to_string(steps) +
                " steps, more than the limit of " + std::to_string(kMaxCells) + " cells");
  PianoRoll roll;
  roll.num_tracks = padded.num_tracks;
  roll.num_pitches = padded.num_pitches;
  roll.num_steps = static_cast<int>(steps);
  roll.cells.assign(static_cast<size_t>(steps * per_step), 0);
  const int64_t kept = std::min<int64_t>(steps, padded.num_steps);
  for (int track = 0; track < roll.num_tracks; ++track)
    for (int64_t step = 0; step < kept; ++step)
      std::copy_n(&padded.at(track, static_cast<int>(step), 0), roll.num_pitches,
                  &roll.at(track, static_cast<int>(step), 0));
  for (int start : padded.bar_starts)
    if (start < steps) roll.bar_starts.push_back(start);
  return roll;
}

Score PianoRollEncoding::decode(const PianoRoll& roll, double qpm, int velocity) const {
  return decode(roll, qpm, velocity, {});
}

Score PianoRollEncoding::decode(const PianoRoll& roll, double qpm, int velocity,
                                const std::vector<std::string>& track_names) const {
  const int spq = spec_.steps_per_quarter;
  const int64_t ticks_per_step = (480 + spq - 1) / spq;
  if (!std::isfinite(qpm) || qpm < 1.0 || qpm > 1000.0) qpm = 120.0;
  velocity = std::clamp(velocity, 1, 127);
  Score score = make_empty_score(static_cast<int>(ticks_per_step * spq), qpm, 4, 4);

  // A shape that does not match the cells is read as far as the cells go (missing cells are off).
  const int num_tracks = std::clamp(roll.num_tracks, 0, kMaxTracks);
  const int num_pitches = std::max(roll.num_pitches, 0);
  const int64_t num_steps = std::max(roll.num_steps, 0);
  const int usable_pitches = std::clamp(128 - spec_.lowest_pitch, 0, num_pitches);
  const size_t cell_count = roll.cells.size();

  int next_channel = 0;
  std::vector<int64_t> run_start(static_cast<size_t>(usable_pitches));
  for (int t = 0; t < num_tracks; ++t) {
    Track track;
    track.name = t < static_cast<int>(track_names.size()) && !track_names[t].empty() ? track_names[t]
                                                                                     : "track" + std::to_string(t);
    track.channel = next_channel;
    next_channel = next_channel == 15 ? 0 : next_channel + 1;
    if (next_channel == 9) ++next_channel;
    std::fill(run_start.begin(), run_start.end(), -1);
    // Steps of this track that the cells hold (all of them when the shape matches).
    const int64_t held_steps =
        num_pitches == 0
            ? 0
            : std::clamp<int64_t>(static_cast<int64_t>(cell_count / num_pitches) - t * num_steps, 0, num_steps);
    const uint8_t* previous_row = nullptr;
    for (int64_t step = 0; step <= held_steps; ++step) {
      // Only rows the cells hold are addressed (so the offset stays below the cell count, no overflow).
      const uint8_t* row =
          step < held_steps ? roll.cells.data() + static_cast<size_t>((t * num_steps + step) * num_pitches) : nullptr;
      // Notes last many steps: a row equal to the previous one starts and ends nothing.
      if (row != nullptr && previous_row != nullptr && std::memcmp(row, previous_row, usable_pitches) == 0) continue;
      previous_row = row;
      for (int p = 0; p < usable_pitches; ++p) {
        const bool on = row != nullptr && row[p] != 0;
        if (on && run_start[p] < 0) run_start[p] = step;
        if (!on && run_start[p] >= 0) {
          track.notes.push_back(
              {spec_.lowest_pitch + p, velocity, run_start[p] * ticks_per_step, step * ticks_per_step});
          run_start[p] = -1;
        }
      }
    }
    score.tracks.push_back(std::move(track));
  }

  // Meters from the bar lengths: a time signature wherever the bar length changes.
  const std::vector<int> starts = usable_bar_starts(roll.bar_starts, num_steps);
  score.time_signatures.clear();
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t length = (i + 1 < starts.size() ? starts[i + 1] : num_steps) - starts[i];
    TimeSignature meter = meter_of_bar(length, spq);
    meter.tick = starts[i] * ticks_per_step;
    const auto& last = score.time_signatures;
    if (last.empty() || last.back().numerator != meter.numerator || last.back().denominator != meter.denominator)
      score.time_signatures.push_back(meter);
  }
  score.normalize();
  return score;
}

std::vector<PianoRoll> PianoRollEncoding::segment_by_bars(const PianoRoll& roll, int bars_per_segment) const {
  if (bars_per_segment < 1)
    throw Error("piano roll: bars per segment must be at least 1, got " + std::to_string(bars_per_segment));
  std::vector<PianoRoll> segments;
  const int64_t row = static_cast<int64_t>(std::max(roll.num_tracks, 0)) * std::max(roll.num_pitches, 0);
  if (row == 0 || roll.num_steps <= 0 || roll.cells.size() != static_cast<size_t>(row * roll.num_steps))
    return segments;  // nothing to cut, or a shape that does not match its cells
  const std::vector<int> starts = usable_bar_starts(roll.bar_starts, roll.num_steps);
  const size_t bars_per = static_cast<size_t>(bars_per_segment);
  for (size_t first = 0; first + bars_per <= starts.size(); first += bars_per) {
    const int begin = starts[first];
    const int end = first + bars_per < starts.size() ? starts[first + bars_per] : roll.num_steps;
    PianoRoll segment;
    segment.num_tracks = roll.num_tracks;
    segment.num_pitches = roll.num_pitches;
    segment.num_steps = end - begin;
    for (size_t b = first; b < first + bars_per; ++b) segment.bar_starts.push_back(starts[b] - begin);
    segment.cells.reserve(static_cast<size_t>(row) * segment.num_steps);
    for (int t = 0; t < roll.num_tracks; ++t) {
      const auto from = roll.cells.begin() + (static_cast<int64_t>(t) * roll.num_steps + begin) * roll.num_pitches;
      segment.cells.insert(segment.cells.end(), from,
                           from + static_cast<int64_t>(segment.num_steps) * roll.num_pitches);
    }
    segments.push_back(std::move(segment));
  }
  return segments;
}

std::vector<uint8_t> pack_bits(const PianoRoll& roll) {
  const size_t count = roll.cells.size();
  std::vector<uint8_t> bits((count + 7) / 8, 0);
  const uint8_t* cells = roll.cells.data();
  size_t i = 0;
  // Eight cells at a time: mark each non-zero byte with its low bit, then one multiplication gathers the eight
  // marks (byte k of the word -> bit k of the top byte; the partial products never collide).
  for (; std::endian::native == std::endian::little && i + 8 <= count; i += 8) {
    uint64_t word;
    std::memcpy(&word, cells + i, 8);
    constexpr uint64_t kLow7 = 0x7f7f7f7f7f7f7f7full;
    const uint64_t nonzero = ((((word & kLow7) + kLow7) | word) >> 7) & 0x0101010101010101ull;
    bits[i / 8] = static_cast<uint8_t>((nonzero * 0x0102040810204080ull) >> 56);
  }
  for (; i < count; ++i)
    if (cells[i] != 0) bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  return bits;
}

PianoRoll unpack_bits(std::span<const uint8_t> bits, int num_tracks, int num_steps, int num_pitches) {
  if (num_tracks < 0 || num_steps < 0 || num_pitches < 0)
    throw Error("piano roll: negative shape " + std::to_string(num_tracks) + "x" + std::to_string(num_steps) + "x" +
                std::to_string(num_pitches));
  const __int128 count = static_cast<__int128>(num_tracks) * num_steps * num_pitches;
  if (count > PianoRollEncoding::kMaxCells)
    throw Error("piano roll: shape " + std::to_string(num_tracks) + "x" + std::to_string(num_steps) + "x" +
                std::to_string(num_pitches) + " exceeds the limit of " + std::to_string(PianoRollEncoding::kMaxCells) +
                " cells");
  const size_t cells = static_cast<size_t>(count);
  if (bits.size() != (cells + 7) / 8)
    throw Error("piano roll: " + std::to_string(bits.size()) + " packed bytes for " + std::to_string(cells) +
                " cells (expected " + std::to_string((cells + 7) / 8) + ")");
  if (cells % 8 != 0 && (bits.back() >> (cells % 8)) != 0)
    throw Error("piano roll: packed cells have bits set past the last cell (corrupt data)");
  PianoRoll roll;
  roll.num_tracks = num_tracks;
  roll.num_steps = num_steps;
  roll.num_pitches = num_pitches;
  roll.cells.resize(cells);
  for (size_t i = 0; i < cells; ++i) roll.cells[i] = (bits[i / 8] >> (i % 8)) & 1u;
  return roll;
}

}  // namespace cadenza
