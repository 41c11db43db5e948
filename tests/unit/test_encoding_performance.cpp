#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "encoding/encoding.h"
#include "encoding/performance.h"
#include "score/operations.h"
#include "score/score.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

// 480 ticks per quarter at 120 qpm: 960 ticks per second, so 96 ticks = 100 ms = 10 grid steps.
Score piano_score(std::vector<Note> notes, bool is_drum = false) {
  Score score = make_empty_score(480, 120.0);
  score.tracks.push_back({"piano", 0, is_drum, is_drum ? 9 : 0, std::move(notes)});
  score.normalize();
  return score;
}

Note timed_note(int pitch, int velocity, double start_sec, double end_sec) {
  return {pitch, velocity, std::llround(start_sec * 960), std::llround(end_sec * 960)};
}

::testing::AssertionResult satisfies_invariants(const Score& score) {
  if (score.ticks_per_quarter <= 0)
    return ::testing::AssertionFailure() << "ticks_per_quarter " << score.ticks_per_quarter;
  if (score.tempos.empty() || score.tempos.front().tick != 0) return ::testing::AssertionFailure() << "no tempo at 0";
  if (score.time_signatures.empty() || score.time_signatures.front().tick != 0)
    return ::testing::AssertionFailure() << "no time signature at 0";
  for (const auto& track : score.tracks)
    for (size_t i = 0; i < track.notes.size(); ++i) {
      const Note& note = track.notes[i];
      if (note.pitch < 0 || note.pitch > 127 || note.velocity < 1 || note.velocity > 127 || note.start_tick < 0 ||
          note.start_tick >= note.end_tick)
        return ::testing::AssertionFailure() << "bad note " << i << " pitch " << note.pitch << " vel " << note.velocity
                                             << " [" << note.start_tick << "," << note.end_tick << ")";
      if (i > 0) {
        const Note& previous = track.notes[i - 1];
        if (std::tie(previous.start_tick, previous.pitch, previous.end_tick, previous.velocity) >
            std::tie(note.start_tick, note.pitch, note.end_tick, note.velocity))
          return ::testing::AssertionFailure() << "notes " << i - 1 << " and " << i << " out of order";
      }
    }
  return ::testing::AssertionSuccess();
}

// What decode(encode(source)) must give, written from the documented rules: times snapped to the grid in
// seconds, one sounding note per key, velocities at the lower edge of their bin, all in one track.
Score expected_performance(const PerformanceSpec& spec, Score source) {
  source.update_seconds();
  struct Timed {
    int64_t start, end;
    int velocity;
  };
  std::map<int, std::vector<Timed>> by_pitch;
  for (const auto& track : source.tracks) {
    if (track.is_drum && !spec.keep_drums) continue;
    for (const auto& note : track.notes) {
      if (note.pitch < spec.min_pitch || note.pitch > spec.max_pitch) continue;
      int64_t start = static_cast<int64_t>(std::floor(note.start_sec * spec.steps_per_second + 0.5));
      int64_t end = static_cast<int64_t>(std::floor(note.end_sec * spec.steps_per_second + 0.5));
      by_pitch[note.pitch].push_back({start, std::max(end, start + 1), note.velocity});
    }
  }
  const int bin_size = spec.num_velocity_bins ? (127 + spec.num_velocity_bins - 1) / spec.num_velocity_bins : 0;
  Score expected = make_empty_score(5 * spec.steps_per_second, 120.0);
  Track track;
  track.name = "performance";
  for (auto& [pitch, notes] : by_pitch) {
    std::map<int64_t, Timed> by_start;  // same pitch and start: the longest, then the loudest
    for (const auto& note : notes) {
      auto [it, inserted] = by_start.emplace(note.start, note);
      if (!inserted && std::tie(note.end, note.velocity) > std::tie(it->second.end, it->second.velocity))
        it->second = note;
    }
    for (auto it = by_start.begin(); it != by_start.end(); ++it) {
      auto next = std::next(it);
      int64_t end = next == by_start.end() ? it->second.end : std::min(it->second.end, next->first);
      int velocity = bin_size ? 1 + (it->second.velocity - 1) / bin_size * bin_size : spec.velocity;
      track.notes.push_back({pitch, velocity, it->first * 10, end * 10});
    }
  }
  expected.tracks.push_back(track);
  expected.normalize();
  return expected;
}

