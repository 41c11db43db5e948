// Form metrics on hand-made scores; every expected value is worked out in the comments.
#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include "common/error.h"
#include "data/shard.h"
#include "encoding/melody.h"
#include "eval/form_metrics.h"
#include "score/operations.h"
#include "support/test_support.h"

namespace cadenza::eval {
namespace {

constexpr int64_t Q = 480;       // ticks per quarter
constexpr int64_t kBar = 4 * Q;  // a 4/4 bar

struct N {
  int pitch;
  int64_t start;
  int64_t end;
};

Track track_of(const std::vector<N>& notes, const std::string& name = "melody") {
  Track track;
  track.name = name;
  for (const N& n : notes) track.notes.push_back(Note{n.pitch, 80, n.start, n.end});
  return track;
}

Score score_of(const std::vector<N>& notes, int numerator = 4, int denominator = 4) {
  Score score = make_empty_score(static_cast<int>(Q), 120.0, numerator, denominator);
  score.tracks.push_back(track_of(notes));
  score.normalize();
  score.source = "hand.mid";
  return score;
}

// Appends the notes of `bar` (ticks relative to the bar) at bar index `index` of `length` ticks.
void put(std::vector<N>& notes, const std::vector<N>& bar, int64_t index, int64_t length = kBar) {
  for (const N& n : bar) notes.push_back({n.pitch, n.start + index * length, n.end + index * length});
}

const std::vector<N> kA = {{60, 0, Q}, {62, Q, 2 * Q}, {64, 2 * Q, 3 * Q}, {65, 3 * Q, 4 * Q}};  // C D E F quarters
const std::vector<N> kB = {{67, 0, 2 * Q}, {64, 2 * Q, 4 * Q}};                                  // G E halves
const std::vector<N> kC = {{60, 0, kBar}};                                                       // whole C
const std::vector<N> kD = {{62, 0, 2 * Q}, {59, 2 * Q, 4 * Q}};                                  // D B halves

TEST(EvalFormMetrics, RecurringTwoBarPatterns) {
  // Bars A B A B C D: windows AB, BA, AB, BC, CD; AB occurs at bars 0 and 2, the rest once: 2 of 5.
  std::vector<N> notes;
  int64_t bar = 0;
  for (const auto* content : {&kA, &kB, &kA, &kB, &kC, &kD}) put(notes, *content, bar++);
  EXPECT_DOUBLE_EQ(recurring_pattern_rate(score_of(notes)), 2.0 / 5.0);

  // The repeat played staccato (other durations, same onsets and pitches) still counts.
  std::vector<N> staccato;
  put(staccato, kA, 0);
  put(staccato, kB, 1);
  for (const N& n : kA) staccato.push_back({n.pitch, n.start + 2 * kBar, n.start + 2 * kBar + Q / 2});
  for (const N& n : kB) staccato.push_back({n.pitch, n.start + 3 * kBar, n.start + 3 * kBar + Q / 2});
  put(staccato, kC, 4);
  // Windows AB, BA', A'B', B'C: AB = A'B' (onsets and pitches), so 2 of 4.
  EXPECT_DOUBLE_EQ(recurring_pattern_rate(score_of(staccato)), 2.0 / 4.0);

  // A transposed repeat (a sequence) is not the same pattern: A B A+2 B+2 C: AB, BA+2, A+2B+2, B+2C: none recurs.
  std::vector<N> sequence;
  put(sequence, kA, 0);
  put(sequence, kB, 1);
  for (const N& n : kA) sequence.push_back({n.pitch + 2, n.start + 2 * kBar, n.end + 2 * kBar});
  for (const N& n : kB) sequence.push_back({n.pitch + 2, n.start + 3 * kBar, n.end + 3 * kBar});
  put(sequence, kC, 4);
  EXPECT_DOUBLE_EQ(recurring_pattern_rate(score_of(sequence)), 0.0);

  // One bar only: no 2-bar window at all.
  EXPECT_TRUE(std::isnan(recurring_pattern_rate(score_of(kA))));
}

TEST(EvalFormMetrics, PatternsFollowTheMeter) {
  // 6/8 (bars of 6 eighths = 1440 ticks): A = six rising eighths, B = two dotted quarters; A B A B gives windows
  // AB, BA, AB: 2 of 3. Read as 4/4 the same notes fall into bars of 1920 ticks and nothing recurs.
  const int64_t bar = 3 * Q, e = Q / 2;
  const std::vector<N> a = {{60, 0, e},         {62, e, 2 * e},     {64, 2 * e, 3 * e},
                            {65, 3 * e, 4 * e}, {67, 4 * e, 5 * e}, {69, 5 * e, 6 * e}};
  const std::vector<N> b = {{67, 0, 3 * e}, {64, 3 * e, 6 * e}};
  std::vector<N> notes;
  for (int64_t i = 0; i < 4; ++i) put(notes, i % 2 == 0 ? a : b, i, bar);
  EXPECT_DOUBLE_EQ(recurring_pattern_rate(score_of(notes, 6, 8)), 2.0 / 3.0);
  // 4/4: 5760 ticks = 3 bars; windows [0, 3840) and [1920, 5760) differ.
  EXPECT_DOUBLE_EQ(recurring_pattern_rate(score_of(notes, 4, 4)), 0.0);
}

TEST(EvalFormMetrics, SelfSimilarityAtBarLags) {
  // Bars A B C A A B C D' A, with D' = C D E G (A with its last quarter G instead of F).
  const std::vector<N> d_prime = {{60, 0, Q}, {62, Q, 2 * Q}, {64, 2 * Q, 3 * Q}, {67, 3 * Q, 4 * Q}};
  std::vector<N> notes;
  int64_t bar = 0;
  for (const auto* content : {&kA, &kB, &kC, &kA, &kA, &kB, &kC, &d_prime, &kA}) put(notes, *content, bar++);
  // Lag 4 pairs (0,4) A-A 1, (1,5) B-B 1, (2,6) C-C 1,
  // (3,7) A-D': 16 sixteenth steps all sounding, the last quarter (4 steps) differs -> 12/16, (4,8) A-A 1.
  // Mean (4 + 0.75) / 5 = 0.95.
  const Score score = score_of(notes);
  EXPECT_DOUBLE_EQ(self_similarity(score, 4), 4.75 / 5.0);
  // Lag 8: the single pair (0, 8) A-A.
  EXPECT_DOUBLE_EQ(self_similarity(score, 8), 1.0);
  // Lag 9 or more: no pair.
  EXPECT_TRUE(std::isnan(self_similarity(score, 9)));

  // Silent bars: A, -, -, -, A, -, A. Lag 4: (0,4) A-A 1; (1,5) both silent, left out; (2,6) silence vs A: none of A's
  // 16 sounding steps agree, 0. Mean 0.5.
  std::vector<N> sparse;
  put(sparse, kA, 0);
  put(sparse, kA, 4);
  put(sparse, kA, 6);
  EXPECT_DOUBLE_EQ(self_similarity(score_of(sparse), 4), 0.5);

  // Onsets count, not only pitches. Bar 0 a whole C (onset at step 0, held at steps 1..15), bar 4 four quarter Cs
  // (onsets at steps 0, 4, 8, 12, held elsewhere): they differ at steps 4, 8 and 12: 13 / 16.
  std::vector<N> repeated;
  put(repeated, kC, 0);
  for (int64_t i = 0; i < 4; ++i) repeated.push_back({60, 4 * kBar + i * Q, 4 * kBar + (i + 1) * Q});
  EXPECT_DOUBLE_EQ(self_similarity(score_of(repeated), 4), 13.0 / 16.0);
}

TEST(EvalFormMetrics, LoopedBarsAreOneFigurePlayedThreeTimesInARowNearlyVerbatim) {
  // A B C D played three times, then A B C D': bars 4-11 each equal the bar 4 before (8 repeating bars = two more
  // plays of the figure in bars 0-3), bars 12-14 repeat too (A B C again) and bar 15 (D') breaks the run. One run of
  // 11 repeating bars (4-14) >= 8: bars 0-14 are looped, 15 of 16.
  const std::vector<N> d_prime = {{60, 0, Q}, {62, Q, 2 * Q}, {64, 2 * Q, 3 * Q}, {67, 3 * Q, 4 * Q}};
  const std::vector<const std::vector<N>*> figure = {&kA, &kB, &kC, &kD};
  std::vector<N> loop;
  for (int64_t bar = 0; bar < 15; ++bar) put(loop, *figure[static_cast<size_t>(bar % 4)], bar);
  put(loop, d_prime, 15);
  EXPECT_DOUBLE_EQ(looped_bar_share(score_of(loop)), 15.0 / 16.0);

  // Played twice (A B C D A B C D, then D' C B A): 4 repeating bars < 8, no loop; counting 2 plays as a loop (4-bar
  // figures only) loops bars 0-7 of 12.
  std::vector<N> twice;
  for (int64_t bar = 0; bar < 8; ++bar) put(twice, *figure[static_cast<size_t>(bar % 4)], bar);
  int64_t bar = 8;
  for (const auto* content : {&d_prime, &kC, &kB, &kA}) put(twice, *content, bar++);
  EXPECT_DOUBLE_EQ(looped_bar_share(score_of(twice)), 0.0);
  EXPECT_DOUBLE_EQ(looped_bar_share(score_of(twice), {4}, 2), 8.0 / 12.0);

  // An 8-bar phrase restated (A B C D A B C D' twice, the reel's AA with a cadence bar): bars 4-6 repeat bars 0-2,
  // bar 7 (D') does not; bar 8 (A) repeats bar 4, ... every run is 3 bars long: no loop.
  std::vector<N> phrase;
  for (int64_t b = 0; b < 16; ++b) put(phrase, b % 8 == 7 ? d_prime : *figure[static_cast<size_t>(b % 4)], b);
  EXPECT_DOUBLE_EQ(looped_bar_share(score_of(phrase)), 0.0);
  EXPECT_DOUBLE_EQ(recurring_pattern_rate(score_of(phrase)), 14.0 / 15.0);  // what the 2-bar metric sees instead
  // At 8 bars, bars 8-15 are bars 0-7 again: one restatement, 2 plays. A third play (24 bars) makes the 8-bar phrase
  // a loop: a run of 16 bars each the bar 8 before, so all 24 bars; with 4-bar figures only, none.
  EXPECT_DOUBLE_EQ(looped_bar_share(score_of(phrase), {8}), 0.0);
  for (int64_t b = 16; b < 24; ++b) put(phrase, b % 8 == 7 ? d_prime : *figure[static_cast<size_t>(b % 4)], b);
  EXPECT_DOUBLE_EQ(looped_bar_share(score_of(phrase)), 1.0);
  EXPECT_DOUBLE_EQ(looped_bar_share(score_of(phrase), {4}), 0.0);

  // A one-bar figure played 12 times: every bar from 4 on equals the bar 4 before: all 12 looped.
  std::vector<N> one_bar;
  for (int64_t b = 0; b < 12; ++b) put(one_bar, kA, b);
  EXPECT_DOUBLE_EQ(looped_bar_share(score_of(one_bar)), 1.0);

  // Silent bars repeat silence but do not sound: A, then 11 empty bars, then A: nothing looped (13 bars).
  std::vector<N> silent;
  put(silent, kA, 0);
  put(silent, kA, 12);
  EXPECT_DOUBLE_EQ(looped_bar_share(score_of(silent)), 0.0);

  // Nearly verbatim: the third play's first bar with its last eighth changed (F F -> F G) agrees with the first bar on
  // 14 of 16 steps (0.875 >= 0.8): still a loop, all 12 bars; verbatim only (min_similarity 1) the run is bars 4-7,
  // too short. Its last quarter changed (D': F -> G) agrees on 12 of 16 (0.75): no loop.
  const std::vector<N> a_eighth = {
      {60, 0, Q}, {62, Q, 2 * Q}, {64, 2 * Q, 3 * Q}, {65, 3 * Q, 7 * Q / 2}, {67, 7 * Q / 2, 4 * Q}};
  for (const auto* first_of_third : {&a_eighth, &d_prime}) {
    std::vector<N> varied;
    for (int64_t b = 0; b < 12; ++b) put(varied, b == 8 ? *first_of_third : *figure[static_cast<size_t>(b % 4)], b);
    const bool eighth = first_of_third == &a_eighth;
    EXPECT_DOUBLE_EQ(looped_bar_share(score_of(varied)), eighth ? 1.0 : 0.0);
    EXPECT_DOUBLE_EQ(looped_bar_share(score_of(varied), {4, 8}, 3, 1.0), 0.0);
  }

  // Durations count (the sixteenth states): the figure's third play staccato (each note an eighth, then rest) agrees
  // with the first on half the steps or fewer, so it breaks the loop.
  std::vector<N> staccato;
  for (int64_t b = 0; b < 12; ++b)
    for (const N& n : *figure[static_cast<size_t>(b % 4)])
      staccato.push_back({n.pitch, n.start + b * kBar, b >= 8 ? n.start + b * kBar + Q / 2 : n.end + b * kBar});
  EXPECT_DOUBLE_EQ(looped_bar_share(score_of(staccato)), 0.0);

  EXPECT_TRUE(std::isnan(looped_bar_share(Score{})));
  EXPECT_THROW_WITH(looped_bar_share(score_of(kA), {4, 0}), Error, {"looped bars: a figure of 0 bars"});
  EXPECT_THROW_WITH(looped_bar_share(score_of(kA), {}), Error, {"looped bars: no figure length"});
  EXPECT_THROW_WITH(looped_bar_share(score_of(kA), {4}, 1), Error, {"looped bars: 1 plays"});
  EXPECT_THROW_WITH(looped_bar_share(score_of(kA), {4}, 3, 0.0), Error, {"looped bars: a similarity of 0", "(0, 1]"});
}

TEST(EvalFormMetrics, KeyFromSignatureOrEstimated) {
  // D major signature (2 sharps): D E F# G A B C# are in the key, C natural is not: 7 of 8.
  Score d_major = score_of({{62, 0, Q},
                            {64, Q, 2 * Q},
                            {66, 2 * Q, 3 * Q},
                            {67, 3 * Q, 4 * Q},
                            {69, 4 * Q, 5 * Q},
                            {71, 5 * Q, 6 * Q},
                            {73, 6 * Q, 7 * Q},
                            {72, 7 * Q, 8 * Q}});
  d_major.key_signatures.push_back({0, 2, false});
  EXPECT_EQ(tune_key(d_major), (Key{2, ScaleMode::kMajor}));
  EXPECT_DOUBLE_EQ(compute_form_metrics(d_major).at("notes_in_key"), 7.0 / 8.0);

  // No signature: Krumhansl-Schmuckler on durations. A 4, C 2, E 3, B D F G 1 quarter each: A minor (r = 0.947,
  // next A major 0.662). C 4, D 1, E 2, F 1, G 3, A 1, B 1: C major (r = 0.976).
  std::vector<N> minor, major;
  int64_t t = 0;
  for (auto [pitch, quarters] :
       std::vector<std::pair<int, int>>{{69, 4}, {72, 2}, {76, 3}, {71, 1}, {74, 1}, {65, 1}, {67, 1}})
    minor.push_back({pitch, t, t + quarters * Q}), t += quarters * Q;
  t = 0;
  for (auto [pitch, quarters] :
       std::vector<std::pair<int, int>>{{60, 4}, {62, 1}, {64, 2}, {65, 1}, {67, 3}, {69, 1}, {71, 1}})
    major.push_back({pitch, t, t + quarters * Q}), t += quarters * Q;
  EXPECT_EQ(estimate_key(score_of(minor)), (Key{9, ScaleMode::kMinor}));
  EXPECT_EQ(estimate_key(score_of(major)), (Key{0, ScaleMode::kMajor}));
  EXPECT_EQ(tune_key(score_of(minor)), (Key{9, ScaleMode::kMinor}));
  EXPECT_FALSE(estimate_key(Score{}).has_value());
  // The same from the pitch-class histogram (quarters per pitch class, C first), as chords give it.
  EXPECT_EQ(estimate_key(std::array<double, 12>{2, 0, 1, 0, 3, 1, 0, 1, 0, 4, 0, 1}), (Key{9, ScaleMode::kMinor}));
  EXPECT_EQ(estimate_key(std::array<double, 12>{4, 0, 1, 0, 2, 1, 0, 3, 0, 1, 0, 1}), (Key{0, ScaleMode::kMajor}));
  EXPECT_FALSE(estimate_key(std::array<double, 12>{}).has_value());
  // Every note of the A minor tune is in A natural minor.
  EXPECT_DOUBLE_EQ(compute_form_metrics(score_of(minor)).at("notes_in_key"), 1.0);
}

TEST(EvalFormMetrics, OnsetsOffTheGridRelativeToTheirBar) {
  // 4/4: onsets 0, 240 (eighth), 360 (odd sixteenth), 480, 560 (neither), 640 (a triplet eighth).
  // Off the eighth grid: 360, 560, 640 = 3 of 6; on an odd sixteenth: 360 = 1 of 6.
  const Score score =
      score_of({{60, 0, 240}, {62, 240, 360}, {64, 360, 480}, {65, 480, 560}, {67, 560, 640}, {69, 640, 800}});
  EXPECT_DOUBLE_EQ(offgrid_onset_rate(score), 3.0 / 6.0);
  EXPECT_DOUBLE_EQ(odd_sixteenth_onset_rate(score), 1.0 / 6.0);
  // 5/16: bars of 600 ticks. Onsets 0, 600 (bar 2's downbeat, though an odd sixteenth from tick 0), 720 (bar 2 + a
  // sixteenth), 840 (bar 2 + an eighth): off the grid 720 only, odd sixteenth 720 only: 1 of 4 each.
  const Score odd_meter = score_of({{60, 0, 600}, {62, 600, 720}, {64, 720, 840}, {65, 840, 1200}}, 5, 16);
  EXPECT_DOUBLE_EQ(offgrid_onset_rate(odd_meter), 0.25);
  EXPECT_DOUBLE_EQ(odd_sixteenth_onset_rate(odd_meter), 0.25);
  EXPECT_TRUE(std::isnan(offgrid_onset_rate(score_of({}))));
}

TEST(EvalFormMetrics, EndingOnTheTonic) {
  const Key c_major{0, ScaleMode::kMajor};
  EXPECT_EQ(ends_on_tonic(score_of({{67, 0, Q}, {72, Q, 2 * Q}}), c_major), 1.0);  // ends on C5
  EXPECT_EQ(ends_on_tonic(score_of({{72, 0, Q}, {67, Q, 2 * Q}}), c_major), 0.0);  // ends on G
  // The latest onset decides, not the latest end: G starts last though the C before it is held longer.
  EXPECT_EQ(ends_on_tonic(score_of({{60, 0, 4 * Q}, {67, Q, 2 * Q}}), c_major), 0.0);
  EXPECT_TRUE(std::isnan(ends_on_tonic(score_of({}), c_major)));
  try {
    ends_on_tonic(score_of({{60, 0, Q}}), Key{12, ScaleMode::kMajor});
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("root 12 is not in 0..11"), std::string::npos) << error.what();
  }
}

TEST(EvalFormMetrics, MelodyIsOneTrackAndCanBeClipped) {
  // Track 0 drums, track 1 the tune (C D E E), track 2 chords below it.
  Score score = make_empty_score(static_cast<int>(Q));
  Track drums = track_of({{36, 0, Q}}, "kit");
  drums.is_drum = true;
  drums.channel = 9;
  score.tracks.push_back(drums);
  score.tracks.push_back(track_of({{60, 0, Q}, {62, Q, 2 * Q}, {64, 2 * Q, 3 * Q}, {64, 3 * Q, 4 * Q}}));
  score.tracks.push_back(track_of({{48, 0, 4 * Q}, {52, 0, 4 * Q}, {55, 0, 4 * Q}}, "chords"));
  score.key_signatures.push_back({0, 0, false});
  score.source = "three_tracks.mid";
  const Score melody = melody_line(score);
  ASSERT_EQ(melody.tracks.size(), 1u);
  EXPECT_EQ(melody.tracks[0].notes.size(), 4u);
  EXPECT_EQ(melody.key_signatures.size(), 1u) << "the key signature stays";
  const MetricSet metrics = compute_form_metrics(score);
  // The tune's range is 64 - 60 = 4 (the chords would make it 16); pitch classes C 1, D 1, E 2: 1.5 bits.
  EXPECT_EQ(metrics.at("pitch_range"), 4.0);
  EXPECT_DOUBLE_EQ(metrics.at("pitch_class_entropy"), 1.5);
  EXPECT_EQ(metrics.at("ends_on_tonic"), 0.0);  // ends on E in C major
  // Track 2 picked on purpose: the skyline of the chord is G3 held.
  FormOptions chords;
  chords.track = 2;
  EXPECT_EQ(compute_form_metrics(score, chords).at("pitch_range"), 0.0);
  chords.track = 3;
  EXPECT_THROW_WITH(melody_line(score, chords), Error, {"three_tracks.mid: no track 3 (the score has 3)"});
  chords.track = 0;
  try {
    melody_line(score, chords);
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "three_tracks.mid: track 0 is a drum track, not a melody");
  }

