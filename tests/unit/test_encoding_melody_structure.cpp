// The melody encoding's `structure` option: START, METER, KEY and END tokens around the steps, the grammar's phases,
// and the step context (bar position, lookback distances) the models read; the one_key option (tunes moved to C major
// / A minor).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "encoding/encoding.h"
#include "encoding/melody.h"
#include "score/key.h"
#include "score/operations.h"
#include "score/score.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

constexpr int64_t kStep = 120;  // 480 ticks per quarter, 4 steps per quarter

MelodySpec structured_spec() {
  MelodySpec spec;
  spec.structure = true;
  return spec;
}

Score melody_in(int numerator, int denominator, std::optional<KeySignature> key, std::vector<Note> notes) {
  Score score = make_empty_score(480, 120.0, numerator, denominator);
  if (key) score.key_signatures = {*key};
  score.tracks.push_back({"lead", 0, false, 0, std::move(notes)});
  score.normalize();
  return score;
}

Note step_note(int pitch, int64_t start_step, int64_t end_step) {
  return {pitch, 90, start_step * kStep, end_step * kStep};
}

std::vector<std::string> names_of(const TokenEncoding& encoding, const std::vector<Token>& tokens) {
  std::vector<std::string> names;
  for (Token token : tokens) names.push_back(encoding.vocabulary().name(token));
  return names;
}

TEST(MelodyStructure, AddsItsTokensAfterTheNoteOnsAndKeepsThePlainIds) {
  const MelodyEncoding plain;
  const MelodyEncoding structured(structured_spec());
  ASSERT_EQ(plain.vocabulary().size(), 2 + 37);
  // START, END, 11 meters, 24 keys after the plain vocabulary, whose ids do not move.
  EXPECT_EQ(structured.vocabulary().size(), plain.vocabulary().size() + 2 + 11 + 24);
  for (Token t = 0; t < plain.vocabulary().size(); ++t)
    EXPECT_EQ(structured.vocabulary().name(t), plain.vocabulary().name(t));
  EXPECT_EQ(structured.vocabulary().name(39), "START");
  EXPECT_EQ(structured.end_token(), 40);
  EXPECT_EQ(structured.vocabulary().name(structured.meter_token(6, 8)), "METER_6_8");
  EXPECT_EQ(structured.vocabulary().name(structured.key_token(9, true)), "KEY_Am");
  EXPECT_EQ(plain.end_token(), -1);
  EXPECT_EQ(plain.position_count(), 0);
  // 6/4, 3/2 and 12/8 are the longest bars: 6 quarters of 4 steps, positions 1..24, and 0 for "not a step".
  EXPECT_EQ(structured.position_count(), 25);
}

TEST(MelodyStructure, SpecWritesTheOptionOnlyWhenSetSoOlderSpecsStayEqual) {
  EXPECT_FALSE(MelodySpec().to_json().contains("structure"));
  const nlohmann::json spec = structured_spec().to_json();
  EXPECT_EQ(spec.at("structure"), true);
  auto encoding = make_token_encoding(spec);
  EXPECT_EQ(encoding->end_token(), 40);
  EXPECT_THROW_WITH(make_token_encoding({{"name", "melody"}, {"structure", "yes"}}), Error, {"structure"});
}

TEST(MelodyStructure, EncodesStartMeterKeyStepsEndAndDecodesThemBack) {
  const MelodyEncoding encoding(structured_spec());
  // G major (one sharp), 3/4: G4 for a bar, B4 half, D5 quarter.
  const Score score =
      melody_in(3, 4, KeySignature{0, 1, false}, {step_note(67, 0, 12), step_note(71, 12, 20), step_note(74, 20, 24)});
  const auto tokens = encoding.encode(score);
  const auto names = names_of(encoding, tokens);
  ASSERT_EQ(names.size(), 3u + 24u + 1u + 1u);  // headers, 24 steps, the closing NOTE_OFF step, END
  EXPECT_EQ(names[0], "START");
  EXPECT_EQ(names[1], "METER_3_4");
  EXPECT_EQ(names[2], "KEY_G");
  EXPECT_EQ(names[3], "NOTE_ON_67");
  EXPECT_EQ(names[3 + 12], "NOTE_ON_71");
  EXPECT_EQ(names[3 + 24], "NOTE_OFF");
  EXPECT_EQ(names.back(), "END");

  const Score decoded = encoding.decode(tokens);
  ASSERT_EQ(decoded.time_signatures.size(), 1u);
  EXPECT_EQ(decoded.time_signatures[0].numerator, 3);
  EXPECT_EQ(decoded.time_signatures[0].denominator, 4);
  ASSERT_EQ(decoded.key_signatures.size(), 1u);
  EXPECT_EQ(decoded.key_signatures[0].sharps, 1);
  EXPECT_FALSE(decoded.key_signatures[0].minor);
  ASSERT_EQ(decoded.tracks.size(), 1u);
  ASSERT_EQ(decoded.tracks[0].notes.size(), 3u);
  EXPECT_EQ(decoded.tracks[0].notes[2].pitch, 74);
  // Canonical: the decoded tune encodes to the same tokens; anything after END is not part of the tune.
  EXPECT_EQ(encoding.encode(decoded), tokens);
  auto with_tail = tokens;
  with_tail.push_back(encoding.note_on(60));
  EXPECT_EQ(encoding.decode(with_tail).tracks[0].notes.size(), 3u);
}