void expect_same_seconds(const Score& decoded, const Score& expected, int steps_per_second) {
  ASSERT_EQ(decoded.tracks.size(), expected.tracks.size());
  for (size_t t = 0; t < decoded.tracks.size(); ++t) {
    ASSERT_EQ(decoded.tracks[t].notes.size(), expected.tracks[t].notes.size());
    for (size_t i = 0; i < decoded.tracks[t].notes.size(); ++i) {
      const Note& note = decoded.tracks[t].notes[i];
      const Note& want = expected.tracks[t].notes[i];
      EXPECT_NEAR(note.start_sec, static_cast<double>(want.start_tick / 10) / steps_per_second, 1e-6);
      EXPECT_NEAR(note.end_sec, static_cast<double>(want.end_tick / 10) / steps_per_second, 1e-6);
    }
  }
}

TEST(PerformanceEncoding, VocabularyFollowsMagentaLayout) {
  PerformanceEncoding encoding;
  const Vocabulary& vocabulary = encoding.vocabulary();
  ASSERT_EQ(vocabulary.size(), 128 + 128 + 100 + 32);
  EXPECT_EQ(vocabulary.name(0), "NOTE_ON_0");
  EXPECT_EQ(vocabulary.name(127), "NOTE_ON_127");
  EXPECT_EQ(vocabulary.name(128), "NOTE_OFF_0");
  EXPECT_EQ(vocabulary.name(256), "TIME_SHIFT_1");
  EXPECT_EQ(vocabulary.name(355), "TIME_SHIFT_100");
  EXPECT_EQ(vocabulary.name(356), "VELOCITY_1");
  EXPECT_EQ(vocabulary.name(387), "VELOCITY_32");
  EXPECT_EQ(encoding.token_pitch(vocabulary.id("NOTE_OFF_61")), 61);
  EXPECT_EQ(encoding.token_pitch(vocabulary.id("NOTE_ON_61")), 61);
  EXPECT_EQ(encoding.token_pitch(vocabulary.id("TIME_SHIFT_3")), -1);
  EXPECT_EQ(encoding.token_pitch(vocabulary.id("VELOCITY_3")), -1);

  PerformanceEncoding small(PerformanceSpec::from_json(
      {{"min_pitch", 21}, {"max_pitch", 108}, {"max_shift_steps", 50}, {"num_velocity_bins", 0}}));
  EXPECT_EQ(small.vocabulary().size(), 88 + 88 + 50);
  EXPECT_EQ(small.vocabulary().name(0), "NOTE_ON_21");
  EXPECT_EQ(small.vocabulary().name(88), "NOTE_OFF_21");
}

TEST(PerformanceEncoding, VelocityBinsFollowMagenta) {
  PerformanceSpec spec;
  EXPECT_EQ(spec.velocity_bin_size(), 4);
  EXPECT_EQ(spec.velocity_to_bin(1), 1);
  EXPECT_EQ(spec.velocity_to_bin(4), 1);
  EXPECT_EQ(spec.velocity_to_bin(5), 2);
  EXPECT_EQ(spec.velocity_to_bin(127), 32);
  EXPECT_EQ(spec.bin_to_velocity(1), 1);
  EXPECT_EQ(spec.bin_to_velocity(32), 125);
  for (int velocity = 1; velocity <= 127; ++velocity) {
    int bin = spec.velocity_to_bin(velocity);
    EXPECT_LE(spec.bin_to_velocity(bin), velocity);
    EXPECT_EQ(spec.velocity_to_bin(spec.bin_to_velocity(bin)), bin);
  }
}

TEST(PerformanceEncoding, EncodesEventsInTimeOrderWithVelocityOnlyWhenItChanges) {
  PerformanceEncoding encoding;
  Score score =
      piano_score({timed_note(60, 80, 0.0, 1.0), timed_note(64, 100, 0.5, 1.5), timed_note(67, 100, 0.5, 0.6)});
  // Velocity 80 is bin 20, 100 is bin 25. At 0.5 s both notes share bin 25: one VELOCITY token.
  EXPECT_EQ(encoding.to_text(encoding.encode(score)),
            "VELOCITY_20 NOTE_ON_60 TIME_SHIFT_50 VELOCITY_25 NOTE_ON_64 NOTE_ON_67 TIME_SHIFT_10 NOTE_OFF_67 "
            "TIME_SHIFT_40 NOTE_OFF_60 TIME_SHIFT_50 NOTE_OFF_64");
}

