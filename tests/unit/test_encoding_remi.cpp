#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <tuple>

#include "common/error.h"
#include "encoding/encoding.h"
#include "encoding/remi.h"
#include "score/operations.h"
#include "score/score.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

// ---- fixtures ----------------------------------------------------------------------------------------------

Score score_with(int ticks_per_quarter, std::vector<Track> tracks, int numerator = 4, int denominator = 4,
                 double qpm = 120.0) {
  Score score = make_empty_score(ticks_per_quarter, qpm, numerator, denominator);
  score.tracks = std::move(tracks);
  score.normalize();
  return score;
}

Track piano(std::vector<Note> notes, int program = 0, int channel = 0) {
  return {"piano", program, false, channel, std::move(notes)};
}

Track drums(std::vector<Note> notes) {
  return {"kit", 0, true, 9, std::move(notes)};
}

// The text of tokens with every Tempo token replaced by "Tempo" (bin names are not what these tests are about).
std::string text_without_tempo_values(const TokenEncoding& encoding, const std::vector<Token>& tokens) {
  std::string text;
  for (Token token : tokens) {
    std::string name = encoding.vocabulary().name(token);
    if (name.rfind("Tempo_", 0) == 0) name = "Tempo";
    text += (text.empty() ? "" : " ") + name;
  }
  return text;
}

// Checks the invariants of score.h on a decoded score.
void expect_valid_score(const Score& score) {
  ASSERT_GT(score.ticks_per_quarter, 0);
  ASSERT_FALSE(score.tempos.empty());
  EXPECT_EQ(score.tempos.front().tick, 0);
  ASSERT_FALSE(score.time_signatures.empty());
  EXPECT_EQ(score.time_signatures.front().tick, 0);
  for (size_t i = 1; i < score.tempos.size(); ++i) EXPECT_LT(score.tempos[i - 1].tick, score.tempos[i].tick);
  for (size_t i = 1; i < score.time_signatures.size(); ++i)
    EXPECT_LT(score.time_signatures[i - 1].tick, score.time_signatures[i].tick);
  for (const auto& track : score.tracks) {
    EXPECT_GE(track.channel, 0);
    EXPECT_LE(track.channel, 15);
    for (size_t i = 0; i < track.notes.size(); ++i) {
      const Note& note = track.notes[i];
      EXPECT_GE(note.pitch, 0);
      EXPECT_LE(note.pitch, 127);
      EXPECT_GE(note.velocity, 1);
      EXPECT_LE(note.velocity, 127);
      EXPECT_GE(note.start_tick, 0);
      EXPECT_LT(note.start_tick, note.end_tick);
      if (i > 0) {
        const Note& previous = track.notes[i - 1];
        EXPECT_LE(std::tie(previous.start_tick, previous.pitch, previous.end_tick),
                  std::tie(note.start_tick, note.pitch, note.end_tick));
      }
    }
  }
}

