// Chords (score/chords.h): chord symbols and progressions parsed from text (good ones give the right pitch classes,
// bad ones a message naming the symbol and its position), masks read from a chord track on the grid, transposition,
// the chord track written for generated pieces, the chord-tone count, and the key of a progression (the final-chord
// rule beside plain Krumhansl-Schmuckler).
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "common/error.h"
#include "score/chords.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

uint16_t mask_of(std::initializer_list<int> pitch_classes) {
  uint16_t mask = 0;
  for (int p : pitch_classes) mask |= static_cast<uint16_t>(1u << p);
  return mask;
}

TEST(ChordSymbols, RootsAccidentalsQualitiesAndSlashBass) {
  EXPECT_EQ(parse_chord_symbol("C").mask, mask_of({0, 4, 7}));
  EXPECT_EQ(parse_chord_symbol("Cmaj").mask, mask_of({0, 4, 7}));
  EXPECT_EQ(parse_chord_symbol("Am").mask, mask_of({9, 0, 4}));
  EXPECT_EQ(parse_chord_symbol("G7").mask, mask_of({7, 11, 2, 5}));
  EXPECT_EQ(parse_chord_symbol("Dm7").mask, mask_of({2, 5, 9, 0}));
  EXPECT_EQ(parse_chord_symbol("Fmaj7").mask, mask_of({5, 9, 0, 4}));
  EXPECT_EQ(parse_chord_symbol("Bdim").mask, mask_of({11, 2, 5}));
  EXPECT_EQ(parse_chord_symbol("Caug").mask, mask_of({0, 4, 8}));
  EXPECT_EQ(parse_chord_symbol("Dsus4").mask, mask_of({2, 7, 9}));
  EXPECT_EQ(parse_chord_symbol("F#m").mask, mask_of({6, 9, 1}));
  EXPECT_EQ(parse_chord_symbol("Bb").mask, mask_of({10, 2, 5}));
  EXPECT_EQ(parse_chord_symbol("Cb").root, 11);
  const ChordSymbol slash = parse_chord_symbol("C/E");
  EXPECT_EQ(slash.bass, 4);
  EXPECT_EQ(slash.mask, mask_of({0, 4, 7}));
  EXPECT_EQ(parse_chord_symbol("Am/G").mask, mask_of({9, 0, 4, 7}));  // the bass joins the chord
  EXPECT_EQ(parse_chord_symbol("D7/F#").bass, 6);
}

TEST(ChordSymbols, BadSymbolsNameTheSymbolAndTheProblem) {
  EXPECT_THROW_WITH(parse_chord_symbol("H7"), Error, {"chord symbol 'H7'", "root A..G"});
  EXPECT_THROW_WITH(parse_chord_symbol("Cxyz"), Error, {"'Cxyz'", "unknown quality 'xyz'", "maj7", "sus4"});
  EXPECT_THROW_WITH(parse_chord_symbol("C/"), Error, {"'C/'", "bass after '/'"});
  EXPECT_THROW_WITH(parse_chord_symbol("C/Q"), Error, {"'C/Q'", "bass after '/'", "'Q'"});
  EXPECT_THROW_WITH(parse_chord_symbol("c"), Error, {"'c'", "root A..G"});
}

TEST(ChordProgressions, BarsAndChordsPerBar) {
  const auto bars = parse_chord_progression("C | G7 | Am F/C | Bdim");
  ASSERT_EQ(bars.size(), 4u);
  EXPECT_EQ(bars[2].size(), 2u);
  EXPECT_EQ(bars[2][1].text, "F/C");
  EXPECT_EQ(parse_chord_progression("| C | G |").size(), 2u);  // framing bars lines add no empty bar
  // Steps: a bar of 4 steps, two chords in bar 2 split it evenly, past the end nothing.
  const auto steps = progression_step_masks(parse_chord_progression("C | Am G"), 4);
  ASSERT_EQ(steps.size(), 8u);
  EXPECT_EQ(steps[0], mask_of({0, 4, 7}));
  EXPECT_EQ(steps[3], mask_of({0, 4, 7}));
  EXPECT_EQ(steps[4], mask_of({9, 0, 4}));
  EXPECT_EQ(steps[5], mask_of({9, 0, 4}));
  EXPECT_EQ(steps[6], mask_of({7, 11, 2}));
}

