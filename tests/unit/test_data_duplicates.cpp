// Identical and near-identical pieces (data/duplicates.h) and how `dataset prepare` keeps each group in one split.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "common/file_io.h"
#include "data/duplicates.h"
#include "data/prepare.h"
#include "data/shard.h"
#include "data/split.h"
#include "encoding/encoding.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

using testing::TempDir;

// A tune that does not repeat itself: `length` notes of random pitch (50..80) and random length (8th, quarter,
// dotted quarter), drawn from `seed`, at `tpq` ticks per quarter, transposed by `shift`.
Score random_tune(uint32_t seed, int length = 48, int tpq = 480, int shift = 0) {
  std::mt19937 random(seed);
  Score score = make_empty_score(tpq, 120.0);
  Track track;
  int64_t tick = 0;
  for (int i = 0; i < length; ++i) {
    const int64_t duration = tpq / 2 * (1 + static_cast<int64_t>(random() % 3));
    track.notes.push_back({50 + static_cast<int>(random() % 31) + shift, 90, tick, tick + duration});
    tick += duration;
  }
  score.tracks.push_back(track);
  score.normalize();
  return score;
}

PieceFingerprint fingerprint(const Score& score) {
  static const auto melody = make_token_encoding({{"name", "melody"}, {"min_pitch", 0}, {"max_pitch", 127}});
  return fingerprint_tokens(score, melody->encode(score));
}

TEST(DataDuplicates, TheLineIgnoresKeyTempoAndResolution) {
  const Score tune = random_tune(1);
  Score moved = random_tune(1, 48, 96, 5);
  moved.tempos = {{0, 300000}};
  moved.tracks.push_back({"bass", 0, false, 1, {{30, 60, 0, 96}}});  // a lower voice under the line
  moved.normalize();
  EXPECT_EQ(melodic_line(tune), melodic_line(moved));
  const PieceFingerprint a = fingerprint(tune), b = fingerprint(moved);
  EXPECT_NE(a.exact, b.exact) << "the encodings differ (transposed)";
  EXPECT_EQ(a.line, b.line);
  EXPECT_NE(a.line, fingerprint(random_tune(2)).line);
}

TEST(DataDuplicates, GroupsExactLineAndNearCopiesButNotOtherTunes) {
  std::vector<PieceFingerprint> pieces;
  pieces.push_back(fingerprint(random_tune(10)));               // 0
  pieces.push_back(fingerprint(random_tune(11)));               // 1: another tune
  pieces.push_back(fingerprint(random_tune(10)));               // 2: identical to 0
  pieces.push_back(fingerprint(random_tune(11, 48, 240, -3)));  // 3: 1 in another key and resolution
  Score edited = random_tune(10);                               // 4: 0 with two notes changed
  for (int i : {12, 30}) edited.tracks[0].notes[i].pitch += 2;
  pieces.push_back(fingerprint(edited));
  Score extended = random_tune(12, 48);  // 5: tune 12 with 20 more notes
  Score longer = random_tune(12, 68);
  pieces.push_back(fingerprint(extended));
  pieces.push_back(fingerprint(longer));           // 6
  pieces.push_back(fingerprint(random_tune(13)));  // 7: alone
  const DuplicateGroups groups = group_duplicates(pieces);
  EXPECT_EQ(groups.group_of, (std::vector<size_t>{0, 1, 0, 1, 0, 5, 5, 7}));
  EXPECT_EQ(groups.groups, 3u);
  EXPECT_EQ(groups.pieces, 7u);
  EXPECT_EQ(groups.exact_pairs, 1u);
  EXPECT_EQ(groups.line_pairs, 1u);
  EXPECT_EQ(groups.near_pairs, 2u);
  EXPECT_GE(shingle_containment(pieces[0].shingles, pieces[4].shingles), kNearContainment);
  EXPECT_LT(shingle_containment(pieces[0].shingles, pieces[7].shingles), 0.1);
}

// Nottingham's chords/x.mid holds the chords of x.mid alone: the copy of one part of a file is a duplicate of it;
// two tunes that merely share their accompaniment are not.
TEST(DataDuplicates, ACopyOfOneTrackJoinsItsFileButSharedAccompanimentsDoNot) {
  auto with_part = [](const Score& lead, const Score& part) {
    Score both = lead;
    Track second = part.tracks[0];
    second.channel = 1;
    for (auto& note : second.notes) note.pitch -= 24;  // below the lead: not in the skyline
    both.tracks.push_back(second);
    both.normalize();
    return both;
  };
  const Score accompaniment = random_tune(50);
  const PieceFingerprint first = fingerprint(with_part(random_tune(51), accompaniment));
  const PieceFingerprint second = fingerprint(with_part(random_tune(52), accompaniment));
  Score part_alone = accompaniment;
  for (auto& note : part_alone.tracks[0].notes) note.pitch -= 24;
  part_alone.normalize();
  const PieceFingerprint alone = fingerprint(part_alone);
  ASSERT_EQ(first.track_shingles.size(), 2u);
  EXPECT_TRUE(alone.track_shingles.empty());
  EXPECT_TRUE(near_duplicates(alone, first));
  EXPECT_TRUE(near_duplicates(second, alone));
  EXPECT_FALSE(near_duplicates(first, second)) << "different tunes over one accompaniment";
  EXPECT_EQ(group_duplicates(std::vector<PieceFingerprint>{first, second}).groups, 0u);
}