TEST(MelodyStructure, WithoutAKeySignatureTheKeyIsEstimatedFromTheNotes) {
  const MelodyEncoding encoding(structured_spec());
  // An A natural minor line that leans on A, C and E.
  std::vector<Note> notes;
  const int line[] = {69, 72, 76, 74, 72, 71, 69, 64, 69, 72, 71, 69};
  for (int i = 0; i < 12; ++i) notes.push_back(step_note(line[i], 4 * i, 4 * i + 4));
  const auto tokens = encoding.encode(melody_in(4, 4, std::nullopt, notes));
  const Key expected = estimate_key(melody_in(4, 4, std::nullopt, notes)).value();
  EXPECT_EQ(encoding.vocabulary().name(tokens[2]),
            "KEY_" + std::string(expected.mode == ScaleMode::kMinor ? "Am" : "C"));
  EXPECT_EQ(tokens[2], encoding.key_token(expected.root, expected.mode == ScaleMode::kMinor));
}

TEST(MelodyStructure, AnEmptyTuneIsItsHeadersAndEnd) {
  const MelodyEncoding encoding(structured_spec());
  const auto tokens = encoding.encode(melody_in(4, 4, std::nullopt, {}));
  EXPECT_EQ(names_of(encoding, tokens), (std::vector<std::string>{"START", "METER_4_4", "KEY_C", "END"}));
}

TEST(MelodyStructure, UnlistedMetersTakeTheListedOneOfTheSameBarLength) {
  const MelodyEncoding encoding(structured_spec());
  EXPECT_EQ(encoding.vocabulary().name(encoding.meter_token(4, 8)), "METER_2_4");  // 2 quarters
  EXPECT_EQ(encoding.vocabulary().name(encoding.meter_token(7, 8)), "METER_4_4");  // 3.5 quarters: none, 4/4
  EXPECT_EQ(encoding.vocabulary().name(encoding.meter_token(12, 8)), "METER_12_8");
}

TEST(MelodyStructure, GrammarAsksForHeadersFirstEndsBetweenNotesAndThenOnlyPads) {
  const MelodyEncoding encoding(structured_spec());
  const Token start = 39, end = 40, meter = encoding.meter_token(4, 4), key = encoding.key_token(0, false);
  const Token c4 = encoding.note_on(60);
  auto grammar = encoding.grammar();
  std::vector<uint8_t> mask;
  grammar->allowed(mask);
  EXPECT_EQ(std::count(mask.begin(), mask.end(), 1), 1);
  EXPECT_TRUE(mask[start]);
  EXPECT_FALSE(grammar->can_end());
  EXPECT_THROW_WITH(grammar->push(c4), Error, {"comes first", "START"});
  grammar->push(start);
  grammar->allowed(mask);
  EXPECT_EQ(std::count(mask.begin(), mask.end(), 1), 11);
  EXPECT_THROW_WITH(grammar->push(key), Error, {"follows START", "METER"});
  grammar->push(meter);
  grammar->allowed(mask);
  EXPECT_EQ(std::count(mask.begin(), mask.end(), 1), 24);
  grammar->push(key);
  grammar->push(c4);
  EXPECT_FALSE(grammar->is_allowed(end)) << "a tune does not end while a note sounds";
  EXPECT_THROW_WITH(grammar->push(end), Error, {"END", "while a note sounds"});
  EXPECT_FALSE(grammar->is_allowed(start));
  EXPECT_FALSE(grammar->is_allowed(meter));
  EXPECT_THROW_WITH(grammar->push(meter), Error, {"inside the melody"});
  grammar->push(MelodyEncoding::kNoteOff);
  EXPECT_TRUE(grammar->is_allowed(end));
  // Every 16th-note onset and every pitch stay allowed: nothing is forbidden to shape the music.
  for (Token t = MelodyEncoding::kFirstNoteOn; t < start; ++t) EXPECT_TRUE(grammar->is_allowed(t));
  EXPECT_TRUE(grammar->is_allowed(MelodyEncoding::kNoEvent));
  EXPECT_FALSE(grammar->ended());
  grammar->push(end);
  EXPECT_TRUE(grammar->ended());
  EXPECT_TRUE(grammar->can_end());
  grammar->allowed(mask);
  EXPECT_EQ(std::count(mask.begin(), mask.end(), 1), 1);
  EXPECT_TRUE(mask[end]);
  EXPECT_THROW_WITH(grammar->push(c4), Error, {"follows END"});
}