TEST(PerformanceEncoding, LongGapsBecomeSeveralShiftsAndLeadingSilenceIsKept) {
  PerformanceEncoding encoding;
  Score score = piano_score({timed_note(60, 64, 0.25, 2.75)});
  EXPECT_EQ(encoding.to_text(encoding.encode(score)),
            "TIME_SHIFT_25 VELOCITY_16 NOTE_ON_60 TIME_SHIFT_100 TIME_SHIFT_100 TIME_SHIFT_50 NOTE_OFF_60");
}

TEST(PerformanceEncoding, NoteOffsComeBeforeNoteOnsAtTheSameTime) {
  PerformanceEncoding encoding;
  Score score = piano_score({timed_note(60, 64, 0.0, 0.5), timed_note(60, 64, 0.5, 1.0), timed_note(55, 64, 0.5, 1.0)});
  EXPECT_EQ(encoding.to_text(encoding.encode(score)),
            "VELOCITY_16 NOTE_ON_60 TIME_SHIFT_50 NOTE_OFF_60 NOTE_ON_55 NOTE_ON_60 TIME_SHIFT_50 NOTE_OFF_55 "
            "NOTE_OFF_60");
}

TEST(PerformanceEncoding, OneKeySoundsOnceAcrossTracks) {
  // The same pitch in two tracks: doubled onsets merge (longest wins), an overlapping onset cuts the earlier note.
  Score score = make_empty_score(480, 120.0);
  score.tracks.push_back({"a", 0, false, 0, {timed_note(60, 40, 0.0, 1.0), timed_note(62, 40, 0.0, 0.3)}});
  score.tracks.push_back({"b", 0, false, 1, {timed_note(60, 90, 0.5, 0.8), timed_note(62, 90, 0.0, 0.2)}});
  score.normalize();
  PerformanceEncoding encoding;
  const auto tokens = encoding.encode(score);
  EXPECT_EQ(encoding.to_text(tokens),
            "VELOCITY_10 NOTE_ON_60 NOTE_ON_62 TIME_SHIFT_30 NOTE_OFF_62 TIME_SHIFT_20 NOTE_OFF_60 VELOCITY_23 "
            "NOTE_ON_60 TIME_SHIFT_30 NOTE_OFF_60");
  Score decoded = encoding.decode(tokens);
  EXPECT_EQ(describe_difference(decoded, expected_performance(encoding.performance_spec(), score)), "");
}

TEST(PerformanceEncoding, DrumsAndOutOfRangePitchesAreDroppedUnlessAsked) {
  Score score = make_empty_score(480, 120.0);
  score.tracks.push_back({"drums", 0, true, 9, {timed_note(36, 100, 0.0, 0.1)}});
  score.tracks.push_back({"bass", 33, false, 1, {timed_note(28, 100, 0.0, 0.1)}});
  score.normalize();
  PerformanceEncoding plain;
  EXPECT_EQ(plain.to_text(plain.encode(score)), "VELOCITY_25 NOTE_ON_28 TIME_SHIFT_10 NOTE_OFF_28");
  PerformanceEncoding with_drums(PerformanceSpec::from_json({{"keep_drums", true}}));
  EXPECT_EQ(with_drums.to_text(with_drums.encode(score)),
            "VELOCITY_25 NOTE_ON_28 NOTE_ON_36 TIME_SHIFT_10 NOTE_OFF_28 NOTE_OFF_36");
  PerformanceEncoding piano_range(PerformanceSpec::from_json({{"min_pitch", 30}, {"keep_drums", true}}));
  EXPECT_EQ(piano_range.to_text(piano_range.encode(score)), "VELOCITY_25 NOTE_ON_36 TIME_SHIFT_10 NOTE_OFF_36");
}

