// MusPy-style statistics on hand-built scores; every expected number is worked out in the comments.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "eval/musical_metrics.h"
#include "support/test_support.h"

namespace cadenza::eval {
namespace {

Note note(int pitch, int64_t start, int64_t end) {
  return Note{pitch, 64, start, end};
}

Track pitched(std::vector<Note> notes, const std::string& name = "melody") {
  Track track;
  track.name = name;
  track.notes = std::move(notes);
  return track;
}

Track drums(std::vector<Note> notes) {
  Track track = pitched(std::move(notes), "kit");
  track.is_drum = true;
  track.channel = 9;
  return track;
}

// MusPy's test fixture (tests/data/test.json): the opening of Für Elise at 24 ticks per quarter, 3/8, A minor,
// nine sixteenth notes (6 ticks) E5 D#5 E5 D#5 E5 B4 D5 C5 A4.
Score fur_elise() {
  Score score = make_empty_score(24, 72.0, 3, 8);
  score.key_signatures.push_back({0, 0, true});
  const int pitches[] = {76, 75, 76, 75, 76, 71, 74, 72, 69};
  Track track = pitched({});
  for (int i = 0; i < 9; ++i) track.notes.push_back(note(pitches[i], 6 * i, 6 * i + 6));
  score.tracks.push_back(track);
  score.source = "fur_elise";
  return score;
}

// The values MusPy's tests/test_metrics.py asserts for that fixture.
TEST(EvalMusicalMetrics, MatchesMusPyOnItsFixture) {
  const Score score = fur_elise();
  EXPECT_EQ(n_pitches_used(score), 6);        // 76 75 71 74 72 69
  EXPECT_EQ(n_pitch_classes_used(score), 6);  // E D# B D C A
  EXPECT_EQ(pitch_range(score), 7);           // 76 - 69
  EXPECT_EQ(empty_beat_rate(score), 0.0);
  EXPECT_EQ(empty_measure_rate(score), 0.0);  // two 3/8 bars of 36 ticks, both sound
  EXPECT_EQ(polyphony(score), 1.0);
  EXPECT_EQ(polyphony_rate(score), 0.0);
  // C major holds E x3, B, D, C, A but not D# x2: 7 of 9.
  EXPECT_DOUBLE_EQ(pitch_in_scale_rate(score, 0, ScaleMode::kMajor), 7.0 / 9.0);
  EXPECT_DOUBLE_EQ(scale_consistency(score), 7.0 / 9.0);
  EXPECT_TRUE(std::isnan(drum_in_pattern_rate(score, DrumMeter::kDuple)));
  EXPECT_TRUE(std::isnan(drum_pattern_consistency(score)));
  // MusPy's measure resolution 36 = one position per tick of a 3/8 bar: bar 0 has onsets at 0 6 12 18 24 30, bar 1
  // at 0 6 12; they differ in 3 of 36 positions: 1 - 3/36 = 11/12.
  EXPECT_DOUBLE_EQ(groove_consistency(score, 36), 11.0 / 12.0);
  // Pitch counts 3, 2, 1, 1, 1, 1 of 9: -(1/3 log2 1/3 + 2/9 log2 2/9 + 4/9 log2 1/9) (MusPy: 2.4193819456463714).
  const double expected_entropy =
      -(3.0 / 9 * std::log2(3.0 / 9) + 2.0 / 9 * std::log2(2.0 / 9) + 4.0 / 9 * std::log2(1.0 / 9));
  EXPECT_NEAR(pitch_entropy(score), expected_entropy, 1e-12);
  EXPECT_NEAR(pitch_entropy(score), 2.4193819456463714, 1e-12);
  EXPECT_NEAR(pitch_class_entropy(score), 2.4193819456463714, 1e-12);  // one octave: same histogram
}

TEST(EvalMusicalMetrics, OurOwnFeaturesOnTheFixture) {
  const Score score = fur_elise();
  EXPECT_DOUBLE_EQ(note_density(score), 9.0 / 2.0);  // 9 notes in 2 bars
  // (3 * 76 + 2 * 75 + 71 + 74 + 72 + 69) / 9 = 664 / 9.
  EXPECT_DOUBLE_EQ(mean_pitch(score), 664.0 / 9.0);
  const MetricSet all = compute_all(score);
  EXPECT_DOUBLE_EQ(all.at("pitch_in_key_rate"), 7.0 / 9.0);  // A minor has the notes of C major
  // Groove at 16 positions per 3/8 bar: onset at tick t -> floor(t * 16 / 36): bar 0 -> 0 2 5 8 10 13, bar 1 ->
  // 0 2 5: 3 of 16 positions differ.
  EXPECT_DOUBLE_EQ(all.at("groove_consistency"), 1.0 - 3.0 / 16.0);
}

// Ticks per quarter 4. Notes: C4 [0,8), E4 [0,4), G4 [2,4), a second C4 [0,2) in another track (the same pitch
// sounding twice counts once, as in a binary piano roll), then D4 [12,16) after a gap.
// Distinct pitches sounding: [0,2) C E = 2, [2,4) C E G = 3, [4,8) C = 1, [8,12) none, [12,16) D = 1.
Score chords() {
  Score score = make_empty_score(4);
  score.tracks.push_back(pitched({note(60, 0, 8), note(64, 0, 4), note(67, 2, 4), note(62, 12, 16)}));
  score.tracks.push_back(pitched({note(60, 0, 2)}, "doubling"));
  return score;
}

TEST(EvalMusicalMetrics, PolyphonyCountsDistinctPitchesOverSoundingTicks) {
  // (2*2 + 3*2 + 1*4 + 1*4) pitch-ticks over 2 + 2 + 4 + 4 = 12 sounding ticks = 18 / 12.
  EXPECT_DOUBLE_EQ(polyphony(chords()), 1.5);
}

TEST(EvalMusicalMetrics, PolyphonyRateCountsTicksAboveTheThreshold) {
  const Score score = chords();
  EXPECT_DOUBLE_EQ(polyphony_rate(score, 2), 2.0 / 16.0);   // only [2,4) has more than 2
  EXPECT_DOUBLE_EQ(polyphony_rate(score, 1), 4.0 / 16.0);   // [0,4)
  EXPECT_DOUBLE_EQ(polyphony_rate(score, 0), 12.0 / 16.0);  // every sounding tick
  // A drum note does not add pitches but lengthens the piece (MusPy's length counts every track): 2 / 20.
  Score with_drums = score;
  with_drums.tracks.push_back(drums({note(36, 0, 20)}));
  EXPECT_DOUBLE_EQ(polyphony_rate(with_drums, 2), 2.0 / 20.0);
  EXPECT_DOUBLE_EQ(polyphony(with_drums), 1.5);
}

TEST(EvalMusicalMetrics, EmptyBeatRateUsesHalfOpenNotes) {
  // Beats of 4 ticks up to tick 16: [0,4) [4,8) sound, [8,12) is silent (C4 ends exactly at 8 and does not
  // reach into it), [12,16) sounds: 1 of 4.
  EXPECT_DOUBLE_EQ(empty_beat_rate(chords()), 0.25);
}

TEST(EvalMusicalMetrics, EmptyMeasureRateFollowsTheMeter) {
  // 4/4 at 4 ticks per quarter: bars of 16 ticks. A note in bar 0 and one in bar 2: bars 0..2, bar 1 silent.
  Score score = make_empty_score(4);
  score.tracks.push_back(pitched({note(60, 0, 4), note(62, 32, 36)}));
  EXPECT_DOUBLE_EQ(empty_measure_rate(score), 1.0 / 3.0);
  // A note held from bar 0 into bar 1 fills both.
  score.tracks[0].notes[0].end_tick = 20;
  EXPECT_DOUBLE_EQ(empty_measure_rate(score), 0.0);
  // 4/4 then 3/4 from tick 16: bars [0,16) [16,28) [28,40); notes at 0 and 28 leave the 3/4 bar [16,28) silent.
  Score changing = make_empty_score(4);
  changing.time_signatures.push_back({16, 3, 4});
  changing.tracks.push_back(pitched({note(60, 0, 4), note(62, 28, 30)}));
  EXPECT_DOUBLE_EQ(empty_measure_rate(changing), 1.0 / 3.0);
  // Drum notes count: a kit hit in [16,28) fills that bar.
  changing.tracks.push_back(drums({note(38, 20, 21)}));
  EXPECT_DOUBLE_EQ(empty_measure_rate(changing), 0.0);
}

TEST(EvalMusicalMetrics, GrooveConsistencyComparesNeighbouringBars) {
  // 4/4, 4 ticks per quarter (16 ticks a bar). Bars 0 and 1: onsets at ticks 0 4 8 12 of the bar; bar 2: 0 and 8.
  Score score = make_empty_score(4);
  Track track = pitched({});
  for (int64_t bar = 0; bar < 2; ++bar)
    for (int64_t beat = 0; beat < 4; ++beat)
      track.notes.push_back(note(60, 16 * bar + 4 * beat, 16 * bar + 4 * beat + 1));
  track.notes.push_back(note(60, 32, 33));
  track.notes.push_back(note(60, 40, 41));
  score.tracks.push_back(track);
  // 16 positions (one per tick): bars 0/1 agree, bars 1/2 differ at ticks 4 and 12: 1 - 2 / (16 * 2).
  EXPECT_DOUBLE_EQ(groove_consistency(score, 16), 1.0 - 2.0 / 32.0);
  // 4 positions (one per beat): same two differences over 4 * 2 comparisons.
  EXPECT_DOUBLE_EQ(groove_consistency(score, 4), 1.0 - 2.0 / 8.0);
  // 1 position per bar: every bar has an onset at position 0, so all agree.
  EXPECT_DOUBLE_EQ(groove_consistency(score, 1), 1.0);
  EXPECT_THROW_WITH(groove_consistency(score, 0), Error, {"groove_consistency", "measure resolution 0", "below 1"});
}

TEST(EvalMusicalMetrics, DrumPatternsInsideAQuarter) {
  // 12 ticks per quarter: duple grid = multiples of 3 (sixteenths), triple grid = multiples of 4 (triplet
  // eighths). Drum onsets 0 3 4 6 5: duple 0 3 6 (3 of 5), triple 0 4 (2 of 5). The pitched note at tick 5 is
  // not a drum note.
  Score score = make_empty_score(12);
  score.tracks.push_back(drums({note(36, 0, 1), note(38, 3, 4), note(42, 4, 5), note(42, 6, 7), note(46, 5, 6)}));
  score.tracks.push_back(pitched({note(60, 5, 6)}));
  EXPECT_DOUBLE_EQ(drum_in_pattern_rate(score, DrumMeter::kDuple), 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(drum_in_pattern_rate(score, DrumMeter::kTriple), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(drum_pattern_consistency(score), 3.0 / 5.0);
  // Positions are taken inside a quarter: tick 12 + 4 is on the triple grid as well.
  score.tracks[0].notes = {note(36, 16, 17)};
  EXPECT_DOUBLE_EQ(drum_in_pattern_rate(score, DrumMeter::kTriple), 1.0);
  EXPECT_DOUBLE_EQ(drum_in_pattern_rate(score, DrumMeter::kDuple), 0.0);
  // 10 ticks per quarter is not a multiple of 4: the duple grid falls back to eighths (multiples of 5).
  Score ten = make_empty_score(10);
  ten.tracks.push_back(drums({note(36, 5, 6), note(36, 3, 4)}));
  EXPECT_DOUBLE_EQ(drum_in_pattern_rate(ten, DrumMeter::kDuple), 0.5);
  EXPECT_DOUBLE_EQ(drum_in_pattern_rate(ten, DrumMeter::kTriple), 0.0);
}

TEST(EvalMusicalMetrics, ScalesAndKeys) {
  // F# and C#: both in D major (D E F# G A B C#) and in B minor; in C major neither.
  Score score = make_empty_score();
  score.tracks.push_back(pitched({note(66, 0, 480), note(73, 480, 960), note(62, 960, 1440)}));
  EXPECT_DOUBLE_EQ(pitch_in_scale_rate(score, 2, ScaleMode::kMajor), 1.0);
  EXPECT_DOUBLE_EQ(pitch_in_scale_rate(score, 11, ScaleMode::kMinor), 1.0);
  EXPECT_DOUBLE_EQ(pitch_in_scale_rate(score, 0, ScaleMode::kMajor), 1.0 / 3.0);  // only D
  // C minor (C D Eb F G Ab Bb): only D.
  EXPECT_DOUBLE_EQ(pitch_in_scale_rate(score, 0, ScaleMode::kMinor), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(scale_consistency(score), 1.0);
  EXPECT_THROW_WITH(pitch_in_scale_rate(score, 12, ScaleMode::kMajor), Error, {"root 12", "not in 0..11"});

  // Key signatures: 2 sharps minor = B minor, 3 flats major = Eb major, none minor = A minor, 1 sharp = G major.
  EXPECT_EQ(first_key(score), std::nullopt);
  score.key_signatures = {{0, 2, true}};
  EXPECT_EQ(first_key(score), (Key{11, ScaleMode::kMinor}));
  score.key_signatures = {{0, -3, false}};
  EXPECT_EQ(first_key(score), (Key{3, ScaleMode::kMajor}));
  score.key_signatures = {{0, 0, true}};
  EXPECT_EQ(first_key(score), (Key{9, ScaleMode::kMinor}));
  score.key_signatures = {{0, 1, false}, {960, 0, false}};  // the first one counts
  EXPECT_EQ(first_key(score), (Key{7, ScaleMode::kMajor}));
  EXPECT_EQ(parse_scale_mode("minor"), ScaleMode::kMinor);
  EXPECT_STREQ(scale_mode_name(ScaleMode::kMajor), "major");
  EXPECT_THROW_WITH(parse_scale_mode("dorian"), Error, {"scale mode 'dorian'", "'major'", "'minor'"});
}

TEST(EvalMusicalMetrics, EntropyOfUniformAndSingleValues) {
  // Four pitch classes once each: 2 bits; C4 and C5: two pitches (1 bit) but one pitch class (0 bits).
  Score score = make_empty_score();
  score.tracks.push_back(pitched({note(60, 0, 1), note(62, 1, 2), note(64, 2, 3), note(65, 3, 4)}));
  EXPECT_DOUBLE_EQ(pitch_class_entropy(score), 2.0);
  Score octave = make_empty_score();
  octave.tracks.push_back(pitched({note(60, 0, 1), note(72, 1, 2)}));
  EXPECT_DOUBLE_EQ(pitch_entropy(octave), 1.0);
  EXPECT_DOUBLE_EQ(pitch_class_entropy(octave), 0.0);
  EXPECT_EQ(n_pitches_used(octave), 2);
  EXPECT_EQ(n_pitch_classes_used(octave), 1);
}

TEST(EvalMusicalMetrics, OneNote) {
  // C4 for one quarter at 480 ticks per quarter, 4/4, no key signature.
  Score score = make_empty_score();
  score.tracks.push_back(pitched({note(60, 0, 480)}));
  const MetricSet all = compute_all(score);
  EXPECT_EQ(all.at("pitch_range"), 0.0);
  EXPECT_EQ(all.at("n_pitches_used"), 1.0);
  EXPECT_EQ(all.at("n_pitch_classes_used"), 1.0);
  EXPECT_EQ(all.at("polyphony"), 1.0);
  EXPECT_EQ(all.at("polyphony_rate"), 0.0);
  EXPECT_TRUE(std::isnan(all.at("pitch_in_key_rate")));  // no key signature
  EXPECT_EQ(all.at("scale_consistency"), 1.0);
  EXPECT_EQ(all.at("pitch_entropy"), 0.0);
  EXPECT_EQ(all.at("pitch_class_entropy"), 0.0);
  EXPECT_EQ(all.at("empty_beat_rate"), 0.0);  // one beat, sounding
  EXPECT_EQ(all.at("empty_measure_rate"), 0.0);
  EXPECT_TRUE(std::isnan(all.at("drum_pattern_consistency")));
  EXPECT_TRUE(std::isnan(all.at("groove_consistency")));  // one bar: nothing to compare
  EXPECT_EQ(all.at("note_density"), 1.0);
  EXPECT_EQ(all.at("mean_pitch"), 60.0);
}

TEST(EvalMusicalMetrics, EmptyScoreGivesZeroCountsAndNaNRates) {
  const Score empty = make_empty_score();
  const MetricSet all = compute_all(empty);
  ASSERT_EQ(all.size(), metric_names().size());
  for (const auto& [name, value] : all) {
    if (name == "pitch_range" || name == "n_pitches_used" || name == "n_pitch_classes_used")
      EXPECT_EQ(value, 0.0) << name;
    else
      EXPECT_TRUE(std::isnan(value)) << name << " = " << value;
  }
  // A track without notes is still an empty score.
  Score silent_track = make_empty_score();
  silent_track.tracks.push_back(pitched({}));
  EXPECT_TRUE(std::isnan(empty_beat_rate(silent_track)));
  EXPECT_EQ(pitch_range(silent_track), 0);
}

TEST(EvalMusicalMetrics, DrumOnlyScore) {
  // Kick on every quarter of one 4/4 bar at 480 ticks per quarter.
  Score score = make_empty_score();
  score.tracks.push_back(drums({note(36, 0, 120), note(36, 480, 600), note(36, 960, 1080), note(36, 1440, 1560)}));
  EXPECT_EQ(pitch_range(score), 0);  // MusPy would give 0 - 127 here; drums have no pitch
  EXPECT_EQ(n_pitches_used(score), 0);
  EXPECT_TRUE(std::isnan(polyphony(score)));
  EXPECT_EQ(polyphony_rate(score), 0.0);  // the piece has length, no pitched tick
  EXPECT_TRUE(std::isnan(pitch_entropy(score)));
  EXPECT_TRUE(std::isnan(scale_consistency(score)));
  EXPECT_TRUE(std::isnan(mean_pitch(score)));
  EXPECT_EQ(drum_pattern_consistency(score), 1.0);
  // Each hit fills the first quarter of its beat: no beat is empty; 4 notes in 1 bar.
  EXPECT_EQ(empty_beat_rate(score), 0.0);
  EXPECT_EQ(note_density(score), 4.0);
}

TEST(EvalMusicalMetrics, MalformedScoresAreErrorsNamingTheSource) {
  Score score = make_empty_score();
  score.source = "broken.mid";
  score.tracks.push_back(pitched({note(130, 0, 10)}));
  try {
    compute_all(score);
    FAIL() << "pitch 130 accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("broken.mid"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("130"), std::string::npos) << error.what();
  }
  Score no_resolution = make_empty_score();
  no_resolution.ticks_per_quarter = 0;
  no_resolution.tracks.push_back(pitched({note(60, 0, 10)}));
  EXPECT_THROW_WITH(empty_beat_rate(no_resolution), Error, {"ticks_per_quarter is 0"});
}

TEST(EvalMusicalMetrics, AbsurdlyLongScoreIsRefusedQuickly) {
  // One note ending at tick 2^40 at 1 tick per quarter: 2^38 bars. Bar metrics refuse; beat metrics need no
  // per-beat storage. Either way it returns at once instead of exhausting memory.
  Score score = make_empty_score(1);
  score.source = "long.mid";
  score.tracks.push_back(pitched({note(60, 0, int64_t{1} << 40)}));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW_WITH(empty_measure_rate(score), Error, {"long.mid", "bars", "last note ends at tick 1099511627776"});
  EXPECT_THROW_WITH(compute_all(score), Error, {"long.mid", "bars", "last note ends at tick 1099511627776"});
  EXPECT_EQ(empty_beat_rate(score), 0.0);  // the note fills every beat
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(EvalMusicalMetrics, MetricSetKeepsOrderAndNames) {
  const MetricSet all = compute_all(fur_elise());
  ASSERT_EQ(all.size(), metric_names().size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all.entries()[i].first, metric_names()[i]);
  EXPECT_THROW_WITH(all.at("no_such_metric"), Error, {"no metric named 'no_such_metric'"});
  const nlohmann::json json = all.to_json();
  EXPECT_EQ(json["pitch_range"], 7.0);
  EXPECT_TRUE(json["drum_pattern_consistency"].is_null());  // NaN -> null
}

TEST(EvalMusicalMetrics, MeanSkipsNaN) {
  MetricSet a, b;
  a.set("x", 1.0);
  a.set("y", std::nan(""));
  b.set("x", 3.0);
  b.set("y", 5.0);
  a.set("x", 2.0);  // replaces
  const MetricSet mean = mean_ignoring_nan({a, b});
  EXPECT_DOUBLE_EQ(mean.at("x"), 2.5);
  EXPECT_DOUBLE_EQ(mean.at("y"), 5.0);
  MetricSet c;
  c.set("y", std::nan(""));
  c.set("x", 1.0);
  EXPECT_TRUE(std::isnan(mean_ignoring_nan({c, c}).at("y")));
  MetricSet other;
  other.set("z", 1.0);
  other.set("w", 1.0);
  EXPECT_THROW_WITH(mean_ignoring_nan({a, other}), Error, {"not all have the same metrics", "'x'"});
}

}  // namespace
}  // namespace cadenza::eval
