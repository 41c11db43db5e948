// The originality index on hand-built melodies: transposed copies, partial copies with a known n-gram share,
// rhythm changes that break matches, matches that must not cross training pieces, meters, degenerate pieces,
// the summary, and training sets read from shards.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "data/shard.h"
#include "encoding/melody.h"
#include "encoding/pianoroll.h"
#include "eval/originality.h"
#include "score/operations.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

// A note on the default comparison grid (1/12 quarter).
struct GridNote {
  int pitch = 60;
  int64_t onset = 0;
  int64_t duration = 3;
};

// Durations the generated lines use; their doubles (6, 8, 18, 30) and the "foreign" durations below never occur.
constexpr int64_t kLineDurations[] = {3, 4, 9, 15};
constexpr int64_t kForeignDurations[] = {5, 7};

// A pseudo-random, non-repeating melody: wide pitch range, varied durations, an occasional one-step rest.
std::vector<GridNote> random_line(uint32_t seed, int count, int base_pitch = 60) {
  uint32_t state = seed * 2654435761u + 12345u;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  std::vector<GridNote> line;
  int64_t onset = 0;
  for (int i = 0; i < count; ++i) {
    const int pitch = base_pitch - 12 + static_cast<int>(next() % 25);
    const int64_t duration = kLineDurations[next() % 4];
    line.push_back({pitch, onset, duration});
    onset += duration + (next() % 3 == 0 ? 1 : 0);
  }
  return line;
}

// Grid notes -> a one-track score at the given resolution (a multiple of 12), tempo and meter.
Score to_score(const std::vector<GridNote>& line, int ticks_per_quarter = 480, double qpm = 120.0, int numerator = 4,
               int denominator = 4) {
  Score score = make_empty_score(ticks_per_quarter, qpm, numerator, denominator);
  Track track;
  track.name = "tune";
  const int64_t ticks_per_step = ticks_per_quarter / kDefaultOriginalityGrid;
  for (const auto& note : line)
    track.notes.push_back({note.pitch, 90, note.onset * ticks_per_step, (note.onset + note.duration) * ticks_per_step});
  score.tracks.push_back(track);
  score.normalize();
  score.update_seconds();
  return score;
}

std::vector<GridNote> slice(const std::vector<GridNote>& line, size_t first, size_t count) {
  return {line.begin() + static_cast<std::ptrdiff_t>(first), line.begin() + static_cast<std::ptrdiff_t>(first + count)};
}

// Appends `tail` to `head`, moved in time to start `gap` steps after head's last note ends and in pitch by `shift`.
std::vector<GridNote> join(std::vector<GridNote> head, const std::vector<GridNote>& tail, int64_t gap = 0,
                           int shift = 0) {
  const int64_t start = head.empty() ? 0 : head.back().onset + head.back().duration + gap;
  const int64_t offset = start - (tail.empty() ? 0 : tail.front().onset);
  for (const auto& note : tail) head.push_back({note.pitch + shift, note.onset + offset, note.duration});
  return head;
}

// Notes no training line can hold: foreign durations (and far-off pitches, for good measure).
std::vector<GridNote> foreign_notes(int count, int pitch = 100) {
  std::vector<GridNote> line;
  int64_t onset = 0;
  for (int i = 0; i < count; ++i) {
    const int64_t duration = kForeignDurations[i % 2];
    line.push_back({pitch - (i % 5), onset, duration});
    onset += duration;
  }
  return line;
}

// Quarters from the first onset to the last end of a grid line.
double quarters_of(const std::vector<GridNote>& line) {
  return static_cast<double>(line.back().onset + line.back().duration - line.front().onset) / kDefaultOriginalityGrid;
}

OriginalityIndex index_of(const std::vector<std::vector<GridNote>>& training) {
  OriginalityIndex index;
  for (size_t i = 0; i < training.size(); ++i) index.add(to_score(training[i]), "train" + std::to_string(i) + ".mid");
  return index;
}