TEST(PerformanceEncoding, EncodesInSecondsFollowingTheTempoMap) {
  // 60 qpm from beat 1: the second quarter lasts 1 s.
  Score score = make_empty_score(480, 120.0);
  score.tempos.push_back({480, 1'000'000});
  score.tracks.push_back({"piano", 0, false, 0, {{60, 64, 480, 960}}});
  score.normalize();
  // Seconds are recomputed from ticks: stale values must not matter.
  score.tracks[0].notes[0].start_sec = 99.0;
  PerformanceEncoding encoding;
  EXPECT_EQ(encoding.to_text(encoding.encode(score)),
            "TIME_SHIFT_50 VELOCITY_16 NOTE_ON_60 TIME_SHIFT_100 NOTE_OFF_60");
}

TEST(PerformanceEncoding, DecodeRepairsAnyOrder) {
  PerformanceEncoding encoding;
  std::vector<Token> tokens = encoding.from_text(
      "NOTE_OFF_50 NOTE_ON_60 TIME_SHIFT_10 VELOCITY_20 NOTE_ON_60 TIME_SHIFT_5 NOTE_ON_62 NOTE_OFF_62 "
      "NOTE_ON_64 NOTE_ON_64 TIME_SHIFT_20 NOTE_OFF_60 NOTE_OFF_60 NOTE_ON_67");
  tokens.insert(tokens.begin() + 1, -1);
  tokens.push_back(388);
  Score decoded = encoding.decode(tokens);
  EXPECT_TRUE(satisfies_invariants(decoded));
  EXPECT_EQ(decoded.ticks_per_quarter, 500);
  EXPECT_NEAR(decoded.tempos[0].qpm(), 120.0, 1e-9);
  ASSERT_EQ(decoded.tracks.size(), 1u);
  EXPECT_EQ(decoded.tracks[0].name, "performance");
  EXPECT_EQ(decoded.tracks[0].program, 0);
  // Before any VELOCITY the default 100 passes through its bin (25 -> 97); VELOCITY_20 decodes to 77.
  // The re-struck 60 ends the first one; 62 ends in its own step and vanishes; the doubled 64 keeps the
  // second onset; the unmatched NOTE_OFFs do nothing; 67 and 64 are open at the end: 67 gets one step.
  const std::vector<Note> want = {{60, 97, 0, 100}, {60, 77, 100, 350}, {64, 77, 150, 350}, {67, 77, 350, 360}};
  EXPECT_EQ(decoded.tracks[0].notes, want);
  EXPECT_NEAR(decoded.tracks[0].notes[1].end_sec, 0.35, 1e-9);
}

TEST(PerformanceEncoding, WithoutVelocityBinsEveryNoteGetsTheVelocityOption) {
  PerformanceEncoding encoding(PerformanceSpec::from_json({{"num_velocity_bins", 0}, {"velocity", 70}}));
  Score score = piano_score({timed_note(60, 20, 0.0, 0.1), timed_note(62, 120, 0.1, 0.2)});
  const auto tokens = encoding.encode(score);
  EXPECT_EQ(encoding.to_text(tokens), "NOTE_ON_60 TIME_SHIFT_10 NOTE_OFF_60 NOTE_ON_62 TIME_SHIFT_10 NOTE_OFF_62");
  Score decoded = encoding.decode(tokens);
  for (const auto& note : decoded.tracks[0].notes) EXPECT_EQ(note.velocity, 70);
  EXPECT_EQ(describe_difference(decoded, expected_performance(encoding.performance_spec(), score)), "");
}

