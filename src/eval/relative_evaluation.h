// Relative (intra-set / inter-set) evaluation of Yang & Lerch, "On the evaluation of generative models in music"
// (Neural Computing and Applications, 2020; their toolbox is mgeval).
//
// For one feature measured on every piece of two sets A (e.g. generated) and B (e.g. training data):
//   intra-set distances: |x_i - x_j| between the pieces of one set (each unordered pair once);
//   inter-set distances: |a_i - b_j| for every piece of A against every piece of B;
// each smoothed into a probability density with a Gaussian kernel density estimate (Scott's bandwidth), then
//   overlap area  OA = integral of min(p, q)          (1 = the same distribution, 0 = disjoint);
//   KL divergence KL(p || q) = integral of p ln(p / q)  (nats; q floored so disjoint densities stay finite),
// with p = the intra-set density of A (and, separately, of B) and q = the inter-set density: when generated pieces
// differ from one another the way they differ from the training pieces, OA is near 1 and KL near 0.
// Vector features (a pitch-class histogram, a transition matrix flattened) use the Euclidean distance.
// docs/metrics.md lists where we differ from mgeval.
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <vector>

namespace cadenza::eval {

// Scott's rule as scipy.stats.gaussian_kde applies it in one dimension: the sample standard deviation (n - 1 in
// the denominator) times n^(-1/5). 0 when there are fewer than two samples or they are all equal.
double scott_bandwidth(const std::vector<double>& samples);

// A one-dimensional Gaussian kernel density estimate: density(x) = mean over samples s of N(x; s, h^2).
class GaussianKde {
 public:
  // Throws Error if samples is empty, a sample is not finite, or bandwidth is not finite and positive.
  GaussianKde(std::vector<double> samples, double bandwidth);
  // With Scott's bandwidth; throws Error when that is 0 (fewer than two distinct values).
  static GaussianKde with_scott_bandwidth(std::vector<double> samples);

  double bandwidth() const { return bandwidth_; }
  const std::vector<double>& samples() const { return samples_; }
  double density(double x) const;  // exact sum over the samples

 private:
  std::vector<double> samples_;
  double bandwidth_;
};

struct DensityComparison {
  double overlap_area = 0.0;
  double kl_divergence = 0.0;  // KL(p || q), nats
};

// Estimates p from p_samples and q from q_samples (Scott's bandwidth each) and compares them on a grid of
// grid_points points spanning all samples plus five bandwidths on either side. The densities on the grid come
// from linear binning and a discrete Gaussian kernel, so the cost is grid_points x kernel width, however many
// samples there are. Resolution floor: each bandwidth (Scott's 0 for a set of equal values included) is raised
// to at least 4 / (grid_points - 1) of (sample range + 10 x the larger Scott bandwidth), about four grid steps,
// so a narrow density stays resolved instead of falling between grid points. Two point masses at the same value
// are identical (overlap 1, KL 0). KL sums p_i ln(p_i / max(q_i, kKlFloor)) over the grid's probability masses.
// Throws Error on an empty set, a non-finite sample or grid_points < 64.
inline constexpr double kKlFloor = 1e-10;
DensityComparison compare_densities(const std::vector<double>& p_samples, const std::vector<double>& q_samples,
                                    int grid_points = 4096);

using FeatureVector = std::vector<double>;
std::vector<double> intra_set_distances(const std::vector<double>& set);
std::vector<double> inter_set_distances(const std::vector<double>& a, const std::vector<double>& b);
// Euclidean; throws Error when the vectors do not all have the same dimension.
std::vector<double> intra_set_distances(const std::vector<FeatureVector>& set);
std::vector<double> inter_set_distances(const std::vector<FeatureVector>& a, const std::vector<FeatureVector>& b);

struct DistanceSummary {
  size_t count = 0;
  double mean = 0.0;
  double stddev = 0.0;  // population standard deviation
};
DistanceSummary summarize(const std::vector<double>& values);  // NaN mean/stddev when empty

struct RelativeEvaluation {
  size_t a_pieces = 0, b_pieces = 0;    // pieces used
  size_t a_dropped = 0, b_dropped = 0;  // pieces whose feature was NaN (e.g. drum metrics of a drum-less piece)
  std::vector<double> intra_a, intra_b, inter;
  DistanceSummary intra_a_summary, intra_b_summary, inter_summary;
  DensityComparison intra_a_vs_inter;  // the usual headline numbers: KL(intra A || inter), OA(intra A, inter)
  DensityComparison intra_b_vs_inter;
  // Counts, summaries and comparisons (not the raw distances); NaN becomes null.
  nlohmann::json to_json() const;
};

// Pieces whose feature is NaN (any component, for vectors) are left out and counted. Throws Error when a set
// keeps fewer than two pieces, or when there would be more than kMaxDistances distances of one kind.
inline constexpr size_t kMaxDistances = size_t{1} << 25;
RelativeEvaluation relative_evaluation(const std::vector<double>& a, const std::vector<double>& b);
RelativeEvaluation relative_evaluation(const std::vector<FeatureVector>& a, const std::vector<FeatureVector>& b);

}  // namespace cadenza::eval
