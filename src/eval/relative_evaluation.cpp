#include "eval/relative_evaluation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>

#include "common/error.h"

namespace cadenza::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_samples(const std::vector<double>& samples, const char* what) {
  if (samples.empty()) throw Error(std::string(what) + ": no samples");
  for (double sample : samples)
    if (!std::isfinite(sample))
      throw Error(std::string(what) + ": sample " + std::to_string(sample) + " is not finite");
}

// Probability mass of a Gaussian KDE at each of `count` grid points lo + i * step: the samples are spread
// linearly onto their two neighbouring grid points, then convolved with the kernel sampled on the grid and
// normalized to mass 1 (so a sample's mass is kept whatever the bandwidth / step ratio).
std::vector<double> grid_masses(const std::vector<double>& samples, double bandwidth, double lo, double step,
                                int count) {
  std::vector<double> binned(count, 0.0);
  for (double sample : samples) {
    const double position = std::clamp((sample - lo) / step, 0.0, static_cast<double>(count - 1));
    const auto index = std::min(static_cast<int>(position), count - 2);
    const double fraction = position - index;
    binned[index] += 1.0 - fraction;
    binned[index + 1] += fraction;
  }
  const int half = std::min(count - 1, static_cast<int>(std::ceil(5.0 * bandwidth / step)));
  std::vector<double> kernel(2 * half + 1);
  double kernel_sum = 0.0;
  for (int j = -half; j <= half; ++j) {
    const double z = j * step / bandwidth;
    kernel[j + half] = std::exp(-0.5 * z * z);
    kernel_sum += kernel[j + half];
  }
  const double scale = 1.0 / (kernel_sum * static_cast<double>(samples.size()));
  std::vector<double> masses(count, 0.0);
  for (int i = 0; i < count; ++i) {
    if (binned[i] == 0.0) continue;
    const int from = std::max(0, i - half), to = std::min(count - 1, i + half);
    for (int k = from; k <= to; ++k) masses[k] += binned[i] * kernel[k - i + half] * scale;
  }
  return masses;
}

template <typename Distance, typename Item>
std::vector<double> pairwise(const std::vector<Item>& set, Distance&& distance) {
  const size_t n = set.size();
  if (n > 1 && n * (n - 1) / 2 > kMaxDistances)
    throw Error("relative evaluation: " + std::to_string(n) + " pieces give more than " +
                std::to_string(kMaxDistances) + " intra-set distances");
  std::vector<double> result;
  result.reserve(n > 1 ? n * (n - 1) / 2 : 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) result.push_back(distance(set[i], set[j]));
  return result;
}

template <typename Distance, typename Item>
std::vector<double> crosswise(const std::vector<Item>& a, const std::vector<Item>& b, Distance&& distance) {
  if (!a.empty() && b.size() > kMaxDistances / a.size())
    throw Error("relative evaluation: " + std::to_string(a.size()) + " x " + std::to_string(b.size()) +
                " pieces give more than " + std::to_string(kMaxDistances) + " inter-set distances");
  std::vector<double> result;
  result.reserve(a.size() * b.size());
  for (const auto& x : a)
    for (const auto& y : b) result.push_back(distance(x, y));
  return result;
}

double scalar_distance(double x, double y) {
  return std::fabs(x - y);
}

double euclidean(const FeatureVector& x, const FeatureVector& y) {
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) sum += (x[i] - y[i]) * (x[i] - y[i]);
  return std::sqrt(sum);
}

void check_dimensions(const std::vector<FeatureVector>& a, const std::vector<FeatureVector>& b) {
  const FeatureVector* first = !a.empty() ? &a.front() : !b.empty() ? &b.front() : nullptr;
  if (!first) return;
  for (const auto* set : {&a, &b})
    for (const auto& vector : *set)
      if (vector.size() != first->size())
        throw Error("relative evaluation: feature vectors of dimension " + std::to_string(vector.size()) + " and " +
                    std::to_string(first->size()) + " cannot be compared");
}