  // The first 2 of 3 bars: the third bar's note is not measured.
  std::vector<N> notes;
  put(notes, kA, 0);
  put(notes, kA, 1);
  put(notes, {{90, 0, Q}}, 2);
  FormOptions two_bars;
  two_bars.bars = 2;
  const MetricSet clipped = compute_form_metrics(score_of(notes), two_bars);
  EXPECT_EQ(clipped.at("pitch_range"), 5.0);  // 65 - 60 without the 90
  EXPECT_EQ(compute_form_metrics(score_of(notes)).at("pitch_range"), 30.0);
}

TEST(EvalFormMetrics, AllMetricsInOrderAndNaNWithoutNotes) {
  const MetricSet empty = compute_form_metrics(Score{});
  ASSERT_EQ(empty.size(), form_metric_names().size());
  size_t i = 0;
  for (const auto& [name, value] : empty) {
    EXPECT_EQ(name, form_metric_names()[i++]);
    EXPECT_TRUE(std::isnan(value)) << name;
  }
  // A real-looking tune: A B A B in C major with a signature, ending on C.
  std::vector<N> notes;
  for (int64_t bar = 0; bar < 4; ++bar) put(notes, bar % 2 == 0 ? kA : kB, bar);
  notes.push_back({72, 4 * kBar, 5 * kBar});
  Score tune = score_of(notes);
  tune.key_signatures.push_back({0, 0, false});
  const MetricSet metrics = compute_form_metrics(tune);
  // Windows AB BA AB B-C: 2 of 4 recur. Lag 4: (0, 4) A vs the whole C5: step 0 both onsets of other pitches; no
  // step agrees -> 0. Every note is in C major; all onsets on quarters; ends on C; range 72 - 60 = 12.
  EXPECT_DOUBLE_EQ(metrics.at("recurring_2bar_patterns"), 0.5);
  EXPECT_DOUBLE_EQ(metrics.at("self_similarity_4bar"), 0.0);
  EXPECT_TRUE(std::isnan(metrics.at("self_similarity_8bar")));
  EXPECT_EQ(metrics.at("looped_bars"), 0.0);  // bar 4 (C5) is not bar 0 (A) again
  EXPECT_EQ(metrics.at("notes_in_key"), 1.0);
  EXPECT_EQ(metrics.at("offgrid_onsets"), 0.0);
  EXPECT_EQ(metrics.at("odd_sixteenth_onsets"), 0.0);
  EXPECT_EQ(metrics.at("ends_on_tonic"), 1.0);
  EXPECT_EQ(metrics.at("pitch_range"), 12.0);
}