// A phrase that most pieces share (a scale, a cadence) is no evidence: pieces meeting only on it are never
// compared, so the work does not grow with the square of the pieces.
TEST(DataDuplicates, CommonPhrasesCauseNoComparisons) {
  std::vector<PieceFingerprint> pieces;
  const Score common = random_tune(999, 12);
  for (uint32_t i = 0; i < 2000; ++i) {
    Score tune = random_tune(1000 + i, 40);
    const int64_t offset = tune.end_tick();
    for (Note note : common.tracks[0].notes) {
      note.start_tick += offset, note.end_tick += offset;
      tune.tracks[0].notes.push_back(note);
    }
    tune.normalize();
    pieces.push_back(fingerprint(tune));
  }
  pieces.push_back(pieces[7]);  // one real copy
  const DuplicateGroups groups = group_duplicates(pieces);
  EXPECT_EQ(groups.groups, 1u);
  EXPECT_EQ(groups.group_of.back(), 7u);
  // Shingles shared by more than kMaxShingleSpread pieces are never followed: only pairs that share a rarer one
  // (here the junction into the common phrase, when two tunes end on the same note) are compared. All pairs
  // would be 2001 * 2000 / 2 = 2,001,000.
  EXPECT_LE(groups.comparisons, pieces.size() * kMaxShingleSpread);
  std::printf("%zu comparisons for %zu pieces sharing one phrase\n", groups.comparisons, pieces.size());
}

TEST(DataDuplicates, RepetitiveLinesAreNotNearDuplicates) {
  // An arpeggio cycling through four notes has fewer than kMinShingles distinct shingles: too little to judge by.
  auto arpeggio = [](int start, int length) {
    Score score = make_empty_score();
    Track track;
    for (int i = 0; i < length; ++i) track.notes.push_back({60 + (start + 3 * i) % 12, 90, i * 240, i * 240 + 240});
    score.tracks.push_back(track);
    score.normalize();
    return score;
  };
  std::vector<PieceFingerprint> pieces = {fingerprint(arpeggio(0, 30)), fingerprint(arpeggio(1, 27))};
  EXPECT_LT(pieces[0].shingles.size(), kMinShingles);
  EXPECT_EQ(group_duplicates(pieces).groups, 0u);
}

void write_score(const std::string& path, const Score& score) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const auto bytes = write_midi(score);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Copies in sub-folders (as Nottingham's melody/ and chords/) follow the split of the top-level file of their group,
// the shard records the groups, and without grouping each file keeps its own split.
TEST(DataDuplicates, PrepareKeepsEachGroupInOneSplitAndRecordsIt) {
  TempDir dir;
  std::vector<std::string> names;
  for (uint32_t seed = 0; seed < 30; ++seed) {
    const std::string name = "tune" + std::to_string(seed) + ".mid";
    write_score(dir.file(name), random_tune(seed));
    names.push_back(name);
  }
  for (uint32_t seed = 0; seed < 30; seed += 2)
    write_score(dir.file("melody/tune" + std::to_string(seed) + ".mid"), random_tune(seed, 48, 96, 2));
  PrepareOptions options;
  options.inputs = {dir.path().string()};
  options.encoding = "melody";
  const PreparedDataset grouped = build_dataset(options);
  EXPECT_EQ(grouped.result.duplicate_groups, 15u);
  EXPECT_EQ(grouped.result.duplicate_pieces, 30u);
  size_t expected_moved = 0;
  for (uint32_t seed = 0; seed < 30; seed += 2)
    expected_moved += split_for_path("melody/tune" + std::to_string(seed) + ".mid") !=
                      split_for_path("tune" + std::to_string(seed) + ".mid");
  EXPECT_EQ(grouped.result.duplicate_moved, expected_moved);
  EXPECT_GT(expected_moved, 0u) << "pick other seeds: no copy would have landed elsewhere";

  write_file_atomic(dir.file("grouped.cdz"), grouped.shard_bytes);
  const Shard shard(dir.file("grouped.cdz"));
  const DuplicateInfo& info = shard.metadata().duplicates;
  EXPECT_TRUE(info.checked);
  EXPECT_EQ(info.method, kDuplicateMethod);
  ASSERT_EQ(info.groups.size(), 15u);
  EXPECT_EQ(info.pieces, 30u);
  EXPECT_EQ(info.moved, expected_moved);
  for (const auto& group : info.groups) {
    ASSERT_EQ(group.size(), 2u);
    const std::string& copy = shard.metadata().sources[group[0]].path;
    const std::string& top = shard.metadata().sources[group[1]].path;
    EXPECT_EQ(copy, "melody/" + top) << "sources are in path order: melody/ sorts before tune*";
    Split split_of_copy = Split::kTrain, split_of_top = Split::kTest;
    for (const auto& piece : shard.pieces()) {
      if (piece.source == group[0]) split_of_copy = piece.split;
      if (piece.source == group[1]) split_of_top = piece.split;
    }
    EXPECT_EQ(split_of_copy, split_of_top) << top;
    EXPECT_EQ(split_of_top, split_for_path(top)) << "the group follows its top-level member";
  }

  options.group_duplicates = false;
  const PreparedDataset apart = build_dataset(options);
  EXPECT_EQ(apart.result.duplicate_groups, 0u);
  write_file_atomic(dir.file("apart.cdz"), apart.shard_bytes);
  const Shard unchecked(dir.file("apart.cdz"));
  EXPECT_FALSE(unchecked.metadata().duplicates.checked) << "reads like a shard made before grouping";
  for (const auto& piece : unchecked.pieces())
    EXPECT_EQ(piece.split, split_for_path(unchecked.metadata().sources[piece.source].path));
}

}  // namespace
}  // namespace cadenza