bool has_nan(double value) {
  return std::isnan(value);
}
bool has_nan(const FeatureVector& vector) {
  return std::any_of(vector.begin(), vector.end(), [](double value) { return std::isnan(value); });
}

template <typename Item>
std::vector<Item> without_nan(const std::vector<Item>& set, size_t& dropped) {
  std::vector<Item> kept;
  for (const auto& item : set)
    if (!has_nan(item)) kept.push_back(item);
  dropped = set.size() - kept.size();
  return kept;
}

template <typename Item, typename Distance>
RelativeEvaluation evaluate(const std::vector<Item>& a_in, const std::vector<Item>& b_in, Distance&& distance) {
  RelativeEvaluation result;
  const std::vector<Item> a = without_nan(a_in, result.a_dropped);
  const std::vector<Item> b = without_nan(b_in, result.b_dropped);
  result.a_pieces = a.size();
  result.b_pieces = b.size();
  if (a.size() < 2 || b.size() < 2)
    throw Error("relative evaluation needs at least two pieces with a value in each set (set A has " +
                std::to_string(a.size()) + ", set B " + std::to_string(b.size()) + ")");
  result.intra_a = pairwise(a, distance);
  result.intra_b = pairwise(b, distance);
  result.inter = crosswise(a, b, distance);
  for (const auto* distances : {&result.intra_a, &result.intra_b, &result.inter})
    for (double value : *distances)
      if (!std::isfinite(value)) throw Error("relative evaluation: a distance is not finite (infinite feature?)");
  result.intra_a_summary = summarize(result.intra_a);
  result.intra_b_summary = summarize(result.intra_b);
  result.inter_summary = summarize(result.inter);
  result.intra_a_vs_inter = compare_densities(result.intra_a, result.inter);
  result.intra_b_vs_inter = compare_densities(result.intra_b, result.inter);
  return result;
}

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nullptr;
}

nlohmann::json summary_json(const DistanceSummary& summary) {
  return {{"count", summary.count}, {"mean", number_or_null(summary.mean)}, {"std", number_or_null(summary.stddev)}};
}

nlohmann::json comparison_json(const DensityComparison& comparison) {
  return {{"overlap_area", number_or_null(comparison.overlap_area)},
          {"kl_divergence", number_or_null(comparison.kl_divergence)}};
}

}  // namespace

double scott_bandwidth(const std::vector<double>& samples) {
  const size_t n = samples.size();
  if (n < 2) return 0.0;
  double mean = 0.0;
  for (double sample : samples) mean += sample;
  mean /= static_cast<double>(n);
  double squares = 0.0;
  for (double sample : samples) squares += (sample - mean) * (sample - mean);
  const double stddev = std::sqrt(squares / static_cast<double>(n - 1));
  return stddev * std::pow(static_cast<double>(n), -0.2);
}

GaussianKde::GaussianKde(std::vector<double> samples, double bandwidth)
    : samples_(std::move(samples)), bandwidth_(bandwidth) {
  check_samples(samples_, "kernel density estimate");
  if (!std::isfinite(bandwidth) || bandwidth <= 0.0)
    throw Error("kernel density estimate: bandwidth " + std::to_string(bandwidth) + " is not positive");
}

GaussianKde GaussianKde::with_scott_bandwidth(std::vector<double> samples) {
  check_samples(samples, "kernel density estimate");
  const double bandwidth = scott_bandwidth(samples);
  if (bandwidth <= 0.0)
    throw Error("kernel density estimate: Scott's bandwidth is 0 (fewer than two distinct samples)");
  return GaussianKde(std::move(samples), bandwidth);
}

double GaussianKde::density(double x) const {
  const double norm = 1.0 / (bandwidth_ * std::sqrt(2.0 * std::numbers::pi));
  double sum = 0.0;
  for (double sample : samples_) {
    const double z = (x - sample) / bandwidth_;
    sum += std::exp(-0.5 * z * z);
  }
  return norm * sum / static_cast<double>(samples_.size());
}

