#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "encoding/pianoroll.h"
#include "score/operations.h"
#include "score/score.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

Score score_with(int ticks_per_quarter, std::vector<Track> tracks, int numerator = 4, int denominator = 4) {
  Score score = make_empty_score(ticks_per_quarter, 120.0, numerator, denominator);
  score.tracks = std::move(tracks);
  score.normalize();
  return score;
}

Track track(std::vector<Note> notes, bool is_drum = false) {
  return {is_drum ? "drums" : "part", 0, is_drum, is_drum ? 9 : 0, std::move(notes)};
}

// Which (track, step, pitch) cells are on, as readable triples.
std::vector<std::tuple<int, int, int>> on_cells(const PianoRoll& roll, int lowest_pitch) {
  std::vector<std::tuple<int, int, int>> cells;
  for (int t = 0; t < roll.num_tracks; ++t)
    for (int s = 0; s < roll.num_steps; ++s)
      for (int p = 0; p < roll.num_pitches; ++p)
        if (roll.at(t, s, p)) cells.emplace_back(t, s, lowest_pitch + p);
  return cells;
}

void expect_same_roll(const PianoRoll& a, const PianoRoll& b) {
  EXPECT_EQ(a.num_tracks, b.num_tracks);
  EXPECT_EQ(a.num_steps, b.num_steps);
  EXPECT_EQ(a.num_pitches, b.num_pitches);
  EXPECT_EQ(a.bar_starts, b.bar_starts);
  EXPECT_TRUE(a.cells == b.cells);
}

// With a known end the roll holds exactly the steps before it: the padding to a whole bar is cut, and steps of
// silence after the last note are added; the cells before the end are those of the padded roll.
TEST(PianoRollEncoding, EncodeWithAnEndHoldsExactlyItsSteps) {
  PianoRollSpec spec;
  spec.steps_per_quarter = 1;
  const PianoRollEncoding encoding(spec);
  // 4/4, notes over the first 6 quarters: the padded roll runs to 8 steps (two bars).
  const Score score = score_with(480, {track({{60, 90, 0, 960}, {64, 90, 960, 2880}})});
  const PianoRoll padded = encoding.encode(score);
  ASSERT_EQ(padded.num_steps, 8);
  const PianoRoll cut = encoding.encode(score, 6 * 480);
  EXPECT_EQ(cut.num_steps, 6);
  EXPECT_EQ(cut.bar_starts, (std::vector<int>{0, 4}));
  EXPECT_EQ(on_cells(cut, spec.lowest_pitch), on_cells(padded, spec.lowest_pitch));
  const PianoRoll extended = encoding.encode(score, 11 * 480);  // three silent steps past the padded end
  EXPECT_EQ(extended.num_steps, 11);
  EXPECT_EQ(on_cells(extended, spec.lowest_pitch), on_cells(padded, spec.lowest_pitch));
  EXPECT_EQ(encoding.encode(score, 3 * 480).bar_starts, std::vector<int>{0});  // bars past the end dropped
  EXPECT_EQ(encoding.encode(score_with(480, {}), 480).num_steps, 0);           // nothing sounds: empty
  EXPECT_THROW_WITH(encoding.encode(score, -1), Error, {"negative"});
}

// A random multi-track score with meter changes on bar lines (so bars in steps are whole).
Score random_score(std::mt19937& rng, int ticks_per_quarter) {
  auto uniform = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng); };
  Score score = make_empty_score(ticks_per_quarter, 100.0, 4, 4);
  for (int t = uniform(1, 3); t > 0; --t) {
    Track part = track({});
    for (int i = uniform(1, 30); i > 0; --i) {
      const int64_t start = uniform(0, 40 * ticks_per_quarter);
      part.notes.push_back({uniform(30, 90), 90, start, start + uniform(1, 3 * ticks_per_quarter)});
    }
    score.tracks.push_back(part);
  }
  static const std::pair<int, int> kMeters[] = {{4, 4}, {3, 4}, {6, 8}, {5, 8}, {2, 4}};
  const auto [n, d] = kMeters[uniform(0, 4)];
  score.time_signatures[0] = {0, n, d};
  const auto [n2, d2] = kMeters[uniform(0, 4)];
  score.time_signatures.push_back({static_cast<int64_t>(3) * n * 4 * ticks_per_quarter / d, n2, d2});  // bar 4
  score.normalize();
  return score;
}