// What decode(encode(score)) must be, computed from the documented rules with quantize() doing the snapping:
// notes on the position grid (durations clamped, velocities and tempos binned, pitches in range), tracks merged
// per program, meters applied from the first bar line at or after them, bars up to the last note's bar.
Score expected_round_trip(const Score& score, const RemiEncoding& encoding) {
  const RemiSpec& spec = encoding.remi_spec();
  const int ppq = spec.positions_per_quarter;
  const int64_t ticks_per_position = 480 / ppq;
  const Score snapped = quantize(score, ppq);
  auto position_of = [&](int64_t tick) {
    return (tick * ppq * 2 + snapped.ticks_per_quarter) / (2 * snapped.ticks_per_quarter);
  };

  std::map<int, std::set<std::tuple<int64_t, int, int64_t, int>>> notes;  // program key -> (start, pitch, end, vel)
  int64_t last_start = -1;
  for (const auto& track : snapped.tracks) {
    if (track.is_drum && !spec.use_programs) continue;
    const int key = !spec.use_programs ? 0 : track.is_drum ? RemiEncoding::kDrumProgram : track.program;
    for (const auto& note : track.notes) {
      const bool in_range = track.is_drum ? note.pitch >= 27 && note.pitch <= 87
                                          : note.pitch >= spec.lowest_pitch && note.pitch <= spec.highest_pitch;
      if (!in_range) continue;
      const int64_t start = position_of(note.start_tick);
      const int64_t length = std::min<int64_t>(position_of(note.end_tick) - start, spec.max_duration_quarters * ppq);
      notes[key].insert({start * ticks_per_position, note.pitch, (start + length) * ticks_per_position,
                         encoding.binned_velocity(note.velocity)});
      last_start = std::max(last_start, start);
    }
  }

  Score expected;
  expected.ticks_per_quarter = 480;
  if (!spec.use_programs) notes[0];  // the single "remi" track exists even when empty
  int channel = 0;
  for (const auto& [key, set] : notes) {
    Track track;
    if (!spec.use_programs) {
      track = {"remi", 0, false, 0, {}};
    } else if (key == RemiEncoding::kDrumProgram) {
      track = {"drums", 0, true, 9, {}};
    } else {
      track = {"program_" + std::to_string(key), key, false, channel, {}};
      channel = channel == 15 ? 0 : channel + 1;
      if (channel == 9) channel = 10;
    }
    for (const auto& [start, pitch, end, velocity] : set) track.notes.push_back({pitch, velocity, start, end});
    expected.tracks.push_back(std::move(track));
  }
  if (last_start < 0) {
    expected.normalize();
    return expected;
  }

  // Bars: the meter in force at a bar line is the last time signature at or before it (4/4 if unrepresentable).
  int64_t bars_end = 0;
  std::vector<TimeSignature> meters;
  for (int64_t bar_start = 0; bar_start <= last_start;) {
    TimeSignature meter{0, 4, 4};
    if (spec.use_time_signatures)
      for (const auto& signature : snapped.time_signatures)
        if (position_of(signature.tick) <= bar_start) meter = signature;
    int positions = encoding.bar_positions(meter.numerator, meter.denominator);
    if (positions == 0) {
      meter = {0, 4, 4};
      positions = 4 * ppq;
    }
    if (meters.empty() || meters.back().numerator != meter.numerator || meters.back().denominator != meter.denominator)
      meters.push_back({bar_start * ticks_per_position, meter.numerator, meter.denominator});
    bar_start += positions;
    bars_end = bar_start;
  }
  expected.time_signatures = meters;
  for (const auto& tempo : snapped.tempos) {
    const int64_t position = position_of(tempo.tick);
    if (position >= bars_end) continue;
    const int32_t binned = encoding.binned_microseconds_per_quarter(tempo.microseconds_per_quarter);
    if (expected.tempos.empty() || expected.tempos.back().microseconds_per_quarter != binned)
      expected.tempos.push_back({position * ticks_per_position, binned});
  }
  expected.normalize();
  return expected;
}

// A random score exercising what REMI must handle: several resolutions and tracks, a drum track, pitches and
// durations beyond the ranges, chords, tempo and meter changes (some mid-bar, some unrepresentable).
Score random_score(std::mt19937& rng, bool with_drums) {
  auto uniform = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng); };
  static const int kResolutions[] = {96, 100, 384, 480, 960};
  static const std::pair<int, int> kMeters[] = {{4, 4}, {3, 4}, {6, 8}, {2, 2}, {5, 4}, {7, 8}, {9, 4}, {12, 8}};
  const int tpq = kResolutions[uniform(0, 4)];
  Score score = make_empty_score(tpq, 30.0 + uniform(0, 270));
  const int num_tracks = uniform(1, 3);
  for (int t = 0; t < num_tracks; ++t) {
    Track track = piano({}, uniform(0, 3) * 20, t);
    const int count = uniform(0, 40);
    for (int i = 0; i < count; ++i) {
      const int64_t start = uniform(0, 24 * tpq);
      const int64_t length = uniform(0, 3) == 0 ? uniform(1, 12 * tpq) : uniform(1, tpq);
      track.notes.push_back({uniform(15, 115), uniform(1, 127), start, start + length});
    }
    score.tracks.push_back(track);
  }
  if (with_drums) {
    Track kit = drums({});
    for (int i = 0; i < 12; ++i) {
      const int64_t start = uniform(0, 16 * tpq);
      kit.notes.push_back({uniform(25, 90), uniform(1, 127), start, start + tpq / 4});
    }
    score.tracks.push_back(kit);
  }
  for (int i = uniform(0, 3); i > 0; --i)
    score.tempos.push_back({uniform(1, 20) * tpq / 2, 200000 + uniform(0, 1800000)});
  const auto [numerator, denominator] = kMeters[uniform(0, 7)];
  score.time_signatures[0] = {0, numerator, denominator};
  for (int i = uniform(0, 2); i > 0; --i) {
    const auto [n, d] = kMeters[uniform(0, 7)];
    score.time_signatures.push_back({uniform(1, 12) * tpq * (uniform(0, 1) ? 4 : 1), n, d});
  }
  score.normalize();
  return score;
}

std::vector<RemiSpec> spec_variants() {
  std::vector<RemiSpec> specs(5);
  specs[1].use_programs = true;
  specs[2].use_time_signatures = false;
  specs[3].positions_per_quarter = 12;
  specs[3].num_velocity_bins = 8;
  specs[3].max_duration_quarters = 2;
  specs[3].lowest_pitch = 40;
  specs[3].highest_pitch = 90;
  specs[4].positions_per_quarter = 1;
  specs[4].use_programs = true;
  specs[4].num_tempo_bins = 1;
  return specs;
}

