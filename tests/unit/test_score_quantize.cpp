#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "score/operations.h"
#include "score/score.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

Score one_track(int ticks_per_quarter, std::vector<Note> notes) {
  Score score = make_empty_score(ticks_per_quarter, 120.0);
  score.tracks.push_back({"lead", 0, false, 0, std::move(notes)});
  score.normalize();
  return score;
}

TEST(ScoreQuantize, SnapsStartAndEndToNearestStep) {
  // 480 tpq, 4 steps per quarter: steps of 120 ticks.
  Score score = one_track(480, {{60, 80, 50, 170}, {62, 80, 200, 430}});
  Score quantized = quantize(score, 4);
  ASSERT_EQ(quantized.tracks[0].notes.size(), 2u);
  EXPECT_EQ(quantized.tracks[0].notes[0].start_tick, 0);    // 50 < 60: down
  EXPECT_EQ(quantized.tracks[0].notes[0].end_tick, 120);    // 170 nearer 120 than 240
  EXPECT_EQ(quantized.tracks[0].notes[1].start_tick, 240);  // 200 nearer 240
  EXPECT_EQ(quantized.tracks[0].notes[1].end_tick, 480);    // 430 nearer 480
  EXPECT_EQ(quantized.ticks_per_quarter, 480);
}

TEST(ScoreQuantize, HalfStepRoundsUp) {
  Score quantized = quantize(one_track(480, {{60, 80, 60, 300}}), 4);
  EXPECT_EQ(quantized.tracks[0].notes[0].start_tick, 120);
  EXPECT_EQ(quantized.tracks[0].notes[0].end_tick, 360);
}

TEST(ScoreQuantize, NoteShorterThanHalfAStepKeepsOneStep) {
  // [130, 170) snaps to [120, 120): collapses, so it keeps one step.
  Score quantized = quantize(one_track(480, {{60, 80, 130, 170}}), 4);
  ASSERT_EQ(quantized.tracks[0].notes.size(), 1u);
  EXPECT_EQ(quantized.tracks[0].notes[0].start_tick, 120);
  EXPECT_EQ(quantized.tracks[0].notes[0].end_tick, 240);
}

TEST(ScoreQuantize, IsIdempotent) {
  std::vector<Note> notes;
  for (int i = 0; i < 200; ++i) {
    int64_t start = (i * 37) % 1900;
    notes.push_back({40 + i % 40, 1 + i % 127, start, start + 1 + (i * 53) % 700});
  }
  for (int tpq : {96, 100, 480, 7}) {
    for (int spq : {1, 3, 4, 5, 12}) {
      Score once = quantize(one_track(tpq, notes), spq);
      Score twice = quantize(once, spq);
      EXPECT_EQ(describe_difference(once, twice), "") << "tpq " << tpq << " spq " << spq;
      EXPECT_TRUE(once == twice);
    }
  }
}

TEST(ScoreQuantize, FractionalStepUsesExactGrid) {
  // 96 tpq, 5 steps per quarter: step = 19.2 ticks; grid points 0, 19, 38, 58 (57.6), 77 (76.8), 96.
  Score score = one_track(96, {{60, 80, 55, 70}, {64, 80, 29, 96 * 3 + 1}});
  Score quantized = quantize(score, 5);
  const auto& notes = quantized.tracks[0].notes;
  ASSERT_EQ(notes.size(), 2u);
  // 29 / 19.2 = 1.51 -> step 2 -> tick 38; 289 / 19.2 = 15.05 -> step 15 -> tick 288.
  EXPECT_EQ(notes[0].pitch, 64);
  EXPECT_EQ(notes[0].start_tick, 38);
  EXPECT_EQ(notes[0].end_tick, 288);
  // 55 -> step 3 (2.86) -> tick 58; 70 -> step 4 (3.65) -> tick 77.
  EXPECT_EQ(notes[1].start_tick, 58);
  EXPECT_EQ(notes[1].end_tick, 77);
  // Every snapped tick is a grid point: (tick * 5 / 96) is within half a tick-step of an integer.
  for (const auto& note : notes) {
    for (int64_t tick : {note.start_tick, note.end_tick}) {
      double step = tick * 5.0 / 96.0;
      EXPECT_NEAR(step, std::round(step), 0.5 * 5.0 / 96.0 + 1e-9) << tick;
    }
  }
}

TEST(ScoreQuantize, SnapsMetaEventsAndKeepsTheLaterOneOnATie) {
  Score score = one_track(480, {{60, 80, 0, 1920}});
  score.tempos.push_back({470, 400000});
  score.tempos.push_back({490, 300000});  // both snap to 480: the later one is in force after 480
  score.time_signatures.push_back({965, 3, 4});
  score.key_signatures.push_back({0, 0, false});
  score.key_signatures.push_back({1430, 2, true});
  score.normalize();
  Score quantized = quantize(score, 4);
  ASSERT_EQ(quantized.tempos.size(), 2u);
  EXPECT_EQ(quantized.tempos[1].tick, 480);
  EXPECT_EQ(quantized.tempos[1].microseconds_per_quarter, 300000);
  ASSERT_EQ(quantized.time_signatures.size(), 2u);
  EXPECT_EQ(quantized.time_signatures[1].tick, 960);
  ASSERT_EQ(quantized.key_signatures.size(), 2u);
  EXPECT_EQ(quantized.key_signatures[1].tick, 1440);
  EXPECT_TRUE(quantized.key_signatures[1].minor);
}

TEST(ScoreQuantize, MergesNotesThatBecomeIdentical) {
  Score score = one_track(480, {{60, 80, 0, 480}, {60, 80, 5, 475}, {60, 90, 5, 475}});
  Score quantized = quantize(score, 4);
  // The two velocity-80 notes coincide after snapping; the velocity-90 one differs and stays.
  ASSERT_EQ(quantized.tracks[0].notes.size(), 2u);
  EXPECT_EQ(quantized.tracks[0].notes[0].velocity, 80);
  EXPECT_EQ(quantized.tracks[0].notes[1].velocity, 90);
}

TEST(ScoreQuantize, RecomputesSecondsAndKeepsOrder) {
  Score score = one_track(480, {{67, 80, 250, 480}, {60, 80, 230, 480}});
  Score quantized = quantize(score, 4);
  const auto& notes = quantized.tracks[0].notes;
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].pitch, 60);  // same start after snapping: sorted by pitch
  EXPECT_EQ(notes[0].start_tick, 240);
  EXPECT_DOUBLE_EQ(notes[0].start_sec, 0.25);  // 120 qpm: 240 ticks = half a quarter = 0.25 s
  EXPECT_DOUBLE_EQ(notes[0].end_sec, 0.5);
}

TEST(ScoreQuantize, FinerGridThanResolutionStillKeepsNotesNonEmpty) {
  Score quantized = quantize(one_track(2, {{60, 80, 1, 2}}), 8);
  ASSERT_EQ(quantized.tracks[0].notes.size(), 1u);
  EXPECT_LT(quantized.tracks[0].notes[0].start_tick, quantized.tracks[0].notes[0].end_tick);
}

TEST(ScoreQuantize, RejectsNonPositiveSteps) {
  Score score = one_track(480, {{60, 80, 0, 480}});
  EXPECT_THROW_WITH(quantize(score, 0), Error, {"steps per quarter must be positive", "got 0"});
  EXPECT_THROW_WITH(quantize(score, -4), Error, {"steps per quarter must be positive", "got -4"});
}

}  // namespace
}  // namespace cadenza
