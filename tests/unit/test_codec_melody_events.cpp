// Melodies as note events and back (codec/melody_events.h), the C-RNN-GAN's data: the round trip, and the grid its
// continuous times are put on.
#include <gtest/gtest.h>

#include "codec/melody_events.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

using models::MelodyEvent;

std::vector<std::pair<int64_t, int64_t>> spans(const Score& score) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const Note& note : score.tracks.at(0).notes) out.push_back({note.start_tick, note.end_tick});
  return out;
}

TEST(MelodyEvents, RoundTripThroughAScore) {
  const std::vector<MelodyEvent> events = {{60, 1.0, 0.0}, {62, 0.5, 1.0}, {64, 0.25, 0.5}, {67, 2.0, 0.75}};
  EXPECT_EQ(melody_events(score_of_events(events, 0)), events);
  EXPECT_EQ(melody_events(score_of_events(events, 0, 4)), events) << "already on the 16th grid: unchanged";
}

TEST(MelodyEvents, ContinuousTimesAsTheyAre) {
  // 480 ticks per quarter; a zero-length event sounds a 64th (30 ticks); cut at 2 quarters.
  const std::vector<MelodyEvent> events = {{60, 0.3, 0.1}, {62, 0.0, 0.6}, {64, 1.0, 0.9}, {65, 1.0, 0.5}};
  EXPECT_EQ(spans(score_of_events(events, 2.0)),
            (std::vector<std::pair<int64_t, int64_t>>{{48, 192}, {336, 366}, {768, 960}}));
}

TEST(MelodyEvents, TimesOnTheDataGrid) {
  // 16ths (120 ticks). Onsets are the rounded running sums 0.1 -> 0, 0.7 -> 0.75, 1.6 -> 1.5, 1.7 -> 1.75 (rounding
  // each shift alone would give 0, 0.5, 1.5, 1.5); ends round too, and a note lasts at least one step: 0.1 + 0.3 ->
  // 0.5, 0.7 + 0 -> one step, 1.6 + 0.2 -> 1.75, 1.7 + 1 -> 2.75 cut at 2.5.
  const std::vector<MelodyEvent> events = {{60, 0.3, 0.1}, {62, 0.0, 0.6}, {64, 0.2, 0.9}, {65, 1.0, 0.1}};
  EXPECT_EQ(spans(score_of_events(events, 2.5, 4)),
            (std::vector<std::pair<int64_t, int64_t>>{{0, 240}, {360, 480}, {720, 840}, {840, 1200}}));
  // An onset that rounds onto the cut is dropped: 2.45 -> 2.5.
  EXPECT_EQ(score_of_events({{60, 1.0, 2.45}}, 2.5, 4).tracks.at(0).notes.size(), 0u);
  EXPECT_THROW_WITH(score_of_events(events, 0, -1), Error, {"steps_per_quarter", "-1"});
}

}  // namespace
}  // namespace cadenza
