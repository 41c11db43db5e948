// Style columns of the step context (codec/batches.h): every training row reads its own piece's style one-hot, a
// window reads the style it is given, and a model's styles must be the shard's (docs/conditioning.md, Styles).
// The far lookback columns (the tokens 4 and 8 bars back) come after the styles, in batches and in windows.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "codec/batches.h"
#include "common/error.h"
#include "data/shard.h"
#include "models/sequence_model.h"
#include "support/test_support.h"

namespace cadenza::codec {
namespace {

constexpr int64_t kUnit = models::SequenceModelImpl::kStyleUnit;

// Four melody pieces in train: pieces 0 and 2 repeat pitch 60 (style "a"), pieces 1 and 3 pitch 72 (style "b").
std::string write_styled_shard(const testing::TempDir& dir, bool with_styles) {
  const auto encoding = make_token_encoding(nlohmann::json{{"name", "melody"}});
  ShardMetadata metadata;
  metadata.encoding = encoding->spec();
  metadata.vocabulary = encoding->vocabulary().names();
  for (int i = 0; i < 4; ++i) metadata.sources.push_back({"p" + std::to_string(i) + ".mid", 1, "fnv1a64:0"});
  if (with_styles) {
    metadata.styles.present = true;
    metadata.styles.source = "given";
    metadata.styles.names = {"a", "b"};
    metadata.styles.pieces = {0, 1, 0, 1};
  }
  ShardWriter writer(metadata);
  for (uint32_t i = 0; i < 4; ++i) {
    std::string text;
    for (int n = 0; n < 12 + 3 * static_cast<int>(i); ++n)
      text += (i % 2 == 0 ? " NOTE_ON_60" : " NOTE_ON_72") + std::string(" NO_EVENT");
    writer.add_tokens(i, Split::kTrain, encoding->from_text(text.substr(1)));
  }
  const std::string path = dir.file(with_styles ? "styles.cdz" : "plain.cdz");
  writer.write(path);
  return path;
}

TEST(CodecStyles, EveryRowReadsItsPiecesStyleOneHot) {
  testing::TempDir dir;
  const Shard shard(write_styled_shard(dir, true));
  const auto encoding = shard.make_encoding();
  const int64_t note_60 = encoding->vocabulary().id("NOTE_ON_60"), note_72 = encoding->vocabulary().id("NOTE_ON_72");
  BatchOptions options;
  options.batch_size = 8;
  options.crop_length = 10;
  BatchSource source(shard, Split::kTrain, options, /*with_context=*/true, ContextColumns{.styles = 2});
  int rows_a = 0, rows_b = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const TensorBatch batch = source.next(seed);
    ASSERT_EQ(batch.context.size(-1), 4 + 2);
    for (int64_t b = 0; b < batch.targets.size(0); ++b) {
      const torch::Tensor row = batch.targets[b];
      const bool piece_a = (row == note_60).any().item<bool>(), piece_b = (row == note_72).any().item<bool>();
      ASSERT_NE(piece_a, piece_b) << "each row comes from one piece";
      const torch::Tensor styles = batch.context[b].narrow(-1, 4, 2);  // (T, 2)
      EXPECT_TRUE((styles.select(-1, piece_a ? 0 : 1) == kUnit).all().item<bool>()) << "row " << b;
      EXPECT_TRUE((styles.select(-1, piece_a ? 1 : 0) == 0).all().item<bool>()) << "row " << b;
      (piece_a ? rows_a : rows_b) += 1;
    }
  }
  EXPECT_GT(rows_a, 0);
  EXPECT_GT(rows_b, 0);
}

TEST(CodecStyles, WindowContextCarriesTheGivenStyleAndMismatchesAreErrors) {
  testing::TempDir dir;
  const Shard shard(write_styled_shard(dir, true));
  const auto encoding = shard.make_encoding();
  const std::vector<Token> tokens = shard.token_vector(1);
  const std::vector<int64_t> style = one_hot_style(2, 1);
  const torch::Tensor context =
      window_context(tokens, encoding->contexts(tokens), 2, 5, shard.vocabulary_size(), nullptr, &style);
  ASSERT_EQ(context.sizes(), (std::vector<int64_t>{5, 6}));
  EXPECT_TRUE((context.select(-1, 5) == kUnit).all().item<bool>());
  EXPECT_TRUE((context.select(-1, 4) == 0).all().item<bool>());
  EXPECT_TRUE((context.select(-1, 3) == 0).all().item<bool>()) << "no chord column content without chords";
  EXPECT_THROW_WITH(one_hot_style(2, 2), Error, {"style index 2", "2 styles"});

  EXPECT_NO_THROW(check_shard_styles(shard, {"a", "b"}));
  EXPECT_THROW_WITH(check_shard_styles(shard, {"a", "c"}), Error, {"the model's styles (a, c)", "shard's (a, b)"});
  const Shard plain(write_styled_shard(dir, false));
  EXPECT_THROW_WITH(check_shard_styles(plain, {"a", "b"}), Error, {"stores none", "--style-from"});
  EXPECT_THROW_WITH(BatchSource(plain, Split::kTrain, BatchOptions{}, true, ContextColumns{.styles = 2}), Error,
                    {"reads 2 styles", "stores none"});
  EXPECT_THROW_WITH(BatchSource(shard, Split::kTrain, BatchOptions{}, true, ContextColumns{.styles = 3}), Error,
                    {"reads 3 styles", "stores 2"});
}

// A whole tune (structure) of 140 4/4 steps, a different pitch at every step, in train.
std::string write_tune_shard(const testing::TempDir& dir) {
  const auto encoding = make_token_encoding(nlohmann::json{{"name", "melody"}, {"structure", true}});
  ShardMetadata metadata;
  metadata.encoding = encoding->spec();
  metadata.vocabulary = encoding->vocabulary().names();
  metadata.sources.push_back({"tune.mid", 1, "fnv1a64:0"});
  std::string text = "START METER_4_4 KEY_C";
  for (int step = 0; step < 140; ++step) text += " NOTE_ON_" + std::to_string(60 + step % 13);
  text += " NOTE_OFF END";
  ShardWriter writer(metadata);
  writer.add_tokens(0, Split::kTrain, encoding->from_text(text));
  const std::string path = dir.file("tune.cdz");
  writer.write(path);
  return path;
}

TEST(CodecFarLookbacks, BatchesAndWindowsCarryTheTokensFourAndEightBarsBackAfterTheStyles) {
  testing::TempDir dir;
  const Shard shard(write_tune_shard(dir));
  const std::vector<Token> tokens = shard.token_vector(0);
  ASSERT_EQ(tokens.size(), 3u + 140 + 2);
  const int vocab = static_cast<int>(shard.vocabulary_size());
  // Row t is about token t + 1; step s is token 3 + s, so row 2 + s reads step s - 64 (4 bars) and s - 128 (8 bars).
  auto expect_far = [&](const torch::Tensor& context, int64_t first_column, const std::string& what) {
    for (int s = 0; s < 140; ++s) {
      const int64_t row = 2 + s;
      EXPECT_EQ(context[row][first_column].item<int64_t>(), s >= 64 ? tokens[3 + s - 64] : vocab) << what << s;
      EXPECT_EQ(context[row][first_column + 1].item<int64_t>(), s >= 128 ? tokens[3 + s - 128] : vocab) << what << s;
      EXPECT_EQ(context[row][1].item<int64_t>(), s >= 16 ? tokens[3 + s - 16] : vocab) << what << s;
    }
  };
  const auto encoding = shard.make_encoding();
  const torch::Tensor window = window_context(tokens, encoding->contexts(tokens), 0, tokens.size(), vocab, nullptr,
                                              nullptr, ContextColumns{.far_lookbacks = 2});
  ASSERT_EQ(window.sizes(), (std::vector<int64_t>{static_cast<int64_t>(tokens.size()), 6}));
  EXPECT_TRUE((window.select(-1, 3) == 0).all().item<bool>()) << "the chord column is there, empty";
  expect_far(window, 4, "window, step ");
  const std::vector<int64_t> style = one_hot_style(3, 2);
  const torch::Tensor styled = window_context(tokens, encoding->contexts(tokens), 0, tokens.size(), vocab, nullptr,
                                              &style, ContextColumns{.far_lookbacks = 2});
  ASSERT_EQ(styled.size(-1), 4 + 3 + 2);
  expect_far(styled, 7, "styled window, step ");

  BatchOptions options;
  options.batch_size = 2;
  options.crop_length = 200;  // the whole tune, from its first token
  BatchSource source(shard, Split::kTrain, options, /*with_context=*/true, ContextColumns{.far_lookbacks = 2});
  const TensorBatch batch = source.next(1);
  ASSERT_EQ(batch.context.size(-1), 6);
  for (int64_t b = 0; b < 2; ++b) expect_far(batch.context[b], 4, "batch row " + std::to_string(b) + ", step ");
  EXPECT_THROW_WITH(BatchSource(shard, Split::kTrain, options, true, ContextColumns{.far_lookbacks = 3}), Error,
                    {"3 far lookbacks", "at most 2"});
}

// The tune's header (models with context_header): the meter and key tokens in the last two columns of every row, in
// windows and in training crops that start mid-tune, the key transposed with the crop.
TEST(CodecHeader, EveryRowReadsTheTunesMeterAndKeyTheKeyMovedWithTheCrop) {
  testing::TempDir dir;
  const Shard shard(write_tune_shard(dir));
  const std::vector<Token> tokens = shard.token_vector(0);
  const auto encoding = shard.make_encoding();
  const int vocab = static_cast<int>(shard.vocabulary_size());
  const Token meter = encoding->vocabulary().id("METER_4_4"), key_c = encoding->vocabulary().id("KEY_C");
  const torch::Tensor window = window_context(tokens, encoding->contexts(tokens), 0, tokens.size(), vocab, nullptr,
                                              nullptr, ContextColumns{.far_lookbacks = 1, .header = true});
  ASSERT_EQ(window.size(-1), 4 + 1 + 2);
  // Row 0 is about METER (nothing read yet), row 1 about KEY (the meter read), rows 2.. about the steps and END.
  EXPECT_EQ(window[0][5].item<int64_t>(), vocab);
  EXPECT_EQ(window[0][6].item<int64_t>(), vocab);
  EXPECT_EQ(window[1][5].item<int64_t>(), meter);
  EXPECT_EQ(window[1][6].item<int64_t>(), vocab);
  for (int64_t row = 2; row < window.size(0); ++row) {
    EXPECT_EQ(window[row][5].item<int64_t>(), meter) << row;
    EXPECT_EQ(window[row][6].item<int64_t>(), key_c) << row;
  }
  // A window from the middle of the tune reads the header too.
  const torch::Tensor middle = window_context(tokens, encoding->contexts(tokens), 100, 20, vocab, nullptr, nullptr,
                                              ContextColumns{.header = true});
  ASSERT_EQ(middle.size(-1), 4 + 2);
  EXPECT_TRUE((middle.select(-1, 4) == meter).all().item<bool>());
  EXPECT_TRUE((middle.select(-1, 5) == key_c).all().item<bool>());

  // Crops of 32 tokens from anywhere, transposed by up to 5 semitones: the key column is KEY_C moved by the crop's
  // transposition. The tune's notes run 60..72 (every pitch within 13 steps), so a crop's lowest note is 60 + shift.
  BatchOptions options;
  options.batch_size = 8;
  options.crop_length = 32;
  options.augment.max_transpose = 5;
  BatchSource source(shard, Split::kTrain, options, /*with_context=*/true, ContextColumns{.header = true});
  int transposed = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const TensorBatch batch = source.next(seed);
    ASSERT_EQ(batch.context.size(-1), 6);
    for (int64_t b = 0; b < batch.context.size(0); ++b) {
      int lowest = 128;
      for (int64_t t = 0; t < 32; ++t) {
        const int pitch = encoding->token_pitch(static_cast<Token>(batch.targets[b][t].item<int64_t>()));
        if (pitch >= 0 &&
            encoding->vocabulary().name(static_cast<Token>(batch.targets[b][t].item<int64_t>())).rfind("NOTE_ON", 0) ==
                0)
          lowest = std::min(lowest, pitch);
      }
      const int shift = lowest - 60;
      ASSERT_LE(std::abs(shift), 5) << "row " << b;
      if (shift != 0) ++transposed;
      std::vector<Token> expected{key_c};
      ASSERT_TRUE(encoding->transpose(expected, shift));
      // From row 2 on the header is read even when the crop starts at START (rows 0 and 1 are about METER and KEY).
      const torch::Tensor rows = batch.context[b].narrow(0, 2, 30);
      EXPECT_TRUE((rows.select(-1, 4) == meter).all().item<bool>()) << "row " << b;
      EXPECT_TRUE((rows.select(-1, 5) == expected[0]).all().item<bool>())
          << "row " << b << " shift " << shift << " key " << encoding->vocabulary().name(expected[0]);
    }
  }
  EXPECT_GT(transposed, 5) << "the test must see transposed crops";

