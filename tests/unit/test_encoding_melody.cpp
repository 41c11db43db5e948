#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "encoding/encoding.h"
#include "encoding/melody.h"
#include "score/operations.h"
#include "score/score.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

// 480 ticks per quarter at 120 qpm; with the default 4 steps per quarter one step is 120 ticks.
constexpr int64_t kStep = 120;

Score melody_score(std::vector<Note> notes, const std::string& track_name = "lead") {
  Score score = make_empty_score(480, 120.0);
  score.tracks.push_back({track_name, 0, false, 0, std::move(notes)});
  score.normalize();
  return score;
}

Note step_note(int pitch, int64_t start_step, int64_t end_step, int velocity = 90) {
  return {pitch, velocity, start_step * kStep, end_step * kStep};
}

// The invariants of score.h, checked on decoder output.
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

// The decoder's view of a monophonic, grid-aligned, in-range melody: same steps, decode velocity, one track.
Score expected_decoded(const MelodySpec& spec, const std::vector<Note>& step_notes) {
  Score score = make_empty_score(spec.decoded_ticks_per_quarter(), spec.qpm, 4, 4);
  Track track;
  track.name = "melody";
  for (const Note& note : step_notes)
    track.notes.push_back({note.pitch, spec.velocity, note.start_tick / kStep * spec.ticks_per_step(),
                           note.end_tick / kStep * spec.ticks_per_step()});
  score.tracks.push_back(track);
  score.normalize();
  return score;
}

TEST(MelodyEncoding, VocabularyHasNoEventNoteOffAndOneNoteOnPerPitch) {
  MelodyEncoding encoding;
  const Vocabulary& vocabulary = encoding.vocabulary();
  ASSERT_EQ(vocabulary.size(), 2 + (84 - 48 + 1));
  EXPECT_EQ(vocabulary.name(0), "NO_EVENT");
  EXPECT_EQ(vocabulary.name(1), "NOTE_OFF");
  EXPECT_EQ(vocabulary.name(2), "NOTE_ON_48");
  EXPECT_EQ(vocabulary.name(vocabulary.size() - 1), "NOTE_ON_84");
  EXPECT_EQ(vocabulary.id("NOTE_ON_60"), 2 + 12);
  EXPECT_EQ(encoding.token_pitch(vocabulary.id("NOTE_ON_60")), 60);
  EXPECT_EQ(encoding.token_pitch(MelodyEncoding::kNoteOff), -1);
  EXPECT_EQ(encoding.token_pitch(MelodyEncoding::kNoEvent), -1);
  EXPECT_EQ(encoding.token_pitch(vocabulary.size()), -1);

  MelodyEncoding narrow(MelodySpec::from_json({{"min_pitch", 60}, {"max_pitch", 71}}));
  EXPECT_EQ(narrow.vocabulary().size(), 14);
  EXPECT_EQ(narrow.vocabulary().name(2), "NOTE_ON_60");
}

TEST(MelodyEncoding, EmitsOneTokenPerStepWithNoteOffOnlyBeforeRests) {
  MelodyEncoding encoding;
  // Two eighth notes joined (no NOTE_OFF between), a one-step rest, then a 16th.
  Score score = melody_score({step_note(60, 0, 2), step_note(62, 2, 4), step_note(64, 5, 6)});
  EXPECT_EQ(encoding.to_text(encoding.encode(score)),
            "NOTE_ON_60 NO_EVENT NOTE_ON_62 NO_EVENT NOTE_OFF NOTE_ON_64 NOTE_OFF");
}

TEST(MelodyEncoding, RepeatedPitchIsStruckAgainAndLeadingRestIsKept) {
  MelodyEncoding encoding;
  Score score = melody_score({step_note(67, 2, 3), step_note(67, 3, 5)});
  const auto tokens = encoding.encode(score);
  EXPECT_EQ(encoding.to_text(tokens), "NO_EVENT NO_EVENT NOTE_ON_67 NOTE_ON_67 NO_EVENT NOTE_OFF");
  Score decoded = encoding.decode(tokens);
  ASSERT_EQ(decoded.tracks.size(), 1u);
  ASSERT_EQ(decoded.tracks[0].notes.size(), 2u) << "a re-struck note must stay two notes";
  EXPECT_EQ(describe_difference(decoded, expected_decoded(encoding.melody_spec(), score.tracks[0].notes)), "");
}

