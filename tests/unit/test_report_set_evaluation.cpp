// Comparing generated pieces with the training pieces for the report: statistics side by side with their overlap
// area, pitch-class histograms, originality figures and the cut to the generated length.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "eval/musical_metrics.h"
#include "eval/originality.h"
#include "report/set_evaluation.h"
#include "score/operations.h"
#include "support/test_support.h"

namespace cadenza::report {
namespace {

// A one-track melody of quarter notes starting at `pitch`, rising by `step` semitones, `bars` 4/4 bars long.
Score melody(int pitch, int step, int bars, int tpq = 480) {
  Score score = make_empty_score(tpq);
  Track track;
  track.name = "melody";
  for (int i = 0; i < bars * 4; ++i)
    track.notes.push_back({pitch + (i * step) % 12, 80, int64_t{i} * tpq, int64_t{i + 1} * tpq});
  score.tracks.push_back(track);
  score.normalize();
  score.update_seconds();
  return score;
}

eval::MetricSet set_with(double mean_pitch, double key_rate) {
  eval::MetricSet set;
  set.set("mean_pitch", mean_pitch);
  set.set("pitch_in_key_rate", key_rate);
  return set;
}

TEST(ReportSetEvaluation, SameDistributionOverlapsMoreThanAShiftedOne) {
  std::vector<eval::MetricSet> training, same, shifted;
  for (int i = 0; i < 40; ++i) training.push_back(set_with(60 + i % 10, std::nan("")));
  for (int i = 0; i < 10; ++i) same.push_back(set_with(60 + i, std::nan("")));
  for (int i = 0; i < 10; ++i) shifted.push_back(set_with(80 + i, std::nan("")));
  const auto close = compare_metric_sets(same, training);
  const auto far = compare_metric_sets(shifted, training);
  ASSERT_EQ(close.size(), 2u);
  EXPECT_EQ(close[0].name, "mean_pitch");
  EXPECT_NEAR(close[0].mean, 64.5, 1e-12);
  EXPECT_NEAR(close[0].reference_mean, 64.5, 1e-12);
  EXPECT_EQ(close[0].pieces, 10u);
  EXPECT_EQ(close[0].reference_pieces, 40u);
  EXPECT_GT(close[0].overlap_area, 0.8);
  EXPECT_LT(far[0].overlap_area, 0.1);
  EXPECT_GT(far[0].kl_divergence, close[0].kl_divergence);
  EXPECT_GT(close[0].intra_inter_overlap, far[0].intra_inter_overlap) << "Yang & Lerch's figure agrees";
  EXPECT_FALSE(close[0].reference_constant);
  // A statistic undefined everywhere: means and overlap are NaN, and nothing throws.
  EXPECT_TRUE(std::isnan(close[1].mean));
  EXPECT_TRUE(std::isnan(close[1].overlap_area));
  EXPECT_EQ(close[1].pieces, 0u);
}

TEST(ReportSetEvaluation, ConstantReferenceIsFlagged) {
  std::vector<eval::MetricSet> training, generated;
  for (int i = 0; i < 5; ++i) training.push_back(set_with(60, 0.5 + 0.1 * i));
  for (int i = 0; i < 3; ++i) generated.push_back(set_with(60, 0.5));
  const auto compared = compare_metric_sets(generated, training);
  EXPECT_TRUE(compared[0].reference_constant) << "mean_pitch is 60 in every training piece";
  EXPECT_NEAR(compared[0].overlap_area, 1.0, 1e-9) << "matched by construction";
  EXPECT_FALSE(compared[1].reference_constant);
}

TEST(ReportSetEvaluation, FewerThanTwoDefinedValuesGiveNoOverlap) {
  const std::vector<eval::MetricSet> one = {set_with(60, 0.5)};
  const std::vector<eval::MetricSet> training = {set_with(60, 0.5), set_with(62, 0.7), set_with(64, 0.9)};
  const auto compared = compare_metric_sets(one, training);
  EXPECT_DOUBLE_EQ(compared[0].mean, 60);
  EXPECT_TRUE(std::isnan(compared[0].overlap_area));
  const auto nothing = compare_metric_sets({}, training);
  ASSERT_EQ(nothing.size(), 2u) << "the names come from the reference";
  EXPECT_TRUE(std::isnan(nothing[0].mean));
  EXPECT_DOUBLE_EQ(nothing[0].reference_mean, 62);

  eval::MetricSet other;
  other.set("note_density", 1.0);
  EXPECT_THROW_WITH(compare_metric_sets({other, other}, training), Error,
                    {"reference piece 0", "mean_pitch, pitch_in_key_rate", "first piece has note_density"})
      << "different statistics cannot be compared";
}

TEST(ReportSetEvaluation, RealScoresThroughComputeAll) {
  std::vector<eval::MetricSet> generated, training;
  for (int i = 0; i < 4; ++i) generated.push_back(eval::compute_all(melody(60 + i, 2, 4)));
  for (int i = 0; i < 8; ++i) training.push_back(eval::compute_all(melody(58 + i, 2, 4)));
  const auto compared = compare_metric_sets(generated, training);
  ASSERT_EQ(compared.size(), eval::metric_names().size());
  for (size_t i = 0; i < compared.size(); ++i) EXPECT_EQ(compared[i].name, eval::metric_names()[i]);
}

TEST(ReportSetEvaluation, PitchClassHistogramCountsNonDrumNotes) {
  Score score = melody(60, 0, 1);  // four Cs
  Track drums;
  drums.is_drum = true;
  drums.channel = 9;
  drums.notes.push_back({38, 100, 0, 240});
  score.tracks.push_back(drums);
  const std::vector<Score> pieces = {score, melody(67, 0, 1)};  // four Gs
  const auto histogram = pitch_class_histogram(pieces);
  EXPECT_DOUBLE_EQ(histogram[0], 0.5);
  EXPECT_DOUBLE_EQ(histogram[7], 0.5);
  EXPECT_DOUBLE_EQ(histogram[2], 0.0) << "the drum note (38 = D) is not a pitch";
  const auto empty = pitch_class_histogram(std::vector<Score>{});
  for (double share : empty) EXPECT_EQ(share, 0.0);
}

TEST(ReportSetEvaluation, FirstBarsCutsLongPiecesOnly) {
  const Score long_piece = melody(60, 1, 10);
  const Score cut = first_bars(long_piece, 4);
  EXPECT_EQ(cut.end_tick(), 4 * 4 * 480);
  EXPECT_EQ(cut.note_count(), 16u);
  EXPECT_EQ(first_bars(long_piece, 0), long_piece);
  EXPECT_EQ(first_bars(long_piece, 12), long_piece);
  // In 3/4 a bar is three quarters.
  Score waltz = long_piece;
  waltz.time_signatures = {{0, 3, 4}};
  EXPECT_EQ(first_bars(waltz, 2).end_tick(), 2 * 3 * 480);
}

TEST(ReportSetEvaluation, OriginalityFiguresFromReports) {
  OriginalityIndex index;
  index.add(melody(60, 2, 8), "training");
  const std::vector<OriginalityReport> reports = {index.check(melody(65, 2, 8)), index.check(melody(60, 5, 8))};
  const OriginalityFigures figures = originality_figures(reports);
  EXPECT_EQ(figures.pieces, 2u);
  ASSERT_EQ(figures.shares.size(), 2u);
  EXPECT_EQ(figures.shares[0].n, 8);
  // The first piece is the training melody transposed (every 8-gram found), the second shares no interval with it.
  EXPECT_DOUBLE_EQ(figures.mean_share(8), 0.5);
  EXPECT_DOUBLE_EQ(figures.shares[0].pooled, 0.5) << "both pieces have 25 8-grams";
  EXPECT_GE(figures.max_longest_notes, 32);
  EXPECT_TRUE(std::isnan(figures.mean_share(4))) << "a size that was not measured";
  EXPECT_EQ(originality_figures({}).pieces, 0u);
}

}  // namespace
}  // namespace cadenza::report