TEST(ChordProgressions, BadSymbolIsNamedWithItsBarAndPosition) {
  EXPECT_THROW_WITH(parse_chord_progression("C | G7 | Am Xm | F"), Error,
                    {"chord symbol 'Xm'", "bar 3, chord 2", "root A..G"});
  EXPECT_THROW_WITH(parse_chord_progression("C | Gfoo"), Error, {"'Gfoo'", "bar 2, chord 1", "unknown quality 'foo'"});
  EXPECT_THROW_WITH(parse_chord_progression("C || F"), Error, {"bar 2 is empty"});
  EXPECT_THROW_WITH(parse_chord_progression("   "), Error, {"bar 1 is empty"});
}

TEST(ChordMasks, TranspositionRotatesThePitchClasses) {
  EXPECT_EQ(transpose_chord_mask(mask_of({0, 4, 7}), 2), mask_of({2, 6, 9}));
  EXPECT_EQ(transpose_chord_mask(mask_of({0, 4, 7}), -1), mask_of({11, 3, 6}));
  EXPECT_EQ(transpose_chord_mask(mask_of({11}), 13), mask_of({0}));
  EXPECT_EQ(transpose_chord_mask(0, 5), 0);
  EXPECT_EQ(chord_mask_text(mask_of({0, 4, 7})), "C E G");
  EXPECT_EQ(chord_mask_text(0), "none");
}

Score two_track_score() {
  Score score = make_empty_score(480);
  Track melody, chords;
  melody.name = "melody";
  chords.name = "chords";
  // C major for a bar (steps 0..15 at 4 per quarter), then G major for a bar, then nothing.
  for (int pitch : {48, 52, 55}) chords.notes.push_back({pitch, 80, 0, 1920});
  for (int pitch : {43, 47, 50}) chords.notes.push_back({pitch, 80, 1920 + 5, 3840});  // a little late: quantized
  // Melody: E on beat 1 (chord tone), F on the "and" (not), G on beat 2 of bar 2 (tone), C# on beat 3 of bar 2
  // (not), and a note after the chords end (not counted).
  melody.notes = {
      {64, 90, 0, 240}, {65, 90, 240, 480}, {67, 90, 2400, 2880}, {61, 90, 2880, 3360}, {60, 90, 4000, 4400}};
  score.tracks = {melody, chords};
  score.normalize();
  return score;
}

TEST(ChordMasks, ReadFromATrackOnTheGrid) {
  const Score score = two_track_score();
  const auto masks = chord_masks_at_steps(score, 1, 4, 40);
  ASSERT_EQ(masks.size(), 40u);
  EXPECT_EQ(masks[0], mask_of({0, 4, 7}));
  EXPECT_EQ(masks[15], mask_of({0, 4, 7}));
  EXPECT_EQ(masks[16], mask_of({7, 11, 2}));
  EXPECT_EQ(masks[31], mask_of({7, 11, 2}));
  EXPECT_EQ(masks[32], 0);
  EXPECT_THROW_WITH(chord_masks_at_steps(score, 2, 4, 4), Error, {"no chord track 2", "has 2 tracks"});
}

TEST(ChordMasks, ChordToneCountOverallAndOnBeats) {
  const ChordToneCount count = count_chord_tones(two_track_score(), 0, 1, 4);
  EXPECT_EQ(count.notes, 4);  // the last note sounds over no chord
  EXPECT_EQ(count.chord_tones, 2);
  EXPECT_EQ(count.beat_notes, 3);  // the F on the "and" is off the beat
  EXPECT_EQ(count.beat_chord_tones, 2);
  EXPECT_THROW_WITH(count_chord_tones(two_track_score(), 3, 1, 4), Error, {"no melody track 3"});
}

TEST(ChordMasks, ChordTrackHoldsEachChordAsABlock) {
  Score score = make_empty_score(480);
  add_chord_track(score, progression_step_masks(parse_chord_progression("C | C G7"), 4), 120);
  ASSERT_EQ(score.tracks.size(), 1u);
  const Track& track = score.tracks[0];
  EXPECT_EQ(track.name, "chords");
  // C held for 6 steps (bar 1 and the first half of bar 2: one block), then G7 for 2 steps.
  ASSERT_EQ(track.notes.size(), 7u);
  int c_notes = 0, g_notes = 0;
  for (const Note& note : track.notes) {
    EXPECT_GE(note.pitch, 48);
    EXPECT_LE(note.pitch, 59);
    if (note.start_tick == 0) {
      EXPECT_EQ(note.end_tick, 720);
      ++c_notes;
    } else {
      EXPECT_EQ(note.start_tick, 720);
      EXPECT_EQ(note.end_tick, 960);
      ++g_notes;
    }
  }
  EXPECT_EQ(c_notes, 3);
  EXPECT_EQ(g_notes, 4);
}

