#include "eval/musical_metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "score/operations.h"

namespace cadenza::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string score_name(const Score& score) {
  return score.source.empty() ? "score" : score.source;
}

// Every metric indexes arrays by pitch and divides by ticks_per_quarter: refuse what would break that.
void check_score(const Score& score) {
  if (score.ticks_per_quarter <= 0)
    throw Error(score_name(score) + ": ticks_per_quarter is " + std::to_string(score.ticks_per_quarter) +
                ", cannot measure");
  for (const auto& track : score.tracks)
    for (const auto& note : track.notes)
      if (note.pitch < 0 || note.pitch > 127)
        throw Error(score_name(score) + ": track '" + track.name + "' has pitch " + std::to_string(note.pitch) +
                    " outside 0..127");
}

template <typename Visit>
void for_each_note(const Score& score, bool drums, Visit&& visit) {
  for (const auto& track : score.tracks)
    if (track.is_drum == drums)
      for (const auto& note : track.notes) visit(note);
}

template <typename Visit>
void for_each_any_note(const Score& score, Visit&& visit) {
  for (const auto& track : score.tracks)
    for (const auto& note : track.notes) visit(note);
}

// bars(), after checking (without building them) that there are not absurdly many.
std::vector<Bar> measured_bars(const Score& score) {
  const int64_t end = score.end_tick();
  if (end <= 0) return {};
  std::vector<TimeSignature> signatures = score.time_signatures;
  if (signatures.empty() || signatures.front().tick > 0) signatures.insert(signatures.begin(), TimeSignature{});
  double estimate = 0.0;
  for (size_t i = 0; i < signatures.size() && signatures[i].tick < end; ++i) {
    const int64_t region_end = i + 1 < signatures.size() ? std::min(end, signatures[i + 1].tick) : end;
    if (region_end <= signatures[i].tick) continue;
    const int numerator = signatures[i].numerator > 0 ? signatures[i].numerator : 4;
    const int denominator = signatures[i].denominator > 0 ? signatures[i].denominator : 4;
    const double bar_length = std::max(1.0, 4.0 * numerator * score.ticks_per_quarter / denominator);
    estimate += std::ceil(static_cast<double>(region_end - signatures[i].tick) / bar_length) + 1.0;
  }
  if (estimate > static_cast<double>(kMaxMeasuredBars))
    throw Error(score_name(score) + ": about " + std::to_string(static_cast<int64_t>(estimate)) +
                " bars (last note ends at tick " + std::to_string(end) + "), more than the " +
                std::to_string(kMaxMeasuredBars) + " bar-based metrics measure");
  return bars(score);
}

// Index of the bar holding tick (bars are contiguous from tick 0 and sorted).
size_t bar_index(const std::vector<Bar>& bar_list, int64_t tick) {
  auto it = std::upper_bound(bar_list.begin(), bar_list.end(), tick,
                             [](int64_t t, const Bar& bar) { return t < bar.start_tick; });
  return it == bar_list.begin() ? 0 : static_cast<size_t>(it - bar_list.begin()) - 1;
}

// Ticks during which distinct non-drum pitches sound, swept over note starts and ends.
struct PolyphonySweep {
  double pitch_ticks = 0.0;     // sum over ticks of the number of distinct pitches sounding
  double sounding_ticks = 0.0;  // ticks with at least one pitch
  double dense_ticks = 0.0;     // ticks with more than `threshold` pitches
};
PolyphonySweep sweep_polyphony(const Score& score, int threshold) {
  struct Event {
    int64_t tick;
    int pitch;
    int delta;
  };
  std::vector<Event> events;
  for_each_note(score, false, [&](const Note& note) {
    if (note.end_tick <= note.start_tick) return;
    events.push_back({note.start_tick, note.pitch, +1});
    events.push_back({note.end_tick, note.pitch, -1});
  });
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.tick < b.tick; });
  std::array<int, 128> held{};  // overlapping notes of one pitch count once, as in a binary piano roll
  int distinct = 0;
  PolyphonySweep sweep;
  for (size_t i = 0; i < events.size();) {
    const int64_t tick = events[i].tick;
    for (; i < events.size() && events[i].tick == tick; ++i) {
      int& count = held[events[i].pitch];
      if (count == 0 && events[i].delta > 0) ++distinct;
      count += events[i].delta;
      if (count == 0 && events[i].delta < 0) --distinct;
    }
    if (i == events.size()) break;
    const double length = static_cast<double>(events[i].tick - tick);
    sweep.pitch_ticks += distinct * length;
    if (distinct > 0) sweep.sounding_ticks += length;
    if (distinct > threshold) sweep.dense_ticks += length;
  }
  return sweep;
}