TEST(MelodyEncoding, EmptyScoreEncodesToNothingAndDecodesToAnEmptyMelody) {
  MelodyEncoding encoding;
  EXPECT_TRUE(encoding.encode(make_empty_score()).empty());
  Score decoded = encoding.decode({});
  ASSERT_EQ(decoded.tracks.size(), 1u);
  EXPECT_TRUE(decoded.tracks[0].notes.empty());
  EXPECT_TRUE(satisfies_invariants(decoded));
}

TEST(MelodyEncoding, QuantizesOffGridNotes) {
  MelodyEncoding encoding;
  // 130 ticks is nearest step 1 (120); 370 is nearest step 3 (360); 500 nearest step 4.
  Score score = melody_score({{60, 80, 130, 370}, {62, 80, 370, 500}});
  EXPECT_EQ(encoding.to_text(encoding.encode(score)), "NO_EVENT NOTE_ON_60 NO_EVENT NOTE_ON_62 NOTE_OFF");
}

TEST(MelodyEncoding, PolyphonyKeepsTheHighestLineAndTrackOptionPicksATrack) {
  Score score = make_empty_score(480, 120.0);
  score.tracks.push_back({"tune", 0, false, 0, {step_note(72, 0, 4), step_note(74, 4, 8)}});
  score.tracks.push_back({"chords", 0, false, 1, {step_note(48, 0, 8), step_note(52, 0, 8), step_note(55, 0, 8)}});
  score.normalize();
  MelodyEncoding skyline;
  EXPECT_EQ(skyline.to_text(skyline.encode(score)),
            "NOTE_ON_72 NO_EVENT NO_EVENT NO_EVENT NOTE_ON_74 NO_EVENT NO_EVENT NO_EVENT NOTE_OFF");
  MelodyEncoding chords_only(MelodySpec::from_json({{"track", "chords"}}));
  // The chord's highest note (55) sounds for 8 steps.
  EXPECT_EQ(chords_only.to_text(chords_only.encode(score)),
            "NOTE_ON_55 NO_EVENT NO_EVENT NO_EVENT NO_EVENT NO_EVENT NO_EVENT NO_EVENT NOTE_OFF");
  MelodyEncoding missing(MelodySpec::from_json({{"track", "violin"}}));
  EXPECT_THROW_WITH(missing.encode(score), Error, {"no track named 'violin'", "'tune', 'chords'"});
}

TEST(MelodyEncoding, DrumTracksAreIgnored) {
  Score score = make_empty_score(480, 120.0);
  score.tracks.push_back({"drums", 0, true, 9, {step_note(80, 0, 1)}});
  score.tracks.push_back({"tune", 0, false, 0, {step_note(60, 0, 1)}});
  score.normalize();
  MelodyEncoding encoding;
  EXPECT_EQ(encoding.to_text(encoding.encode(score)), "NOTE_ON_60 NOTE_OFF");
}

TEST(MelodyEncoding, ShiftsByTheNearestWholeOctaveIntoRange) {
  MelodyEncoding encoding;
  // 30..40 needs +24 (+12 would leave 42 < 48).
  Score low = melody_score({step_note(30, 0, 1), step_note(40, 1, 2)});
  EXPECT_EQ(encoding.to_text(encoding.encode(low)), "NOTE_ON_54 NOTE_ON_64 NOTE_OFF");
  // 80..90 needs -12.
  Score high = melody_score({step_note(90, 0, 1), step_note(80, 1, 2)});
  EXPECT_EQ(encoding.to_text(encoding.encode(high)), "NOTE_ON_78 NOTE_ON_68 NOTE_OFF");
  // In range: untouched even though other octaves would fit too.
  Score fits = melody_score({step_note(60, 0, 1)});
  EXPECT_EQ(encoding.to_text(encoding.encode(fits)), "NOTE_ON_60 NOTE_OFF");
}

TEST(MelodyEncoding, MelodyThatCannotFitIsAnErrorNamingItsSpan) {
  MelodyEncoding encoding;
  Score wide = melody_score({step_note(40, 0, 1), step_note(90, 1, 2)});
  wide.source = "wide.mid";
  try {
    encoding.encode(wide);
    FAIL() << "a 51-semitone melody cannot fit 48..84";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("40..90"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("wide.mid"), std::string::npos) << error.what();
  }
  MelodyEncoding fixed(MelodySpec::from_json({{"transpose_into_range", false}}));
  Score low = melody_score({step_note(40, 0, 1)});
  EXPECT_THROW_WITH(fixed.encode(low), Error, {"spans pitches 40..40", "range 48..84", "transpose_into_range"});
  // A narrow range where the pitch classes cannot line up with any octave: 64..66 into 60..65.
  MelodyEncoding narrow(MelodySpec::from_json({{"min_pitch", 60}, {"max_pitch", 65}}));
  EXPECT_THROW_WITH(narrow.encode(melody_score({step_note(64, 0, 1), step_note(66, 1, 2)})), Error,
                    {"spans pitches 64..66", "no whole-octave shift", "range 60..65"});
}