// ---- vocabulary and spec -----------------------------------------------------------------------------------

TEST(EncodingRemi, VocabularyHasReadableNamesForEveryTokenKind) {
  RemiEncoding remi;
  const Vocabulary& vocabulary = remi.vocabulary();
  for (const char* name :
       {"Bar", "Position_0", "Position_31", "TimeSig_4/4", "TimeSig_3/4", "TimeSig_6/8", "TimeSig_12/8", "TimeSig_8/4",
        "Pitch_21", "Pitch_108", "Velocity_127", "Duration_1", "Duration_32"})
    EXPECT_TRUE(vocabulary.contains(name)) << name;
  for (const char* name : {"Position_32", "TimeSig_9/4", "Pitch_20", "Pitch_109", "Duration_33", "Program_0",
                           "Program_drums", "DrumPitch_36"})
    EXPECT_FALSE(vocabulary.contains(name)) << name;
  int tempo_tokens = 0;
  for (const auto& name : vocabulary.names()) tempo_tokens += name.rfind("Tempo_", 0) == 0;
  EXPECT_EQ(tempo_tokens, 32);

  RemiSpec spec;
  spec.use_programs = true;
  spec.use_time_signatures = false;
  RemiEncoding multi(spec);
  for (const char* name : {"Program_0", "Program_127", "Program_drums", "DrumPitch_27", "DrumPitch_87", "Position_15"})
    EXPECT_TRUE(multi.vocabulary().contains(name)) << name;
  EXPECT_FALSE(multi.vocabulary().contains("Position_16"));
  EXPECT_FALSE(multi.vocabulary().contains("TimeSig_4/4"));
}

TEST(EncodingRemi, SpecRebuildsAnEquivalentEncoding) {
  for (const RemiSpec& spec : spec_variants()) {
    RemiEncoding remi(spec);
    const nlohmann::json json = remi.spec();
    EXPECT_EQ(json["name"], "remi");
    for (const char* key :
         {"positions_per_quarter", "lowest_pitch", "highest_pitch", "num_velocity_bins", "max_duration_quarters",
          "num_tempo_bins", "min_tempo", "max_tempo", "use_programs", "use_time_signatures"})
      EXPECT_TRUE(json.contains(key)) << key;
    auto rebuilt = make_token_encoding(json);
    EXPECT_EQ(rebuilt->name(), "remi");
    EXPECT_EQ(rebuilt->vocabulary().names(), remi.vocabulary().names());
    EXPECT_EQ(rebuilt->spec(), json);
  }
  EXPECT_EQ(make_token_encoding({{"name", "remi"}})->vocabulary().names(), RemiEncoding().vocabulary().names());
}

TEST(EncodingRemi, InvalidOptionsAreErrors) {
  // Each bad spec, the option the message must name and the offending value (or the rule broken).
  struct Case {
    nlohmann::json spec;
    const char* key;
    const char* problem;
  };
  const Case bad[] = {
      {{{"name", "remi"}, {"positions_per_quarter", 7}}, "'positions_per_quarter' = 7", "must divide 480"},
      {{{"name", "remi"}, {"positions_per_quarter", 0}}, "'positions_per_quarter' = 0", "outside 1..48"},
      {{{"name", "remi"}, {"lowest_pitch", 90}, {"highest_pitch", 80}}, "lowest_pitch 90", "above highest_pitch 80"},
      {{{"name", "remi"}, {"highest_pitch", 128}}, "'highest_pitch' = 128", "outside 0..127"},
      {{{"name", "remi"}, {"num_velocity_bins", 0}}, "'num_velocity_bins' = 0", "outside 1..127"},
      {{{"name", "remi"}, {"num_velocity_bins", 200}}, "'num_velocity_bins' = 200", "outside 1..127"},
      {{{"name", "remi"}, {"max_duration_quarters", 0}}, "'max_duration_quarters' = 0", "outside 1..32"},
      {{{"name", "remi"}, {"min_tempo", 200}, {"max_tempo", 100}}, "min_tempo 200", "below max_tempo 100"},
      {{{"name", "remi"}, {"num_tempo_bins", 256}, {"min_tempo", 100}, {"max_tempo", 100.5}},  // names collide
       "256 tempo bins",
       "too close to tell apart"},
      {{{"name", "remi"}, {"use_programs", "yes"}}, "'use_programs'", "true or false, got \"yes\""},
      {{{"name", "remi"}, {"positions_per_quarter", 4.5}}, "'positions_per_quarter'", "integer, got 4.5"},
      {{{"name", "remi"}, {"positions_per_quarter", 1e12}}, "'positions_per_quarter'", "must be an integer"},
      {{{"name", "remi"}, {"unknown_option", 1}}, "'unknown_option'", "unknown option"},
  };
  for (const auto& c : bad)
    EXPECT_THROW_WITH(make_token_encoding(c.spec), Error, {"remi encoding", c.key, c.problem}) << c.spec.dump();
  RemiSpec direct;
  direct.num_tempo_bins = 0;
  EXPECT_THROW_WITH(RemiEncoding{direct}, Error, {"remi encoding", "'num_tempo_bins' = 0", "outside 1..256"});
}