  // A shard without a header is refused with the reason.
  const auto plain = make_token_encoding(nlohmann::json{{"name", "melody"}});
  ShardMetadata metadata;
  metadata.encoding = plain->spec();
  metadata.vocabulary = plain->vocabulary().names();
  metadata.sources.push_back({"plain.mid", 1, "fnv1a64:0"});
  ShardWriter writer(metadata);
  writer.add_tokens(0, Split::kTrain, plain->from_text("NOTE_ON_60 NO_EVENT NOTE_OFF NOTE_ON_62 NOTE_OFF"));
  writer.write(dir.file("plain.cdz"));
  const Shard plain_shard(dir.file("plain.cdz"));
  EXPECT_THROW_WITH(BatchSource(plain_shard, Split::kTrain, options, true, ContextColumns{.header = true}), Error,
                    {"plain.cdz", "no tune header", "structure=true"});
  EXPECT_THROW_WITH(BatchSource(plain_shard, Split::kTrain, options, true, ContextColumns{.phrase = true}), Error,
                    {"plain.cdz", "no step context", "structure=true"});
}

// The bar number (models with context_phrase): the last column, the bar of token t + 1 counted from the tune's first
// bar, kNoBar off the steps (the header, after END), in windows and in crops that start mid-tune.
TEST(CodecPhrase, EveryStepReadsItsBarFromTheTunesStartAlsoInCropsFromTheMiddle) {
  testing::TempDir dir;
  const Shard shard(write_tune_shard(dir));
  const std::vector<Token> tokens = shard.token_vector(0);  // START METER KEY, 140 notes, NOTE_OFF, END
  const auto encoding = shard.make_encoding();
  const int vocab = static_cast<int>(shard.vocabulary_size());
  const ContextColumns columns{.far_lookbacks = 1, .header = true, .phrase = true};
  const torch::Tensor window =
      window_context(tokens, encoding->contexts(tokens), 0, tokens.size(), vocab, nullptr, nullptr, columns);
  ASSERT_EQ(window.size(-1), 4 + 1 + 2 + 1);
  ASSERT_EQ(columns.phrase_column(), 7);
  // Rows 0 and 1 are about METER and KEY; row 2 + s about step s (16 steps a bar in 4/4 at 4 steps a quarter), up to
  // the NOTE_OFF (step 140) and the END after it (row 143, still in bar 8); the last row is after END.
  EXPECT_EQ(window[0][7].item<int64_t>(), kNoBar);
  EXPECT_EQ(window[1][7].item<int64_t>(), kNoBar);
  for (int s = 0; s <= 141; ++s) EXPECT_EQ(window[2 + s][7].item<int64_t>(), s / 16) << "step " << s;
  EXPECT_EQ(window[144][7].item<int64_t>(), kNoBar);
  // The header columns keep their place before it.
  EXPECT_EQ(window[5][5].item<int64_t>(), encoding->vocabulary().id("METER_4_4"));
  EXPECT_EQ(window[5][6].item<int64_t>(), encoding->vocabulary().id("KEY_C"));

  // Crops of 32 tokens from anywhere: each is the window's rows at the crop's offset (the tokens and the positions
  // fix the offset: notes repeat every 13 steps, positions every 16), so crops from the middle read bars above 0.
  BatchOptions options;
  options.batch_size = 8;
  options.crop_length = 32;
  BatchSource source(shard, Split::kTrain, options, /*with_context=*/true, columns);
  int from_the_middle = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const TensorBatch batch = source.next(seed);
    ASSERT_EQ(batch.context.size(-1), 8);
    for (int64_t b = 0; b < batch.context.size(0); ++b) {
      int matches = 0;
      for (int64_t offset = 0; offset + 32 <= static_cast<int64_t>(tokens.size()); ++offset) {
        bool same = true;
        for (int64_t t = 0; t < 32 && same; ++t)
          same = batch.targets[b][t].item<int64_t>() == tokens[static_cast<size_t>(offset + t)] &&
                 batch.context[b][t][0].item<int64_t>() == window[offset + t][0].item<int64_t>();
        if (!same) continue;
        ++matches;
        EXPECT_TRUE(batch.context[b].select(-1, 7).equal(window.narrow(0, offset, 32).select(-1, 7)))
            << "crop " << b << " at " << offset;
        if (batch.context[b][31][7].item<int64_t>() >= 2) ++from_the_middle;
      }
      EXPECT_EQ(matches, 1) << "crop " << b;
    }
  }
  EXPECT_GT(from_the_middle, 5) << "the test must see crops from the middle of the tune";
}