// Note counts per pitch of the non-drum tracks.
std::array<double, 128> pitch_histogram(const Score& score) {
  std::array<double, 128> counts{};
  for_each_note(score, false, [&](const Note& note) { counts[note.pitch] += 1.0; });
  return counts;
}

template <size_t N>
double entropy_bits(const std::array<double, N>& counts) {
  double total = 0.0;
  for (double count : counts) total += count;
  if (total <= 0.0) return kNaN;
  double entropy = 0.0;
  for (double count : counts)
    if (count > 0.0) entropy -= count / total * std::log2(count / total);
  return entropy;
}

// Scale degrees of C major / C natural minor as pitch classes.
bool in_scale(int pitch_class, int root, ScaleMode mode) {
  static constexpr std::array<bool, 12> kMajor = {1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1};
  static constexpr std::array<bool, 12> kMinor = {1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0};
  const int degree = ((pitch_class - root) % 12 + 12) % 12;
  return mode == ScaleMode::kMajor ? kMajor[degree] : kMinor[degree];
}

bool on_drum_grid(int64_t tick, int64_t tpq, DrumMeter meter) {
  const int64_t position = tick % tpq;
  if (position == 0) return true;
  if (meter == DrumMeter::kDuple) {
    if (tpq % 4 == 0) return position % (tpq / 4) == 0;
    if (tpq % 2 == 0) return position % (tpq / 2) == 0;
    return false;
  }
  return tpq % 3 == 0 && position % (tpq / 3) == 0;
}

}  // namespace

int pitch_range(const Score& score) {
  check_score(score);
  int lowest = 128, highest = -1;
  for_each_note(score, false, [&](const Note& note) {
    lowest = std::min(lowest, note.pitch);
    highest = std::max(highest, note.pitch);
  });
  return highest < 0 ? 0 : highest - lowest;
}

int n_pitches_used(const Score& score) {
  check_score(score);
  const auto counts = pitch_histogram(score);
  return static_cast<int>(std::count_if(counts.begin(), counts.end(), [](double count) { return count > 0; }));
}

int n_pitch_classes_used(const Score& score) {
  check_score(score);
  std::array<bool, 12> used{};
  for_each_note(score, false, [&](const Note& note) { used[note.pitch % 12] = true; });
  return static_cast<int>(std::count(used.begin(), used.end(), true));
}

double polyphony(const Score& score) {
  check_score(score);
  const PolyphonySweep sweep = sweep_polyphony(score, 0);
  return sweep.sounding_ticks > 0 ? sweep.pitch_ticks / sweep.sounding_ticks : kNaN;
}

double polyphony_rate(const Score& score, int threshold) {
  check_score(score);
  const int64_t length = score.end_tick();
  if (length <= 0) return kNaN;
  return sweep_polyphony(score, threshold).dense_ticks / static_cast<double>(length);
}

double pitch_in_scale_rate(const Score& score, int root, ScaleMode mode) {
  check_score(score);
  if (root < 0 || root > 11) throw Error("pitch_in_scale_rate: root " + std::to_string(root) + " is not in 0..11");
  int64_t notes = 0, in = 0;
  for_each_note(score, false, [&](const Note& note) {
    ++notes;
    if (in_scale(note.pitch % 12, root, mode)) ++in;
  });
  return notes > 0 ? static_cast<double>(in) / static_cast<double>(notes) : kNaN;
}

double scale_consistency(const Score& score) {
  check_score(score);
  double best = kNaN;
  for (ScaleMode mode : {ScaleMode::kMajor, ScaleMode::kMinor})
    for (int root = 0; root < 12; ++root) {
      const double rate = pitch_in_scale_rate(score, root, mode);
      if (std::isnan(rate)) return kNaN;
      if (std::isnan(best) || rate > best) best = rate;
    }
  return best;
}