TEST(EvalOriginality, MelodyLineIsTheQuantizedSkylineOfPitchedTracks) {
  Score score = make_empty_score(480);
  Track melody, chords, drums;
  melody.notes = {{72, 90, 2, 238}, {74, 90, 240, 480}};  // starts 2 ticks late: snaps to the grid
  chords.notes = {{60, 90, 0, 960}, {64, 90, 0, 960}, {79, 90, 480, 960}};
  drums.is_drum = true;
  drums.channel = 9;
  drums.notes = {{120, 90, 0, 960}};  // a drum key above everything: not a pitch, ignored
  score.tracks = {melody, chords, drums};
  score.normalize();

  const auto line = melody_line(score, 12);
  ASSERT_EQ(line.size(), 3u);
  EXPECT_EQ(line[0].pitch, 72);
  EXPECT_EQ(line[0].onset, 0);
  EXPECT_EQ(line[0].duration, 6);
  EXPECT_EQ(line[1].pitch, 74);
  EXPECT_EQ(line[1].onset, 6);
  EXPECT_EQ(line[2].pitch, 79);  // the chord's top note at the second beat is the highest there
  EXPECT_EQ(line[2].onset, 12);
  EXPECT_EQ(line[2].duration, 12);

  // The same music at another resolution gives the same line.
  const auto same = melody_line(to_score({{60, 0, 3}, {62, 3, 9}}, 96), 12);
  const auto again = melody_line(to_score({{60, 0, 3}, {62, 3, 9}}, 960), 12);
  ASSERT_EQ(same.size(), 2u);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(same[1].onset, again[1].onset);
  EXPECT_EQ(same[1].duration, again[1].duration);
  EXPECT_THROW_WITH(melody_line(score, 0), Error, {"melody_line", "at least 1 step per quarter, not 0"});
}

TEST(EvalOriginality, TransposedCopyAtAnotherTempoAndResolutionIsFullyCopied) {
  const auto tune = random_line(1, 30);
  OriginalityIndex index = index_of({random_line(7, 40), tune, random_line(8, 25)});
  ASSERT_EQ(index.num_pieces(), 3u);
  EXPECT_EQ(index.num_notes(), 95u);

  Score copy = transpose(to_score(tune, 960, 77.0), 5);
  copy.source = "copy.mid";
  const OriginalityReport report = index.check(copy);
  EXPECT_EQ(report.source, "copy.mid");
  EXPECT_EQ(report.notes, 30u);
  EXPECT_EQ(report.longest.notes, 30u);
  EXPECT_EQ(report.longest.start_note, 0u);
  EXPECT_EQ(report.longest.training_piece, 1u);
  EXPECT_EQ(index.source(report.longest.training_piece), "train1.mid");
  EXPECT_EQ(report.longest.training_start_note, 0u);
  EXPECT_DOUBLE_EQ(report.longest.quarters, quarters_of(tune));
  EXPECT_DOUBLE_EQ(report.longest.bars, quarters_of(tune) / 4.0);
  ASSERT_EQ(report.ngrams.size(), 2u);
  EXPECT_EQ(report.ngrams[0].n, 8);
  EXPECT_EQ(report.ngrams[0].total, 30u - 8u + 1u);
  EXPECT_DOUBLE_EQ(report.ngrams[0].share(), 1.0);
  EXPECT_EQ(report.ngrams[1].n, 16);
  EXPECT_EQ(report.ngrams[1].total, 30u - 16u + 1u);
  EXPECT_DOUBLE_EQ(report.ngrams[1].share(), 1.0);
}

TEST(EvalOriginality, PieceSharingExactlyTenNotesHasSpanTenAndKnownNgramShare) {
  const auto training = random_line(3, 30);
  OriginalityIndex index = index_of({training});
  // 5 foreign notes, then training notes 10..19 (a fifth down), then 5 foreign notes: 20 notes.
  const auto shared = slice(training, 10, 10);
  const auto piece = join(join(foreign_notes(5), shared, 0, -7), foreign_notes(5), 2);
  ASSERT_EQ(piece.size(), 20u);

  const OriginalityReport report = index.check(to_score(piece));
  EXPECT_EQ(report.notes, 20u);
  EXPECT_EQ(report.longest.notes, 10u);
  EXPECT_EQ(report.longest.start_note, 5u);
  EXPECT_DOUBLE_EQ(report.longest.start_quarter, static_cast<double>(piece[5].onset) / 12.0);
  EXPECT_EQ(report.longest.training_start_note, 10u);
  EXPECT_DOUBLE_EQ(report.longest.training_start_quarter, static_cast<double>(training[10].onset) / 12.0);
  EXPECT_DOUBLE_EQ(report.longest.quarters, quarters_of(shared));
  // 8-grams: the piece has 20 - 8 + 1 = 13; those lying wholly inside the 10 shared notes start at piece notes
  // 5, 6 and 7 (10 - 8 + 1 = 3), so the share is 3 / 13. No 16-gram (5 of them) fits inside 10 notes.
  EXPECT_EQ(report.ngrams[0].total, 13u);
  EXPECT_EQ(report.ngrams[0].found, 3u);
  EXPECT_DOUBLE_EQ(report.ngrams[0].share(), 3.0 / 13.0);
  EXPECT_EQ(report.ngrams[1].total, 5u);
  EXPECT_EQ(report.ngrams[1].found, 0u);
  EXPECT_DOUBLE_EQ(report.ngrams[1].share(), 0.0);
}