// ---- spec --------------------------------------------------------------------------------------------------

TEST(EncodingPianoRoll, SpecJsonRoundTripsAndRejectsBadValues) {
  PianoRollSpec spec;
  spec.steps_per_quarter = 2;
  spec.lowest_pitch = 36;
  spec.highest_pitch = 84;
  spec.num_tracks = 3;
  spec.merge_all_tracks = true;
  spec.transpose_into_range = true;
  spec.include_drums = true;
  const nlohmann::json json = spec.to_json();
  EXPECT_EQ(json["name"], "pianoroll");
  const PianoRollSpec back = PianoRollSpec::from_json(json);
  EXPECT_EQ(back.to_json(), json);
  nlohmann::json without_name = json;
  without_name.erase("name");
  EXPECT_EQ(PianoRollSpec::from_json(without_name).to_json(), json);
  EXPECT_EQ(PianoRollSpec::from_json(nlohmann::json::object()).to_json(), PianoRollSpec{}.to_json());

  // Each bad spec, the option the message must name and the offending value (or the rule broken).
  struct Case {
    nlohmann::json spec;
    const char* key;
    const char* problem;
  };
  const Case bad[] = {
      {{{"steps_per_quarter", 0}}, "'steps_per_quarter'", "= 0 is outside 1..480"},
      {{{"lowest_pitch", 60}, {"highest_pitch", 59}}, "lowest_pitch 60", "above highest_pitch 59"},
      {{{"highest_pitch", 128}}, "'highest_pitch'", "= 128 is outside 0..127"},
      {{{"num_tracks", 0}}, "'num_tracks'", "= 0 is outside 1..128"},
      {{{"merge_all_tracks", 1}}, "'merge_all_tracks'", "true or false, got 1"},
      {{{"steps_per_quarter", "4"}}, "'steps_per_quarter'", "integer, got \"4\""},
      {{{"name", "remi"}}, "spec names encoding", "\"remi\""},
      {{{"steps_per_qaurter", 4}}, "'steps_per_qaurter'", "unknown option"},
      {{{"num_tracks", 1e10}}, "'num_tracks'", "must be an integer"},
      {nlohmann::json::array(), "spec must be a JSON object", "got []"},
  };
  for (const auto& c : bad)
    EXPECT_THROW_WITH(PianoRollSpec::from_json(c.spec), Error, {"piano roll", c.key, c.problem}) << c.spec.dump();
  PianoRollSpec direct;
  direct.num_tracks = 0;
  EXPECT_THROW_WITH(PianoRollEncoding{direct}, Error, {"piano roll", "'num_tracks' = 0", "outside 1..128"});
}

// ---- encode ------------------------------------------------------------------------------------------------

TEST(EncodingPianoRoll, CellsAreOnWhileNotesSoundAndRollsEndOnABarLine) {
  PianoRollEncoding encoding({.steps_per_quarter = 4, .lowest_pitch = 60, .highest_pitch = 72});
  // 96 tpq: a step is 24 ticks. C4 for one quarter, E4 from step 3 for 2 steps (ticks snap: 70 -> 3, 119 -> 5).
  const PianoRoll roll = encoding.encode(score_with(96, {track({{60, 80, 0, 96}, {64, 80, 70, 119}})}));
  EXPECT_EQ(roll.num_tracks, 1);
  EXPECT_EQ(roll.num_pitches, 13);
  EXPECT_EQ(roll.num_steps, 16);  // one 4/4 bar
  EXPECT_EQ(roll.bar_starts, (std::vector<int>{0}));
  EXPECT_EQ(roll.cells.size(), 16u * 13u);
  EXPECT_EQ(on_cells(roll, 60), (std::vector<std::tuple<int, int, int>>{
                                    {0, 0, 60}, {0, 1, 60}, {0, 2, 60}, {0, 3, 60}, {0, 3, 64}, {0, 4, 64}}));
}

