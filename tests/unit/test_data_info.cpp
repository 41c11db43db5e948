// Statistics reported by `dataset info`.
#include <gtest/gtest.h>

#include "data/dataset_info.h"
#include "data/shard.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

TEST(DataInfo, LengthStatsUseTheLowerMedian) {
  LengthStats stats = length_stats({5, 1, 9, 3});
  EXPECT_EQ(stats.pieces, 4u);
  EXPECT_EQ(stats.total, 18u);
  EXPECT_EQ(stats.min, 1u);
  EXPECT_EQ(stats.median, 3u);
  EXPECT_EQ(stats.max, 9u);
  EXPECT_EQ(length_stats({7, 2, 4}).median, 4u);
  EXPECT_EQ(length_stats({}).pieces, 0u);
}

TEST(DataInfo, CountsTokensPerSplitAndRanksThem) {
  testing::TempDir dir;
  ShardMetadata metadata;
  metadata.encoding = {{"name", "synthetic"}};
  metadata.vocabulary = {"A", "B", "C", "D", "E"};
  metadata.sources = {{"s", 1, "h"}};
  metadata.skipped = {{"bad1.mid", "r1"}, {"bad2.mid", "r2"}, {"bad3.mid", "r3"},
                      {"bad4.mid", "r4"}, {"bad5.mid", "r5"}, {"bad6.mid", "r6"}};
  ShardWriter writer(metadata);
  writer.add_tokens(0, Split::kTrain, std::vector<Token>{2, 2, 2, 1});
  writer.add_tokens(0, Split::kTrain, std::vector<Token>{1, 0});
  writer.add_tokens(0, Split::kTest, std::vector<Token>{2, 0, 1, 1, 1, 2, 0});
  writer.write(dir.file("s.cdz"));
  Shard shard(dir.file("s.cdz"));
  ShardStats stats = compute_shard_stats(shard, 2);
  EXPECT_EQ(stats.lengths.total, 13u);
  EXPECT_EQ(stats.lengths.min, 2u);
  EXPECT_EQ(stats.lengths.max, 7u);
  EXPECT_EQ(stats.per_split[0].pieces, 2u);
  EXPECT_EQ(stats.per_split[1].pieces, 0u);
  EXPECT_EQ(stats.per_split[2].total, 7u);
  EXPECT_EQ(stats.distinct_tokens, 3u);  // D and E unused
  ASSERT_EQ(stats.top_tokens.size(), 2u);
  // C and B both occur 5 times: the tie goes to the lower id.
  EXPECT_EQ(stats.top_tokens[0].name, "B");
  EXPECT_EQ(stats.top_tokens[0].count, 5u);
  EXPECT_EQ(stats.top_tokens[1].name, "C");

  nlohmann::json info = shard_info_json(shard, stats, false);
  EXPECT_EQ(info["vocabulary_size"], 5);
  EXPECT_EQ(info["pieces"], 3);
  EXPECT_EQ(info["splits"]["test"]["pieces"], 1);
  EXPECT_EQ(info["skipped_count"], 6);
  EXPECT_EQ(info["skipped"].size(), 5u) << "a few by default";
  EXPECT_EQ(shard_info_json(shard, stats, true)["skipped"].size(), 6u);
  EXPECT_EQ(info["file_size"], shard.file_size());
}

TEST(DataInfo, DescribesPianoRollPitchUsage) {
  testing::TempDir dir;
  ShardMetadata metadata;
  metadata.encoding = {{"name", "pianoroll"}, {"lowest_pitch", 60}, {"highest_pitch", 63}};
  metadata.sources = {{"s", 1, "h"}};
  ShardWriter writer(metadata);
  PianoRoll roll{1, 2, 4, {1, 0, 0, 0, /* step 1 */ 0, 0, 1, 0}, {0}};
  writer.add_roll(0, Split::kValid, roll);
  writer.write(dir.file("r.cdz"));
  Shard shard(dir.file("r.cdz"));
  ShardStats stats = compute_shard_stats(shard);
  EXPECT_EQ(stats.distinct_pitches, 2);
  EXPECT_EQ(stats.lowest_pitch, 60);
  EXPECT_EQ(stats.highest_pitch, 62);
  EXPECT_DOUBLE_EQ(stats.on_cell_fraction, 0.25);
  EXPECT_EQ(stats.per_split[1].total, 2u);
}

}  // namespace
}  // namespace cadenza