TEST(EvalOriginality, RhythmChangesBreakMatchesButTempoDoesNot) {
  const auto tune = random_line(5, 30);
  OriginalityIndex index = index_of({tune});

  // One note held for another duration (2 steps: no training note is that short): notes 0..14 and 16..29 still
  // match, the longest is the first 15.
  auto shorter = tune;
  ASSERT_NE(shorter[15].duration, 2);
  shorter[15].duration = 2;
  const auto held = index.check(to_score(shorter));
  EXPECT_EQ(held.longest.notes, 15u);
  EXPECT_EQ(held.longest.start_note, 0u);
  // 8-grams not touching note 15: starts 0..7 (end at note 14 at the latest) and 16..22: 8 + 7 = 15 of 23.
  EXPECT_EQ(held.ngrams[0].found, 15u);
  EXPECT_EQ(held.ngrams[0].total, 23u);

  // One note starting a step late (ending where it did): the same breaks.
  auto late = tune;
  late[15].onset += 1;
  late[15].duration -= 1;
  EXPECT_EQ(index.check(to_score(late)).longest.notes, 15u);

  // Doubled note values are not a verbatim copy: no step of the piece occurs.
  auto doubled = tune;
  for (auto& note : doubled) {
    note.onset *= 2;
    note.duration *= 2;
  }
  const auto augmented = index.check(to_score(doubled));
  EXPECT_EQ(augmented.longest.notes, 0u);
  EXPECT_EQ(augmented.ngrams[0].found, 0u);

  // Tempo (seconds) does not enter the comparison.
  EXPECT_EQ(index.check(to_score(tune, 480, 200.0)).longest.notes, 30u);
}

TEST(EvalOriginality, MatchesDoNotCrossTrainingPieces) {
  auto first = random_line(11, 30);
  auto second = random_line(12, 30);
  // Equally long (and no longer than any gap to the next note), so that the last note of `first` can stand for
  // the first of `second`.
  first.back().duration = 3;
  second[0].duration = 3;
  OriginalityIndex index = index_of({first, second});
  // The end of the first piece running on into the second as if its last note were the second's first: each
  // half is a 10-note copy, but the 19 notes occur together in no training piece.
  auto seam = slice(first, 20, 10);
  const int64_t onset_shift = seam.back().onset - second[0].onset;
  const int pitch_shift = seam.back().pitch - second[0].pitch;
  for (size_t i = 1; i < 10; ++i)
    seam.push_back({second[i].pitch + pitch_shift, second[i].onset + onset_shift, second[i].duration});
  const auto report = index.check(to_score(seam));
  EXPECT_EQ(report.longest.notes, 10u);
  EXPECT_EQ(report.longest.training_piece, 0u);  // the first of two equally long spans
  EXPECT_EQ(report.longest.training_start_note, 20u);
  // 8-grams: 19 - 8 + 1 = 12 in all; the 3 inside each 10-note half are found, none across the seam.
  EXPECT_EQ(report.ngrams[0].total, 12u);
  EXPECT_EQ(report.ngrams[0].found, 6u);

  // A span of the second piece is located in the second piece.
  const auto middle = index.check(to_score(slice(second, 5, 20)));
  EXPECT_EQ(middle.longest.notes, 20u);
  EXPECT_EQ(middle.longest.training_piece, 1u);
  EXPECT_EQ(middle.longest.training_start_note, 5u);
  EXPECT_DOUBLE_EQ(middle.longest.training_start_quarter, static_cast<double>(second[5].onset) / 12.0);
}

