#include <gtest/gtest.h>

#include "score/score.h"

namespace cadenza {

TEST(Score, TickToSecondsFollowsTempoMap) {
  Score score = make_empty_score(480, 120.0);
  score.tempos.push_back({960, 1'000'000});  // 60 qpm from beat 2
  EXPECT_DOUBLE_EQ(score.tick_to_seconds(480), 0.5);
  EXPECT_DOUBLE_EQ(score.tick_to_seconds(960), 1.0);
  EXPECT_DOUBLE_EQ(score.tick_to_seconds(1440), 2.0);
}

TEST(Score, NormalizeSortsKeepsZeroLengthNotesAndFillsDefaults) {
  Score score;
  score.ticks_per_quarter = 96;
  Track track;
  track.notes.push_back({64, 80, 96, 192});
  track.notes.push_back({60, 80, 0, 96});
  track.notes.push_back({62, 80, 50, 50});  // zero length (a drum hit is often written so): one tick
  track.notes.push_back({65, 80, 70, 60});  // ends before it starts: broken, dropped
  score.tracks.push_back(track);
  score.normalize();
  ASSERT_EQ(score.tracks[0].notes.size(), 3u);
  EXPECT_EQ(score.tracks[0].notes[0].pitch, 60);
  EXPECT_EQ(score.tracks[0].notes[1], (Note{62, 80, 50, 51}));
  ASSERT_EQ(score.tempos.size(), 1u);
  EXPECT_EQ(score.tempos[0].microseconds_per_quarter, 500000);
  EXPECT_DOUBLE_EQ(score.tracks[0].notes[2].end_sec, 1.0);
  ASSERT_EQ(score.time_signatures.size(), 1u);
  EXPECT_EQ(score.time_signatures[0].numerator, 4);
}

TEST(Score, DescribeDifferenceNamesTheFirstDifferentNote) {
  Score a = make_empty_score();
  a.tracks.push_back({"lead", 0, false, 0, {{60, 80, 0, 480}}});
  Score b = a;
  EXPECT_EQ(describe_difference(a, b), "");
  b.tracks[0].notes[0].end_tick = 240;
  EXPECT_NE(describe_difference(a, b).find("note 0"), std::string::npos);
  EXPECT_FALSE(a == b);
}

}  // namespace cadenza
