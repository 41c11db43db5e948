#include "eval/musegan_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>

#include "common/error.h"

namespace cadenza::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(int64_t numerator, int64_t denominator) {
  return denominator > 0 ? static_cast<double>(numerator) / static_cast<double>(denominator) : kNaN;
}

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nullptr;
}

void check_options(const MuseganOptions& options, int num_pitches) {
  if (options.lowest_pitch < 0 || options.lowest_pitch + num_pitches > 128)
    throw Error("musegan metrics: pitches " + std::to_string(options.lowest_pitch) + ".." +
                std::to_string(options.lowest_pitch + num_pitches - 1) + " are not all MIDI pitches (lowest_pitch " +
                std::to_string(options.lowest_pitch) + ", " + std::to_string(num_pitches) + " pitches per roll)");
  if (options.min_qualified_steps < 1)
    throw Error("musegan metrics: min_qualified_steps " + std::to_string(options.min_qualified_steps) + " is below 1");
  if (options.polyphony_threshold < 0)
    throw Error("musegan metrics: polyphony_threshold " + std::to_string(options.polyphony_threshold) + " is negative");
  if (options.tonal_window_steps < 0)
    throw Error("musegan metrics: tonal_window_steps " + std::to_string(options.tonal_window_steps) + " is negative");
}

void check_roll(const PianoRoll& roll, size_t index, const PianoRoll& first) {
  const std::string name = "piano roll " + std::to_string(index);
  if (roll.num_tracks < 0 || roll.num_steps < 0 || roll.num_pitches < 0) throw Error(name + ": negative shape");
  if (roll.num_tracks != first.num_tracks || roll.num_pitches != first.num_pitches)
    throw Error(name + ": " + std::to_string(roll.num_tracks) + " tracks x " + std::to_string(roll.num_pitches) +
                " pitches, but roll 0 has " + std::to_string(first.num_tracks) + " x " +
                std::to_string(first.num_pitches));
  const auto expected = static_cast<uint64_t>(roll.num_tracks) * static_cast<uint64_t>(roll.num_steps) *
                        static_cast<uint64_t>(roll.num_pitches);
  if (roll.cells.size() != expected)
    throw Error(name + ": " + std::to_string(roll.cells.size()) + " cells, its shape says " + std::to_string(expected));
  if (roll.num_steps > 0 && roll.bar_starts.empty()) throw Error(name + ": has steps but no bar_starts");
  for (size_t i = 0; i < roll.bar_starts.size(); ++i) {
    const int start = roll.bar_starts[i];
    const bool ok = (i == 0 ? start == 0 : start > roll.bar_starts[i - 1]) && start < roll.num_steps;
    if (!ok)
      throw Error(name + ": bar_starts[" + std::to_string(i) + "] = " + std::to_string(start) +
                  " (bars must start at 0 and rise strictly below num_steps " + std::to_string(roll.num_steps) + ")");
  }
}

// Duration-weighted chroma of one track over steps [from, to).
std::array<double, 12> chroma(const PianoRoll& roll, int track, int from, int to, int lowest_pitch) {
  std::array<double, 12> result{};
  for (int step = from; step < to; ++step)
    for (int pitch = 0; pitch < roll.num_pitches; ++pitch)
      if (roll.at(track, step, pitch)) result[(lowest_pitch + pitch) % 12] += 1.0;
  return result;
}

bool silent(const std::array<double, 12>& chroma_vector) {
  for (double value : chroma_vector)
    if (value > 0) return false;
  return true;
}

}  // namespace

std::array<double, 6> tonal_centroid(const std::array<double, 12>& chroma_vector) {
  constexpr double kPi = std::numbers::pi;
  // Radii of Harte et al.: fifths and minor thirds 1, major thirds 0.5.
  constexpr double kFifths = 1.0, kMinorThirds = 1.0, kMajorThirds = 0.5;
  std::array<double, 6> centroid{};
  double total = 0.0;
  for (int l = 0; l < 12; ++l) {
    const double weight = chroma_vector[l];
    if (weight == 0.0) continue;
    total += weight;
    centroid[0] += weight * kFifths * std::sin(l * 7.0 * kPi / 6.0);
    centroid[1] += weight * kFifths * std::cos(l * 7.0 * kPi / 6.0);
    centroid[2] += weight * kMinorThirds * std::sin(l * 3.0 * kPi / 2.0);
    centroid[3] += weight * kMinorThirds * std::cos(l * 3.0 * kPi / 2.0);
    centroid[4] += weight * kMajorThirds * std::sin(l * 2.0 * kPi / 3.0);
    centroid[5] += weight * kMajorThirds * std::cos(l * 2.0 * kPi / 3.0);
  }
  if (total > 0)
    for (double& value : centroid) value /= total;
  return centroid;
}