double pitch_entropy(const Score& score) {
  check_score(score);
  return entropy_bits(pitch_histogram(score));
}

double pitch_class_entropy(const Score& score) {
  check_score(score);
  std::array<double, 12> counts{};
  for_each_note(score, false, [&](const Note& note) { counts[note.pitch % 12] += 1.0; });
  return entropy_bits(counts);
}

double mean_pitch(const Score& score) {
  check_score(score);
  double sum = 0.0;
  int64_t notes = 0;
  for_each_note(score, false, [&](const Note& note) {
    sum += note.pitch;
    ++notes;
  });
  return notes > 0 ? sum / static_cast<double>(notes) : kNaN;
}

double empty_beat_rate(const Score& score) {
  check_score(score);
  const int64_t end = score.end_tick();
  if (end <= 0) return kNaN;
  const int64_t tpq = score.ticks_per_quarter;
  const int64_t beats = (end + tpq - 1) / tpq;
  // Beat ranges [first, last] that notes fill, merged: no per-beat array, so a long silence costs nothing.
  std::vector<std::pair<int64_t, int64_t>> filled;
  for_each_any_note(score, [&](const Note& note) {
    const int64_t start = std::max<int64_t>(0, note.start_tick);
    const int64_t first = start / tpq;
    const int64_t last = note.end_tick > start ? (note.end_tick - 1) / tpq : first;
    filled.emplace_back(first, last);
  });
  std::sort(filled.begin(), filled.end());
  int64_t counted = 0, covered_until = -1;  // beats <= covered_until are already counted
  for (const auto& [first, last] : filled) {
    const int64_t from = std::max(first, covered_until + 1);
    if (last >= from) counted += last - from + 1;
    covered_until = std::max(covered_until, last);
  }
  return 1.0 - static_cast<double>(counted) / static_cast<double>(beats);
}

double empty_measure_rate(const Score& score) {
  check_score(score);
  const std::vector<Bar> bar_list = measured_bars(score);
  if (bar_list.empty()) return kNaN;
  // +1 at the first bar a note fills, -1 after its last: a prefix sum says which bars hold sound.
  std::vector<int64_t> starts(bar_list.size() + 1, 0);
  for_each_any_note(score, [&](const Note& note) {
    const int64_t start = std::max<int64_t>(0, note.start_tick);
    const size_t first = bar_index(bar_list, start);
    const size_t last = note.end_tick > start ? bar_index(bar_list, note.end_tick - 1) : first;
    ++starts[first];
    --starts[last + 1];
  });
  int64_t sounding = 0, empty = 0;
  for (size_t i = 0; i < bar_list.size(); ++i) {
    sounding += starts[i];
    if (sounding == 0) ++empty;
  }
  return static_cast<double>(empty) / static_cast<double>(bar_list.size());
}

double drum_in_pattern_rate(const Score& score, DrumMeter meter) {
  check_score(score);
  int64_t notes = 0, in = 0;
  for_each_note(score, true, [&](const Note& note) {
    ++notes;
    if (on_drum_grid(std::max<int64_t>(0, note.start_tick), score.ticks_per_quarter, meter)) ++in;
  });
  return notes > 0 ? static_cast<double>(in) / static_cast<double>(notes) : kNaN;
}

double drum_pattern_consistency(const Score& score) {
  const double duple = drum_in_pattern_rate(score, DrumMeter::kDuple);
  if (std::isnan(duple)) return kNaN;
  return std::max(duple, drum_in_pattern_rate(score, DrumMeter::kTriple));
}

