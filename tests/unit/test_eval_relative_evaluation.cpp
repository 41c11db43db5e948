// Yang & Lerch's intra/inter-set evaluation: distances, Scott's KDE, overlap area and KL divergence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>

#include "common/error.h"
#include "eval/relative_evaluation.h"
#include "support/test_support.h"

namespace cadenza::eval {
namespace {

TEST(EvalRelativeEvaluation, ScottBandwidthAndKdeOfTwoPoints) {
  // Samples {0, 2}: mean 1, standard deviation with n - 1 = sqrt((1 + 1) / 1) = sqrt 2; Scott's factor
  // n^(-1/5) = 2^(-1/5); h = sqrt 2 * 2^(-0.2) = 2^0.3 (about 1.2311).
  const double h = std::sqrt(2.0) * std::pow(2.0, -0.2);
  EXPECT_NEAR(scott_bandwidth({0.0, 2.0}), h, 1e-12);
  EXPECT_NEAR(h, std::pow(2.0, 0.3), 1e-12);
  const GaussianKde kde = GaussianKde::with_scott_bandwidth({0.0, 2.0});
  // At x = 1 both kernels are one unit away: N(1; 0, h^2) = exp(-1 / (2 h^2)) / (h sqrt(2 pi)), about 0.2330.
  const double normal_at_one = std::exp(-1.0 / (2 * h * h)) / (h * std::sqrt(2 * std::numbers::pi));
  EXPECT_NEAR(kde.density(1.0), normal_at_one, 1e-12);
  EXPECT_NEAR(kde.density(1.0), 0.2330, 1e-4);
  // At x = 0: (N(0; 0) + N(0; 2)) / 2 = (1 + exp(-4 / (2 h^2))) / (2 h sqrt(2 pi)).
  EXPECT_NEAR(kde.density(0.0), (1 + std::exp(-2.0 / (h * h))) / (2 * h * std::sqrt(2 * std::numbers::pi)), 1e-12);
  EXPECT_NEAR(kde.density(-1.0), kde.density(3.0), 1e-12);  // symmetric about 1
}

TEST(EvalRelativeEvaluation, DegenerateSamples) {
  EXPECT_EQ(scott_bandwidth({}), 0.0);
  EXPECT_EQ(scott_bandwidth({4.0}), 0.0);
  EXPECT_EQ(scott_bandwidth({4.0, 4.0, 4.0}), 0.0);
  EXPECT_THROW_WITH(GaussianKde::with_scott_bandwidth({4.0, 4.0}), Error,
                    {"Scott's bandwidth is 0", "fewer than two distinct samples"});
  EXPECT_THROW_WITH(GaussianKde({}, 1.0), Error, {"kernel density estimate", "no samples"});
  EXPECT_THROW_WITH(GaussianKde({1.0}, 0.0), Error, {"bandwidth 0", "not positive"});
  EXPECT_THROW_WITH(GaussianKde({std::numeric_limits<double>::infinity()}, 1.0), Error,
                    {"kernel density estimate", "sample inf is not finite"});
  // A KDE with a given bandwidth integrates to 1 (Riemann sum over +-10 bandwidths).
  const GaussianKde one({0.0}, 0.5);
  double mass = 0.0;
  for (double x = -5.0; x <= 5.0; x += 0.001) mass += one.density(x) * 0.001;
  EXPECT_NEAR(mass, 1.0, 1e-6);
}

TEST(EvalRelativeEvaluation, IntraAndInterSetDistances) {
  // {0, 1, 3}: pairs (0,1) (0,3) (1,3) -> 1 3 2.
  std::vector<double> intra = intra_set_distances(std::vector<double>{0.0, 1.0, 3.0});
  std::sort(intra.begin(), intra.end());
  EXPECT_EQ(intra, (std::vector<double>{1.0, 2.0, 3.0}));
  // {0, 1} x {3}: 3, 2.
  EXPECT_EQ(inter_set_distances(std::vector<double>{0.0, 1.0}, std::vector<double>{3.0}),
            (std::vector<double>{3.0, 2.0}));
  // Vectors: Euclidean; (0,0)-(3,4) = 5, (0,0)-(0,1) = 1, (3,4)-(0,1) = sqrt(9 + 9).
  const std::vector<FeatureVector> set = {{0, 0}, {3, 4}, {0, 1}};
  const std::vector<double> vector_intra = intra_set_distances(set);
  ASSERT_EQ(vector_intra.size(), 3u);
  EXPECT_DOUBLE_EQ(vector_intra[0], 5.0);
  EXPECT_DOUBLE_EQ(vector_intra[1], 1.0);
  EXPECT_DOUBLE_EQ(vector_intra[2], std::sqrt(18.0));
  EXPECT_THROW_WITH(intra_set_distances(std::vector<FeatureVector>{{0, 0}, {1, 2, 3}}), Error,
                    {"dimension 3 and 2", "cannot be compared"});
  EXPECT_THROW_WITH(inter_set_distances(std::vector<FeatureVector>{{0, 0}}, std::vector<FeatureVector>{{1}}), Error,
                    {"dimension 1 and 2", "cannot be compared"});
}

TEST(EvalRelativeEvaluation, SameSamplesOverlapFullyWithNoDivergence) {
  const std::vector<double> samples = {0.1, 0.4, 0.45, 1.3, 2.0, 2.2, 3.7};
  const DensityComparison same = compare_densities(samples, samples);
  EXPECT_NEAR(same.overlap_area, 1.0, 1e-6);
  EXPECT_NEAR(same.kl_divergence, 0.0, 1e-9);
  // Point masses at one value are identical too; at two values they are disjoint.
  const DensityComparison points = compare_densities({2.0, 2.0}, {2.0, 2.0, 2.0});
  EXPECT_EQ(points.overlap_area, 1.0);
  EXPECT_EQ(points.kl_divergence, 0.0);
  const DensityComparison apart = compare_densities({0.0, 0.0}, {1.0, 1.0});
  EXPECT_LT(apart.overlap_area, 1e-3);
  EXPECT_GT(apart.kl_divergence, 5.0);
  EXPECT_THROW_WITH(compare_densities({}, {1.0}), Error, {"first set", "no samples"});
  EXPECT_THROW_WITH(compare_densities({1.0}, {std::nan("")}), Error, {"second set", "sample nan is not finite"});
}

TEST(EvalRelativeEvaluation, OverlapOfTwoShiftedGaussiansMatchesTheClosedForm) {
  // Two Gaussians of equal spread sigma whose means differ by d overlap in 2 Phi(-d / (2 sigma)). A KDE of many
  // evenly spread quantiles of N(0, 1) is nearly N(0, 1 + h^2): compare N(0, .) with N(1, .) built that way.
  std::vector<double> p, q;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    // Quantiles of N(0,1) by bisection on erfc: the (i + 0.5) / n quantile.
    const double u = (i + 0.5) / n;
    double lo = -10, hi = 10;
    for (int k = 0; k < 80; ++k) {
      const double mid = (lo + hi) / 2;
      (0.5 * std::erfc(-mid / std::sqrt(2.0)) < u ? lo : hi) = mid;
    }
    p.push_back(lo);
    q.push_back(lo + 1.0);
  }
  const double h = scott_bandwidth(p);
  const double sigma = std::sqrt(1.0 + h * h);
  const double expected = 2 * 0.5 * std::erfc((1.0 / (2 * sigma)) / std::sqrt(2.0));  // 2 Phi(-d / 2 sigma)
  const DensityComparison comparison = compare_densities(p, q);
  EXPECT_NEAR(comparison.overlap_area, expected, 0.01);
  // KL between N(0, s^2) and N(1, s^2) is 1 / (2 s^2).
  EXPECT_NEAR(comparison.kl_divergence, 1.0 / (2 * sigma * sigma), 0.02);
}

TEST(EvalRelativeEvaluation, IdenticalSetsLookAlike) {
  // A = B: the inter-set distances are the intra-set ones (twice) plus n self-distances of 0, so the densities
  // differ only by that 1/n share at 0: overlap near 1, KL near 0.
  std::vector<double> set;
  for (int i = 0; i < 40; ++i) set.push_back(std::fmod(i * 7.31, 13.0));
  const RelativeEvaluation result = relative_evaluation(set, set);
  EXPECT_EQ(result.a_pieces, 40u);
  EXPECT_EQ(result.intra_a.size(), 40u * 39u / 2u);
  EXPECT_EQ(result.inter.size(), 40u * 40u);
  EXPECT_GT(result.intra_a_vs_inter.overlap_area, 0.95);
  EXPECT_LT(result.intra_a_vs_inter.kl_divergence, 0.05);
  EXPECT_DOUBLE_EQ(result.intra_a_vs_inter.overlap_area, result.intra_b_vs_inter.overlap_area);
}

TEST(EvalRelativeEvaluation, SeparatedSetsDoNotOverlap) {
  // A in [0, 1), B in [100, 101): intra distances below 1 (A) against inter distances near 100.
  std::vector<double> a, b;
  for (int i = 0; i < 20; ++i) {
    a.push_back(i * 0.05);
    b.push_back(100.0 + i * 0.05);
  }
  const RelativeEvaluation result = relative_evaluation(a, b);
  EXPECT_LT(result.intra_a_vs_inter.overlap_area, 1e-3);
  EXPECT_LT(result.intra_b_vs_inter.overlap_area, 1e-3);
  EXPECT_GT(result.intra_a_vs_inter.kl_divergence, 5.0);
  EXPECT_NEAR(result.inter_summary.mean, 100.0, 1.0);
  EXPECT_LT(result.intra_a_summary.mean, 1.0);
}

TEST(EvalRelativeEvaluation, VectorFeaturesAndNaNPieces) {
  // Pitch-class histograms: A has a NaN piece (left out and counted), B is A shifted a little.
  std::vector<FeatureVector> a, b;
  for (int i = 0; i < 12; ++i) {
    FeatureVector histogram(12, 0.0);
    histogram[i] = 0.5;
    histogram[(i + 7) % 12] = 0.5;
    a.push_back(histogram);
    histogram[(i + 4) % 12] += 0.1;
    b.push_back(histogram);
  }
  a.push_back(FeatureVector(12, std::nan("")));
  const RelativeEvaluation result = relative_evaluation(a, b);
  EXPECT_EQ(result.a_pieces, 12u);
  EXPECT_EQ(result.a_dropped, 1u);
  EXPECT_EQ(result.b_dropped, 0u);
  EXPECT_EQ(result.intra_a.size(), 66u);
  EXPECT_EQ(result.inter.size(), 144u);
  EXPECT_GT(result.intra_a_vs_inter.overlap_area, 0.0);
  EXPECT_LE(result.intra_a_vs_inter.overlap_area, 1.0);
  const nlohmann::json json = result.to_json();
  EXPECT_EQ(json["a_dropped"], 1);
  EXPECT_EQ(json["intra_a"]["count"], 66);
  EXPECT_TRUE(json["intra_a_vs_inter"]["overlap_area"].is_number());
}

TEST(EvalRelativeEvaluation, TooFewPiecesIsAnError) {
  EXPECT_THROW_WITH(relative_evaluation(std::vector<double>{1.0}, std::vector<double>{1.0, 2.0}), Error,
                    {"at least two pieces", "set A has 1, set B 2"});
  EXPECT_THROW_WITH(relative_evaluation(std::vector<double>{1.0, std::nan("")}, std::vector<double>{1.0, 2.0}), Error,
                    {"at least two pieces", "set A has 1, set B 2"});
  EXPECT_THROW_WITH(relative_evaluation(std::vector<double>{1.0, std::numeric_limits<double>::infinity()},
                                        std::vector<double>{1.0, 2.0}),
                    Error, {"a distance is not finite"});
  const DistanceSummary empty = summarize({});
  EXPECT_EQ(empty.count, 0u);
  EXPECT_TRUE(std::isnan(empty.mean));
  const DistanceSummary two = summarize({1.0, 3.0});
  EXPECT_DOUBLE_EQ(two.mean, 2.0);
  EXPECT_DOUBLE_EQ(two.stddev, 1.0);
}

}  // namespace
}  // namespace cadenza::eval