TEST(MelodyStructure, ContextGivesTheBarPositionAndTheTokensOneTwoFourAndEightBarsBack) {
  const MelodyEncoding encoding(structured_spec());
  // 6/8: bars of 3 quarters = 12 steps. Ten bars of eighth notes rising by step.
  std::vector<Note> notes;
  for (int i = 0; i < 60; ++i) notes.push_back(step_note(60 + i % 7, 2 * i, 2 * i + 2));
  const auto tokens = encoding.encode(melody_in(6, 8, std::nullopt, notes));
  ASSERT_EQ(encoding.vocabulary().name(tokens[1]), "METER_6_8");
  const auto contexts = encoding.contexts(tokens);
  ASSERT_EQ(contexts.size(), tokens.size());
  // contexts[i] is about token i + 1. Before the first step (after START and METER): no position.
  EXPECT_EQ(contexts[0].position, 0);
  EXPECT_EQ(contexts[1].position, 0);
  // After KEY (i = 2), the next token is step 0: position 1; step s of the melody is token 3 + s.
  const int vocab = encoding.vocabulary().size();
  for (int s = 0; s < 120; ++s) {
    const size_t i = 2 + static_cast<size_t>(s);
    EXPECT_EQ(contexts[i].position, 1 + s % 12) << "step " << s;
    EXPECT_EQ(contexts[i].lookback_distance[0], s >= 12 ? 12 : 0) << "step " << s;
    EXPECT_EQ(contexts[i].lookback_distance[1], s >= 24 ? 24 : 0) << "step " << s;
    EXPECT_EQ(contexts[i].lookback_distance[2], s >= 48 ? 48 : 0) << "step " << s;
    EXPECT_EQ(contexts[i].lookback_distance[3], s >= 96 ? 96 : 0) << "step " << s;
    const auto values = context_values(tokens, i, contexts[i], vocab);
    EXPECT_EQ(values[0], 1 + s % 12);
    // The token one bar before step s is step s - 12, i.e. token 3 + s - 12; none before the second bar.
    EXPECT_EQ(values[1], s >= 12 ? tokens[3 + s - 12] : vocab) << "step " << s;
    EXPECT_EQ(values[2], s >= 24 ? tokens[3 + s - 24] : vocab) << "step " << s;
    EXPECT_EQ(values[3], s >= 48 ? tokens[3 + s - 48] : vocab) << "step " << s;
    EXPECT_EQ(values[4], s >= 96 ? tokens[3 + s - 96] : vocab) << "step " << s;
    // The tune's header, at every step.
    EXPECT_EQ(values[kMeterValue], tokens[1]) << "step " << s;
    EXPECT_EQ(values[kKeyValue], tokens[2]) << "step " << s;
    // The bar from the tune's start (12 steps a bar in 6/8).
    EXPECT_EQ(contexts[i].bar, s / 12) << "step " << s;
    EXPECT_EQ(values[kBarValue], s / 12) << "step " << s;
  }
  // No bar before the first step and after END; bars past the 8th phrase read as its last bar.
  EXPECT_EQ(contexts[1].bar, -1);
  EXPECT_EQ(context_values(tokens, 1, contexts[1], vocab)[kBarValue], kNoBar);
  EXPECT_EQ(contexts.back().bar, -1);
  StepContext far_bar;
  far_bar.bar = 200;
  EXPECT_EQ(context_values(tokens, 2, far_bar, vocab)[kBarValue], kNoBar - 1);
  // The header as far as it is read: after START nothing, after METER the meter, after KEY both, after END still.
  EXPECT_EQ(contexts[0].meter, -1);
  EXPECT_EQ(contexts[0].key, -1);
  EXPECT_EQ(contexts[1].meter, tokens[1]);
  EXPECT_EQ(contexts[1].key, -1);
  EXPECT_EQ(context_values(tokens, 1, contexts[1], vocab)[kKeyValue], vocab) << "a key not read yet reads as none";
  EXPECT_EQ(contexts.back().meter, tokens[1]);
  EXPECT_EQ(contexts.back().key, tokens[2]);
  EXPECT_TRUE(encoding.has_tune_header());
  // The last step is followed by END: its context (after the closing NOTE_OFF) is still a step position; after END
  // there is none.
  EXPECT_EQ(contexts.back().position, 0);
  // A plain encoding gives no context at all.
  const MelodyEncoding plain;
  for (const auto& context : plain.contexts(plain.encode(melody_in(6, 8, std::nullopt, notes)))) {
    EXPECT_EQ(context.position, 0);
    EXPECT_EQ(context.key, -1);
  }
  EXPECT_FALSE(plain.has_tune_header());
}