TEST(PerformanceEncoding, GrammarMasksOnSmallPrefixes) {
  PerformanceEncoding encoding;
  const Vocabulary& vocabulary = encoding.vocabulary();
  auto grammar = encoding.grammar();
  std::vector<uint8_t> mask;
  auto allowed_count = [&](Token first, Token last) {
    grammar->allowed(mask);
    int count = 0;
    for (Token token = first; token < last; ++token) count += mask[token];
    return count;
  };
  // Empty prefix: a velocity or a shift first; no note before its velocity, nothing to turn off.
  EXPECT_EQ(allowed_count(0, 128), 0);
  EXPECT_EQ(allowed_count(128, 256), 0);
  EXPECT_EQ(allowed_count(256, 356), 100);
  EXPECT_EQ(allowed_count(356, 388), 32);
  EXPECT_TRUE(grammar->can_end());

  grammar->push(vocabulary.id("VELOCITY_20"));
  EXPECT_EQ(allowed_count(0, 128), 128) << "after a VELOCITY only NOTE_ONs";
  EXPECT_EQ(allowed_count(128, 388), 0);
  EXPECT_FALSE(grammar->can_end());
  EXPECT_THROW_WITH(grammar->push(vocabulary.id("TIME_SHIFT_1")), Error,
                    {"token " + std::to_string(vocabulary.id("TIME_SHIFT_1")) + " (TIME_SHIFT_1)", "not allowed"});

  grammar->push(vocabulary.id("NOTE_ON_60"));
  grammar->allowed(mask);
  EXPECT_EQ(mask[vocabulary.id("NOTE_ON_60")], 0) << "no zero-length re-strike in the same step";
  EXPECT_EQ(mask[vocabulary.id("NOTE_OFF_60")], 0) << "no zero-length note";
  EXPECT_EQ(mask[vocabulary.id("NOTE_ON_61")], 1);
  EXPECT_EQ(mask[vocabulary.id("VELOCITY_20")], 0) << "the current bin again is redundant";
  EXPECT_EQ(mask[vocabulary.id("VELOCITY_21")], 1);
  EXPECT_EQ(allowed_count(128, 256), 0);
  EXPECT_FALSE(grammar->can_end());

  auto before_shift = grammar->clone();
  grammar->push(vocabulary.id("TIME_SHIFT_7"));
  grammar->allowed(mask);
  EXPECT_EQ(mask[vocabulary.id("NOTE_OFF_60")], 1);
  EXPECT_EQ(mask[vocabulary.id("NOTE_ON_60")], 1) << "a later re-strike is fine";
  EXPECT_EQ(allowed_count(128, 256), 1);
  grammar->push(vocabulary.id("NOTE_OFF_60"));
  EXPECT_TRUE(grammar->can_end());
  EXPECT_THROW_WITH(grammar->push(vocabulary.id("NOTE_OFF_60")), Error,
                    {"token " + std::to_string(vocabulary.id("NOTE_OFF_60")) + " (NOTE_OFF_60)", "not allowed"});
  EXPECT_THROW_WITH(grammar->push(-3), Error, {"token -3", "outside the vocabulary 0..387"});
  EXPECT_THROW_WITH(grammar->push(388), Error, {"token 388", "outside the vocabulary 0..387"});
  EXPECT_FALSE(before_shift->is_allowed(vocabulary.id("NOTE_OFF_60"))) << "the clone kept its own state";
}

TEST(PerformanceEncoding, GrammarNeverDeadEndsAndRejectsUnreachableBins) {
  // 100 bins of size 2: bins above 64 would decode above 127 and are never allowed.
  PerformanceEncoding encoding(
      PerformanceSpec::from_json({{"num_velocity_bins", 100}, {"min_pitch", 60}, {"max_pitch", 61}}));
  auto grammar = encoding.grammar();
  EXPECT_TRUE(grammar->is_allowed(encoding.velocity(64)));
  EXPECT_FALSE(grammar->is_allowed(encoding.velocity(65)));
  // Both pitches started in this step: a VELOCITY now could not be followed by any NOTE_ON.
  grammar->push(encoding.velocity(10));
  grammar->push(encoding.note_on(60));
  grammar->push(encoding.note_on(61));
  std::vector<uint8_t> mask;
  grammar->allowed(mask);
  EXPECT_FALSE(grammar->is_allowed(encoding.velocity(11)));
  EXPECT_TRUE(grammar->is_allowed(encoding.time_shift(1)));

  // Random walks through the mask never find it empty, and push() accepts exactly what the mask allows.
  std::mt19937 rng(5);
  PerformanceEncoding full;
  for (int walk = 0; walk < 20; ++walk) {
    auto state = full.grammar();
    for (int step = 0; step < 300; ++step) {
      state->allowed(mask);
      std::vector<Token> choices;
      for (Token token = 0; token < static_cast<Token>(mask.size()); ++token)
        if (mask[token]) choices.push_back(token);
      ASSERT_FALSE(choices.empty());
      if (step % 37 == 0) {
        for (Token token = 0; token < static_cast<Token>(mask.size()); ++token) {
          auto probe = state->clone();
          bool accepted = true;
          try {
            probe->push(token);
          } catch (const Error&) {
            accepted = false;
          }
          ASSERT_EQ(accepted, mask[token] != 0) << full.vocabulary().name(token) << " at step " << step;
        }
      }
      state->push(choices[std::uniform_int_distribution<size_t>(0, choices.size() - 1)(rng)]);
    }
  }
}

