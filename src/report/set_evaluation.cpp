#include "report/set_evaluation.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "eval/relative_evaluation.h"
#include "score/operations.h"

namespace cadenza::report {

namespace {

// The defined values of statistic `index` over the sets.
std::vector<double> defined_values(const std::vector<eval::MetricSet>& sets, size_t index) {
  std::vector<double> values;
  values.reserve(sets.size());
  for (const auto& set : sets) {
    const double value = set.entries()[index].second;
    if (std::isfinite(value)) values.push_back(value);
  }
  return values;
}

double mean_of(const std::vector<double>& values) {
  if (values.empty()) return kNotMeasured;
  double sum = 0;
  for (double value : values) sum += value;
  return sum / static_cast<double>(values.size());
}

std::string names_of(const eval::MetricSet& set) {
  std::string names;
  for (const auto& [name, value] : set.entries()) names += (names.empty() ? "" : ", ") + name;
  return names.empty() ? "none" : names;
}

// `what` names one element of `sets` in the message ("piece", "reference piece").
void check_same_names(const std::vector<eval::MetricSet>& sets, const eval::MetricSet& first, const char* what) {
  for (size_t index = 0; index < sets.size(); ++index) {
    const auto& set = sets[index];
    bool same = set.size() == first.size();
    for (size_t i = 0; same && i < set.size(); ++i) same = set.entries()[i].first == first.entries()[i].first;
    if (!same)
      throw Error(std::string("compare_metric_sets: ") + what + " " + std::to_string(index) + " has the statistics " +
                  names_of(set) + ", but the first piece has " + names_of(first));
  }
}

// At most `limit` values spread evenly over the set: Yang & Lerch's intra-set distances grow with the square of
// the set, and a few thousand pieces describe a distribution well enough.
std::vector<double> spread_subset(const std::vector<double>& values, size_t limit) {
  if (values.size() <= limit) return values;
  std::vector<double> subset;
  subset.reserve(limit);
  for (size_t i = 0; i < limit; ++i) subset.push_back(values[i * values.size() / limit]);
  return subset;
}

constexpr size_t kMaxRelativePieces = 2000;

}  // namespace

std::vector<MetricComparison> compare_metric_sets(const std::vector<eval::MetricSet>& pieces,
                                                  const std::vector<eval::MetricSet>& reference) {
  std::vector<MetricComparison> comparisons;
  const eval::MetricSet* names = !pieces.empty() ? &pieces.front() : !reference.empty() ? &reference.front() : nullptr;
  if (names == nullptr) return comparisons;
  check_same_names(pieces, *names, "piece");
  check_same_names(reference, *names, "reference piece");
  for (size_t i = 0; i < names->size(); ++i) {
    MetricComparison comparison;
    comparison.name = names->entries()[i].first;
    const std::vector<double> values = pieces.empty() ? std::vector<double>() : defined_values(pieces, i);
    const std::vector<double> reference_values =
        reference.empty() ? std::vector<double>() : defined_values(reference, i);
    comparison.pieces = values.size();
    comparison.reference_pieces = reference_values.size();
    comparison.mean = mean_of(values);
    comparison.reference_mean = mean_of(reference_values);
    comparison.reference_constant =
        reference_values.size() >= 2 && std::all_of(reference_values.begin(), reference_values.end(),
                                                    [&](double value) { return value == reference_values.front(); });
    if (values.size() >= 2 && reference_values.size() >= 2) {
      const eval::DensityComparison densities = eval::compare_densities(values, reference_values);
      comparison.overlap_area = densities.overlap_area;
      comparison.kl_divergence = densities.kl_divergence;
      const eval::RelativeEvaluation relative = eval::relative_evaluation(
          spread_subset(values, kMaxRelativePieces), spread_subset(reference_values, kMaxRelativePieces));
      comparison.intra_inter_overlap = relative.intra_b_vs_inter.overlap_area;
    }
    comparisons.push_back(std::move(comparison));
  }
  return comparisons;
}

std::array<double, 12> pitch_class_histogram(std::span<const Score> pieces) {
  std::array<double, 12> counts{};
  double total = 0;
  for (const Score& score : pieces)
    for (const Track& track : score.tracks) {
      if (track.is_drum) continue;
      for (const Note& note : track.notes) {
        if (note.pitch < 0 || note.pitch > 127) continue;
        counts[static_cast<size_t>(note.pitch % 12)] += 1;
        total += 1;
      }
    }
  if (total > 0)
    for (double& count : counts) count /= total;
  return counts;
}

OriginalityFigures originality_figures(std::span<const OriginalityReport> reports) {
  OriginalityFigures figures;
  figures.pieces = reports.size();
  if (reports.empty()) return figures;
  const OriginalitySummary summary = summarize(reports);
  figures.mean_longest_notes = summary.mean_longest_notes;
  figures.max_longest_notes = static_cast<double>(summary.max_longest_notes);
  figures.mean_longest_bars = summary.mean_longest_bars;
  for (const auto& share : summary.shares) figures.shares.push_back({share.n, share.mean, share.pooled, share.pieces});
  return figures;
}

Score first_bars(const Score& score, int bars_wanted) {
  if (bars_wanted <= 0) return score;
  const std::vector<Bar> all = bars(score);
  if (all.size() <= static_cast<size_t>(bars_wanted)) return score;
  Score cut = clip(score, 0, all[static_cast<size_t>(bars_wanted)].start_tick);
  cut.source = score.source;
  return cut;
}

}  // namespace cadenza::report