double groove_consistency(const Score& score, int measure_resolution) {
  check_score(score);
  if (measure_resolution < 1)
    throw Error("groove_consistency: measure resolution " + std::to_string(measure_resolution) + " is below 1");
  const std::vector<Bar> bar_list = measured_bars(score);
  if (bar_list.size() < 2) return kNaN;
  // Sparse onset patterns: (bar, position) pairs, sorted and unique.
  std::vector<std::pair<size_t, int>> onsets;
  for_each_any_note(score, [&](const Note& note) {
    const int64_t start = std::max<int64_t>(0, note.start_tick);
    const size_t bar = bar_index(bar_list, start);
    const Bar& b = bar_list[bar];
    const double nominal = 4.0 * b.numerator * score.ticks_per_quarter / b.denominator;
    const auto position =
        static_cast<int64_t>(std::floor(static_cast<double>(start - b.start_tick) * measure_resolution / nominal));
    onsets.emplace_back(bar, static_cast<int>(std::clamp<int64_t>(position, 0, measure_resolution - 1)));
  });
  std::sort(onsets.begin(), onsets.end());
  onsets.erase(std::unique(onsets.begin(), onsets.end()), onsets.end());
  // Hamming distance of neighbouring bars = size of the symmetric difference of their onset sets.
  std::vector<size_t> first_onset(bar_list.size() + 1);
  for (size_t bar = 0, i = 0; bar <= bar_list.size(); ++bar) {
    while (i < onsets.size() && onsets[i].first < bar) ++i;
    first_onset[bar] = i;
  }
  int64_t hamming = 0;
  for (size_t bar = 0; bar + 1 < bar_list.size(); ++bar) {
    size_t i = first_onset[bar], j = first_onset[bar + 1];
    const size_t i_end = first_onset[bar + 1], j_end = first_onset[bar + 2];
    int64_t common = 0;
    while (i < i_end && j < j_end) {
      if (onsets[i].second == onsets[j].second) {
        ++common, ++i, ++j;
      } else if (onsets[i].second < onsets[j].second) {
        ++i;
      } else {
        ++j;
      }
    }
    hamming += static_cast<int64_t>(i_end - first_onset[bar]) + static_cast<int64_t>(j_end - i_end) - 2 * common;
  }
  const double comparisons = static_cast<double>(measure_resolution) * static_cast<double>(bar_list.size() - 1);
  return 1.0 - static_cast<double>(hamming) / comparisons;
}

double note_density(const Score& score, double bars) {
  check_score(score);
  if (!(bars >= 0) || !std::isfinite(bars))
    throw Error(score_name(score) + ": note density over " + std::to_string(bars) + " bars");
  if (bars > 0) return static_cast<double>(score.note_count()) / bars;
  const std::vector<Bar> bar_list = measured_bars(score);
  if (bar_list.empty()) return kNaN;
  return static_cast<double>(score.note_count()) / static_cast<double>(bar_list.size());
}

int64_t bar_count(const Score& score) {
  check_score(score);
  return static_cast<int64_t>(measured_bars(score).size());
}

int64_t length_of_bars(const Score& score, double bar_count) {
  check_score(score);
  if (!(bar_count >= 0) || bar_count > static_cast<double>(kMaxMeasuredBars))
    throw Error(score_name(score) + ": the length of " + std::to_string(bar_count) + " bars (expected 0.." +
                std::to_string(kMaxMeasuredBars) + ")");
  const auto whole = static_cast<int64_t>(std::floor(bar_count));
  const double fraction = bar_count - static_cast<double>(whole);
  // The bars of score/operations.cpp bars(), walked without stopping at the last note: bar k of a signature region
  // starts at tick + floor(k * numerator * 4 * tpq / denominator); a change mid-bar ends the bar early.
  std::vector<TimeSignature> signatures = score.time_signatures;
  if (signatures.empty() || signatures.front().tick > 0) signatures.insert(signatures.begin(), TimeSignature{});
  int64_t counted = 0;
  for (size_t s = 0; s < signatures.size(); ++s) {
    const TimeSignature& signature = signatures[s];
    const int64_t region_end = s + 1 < signatures.size() ? signatures[s + 1].tick : std::numeric_limits<int64_t>::max();
    if (region_end <= signature.tick) continue;
    const int numerator = signature.numerator > 0 ? signature.numerator : 4;
    const int denominator = signature.denominator > 0 ? signature.denominator : 4;
    const __int128 length = static_cast<__int128>(numerator) * 4 * score.ticks_per_quarter;
    for (int64_t k = 0;; ++k) {
      const int64_t start = signature.tick + static_cast<int64_t>(length * k / denominator);
      if (start >= region_end) break;
      int64_t end = signature.tick + static_cast<int64_t>(length * (k + 1) / denominator);
      end = std::min(std::max(end, start + 1), region_end);
      if (counted == whole) return start + std::llround(fraction * static_cast<double>(end - start));
      ++counted;
    }
  }
  throw Error(score_name(score) + ": the meter ends before " + std::to_string(bar_count) + " bars");  // unreachable
}