TEST(MelodyStructure, ATunesLengthInBarsAndTheBarsLeftAtEveryStep) {
  const MelodyEncoding encoding(structured_spec());
  // 6/8 (12 steps a bar): 9 bars and a half of eighth notes (114 steps, the closing NOTE_OFF the 115th): 10 bars.
  std::vector<Note> notes;
  for (int i = 0; i < 57; ++i) notes.push_back(step_note(60 + i % 7, 2 * i, 2 * i + 2));
  const auto tokens = encoding.encode(melody_in(6, 8, std::nullopt, notes));
  const auto contexts = encoding.contexts(tokens);
  ASSERT_EQ(tokens.size(), 3u + 115u + 1u);
  ASSERT_EQ(encoding.vocabulary().name(tokens[3 + 114]), "NOTE_OFF");
  EXPECT_EQ(encoding.tune_bar_count(tokens, contexts), 10);
  // Step s is token 3 + s, read at position 2 + s: 10 bars left in the first bar, 1 in the last (its closing NOTE_OFF
  // and the END's position mid-bar 10 too).
  for (int s = 0; s <= 115; ++s) {
    const int64_t expected = std::min<int64_t>(10 - s / 12, kBarsLeftHorizon);
    EXPECT_EQ(bars_left_value(contexts[2 + static_cast<size_t>(s)].bar, 10), expected) << "step " << s;
  }
  // Off the steps (the header) and without a length: unknown; at or past the end: 0.
  EXPECT_EQ(bars_left_value(contexts[0].bar, 10), kBarsLeftUnknown);
  EXPECT_EQ(bars_left_value(contexts[1].bar, 10), kBarsLeftUnknown);
  EXPECT_EQ(bars_left_value(3, -1), kBarsLeftUnknown);
  EXPECT_EQ(bars_left_value(10, 10), 0);
  EXPECT_EQ(bars_left_value(12, 10), 0);

  // A tune of exactly 8 bars of 3/4 (quarter notes, 96 steps): its closing NOTE_OFF falls on the 9th bar's line and
  // opens no bar; the END's position reads 0 bars left (the tune is over).
  std::vector<Note> whole;
  for (int i = 0; i < 24; ++i) whole.push_back(step_note(62 + i % 3, 4 * i, 4 * i + 4));
  const auto whole_tokens = encoding.encode(melody_in(3, 4, std::nullopt, whole));
  const auto whole_contexts = encoding.contexts(whole_tokens);
  ASSERT_EQ(whole_tokens.size(), 3u + 97u + 1u);
  EXPECT_EQ(encoding.tune_bar_count(whole_tokens, whole_contexts), 8);
  EXPECT_EQ(bars_left_value(whole_contexts[2 + 95].bar, 8), 1) << "the last step of bar 8";
  EXPECT_EQ(bars_left_value(whole_contexts[2 + 96].bar, 8), 0) << "the closing NOTE_OFF, on the line";
  EXPECT_EQ(bars_left_value(whole_contexts[2 + 97].bar, 8), 0) << "END";
  // Tokens that do not end a tune (cut before END) have no length; nor has an encoding without END.
  const std::vector<Token> cut(tokens.begin(), tokens.end() - 1);
  EXPECT_EQ(encoding.tune_bar_count(cut, encoding.contexts(cut)), -1);
  const MelodyEncoding plain(MelodySpec{});
  const auto plain_tokens = plain.encode(melody_in(6, 8, std::nullopt, notes));
  EXPECT_EQ(plain.tune_bar_count(plain_tokens, plain.contexts(plain_tokens)), -1);
}