TEST(EvalOriginality, BarsFollowTheMeterOfThePiece) {
  const auto tune = random_line(21, 24);
  OriginalityIndex index = index_of({tune});
  // Six quarters of foreign notes (6 x (5 + 7) = 72 steps), then the copy.
  const auto piece = join(foreign_notes(12), tune);
  ASSERT_EQ(piece[12].onset, 72);
  const auto waltz = index.check(to_score(piece, 480, 120.0, 3, 4));
  EXPECT_EQ(waltz.longest.notes, 24u);
  EXPECT_EQ(waltz.longest.start_note, 12u);
  EXPECT_EQ(waltz.longest.start_bar, 3);  // 6 quarters = two 3/4 bars before it
  EXPECT_DOUBLE_EQ(waltz.longest.bars, quarters_of(tune) / 3.0);
  const auto common = index.check(to_score(piece, 480, 120.0, 4, 4));
  EXPECT_EQ(common.longest.start_bar, 2);  // 6 quarters: one 4/4 bar and a half before it
  EXPECT_DOUBLE_EQ(common.longest.bars, quarters_of(tune) / 4.0);

  // A meter change: 3/4 for the foreign notes, 2/4 from where the copy starts. The copy covers only 2/4 bars.
  Score changing = to_score(piece, 480, 120.0, 3, 4);
  changing.time_signatures.push_back({72 * 40, 2, 4});  // step 72 = tick 2880
  const auto changed = index.check(changing);
  EXPECT_EQ(changed.longest.start_bar, 3);
  EXPECT_DOUBLE_EQ(changed.longest.bars, quarters_of(tune) / 2.0);
  // The other way round: 2/4 for the first 6 quarters (3 bars), then 3/4 under the copy.
  Score other_way = to_score(piece, 480, 120.0, 2, 4);
  other_way.time_signatures.push_back({72 * 40, 3, 4});
  const auto other = index.check(other_way);
  EXPECT_EQ(other.longest.start_bar, 4);
  EXPECT_DOUBLE_EQ(other.longest.bars, quarters_of(tune) / 3.0);
}

TEST(EvalOriginality, EmptyOneNoteAndShortPieces) {
  const auto tune = random_line(31, 20);
  OriginalityIndex index = index_of({tune});

  const auto empty = index.check(make_empty_score());
  EXPECT_EQ(empty.notes, 0u);
  EXPECT_EQ(empty.longest.notes, 0u);
  ASSERT_EQ(empty.ngrams.size(), 2u);
  EXPECT_EQ(empty.ngrams[0].total, 0u);
  EXPECT_TRUE(std::isnan(empty.ngrams[0].share()));

  Score drums_only = make_empty_score();
  Track drums;
  drums.is_drum = true;
  drums.channel = 9;
  drums.notes = {{36, 90, 0, 120}, {38, 90, 480, 600}};
  drums_only.tracks.push_back(drums);
  EXPECT_EQ(index.check(drums_only).notes, 0u);

  // One note has no interval to compare: nothing counts as copied, whatever the note.
  const auto one = index.check(to_score(slice(tune, 3, 1)));
  EXPECT_EQ(one.notes, 1u);
  EXPECT_EQ(one.longest.notes, 0u);
  EXPECT_EQ(one.ngrams[1].total, 0u);

  // Two notes of the tune: a copied span of 2, and too short for any 8-gram.
  const auto two = index.check(to_score(slice(tune, 3, 2)));
  EXPECT_EQ(two.longest.notes, 2u);
  EXPECT_EQ(two.longest.training_start_note, 3u);
  EXPECT_EQ(two.ngrams[0].total, 0u);

  // An empty index matches nothing.
  OriginalityIndex nothing;
  EXPECT_EQ(nothing.check(to_score(tune)).longest.notes, 0u);
  EXPECT_EQ(nothing.check(to_score(tune)).ngrams[0].found, 0u);
  EXPECT_THROW_WITH(nothing.source(0), Error, {"training piece 0 out of range", "0 pieces"});
}