TEST(MelodyEncoding, DecodeFollowsTheTokensAndTheDecodeOptions) {
  MelodyEncoding encoding(MelodySpec::from_json({{"qpm", 90.0}, {"velocity", 70}}));
  // NOTE_OFF with nothing sounding holds like NO_EVENT; ids outside the vocabulary are skipped entirely; the
  // last note is still sounding at the end and closes after the final step.
  std::vector<Token> tokens = encoding.from_text("NOTE_OFF NOTE_ON_60 NO_EVENT NOTE_OFF NOTE_ON_62 NOTE_ON_64");
  tokens.insert(tokens.begin() + 2, -5);
  tokens.insert(tokens.begin() + 4, 1000);
  Score decoded = encoding.decode(tokens);
  EXPECT_TRUE(satisfies_invariants(decoded));
  EXPECT_EQ(decoded.ticks_per_quarter, 480);
  ASSERT_EQ(decoded.tempos.size(), 1u);
  EXPECT_NEAR(decoded.tempos[0].qpm(), 90.0, 1e-3);
  ASSERT_EQ(decoded.time_signatures.size(), 1u);
  EXPECT_EQ(decoded.time_signatures[0].numerator, 4);
  ASSERT_EQ(decoded.tracks.size(), 1u);
  EXPECT_EQ(decoded.tracks[0].name, "melody");
  const auto& notes = decoded.tracks[0].notes;
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0], (Note{60, 70, 1 * kStep, 3 * kStep}));
  EXPECT_EQ(notes[1], (Note{62, 70, 4 * kStep, 5 * kStep}));
  EXPECT_EQ(notes[2], (Note{64, 70, 5 * kStep, 6 * kStep}));
  EXPECT_NEAR(notes[2].end_sec, 1.0, 1e-5);  // six 16ths at 90 qpm: 1.5 quarters of 2/3 s
}

TEST(MelodyEncoding, DecodedResolutionFollowsStepsPerQuarter) {
  MelodyEncoding triplets(MelodySpec::from_json({{"steps_per_quarter", 3}}));
  Score decoded = triplets.decode(triplets.from_text("NOTE_ON_60 NOTE_ON_62 NOTE_OFF"));
  EXPECT_EQ(decoded.ticks_per_quarter, 480);
  EXPECT_EQ(decoded.tracks[0].notes[1].start_tick, 160);
  MelodyEncoding sevenths(MelodySpec::from_json({{"steps_per_quarter", 7}}));
  decoded = sevenths.decode(sevenths.from_text("NOTE_ON_60 NOTE_ON_62 NOTE_OFF"));
  EXPECT_EQ(decoded.ticks_per_quarter % 7, 0);
  EXPECT_EQ(decoded.tracks[0].notes[1].start_tick * 7, decoded.ticks_per_quarter);
}

TEST(MelodyEncoding, GrammarAllowsNoteOffOnlyWhileANoteSounds) {
  MelodyEncoding encoding;
  auto grammar = encoding.grammar();
  std::vector<uint8_t> mask;
  grammar->allowed(mask);
  ASSERT_EQ(static_cast<int>(mask.size()), encoding.vocabulary().size());
  EXPECT_EQ(mask[MelodyEncoding::kNoEvent], 1);
  EXPECT_EQ(mask[MelodyEncoding::kNoteOff], 0);
  for (int pitch = 48; pitch <= 84; ++pitch) EXPECT_EQ(mask[encoding.note_on(pitch)], 1);
  EXPECT_TRUE(grammar->can_end());
  EXPECT_THROW_WITH(grammar->push(MelodyEncoding::kNoteOff), Error, {"token 1 (NOTE_OFF)", "no note sounds"});
  EXPECT_THROW_WITH(grammar->push(-1), Error, {"token -1", "outside the vocabulary 0..38"});
  EXPECT_THROW_WITH(grammar->push(encoding.vocabulary().size()), Error, {"token 39", "outside the vocabulary 0..38"});

  grammar->push(encoding.note_on(60));
  EXPECT_FALSE(grammar->can_end()) << "a sounding note must be closed before the end";
  grammar->allowed(mask);
  EXPECT_EQ(mask[MelodyEncoding::kNoteOff], 1);
  auto snapshot = grammar->clone();
  grammar->push(MelodyEncoding::kNoEvent);
  EXPECT_FALSE(grammar->can_end());
  grammar->push(MelodyEncoding::kNoteOff);
  EXPECT_TRUE(grammar->can_end());
  EXPECT_FALSE(grammar->is_allowed(MelodyEncoding::kNoteOff));
  // The clone kept the state it had.
  EXPECT_TRUE(snapshot->is_allowed(MelodyEncoding::kNoteOff));
  EXPECT_FALSE(snapshot->can_end());
}