TEST(EvalFormMetrics, DecodeSplitGivesTheRealPiecesOfAShard) {
  testing::TempDir dir;
  const MelodyEncoding encoding;
  ShardMetadata metadata;
  metadata.encoding = encoding.spec();
  metadata.vocabulary = encoding.vocabulary().names();
  metadata.sources = {{"a.mid", 1, "fnv1a64:0"}, {"b.mid", 1, "fnv1a64:0"}, {"c.mid", 1, "fnv1a64:0"}};
  ShardWriter writer(metadata);
  const Score a = score_of(kA), b = score_of(kB), c = score_of(kD);
  writer.add_tokens(0, Split::kTest, encoding.encode(a));
  writer.add_tokens(1, Split::kTrain, encoding.encode(b));
  writer.add_tokens(2, Split::kTest, encoding.encode(c));
  const std::string path = dir.file("melodies.cdz");
  writer.write(path);
  const Shard shard(path);
  const std::vector<Score> test = decode_split(shard, Split::kTest);
  ASSERT_EQ(test.size(), 2u);
  EXPECT_EQ(test[0], encoding.decode(encoding.encode(a)));
  EXPECT_EQ(test[1], encoding.decode(encoding.encode(c)));
  EXPECT_EQ(test[1].source, path + "#2 (c.mid)");
  EXPECT_EQ(compute_form_metrics(test[0]).at("pitch_range"), 5.0);  // C4..F4
  EXPECT_EQ(decode_split(shard, Split::kTest, 1).size(), 1u);
  try {
    decode_split(shard, Split::kValid);
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()), path + ": the valid split has no piece");
  }
}

}  // namespace
}  // namespace cadenza::eval