TEST(EncodingRemi, VelocityAndTempoBinsAreNearestValues) {
  RemiEncoding remi;
  EXPECT_EQ(remi.binned_velocity(127), 127);
  EXPECT_EQ(remi.binned_velocity(64), 64);  // round(16 * 127 / 32) = 64 is a bin
  EXPECT_EQ(remi.binned_velocity(1), 4);    // the lowest bin, round(127 / 32)
  int previous = 0;
  for (int velocity = 1; velocity <= 127; ++velocity) {
    const int binned = remi.binned_velocity(velocity);
    EXPECT_GE(binned, previous);
    EXPECT_LE(std::abs(binned - velocity), velocity < 4 ? 3 : 2) << velocity;  // bins are ~4 apart, from 4
    EXPECT_TRUE(remi.vocabulary().contains("Velocity_" + std::to_string(binned)));
    previous = binned;
  }
  // Geometric bins 40..250: neighbours are (250/40)^(1/31) ~ 6% apart, so a tempo is within ~3% of its bin.
  for (double qpm : {40.0, 63.0, 100.0, 120.0, 180.0, 250.0}) {
    const double binned = 60e6 / remi.binned_microseconds_per_quarter(static_cast<int32_t>(60e6 / qpm));
    EXPECT_NEAR(binned / qpm, 1.0, 0.031) << qpm;
  }
  EXPECT_NEAR(60e6 / remi.binned_microseconds_per_quarter(100000), 250.0, 0.01);  // 600 qpm: clamped to the top
  EXPECT_NEAR(60e6 / remi.binned_microseconds_per_quarter(6000000), 40.0, 0.01);  // 10 qpm: clamped to the bottom
}

// ---- encode ------------------------------------------------------------------------------------------------

TEST(EncodingRemi, EncodesBarsPositionsAndNoteGroupsInOrder) {
  RemiEncoding remi;
  // Bar 1: C4 quarter on beat 1, E4+G4 eighths on beat 3 (chord, pitch order). Bar 2 empty. Bar 3: A4 whole.
  Score score =
      score_with(480, {piano({{60, 127, 0, 480}, {67, 64, 960, 1200}, {64, 64, 960, 1200}, {69, 127, 3840, 5760}})});
  const auto tokens = remi.encode(score);
  EXPECT_EQ(text_without_tempo_values(remi, tokens),
            "Bar TimeSig_4/4 Position_0 Tempo Pitch_60 Velocity_127 Duration_4 "
            "Position_8 Pitch_64 Velocity_64 Duration_2 Pitch_67 Velocity_64 Duration_2 "
            "Bar Bar Position_0 Pitch_69 Velocity_127 Duration_16");
  const std::string tempo_name = remi.vocabulary().name(tokens[3]);
  EXPECT_NEAR(std::stod(tempo_name.substr(6)) / 120.0, 1.0, 0.031) << tempo_name;
}

TEST(EncodingRemi, BarsFollowTheMeterAndTimeSigTokensMarkChanges) {
  RemiEncoding remi;
  // 3/4: beat 4 (tick 1440) is the downbeat of bar 2. From bar 3 (tick 2880) the meter is 6/8 (same length).
  Score score =
      score_with(480, {piano({{60, 95, 0, 480}, {62, 95, 1440, 1920}, {64, 95, 2880 + 240, 2880 + 480}})}, 3, 4);
  score.time_signatures.push_back({2880, 6, 8});
  score.normalize();
  EXPECT_EQ(text_without_tempo_values(remi, remi.encode(score)),
            "Bar TimeSig_3/4 Position_0 Tempo Pitch_60 Velocity_95 Duration_4 "
            "Bar Position_0 Pitch_62 Velocity_95 Duration_4 "
            "Bar TimeSig_6/8 Position_2 Pitch_64 Velocity_95 Duration_2");
  const Score decoded = remi.decode(remi.encode(score));
  ASSERT_EQ(decoded.time_signatures.size(), 2u);
  EXPECT_EQ(decoded.time_signatures[0], (TimeSignature{0, 3, 4}));
  EXPECT_EQ(decoded.time_signatures[1], (TimeSignature{2880, 6, 8}));
}