TEST(CodecBarsLeft, TrainingRowsReadTheirTunesOwnLengthOrUnknownAndWindowsReadUnknownUnlessGivenOne) {
  testing::TempDir dir;
  const Shard shard(write_tune_shard(dir));
  const std::vector<Token> tokens = shard.token_vector(0);  // 140 steps, the closing NOTE_OFF mid-bar 9: 9 bars
  const auto encoding = shard.make_encoding();
  const auto contexts = encoding->contexts(tokens);
  ASSERT_EQ(encoding->tune_bar_count(tokens, contexts), 9);
  const int vocab = static_cast<int>(shard.vocabulary_size());
  const ContextColumns columns{.phrase = true, .bars_left = true};
  ASSERT_EQ(columns.bars_left_column(), 5);
  // Evaluation's window (no length given) reads "unknown" everywhere; given the tune's length, row 2 + s (step s,
  // bar s / 16) reads 9 - s / 16 bars left, the header rows and the row after END "unknown".
  const torch::Tensor unplanned = window_context(tokens, contexts, 0, tokens.size(), vocab, nullptr, nullptr, columns);
  ASSERT_EQ(unplanned.size(-1), 6);
  EXPECT_TRUE(unplanned.select(-1, 5).eq(kBarsLeftUnknown).all().item<bool>());
  const torch::Tensor planned = window_context(tokens, contexts, 0, tokens.size(), vocab, nullptr, nullptr, columns, 9);
  EXPECT_EQ(planned[0][5].item<int64_t>(), kBarsLeftUnknown);
  EXPECT_EQ(planned[1][5].item<int64_t>(), kBarsLeftUnknown);
  for (int s = 0; s <= 141; ++s) EXPECT_EQ(planned[2 + s][5].item<int64_t>(), 9 - s / 16) << "step " << s;
  EXPECT_EQ(planned[144][5].item<int64_t>(), kBarsLeftUnknown);
  EXPECT_TRUE(planned.narrow(-1, 0, 5).equal(unplanned.narrow(-1, 0, 5))) << "the other columns keep their place";

  // Training crops: with share 0 every row reads the tune's own length (the window's rows at the crop's offset, as
  // located by the bar column and the tokens); with share 1 every row reads "unknown"; with 0.5 both occur.
  BatchOptions options;
  options.batch_size = 8;
  options.crop_length = 32;
  BatchSource source(shard, Split::kTrain, options, /*with_context=*/true, columns);
  auto count_planned_rows = [&](uint64_t seed) {
    const TensorBatch batch = source.next(seed);
    int planned_rows = 0;
    for (int64_t b = 0; b < batch.context.size(0); ++b) {
      const torch::Tensor left = batch.context[b].select(-1, 5);
      if (left.eq(kBarsLeftUnknown).all().item<bool>()) continue;
      ++planned_rows;
      for (int64_t offset = 0; offset + 32 <= static_cast<int64_t>(tokens.size()); ++offset) {
        bool same = true;
        for (int64_t t = 0; t < 32 && same; ++t)
          same = batch.targets[b][t].item<int64_t>() == tokens[static_cast<size_t>(offset + t)] &&
                 batch.context[b][t][0].item<int64_t>() == planned[offset + t][0].item<int64_t>();
        if (same) {
          EXPECT_TRUE(left.equal(planned.narrow(0, offset, 32).select(-1, 5))) << "crop at " << offset;
        }
      }
    }
    return planned_rows;
  };
  for (uint64_t seed = 1; seed <= 3; ++seed) EXPECT_EQ(count_planned_rows(seed), 8) << "share 0";
  source.set_bars_left_unknown_share(1.0);
  for (uint64_t seed = 1; seed <= 3; ++seed) EXPECT_EQ(count_planned_rows(seed), 0) << "share 1";
  source.set_bars_left_unknown_share(0.5);
  int planned_rows = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) planned_rows += count_planned_rows(seed);
  EXPECT_GT(planned_rows, 8);
  EXPECT_LT(planned_rows, 56);
  EXPECT_EQ(count_planned_rows(5), count_planned_rows(5)) << "the draws follow the batch's seed";
  EXPECT_THROW_WITH(source.set_bars_left_unknown_share(1.5), Error, {"bars_left_unknown_share", "[0, 1]", "1.5"});
}