Score random_performance_source(std::mt19937& rng) {
  std::uniform_int_distribution<int> pitch(20, 100), velocity(1, 127), count(0, 40), tpq(0, 2);
  std::uniform_int_distribution<int64_t> start(0, 20000), length(1, 3000);
  const int resolutions[] = {96, 480, 1024};
  Score score = make_empty_score(resolutions[tpq(rng)], 100.0);
  score.tempos.push_back({std::uniform_int_distribution<int64_t>(1, 5000)(rng), 400000});
  for (int t = 0; t < 3; ++t) {
    Track track{"t" + std::to_string(t), 0, t == 2, t == 2 ? 9 : t, {}};
    for (int n = count(rng); n > 0; --n) {
      int64_t begin = start(rng);
      track.notes.push_back({pitch(rng), velocity(rng), begin, begin + length(rng)});
    }
    score.tracks.push_back(track);
  }
  score.normalize();
  return score;
}

TEST(PerformanceEncoding, RoundTripEqualsTheGridSnappedScore) {
  std::mt19937 rng(3);
  for (const char* text : {R"({"name": "performance"})",
                           R"({"name": "performance", "steps_per_second": 125, "max_shift_steps": 37,
                               "num_velocity_bins": 7, "min_pitch": 40, "max_pitch": 90, "keep_drums": true})"}) {
    auto encoding = make_token_encoding(nlohmann::json::parse(text));
    const auto spec = PerformanceSpec::from_json(encoding->spec());
    for (int trial = 0; trial < 200; ++trial) {
      Score source = random_performance_source(rng);
      const auto tokens = encoding->encode(source);
      Score decoded = encoding->decode(tokens);
      Score expected = expected_performance(spec, source);
      ASSERT_EQ(describe_difference(decoded, expected), "") << text << " trial " << trial;
      expect_same_seconds(decoded, expected, spec.steps_per_second);
      auto grammar = encoding->grammar();
      for (size_t i = 0; i < tokens.size(); ++i) {
        ASSERT_TRUE(grammar->is_allowed(tokens[i]))
            << "trial " << trial << " token " << i << " " << encoding->vocabulary().name(tokens[i]);
        grammar->push(tokens[i]);
      }
      EXPECT_TRUE(grammar->can_end()) << "trial " << trial;
      EXPECT_EQ(encoding->encode(decoded), tokens) << "decoded scores re-encode to the same tokens";
    }
  }
}

TEST(PerformanceEncoding, DecodesRandomGarbageIntoValidScores) {
  std::mt19937 rng(13);
  for (const char* text : {R"({"name": "performance"})",
                           R"({"name": "performance", "num_velocity_bins": 0, "min_pitch": 60, "max_pitch": 72})"}) {
    auto encoding = make_token_encoding(nlohmann::json::parse(text));
    const int size = encoding->vocabulary().size();
    std::uniform_int_distribution<int> length(0, 120), in_vocabulary(-3, size + 3), choice(0, 19);
    std::uniform_int_distribution<Token> anything(std::numeric_limits<Token>::min(), std::numeric_limits<Token>::max());
    for (int trial = 0; trial < 10000; ++trial) {
      std::vector<Token> tokens(length(rng));
      for (auto& token : tokens) token = choice(rng) == 0 ? anything(rng) : in_vocabulary(rng);
      Score decoded;
      ASSERT_NO_THROW(decoded = encoding->decode(tokens)) << encoding->to_text(tokens);
      ASSERT_TRUE(satisfies_invariants(decoded)) << encoding->to_text(tokens);
      ASSERT_EQ(decoded.tracks.size(), 1u);
      if (trial % 10 == 0) {
        EXPECT_EQ(describe_difference(encoding->decode(encoding->encode(decoded)), decoded), "")
            << encoding->to_text(tokens);
      }
    }
  }
}