DensityComparison compare_densities(const std::vector<double>& p_samples, const std::vector<double>& q_samples,
                                    int grid_points) {
  check_samples(p_samples, "density comparison (first set)");
  check_samples(q_samples, "density comparison (second set)");
  if (grid_points < 64) throw Error("density comparison: grid of " + std::to_string(grid_points) + " points");
  const auto [p_min, p_max] = std::minmax_element(p_samples.begin(), p_samples.end());
  const auto [q_min, q_max] = std::minmax_element(q_samples.begin(), q_samples.end());
  const double lowest = std::min(*p_min, *q_min), highest = std::max(*p_max, *q_max);
  double p_bandwidth = scott_bandwidth(p_samples), q_bandwidth = scott_bandwidth(q_samples);
  const double widest = std::max(p_bandwidth, q_bandwidth);
  if (highest == lowest && widest == 0.0) return {1.0, 0.0};  // one and the same point mass
  const double floor = 4.0 * ((highest - lowest) + 10.0 * widest) / (grid_points - 1);
  p_bandwidth = std::max(p_bandwidth, floor);
  q_bandwidth = std::max(q_bandwidth, floor);
  const double margin = 5.0 * std::max(p_bandwidth, q_bandwidth);
  const double lo = lowest - margin, step = (highest - lowest + 2.0 * margin) / (grid_points - 1);
  const std::vector<double> p = grid_masses(p_samples, p_bandwidth, lo, step, grid_points);
  const std::vector<double> q = grid_masses(q_samples, q_bandwidth, lo, step, grid_points);
  DensityComparison comparison;
  for (int i = 0; i < grid_points; ++i) {
    comparison.overlap_area += std::min(p[i], q[i]);
    if (p[i] > 0.0) comparison.kl_divergence += p[i] * std::log(p[i] / std::max(q[i], kKlFloor));
  }
  comparison.overlap_area = std::min(comparison.overlap_area, 1.0);
  comparison.kl_divergence = std::max(comparison.kl_divergence, 0.0);
  return comparison;
}

std::vector<double> intra_set_distances(const std::vector<double>& set) {
  return pairwise(set, scalar_distance);
}

std::vector<double> inter_set_distances(const std::vector<double>& a, const std::vector<double>& b) {
  return crosswise(a, b, scalar_distance);
}

std::vector<double> intra_set_distances(const std::vector<FeatureVector>& set) {
  check_dimensions(set, {});
  return pairwise(set, euclidean);
}

std::vector<double> inter_set_distances(const std::vector<FeatureVector>& a, const std::vector<FeatureVector>& b) {
  check_dimensions(a, b);
  return crosswise(a, b, euclidean);
}

DistanceSummary summarize(const std::vector<double>& values) {
  DistanceSummary summary;
  summary.count = values.size();
  if (values.empty()) return {0, kNaN, kNaN};
  for (double value : values) summary.mean += value;
  summary.mean /= static_cast<double>(values.size());
  double squares = 0.0;
  for (double value : values) squares += (value - summary.mean) * (value - summary.mean);
  summary.stddev = std::sqrt(squares / static_cast<double>(values.size()));
  return summary;
}

RelativeEvaluation relative_evaluation(const std::vector<double>& a, const std::vector<double>& b) {
  return evaluate(a, b, scalar_distance);
}

RelativeEvaluation relative_evaluation(const std::vector<FeatureVector>& a, const std::vector<FeatureVector>& b) {
  check_dimensions(a, b);
  return evaluate(a, b, euclidean);
}

nlohmann::json RelativeEvaluation::to_json() const {
  return {{"a_pieces", a_pieces},
          {"b_pieces", b_pieces},
          {"a_dropped", a_dropped},
          {"b_dropped", b_dropped},
          {"intra_a", summary_json(intra_a_summary)},
          {"intra_b", summary_json(intra_b_summary)},
          {"inter", summary_json(inter_summary)},
          {"intra_a_vs_inter", comparison_json(intra_a_vs_inter)},
          {"intra_b_vs_inter", comparison_json(intra_b_vs_inter)}};
}

}  // namespace cadenza::eval