double tonal_distance(const std::array<double, 12>& chroma_a, const std::array<double, 12>& chroma_b) {
  if (silent(chroma_a) || silent(chroma_b)) return kNaN;
  const auto a = tonal_centroid(chroma_a);
  const auto b = tonal_centroid(chroma_b);
  double sum = 0.0;
  for (int i = 0; i < 6; ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(sum);
}

MuseganMetrics musegan_metrics(const std::vector<PianoRoll>& rolls, const MuseganOptions& options) {
  MuseganMetrics result;
  result.rolls = static_cast<int>(rolls.size());
  if (rolls.empty()) return result;
  for (size_t i = 0; i < rolls.size(); ++i) check_roll(rolls[i], i, rolls.front());
  const int num_tracks = rolls.front().num_tracks;
  const int num_pitches = rolls.front().num_pitches;
  check_options(options, num_pitches);
  result.num_tracks = num_tracks;
  result.tracks.resize(num_tracks);
  std::vector<double> used_class_sums(num_tracks, 0.0);
  for (int a = 0; a < num_tracks; ++a)
    for (int b = a + 1; b < num_tracks; ++b) result.track_pairs.push_back({a, b, 0.0, 0});
  std::vector<double> distance_sums(result.track_pairs.size(), 0.0);

  for (const PianoRoll& roll : rolls) {
    const size_t bar_count = roll.bar_starts.size();
    auto bar_end = [&](size_t bar) { return bar + 1 < bar_count ? roll.bar_starts[bar + 1] : roll.num_steps; };
    for (int track = 0; track < num_tracks; ++track) {
      MuseganTrackMetrics& metrics = result.tracks[track];
      // EB and UPC, bar by bar.
      for (size_t bar = 0; bar < bar_count; ++bar) {
        const auto classes = chroma(roll, track, roll.bar_starts[bar], bar_end(bar), options.lowest_pitch);
        ++metrics.bars;
        if (silent(classes)) {
          ++metrics.empty_bars;
          continue;
        }
        for (double value : classes)
          if (value > 0) used_class_sums[track] += 1.0;
      }
      // PP, step by step.
      for (int step = 0; step < roll.num_steps; ++step) {
        int on = 0;
        for (int pitch = 0; pitch < num_pitches; ++pitch) on += roll.at(track, step, pitch) ? 1 : 0;
        ++metrics.steps;
        if (on > options.polyphony_threshold) ++metrics.polyphonic_steps;
      }
      // QN, row by row: a note is a maximal run of on cells.
      for (int pitch = 0; pitch < num_pitches; ++pitch) {
        int run = 0;
        for (int step = 0; step <= roll.num_steps; ++step) {
          if (step < roll.num_steps && roll.at(track, step, pitch)) {
            ++run;
            continue;
          }
          if (run > 0) {
            ++metrics.notes;
            if (run >= options.min_qualified_steps) ++metrics.qualified_notes;
          }
          run = 0;
        }
      }
    }
    // TD, window by window: windows never cross a bar line.
    for (size_t bar = 0; bar < bar_count; ++bar) {
      const int end = bar_end(bar);
      const int width = options.tonal_window_steps > 0 ? options.tonal_window_steps : end - roll.bar_starts[bar];
      for (int from = roll.bar_starts[bar]; from < end; from += width) {
        const int to = std::min(end, from + width);
        std::vector<std::array<double, 12>> chromas(num_tracks);
        for (int track = 0; track < num_tracks; ++track)
          chromas[track] = chroma(roll, track, from, to, options.lowest_pitch);
        for (size_t p = 0; p < result.track_pairs.size(); ++p) {
          const double distance =
              tonal_distance(chromas[result.track_pairs[p].track_a], chromas[result.track_pairs[p].track_b]);
          if (std::isnan(distance)) continue;
          distance_sums[p] += distance;
          ++result.track_pairs[p].windows;
        }
      }
    }
  }

  for (int track = 0; track < num_tracks; ++track) {
    MuseganTrackMetrics& metrics = result.tracks[track];
    metrics.empty_bar_rate = ratio(metrics.empty_bars, metrics.bars);
    const int64_t sounding_bars = metrics.bars - metrics.empty_bars;
    metrics.used_pitch_classes = sounding_bars > 0 ? used_class_sums[track] / static_cast<double>(sounding_bars) : kNaN;
    metrics.qualified_note_rate = ratio(metrics.qualified_notes, metrics.notes);
    metrics.polyphonicity = ratio(metrics.polyphonic_steps, metrics.steps);
  }
  for (size_t p = 0; p < result.track_pairs.size(); ++p) {
    auto& pair = result.track_pairs[p];
    pair.tonal_distance = pair.windows > 0 ? distance_sums[p] / static_cast<double>(pair.windows) : kNaN;
  }
  return result;
}

MuseganMetrics musegan_metrics(const PianoRoll& roll, const MuseganOptions& options) {
  return musegan_metrics(std::vector<PianoRoll>{roll}, options);
}

nlohmann::json MuseganMetrics::to_json(const std::vector<std::string>& track_names) const {
  auto name_of = [&](int track) {
    return static_cast<size_t>(track) < track_names.size() ? track_names[track] : "track" + std::to_string(track);
  };
  nlohmann::json json;
  json["rolls"] = rolls;
  json["tracks"] = nlohmann::json::array();
  for (int track = 0; track < static_cast<int>(tracks.size()); ++track) {
    const auto& metrics = tracks[track];
    json["tracks"].push_back({{"name", name_of(track)},
                              {"empty_bar_rate", number_or_null(metrics.empty_bar_rate)},
                              {"used_pitch_classes", number_or_null(metrics.used_pitch_classes)},
                              {"qualified_note_rate", number_or_null(metrics.qualified_note_rate)},
                              {"polyphonicity", number_or_null(metrics.polyphonicity)},
                              {"bars", metrics.bars},
                              {"empty_bars", metrics.empty_bars},
                              {"notes", metrics.notes},
                              {"qualified_notes", metrics.qualified_notes},
                              {"steps", metrics.steps},
                              {"polyphonic_steps", metrics.polyphonic_steps}});
  }
  json["tonal_distance"] = nlohmann::json::array();
  for (const auto& pair : track_pairs)
    json["tonal_distance"].push_back({{"tracks", {pair.track_a, pair.track_b}},
                                      {"names", {name_of(pair.track_a), name_of(pair.track_b)}},
                                      {"value", number_or_null(pair.tonal_distance)},
                                      {"windows", pair.windows}});
  return json;
}

}  // namespace cadenza::eval
