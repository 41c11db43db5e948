// MuseGAN's metrics on tiny hand-made rolls; expected values are worked out in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "eval/musegan_metrics.h"
#include "support/test_support.h"

namespace cadenza::eval {
namespace {

PianoRoll empty_roll(int tracks, int steps, int pitches, std::vector<int> bar_starts) {
  PianoRoll roll;
  roll.num_tracks = tracks;
  roll.num_steps = steps;
  roll.num_pitches = pitches;
  roll.cells.assign(static_cast<size_t>(tracks) * steps * pitches, 0);
  roll.bar_starts = std::move(bar_starts);
  return roll;
}

void hold(PianoRoll& roll, int track, int pitch, int from, int to) {
  for (int step = from; step < to; ++step) roll.at(track, step, pitch) = 1;
}

std::array<double, 12> chroma_of(std::initializer_list<std::pair<int, double>> weights) {
  std::array<double, 12> chroma{};
  for (const auto& [pitch_class, weight] : weights) chroma[pitch_class] = weight;
  return chroma;
}

// Two tracks, 12 pitches from C4 (lowest_pitch 60), two bars of 8 steps.
//   track 0: C [0,4), E [0,4), G [4,5); bar 1 silent.
//   track 1: C [0,16) (one note held across the bar line), G [8,10).
PianoRoll two_track_roll() {
  PianoRoll roll = empty_roll(2, 16, 12, {0, 8});
  hold(roll, 0, 0, 0, 4);
  hold(roll, 0, 4, 0, 4);
  hold(roll, 0, 7, 4, 5);
  hold(roll, 1, 0, 0, 16);
  hold(roll, 1, 7, 8, 10);
  return roll;
}

MuseganOptions from_c4() {
  MuseganOptions options;
  options.lowest_pitch = 60;
  return options;
}

TEST(EvalMuseganMetrics, TonalCentroidAndDistanceByHand) {
  // C alone: phi(0) = (sin 0, cos 0, sin 0, cos 0, 0.5 sin 0, 0.5 cos 0) = (0, 1, 0, 1, 0, 0.5).
  const auto c = tonal_centroid(chroma_of({{0, 3.0}}));
  const std::array<double, 6> expected_c = {0, 1, 0, 1, 0, 0.5};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(c[i], expected_c[i], 1e-12) << i;
  // G (l = 7): 49pi/6 = 8pi + pi/6 -> (1/2, sqrt3/2); 21pi/2 = 10pi + pi/2 -> (1, 0); 14pi/3 = 4pi + 2pi/3 ->
  // 0.5 (sqrt3/2, -1/2). Differences to C: 1/2, sqrt3/2 - 1, 1, -1, sqrt3/4, -3/4.
  const double s3 = std::sqrt(3.0);
  const double c_to_g = std::sqrt(0.25 + (s3 / 2 - 1) * (s3 / 2 - 1) + 1 + 1 + 3.0 / 16 + 9.0 / 16);
  EXPECT_NEAR(tonal_distance(chroma_of({{0, 1.0}}), chroma_of({{7, 1.0}})), c_to_g, 1e-12);
  // C# (l = 1): 7pi/6 -> (-1/2, -sqrt3/2); 3pi/2 -> (-1, 0); 2pi/3 -> 0.5 (sqrt3/2, -1/2). Differences to C:
  // -1/2, -sqrt3/2 - 1, -1, -1, sqrt3/4, -3/4. A semitone lies farther than a fifth.
  const double c_to_c_sharp = std::sqrt(0.25 + (s3 / 2 + 1) * (s3 / 2 + 1) + 1 + 1 + 3.0 / 16 + 9.0 / 16);
  EXPECT_NEAR(tonal_distance(chroma_of({{0, 1.0}}), chroma_of({{1, 1.0}})), c_to_c_sharp, 1e-12);
  EXPECT_LT(c_to_g, c_to_c_sharp);
  // Only the proportions count: a C major triad against itself at another loudness is at distance 0.
  EXPECT_NEAR(tonal_distance(chroma_of({{0, 1}, {4, 1}, {7, 1}}), chroma_of({{0, 5}, {4, 5}, {7, 5}})), 0.0, 1e-12);
  // The centroid of the augmented triad C E G# is 0 on the major-thirds circle (the three points cancel).
  const auto augmented = tonal_centroid(chroma_of({{0, 1}, {4, 1}, {8, 1}}));
  EXPECT_NEAR(augmented[4], 0.0, 1e-12);
  EXPECT_NEAR(augmented[5], 0.0, 1e-12);
  EXPECT_TRUE(std::isnan(tonal_distance(chroma_of({}), chroma_of({{0, 1.0}}))));
}

TEST(EvalMuseganMetrics, PerTrackMetricsOfATwoTrackRoll) {
  const MuseganMetrics metrics = musegan_metrics(two_track_roll(), from_c4());
  ASSERT_EQ(metrics.num_tracks, 2);
  ASSERT_EQ(metrics.tracks.size(), 2u);
  const auto& first = metrics.tracks[0];
  EXPECT_DOUBLE_EQ(first.empty_bar_rate, 0.5);             // bar 1 silent
  EXPECT_DOUBLE_EQ(first.used_pitch_classes, 3.0);         // C E G in its one sounding bar
  EXPECT_DOUBLE_EQ(first.qualified_note_rate, 2.0 / 3.0);  // C and E last 4 steps, G only 1
  EXPECT_DOUBLE_EQ(first.polyphonicity, 0.0);              // never more than 2 pitches at once
  EXPECT_EQ(first.notes, 3);
  const auto& second = metrics.tracks[1];
  EXPECT_DOUBLE_EQ(second.empty_bar_rate, 0.0);
  EXPECT_DOUBLE_EQ(second.used_pitch_classes, 1.5);   // {C} in bar 0, {C, G} in bar 1
  EXPECT_DOUBLE_EQ(second.qualified_note_rate, 1.0);  // C (16 steps, one note across the bar line) and G (2)
  EXPECT_EQ(second.notes, 2);
  EXPECT_DOUBLE_EQ(second.polyphonicity, 0.0);
}

TEST(EvalMuseganMetrics, ThresholdsAreOptions) {
  MuseganOptions options = from_c4();
  options.polyphony_threshold = 1;  // track 0 has 2 pitches on at steps 0..3: 4 of 16 steps
  options.min_qualified_steps = 5;  // only track 1's 16-step C qualifies there; nothing in track 0
  const MuseganMetrics metrics = musegan_metrics(two_track_roll(), options);
  EXPECT_DOUBLE_EQ(metrics.tracks[0].polyphonicity, 4.0 / 16.0);
  EXPECT_DOUBLE_EQ(metrics.tracks[0].qualified_note_rate, 0.0);
  EXPECT_DOUBLE_EQ(metrics.tracks[1].qualified_note_rate, 0.5);
  EXPECT_DOUBLE_EQ(metrics.tracks[1].polyphonicity, 2.0 / 16.0);  // C and G together at steps 8, 9
}

TEST(EvalMuseganMetrics, TonalDistanceAveragesBarsWhereBothTracksSound) {
  const MuseganMetrics metrics = musegan_metrics(two_track_roll(), from_c4());
  ASSERT_EQ(metrics.track_pairs.size(), 1u);
  const auto& pair = metrics.track_pairs[0];
  EXPECT_EQ(pair.track_a, 0);
  EXPECT_EQ(pair.track_b, 1);
  // Bar 1: track 0 is silent, so only bar 0 counts: duration-weighted chroma {C: 4, E: 4, G: 1} against {C: 8}.
  EXPECT_EQ(pair.windows, 1);
  EXPECT_NEAR(pair.tonal_distance, tonal_distance(chroma_of({{0, 4}, {4, 4}, {7, 1}}), chroma_of({{0, 8}})), 1e-12);

  // Windows of 4 steps inside the bars: [0,4) {C, E} vs {C}; [4,8) {G} vs {C}; [8,12) and [12,16) track 0 silent.
  MuseganOptions beats = from_c4();
  beats.tonal_window_steps = 4;
  const MuseganMetrics by_beat_metrics = musegan_metrics(two_track_roll(), beats);
  const TrackPairDistance& by_beat = by_beat_metrics.track_pairs[0];
  EXPECT_EQ(by_beat.windows, 2);
  const double expected = (tonal_distance(chroma_of({{0, 4}, {4, 4}}), chroma_of({{0, 4}})) +
                           tonal_distance(chroma_of({{7, 1}}), chroma_of({{0, 4}}))) /
                          2.0;
  EXPECT_NEAR(by_beat.tonal_distance, expected, 1e-12);
}

TEST(EvalMuseganMetrics, PitchClassesFoldOctavesFromTheLowestPitch) {
  // 24 pitches from B3 (59): index 1 is C4 and index 13 is C5, one pitch class: distance 0, one class per bar.
  // (MuseGAN's own to_chroma reshapes the pitch axis as 12 x octaves, which would put them in different bins.)
  PianoRoll roll = empty_roll(2, 4, 24, {0});
  hold(roll, 0, 1, 0, 4);
  hold(roll, 1, 13, 0, 4);
  MuseganOptions options;
  options.lowest_pitch = 59;
  const MuseganMetrics metrics = musegan_metrics(roll, options);
  EXPECT_NEAR(metrics.track_pairs[0].tonal_distance, 0.0, 1e-12);
  // Index 0 (B3) against index 13 (C5): a semitone.
  PianoRoll semitone = empty_roll(2, 4, 24, {0});
  hold(semitone, 0, 0, 0, 4);
  hold(semitone, 1, 13, 0, 4);
  EXPECT_NEAR(musegan_metrics(semitone, options).track_pairs[0].tonal_distance,
              tonal_distance(chroma_of({{11, 1}}), chroma_of({{0, 1}})), 1e-12);
  // Both tracks together in one bar: two distinct pitches but the same class.
  PianoRoll one_track = empty_roll(1, 4, 24, {0});
  hold(one_track, 0, 1, 0, 4);
  hold(one_track, 0, 13, 0, 4);
  EXPECT_DOUBLE_EQ(musegan_metrics(one_track, options).tracks[0].used_pitch_classes, 1.0);
}

TEST(EvalMuseganMetrics, BatchPoolsBarsAndNotes) {
  // Roll A = the two-track roll; roll B: one bar of 8 steps, track 0 silent, track 1 one single-step note.
  PianoRoll b = empty_roll(2, 8, 12, {0});
  hold(b, 1, 3, 2, 3);
  const MuseganMetrics metrics = musegan_metrics({two_track_roll(), b}, from_c4());
  EXPECT_EQ(metrics.rolls, 2);
  // Track 0: 2 empty bars of 3; notes: 3 in A (2 qualified), none in B.
  EXPECT_DOUBLE_EQ(metrics.tracks[0].empty_bar_rate, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(metrics.tracks[0].qualified_note_rate, 2.0 / 3.0);
  // Track 1: no empty bar; used classes 1, 2, 1 over 3 bars; notes 2 qualified of 3.
  EXPECT_DOUBLE_EQ(metrics.tracks[1].empty_bar_rate, 0.0);
  EXPECT_DOUBLE_EQ(metrics.tracks[1].used_pitch_classes, 4.0 / 3.0);
  EXPECT_DOUBLE_EQ(metrics.tracks[1].qualified_note_rate, 2.0 / 3.0);
  EXPECT_EQ(metrics.tracks[1].steps, 24);
  // Roll B's bar has track 0 silent: the pair still has one window.
  EXPECT_EQ(metrics.track_pairs[0].windows, 1);
}

TEST(EvalMuseganMetrics, EmptyInputsGiveNaN) {
  const MuseganMetrics none = musegan_metrics(std::vector<PianoRoll>{});
  EXPECT_EQ(none.rolls, 0);
  EXPECT_TRUE(none.tracks.empty());
  const MuseganMetrics silent = musegan_metrics(empty_roll(2, 8, 12, {0, 4}), from_c4());
  EXPECT_DOUBLE_EQ(silent.tracks[0].empty_bar_rate, 1.0);
  EXPECT_TRUE(std::isnan(silent.tracks[0].used_pitch_classes));
  EXPECT_TRUE(std::isnan(silent.tracks[0].qualified_note_rate));
  EXPECT_DOUBLE_EQ(silent.tracks[0].polyphonicity, 0.0);
  EXPECT_TRUE(std::isnan(silent.track_pairs[0].tonal_distance));
  const nlohmann::json json = silent.to_json({"melody"});
  EXPECT_EQ(json["tracks"][0]["name"], "melody");
  EXPECT_EQ(json["tracks"][1]["name"], "track1");
  EXPECT_TRUE(json["tracks"][0]["qualified_note_rate"].is_null());
  EXPECT_EQ(json["tracks"][0]["empty_bar_rate"], 1.0);
  EXPECT_TRUE(json["tonal_distance"][0]["value"].is_null());
  EXPECT_EQ(json["tonal_distance"][0]["names"][1], "track1");
}

TEST(EvalMuseganMetrics, JsonCarriesTheNumbers) {
  const nlohmann::json json = musegan_metrics(two_track_roll(), from_c4()).to_json({"lead", "bass"});
  EXPECT_EQ(json["rolls"], 1);
  EXPECT_EQ(json["tracks"][1]["name"], "bass");
  EXPECT_DOUBLE_EQ(json["tracks"][1]["used_pitch_classes"].get<double>(), 1.5);
  EXPECT_EQ(json["tracks"][0]["notes"], 3);
  EXPECT_EQ(json["tonal_distance"][0]["windows"], 1);
}

TEST(EvalMuseganMetrics, MalformedRollsAreErrors) {
  const PianoRoll good = two_track_roll();
  PianoRoll other_shape = empty_roll(3, 16, 12, {0, 8});
  EXPECT_THROW_WITH(musegan_metrics({good, other_shape}, from_c4()), Error,
                    {"piano roll 1", "3 tracks x 12 pitches", "roll 0 has 2 x 12"});
  PianoRoll short_cells = good;
  short_cells.cells.pop_back();
  EXPECT_THROW_WITH(musegan_metrics(short_cells, from_c4()), Error, {"piano roll 0", "383 cells", "says 384"});
  PianoRoll no_bars = good;
  no_bars.bar_starts.clear();
  EXPECT_THROW_WITH(musegan_metrics(no_bars, from_c4()), Error, {"piano roll 0", "no bar_starts"});
  PianoRoll bad_bars = good;
  bad_bars.bar_starts = {0, 8, 8};
  EXPECT_THROW_WITH(musegan_metrics(bad_bars, from_c4()), Error,
                    {"piano roll 0", "bar_starts[2] = 8", "rise strictly"});
  bad_bars.bar_starts = {2, 8};
  EXPECT_THROW_WITH(musegan_metrics(bad_bars, from_c4()), Error, {"piano roll 0", "bar_starts[0] = 2", "start at 0"});
  bad_bars.bar_starts = {0, 16};
  EXPECT_THROW_WITH(musegan_metrics(bad_bars, from_c4()), Error,
                    {"piano roll 0", "bar_starts[1] = 16", "below num_steps 16"});
  MuseganOptions too_high = from_c4();
  too_high.lowest_pitch = 120;  // 120 + 12 pitches > 128
  EXPECT_THROW_WITH(musegan_metrics(good, too_high), Error, {"pitches 120..131", "lowest_pitch 120"});
  MuseganOptions zero_length = from_c4();
  zero_length.min_qualified_steps = 0;
  EXPECT_THROW_WITH(musegan_metrics(good, zero_length), Error, {"min_qualified_steps 0", "below 1"});
  try {
    musegan_metrics({good, short_cells}, from_c4());
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("piano roll 1"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace cadenza::eval
