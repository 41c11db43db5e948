// sample_token(): masking, temperature, top-k, top-p and the seeded draw, against hand-computed distributions; the
// sampling defaults a checkpoint carries beside it (generation.json).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "generate/sampling.h"
#include "generate/sampling_defaults.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

std::vector<int> histogram(const std::vector<float>& logits, const std::vector<uint8_t>* mask,
                           const SamplingOptions& options, int draws, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) {
    const int token =
        sample_token(logits.data(), static_cast<int>(logits.size()), mask ? mask->data() : nullptr, options, rng);
    EXPECT_GE(token, 0);
    EXPECT_LT(token, static_cast<int>(logits.size()));
    ++counts[token];
  }
  return counts;
}

// Log-probabilities so that softmax gives exactly the listed probabilities.
std::vector<float> logits_of(const std::vector<double>& probabilities) {
  std::vector<float> logits;
  for (double p : probabilities) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// Pearson chi-square of counts against expected probabilities (cells with probability 0 must have count 0).
double chi_square(const std::vector<int>& counts, const std::vector<double>& expected, int draws) {
  double chi = 0.0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (expected[i] == 0.0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " has probability 0";
      continue;
    }
    const double e = expected[i] * draws;
    chi += (counts[i] - e) * (counts[i] - e) / e;
  }
  return chi;
}

TEST(GenerateSampling, GreedyPicksArgmaxAmongAllowed) {
  const std::vector<float> logits = {0.5f, 3.0f, 2.0f, -1.0f};
  SamplingOptions greedy;
  greedy.temperature = 0.0;
  std::mt19937_64 rng(3);
  EXPECT_EQ(sample_token(logits.data(), 4, nullptr, greedy, rng), 1);
  const std::vector<uint8_t> mask = {1, 0, 1, 1};
  EXPECT_EQ(sample_token(logits.data(), 4, mask.data(), greedy, rng), 2);
  const std::vector<uint8_t> only_last = {0, 0, 0, 1};
  EXPECT_EQ(sample_token(logits.data(), 4, only_last.data(), greedy, rng), 3);
}

TEST(GenerateSampling, MaskedTokenIsNeverDrawn) {
  const std::vector<float> logits = {1.0f, 5.0f, 1.0f, 0.0f};  // token 1 would dominate if allowed
  const std::vector<uint8_t> mask = {1, 0, 1, 1};
  const auto counts = histogram(logits, &mask, SamplingOptions{}, 100000);
  EXPECT_EQ(counts[1], 0);
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[3], 0);
}

TEST(GenerateSampling, UnmaskedDrawsFollowSoftmax) {
  const std::vector<double> p = {0.5, 0.3, 0.15, 0.05};
  const int draws = 200000;
  const auto counts = histogram(logits_of(p), nullptr, SamplingOptions{}, draws);
  EXPECT_LT(chi_square(counts, p, draws), 16.3);  // 3 degrees of freedom, p = 0.001
}

TEST(GenerateSampling, TopKOneIsGreedy) {
  const std::vector<float> logits = {0.1f, 0.2f, 2.5f, 2.4f, -3.0f};
  SamplingOptions options;
  options.top_k = 1;
  const auto counts = histogram(logits, nullptr, options, 5000);
  EXPECT_EQ(counts[2], 5000);
}

TEST(GenerateSampling, TopKTwoDrawsOnlyTheTwoLargestInTheirRatio) {
  const std::vector<double> p = {0.1, 0.4, 0.2, 0.3};
  SamplingOptions options;
  options.top_k = 2;
  const int draws = 200000;
  const auto counts = histogram(logits_of(p), nullptr, options, draws);
  // Renormalised over {1, 3}: 0.4 / 0.7 and 0.3 / 0.7.
  EXPECT_LT(chi_square(counts, {0.0, 4.0 / 7.0, 0.0, 3.0 / 7.0}, draws), 10.8);  // 1 dof, p = 0.001
}

TEST(GenerateSampling, TopKAppliesAfterTheMask) {
  const std::vector<double> p = {0.1, 0.4, 0.2, 0.3};
  const std::vector<uint8_t> mask = {1, 0, 1, 1};
  SamplingOptions options;
  options.top_k = 2;
  const int draws = 100000;
  const auto counts = histogram(logits_of(p), &mask, options, draws);
  EXPECT_LT(chi_square(counts, {0.0, 0.0, 0.4, 0.6}, draws), 10.8);
}

TEST(GenerateSampling, TopPHalfOnSixThreeOneAlwaysPicksTheFirst) {
  SamplingOptions options;
  options.top_p = 0.5;
  const auto counts = histogram(logits_of({0.6, 0.3, 0.1}), nullptr, options, 20000);
  EXPECT_EQ(counts[0], 20000);
}

TEST(GenerateSampling, TopPKeepsTheSmallestNucleus) {
  // p = 0.8 on [0.1, 0.5, 0.3, 0.1]: 0.5 + 0.3 = 0.8 reaches it, so the nucleus is {1, 2} renormalised.
  SamplingOptions options;
  options.top_p = 0.8;
  const int draws = 100000;
  const auto counts = histogram(logits_of({0.1, 0.5, 0.3, 0.1}), nullptr, options, draws);
  EXPECT_LT(chi_square(counts, {0.0, 0.625, 0.375, 0.0}, draws), 10.8);
}

TEST(GenerateSampling, TinyTemperatureApproachesGreedy) {
  SamplingOptions options;
  options.temperature = 1e-3;
  const auto counts = histogram({1.0f, 1.1f, 0.9f}, nullptr, options, 20000);
  EXPECT_EQ(counts[1], 20000);
}