// The index against brute force on small alphabets, where matches of every length abound.
TEST(EvalOriginality, AgreesWithBruteForceOnRepetitiveMelodies) {
  uint32_t state = 99;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  auto repetitive_line = [&](int count) {
    std::vector<GridNote> line;
    int64_t onset = 0;
    for (int i = 0; i < count; ++i) {
      const int64_t duration = next() % 2 == 0 ? 3 : 6;
      line.push_back({60 + static_cast<int>(next() % 3), onset, duration});
      onset += duration;
    }
    return line;
  };
  // A line's steps as comparable tuples: (interval, onset difference, duration, next duration).
  using Step = std::array<int64_t, 4>;
  auto steps_of = [](const std::vector<GridNote>& line) {
    std::vector<Step> steps;
    for (size_t j = 0; j + 1 < line.size(); ++j)
      steps.push_back({line[j + 1].pitch - line[j].pitch, line[j + 1].onset - line[j].onset, line[j].duration,
                       line[j + 1].duration});
    return steps;
  };

  for (int round = 0; round < 20; ++round) {
    std::vector<std::vector<GridNote>> training;
    for (int i = 0; i < 4; ++i) training.push_back(repetitive_line(5 + static_cast<int>(next() % 30)));
    OriginalityIndex index({12, {2, 3, 5, 8}});
    for (const auto& line : training) index.add(to_score(line), "t");
    const auto piece = repetitive_line(1 + static_cast<int>(next() % 40));

    // Brute force: the longest training match ending at each step of the piece.
    const auto piece_steps = steps_of(piece);
    std::vector<size_t> longest_ending(piece_steps.size(), 0);
    for (const auto& line : training) {
      const auto train_steps = steps_of(line);
      for (size_t j = 0; j < piece_steps.size(); ++j)
        for (size_t t = 0; t < train_steps.size(); ++t) {
          size_t length = 0;
          while (length <= j && length <= t && piece_steps[j - length] == train_steps[t - length]) ++length;
          longest_ending[j] = std::max(longest_ending[j], length);
        }
    }
    size_t longest = 0;
    for (size_t length : longest_ending) longest = std::max(longest, length);

    const auto report = index.check(to_score(piece));
    EXPECT_EQ(report.longest.notes, longest == 0 ? 0 : longest + 1) << "round " << round;
    for (const auto& overlap : report.ngrams) {
      size_t found = 0, total = 0;
      for (size_t j = static_cast<size_t>(overlap.n) - 2; j < piece_steps.size(); ++j) {
        ++total;
        if (longest_ending[j] >= static_cast<size_t>(overlap.n) - 1) ++found;
      }
      EXPECT_EQ(overlap.total, total) << "round " << round << ", n " << overlap.n;
      EXPECT_EQ(overlap.found, found) << "round " << round << ", n " << overlap.n;
    }
    if (report.longest.notes > 0) {  // the reported location really holds the span
      const auto train_steps = steps_of(training[report.longest.training_piece]);
      for (size_t k = 0; k + 1 < report.longest.notes; ++k)
        EXPECT_EQ(piece_steps[report.longest.start_note + k], train_steps[report.longest.training_start_note + k])
            << "round " << round;
    }
  }
}

TEST(EvalOriginality, RejectsBadOptions) {
  EXPECT_THROW_WITH(OriginalityIndex({0, {8}}), Error, {"grid must be 1..960 steps per quarter", "not 0"});
  EXPECT_THROW_WITH(OriginalityIndex({12, {1}}), Error, {"n-gram sizes must be 2..", "not 1"});
  EXPECT_THROW_WITH(OriginalityIndex({961, {8}}), Error, {"grid must be 1..960 steps per quarter", "not 961"});
  OriginalityIndex custom({4, {2, 3}});
  const auto tune = random_line(41, 12);
  std::vector<GridNote> on_quarter_grid;  // times 3: every note on the 4-steps-per-quarter grid
  for (auto note : tune) on_quarter_grid.push_back({note.pitch, note.onset * 3, note.duration * 3});
  custom.add(to_score(on_quarter_grid), "a");
  const auto report = custom.check(to_score(on_quarter_grid));
  ASSERT_EQ(report.ngrams.size(), 2u);
  EXPECT_EQ(report.ngrams[0].n, 2);
  EXPECT_EQ(report.ngrams[0].total, 11u);
  EXPECT_DOUBLE_EQ(report.ngrams[1].share(), 1.0);
}