TEST(MelodyStructure, TransposingMovesTheKeyTokenWithTheNotes) {
  const MelodyEncoding encoding(structured_spec());
  const Score score =
      melody_in(4, 4, KeySignature{0, 1, false}, {step_note(67, 0, 4), step_note(71, 4, 8), step_note(74, 8, 16)});
  const auto tokens = encoding.encode(score);
  for (int semitones : {-7, -1, 2, 5}) {
    auto shifted = tokens;
    ASSERT_TRUE(encoding.transpose(shifted, semitones)) << semitones;
    Score moved = transpose(score, semitones);
    // transpose() moves notes only; the key signature of the moved tune is the moved key.
    moved.key_signatures = {key_signature_of(Key{((7 + semitones) % 12 + 12) % 12, ScaleMode::kMajor})};
    EXPECT_EQ(names_of(encoding, shifted), names_of(encoding, encoding.encode(moved))) << semitones;
  }
  // The key token never limits how far a tune may move: only its notes do (48..84 around 67..74).
  EXPECT_EQ(encoding.transposition_range(tokens), (std::pair<int, int>{48 - 67, 84 - 74}));
}

MelodySpec one_key_spec() {
  MelodySpec spec = structured_spec();
  spec.one_key = true;
  return spec;
}

// The pitches of a decoded score's notes, in order.
std::vector<int> pitches_of(const Score& score) {
  std::vector<int> pitches;
  for (const auto& track : score.tracks)
    for (const auto& note : track.notes) pitches.push_back(note.pitch);
  return pitches;
}

TEST(MelodyOneKey, SpecWritesTheOptionOnlyWhenSetAndNeedsStructure) {
  EXPECT_FALSE(structured_spec().to_json().contains("one_key"));
  const nlohmann::json spec = one_key_spec().to_json();
  EXPECT_EQ(spec.at("one_key"), true);
  EXPECT_TRUE(MelodySpec::from_json(spec).one_key);
  EXPECT_THROW_WITH(make_token_encoding({{"name", "melody"}, {"one_key", true}}), Error,
                    {"one_key needs structure true"});
  EXPECT_THROW_WITH(make_token_encoding({{"name", "melody"}, {"structure", true}, {"one_key", 1}}), Error, {"one_key"});
}

TEST(MelodyOneKey, MovesMajorTunesToCAndMinorTunesToAByTheNearerWay) {
  const MelodyEncoding encoding(one_key_spec());
  const MelodyEncoding keeps(structured_spec());
  // {key signature, tonic's move}: G major +5 (G -> C up a fourth), D major -2, F# major -6 (a tritone goes down),
  // E minor +5 (E -> A), B minor -2, C major 0, A minor 0, Eb major (3 flats) -3.
  struct Case {
    KeySignature signature;
    int move;
    const char* key;
  };
  const Case cases[] = {{{0, 1, false}, 5, "KEY_C"}, {{0, 2, false}, -2, "KEY_C"}, {{0, 6, false}, -6, "KEY_C"},
                        {{0, 1, true}, 5, "KEY_Am"}, {{0, 2, true}, -2, "KEY_Am"}, {{0, 0, false}, 0, "KEY_C"},
                        {{0, 0, true}, 0, "KEY_Am"}, {{0, -3, false}, -3, "KEY_C"}};
  for (const Case& c : cases) {
    const Score score = melody_in(4, 4, c.signature, {step_note(64, 0, 4), step_note(67, 4, 8), step_note(71, 8, 16)});
    EXPECT_EQ(encoding.key_shift(score), c.move) << c.signature.sharps;
    EXPECT_EQ(keeps.key_shift(score), 0);
    const auto tokens = encoding.encode(score);
    const auto names = names_of(encoding, tokens);
    EXPECT_EQ(names[2], c.key) << c.signature.sharps;
    // The steps are the plain encoding's of the moved notes: the same tokens a transposed tune in C / Am gives.
    const auto kept = keeps.encode(score);
    auto moved = kept;
    ASSERT_TRUE(keeps.transpose(moved, c.move));
    EXPECT_EQ(names_of(encoding, tokens), names_of(keeps, moved)) << c.signature.sharps;
    EXPECT_EQ(pitches_of(encoding.decode(tokens)), (std::vector<int>{64 + c.move, 67 + c.move, 71 + c.move}));
  }
}

