// Augmentation primitives: time stretch of scores and tokens, piano-roll transposition.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "data/augment.h"
#include "encoding/performance.h"
#include "support/test_support.h"
#include "test_data_fixtures.h"

namespace cadenza {
namespace {

using testing::line_score;

TEST(DataAugment, StretchScalesTicksAndSeconds) {
  Score score = line_score({60, 62, 0, 64});
  score.tempos.push_back({960, 400000});
  score.normalize();
  score.update_seconds();
  Score stretched = stretch_time(score, 1.5);
  ASSERT_EQ(stretched.tracks[0].notes.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const Note& before = score.tracks[0].notes[i];
    const Note& after = stretched.tracks[0].notes[i];
    EXPECT_EQ(after.start_tick, std::llround(before.start_tick * 1.5));
    EXPECT_EQ(after.end_tick, std::llround(before.end_tick * 1.5));
    EXPECT_EQ(after.pitch, before.pitch);
  }
  EXPECT_EQ(stretched.tempos.back().tick, 1440);
  EXPECT_NEAR(stretched.end_seconds(), 1.5 * score.end_seconds(), 1e-9);
  EXPECT_THROW_WITH(stretch_time(score, 0.0), Error, {"time stretch factor", "positive", "got 0"});
  EXPECT_THROW_WITH(stretch_time(score, -1.0), Error, {"time stretch factor", "got -1"});
  EXPECT_THROW_WITH(stretch_time(score, NAN), Error, {"time stretch factor", "got nan"});
}

TEST(DataAugment, StretchNeverCollapsesANote) {
  Score score = make_empty_score(480);
  score.tracks.push_back({"t", 0, false, 0, {{60, 80, 0, 1}, {62, 80, 1, 2}}});
  score.update_seconds();
  Score squeezed = stretch_time(score, 0.1);
  for (const auto& note : squeezed.tracks[0].notes) EXPECT_LT(note.start_tick, note.end_tick);
}

TEST(DataAugment, StretchedPerformanceTokensLastLongerByTheFactor) {
  PerformanceEncoding encoding;
  const Score score = line_score({60, 64, 67, 72, 0, 71, 69});
  const auto tokens = encoding.encode(score);
  const double original = encoding.decode(tokens).end_seconds();
  for (double factor : {0.95, 1.05, 1.3}) {
    const auto stretched = stretch_tokens(encoding, tokens, factor);
    const double seconds = encoding.decode(stretched).end_seconds();
    EXPECT_NEAR(seconds, original * factor, 0.0101) << "factor " << factor << " (within one 10 ms step)";
  }
}

TEST(DataAugment, RollTranspositionStaysInsideTheRoll) {
  // 2 steps x 5 pitches: pitch indices 1 and 3 on.
  PianoRoll roll{1, 2, 5, {0, 1, 0, 0, 0, /**/ 0, 0, 0, 1, 0}, {0}};
  EXPECT_EQ(roll_transposition_range(roll), (std::pair<int, int>{-1, 1}));
  PianoRoll up = roll;
  transpose_roll(up, 1);
  EXPECT_EQ(up.cells, (std::vector<uint8_t>{0, 0, 1, 0, 0, /**/ 0, 0, 0, 0, 1}));
  PianoRoll down = roll;
  transpose_roll(down, -1);
  EXPECT_EQ(down.cells, (std::vector<uint8_t>{1, 0, 0, 0, 0, /**/ 0, 0, 1, 0, 0}));
  EXPECT_THROW_WITH(transpose_roll(roll, 2), Error, {"by 2 semitones", "range -1..1"});
  EXPECT_THROW_WITH(transpose_roll(roll, -2), Error, {"by -2 semitones", "range -1..1"});
  PianoRoll empty{1, 2, 5, std::vector<uint8_t>(10, 0), {}};
  EXPECT_EQ(roll_transposition_range(empty), (std::pair<int, int>{-4, 4}));
}

}  // namespace
}  // namespace cadenza
