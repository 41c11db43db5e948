// Comparing a set of pieces with a reference set for the report: the musical statistics side by side with their
// overlap area, pitch-class histograms and the originality figures. Torch-free, on Scores.
#pragma once

#include <array>
#include <span>
#include <vector>

#include "eval/musical_metrics.h"
#include "eval/originality.h"
#include "report/comparison.h"
#include "score/score.h"

namespace cadenza::report {

// For each statistic of the first set of `pieces` (all sets must have the same names, in eval::compute_all's
// order): the mean over the pieces and over the reference pieces (NaN values skipped), the overlap area and KL of
// the two value distributions (eval::compare_densities) and Yang & Lerch's intra/inter overlap, when both sets have
// at least two defined values; NaN otherwise. An empty `pieces` gives the reference's names with NaN figures.
// Throws Error when the sets do not all have the same statistic names.
std::vector<MetricComparison> compare_metric_sets(const std::vector<eval::MetricSet>& pieces,
                                                  const std::vector<eval::MetricSet>& reference);

// The share of non-drum notes per pitch class (C = 0) over all pieces; all zeros when there is no such note.
std::array<double, 12> pitch_class_histogram(std::span<const Score> pieces);

// The report's originality figures from eval::summarize().
OriginalityFigures originality_figures(std::span<const OriginalityReport> reports);

// The first `bars` 4/4 bars of the piece (clip(), bars of the piece's own meter: bars() of score/operations.h), so
// that statistics whose value grows with length (pitch range, pitches used) compare pieces of the length the models
// generate. bars <= 0 or a piece shorter than that returns it unchanged.
Score first_bars(const Score& score, int bars);

}  // namespace cadenza::report