// Hidden lookbacks (train lookback_hidden_share): in a share of the rows every lookback column (1, 2 and 4, 8 bars
// back) reads "none"; the tokens and the other columns are those of the same batch with nothing hidden, and the
// bars-left draws do not move.
TEST(CodecHiddenLookbacks, AShareOfRowsReadsNoLookbacksAndNothingElseChanges) {
  testing::TempDir dir;
  const Shard shard(write_tune_shard(dir));
  const int64_t vocab = static_cast<int64_t>(shard.vocabulary_size());
  const ContextColumns columns{.far_lookbacks = 2, .phrase = true, .bars_left = true};
  const std::vector<int64_t> lookbacks{1, 2, columns.far_column(), columns.far_column() + 1};
  BatchOptions options;
  options.batch_size = 8;
  options.crop_length = 64;
  BatchSource plain(shard, Split::kTrain, options, /*with_context=*/true, columns);
  plain.set_bars_left_unknown_share(0.5);
  BatchSource hiding(shard, Split::kTrain, options, /*with_context=*/true, columns);
  hiding.set_bars_left_unknown_share(0.5);
  auto is_hidden = [&](const torch::Tensor& row) {  // row: (T, width)
    for (int64_t column : lookbacks)
      if (!row.select(-1, column).eq(vocab).all().item<bool>()) return false;
    return true;
  };
  // Rows other than the lookbacks: every column but 1, 2 and the far ones.
  auto others = [&](const torch::Tensor& context) {
    std::vector<torch::Tensor> kept;
    for (int64_t c = 0; c < context.size(-1); ++c)
      if (std::find(lookbacks.begin(), lookbacks.end(), c) == lookbacks.end()) kept.push_back(context.select(-1, c));
    return torch::stack(kept, -1);
  };
  auto hidden_rows = [&](double share, uint64_t seed) {
    hiding.set_lookback_hidden_share(share);
    const TensorBatch expected = plain.next(seed), batch = hiding.next(seed);
    EXPECT_TRUE(batch.targets.equal(expected.targets)) << "seed " << seed;
    EXPECT_TRUE(others(batch.context).equal(others(expected.context))) << "seed " << seed;
    int hidden = 0;
    for (int64_t b = 0; b < 8; ++b) {
      if (is_hidden(batch.context[b])) {
        ++hidden;
        EXPECT_FALSE(is_hidden(expected.context[b])) << "crops of 4 bars from a 9-bar tune read some lookback";
      } else {
        EXPECT_TRUE(batch.context[b].equal(expected.context[b])) << "seed " << seed << " row " << b;
      }
    }
    return hidden;
  };
  for (uint64_t seed = 1; seed <= 3; ++seed) EXPECT_EQ(hidden_rows(0.0, seed), 0) << "share 0";
  for (uint64_t seed = 1; seed <= 3; ++seed) EXPECT_EQ(hidden_rows(1.0, seed), 8) << "share 1";
  int hidden = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) hidden += hidden_rows(0.5, seed);
  EXPECT_GT(hidden, 8);
  EXPECT_LT(hidden, 56);
  EXPECT_EQ(hidden_rows(0.5, 5), hidden_rows(0.5, 5)) << "the draws follow the batch's seed";
  EXPECT_THROW_WITH(hiding.set_lookback_hidden_share(-0.1), Error, {"lookback_hidden_share", "[0, 1]", "-0.1"});
}

