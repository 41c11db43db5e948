// Per-piece musical statistics on a Score, after MusPy (Dong et al. 2020, muspy/metrics/metrics.py).
//
// Conventions shared by every function here (docs/metrics.md has the definitions and our deviations):
//   - Pitch metrics (pitch_range .. pitch_class_entropy, polyphony, mean_pitch) ignore drum tracks; the drum
//     metrics look only at drum tracks; the time metrics (empty_beat_rate, empty_measure_rate,
//     groove_consistency, note_density) use every note, drums included, as MusPy does.
//   - Time steps are the score's ticks; a "beat" is a quarter note (MusPy's `resolution`); measures are the
//     bars of the score's time-signature map (score/operations.h bars(): 4/4 when the score has none).
//   - Empty input: counts (pitch_range, n_pitches_used, n_pitch_classes_used) are 0; every rate, mean or
//     entropy whose denominator would be zero is NaN (MusPy's choice), e.g. pitch_entropy of a drum-only score.
//   - Malformed scores (ticks_per_quarter <= 0, a pitch outside 0..127) and scores too long to measure bar by bar
//     (more than kMaxMeasuredBars bars) throw Error naming score.source.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "score/score.h"

namespace cadenza::eval {

enum class ScaleMode { kMajor, kMinor };
enum class DrumMeter { kDuple, kTriple };

// Bar-based metrics refuse scores with more bars than this (a corrupt file whose last note ends at tick 2^40
// would otherwise ask for billions of bars).
inline constexpr int64_t kMaxMeasuredBars = int64_t{1} << 20;
// Onset positions per bar for groove_consistency in compute_all(): sixteenth notes in 4/4.
inline constexpr int kDefaultGrooveResolution = 16;

// ---- pitch ----
// Highest minus lowest non-drum pitch; 0 when there is none.
int pitch_range(const Score& score);
// Distinct non-drum pitches / pitch classes.
int n_pitches_used(const Score& score);
int n_pitch_classes_used(const Score& score);
// Mean number of distinct non-drum pitches sounding, over the ticks where at least one sounds (NaN if none).
double polyphony(const Score& score);
// Share of ticks, from 0 to score.end_tick(), where MORE than `threshold` distinct non-drum pitches sound
// (MusPy's `> threshold`; MuseGAN's polyphonicity with threshold 2). NaN for a score of length 0.
double polyphony_rate(const Score& score, int threshold = 2);
// Share of non-drum notes whose pitch class lies in the scale `root` (0 = C .. 11 = B) `mode` (natural minor).
// NaN when there is no non-drum note. Throws Error if root is outside 0..11.
double pitch_in_scale_rate(const Score& score, int root, ScaleMode mode);
// The largest pitch_in_scale_rate over the 24 major and minor scales (NaN when no non-drum note).
double scale_consistency(const Score& score);
// Shannon entropy (bits) of the note-count histogram of pitches / pitch classes (non-drum; NaN when no note).
double pitch_entropy(const Score& score);
double pitch_class_entropy(const Score& score);
// Average non-drum pitch over notes (NaN when none).
double mean_pitch(const Score& score);

// ---- rhythm and time ----
// Share of quarter-note beats [k*tpq, (k+1)*tpq), k < ceil(end_tick / tpq), in which no note sounds (a note
// sounding [start, end) fills the beats it overlaps). NaN for a score without notes.
double empty_beat_rate(const Score& score);
// Share of bars (from the score's meter) in which no note sounds. NaN for a score without notes.
double empty_measure_rate(const Score& score);
// Share of drum notes whose onset falls on the pattern grid inside a quarter note (MusPy's drum pattern: duple =
// multiples of tpq/4 when tpq % 4 == 0, else of tpq/2 when tpq is even; triple = multiples of tpq/3 when
// tpq % 3 == 0; the beat itself always counts). Exact ticks: quantize() first. NaN when there is no drum note.
double drum_in_pattern_rate(const Score& score, DrumMeter meter);
// max(drum_in_pattern_rate(duple), drum_in_pattern_rate(triple)); NaN when there is no drum note.
double drum_pattern_consistency(const Score& score);
// 1 - mean Hamming distance between the onset patterns of neighbouring bars, divided by measure_resolution. A
// bar's pattern has measure_resolution positions spread over its nominal length (numerator * 4 * tpq /
// denominator ticks); an onset at tick t of a bar starting at s sets position floor((t - s) * resolution /
// length). NaN for fewer than two bars. Throws Error if measure_resolution < 1.
double groove_consistency(const Score& score, int measure_resolution = kDefaultGrooveResolution);
// Notes (all tracks) per bar: over the bars of the score's meter (bars(); NaN for a score without notes), or over
// `bars` bars when bars > 0 (the length a window or a generated piece stands for; 0 for a score without notes).
double note_density(const Score& score, double bars = 0);
// The number of bars of the score's meter up to its last note (bars().size(), after the kMaxMeasuredBars check).
int64_t bar_count(const Score& score);
// Ticks from 0 to the end of the first `bars` bars of the score's meter (bars() extended past the last note when
// needed; a fractional bar counts that fraction of the following bar). Throws Error if bars < 0 or it would exceed
// kMaxMeasuredBars bars.
int64_t length_of_bars(const Score& score, double bars);

// ---- keys ----
struct Key {
  int root = 0;  // pitch class of the tonic, 0 = C
  ScaleMode mode = ScaleMode::kMajor;
  bool operator==(const Key& other) const = default;
};
// The key of the score's first key signature (sharps and minor flag: 2 sharps minor = B minor), if it has one.
std::optional<Key> first_key(const Score& score);
// "major" / "minor" <-> ScaleMode; parse throws Error on anything else.
ScaleMode parse_scale_mode(const std::string& text);
const char* scale_mode_name(ScaleMode mode);

// ---- everything at once ----
struct MetricOptions {
  int polyphony_threshold = 2;
  int groove_resolution = kDefaultGrooveResolution;
};

// Named metric values in a fixed order (that of metric_names()), for reports that iterate over them.
class MetricSet {
 public:
  using Entry = std::pair<std::string, double>;
  // Replaces the value of an existing name, else appends.
  void set(const std::string& name, double value);
  bool contains(const std::string& name) const;
  // Throws Error naming the metric when there is no such name.
  double at(const std::string& name) const;
  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }
  // A JSON object name -> value (NaN becomes null: JSON has no NaN). JSON objects are unordered: iterate
  // entries() for the report order.
  nlohmann::json to_json() const;

 private:
  std::vector<Entry> entries_;
};

// The names compute_all() returns, in order: pitch_range, n_pitches_used, n_pitch_classes_used, polyphony,
// polyphony_rate, pitch_in_key_rate, scale_consistency, pitch_entropy, pitch_class_entropy, empty_beat_rate,
// empty_measure_rate, drum_pattern_consistency, groove_consistency, note_density, mean_pitch.
// pitch_in_key_rate is pitch_in_scale_rate in first_key(score) (NaN when the score has no key signature).
const std::vector<std::string>& metric_names();
MetricSet compute_all(const Score& score, const MetricOptions& options = {});
// The mean of each metric over the sets, skipping NaN values (NaN when every value is NaN); names and order of
// the first set. Throws Error if the sets do not all have the same names.
MetricSet mean_ignoring_nan(const std::vector<MetricSet>& sets);

}  // namespace cadenza::eval