std::optional<Key> first_key(const Score& score) {
  if (score.key_signatures.empty()) return std::nullopt;
  const KeySignature& signature = score.key_signatures.front();
  // Each sharp moves the major tonic a fifth up (7 semitones); the relative minor lies a minor third below.
  const int major_root = ((signature.sharps * 7) % 12 + 12) % 12;
  if (signature.minor) return Key{(major_root + 9) % 12, ScaleMode::kMinor};
  return Key{major_root, ScaleMode::kMajor};
}

ScaleMode parse_scale_mode(const std::string& text) {
  if (text == "major") return ScaleMode::kMajor;
  if (text == "minor") return ScaleMode::kMinor;
  throw Error("scale mode '" + text + "' is neither 'major' nor 'minor'");
}

const char* scale_mode_name(ScaleMode mode) {
  return mode == ScaleMode::kMajor ? "major" : "minor";
}

void MetricSet::set(const std::string& name, double value) {
  for (auto& entry : entries_)
    if (entry.first == name) {
      entry.second = value;
      return;
    }
  entries_.emplace_back(name, value);
}

bool MetricSet::contains(const std::string& name) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& entry) { return entry.first == name; });
}

double MetricSet::at(const std::string& name) const {
  for (const auto& entry : entries_)
    if (entry.first == name) return entry.second;
  throw Error("no metric named '" + name + "'");
}

nlohmann::json MetricSet::to_json() const {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [name, value] : entries_) json[name] = std::isfinite(value) ? nlohmann::json(value) : nullptr;
  return json;
}

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> kNames = {
      "pitch_range",        "n_pitches_used",     "n_pitch_classes_used",
      "polyphony",          "polyphony_rate",     "pitch_in_key_rate",
      "scale_consistency",  "pitch_entropy",      "pitch_class_entropy",
      "empty_beat_rate",    "empty_measure_rate", "drum_pattern_consistency",
      "groove_consistency", "note_density",       "mean_pitch"};
  return kNames;
}

MetricSet compute_all(const Score& score, const MetricOptions& options) {
  check_score(score);
  const std::optional<Key> key = first_key(score);
  MetricSet set;
  set.set("pitch_range", pitch_range(score));
  set.set("n_pitches_used", n_pitches_used(score));
  set.set("n_pitch_classes_used", n_pitch_classes_used(score));
  set.set("polyphony", polyphony(score));
  set.set("polyphony_rate", polyphony_rate(score, options.polyphony_threshold));
  set.set("pitch_in_key_rate", key ? pitch_in_scale_rate(score, key->root, key->mode) : kNaN);
  set.set("scale_consistency", scale_consistency(score));
  set.set("pitch_entropy", pitch_entropy(score));
  set.set("pitch_class_entropy", pitch_class_entropy(score));
  set.set("empty_beat_rate", empty_beat_rate(score));
  set.set("empty_measure_rate", empty_measure_rate(score));
  set.set("drum_pattern_consistency", drum_pattern_consistency(score));
  set.set("groove_consistency", groove_consistency(score, options.groove_resolution));
  set.set("note_density", note_density(score));
  set.set("mean_pitch", mean_pitch(score));
  return set;
}

MetricSet mean_ignoring_nan(const std::vector<MetricSet>& sets) {
  MetricSet mean;
  if (sets.empty()) return mean;
  for (const auto& [name, unused] : sets.front()) {
    double sum = 0.0;
    int64_t count = 0;
    for (const auto& set : sets) {
      if (set.size() != sets.front().size() || !set.contains(name))
        throw Error("mean of metric sets: the sets do not all have the same metrics ('" + name + "')");
      const double value = set.at(name);
      if (std::isnan(value)) continue;
      sum += value;
      ++count;
    }
    mean.set(name, count > 0 ? sum / static_cast<double>(count) : kNaN);
  }
  return mean;
}

}  // namespace cadenza::eval
