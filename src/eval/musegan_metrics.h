// MuseGAN's objective metrics (Dong, Hsiao, Yang & Yang, AAAI 2018) on multi-track binary piano rolls.
//
// Per track, pooled over every bar of every roll in a batch (MuseGAN averages over the bars of its batches):
//   EB  empty_bar_rate       bars in which the track has no on cell / all bars;
//   UPC used_pitch_classes   distinct pitch classes with an on cell in a bar, averaged over the non-empty bars;
//   QN  qualified_note_rate  notes (a run of on cells in one pitch row; runs go across bar lines) at least
//                            min_qualified_steps long / all notes;
//   PP  polyphonicity        steps where MORE than polyphony_threshold pitches are on / all steps.
// Per pair of tracks:
//   TD  tonal_distance       Euclidean distance between the tonal centroids (Harte, Sandler & Gasser 2006) of the
//                            two tracks' duration-weighted pitch-class chroma in a window (a bar by default),
//                            averaged over the windows where both tracks sound.
// A value whose denominator is zero (no bar, no note, no window where both sound) is NaN; JSON writes null.
// docs/metrics.md says where we differ from MuseGAN's code (the choice of min_qualified_steps among them).
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "encoding/pianoroll.h"

namespace cadenza::eval {

struct MuseganOptions {
  int lowest_pitch = 21;        // MIDI pitch of pitch index 0 of the rolls (PianoRollSpec::lowest_pitch)
  int min_qualified_steps = 2;  // QN: at 4 steps per quarter, notes of an eighth or longer qualify
  int polyphony_threshold = 2;  // PP: steps with more than this many pitches on
  int tonal_window_steps = 0;   // TD: 0 = one window per bar; else windows of this many steps inside each bar
};

struct MuseganTrackMetrics {
  double empty_bar_rate = 0.0;
  double used_pitch_classes = 0.0;
  double qualified_note_rate = 0.0;
  double polyphonicity = 0.0;
  // The counts behind them.
  int64_t bars = 0;
  int64_t empty_bars = 0;
  int64_t notes = 0;
  int64_t qualified_notes = 0;
  int64_t steps = 0;
  int64_t polyphonic_steps = 0;
};

struct TrackPairDistance {
  int track_a = 0;
  int track_b = 0;
  double tonal_distance = 0.0;
  int64_t windows = 0;  // windows where both tracks sound
};

struct MuseganMetrics {
  int rolls = 0;
  int num_tracks = 0;
  std::vector<MuseganTrackMetrics> tracks;     // one per roll track
  std::vector<TrackPairDistance> track_pairs;  // every pair a < b, in order (0,1), (0,2), .., (1,2), ..
  // {"rolls", "tracks": [{"name", "empty_bar_rate", ..., "bars", ...}], "tonal_distance": [{"tracks": [a, b],
  // "names": [..], "value", "windows"}]}; names default to "track<i>". NaN becomes null.
  nlohmann::json to_json(const std::vector<std::string>& track_names = {}) const;
};

// All metrics over a batch. Every roll must have the same num_tracks and num_pitches, cells of the size its shape
// says, and bar_starts that begin at 0 and rise strictly below num_steps (a roll with steps needs bars). Throws
// Error naming the roll otherwise, and on options out of range (lowest_pitch + num_pitches beyond 128, ...).
MuseganMetrics musegan_metrics(const std::vector<PianoRoll>& rolls, const MuseganOptions& options = {});
MuseganMetrics musegan_metrics(const PianoRoll& roll, const MuseganOptions& options = {});

// The 6-D tonal centroid of a chroma vector (index 0 = C): sum_l chroma[l] * phi(l) / sum_l chroma[l], phi(l) =
// (sin, cos of l*7pi/6; sin, cos of l*3pi/2; 0.5 sin, 0.5 cos of l*2pi/3): circles of fifths, minor and major
// thirds. All zeros for a silent chroma.
std::array<double, 6> tonal_centroid(const std::array<double, 12>& chroma);
// Euclidean distance between the tonal centroids of two chroma vectors (NaN if either is silent).
double tonal_distance(const std::array<double, 12>& chroma_a, const std::array<double, 12>& chroma_b);

}  // namespace cadenza::eval