TEST(EncodingPianoRoll, BarStartsFollowTheTimeSignatures) {
  PianoRollEncoding encoding({.steps_per_quarter = 2});
  // 3/4 for two bars, then 6/8 (same length), then 2/4 from tick 4320; a note in the sixth bar.
  Score score = score_with(480, {track({{60, 80, 0, 480}, {62, 80, 4 * 1440 + 480, 4 * 1440 + 960}})}, 3, 4);
  score.time_signatures.push_back({2 * 1440, 6, 8});
  score.time_signatures.push_back({3 * 1440, 2, 4});
  score.normalize();
  const PianoRoll roll = encoding.encode(score);
  EXPECT_EQ(roll.bar_starts, (std::vector<int>{0, 6, 12, 18, 22, 26}));
  EXPECT_EQ(roll.num_steps, 30);  // the note (steps 26, 27) lies in the bar [26, 30)
}

TEST(EncodingPianoRoll, TracksMapToRollTracksAndDrumsAreDroppedUnlessIncluded) {
  const Score score = score_with(480, {track({{60, 80, 0, 480}}), track({{36, 80, 0, 480}}, true),
                                       track({{62, 80, 0, 480}}), track({{64, 80, 0, 480}})});
  {
    PianoRollEncoding two_tracks({.steps_per_quarter = 1, .num_tracks = 2});
    const PianoRoll roll = two_tracks.encode(score);
    EXPECT_EQ(roll.num_tracks, 2);
    // Kept tracks: 60 -> 0, 62 -> 1, 64 -> min(2, 1) = 1; the drum is gone.
    EXPECT_EQ(on_cells(roll, 21), (std::vector<std::tuple<int, int, int>>{{0, 0, 60}, {1, 0, 62}, {1, 0, 64}}));
  }
  {
    PianoRollEncoding with_drums({.steps_per_quarter = 1, .num_tracks = 4, .include_drums = true});
    EXPECT_EQ(on_cells(with_drums.encode(score), 21),
              (std::vector<std::tuple<int, int, int>>{{0, 0, 60}, {1, 0, 36}, {2, 0, 62}, {3, 0, 64}}));
  }
  {
    PianoRollEncoding merged({.steps_per_quarter = 1, .num_tracks = 3, .merge_all_tracks = true});
    const PianoRoll roll = merged.encode(score);
    EXPECT_EQ(roll.num_tracks, 3);  // the shape keeps num_tracks; everything is in track 0
    EXPECT_EQ(on_cells(roll, 21), (std::vector<std::tuple<int, int, int>>{{0, 0, 60}, {0, 0, 62}, {0, 0, 64}}));
  }
}

TEST(EncodingPianoRoll, OutOfRangePitchesAreDroppedOrMovedByOctaves) {
  const Score score = score_with(480, {track({{59, 80, 0, 480}, {60, 80, 0, 480}, {90, 80, 480, 960}})});
  PianoRollEncoding dropping({.steps_per_quarter = 1, .lowest_pitch = 60, .highest_pitch = 72});
  EXPECT_EQ(on_cells(dropping.encode(score), 60), (std::vector<std::tuple<int, int, int>>{{0, 0, 60}}));
  PianoRollEncoding shifting(
      {.steps_per_quarter = 1, .lowest_pitch = 60, .highest_pitch = 72, .transpose_into_range = true});
  // 59 -> 71, 90 -> 66 (two octaves down).
  EXPECT_EQ(on_cells(shifting.encode(score), 60),
            (std::vector<std::tuple<int, int, int>>{{0, 0, 60}, {0, 0, 71}, {0, 1, 66}}));
  PianoRollEncoding narrow(
      {.steps_per_quarter = 1, .lowest_pitch = 61, .highest_pitch = 62, .transpose_into_range = true});
  EXPECT_EQ(on_cells(narrow.encode(score), 61), (std::vector<std::tuple<int, int, int>>{}));  // no octave fits
}