TEST(PerformanceEncoding, SpecRoundTripsThroughTheRegistry) {
  nlohmann::json options = {{"name", "performance"},   {"steps_per_second", 50}, {"max_shift_steps", 25},
                            {"num_velocity_bins", 16}, {"min_pitch", 21},        {"max_pitch", 108},
                            {"keep_drums", true},      {"velocity", 80}};
  auto encoding = make_token_encoding(options);
  EXPECT_EQ(encoding->name(), "performance");
  EXPECT_EQ(encoding->spec(), options);
  auto rebuilt = make_token_encoding(encoding->spec());
  EXPECT_EQ(rebuilt->spec(), options);
  EXPECT_EQ(rebuilt->vocabulary().names(), encoding->vocabulary().names());
  auto defaults = make_token_encoding({{"name", "performance"}});
  EXPECT_EQ(defaults->vocabulary().size(), 388);
  EXPECT_EQ(defaults->spec()["steps_per_second"], 100);
  EXPECT_EQ(defaults->spec()["num_velocity_bins"], 32);
  EXPECT_EQ(make_token_encoding(defaults->spec())->spec(), defaults->spec());
}

TEST(PerformanceEncoding, BadOptionsAreErrors) {
  // Each bad spec, the option the message must name and the offending value (or the rule broken).
  struct Case {
    const char* spec;
    const char* key;
    const char* problem;
  };
  for (const Case& bad : std::initializer_list<Case>{
           {R"({"name": "performance", "velocity_bins": 32})", "'velocity_bins'", "unknown option"},
           {R"({"name": "performance", "steps_per_second": 0})", "'steps_per_second'", "= 0 is outside 1..1000"},
           {R"({"name": "performance", "steps_per_second": 100.5})", "'steps_per_second'", "integer, got 100.5"},
           {R"({"name": "performance", "max_shift_steps": 0})", "'max_shift_steps'", "= 0 is outside 1..1000"},
           {R"({"name": "performance", "num_velocity_bins": 128})", "'num_velocity_bins'", "= 128 is outside 0..127"},
           {R"({"name": "performance", "num_velocity_bins": -1})", "'num_velocity_bins'", "= -1 is outside 0..127"},
           {R"({"name": "performance", "min_pitch": 80, "max_pitch": 70})", "min_pitch 80", "above max_pitch 70"},
           {R"({"name": "performance", "keep_drums": "yes"})", "'keep_drums'", "true or false, got \"yes\""},
           {R"({"name": "performance", "velocity": 128})", "'velocity'", "= 128 is outside 1..127"},
           {R"({"name": "performance", "max_pitch": null})", "'max_pitch'", "integer, got null"}}) {
    EXPECT_THROW_WITH(make_token_encoding(nlohmann::json::parse(bad.spec)), Error,
                      {"performance encoding", bad.key, bad.problem})
        << bad.spec;
  }
}

TEST(PerformanceEncoding, TransposingTokensMatchesTransposingTheScore) {
  PerformanceEncoding encoding(PerformanceSpec::from_json({{"min_pitch", 21}, {"max_pitch", 108}}));
  Score score = make_empty_score(480, 120.0);
  score.tracks.push_back({"right", 0, false, 0, {timed_note(72, 90, 0.0, 0.5), timed_note(76, 60, 0.25, 1.0)}});
  score.tracks.push_back({"left", 0, false, 1, {timed_note(48, 70, 0.0, 1.0), timed_note(72, 50, 0.5, 0.75)}});
  score.normalize();
  const auto tokens = encoding.encode(score);
  EXPECT_EQ(encoding.transposition_range(tokens), (std::pair<int, int>{21 - 48, 108 - 76}));
  for (int semitones : {-27, -12, -1, 3, 32}) {
    auto shifted = tokens;
    ASSERT_TRUE(encoding.transpose(shifted, semitones)) << semitones;
    EXPECT_EQ(shifted, encoding.encode(transpose(score, semitones))) << semitones;
  }
  auto unchanged = tokens;
  EXPECT_FALSE(encoding.transpose(unchanged, 33));
  EXPECT_EQ(unchanged, tokens);
}

TEST(PerformanceEncoding, AbsurdlyLongScoresAreRefusedNotAllocated) {
  Score score = make_empty_score(1, 0.1);  // one tick per quarter at 0.1 qpm: ten minutes a tick
  score.tracks.push_back({"piano", 0, false, 0, {{60, 64, 0, 1}, {62, 64, int64_t{1} << 40, (int64_t{1} << 40) + 1}}});
  score.normalize();
  score.source = "far.mid";
  PerformanceEncoding encoding;
  try {
    encoding.encode(score);
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("far.mid"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace cadenza
