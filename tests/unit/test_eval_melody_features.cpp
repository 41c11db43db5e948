// The melody attributes are the musical_metrics features of the pitched part of a score (one definition each).
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "eval/melody_features.h"
#include "eval/musical_metrics.h"

namespace cadenza {
namespace {

constexpr int64_t Q = 480;

Score quarters(const std::vector<int>& pitches, int numerator = 4, int denominator = 4) {
  Score score = make_empty_score(static_cast<int>(Q), 120.0, numerator, denominator);
  Track track;
  track.name = "melody";
  int64_t t = 0;
  for (int pitch : pitches) {
    if (pitch > 0) track.notes.push_back(Note{pitch, 80, t, t + Q});
    t += Q;
  }
  score.tracks.push_back(track);
  return score;
}

TEST(EvalMelodyFeatures, SameDefinitionsAsTheMusicalMetrics) {
  Score score = quarters({60, 62, 64, 65, 67, 0, 72, 0});  // two 4/4 bars, 6 notes, 2 quarter rests
  EXPECT_DOUBLE_EQ(melody_attribute(score, "mean_pitch", 0), eval::mean_pitch(score));
  EXPECT_DOUBLE_EQ(melody_attribute(score, "mean_pitch", 0), (60 + 62 + 64 + 65 + 67 + 72) / 6.0);
  EXPECT_EQ(melody_attribute(score, "pitch_range", 0), eval::pitch_range(score));
  EXPECT_EQ(melody_attribute(score, "pitch_range", 0), 12.0);
  // Bars of the meter: the notes end at 7 quarters, inside bar 2: 6 notes / 2 bars, as eval::note_density.
  EXPECT_DOUBLE_EQ(melody_attribute(score, "note_density", 0), 3.0);
  EXPECT_DOUBLE_EQ(melody_attribute(score, "note_density", 0), eval::note_density(score));
  // A window that stands for 4 bars: 6 / 4.
  EXPECT_DOUBLE_EQ(melody_attribute(score, "note_density", 4), 1.5);
  EXPECT_DOUBLE_EQ(eval::note_density(score, 4), 1.5);
  // rest_rate over the 2 bars (8 quarters): 2 quarters silent = 0.25; over 4 bars: 10 of 16 = 0.625.
  EXPECT_DOUBLE_EQ(melody_attribute(score, "rest_rate", 0), 0.25);
  EXPECT_DOUBLE_EQ(melody_attribute(score, "rest_rate", 4), 0.625);
}

TEST(EvalMelodyFeatures, DrumsAreLeftOutAndEmptyScoresKeepTheirValues) {
  Score score = quarters({60, 64});
  Track drums;
  drums.is_drum = true;
  drums.channel = 9;
  drums.notes = {Note{36, 80, 0, Q}, Note{38, 80, Q, 2 * Q}, Note{36, 80, 2 * Q, 3 * Q}};
  score.tracks.push_back(drums);
  EXPECT_DOUBLE_EQ(melody_attribute(score, "note_density", 1), 2.0);  // eval::note_density counts drums: 5
  EXPECT_DOUBLE_EQ(eval::note_density(score, 1), 5.0);
  EXPECT_EQ(melody_attribute(score, "pitch_range", 0), 4.0);
  const Score empty = quarters({});
  EXPECT_EQ(melody_attribute(empty, "note_density", 0), 0.0);
  EXPECT_EQ(melody_attribute(empty, "note_density", 2), 0.0);
  EXPECT_TRUE(std::isnan(melody_attribute(empty, "mean_pitch", 0)));
  EXPECT_TRUE(std::isnan(melody_attribute(empty, "pitch_range", 0)));
  EXPECT_EQ(melody_attribute(empty, "rest_rate", 0), 1.0);
  try {
    melody_attribute(score, "loudness", 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(),
                 "unknown attribute \"loudness\" (expected note_density, mean_pitch, pitch_range or rest_rate)");
  }
}

TEST(EvalMelodyFeatures, BarsFollowTheMeter) {
  // 2/4: eight quarter notes fill four bars (a 4/4 rule would count two): 2 notes per bar, no rest.
  const Score two_four = quarters({60, 62, 64, 65, 67, 65, 64, 62}, 2, 4);
  EXPECT_DOUBLE_EQ(melody_attribute(two_four, "note_density", 0), 2.0);
  EXPECT_DOUBLE_EQ(melody_attribute(two_four, "rest_rate", 0), 0.0);
  // 3/4, one dotted-half-long bar of three quarters: no rest (a 4/4 bar would leave a quarter of it silent).
  const Score three_four = quarters({60, 62, 64}, 3, 4);
  EXPECT_DOUBLE_EQ(melody_attribute(three_four, "rest_rate", 0), 0.0);
  // Over two 3/4 bars: 3 of 6 quarters silent.
  EXPECT_DOUBLE_EQ(melody_attribute(three_four, "rest_rate", 2), 0.5);
  // length_of_bars follows meter changes: 4/4 then 3/4 from tick 1920: 1 bar = 1920, 2 bars = 3360, 2.5 = 4080.
  Score changing = quarters({60});
  changing.time_signatures.push_back({4 * Q, 3, 4});
  EXPECT_EQ(eval::length_of_bars(changing, 1), 4 * Q);
  EXPECT_EQ(eval::length_of_bars(changing, 2), 7 * Q);
  EXPECT_EQ(eval::length_of_bars(changing, 2.5), 7 * Q + 3 * Q / 2);
  EXPECT_EQ(eval::length_of_bars(changing, 0), 0);
}

}  // namespace
}  // namespace cadenza