TEST(EncodingPianoRoll, EmptyScoresGiveEmptyRollsAndHugeOnesAreErrors) {
  PianoRollEncoding encoding;
  const PianoRoll empty = encoding.encode(score_with(480, {}));
  EXPECT_EQ(empty.num_steps, 0);
  EXPECT_TRUE(empty.cells.empty());
  EXPECT_TRUE(empty.bar_starts.empty());
  EXPECT_EQ(encoding.decode(empty).note_count(), 0u);
  const Score huge = score_with(480, {track({{60, 80, 0, int64_t{1} << 40}})});
  EXPECT_THROW_WITH(encoding.encode(huge), Error, {"piano roll", "steps x", "more than the limit of"});
  // A crafted meter with bars far shorter than a tick over a long note: refused, not listed bar by bar.
  Score tiny_bars = score_with(480, {track({{60, 80, 0, 480 * 10000}})});
  tiny_bars.time_signatures[0] = {0, 1, 1 << 20};
  EXPECT_THROW_WITH(encoding.encode(tiny_bars), Error, {"time signatures", "more than 4194304 bars"});
  Score bad = score_with(480, {track({{60, 80, 0, 480}})});
  bad.ticks_per_quarter = 0;
  EXPECT_THROW_WITH(encoding.encode(bad), Error, {"ticks_per_quarter 0"});
}

// ---- decode ------------------------------------------------------------------------------------------------

TEST(EncodingPianoRoll, RunsOfCellsBecomeNotesAndRepeatedNotesMerge) {
  PianoRollEncoding encoding({.steps_per_quarter = 4, .lowest_pitch = 60, .highest_pitch = 64, .num_tracks = 2});
  // Two repeated quarter notes on C4 in track 0 (touching) and an E4 in track 1.
  const Score score = score_with(480, {track({{60, 80, 0, 480}, {60, 80, 480, 960}}), track({{64, 80, 240, 360}})});
  const PianoRoll roll = encoding.encode(score);
  const Score decoded = encoding.decode(roll, 90.0, 70, {"melody"});
  ASSERT_EQ(decoded.tracks.size(), 2u);
  EXPECT_EQ(decoded.tracks[0].name, "melody");
  EXPECT_EQ(decoded.tracks[1].name, "track1");
  EXPECT_EQ(decoded.tracks[1].channel, 1);
  EXPECT_EQ(decoded.tracks[0].notes, (std::vector<Note>{{60, 70, 0, 960}}));  // held and repeated look the same
  EXPECT_EQ(decoded.tracks[1].notes, (std::vector<Note>{{64, 70, 240, 360}}));
  EXPECT_EQ(decoded.ticks_per_quarter, 480);
  ASSERT_EQ(decoded.tempos.size(), 1u);
  EXPECT_NEAR(decoded.tempos[0].qpm(), 90.0, 0.01);
  EXPECT_EQ(decoded.time_signatures, (std::vector<TimeSignature>{{0, 4, 4}}));
}

TEST(EncodingPianoRoll, DecodeRecoversMetersFromBarLengths) {
  PianoRollEncoding encoding({.steps_per_quarter = 4});
  PianoRoll roll;
  roll.num_tracks = 1;
  roll.num_pitches = 88;
  roll.num_steps = 12 + 12 + 6 + 16;
  roll.cells.assign(static_cast<size_t>(roll.num_steps) * 88, 0);
  roll.bar_starts = {0, 12, 24, 30};
  roll.at(0, 45, 39) = 1;
  const Score decoded = encoding.decode(roll);
  EXPECT_EQ(decoded.time_signatures, (std::vector<TimeSignature>{{0, 3, 4}, {24 * 120, 3, 8}, {30 * 120, 4, 4}}));
  expect_same_roll(encoding.encode(decoded), roll);
}