Score random_melody_source(std::mt19937& rng) {
  // A polyphonic two-track piece, partly off the grid, with pitches that may need an octave shift.
  std::uniform_int_distribution<int> pitch(50, 80), length(30, 900), gap(0, 500), count(0, 30), velocity(1, 127);
  Score score = make_empty_score(480, 100.0);
  for (int t = 0; t < 2; ++t) {
    Track track{"track" + std::to_string(t), 0, false, t, {}};
    int64_t time = gap(rng);
    for (int n = count(rng); n > 0; --n) {
      int64_t start = time;
      track.notes.push_back({pitch(rng) - 12 * t, velocity(rng), start, start + length(rng)});
      time += gap(rng) + 40;
    }
    score.tracks.push_back(track);
  }
  score.normalize();
  return score;
}

TEST(MelodyEncoding, RoundTripEqualsTheQuantizedMonophonicMelody) {
  MelodyEncoding encoding;
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    Score source = random_melody_source(rng);
    Score melody = extract_melody(quantize(source, 4));
    // Built independently of the encoder: grid notes in steps of 120 ticks, all inside 38..80 -> either fits
    // 48..84 or moves up by one octave.
    int lowest = 127;
    for (const auto& note : melody.tracks[0].notes) lowest = std::min(lowest, note.pitch);
    const int shift = lowest < 48 ? 12 : 0;
    std::vector<Note> expected_notes;
    for (auto note : melody.tracks[0].notes) {
      ASSERT_EQ(note.start_tick % kStep, 0);
      ASSERT_EQ(note.end_tick % kStep, 0);
      note.pitch += shift;
      expected_notes.push_back(note);
    }
    bool fits = true;
    for (const auto& note : expected_notes) fits = fits && note.pitch <= 84;
    if (!fits) {
      EXPECT_THROW_WITH(encoding.encode(source), Error, {"spans pitches", "range 48..84"});
      continue;
    }
    const auto tokens = encoding.encode(source);
    Score decoded = encoding.decode(tokens);
    EXPECT_EQ(describe_difference(decoded, expected_decoded(encoding.melody_spec(), expected_notes)), "")
        << "trial " << trial;
    auto grammar = encoding.grammar();
    for (size_t i = 0; i < tokens.size(); ++i) {
      ASSERT_TRUE(grammar->is_allowed(tokens[i])) << "trial " << trial << " token " << i;
      grammar->push(tokens[i]);
    }
    EXPECT_TRUE(grammar->can_end()) << "trial " << trial;
    // Decoding is canonical: the decoded melody encodes to the same tokens.
    EXPECT_EQ(encoding.encode(decoded), tokens) << "trial " << trial;
  }
}

TEST(MelodyEncoding, DecodesRandomGarbageIntoValidScores) {
  std::mt19937 rng(11);
  for (const char* spec : {R"({"name": "melody"})", R"({"name": "melody", "min_pitch": 0, "max_pitch": 127,
                            "steps_per_quarter": 12})"}) {
    auto encoding = make_token_encoding(nlohmann::json::parse(spec));
    const int size = encoding->vocabulary().size();
    std::uniform_int_distribution<int> length(0, 80), in_vocabulary(-3, size + 3), choice(0, 19);
    std::uniform_int_distribution<Token> anything(std::numeric_limits<Token>::min(), std::numeric_limits<Token>::max());
    for (int trial = 0; trial < 10000; ++trial) {
      std::vector<Token> tokens(length(rng));
      for (auto& token : tokens) token = choice(rng) == 0 ? anything(rng) : in_vocabulary(rng);
      Score decoded;
      ASSERT_NO_THROW(decoded = encoding->decode(tokens)) << encoding->to_text(tokens);
      ASSERT_TRUE(satisfies_invariants(decoded)) << encoding->to_text(tokens);
      ASSERT_EQ(decoded.tracks.size(), 1u);
      // Decoded melodies are monophonic and re-encode to a sequence that decodes to the same score.
      const auto& notes = decoded.tracks[0].notes;
      for (size_t i = 1; i < notes.size(); ++i) ASSERT_LE(notes[i - 1].end_tick, notes[i].start_tick);
      if (trial % 10 == 0) {
        EXPECT_EQ(describe_difference(encoding->decode(encoding->encode(decoded)), decoded), "")
            << encoding->to_text(tokens);
      }
    }
  }
}