TEST(EvalOriginality, SummaryAveragesAndSkipsPiecesWithoutNgrams) {
  OriginalityReport a;
  a.notes = 20;
  a.longest.notes = 10;
  a.longest.bars = 2.5;
  a.ngrams = {{8, 13, 3}, {16, 5, 0}};
  OriginalityReport b;
  b.notes = 10;
  b.longest.notes = 10;
  b.longest.bars = 3.0;
  b.ngrams = {{8, 3, 3}, {16, 0, 0}};
  OriginalityReport c;  // empty piece
  c.ngrams = {{8, 0, 0}, {16, 0, 0}};
  const std::vector<OriginalityReport> reports = {a, b, c};
  const OriginalitySummary summary = summarize(reports);
  EXPECT_EQ(summary.pieces, 3u);
  EXPECT_DOUBLE_EQ(summary.mean_notes, 10.0);
  EXPECT_DOUBLE_EQ(summary.mean_longest_notes, 20.0 / 3.0);
  EXPECT_DOUBLE_EQ(summary.mean_longest_bars, 5.5 / 3.0);
  EXPECT_EQ(summary.max_longest_notes, 10u);
  EXPECT_EQ(summary.max_longest_piece, 0u);  // first of the ties
  EXPECT_DOUBLE_EQ(summary.max_longest_bars, 3.0);
  ASSERT_EQ(summary.shares.size(), 2u);
  EXPECT_EQ(summary.shares[0].pieces, 2u);
  EXPECT_DOUBLE_EQ(summary.shares[0].mean, (3.0 / 13.0 + 1.0) / 2.0);
  EXPECT_DOUBLE_EQ(summary.shares[0].max, 1.0);
  EXPECT_EQ(summary.shares[0].max_piece, 1u);
  EXPECT_DOUBLE_EQ(summary.shares[0].pooled, 6.0 / 16.0);
  EXPECT_EQ(summary.shares[1].pieces, 1u);
  EXPECT_DOUBLE_EQ(summary.shares[1].mean, 0.0);

  const OriginalitySummary none = summarize(std::vector<OriginalityReport>{});
  EXPECT_EQ(none.pieces, 0u);
  EXPECT_TRUE(none.shares.empty());
}

// A melody shard (4 steps per quarter) with two training pieces and one validation piece.
struct MelodyShardFixture {
  testing::TempDir dir;
  std::string path = dir.file("melody.cdz");
  std::vector<GridNote> first = quarter_grid(random_line(51, 30));
  std::vector<GridNote> second = quarter_grid(random_line(52, 30));
  std::vector<GridNote> held_out = quarter_grid(random_line(53, 30));

  // The generator's 1/12-quarter values times 3: every note on the 1/4-quarter grid, in the encoding's range.
  static std::vector<GridNote> quarter_grid(const std::vector<GridNote>& line) {
    std::vector<GridNote> out;
    for (const auto& note : line) out.push_back({note.pitch, note.onset * 3, note.duration * 3});
    return out;
  }

  MelodyShardFixture() {
    MelodyEncoding encoding;
    ShardMetadata metadata;
    metadata.encoding = encoding.spec();
    metadata.vocabulary = encoding.vocabulary().names();
    metadata.sources = {{"a.mid", 1, "h"}, {"b.mid", 1, "h"}, {"c.mid", 1, "h"}};
    ShardWriter writer(metadata);
    writer.add_tokens(0, Split::kTrain, encoding.encode(to_score(first)));
    writer.add_tokens(1, Split::kTrain, encoding.encode(to_score(second)));
    writer.add_tokens(2, Split::kValid, encoding.encode(to_score(held_out)));
    writer.write(path);
  }
};