TEST(EncodingRemi, MidBarMeterChangesWaitForTheNextBarLine) {
  RemiEncoding remi;
  // 4/4 with a change to 3/4 on beat 3 of bar 1: bar 1 stays 4/4, 3/4 starts at tick 1920.
  Score score = score_with(480, {piano({{60, 95, 0, 480}, {62, 95, 1920, 2400}, {64, 95, 3360, 3840}})});
  score.time_signatures.push_back({960, 3, 4});
  score.normalize();
  EXPECT_EQ(text_without_tempo_values(remi, remi.encode(score)),
            "Bar TimeSig_4/4 Position_0 Tempo Pitch_60 Velocity_95 Duration_4 "
            "Bar TimeSig_3/4 Position_0 Pitch_62 Velocity_95 Duration_4 "
            "Bar Position_0 Pitch_64 Velocity_95 Duration_4");
}

TEST(EncodingRemi, UnrepresentableMetersBecomeFourFour) {
  RemiEncoding remi;
  Score score = score_with(480, {piano({{60, 95, 0, 480}, {62, 95, 2400, 2880}})}, 9, 4);  // 9 quarters > 8
  const auto tokens = remi.encode(score);
  EXPECT_EQ(text_without_tempo_values(remi, tokens),
            "Bar TimeSig_4/4 Position_0 Tempo Pitch_60 Velocity_95 Duration_4 "
            "Bar Position_4 Pitch_62 Velocity_95 Duration_4");
  const Score decoded = remi.decode(tokens);
  EXPECT_EQ(decoded.time_signatures, (std::vector<TimeSignature>{{0, 4, 4}}));
  EXPECT_EQ(decoded.tracks[0].notes[1].start_tick, 2400);  // note times survive
}

TEST(EncodingRemi, WithoutTimeSignaturesBarsAreFourFourAndTimesSurvive) {
  RemiSpec spec;
  spec.use_time_signatures = false;
  RemiEncoding remi(spec);
  Score score = score_with(480, {piano({{60, 95, 0, 480}, {62, 95, 1440, 1920}})}, 3, 4);
  const auto tokens = remi.encode(score);
  EXPECT_EQ(text_without_tempo_values(remi, tokens),
            "Bar Position_0 Tempo Pitch_60 Velocity_95 Duration_4 Position_12 Pitch_62 Velocity_95 Duration_4");
  const Score decoded = remi.decode(tokens);
  EXPECT_EQ(decoded.time_signatures, (std::vector<TimeSignature>{{0, 4, 4}}));  // the 3/4 is lost
  EXPECT_EQ(decoded.tracks[0].notes[1].start_tick, 1440);
}

TEST(EncodingRemi, ClampsDurationsDropsOutOfRangePitchesAndDrumsWithoutPrograms) {
  RemiEncoding remi;
  Score score =
      score_with(480, {piano({{60, 95, 0, 480 * 10}, {10, 95, 0, 480}, {120, 95, 0, 480}}), drums({{36, 99, 0, 240}})});
  EXPECT_EQ(text_without_tempo_values(remi, remi.encode(score)),
            "Bar TimeSig_4/4 Position_0 Tempo Pitch_60 Velocity_95 Duration_32");
}

TEST(EncodingRemi, ProgramsPrecedeEveryNoteAndDrumsHaveTheirOwnPitches) {
  RemiSpec spec;
  spec.use_programs = true;
  RemiEncoding remi(spec);
  Score score = score_with(480, {piano({{72, 95, 0, 480}}, 40, 1), drums({{36, 99, 0, 240}}),
                                 piano({{48, 95, 0, 480}, {50, 95, 480, 960}}, 0, 0)});
  const auto tokens = remi.encode(score);
  EXPECT_EQ(text_without_tempo_values(remi, tokens),
            "Bar TimeSig_4/4 Position_0 Tempo Program_0 Pitch_48 Velocity_95 Duration_4 "
            "Program_40 Pitch_72 Velocity_95 Duration_4 Program_drums DrumPitch_36 Velocity_99 Duration_2 "
            "Position_4 Program_0 Pitch_50 Velocity_95 Duration_4");
  const Score decoded = remi.decode(tokens);
  ASSERT_EQ(decoded.tracks.size(), 3u);
  EXPECT_EQ(decoded.tracks[0].name, "program_0");
  EXPECT_EQ(decoded.tracks[0].notes.size(), 2u);
  EXPECT_EQ(decoded.tracks[1].program, 40);
  EXPECT_EQ(decoded.tracks[1].channel, 1);
  EXPECT_TRUE(decoded.tracks[2].is_drum);
  EXPECT_EQ(decoded.tracks[2].channel, 9);
  EXPECT_EQ(decoded.tracks[2].notes[0].pitch, 36);
}