TEST(GenerateSampling, HugeTemperatureApproachesUniform) {
  SamplingOptions options;
  options.temperature = 1e6;
  const int draws = 100000;
  const auto counts = histogram({5.0f, 0.0f, -5.0f, 2.0f}, nullptr, options, draws);
  EXPECT_LT(chi_square(counts, {0.25, 0.25, 0.25, 0.25}, draws), 16.3);
}

TEST(GenerateSampling, TemperatureSharpensTheDistribution) {
  // Temperature 0.5 squares the probabilities before renormalising: [0.6, 0.4] -> [0.36, 0.16] / 0.52.
  SamplingOptions options;
  options.temperature = 0.5;
  const int draws = 100000;
  const auto counts = histogram(logits_of({0.6, 0.4}), nullptr, options, draws);
  EXPECT_LT(chi_square(counts, {0.36 / 0.52, 0.16 / 0.52}, draws), 10.8);
}

TEST(GenerateSampling, SameSeedSameSequenceOtherSeedDiffers) {
  const std::vector<float> logits = {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f};
  auto sequence = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<int> tokens;
    for (int i = 0; i < 200; ++i) tokens.push_back(sample_token(logits.data(), 8, nullptr, SamplingOptions{}, rng));
    return tokens;
  };
  EXPECT_EQ(sequence(42), sequence(42));
  EXPECT_NE(sequence(42), sequence(43));
}

TEST(GenerateSampling, InvalidOptionsAndEmptyMaskAreErrors) {
  const std::vector<float> logits = {0.0f, 1.0f};
  std::mt19937_64 rng(0);
  auto draw = [&](SamplingOptions options, const uint8_t* mask = nullptr, int vocab = 2) {
    return sample_token(logits.data(), vocab, mask, options, rng);
  };
  EXPECT_THROW_WITH(draw({.temperature = -1.0}), Error, {"temperature must be a finite number >= 0", "got -1"});
  EXPECT_THROW_WITH(draw({.temperature = NAN}), Error, {"temperature must be a finite number >= 0", "got nan"});
  EXPECT_THROW_WITH(draw({.top_k = -1}), Error, {"top_k must be >= 0", "got -1"});
  EXPECT_THROW_WITH(draw({.top_p = 0.0}), Error, {"top_p must be in (0, 1]", "got 0"});
  EXPECT_THROW_WITH(draw({.top_p = 1.5}), Error, {"top_p must be in (0, 1]", "got 1.5"});
  EXPECT_THROW_WITH(draw({}, nullptr, 0), Error, {"vocabulary size must be positive", "got 0"});
  const std::vector<uint8_t> none = {0, 0};
  EXPECT_THROW_WITH(draw({}, none.data()), Error, {"no token is allowed", "empty mask"});
  EXPECT_NO_THROW(draw({.top_k = 5}));  // k larger than the vocabulary keeps everything
}

// generation.json beside a checkpoint: absent = no defaults; a temperature is read; anything malformed names the file.
TEST(GenerateSamplingDefaults, ReadBesideTheCheckpointOrAbsent) {
  testing::TempDir dir;
  const std::string checkpoint = dir.file("model.safetensors");  // only its folder matters
  EXPECT_EQ(sampling_defaults_path(checkpoint), dir.file("generation.json"));
  const SamplingDefaults none = read_sampling_defaults(checkpoint);
  EXPECT_FALSE(none.temperature.has_value());
  EXPECT_TRUE(none.source.empty());

  write_file_atomic(dir.file("generation.json"), std::string(R"({"temperature": 0.85})"));
  const SamplingDefaults read = read_sampling_defaults(checkpoint);
  ASSERT_TRUE(read.temperature.has_value());
  EXPECT_DOUBLE_EQ(*read.temperature, 0.85);
  EXPECT_EQ(read.source, dir.file("generation.json"));

  write_file_atomic(dir.file("generation.json"), std::string("{}"));  // a file with no setting changes nothing
  EXPECT_FALSE(read_sampling_defaults(checkpoint).temperature.has_value());
  write_file_atomic(dir.file("generation.json"), std::string(R"({"temperature": 0})"));  // 0 = most likely
  EXPECT_DOUBLE_EQ(*read_sampling_defaults(checkpoint).temperature, 0.0);
}

TEST(GenerateSamplingDefaults, MalformedFilesAreErrorsNamingFileKeyAndValue) {
  testing::TempDir dir;
  const std::string checkpoint = dir.file("model.safetensors");
  const std::string file = dir.file("generation.json");
  auto with = [&](const std::string& text) {
    write_file_atomic(file, text);
    return read_sampling_defaults(checkpoint);
  };
  EXPECT_THROW_WITH(with(R"({"temprature": 0.9})"), FormatError,
                    {file, "unknown key \"temprature\"", "known: temperature"});
  EXPECT_THROW_WITH(with(R"({"temperature": -0.5})"), FormatError,
                    {file, "\"temperature\" must be a number in [0, 5]", "got -0.5"});
  EXPECT_THROW_WITH(with(R"({"temperature": 7})"), FormatError, {file, "must be a number in [0, 5]", "got 7"});
  EXPECT_THROW_WITH(with(R"({"temperature": "warm"})"), FormatError, {file, "must be a number", "got \"warm\""});
  EXPECT_THROW_WITH(with("[0.9]"), FormatError, {file, "must be a JSON object", "got [0.9]"});
  EXPECT_THROW_WITH(with("{\"temperature\": 0.9"), FormatError, {file, "not valid JSON"});
}

}  // namespace
}  // namespace cadenza
