// Random crops with augmentation: determinism, padding, vocabulary bounds, transposition and stretch.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "data/augment.h"
#include "data/batch.h"
#include "data/shard.h"
#include "encoding/encoding.h"
#include "encoding/melody.h"
#include "encoding/performance.h"
#include "score/operations.h"
#include "support/test_support.h"
#include "test_data_fixtures.h"

namespace cadenza {
namespace {

using testing::line_score;
using testing::TempDir;
using testing::varied_score;
using testing::write_token_shard;

// A melody shard of pieces of 8..40 notes (17..81 tokens), plus one 2-note piece (5 tokens).
struct MelodyShard {
  TempDir dir;
  std::string path = dir.file("melody.cdz");
  MelodyEncoding encoding;
  MelodyShard() {
    std::vector<Score> scores;
    for (int i = 0; i < 6; ++i) scores.push_back(varied_score(i, 8 + 6 * i));
    scores.push_back(line_score({60, 62}));
    write_token_shard(path, encoding, scores);
  }
};

TEST(DataBatch, RandomHelpersStayInRange) {
  std::mt19937_64 rng(7);
  std::set<int> seen;
  for (int i = 0; i < 2000; ++i) {
    int value = random_int(rng, -3, 3);
    ASSERT_GE(value, -3);
    ASSERT_LE(value, 3);
    seen.insert(value);
    double real = random_real(rng, 0.95, 1.05);
    ASSERT_GE(real, 0.95);
    ASSERT_LT(real, 1.05);
    ASSERT_LT(random_below(rng, 10), 10u);
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(random_int(rng, 4, 4), 4);
  EXPECT_THROW_WITH(random_below(rng, 0), Error, {"random_below", "empty range"});
}

TEST(DataBatch, SameSeedSameBatches) {
  MelodyShard fixture;
  Shard shard(fixture.path);
  BatchOptions options;
  options.batch_size = 8;
  options.crop_length = 24;
  options.augment.max_transpose = 5;
  TokenBatchSampler a(shard, Split::kTrain, options, 42), b(shard, Split::kTrain, options, 42),
      c(shard, Split::kTrain, options, 43);
  bool any_difference = false;
  for (int i = 0; i < 5; ++i) {
    TokenBatch x = a.next(), y = b.next(), z = c.next();
    EXPECT_EQ(x.tokens, y.tokens);
    for (int row = 0; row < x.batch_size; ++row) {
      EXPECT_EQ(x.rows[row].piece, y.rows[row].piece);
      EXPECT_EQ(x.rows[row].start, y.rows[row].start);
      EXPECT_EQ(x.rows[row].transposition, y.rows[row].transposition);
    }
    any_difference |= x.tokens != z.tokens;
  }
  EXPECT_TRUE(any_difference) << "another seed should give other batches";
}

TEST(DataBatch, StartShareCropsFromTheBeginningAndZeroKeepsTheOldStream) {
  MelodyShard fixture;
  Shard shard(fixture.path);
  BatchOptions options;
  options.batch_size = 200;
  options.crop_length = 6;
  TokenBatchSampler uniform(shard, Split::kTrain, options, 7);
  options.start_share = 0.0;
  TokenBatchSampler zero(shard, Split::kTrain, options, 7);
  options.start_share = 1.0;
  TokenBatchSampler all(shard, Split::kTrain, options, 7);
  options.start_share = 0.5;
  TokenBatchSampler half(shard, Split::kTrain, options, 7);
  const TokenBatch u = uniform.next(), z = zero.next(), a = all.next(), h = half.next();
  EXPECT_EQ(u.tokens, z.tokens);  // share 0 draws no extra number: the batches of older configurations
  int uniform_at_start = 0, half_at_start = 0, long_rows = 0;
  for (int row = 0; row < 200; ++row) {
    EXPECT_EQ(a.rows[row].start, 0u) << row;
    const auto piece = shard.token_vector(a.rows[row].piece);
    for (int i = 0; i < a.rows[row].length; ++i) ASSERT_EQ(a.tokens[row * 6 + i], piece[i]);
    // Rows of pieces long enough to start elsewhere (the fixture's pieces are far longer than 6 tokens).
    if (shard.piece(h.rows[row].piece).length > 60) {
      ++long_rows;
      half_at_start += h.rows[row].start == 0;
    }
    uniform_at_start += u.rows[row].start == 0;
  }
  ASSERT_GT(long_rows, 100);
  EXPECT_NEAR(static_cast<double>(half_at_start) / long_rows, 0.5, 0.15);
  EXPECT_LT(uniform_at_start, 40);
  options.start_share = 1.5;
  EXPECT_THROW_WITH(TokenBatchSampler(shard, Split::kTrain, options, 7), Error, {"start crop share", "[0, 1]"});
  options.start_share = 0.5;
  options.augment.max_stretch = 1.2;
  EXPECT_THROW_WITH(TokenBatchSampler(shard, Split::kTrain, options, 7), Error, {"start_crop_share", "stretch"});
}

TEST(DataBatch, EndShareCropsEndAtTheLastTokenBesideTheStartShare) {
  MelodyShard fixture;
  Shard shard(fixture.path);
  BatchOptions options;
  options.batch_size = 200;
  options.crop_length = 6;
  options.start_share = 0.3;
  TokenBatchSampler start_only(shard, Split::kTrain, options, 7);
  options.end_share = 0.0;
  TokenBatchSampler start_and_zero_end(shard, Split::kTrain, options, 7);
  EXPECT_EQ(start_only.next().tokens, start_and_zero_end.next().tokens);  // end_share 0: the same draws as before
  options.start_share = 0.0;
  options.end_share = 1.0;
  TokenBatchSampler all_end(shard, Split::kTrain, options, 7);
  const TokenBatch e = all_end.next();
  for (int row = 0; row < 200; ++row) {
    const auto piece = shard.token_vector(e.rows[row].piece);
    ASSERT_EQ(e.rows[row].start + e.rows[row].length, piece.size()) << row;
    for (int i = 0; i < e.rows[row].length; ++i) ASSERT_EQ(e.tokens[row * 6 + i], piece[e.rows[row].start + i]);
  }
  options.start_share = 0.3;
  options.end_share = 0.3;
  TokenBatchSampler both(shard, Split::kTrain, options, 7);
  int long_rows = 0, at_start = 0, at_end = 0;
  for (int batch = 0; batch < 3; ++batch) {
    const TokenBatch b = both.next();
    for (int row = 0; row < 200; ++row) {
      const uint64_t length = shard.piece(b.rows[row].piece).length;
      if (length <= 60) continue;
      ++long_rows;
      at_start += b.rows[row].start == 0;
      at_end += b.rows[row].start + b.rows[row].length == length;
    }
  }
  ASSERT_GT(long_rows, 300);
  EXPECT_NEAR(static_cast<double>(at_start) / long_rows, 0.3, 0.08);
  EXPECT_NEAR(static_cast<double>(at_end) / long_rows, 0.3, 0.08);
  options.end_share = -0.1;
  EXPECT_THROW_WITH(TokenBatchSampler(shard, Split::kTrain, options, 7), Error, {"end crop share", "[0, 1]"});
  options.start_share = 0.6;
  options.end_share = 0.6;
  EXPECT_THROW_WITH(TokenBatchSampler(shard, Split::kTrain, options, 7), Error,
                    {"start_crop_share + end_crop_share", "at most 1", "0.6"});
  options.start_share = 0.0;
  options.end_share = 0.5;
  options.augment.max_stretch = 1.2;
  EXPECT_THROW_WITH(TokenBatchSampler(shard, Split::kTrain, options, 7), Error, {"end_crop_share", "stretch"});
}

// Six melody pieces in train: piece 0 of 200 tokens, the others of 20; pieces 0-3 of style "big", 4 and 5 "small".
std::string write_edge_shard(const TempDir& dir, bool with_styles) {
  const auto encoding = make_token_encoding(nlohmann::json{{"name", "melody"}});
  ShardMetadata metadata;
  metadata.encoding = encoding->spec();
  metadata.vocabulary = encoding->vocabulary().names();
  for (int i = 0; i < 6; ++i) metadata.sources.push_back({"p" + std::to_string(i) + ".mid", 1, "fnv1a64:0"});
  if (with_styles) {
    metadata.styles.present = true;
    metadata.styles.source = "given";
    metadata.styles.names = {"big", "small"};
    metadata.styles.pieces = {0, 0, 0, 0, 1, 1};
  }
  ShardWriter writer(metadata);
  for (uint32_t i = 0; i < 6; ++i) {
    std::string text;
    for (int n = 0; n < (i == 0 ? 100 : 10); ++n) text += " NOTE_ON_" + std::to_string(60 + i) + " NO_EVENT";
    writer.add_tokens(i, Split::kTrain, encoding->from_text(text.substr(1)));
  }
  const std::string path = dir.file(with_styles ? "styles.cdz" : "plain.cdz");
  writer.write(path);
  return path;
}

// The share of each piece among the rows of `batches` batches (rows that start at 0 only, when `start_rows`).
std::vector<double> piece_shares(TokenBatchSampler& sampler, int batches, bool start_rows = false) {
  std::vector<double> counts(6, 0.0);
  double rows = 0;
  for (int b = 0; b < batches; ++b) {
    const TokenBatch batch = sampler.next();
    for (const BatchRowInfo& row : batch.rows) {
      if (start_rows && row.start != 0) continue;
      counts[row.piece] += 1;
      rows += 1;
    }
  }
  for (double& count : counts) count /= rows;
  return counts;
}

TEST(DataBatch, EdgeCropsByTuneDrawEveryTuneAlikeAndUniformRowsStillByLength) {
  TempDir dir;
  Shard shard(write_edge_shard(dir, false));
  BatchOptions options;
  options.batch_size = 500;
  options.crop_length = 6;
  options.start_share = 1.0;
  TokenBatchSampler by_length(shard, Split::kTrain, options, 3);
  const std::vector<double> length_shares = piece_shares(by_length, 4);
  EXPECT_NEAR(length_shares[0], 200.0 / 300.0, 0.04);  // by length: the long tune opens two rows in three
  options.edge_crops_by_tune = true;
  TokenBatchSampler by_tune(shard, Split::kTrain, options, 3);
  for (double share : piece_shares(by_tune, 4)) EXPECT_NEAR(share, 1.0 / 6.0, 0.03);
  options.start_share = 0.0;
  options.end_share = 1.0;
  TokenBatchSampler ends_by_tune(shard, Split::kTrain, options, 3);
  const TokenBatch ends = ends_by_tune.next();
  for (const BatchRowInfo& row : ends.rows) ASSERT_EQ(row.start + row.length, shard.piece(row.piece).length);
  for (double share : piece_shares(ends_by_tune, 4)) EXPECT_NEAR(share, 1.0 / 6.0, 0.03);
  // Half the rows from the START by tune, the others uniform by length: rows that do not start at 0 are uniform rows
  // (a uniform crop of 6 of a 20-token tune starts at 0 one time in 15), and two in three of them are the long tune's
  // (by tune it would be one in six).
  options.start_share = 0.5;
  options.end_share = 0.0;
  TokenBatchSampler mixed(shard, Split::kTrain, options, 3);
  double uniform_rows = 0, long_tune_rows = 0;
  for (int b = 0; b < 4; ++b)
    for (const BatchRowInfo& row : mixed.next().rows)
      if (row.start != 0) uniform_rows += 1, long_tune_rows += row.piece == 0;
  EXPECT_NEAR(long_tune_rows / uniform_rows, 200.0 / 300.0, 0.05);
  TokenBatchSampler again(shard, Split::kTrain, options, 3);
  TokenBatchSampler mixed_again(shard, Split::kTrain, options, 3);
  EXPECT_EQ(again.next().tokens, mixed_again.next().tokens);  // deterministic for a seed
}

TEST(DataBatch, EdgeCropStylePowerWeighsSmallStylesUp) {
  TempDir dir;
  Shard shard(write_edge_shard(dir, true));
  BatchOptions options;
  options.batch_size = 500;
  options.crop_length = 6;
  options.start_share = 1.0;
  options.edge_crops_by_tune = true;
  options.edge_style_power = 1.0;  // every style alike: the 2 small tunes open half the rows
  TokenBatchSampler every_style(shard, Split::kTrain, options, 5);
  std::vector<double> shares = piece_shares(every_style, 4);
  EXPECT_NEAR(shares[4] + shares[5], 0.5, 0.03);
  EXPECT_NEAR(shares[4], 0.25, 0.03);
  EXPECT_NEAR(shares[0], 0.125, 0.03);
  options.edge_style_power = 0.5;  // weights 4^-0.5 and 2^-0.5: small 2 x 0.707 of 2 + 1.414
  TokenBatchSampler half_power(shard, Split::kTrain, options, 5);
  shares = piece_shares(half_power, 4);
  EXPECT_NEAR(shares[4] + shares[5], 1.41421 / 3.41421, 0.03);
}

TEST(DataBatch, EdgeCropOptionsThatCannotApplyAreRefused) {
  TempDir dir;
  Shard plain(write_edge_shard(dir, false));
  BatchOptions options;
  options.edge_crops_by_tune = true;
  EXPECT_THROW_WITH(TokenBatchSampler(plain, Split::kTrain, options, 1), Error,
                    {"edge_crops_by_tune", "start_crop_share and end_crop_share are both 0"});
  options.start_share = 0.5;
  options.edge_style_power = 0.5;
  EXPECT_THROW_WITH(TokenBatchSampler(plain, Split::kTrain, options, 1), Error,
                    {plain.path(), "edge_crop_style_power 0.5", "stores no styles", "--style-from"});
  options.edge_style_power = 1.5;
  EXPECT_THROW_WITH(TokenBatchSampler(plain, Split::kTrain, options, 1), Error, {"edge crop style power", "[0, 1]"});
  options.edge_style_power = 0.5;
  options.edge_crops_by_tune = false;
  EXPECT_THROW_WITH(TokenBatchSampler(plain, Split::kTrain, options, 1), Error,
                    {"edge_crop_style_power 0.5", "needs edge_crops_by_tune"});
}

TEST(DataBatch, CropsComeFromThePieceAndShortOnesArePadded) {
  MelodyShard fixture;
  Shard shard(fixture.path);
  BatchOptions options;
  options.batch_size = 64;
  options.crop_length = 30;
  TokenBatchSampler sampler(shard, Split::kTrain, options, 1);
  EXPECT_EQ(sampler.pad_id(), shard.vocabulary_size());
  bool saw_padding = false;
  for (int round = 0; round < 4; ++round) {
    TokenBatch batch = sampler.next();
    ASSERT_EQ(batch.tokens.size(), 64u * 30u);
    for (int row = 0; row < batch.batch_size; ++row) {
      const BatchRowInfo& info = batch.rows[row];
      const auto piece = shard.token_vector(info.piece);
      const int expected_length = static_cast<int>(std::min<size_t>(piece.size(), 30));
      ASSERT_EQ(info.length, expected_length);
      for (int i = 0; i < 30; ++i) {
        const Token token = batch.tokens[row * 30 + i];
        if (i < info.length)
          ASSERT_EQ(token, piece[info.start + i]) << "row " << row << " position " << i;
        else
          ASSERT_EQ(token, sampler.pad_id());
      }
      saw_padding |= info.length < 30;
    }
  }
  EXPECT_TRUE(saw_padding) << "pieces shorter than the crop should have been drawn and padded";
}

TEST(DataBatch, SkipPolicyNeverDrawsShortPieces) {
  MelodyShard fixture;
  Shard shard(fixture.path);
  BatchOptions options;
  options.batch_size = 64;
  options.crop_length = 40;
  options.short_pieces = ShortPiecePolicy::kSkip;
  TokenBatchSampler sampler(shard, Split::kTrain, options, 3);
  EXPECT_LT(sampler.num_pieces(), shard.num_pieces());
  TokenBatch batch = sampler.next();
  for (const auto& row : batch.rows) {
    EXPECT_GE(shard.piece(row.piece).length, 40u);
    EXPECT_EQ(row.length, 40);
  }
  options.crop_length = 10000;
  EXPECT_THROW_WITH(TokenBatchSampler(shard, Split::kTrain, options, 3), Error,
                    {fixture.path, "train split", "at least 10000 long"});
  options.crop_length = 10;
  EXPECT_THROW_WITH(TokenBatchSampler(shard, Split::kTest, options, 3), Error, {fixture.path, "test split"})
      << "the test split is empty";
  options.batch_size = 0;
  EXPECT_THROW_WITH(TokenBatchSampler(shard, Split::kTrain, options, 3), Error, {"batch size", "got 0"});
}

TEST(DataBatch, TransposedRowsDecodeToTransposedNotes) {
  MelodyShard fixture;
  Shard shard(fixture.path);
  BatchOptions options;
  options.batch_size = 64;
  options.crop_length = 20;
  options.augment.max_transpose = 5;
  TokenBatchSampler sampler(shard, Split::kTrain, options, 11);
  const MelodyEncoding& encoding = fixture.encoding;
  std::set<int> shifts;
  TokenBatch batch = sampler.next();
  for (int row = 0; row < batch.batch_size; ++row) {
    const BatchRowInfo& info = batch.rows[row];
    shifts.insert(info.transposition);
    ASSERT_GE(info.transposition, -5);
    ASSERT_LE(info.transposition, 5);
    std::vector<Token> tokens(batch.tokens.begin() + row * 20, batch.tokens.begin() + row * 20 + info.length);
    for (Token token : tokens) ASSERT_TRUE(token >= 0 && token < shard.vocabulary_size());
    const auto piece = shard.token_vector(info.piece);
    std::vector<Token> original(piece.begin() + static_cast<std::ptrdiff_t>(info.start),
                                piece.begin() + static_cast<std::ptrdiff_t>(info.start) + info.length);
    EXPECT_EQ(encoding.decode(tokens), transpose(encoding.decode(original), info.transposition)) << "row " << row;
  }
  EXPECT_GE(shifts.size(), 5u) << "64 rows should use several shifts";
}

TEST(DataBatch, TranspositionRespectsTheVocabularyRange) {
  // Pitches 82..84 at the top of the default melody range 48..84: no upward shift is possible.
  TempDir dir;
  MelodyEncoding encoding;
  write_token_shard(dir.file("high.cdz"), encoding, {line_score({82, 84, 83, 84, 82, 83})});
  Shard shard(dir.file("high.cdz"));
  BatchOptions options;
  options.batch_size = 200;
  options.crop_length = 16;
  options.augment.max_transpose = 6;
  TokenBatchSampler sampler(shard, Split::kTrain, options, 5);
  TokenBatch batch = sampler.next();
  std::set<int> shifts;
  for (const auto& row : batch.rows) {
    EXPECT_LE(row.transposition, 0);
    shifts.insert(row.transposition);
  }
  EXPECT_TRUE(shifts.count(-6)) << "the full downward range is used";
  for (Token token : batch.tokens) EXPECT_TRUE(token >= 0 && token <= sampler.pad_id());
}

TEST(DataBatch, TranspositionIsRefusedForTunesMovedToOneKey) {
  TempDir dir;
  MelodySpec spec;
  spec.structure = true;
  spec.one_key = true;
  MelodyEncoding encoding(spec);
  write_token_shard(dir.file("one_key.cdz"), encoding, {line_score({60, 62, 64, 65, 67, 69})});
  Shard shard(dir.file("one_key.cdz"));
  BatchOptions options;
  options.batch_size = 2;
  options.crop_length = 8;
  options.augment.max_transpose = 3;
  EXPECT_THROW_WITH(TokenBatchSampler(shard, Split::kTrain, options, 5), Error,
                    {"max_transpose 3", dir.file("one_key.cdz"), "C major / A minor", "set max_transpose 0"});
  options.augment.max_transpose = 0;
  TokenBatchSampler sampler(shard, Split::kTrain, options, 5);
  EXPECT_EQ(sampler.next().rows.size(), 2u);
}

TEST(DataBatch, StretchChangesDurationByTheFactor) {
  TempDir dir;
  PerformanceEncoding encoding;
  const Score score = line_score({60, 64, 67, 0, 72, 71, 69, 67});
  write_token_shard(dir.file("perf.cdz"), encoding, {score});
  Shard shard(dir.file("perf.cdz"));
  const auto piece = shard.token_vector(0);
  const double original = encoding.decode(piece).end_seconds();
  BatchOptions options;
  options.batch_size = 16;
  options.crop_length = 256;  // longer than the piece, so each row is the whole piece stretched
  options.augment.min_stretch = 0.9;
  options.augment.max_stretch = 1.1;
  TokenBatchSampler sampler(shard, Split::kTrain, options, 9);
  TokenBatch batch = sampler.next();
  std::set<double> factors;
  for (int row = 0; row < batch.batch_size; ++row) {
    const BatchRowInfo& info = batch.rows[row];
    ASSERT_GE(info.stretch, 0.9);
    ASSERT_LT(info.stretch, 1.1);
    factors.insert(info.stretch);
    EXPECT_EQ(info.start, 0u);
    std::vector<Token> tokens(batch.tokens.begin() + row * 256, batch.tokens.begin() + row * 256 + info.length);
    const double seconds = encoding.decode(tokens).end_seconds();
    EXPECT_NEAR(seconds, original * info.stretch, 0.0101) << "within one 10 ms grid step";
  }
  EXPECT_GT(factors.size(), 10u);
}

TEST(DataBatch, PianoRollCropsAndTransposition) {
  TempDir dir;
  ShardMetadata metadata;
  metadata.encoding = {{"name", "pianoroll"}, {"lowest_pitch", 60}, {"highest_pitch", 71}};
  metadata.sources = {{"a", 1, "h"}};
  ShardWriter writer(metadata);
  // 1 track x 10 steps x 12 pitches: step s has pitch index 4 + (s % 3) on.
  PianoRoll roll{1, 10, 12, std::vector<uint8_t>(120, 0), {0, 4, 8}};
  for (int step = 0; step < 10; ++step) roll.at(0, step, 4 + step % 3) = 1;
  writer.add_roll(0, Split::kTrain, roll);
  PianoRoll tiny{1, 2, 12, std::vector<uint8_t>(24, 0), {0}};
  tiny.at(0, 0, 0) = 1;
  writer.add_roll(0, Split::kTrain, tiny);
  writer.write(dir.file("roll.cdz"));
  Shard shard(dir.file("roll.cdz"));

  BatchOptions options;
  options.batch_size = 50;
  options.crop_length = 4;
  options.augment.max_transpose = 3;
  RollBatchSampler sampler(shard, Split::kTrain, options, 2);
  RollBatch batch = sampler.next();
  ASSERT_EQ(batch.cells.size(), 50u * 4u * 12u);
  for (int row = 0; row < batch.batch_size; ++row) {
    const BatchRowInfo& info = batch.rows[row];
    const PianoRoll source = shard.roll(info.piece);
    EXPECT_EQ(info.length, std::min(4, source.num_steps));
    if (info.piece == 1) {
      EXPECT_GE(info.transposition, 0) << "the tiny roll sits on the lowest pitch";
    }
    for (int step = 0; step < 4; ++step)
      for (int pitch = 0; pitch < 12; ++pitch) {
        const uint8_t cell = batch.cells[(static_cast<size_t>(row) * 4 + step) * 12 + pitch];
        const int source_pitch = pitch - info.transposition;
        const uint8_t expected = step < info.length && source_pitch >= 0 && source_pitch < 12
                                     ? source.at(0, static_cast<int>(info.start) + step, source_pitch)
                                     : 0;
        ASSERT_EQ(cell, expected) << "row " << row << " step " << step << " pitch " << pitch;
      }
  }
  options.augment.max_stretch = 1.1;
  EXPECT_THROW_WITH(RollBatchSampler(shard, Split::kTrain, options, 2), Error, {"time stretch", "piano roll"});
  EXPECT_THROW_WITH(TokenBatchSampler(shard, Split::kTrain, BatchOptions{}, 2), Error,
                    {shard.path(), "needs RollBatchSampler"});
}

}  // namespace
}  // namespace cadenza
