// Hash-based train/valid/test assignment.
#include <gtest/gtest.h>

#include "common/error.h"
#include "data/checksum.h"
#include "data/split.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

TEST(DataSplit, ParsesAndNormalizesRatios) {
  SplitRatios ratios = SplitRatios::parse("0.8,0.1,0.1");
  EXPECT_DOUBLE_EQ(ratios.train, 0.8);
  EXPECT_DOUBLE_EQ(ratios.valid, 0.1);
  EXPECT_DOUBLE_EQ(ratios.test, 0.1);
  ratios = SplitRatios::parse("8, 1, 1");
  EXPECT_DOUBLE_EQ(ratios.train, 0.8);
  EXPECT_DOUBLE_EQ(ratios.test, 0.1);
  EXPECT_EQ(SplitRatios::parse("0.7,0.2,0.1").to_string(), "0.7,0.2,0.1");
  for (const char* bad : {"", "0.8,0.2", "0.8,0.1,0.1,0", "a,b,c", "-0.1,0.6,0.5", "0,0,0", "0.8,,0.2", "1e999,0,0"})
    EXPECT_THROW_WITH(SplitRatios::parse(bad), Error, {"bad split '" + std::string(bad) + "'"}) << bad;
}

TEST(DataSplit, FractionsFollowTheRatios) {
  int counts[3] = {0, 0, 0};
  const int total = 20000;
  for (int i = 0; i < total; ++i)
    ++counts[static_cast<int>(split_for_path("folder/tune" + std::to_string(i) + ".mid"))];
  EXPECT_NEAR(counts[0] / double(total), 0.8, 0.015);
  EXPECT_NEAR(counts[1] / double(total), 0.1, 0.01);
  EXPECT_NEAR(counts[2] / double(total), 0.1, 0.01);
}

TEST(DataSplit, DependsOnThePathOnly) {
  // Same path -> same split, whatever was asked before; a different path may differ.
  const Split first = split_for_path("reels/reel17.mid");
  for (int i = 0; i < 100; ++i) split_for_path("other" + std::to_string(i));
  EXPECT_EQ(split_for_path("reels/reel17.mid"), first);
  const double u = split_hash_unit("reels/reel17.mid");
  EXPECT_GE(u, 0.0);
  EXPECT_LT(u, 1.0);
  EXPECT_NE(split_hash_unit("reels/reel17.mid"), split_hash_unit("reels/reel18.mid"));
}

TEST(DataSplit, ExtremeRatiosPutEverythingInOneSplit) {
  for (int i = 0; i < 500; ++i) {
    const std::string path = "x" + std::to_string(i);
    EXPECT_EQ(split_for_path(path, {1.0, 0.0, 0.0}), Split::kTrain);
    EXPECT_EQ(split_for_path(path, {0.0, 1.0, 0.0}), Split::kValid);
    EXPECT_EQ(split_for_path(path, {0.0, 0.0, 1.0}), Split::kTest);
  }
}

TEST(DataSplit, HashFunctionsAreTheDocumentedOnes) {
  // FNV-1a 64 test vectors (from the reference implementation); a change here would reshuffle every split.
  EXPECT_EQ(fnv1a64(std::string_view("")), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64(std::string_view("a")), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64(std::string_view("foobar")), 0x85944171f73967e8ULL);
  // CRC-32 check value of "123456789".
  const std::string check = "123456789";
  EXPECT_EQ(crc32_of(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(check.data()), check.size())),
            0xCBF43926u);
  const std::vector<uint8_t> bytes = {'a'};
  EXPECT_EQ(content_hash(bytes), "fnv1a64:af63dc4c8601ec8c");
}

TEST(DataSplit, ParsesSplitNames) {
  EXPECT_EQ(parse_split("train"), Split::kTrain);
  EXPECT_EQ(parse_split("valid"), Split::kValid);
  EXPECT_EQ(parse_split("validation"), Split::kValid);
  EXPECT_EQ(parse_split("test"), Split::kTest);
  EXPECT_THROW_WITH(parse_split("dev"), Error, {"unknown split 'dev'", "train, valid or test"});
}

}  // namespace
}  // namespace cadenza