TEST(EncodingRemi, TempoTokensFollowThePositionWhereTheBinnedTempoChanges) {
  RemiEncoding remi;
  Score score = score_with(480, {piano({{60, 95, 0, 480}, {62, 95, 960, 1440}, {64, 95, 2400, 2880}})});
  score.tempos.push_back({960, 1'000'000});  // 60 qpm on beat 3
  score.tempos.push_back({1440, 999'000});   // same bin: no token
  score.tempos.push_back({2000, 400'000});   // 150 qpm between notes, snapped to position 17
  score.tempos.push_back({9600, 300'000});   // after the last bar: dropped
  score.normalize();
  const auto tokens = remi.encode(score);
  EXPECT_EQ(text_without_tempo_values(remi, tokens),
            "Bar TimeSig_4/4 Position_0 Tempo Pitch_60 Velocity_95 Duration_4 Position_8 Tempo Pitch_62 Velocity_95 "
            "Duration_4 Bar Position_1 Tempo Position_4 Pitch_64 Velocity_95 Duration_4");
  const Score decoded = remi.decode(tokens);
  ASSERT_EQ(decoded.tempos.size(), 3u);
  EXPECT_EQ(decoded.tempos[1].tick, 960);
  EXPECT_EQ(decoded.tempos[2].tick, 2040);
  EXPECT_NEAR(decoded.tempos[1].qpm(), 60.0, 60.0 * 0.031);
  EXPECT_NEAR(decoded.tempos[2].qpm(), 150.0, 150.0 * 0.031);
}

TEST(EncodingRemi, EmptyScoresEncodeToNothingAndDecodeToAnEmptyTrack) {
  RemiEncoding remi;
  EXPECT_TRUE(remi.encode(score_with(480, {})).empty());
  EXPECT_TRUE(remi.encode(score_with(480, {piano({{5, 80, 0, 480}})})).empty());  // nothing in range
  const Score decoded = remi.decode({});
  ASSERT_EQ(decoded.tracks.size(), 1u);
  EXPECT_EQ(decoded.tracks[0].name, "remi");
  EXPECT_TRUE(decoded.tracks[0].notes.empty());
  EXPECT_EQ(decoded.tempos, (std::vector<TempoChange>{{0, 500000}}));
}

TEST(EncodingRemi, AbsurdlyLongScoresAreErrorsNotHugeAllocations) {
  RemiEncoding remi;
  Score score = score_with(480, {piano({{60, 80, int64_t{1} << 40, (int64_t{1} << 40) + 480}})});
  EXPECT_THROW_WITH(remi.encode(score), Error, {"remi encoding", "more than 1048576 bars", "quarters in"});
}

// ---- round trip --------------------------------------------------------------------------------------------

TEST(EncodingRemi, DecodeOfEncodeIsTheQuantizedBinnedScore) {
  std::mt19937 rng(20240607);
  int compared_notes = 0;
  for (const RemiSpec& spec : spec_variants()) {
    RemiEncoding remi(spec);
    for (int trial = 0; trial < 60; ++trial) {
      const Score score = random_score(rng, trial % 3 == 0);
      const Score decoded = remi.decode(remi.encode(score));
      const Score expected = expected_round_trip(score, remi);
      ASSERT_EQ(describe_difference(decoded, expected), "") << "spec " << remi.spec().dump() << " trial " << trial;
      compared_notes += static_cast<int>(expected.note_count());
    }
  }
  EXPECT_GT(compared_notes, 1000);
}

TEST(EncodingRemi, EncodingIsStableAfterOneRoundTrip) {
  std::mt19937 rng(99);
  for (const RemiSpec& spec : spec_variants()) {
    RemiEncoding remi(spec);
    for (int trial = 0; trial < 20; ++trial) {
      const auto tokens = remi.encode(random_score(rng, true));
      EXPECT_EQ(remi.encode(remi.decode(tokens)), tokens) << remi.spec().dump();
    }
  }
}

// ---- grammar -----------------------------------------------------------------------------------------------

TEST(EncodingRemi, GrammarAcceptsEveryEncodedSequence) {
  std::mt19937 rng(7);
  for (const RemiSpec& spec : spec_variants()) {
    RemiEncoding remi(spec);
    for (int trial = 0; trial < 30; ++trial) {
      const auto tokens = remi.encode(random_score(rng, trial % 2 == 0));
      auto grammar = remi.grammar();
      for (size_t i = 0; i < tokens.size(); ++i) {
        ASSERT_TRUE(grammar->is_allowed(tokens[i]))
            << remi.vocabulary().name(tokens[i]) << " at " << i << " of " << remi.to_text(tokens);
        grammar->push(tokens[i]);
      }
      EXPECT_EQ(grammar->can_end(), !tokens.empty());
    }
  }
}

TEST(EncodingRemi, GrammarRefusesUngrammaticalOrders) {
  RemiEncoding remi;
  const Vocabulary& v = remi.vocabulary();
  auto grammar = remi.grammar();
  EXPECT_FALSE(grammar->can_end());
  EXPECT_FALSE(grammar->is_allowed(v.id("Pitch_60")));  // a sequence starts with Bar
  EXPECT_THROW_WITH(grammar->push(v.id("Position_0")), Error, {"token Position_0", "not allowed at the start"});
  grammar->push(v.id("Bar"));
  EXPECT_TRUE(grammar->can_end());
  grammar->push(v.id("TimeSig_3/4"));
  EXPECT_FALSE(grammar->is_allowed(v.id("TimeSig_4/4")));  // one meter per bar
  EXPECT_FALSE(grammar->is_allowed(v.id("Position_12")));  // a 3/4 bar has 12 positions
  EXPECT_TRUE(grammar->is_allowed(v.id("Position_11")));
  grammar->push(v.id("Position_4"));
  EXPECT_FALSE(grammar->can_end());
  EXPECT_FALSE(grammar->is_allowed(v.id("Bar")));  // a Position needs an event
  EXPECT_FALSE(grammar->is_allowed(v.id("Velocity_64")));
  grammar->push(v.id("Pitch_60"));
  std::vector<uint8_t> mask;
  grammar->allowed(mask);
  ASSERT_EQ(mask.size(), static_cast<size_t>(v.size()));
  for (Token t = 0; t < v.size(); ++t)
    EXPECT_EQ(mask[t] != 0, v.name(t).rfind("Velocity_", 0) == 0) << v.name(t);  // only a Velocity
  grammar->push(v.id("Velocity_64"));
  EXPECT_FALSE(grammar->can_end());  // the note is not complete
  grammar->push(v.id("Duration_4"));
  EXPECT_TRUE(grammar->can_end());
  EXPECT_FALSE(grammar->is_allowed(v.id("Position_4")));  // positions strictly increase
  EXPECT_FALSE(grammar->is_allowed(v.id("Position_2")));
  EXPECT_FALSE(grammar->is_allowed(v.id("TimeSig_4/4")));
  EXPECT_TRUE(grammar->is_allowed(v.id("Position_5")));
  EXPECT_TRUE(grammar->is_allowed(v.id("Pitch_64")));
  auto copy = grammar->clone();
  grammar->push(v.id("Bar"));  // the 3/4 meter carries over to the next bar
  EXPECT_FALSE(grammar->is_allowed(v.id("Position_12")));
  EXPECT_FALSE(copy->is_allowed(v.id("Position_0")));  // the clone is independent
  EXPECT_FALSE(grammar->is_allowed(-1));
  EXPECT_FALSE(grammar->is_allowed(v.size()));
}

TEST(EncodingRemi, GrammarWithProgramsRequiresAProgramAndMatchingPitchKind) {
  RemiSpec spec;
  spec.use_programs = true;
  RemiEncoding remi(spec);
  const Vocabulary& v = remi.vocabulary();
  auto grammar = remi.grammar();
  for (const char* name : {"Bar", "Position_0"}) grammar->push(v.id(name));
  EXPECT_FALSE(grammar->is_allowed(v.id("Pitch_60")));
  grammar->push(v.id("Program_drums"));
  EXPECT_FALSE(grammar->is_allowed(v.id("Pitch_60")));
  EXPECT_TRUE(grammar->is_allowed(v.id("DrumPitch_36")));
  for (const char* name : {"DrumPitch_36", "Velocity_64", "Duration_1", "Program_5"}) grammar->push(v.id(name));
  EXPECT_FALSE(grammar->is_allowed(v.id("DrumPitch_36")));
  EXPECT_TRUE(grammar->is_allowed(v.id("Pitch_60")));
}

// Random walks through the grammar: whatever a sampler may emit decodes to a valid score, and re-encoding that
// score is again grammatical and keeps its notes.
TEST(EncodingRemi, GrammarWalksDecodeToValidScoresThatSurviveReencoding) {
  std::mt19937 rng(11);
  for (const RemiSpec& spec : spec_variants()) {
    RemiEncoding remi(spec);
    for (int walk = 0; walk < 30; ++walk) {
      auto grammar = remi.grammar();
      std::vector<Token> tokens;
      std::vector<uint8_t> mask;
      for (int i = 0; i < 300; ++i) {
        grammar->allowed(mask);
        std::vector<Token> allowed;
        for (Token t = 0; t < static_cast<Token>(mask.size()); ++t)
          if (mask[t]) allowed.push_back(t);
        ASSERT_FALSE(allowed.empty());
        // Bars are rare so that bars fill up with notes.
        Token next = allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)];
        if (next == remi.bar_token() && allowed.size() > 1 && rng() % 8 != 0) continue;
        grammar->push(next);
        tokens.push_back(next);
      }
      const Score decoded = remi.decode(tokens);
      expect_valid_score(decoded);
      const auto again = remi.encode(decoded);
      auto check = remi.grammar();
      for (Token t : again) {
        ASSERT_TRUE(check->is_allowed(t));
        check->push(t);
      }
      const Score redecoded = remi.decode(again);
      // Identical notes written twice collapse into one when re-encoded; everything else is kept.
      for (size_t t = 0; t < decoded.tracks.size(); ++t) {
        auto notes = decoded.tracks[t].notes;
        notes.erase(std::unique(notes.begin(), notes.end()), notes.end());
        ASSERT_LT(t, redecoded.tracks.size());
        EXPECT_EQ(redecoded.tracks[t].notes, notes);
      }
    }
  }
}

// ---- decode robustness -------------------------------------------------------------------------------------

TEST(EncodingRemi, DecodeRepairsOrSkipsAnything) {
  std::mt19937 rng(3);
  for (const RemiSpec& spec : spec_variants()) {
    RemiEncoding remi(spec);
    const int size = remi.vocabulary().size();
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<Token> tokens(std::uniform_int_distribution<int>(0, 400)(rng));
      for (auto& token : tokens) token = std::uniform_int_distribution<int>(-3, size + 3)(rng);
      Score decoded;
      ASSERT_NO_THROW(decoded = remi.decode(tokens));
      expect_valid_score(decoded);
    }
  }
}

TEST(EncodingRemi, DecodeIgnoresIncompleteGroupsAndStrayTokens) {
  RemiEncoding remi;
  const auto tokens = remi.from_text(
      "Position_4 Pitch_60 Velocity_64 Duration_4 "                              // before any Bar: bar 0
      "Pitch_61 Velocity_64 "                                                    // incomplete: no Duration
      "Velocity_64 Duration_4 "                                                  // no Pitch
      "Bar TimeSig_3/4 Position_2 Pitch_62 Velocity_64 Duration_2 TimeSig_6/4 "  // stray TimeSig ignored
      "Bar Position_12 Pitch_63 Velocity_64 Duration_1 "  // Position_12 is beyond a 3/4 bar: note has no position
      "Bar Bar Position_0 Pitch_64 Velocity_127 Duration_8");
  std::vector<Token> with_junk = tokens;
  with_junk.insert(with_junk.begin() + 3, -7);
  with_junk.push_back(remi.vocabulary().size() + 10);
  const Score decoded = remi.decode(with_junk);
  ASSERT_EQ(decoded.tracks.size(), 1u);
  const auto& notes = decoded.tracks[0].notes;
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0], (Note{60, 64, 480, 960}));
  EXPECT_EQ(notes[1], (Note{62, 64, 1920 + 240, 1920 + 480}));  // bar 1 starts after the 4/4 bar 0
  // Bars 2 and 3 are 3/4 (the meter carries over), so bar 4 starts at 1920 + 3 * 1440.
  EXPECT_EQ(notes[2], (Note{64, 127, 1920 + 3 * 1440, 1920 + 3 * 1440 + 960}));
  EXPECT_EQ(decoded.time_signatures, (std::vector<TimeSignature>{{0, 4, 4}, {1920, 3, 4}}));
}

// ---- token-space transposition -----------------------------------------------------------------------------

TEST(EncodingRemi, TransposingTokensMatchesTransposingTheScoreAndLeavesDrumsAlone) {
  RemiSpec spec;
  spec.use_programs = true;
  RemiEncoding remi(spec);
  Score score = score_with(480, {piano({{60, 80, 0, 480}, {100, 80, 480, 960}}, 0), drums({{36, 100, 0, 240}})});
  auto tokens = remi.encode(score);
  const Vocabulary& v = remi.vocabulary();
  EXPECT_EQ(remi.token_pitch(v.id("Pitch_60")), 60);
  EXPECT_EQ(remi.token_pitch(v.id("DrumPitch_36")), -1);
  EXPECT_EQ(remi.token_pitch(v.id("Velocity_64")), -1);
  EXPECT_EQ(remi.token_pitch(-1), -1);
  EXPECT_EQ(remi.with_pitch(v.id("Pitch_60"), 62), v.id("Pitch_62"));
  EXPECT_EQ(remi.with_pitch(v.id("Pitch_60"), 109), -1);
  EXPECT_EQ(remi.with_pitch(v.id("Duration_4"), 62), -1);

  EXPECT_EQ(remi.transposition_range(tokens), (std::pair<int, int>{21 - 60, 108 - 100}));
  auto shifted = tokens;
  ASSERT_TRUE(remi.transpose(shifted, 5));
  EXPECT_EQ(describe_difference(remi.decode(shifted), transpose(remi.decode(tokens), 5)), "");
  EXPECT_FALSE(remi.transpose(shifted, 9));  // 105 + 9 > 108
}

}  // namespace
}  // namespace cadenza