TEST(EncodingPianoRoll, DecodeClampsShapeMismatchesInsteadOfFailing) {
  PianoRollEncoding encoding({.steps_per_quarter = 4, .lowest_pitch = 100, .highest_pitch = 127});
  PianoRoll roll;
  roll.num_tracks = 2;
  roll.num_steps = 1000000;  // far more than the cells hold
  roll.num_pitches = 40;     // more pitches than 100..127 can name
  roll.cells.assign(100, 1);
  roll.bar_starts = {5, -3, 2, 2000000};
  const Score decoded = encoding.decode(roll, -1.0, 500);
  ASSERT_EQ(decoded.tracks.size(), 2u);
  EXPECT_TRUE(decoded.tracks[1].notes.empty());
  ASSERT_EQ(decoded.tracks[0].notes.size(), 28u);  // pitches 100..127 of the two full steps held
  for (const auto& note : decoded.tracks[0].notes) {
    EXPECT_LE(note.pitch, 127);
    EXPECT_EQ(note.velocity, 127);
    EXPECT_EQ(note.end_tick, 2 * 120);
  }
  EXPECT_NEAR(decoded.tempos[0].qpm(), 120.0, 1e-9);  // an unusable qpm falls back to 120
  PianoRoll negative;
  negative.num_tracks = -1;
  negative.num_steps = -5;
  negative.num_pitches = 3;
  EXPECT_EQ(encoding.decode(negative).note_count(), 0u);
}

TEST(EncodingPianoRoll, DecodeOfEncodeIsTheQuantizedScoreWhenNoSamePitchNotesTouch) {
  PianoRollEncoding encoding({.steps_per_quarter = 4, .num_tracks = 2});
  // Notes off the grid, of one pitch but apart, and a chord.
  const Score score = score_with(
      384, {track({{60, 100, 10, 200}, {60, 100, 300, 500}, {67, 100, 300, 700}}), track({{48, 100, 0, 1536}})});
  const Score decoded = encoding.decode(encoding.encode(score), 120.0, 100);
  Score expected = quantize(score, 4);
  for (auto& part : expected.tracks)
    for (auto& note : part.notes) {
      note.start_tick = note.start_tick * 480 / 384;
      note.end_tick = note.end_tick * 480 / 384;
    }
  for (size_t t = 0; t < 2; ++t) EXPECT_EQ(decoded.tracks[t].notes, expected.tracks[t].notes) << t;
}

TEST(EncodingPianoRoll, EncodeOfDecodeReproducesEveryEncodedRoll) {
  std::mt19937 rng(5);
  for (int spq : {1, 2, 4, 12}) {
    PianoRollEncoding encoding({.steps_per_quarter = spq, .lowest_pitch = 30, .highest_pitch = 90, .num_tracks = 2});
    for (int trial = 0; trial < 25; ++trial) {
      const PianoRoll roll = encoding.encode(random_score(rng, trial % 2 ? 480 : 96));
      ASSERT_GT(roll.num_steps, 0);
      expect_same_roll(encoding.encode(encoding.decode(roll)), roll);
    }
  }
}

// ---- segments ----------------------------------------------------------------------------------------------

TEST(EncodingPianoRoll, SegmentsAreWholeWindowsOfBars) {
  PianoRollEncoding encoding({.steps_per_quarter = 1, .lowest_pitch = 60, .highest_pitch = 71, .num_tracks = 2});
  std::vector<Note> melody;
  for (int q = 0; q < 20; ++q) melody.push_back({60 + q % 12, 80, q * 480, q * 480 + 480});  // 5 bars of 4/4
  const PianoRoll roll = encoding.encode(score_with(480, {track(melody), track({{71, 80, 0, 480}})}));
  ASSERT_EQ(roll.bar_starts, (std::vector<int>{0, 4, 8, 12, 16}));
  const auto segments = encoding.segment_by_bars(roll, 2);
  ASSERT_EQ(segments.size(), 2u);  // bars 0-1, 2-3; bar 4 alone is not a full window
  for (size_t s = 0; s < segments.size(); ++s) {
    const PianoRoll& segment = segments[s];
    EXPECT_EQ(segment.num_steps, 8);
    EXPECT_EQ(segment.num_tracks, 2);
    EXPECT_EQ(segment.bar_starts, (std::vector<int>{0, 4}));
    for (int t = 0; t < 2; ++t)
      for (int step = 0; step < 8; ++step)
        for (int p = 0; p < 12; ++p) EXPECT_EQ(segment.at(t, step, p), roll.at(t, static_cast<int>(s) * 8 + step, p));
  }
  EXPECT_EQ(encoding.segment_by_bars(roll, 5).size(), 1u);
  EXPECT_EQ(encoding.segment_by_bars(roll, 6).size(), 0u);
  EXPECT_EQ(encoding.segment_by_bars(roll, 1).size(), 5u);
  EXPECT_THROW_WITH(encoding.segment_by_bars(roll, 0), Error, {"bars per segment", "got 0"});
}