TEST(MelodyEncoding, SpecRoundTripsThroughTheRegistry) {
  nlohmann::json options = {{"name", "melody"},
                            {"steps_per_quarter", 12},
                            {"min_pitch", 36},
                            {"max_pitch", 96},
                            {"transpose_into_range", false},
                            {"qpm", 96.5},
                            {"velocity", 77},
                            {"track", "lead"}};
  auto encoding = make_token_encoding(options);
  EXPECT_EQ(encoding->name(), "melody");
  EXPECT_EQ(encoding->spec(), options);
  auto rebuilt = make_token_encoding(encoding->spec());
  EXPECT_EQ(rebuilt->spec(), encoding->spec());
  EXPECT_EQ(rebuilt->vocabulary().names(), encoding->vocabulary().names());
  // Defaults are spelled out in the spec.
  auto defaults = make_token_encoding({{"name", "melody"}});
  EXPECT_EQ(defaults->spec()["steps_per_quarter"], 4);
  EXPECT_EQ(defaults->spec()["min_pitch"], 48);
  EXPECT_EQ(defaults->spec()["max_pitch"], 84);
  EXPECT_EQ(defaults->spec()["transpose_into_range"], true);
  EXPECT_EQ(make_token_encoding(defaults->spec())->vocabulary().size(), 39);
}

TEST(MelodyEncoding, BadOptionsAreErrors) {
  // Each bad spec, the option the message must name and the offending value (or the rule broken).
  struct Case {
    const char* spec;
    const char* key;
    const char* problem;
  };
  for (const Case& bad : std::initializer_list<Case>{
           {R"({"name": "melody", "steps": 4})", "'steps'", "unknown option"},
           {R"({"name": "melody", "steps_per_quarter": 0})", "'steps_per_quarter'", "= 0 is outside 1..480"},
           {R"({"name": "melody", "steps_per_quarter": 4.5})", "'steps_per_quarter'", "integer, got 4.5"},
           {R"({"name": "melody", "min_pitch": -1})", "'min_pitch'", "= -1 is outside 0..127"},
           {R"({"name": "melody", "max_pitch": 128})", "'max_pitch'", "= 128 is outside 0..127"},
           {R"({"name": "melody", "min_pitch": 70, "max_pitch": 60})", "min_pitch 70", "above max_pitch 60"},
           {R"({"name": "melody", "transpose_into_range": 1})", "'transpose_into_range'", "true or false, got 1"},
           {R"({"name": "melody", "qpm": 0})", "'qpm'", "= 0 is outside 1..1000"},
           {R"({"name": "melody", "qpm": "fast"})", "'qpm'", "number, got \"fast\""},
           {R"({"name": "melody", "velocity": 0})", "'velocity'", "= 0 is outside 1..127"},
           {R"({"name": "melody", "track": 3})", "'track'", "string, got 3"},
           {R"({"name": "melody", "steps_per_quarter": 99999999999999999999})", "'steps_per_quarter'",
            "must be an integer, got 1e+20"}}) {
    EXPECT_THROW_WITH(make_token_encoding(nlohmann::json::parse(bad.spec)), Error,
                      {"melody encoding", bad.key, bad.problem})
        << bad.spec;
  }
}

TEST(MelodyEncoding, TransposingTokensMatchesTransposingTheScore) {
  MelodyEncoding encoding;
  Score score = melody_score({step_note(60, 0, 2), step_note(64, 2, 3), step_note(67, 4, 8), step_note(55, 8, 9)});
  const auto tokens = encoding.encode(score);
  EXPECT_EQ(encoding.transposition_range(tokens), (std::pair<int, int>{48 - 55, 84 - 67}));
  for (int semitones : {-7, -1, 1, 5, 17}) {
    auto shifted = tokens;
    ASSERT_TRUE(encoding.transpose(shifted, semitones)) << semitones;
    EXPECT_EQ(shifted, encoding.encode(transpose(score, semitones))) << semitones;
  }
  auto unchanged = tokens;
  EXPECT_FALSE(encoding.transpose(unchanged, 18));  // 67 + 18 = 85 > 84
  EXPECT_EQ(unchanged, tokens);
  EXPECT_EQ(encoding.with_pitch(encoding.note_on(60), 85), -1);
  EXPECT_EQ(encoding.with_pitch(MelodyEncoding::kNoteOff, 60), -1);
}

}  // namespace
}  // namespace cadenza