TEST(MelodyOneKey, WithoutASignatureTheEstimatedKeyIsMovedAndOctavesStillFitTheRange) {
  const MelodyEncoding encoding(one_key_spec());
  // An arpeggio of D major high up (no signature: estimated D major), moved down 2 to C: 74..86 -> 72..84 fits.
  const Score high = melody_in(4, 4, std::nullopt,
                               {step_note(74, 0, 4), step_note(78, 4, 8), step_note(81, 8, 12), step_note(86, 12, 16)});
  EXPECT_EQ(encoding.key_shift(high), -2);
  EXPECT_EQ(pitches_of(encoding.decode(encoding.encode(high))), (std::vector<int>{72, 76, 79, 84}));
  // B major at the top (83..95): moved +1 to C is 84..96, out of range, so an octave lower: 72..84.
  const Score b_major = melody_in(4, 4, KeySignature{0, 5, false}, {step_note(83, 0, 8), step_note(95, 8, 16)});
  EXPECT_EQ(encoding.key_shift(b_major), 1);
  EXPECT_EQ(pitches_of(encoding.decode(encoding.encode(b_major))), (std::vector<int>{72, 84}));
  // A span as wide as the range fits only where it lies; a move to C takes it out, and the error says so.
  const Score wide = melody_in(4, 4, KeySignature{0, 1, false}, {step_note(48, 0, 8), step_note(84, 8, 16)});
  EXPECT_THROW_WITH(encoding.encode(wide), Error, {"48..84", "moved 5 semitones to C major / A minor"});
}

TEST(MelodyOneKey, GrammarAllowsOnlyCMajorAndAMinorKeyTokens) {
  const MelodyEncoding encoding(one_key_spec());
  auto grammar = encoding.grammar();
  grammar->push(encoding.vocabulary().id("START"));
  grammar->push(encoding.meter_token(4, 4));
  std::vector<uint8_t> mask;
  grammar->allowed(mask);
  std::vector<std::string> allowed;
  for (Token t = 0; t < static_cast<Token>(mask.size()); ++t)
    if (mask[t]) allowed.push_back(encoding.vocabulary().name(t));
  EXPECT_EQ(allowed, (std::vector<std::string>{"KEY_C", "KEY_Am"}));
  auto other = grammar->clone();
  EXPECT_THROW_WITH(other->push(encoding.key_token(2, false)), Error, {"C major and A minor", "one_key"});
  grammar->push(encoding.key_token(9, true));
  EXPECT_EQ(grammar->context().key, encoding.key_token(9, true));
}

TEST(MelodyOneKey, TransposeWithKeyMovesTheSignatureBack) {
  const MelodyEncoding encoding(one_key_spec());
  // A tune in E minor comes out of the encoding in A minor; moved back by -key_shift it is the quantized original.
  const Score score =
      melody_in(6, 8, KeySignature{0, 1, true},
                {step_note(64, 0, 6), step_note(66, 6, 9), step_note(67, 9, 12), step_note(71, 12, 24)});
  const int shift = encoding.key_shift(score);
  const Score decoded = encoding.decode(encoding.encode(score));
  EXPECT_EQ(key_name(*first_key(decoded)), "Am");
  const Score back = transpose_with_key(decoded, -shift);
  EXPECT_EQ(key_name(*first_key(back)), "Em");
  EXPECT_EQ(back.key_signatures.front().sharps, 1);
  EXPECT_EQ(pitches_of(back), pitches_of(score));
  // Flats where the key has them: A minor moved up 5 is D minor (1 flat); C major moved -2 is Bb (2 flats).
  EXPECT_EQ(transpose_with_key(decoded, 5).key_signatures.front().sharps, -1);
  EXPECT_EQ(nearest_shift(0, 10), -2);
  EXPECT_EQ(nearest_shift(0, 6), -6);
  EXPECT_EQ(nearest_shift(9, 2), 5);
}

}  // namespace
}  // namespace cadenza