TEST(EvalOriginality, IndexesTheTrainSplitOfAShard) {
  MelodyShardFixture fixture;
  const Shard shard(fixture.path);
  EXPECT_EQ(shard_grid(shard), 4);
  const Shard* shards[] = {&shard};
  EXPECT_EQ(comparison_grid(shards), 4);

  OriginalityIndex index({comparison_grid(shards), {8, 16}});
  EXPECT_EQ(add_training_pieces(index, shard, "melody.cdz:"), 2u);
  ASSERT_EQ(index.num_pieces(), 2u);
  EXPECT_EQ(index.source(0), "melody.cdz:a.mid");
  EXPECT_EQ(index.source(1), "melody.cdz:b.mid");
  EXPECT_EQ(index.num_notes(), 60u);

  const Split held_out_splits[] = {Split::kValid, Split::kTest};
  const auto held_out = decode_shard_pieces(shard, held_out_splits);
  ASSERT_EQ(held_out.size(), 1u);
  EXPECT_EQ(held_out[0].source, "c.mid");
  EXPECT_EQ(melody_line(held_out[0], 4).size(), 30u);
  EXPECT_LT(index.check(held_out[0]).longest.notes, 30u);

  // The second training tune, transposed, at its own resolution: all copied, from b.mid.
  const auto report = index.check(transpose(to_score(fixture.second, 96), -2));
  EXPECT_EQ(report.longest.notes, 30u);
  EXPECT_EQ(index.source(report.longest.training_piece), "melody.cdz:b.mid");
  EXPECT_DOUBLE_EQ(report.ngrams[0].share(), 1.0);
}

TEST(EvalOriginality, GridFollowsTheCoarsestShardAndErrorsNameTheShard) {
  testing::TempDir dir;
  PianoRollSpec spec;
  spec.steps_per_quarter = 2;
  ShardMetadata roll_metadata;
  roll_metadata.encoding = spec.to_json();
  roll_metadata.sources = {{"a.mid", 1, "h"}};
  ShardWriter roll_writer(roll_metadata);
  roll_writer.add_roll(0, Split::kTrain, PianoRollEncoding(spec).encode(to_score(random_line(61, 10))));
  roll_writer.write(dir.file("roll.cdz"));
  const Shard roll(dir.file("roll.cdz"));
  EXPECT_EQ(shard_grid(roll), 2);

  MelodyShardFixture melody;
  const Shard tokens(melody.path);
  const Shard* both[] = {&tokens, &roll};
  EXPECT_EQ(comparison_grid(both), 2);

  // A performance shard keeps absolute time: no grid of its own, so the default.
  auto performance = make_token_encoding({{"name", "performance"}});
  ShardMetadata performance_metadata;
  performance_metadata.encoding = performance->spec();
  performance_metadata.vocabulary = performance->vocabulary().names();
  performance_metadata.sources = {{"a.mid", 1, "h"}};
  ShardWriter performance_writer(performance_metadata);
  performance_writer.add_tokens(0, Split::kTrain, performance->encode(to_score(random_line(62, 10))));
  performance_writer.write(dir.file("performance.cdz"));
  const Shard timed(dir.file("performance.cdz"));
  EXPECT_EQ(shard_grid(timed), 0);
  const Shard* only_timed[] = {&timed};
  EXPECT_EQ(comparison_grid(only_timed), kDefaultOriginalityGrid);
  OriginalityIndex index;
  EXPECT_EQ(add_training_pieces(index, timed), 1u);
  EXPECT_EQ(index.num_notes(), 10u);

  // An encoding this build does not know: the error names the shard.
  ShardMetadata unknown;
  unknown.encoding = {{"name", "no-such-encoding"}};
  unknown.vocabulary = {"a", "b"};
  unknown.sources = {{"a.mid", 1, "h"}};
  ShardWriter unknown_writer(unknown);
  unknown_writer.add_tokens(0, Split::kTrain, std::vector<Token>{0, 1});
  unknown_writer.write(dir.file("unknown.cdz"));
  const Shard strange(dir.file("unknown.cdz"));
  try {
    shard_grid(strange);
    FAIL() << "an unknown encoding must be refused";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()).rfind(dir.file("unknown.cdz"), 0), 0u) << error.what();
  }
  OriginalityIndex untouched;
  EXPECT_THROW_WITH(add_training_pieces(untouched, strange), Error,
                    {dir.file("unknown.cdz"), "unknown encoding 'no-such-encoding'"});
  EXPECT_EQ(untouched.num_pieces(), 0u);
}

}  // namespace
}  // namespace cadenza
