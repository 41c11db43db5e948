// seconds_at and bar_positions (score/timeline.h) against the per-tick reference, and linear in the length of the
// tempo / meter map (a file with 200,000 changes made `midi info` take a minute when every entry walked the map).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "common/error.h"
#include "score/timeline.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

// A per-tick walk of the map (what `midi info` did for every entry): every region that starts at or before the
// tick and ends at or before it adds its bars, a partial one counting as whole (a change starts a new bar); the
// region the tick is in adds its whole bars and gives the beats.
BarPosition naive_bar_position(const Score& score, int64_t tick) {
  BarPosition position;
  const auto& signatures = score.time_signatures;
  for (size_t i = 0; i < signatures.size() && signatures[i].tick <= tick; ++i) {
    const double beat_ticks = score.ticks_per_quarter * 4.0 / signatures[i].denominator;
    const double bar_ticks = beat_ticks * signatures[i].numerator;
    const bool last = i + 1 == signatures.size() || signatures[i + 1].tick > tick;
    const double length = static_cast<double>((last ? tick : signatures[i + 1].tick) - signatures[i].tick);
    if (!last) {
      position.bars += static_cast<int64_t>(std::ceil(length / bar_ticks - 1e-9));
      continue;
    }
    const auto whole = static_cast<int64_t>(std::floor(length / bar_ticks + 1e-9));
    position.bars += whole;
    position.beats = std::max(0.0, (length - static_cast<double>(whole) * bar_ticks) / beat_ticks);
  }
  return position;
}

Score random_maps(std::mt19937& random, int changes) {
  Score score = make_empty_score(96 + static_cast<int>(random() % 400));
  score.tempos.clear();
  score.time_signatures.clear();
  int64_t tick = 0;
  for (int i = 0; i < changes; ++i) {
    score.tempos.push_back({tick, static_cast<int32_t>(200000 + random() % 800000)});
    score.time_signatures.push_back({tick, 1 + static_cast<int>(random() % 12), 1 << (random() % 4)});
    tick += 1 + static_cast<int64_t>(random() % 3000);
  }
  return score;
}

TEST(ScoreTimeline, MatchesThePerTickReference) {
  std::mt19937 random(5);
  for (int round = 0; round < 20; ++round) {
    const Score score = random_maps(random, 1 + round * 3);
    std::vector<int64_t> ticks = {0};
    for (const auto& meter : score.time_signatures) ticks.push_back(meter.tick), ticks.push_back(meter.tick + 7);
    for (int i = 0; i < 50; ++i) ticks.push_back(static_cast<int64_t>(random() % 200000));
    std::sort(ticks.begin(), ticks.end());
    const auto seconds = seconds_at(score, ticks);
    const auto bars = bar_positions(score, ticks);
    for (size_t i = 0; i < ticks.size(); ++i) {
      EXPECT_EQ(seconds[i], score.tick_to_seconds(ticks[i])) << "tick " << ticks[i];
      const BarPosition expected = naive_bar_position(score, ticks[i]);
      EXPECT_EQ(bars[i].bars, expected.bars) << "tick " << ticks[i];
      EXPECT_EQ(bars[i].beats, expected.beats) << "tick " << ticks[i];
    }
  }
}

TEST(ScoreTimeline, AMeterChangeMidBarStartsTheNextBar) {
  Score score = make_empty_score(480);            // 4/4: 1920 ticks a bar
  score.time_signatures.push_back({2880, 3, 4});  // in the middle of the second bar
  const std::vector<int64_t> ticks = {0, 1920, 2880, 2880 + 1440, 2880 + 1440 + 480};
  const auto positions = bar_positions(score, ticks);
  EXPECT_EQ(positions[1].bars, 1);
  EXPECT_EQ(positions[1].beats, 0.0);
  EXPECT_EQ(positions[2].bars, 2) << "the half bar before the change counts as a bar";
  EXPECT_EQ(positions[2].beats, 0.0);
  EXPECT_EQ(positions[3].bars, 3) << "one 3/4 bar after the change";
  EXPECT_EQ(positions[4].bars, 3);
  EXPECT_EQ(positions[4].beats, 1.0);
}

TEST(ScoreTimeline, RefusesTicksOutOfOrder) {
  const Score score = make_empty_score();
  const std::vector<int64_t> ticks = {10, 5};
  try {
    seconds_at(score, ticks);
    FAIL() << "accepted descending ticks";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()), "seconds_at: ticks must be ascending, but tick 5 follows 10");
  }
  EXPECT_THROW_WITH(bar_positions(score, ticks), Error,
                    {"bar_positions", "ticks must be ascending", "tick 5 follows 10"});
}

// 200,000 tempo and meter changes, every entry asked for: the per-entry walk does 2 * 10^10 steps (over a minute);
// the sweep does 4 * 10^5 and takes milliseconds. The bound is generous on purpose: only a quadratic path misses it.
TEST(ScoreTimeline, IsLinearInTheLengthOfTheMaps) {
  std::mt19937 random(9);
  const Score score = random_maps(random, 200'000);
  std::vector<int64_t> ticks;
  for (const auto& meter : score.time_signatures) ticks.push_back(meter.tick);
  const auto started = std::chrono::steady_clock::now();
  const auto seconds = seconds_at(score, ticks);
  const auto bars = bar_positions(score, ticks);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(elapsed, 10.0);
  ASSERT_EQ(seconds.size(), ticks.size());
  EXPECT_EQ(seconds.back(), score.tick_to_seconds(ticks.back()));
  EXPECT_EQ(bars.back().bars, naive_bar_position(score, ticks.back()).bars);
}

}  // namespace
}  // namespace cadenza