// The pitch-class histogram the progression's key is found from: grid steps per pitch class.
std::array<double, 12> step_histogram(const std::vector<uint16_t>& masks) {
  std::array<double, 12> histogram{};
  for (uint16_t mask : masks)
    for (int pc = 0; pc < 12; ++pc)
      if (mask & (1u << pc)) histogram[static_cast<size_t>(pc)] += 1.0;
  return histogram;
}

std::vector<uint16_t> steps_of(const std::string& progression) {
  return progression_step_masks(parse_chord_progression(progression), 16);
}

TEST(ChordProgressionKey, TheLastChordWinsAKeyThePitchClassesNearlyChose) {
  // Tonic and dominant in turn: the pitch classes alone say D major (F# and A weigh on D's profile), the final G
  // says G major.
  const std::vector<uint16_t> tonic_dominant = steps_of("G | D | G | D | G | D7 | G");
  EXPECT_EQ(estimate_key(step_histogram(tonic_dominant)), (Key{2, ScaleMode::kMajor}));
  EXPECT_EQ(chord_progression_key(tonic_dominant), (Key{7, ScaleMode::kMajor}));
  // D dorian-ish minor: A minor by a hair (0.803 against 0.799), D minor by its last chord.
  const std::vector<uint16_t> minor = steps_of("Dm | C | Dm | Am | Dm");
  EXPECT_EQ(estimate_key(step_histogram(minor)), (Key{9, ScaleMode::kMinor}));
  EXPECT_EQ(chord_progression_key(minor), (Key{2, ScaleMode::kMinor}));
  // Steps without a chord after the last one do not hide it.
  std::vector<uint16_t> padded = tonic_dominant;
  padded.resize(padded.size() + 32, 0);
  EXPECT_EQ(chord_progression_key(padded), (Key{7, ScaleMode::kMajor}));
}

TEST(ChordProgressionKey, AFarLastChordOrOneThatIsNoTriadLeavesThePitchClassesKey) {
  // Ending on D over a progression in C: D major correlates far less than C major, by more than the bonus.
  const std::vector<uint16_t> c_major = steps_of("C | F | G | C | F G | D");
  const std::array<double, 12> histogram = step_histogram(c_major);
  EXPECT_LT(key_correlation(histogram, Key{2, ScaleMode::kMajor}) + kFinalChordKeyBonus,
            key_correlation(histogram, Key{0, ScaleMode::kMajor}));
  EXPECT_EQ(chord_progression_key(c_major), (Key{0, ScaleMode::kMajor}));
  // A seventh chord is not a triad: "G | D | G | D | G | D7" ends on D7 and keeps the pitch classes' D major;
  // so does a final G7 over tonic-dominant in G.
  EXPECT_EQ(chord_progression_key(steps_of("G | D | G | D | G | D7")), (Key{2, ScaleMode::kMajor}));
  EXPECT_EQ(chord_progression_key(steps_of("G | D | G | D | G | D7 | G7")),
            estimate_key(step_histogram(steps_of("G | D | G | D | G | D7 | G7"))));
  EXPECT_FALSE(chord_progression_key(std::vector<uint16_t>(64, 0)).has_value());
  EXPECT_FALSE(chord_progression_key({}).has_value());
}

TEST(ChordProgressionKey, KeyCorrelationIsWhatEstimateKeyMaximises) {
  const std::array<double, 12> histogram = step_histogram(steps_of("Am | E | Am | Dm E | Am"));
  const std::optional<Key> best = estimate_key(histogram);
  ASSERT_TRUE(best.has_value());
  for (ScaleMode mode : {ScaleMode::kMajor, ScaleMode::kMinor})
    for (int root = 0; root < 12; ++root)
      EXPECT_LE(key_correlation(histogram, Key{root, mode}), key_correlation(histogram, *best)) << root;
  // A histogram equal to the C major profile correlates 1 with C major.
  const std::array<double, 12> profile = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
  EXPECT_NEAR(key_correlation(profile, Key{0, ScaleMode::kMajor}), 1.0, 1e-12);
  EXPECT_EQ(key_correlation(std::array<double, 12>{}, Key{0, ScaleMode::kMajor}), 0.0);
}

}  // namespace
}  // namespace cadenza