// ---- bit packing -------------------------------------------------------------------------------------------

TEST(EncodingPianoRoll, PackBitsIsLeastSignificantBitFirst) {
  PianoRoll roll;
  roll.num_tracks = 1;
  roll.num_steps = 2;
  roll.num_pitches = 7;  // 14 cells: two bytes, the last two bits padding
  roll.cells = {1, 0, 0, 0, 0, 0, 0, 1, /**/ 0, 1, 1, 0, 0, 1};
  EXPECT_EQ(pack_bits(roll), (std::vector<uint8_t>{0x81, 0x26}));
  const PianoRoll back = unpack_bits(pack_bits(roll), 1, 2, 7);
  EXPECT_EQ(back.cells, roll.cells);
  EXPECT_EQ(back.num_steps, 2);
  EXPECT_TRUE(pack_bits(PianoRoll{}).empty());
  EXPECT_TRUE(unpack_bits({}, 0, 0, 0).cells.empty());
}

TEST(EncodingPianoRoll, PackBitsTreatsAnyNonZeroByteAsOn) {
  std::mt19937 rng(21);
  PianoRoll roll;
  roll.num_tracks = 1;
  roll.num_steps = 7;
  roll.num_pitches = 11;  // 77 cells: nine whole bytes and five bits
  for (int i = 0; i < 77; ++i) roll.cells.push_back(rng() % 3 == 0 ? 0 : static_cast<uint8_t>(1 + rng() % 255));
  roll.cells[5] = 0x80;  // only the top bit set
  std::vector<uint8_t> expected(10, 0);
  for (int i = 0; i < 77; ++i)
    if (roll.cells[i]) expected[i / 8] |= static_cast<uint8_t>(1 << (i % 8));
  EXPECT_EQ(pack_bits(roll), expected);
  const PianoRoll back = unpack_bits(expected, 1, 7, 11);
  for (int i = 0; i < 77; ++i) EXPECT_EQ(back.cells[i], roll.cells[i] ? 1 : 0) << i;
}

TEST(EncodingPianoRoll, PackBitsRoundTripsEncodedRolls) {
  std::mt19937 rng(8);
  PianoRollEncoding encoding({.steps_per_quarter = 4, .num_tracks = 2});
  for (int trial = 0; trial < 10; ++trial) {
    const PianoRoll roll = encoding.encode(random_score(rng, 480));
    const auto bits = pack_bits(roll);
    EXPECT_EQ(bits.size(), (roll.cells.size() + 7) / 8);
    const PianoRoll back = unpack_bits(bits, roll.num_tracks, roll.num_steps, roll.num_pitches);
    EXPECT_TRUE(back.cells == roll.cells);
  }
}

TEST(EncodingPianoRoll, UnpackBitsRejectsBadInput) {
  const std::vector<uint8_t> two = {0xff, 0x03};
  EXPECT_NO_THROW(unpack_bits(two, 1, 2, 5));  // 10 cells, padding clear
  // 8 cells need one byte, 17 cells three.
  EXPECT_THROW_WITH(unpack_bits(two, 1, 2, 4), Error, {"2 packed bytes for 8 cells", "expected 1"});
  EXPECT_THROW_WITH(unpack_bits(two, 1, 17, 1), Error, {"2 packed bytes for 17 cells", "expected 3"});
  EXPECT_THROW_WITH(unpack_bits(std::vector<uint8_t>{0xff, 0x07}, 1, 2, 5), Error, {"bits set past the last cell"});
  EXPECT_THROW_WITH(unpack_bits(two, -1, 2, 5), Error, {"negative shape -1x2x5"});
  EXPECT_THROW_WITH(unpack_bits(two, 1 << 20, 1 << 20, 1 << 20), Error,  // absurd shape, no allocation
                    {"shape 1048576x1048576x1048576", "exceeds the limit"});
}

}  // namespace
}  // namespace cadenza