// Hidden chords (train chords_hidden_share): in a share of the rows the chord column reads 0 ("no chord") at every
// step, as generate without --chords gives it; the tokens and every other column are those of the same batch with
// nothing hidden.
TEST(CodecHiddenChords, AShareOfRowsReadsNoChordAndNothingElseChanges) {
  testing::TempDir dir;
  const auto encoding = make_token_encoding(nlohmann::json{{"name", "melody"}, {"structure", true}});
  ShardMetadata metadata;
  metadata.encoding = encoding->spec();
  metadata.vocabulary = encoding->vocabulary().names();
  metadata.sources.push_back({"tune.mid", 1, "fnv1a64:0"});
  metadata.chords.present = true;
  metadata.chords.track = 1;
  metadata.chords.runs = {{0, 0x091, 40, 0x884}};  // C major, G major from token 40: never 0
  std::string text = "START METER_4_4 KEY_C";
  for (int step = 0; step < 140; ++step) text += " NOTE_ON_" + std::to_string(60 + step % 13);
  text += " NOTE_OFF END";
  ShardWriter writer(metadata);
  writer.add_tokens(0, Split::kTrain, encoding->from_text(text));
  writer.write(dir.file("chords.cdz"));
  const Shard shard(dir.file("chords.cdz"));
  const ContextColumns columns{.chords = true, .styles = 0, .far_lookbacks = 2};
  BatchOptions options;
  options.batch_size = 8;
  options.crop_length = 64;
  BatchSource plain(shard, Split::kTrain, options, /*with_context=*/true, columns);
  BatchSource hiding(shard, Split::kTrain, options, /*with_context=*/true, columns);
  auto others = [](const torch::Tensor& context) {  // every column but the chord's (3)
    return torch::cat({context.narrow(-1, 0, 3), context.narrow(-1, 4, context.size(-1) - 4)}, -1);
  };
  auto hidden_rows = [&](double share, uint64_t seed) {
    hiding.set_chords_hidden_share(share);
    const TensorBatch expected = plain.next(seed), batch = hiding.next(seed);
    EXPECT_TRUE(batch.targets.equal(expected.targets)) << "seed " << seed;
    EXPECT_TRUE(others(batch.context).equal(others(expected.context))) << "seed " << seed;
    int hidden = 0;
    for (int64_t b = 0; b < 8; ++b) {
      const torch::Tensor chords = batch.context[b].select(-1, 3), before = expected.context[b].select(-1, 3);
      // Every step of the tune has a chord (the last row of a crop that ends at END reads past the tune: 0).
      EXPECT_TRUE(before.narrow(0, 0, 63).ne(0).all().item<bool>()) << "seed " << seed << " row " << b;
      if (chords.eq(0).all().item<bool>())
        ++hidden;
      else
        EXPECT_TRUE(chords.equal(before)) << "seed " << seed << " row " << b;
    }
    return hidden;
  };
  for (uint64_t seed = 1; seed <= 3; ++seed) EXPECT_EQ(hidden_rows(0.0, seed), 0) << "share 0";
  for (uint64_t seed = 1; seed <= 3; ++seed) EXPECT_EQ(hidden_rows(1.0, seed), 8) << "share 1";
  int hidden = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) hidden += hidden_rows(0.3, seed);
  EXPECT_GT(hidden, 4);
  EXPECT_LT(hidden, 40);
  EXPECT_EQ(hidden_rows(0.3, 5), hidden_rows(0.3, 5)) << "the draws follow the batch's seed";
  EXPECT_THROW_WITH(hiding.set_chords_hidden_share(1.5), Error, {"chords_hidden_share", "[0, 1]", "1.5"});
  BatchSource no_chords(shard, Split::kTrain, options, /*with_context=*/true, ContextColumns{.far_lookbacks = 2});
  EXPECT_THROW_WITH(no_chords.set_chords_hidden_share(0.3), Error,
                    {"chords_hidden_share 0.3", "reads none", "chord_conditioning=true"});
}

}  // namespace
}  // namespace cadenza::codec
