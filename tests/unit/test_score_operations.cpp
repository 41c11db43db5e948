#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "common/error.h"
#include "score/operations.h"
#include "score/score.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

Score make_score(std::vector<Track> tracks, int ticks_per_quarter = 480) {
  Score score = make_empty_score(ticks_per_quarter, 120.0);
  score.tracks = std::move(tracks);
  score.normalize();
  return score;
}

Track make_track(std::string name, std::vector<Note> notes, bool is_drum = false, int program = 0, int channel = 0) {
  return {std::move(name), program, is_drum, channel, std::move(notes)};
}

bool notes_sorted(const std::vector<Note>& notes) {
  return std::is_sorted(notes.begin(), notes.end(), [](const Note& a, const Note& b) {
    if (a.start_tick != b.start_tick) return a.start_tick < b.start_tick;
    if (a.pitch != b.pitch) return a.pitch < b.pitch;
    if (a.end_tick != b.end_tick) return a.end_tick < b.end_tick;
    return a.velocity < b.velocity;
  });
}

// A reproducible polyphonic score: a few tracks of random notes, some overlapping, some long.
Score random_score(unsigned seed, int tracks, int notes_per_track, int64_t span) {
  std::mt19937 random(seed);
  std::vector<Track> list;
  for (int t = 0; t < tracks; ++t) {
    Track track = make_track("t" + std::to_string(t), {}, false, t, t);
    for (int i = 0; i < notes_per_track; ++i) {
      int64_t start = std::uniform_int_distribution<int64_t>(0, span)(random);
      int64_t length = std::uniform_int_distribution<int64_t>(1, 3000)(random);
      track.notes.push_back({std::uniform_int_distribution<int>(30, 90)(random),
                             std::uniform_int_distribution<int>(1, 127)(random), start, start + length});
    }
    list.push_back(std::move(track));
  }
  return make_score(std::move(list));
}

// ---- transpose ------------------------------------------------------------------------------------------------

TEST(ScoreTranspose, ShiftsPitchedNotesAndLeavesDrums) {
  Score score = make_score({make_track("piano", {{60, 80, 0, 480}, {72, 80, 480, 960}}),
                            make_track("drums", {{36, 100, 0, 120}}, true, 0, 9)});
  Score up = transpose(score, 5);
  EXPECT_EQ(up.tracks[0].notes[0].pitch, 65);
  EXPECT_EQ(up.tracks[0].notes[1].pitch, 77);
  EXPECT_EQ(up.tracks[1].notes[0].pitch, 36);
  Score back = transpose(up, -5);
  EXPECT_EQ(describe_difference(back, score), "");
}

TEST(ScoreTranspose, OutOfRangeNamesThePitch) {
  Score score = make_score({make_track("piano", {{60, 80, 0, 480}, {125, 80, 480, 960}})});
  try {
    transpose(score, 4);
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    std::string message = error.what();
    EXPECT_NE(message.find("125"), std::string::npos) << message;
    EXPECT_NE(message.find("129"), std::string::npos) << message;
    EXPECT_NE(message.find("piano"), std::string::npos) << message;
  }
  EXPECT_THROW_WITH(transpose(score, -61), Error, {"transpose by -61", "pitch 60", "track 'piano'", "become -1"});
  EXPECT_NO_THROW(transpose(score, 2));
}

TEST(ScoreTranspose, RangeFollowsExtremePitchesAndIgnoresDrums) {
  Score score = make_score({make_track("piano", {{40, 80, 0, 480}, {80, 80, 0, 480}}),
                            make_track("drums", {{0, 100, 0, 120}, {127, 100, 0, 120}}, true, 0, 9)});
  auto range = transpose_range(score, 21, 108);
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->lowest, -19);
  EXPECT_EQ(range->highest, 28);
  auto full = transpose_range(score);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->lowest, -40);
  EXPECT_EQ(full->highest, 47);
  EXPECT_FALSE(transpose_range(score, 50, 70).has_value());  // the piece spans more than the window
  // Every shift in the range is accepted by transpose().
  EXPECT_NO_THROW(transpose(score, full->lowest));
  EXPECT_NO_THROW(transpose(score, full->highest));
  EXPECT_THROW_WITH(transpose(score, full->highest + 1), Error,
                    {"transpose by 48", "pitch 80", "track 'piano'", "become 128", "outside 0..127"});
}

TEST(ScoreTranspose, RangeOfScoreWithoutPitchedNotesIsIdentity) {
  auto range = transpose_range(make_score({make_track("drums", {{36, 100, 0, 120}}, true, 0, 9)}));
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->lowest, 0);
  EXPECT_EQ(range->highest, 0);
}

// ---- clip -----------------------------------------------------------------------------------------------------

TEST(ScoreClip, CutsOverlappingNotesAndShiftsThem) {
  Score score = make_score({make_track("piano", {{60, 80, 0, 480},          // ends at the window start: out
                                                 {62, 80, 240, 1200},       // starts before: cut to 0
                                                 {64, 80, 960, 1440},       // inside
                                                 {65, 80, 1800, 2400},      // runs past the end: cut
                                                 {67, 80, 1920, 2000}})});  // starts at the end: out
  Score clipped = clip(score, 480, 1920);
  const auto& notes = clipped.tracks[0].notes;
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0], (Note{62, 80, 0, 720}));
  EXPECT_EQ(notes[1], (Note{64, 80, 480, 960}));
  EXPECT_EQ(notes[2], (Note{65, 80, 1320, 1440}));
  EXPECT_DOUBLE_EQ(notes[1].start_sec, 0.5);
  EXPECT_TRUE(notes_sorted(notes));
}

TEST(ScoreClip, MovesMetaInForceToZeroAndShiftsInnerEvents) {
  Score score = make_score({make_track("piano", {{60, 80, 0, 4000}})});
  score.tempos = {{0, 500000}, {500, 400000}, {1000, 300000}, {2000, 250000}};
  score.time_signatures = {{0, 4, 4}, {960, 3, 4}};
  score.key_signatures = {{1200, 2, false}};  // nothing in force at the window start
  score.normalize();
  Score clipped = clip(score, 700, 2000);
  ASSERT_EQ(clipped.tempos.size(), 2u);
  EXPECT_EQ(clipped.tempos[0], (TempoChange{0, 400000}));
  EXPECT_EQ(clipped.tempos[1], (TempoChange{300, 300000}));  // the change at 2000 is at the window end: out
  ASSERT_EQ(clipped.time_signatures.size(), 2u);
  EXPECT_EQ(clipped.time_signatures[0], (TimeSignature{0, 4, 4}));
  EXPECT_EQ(clipped.time_signatures[1], (TimeSignature{260, 3, 4}));
  ASSERT_EQ(clipped.key_signatures.size(), 1u);
  EXPECT_EQ(clipped.key_signatures[0], (KeySignature{500, 2, false}));
  // An event exactly at the window start is the one in force.
  Score at_change = clip(score, 1000, 1500);
  ASSERT_EQ(at_change.tempos.size(), 1u);
  EXPECT_EQ(at_change.tempos[0], (TempoChange{0, 300000}));
}

TEST(ScoreClip, RejectsInvalidWindowsAndAllowsEmptyOnes) {
  Score score = make_score({make_track("piano", {{60, 80, 0, 480}})});
  EXPECT_THROW_WITH(clip(score, -1, 10), Error, {"clip", "invalid window [-1, 10)"});
  EXPECT_THROW_WITH(clip(score, 100, 50), Error, {"clip", "invalid window [100, 50)"});
  Score empty = clip(score, 100, 100);
  EXPECT_EQ(empty.note_count(), 0u);
  ASSERT_EQ(empty.tracks.size(), 1u);
  EXPECT_EQ(empty.tracks[0].name, "piano");
}

TEST(ScoreClip, UnsortedInputIsClippedCorrectly) {
  // Breaks the sorted-notes invariant on purpose: the sweep must not skip the late-listed early note.
  Score score = make_empty_score(480, 120.0);
  score.tracks.push_back(make_track("piano", {{67, 80, 2000, 2400}, {64, 80, 960, 1440}, {60, 80, 0, 1200}}));
  Score clipped = clip(score, 480, 1920);
  ASSERT_EQ(clipped.tracks[0].notes.size(), 2u);
  EXPECT_EQ(clipped.tracks[0].notes[0], (Note{60, 80, 0, 720}));
  EXPECT_EQ(clipped.tracks[0].notes[1], (Note{64, 80, 480, 960}));
}

// ---- bars -----------------------------------------------------------------------------------------------------

TEST(ScoreBars, FollowTheTimeSignatureMapAndCoverTheScore) {
  Score score = make_score({make_track("piano", {{60, 80, 0, 5000}})});
  score.time_signatures = {{0, 4, 4}, {3840, 3, 4}};
  score.normalize();
  auto list = bars(score);
  // Two bars of 4/4 (1920 each), then 3/4 bars of 1440 from 3840 until 5000 is covered.
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].start_tick, 0);
  EXPECT_EQ(list[1].end_tick, 3840);
  EXPECT_EQ(list[2].start_tick, 3840);
  EXPECT_EQ(list[2].end_tick, 5280);
  EXPECT_EQ(list[2].numerator, 3);
  EXPECT_GE(list.back().end_tick, score.end_tick());
  for (size_t i = 1; i < list.size(); ++i) EXPECT_EQ(list[i].start_tick, list[i - 1].end_tick);
}

TEST(ScoreBars, ChangeMidBarStartsANewBar) {
  Score score = make_score({make_track("piano", {{60, 80, 0, 3000}})});
  score.time_signatures = {{0, 4, 4}, {2400, 6, 8}};  // 480 ticks into the second 4/4 bar
  score.normalize();
  auto list = bars(score);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[1].start_tick, 1920);
  EXPECT_EQ(list[1].end_tick, 2400);  // cut short by the change
  EXPECT_EQ(list[1].numerator, 4);
  EXPECT_EQ(list[2].start_tick, 2400);
  EXPECT_EQ(list[2].end_tick, 2400 + 1440);  // 6/8 = 6 * 4 * 480 / 8
  EXPECT_EQ(list[2].denominator, 8);
}

TEST(ScoreBars, EmptyScoreHasNoBarsAndATinyScoreHasOne) {
  EXPECT_TRUE(bars(make_empty_score()).empty());
  EXPECT_TRUE(split_into_bars(make_empty_score()).empty());
  auto list = bars(make_score({make_track("piano", {{60, 80, 0, 1}})}));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].end_tick, 1920);
}

TEST(ScoreBars, FractionalBarLengthDoesNotDrift) {
  // 5 ticks per quarter in 3/8: a bar is 7.5 ticks; bar 10 must start at exactly 75.
  Score score = make_score({make_track("piano", {{60, 80, 0, 80}})}, 5);
  score.time_signatures = {{0, 3, 8}};
  score.normalize();
  auto list = bars(score);
  ASSERT_EQ(list.size(), 11u);
  EXPECT_EQ(list[10].start_tick, 75);
  EXPECT_EQ(list[1].start_tick, 7);
  EXPECT_EQ(list[2].start_tick, 15);
}

TEST(ScoreBars, SplitMatchesClipOfEachBarAndKeepsEveryTick) {
  Score score = random_score(7, 3, 150, 20000);
  score.time_signatures = {{0, 4, 4}, {5000, 3, 4}, {9000, 7, 8}};
  score.tempos = {{0, 500000}, {7000, 600000}};
  score.key_signatures = {{0, 1, false}, {12000, -3, true}};
  score.normalize();
  auto list = bars(score);
  auto pieces = split_into_bars(score);
  ASSERT_EQ(pieces.size(), list.size());
  int64_t total_ticks_in = 0, total_ticks_out = 0;
  for (const auto& track : score.tracks)
    for (const auto& note : track.notes) total_ticks_in += note.duration_ticks();
  for (size_t b = 0; b < list.size(); ++b) {
    Score expected = clip(score, list[b].start_tick, list[b].end_tick);
    EXPECT_EQ(describe_difference(pieces[b], expected), "") << "bar " << b;
    for (const auto& track : pieces[b].tracks) {
      EXPECT_TRUE(notes_sorted(track.notes));
      for (const auto& note : track.notes) {
        total_ticks_out += note.duration_ticks();
        EXPECT_LE(note.end_tick, list[b].end_tick - list[b].start_tick);
      }
    }
  }
  EXPECT_EQ(total_ticks_out, total_ticks_in);  // every sounding tick lands in exactly one bar
}

// ---- tracks ---------------------------------------------------------------------------------------------------

TEST(ScoreTracks, MergeAllMakesOneSortedTrack) {
  Score score = make_score({make_track("melody", {{72, 80, 0, 480}, {74, 80, 480, 960}}, false, 73, 0),
                            make_track("chords", {{60, 70, 0, 960}, {72, 80, 0, 480}}, false, 0, 1)});
  Score merged = merge_tracks(score);
  ASSERT_EQ(merged.tracks.size(), 1u);
  EXPECT_EQ(merged.tracks[0].name, "melody");
  EXPECT_EQ(merged.tracks[0].program, 73);
  // The unison 72 in both tracks is one note after merging.
  ASSERT_EQ(merged.tracks[0].notes.size(), 3u);
  EXPECT_TRUE(notes_sorted(merged.tracks[0].notes));
  EXPECT_EQ(merged.tracks[0].notes[0].pitch, 60);
}

TEST(ScoreTracks, MergeListedKeepsTheOthers) {
  Score score = make_score({make_track("a", {{60, 80, 0, 480}}), make_track("b", {{62, 80, 0, 480}}, false, 0, 1),
                            make_track("c", {{64, 80, 0, 480}}, false, 0, 2)});
  Score merged = merge_tracks(score, {2, 0});
  ASSERT_EQ(merged.tracks.size(), 2u);
  EXPECT_EQ(merged.tracks[0].name, "b");
  EXPECT_EQ(merged.tracks[1].name, "c");  // header of the first listed, at its place
  EXPECT_EQ(merged.tracks[1].notes.size(), 2u);
  EXPECT_THROW_WITH(merge_tracks(score, {0, 3}), Error, {"merge_tracks", "track index 3 out of range", "has 3 tracks"});
  EXPECT_THROW_WITH(merge_tracks(score, {1, 1}), Error, {"merge_tracks", "track index 1 listed twice"});
}

TEST(ScoreTracks, SelectKeepsOrderAndRejectsBadIndices) {
  Score score = make_score({make_track("a", {{60, 80, 0, 480}}), make_track("b", {{62, 80, 0, 480}})});
  Score selected = select_tracks(score, {1, 0});
  ASSERT_EQ(selected.tracks.size(), 2u);
  EXPECT_EQ(selected.tracks[0].name, "b");
  EXPECT_EQ(selected.tracks[1].name, "a");
  EXPECT_EQ(selected.tempos, score.tempos);
  EXPECT_THROW_WITH(select_tracks(score, {2}), Error, {"select_tracks", "track index 2 out of range", "has 2 tracks"});
  EXPECT_THROW_WITH(select_tracks(score, {-1}), Error,
                    {"select_tracks", "track index -1 out of range", "has 2 tracks"});
}

// ---- melody ---------------------------------------------------------------------------------------------------

TEST(ScoreMelody, HigherOnsetCutsTheSoundingNote) {
  Score score = make_score({make_track("a", {{60, 80, 0, 960}}), make_track("b", {{67, 90, 480, 960}})});
  Score melody = extract_melody(score);
  ASSERT_EQ(melody.tracks.size(), 1u);
  const auto& notes = melody.tracks[0].notes;
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0], (Note{60, 80, 0, 480}));
  EXPECT_EQ(notes[1], (Note{67, 90, 480, 960}));
}

TEST(ScoreMelody, NoteStartingUnderASoundingHigherNoteIsDropped) {
  // 55 starts under the sounding 67 and outlasts it: dropped, not resumed after 67 ends.
  Score score = make_score({make_track("a", {{67, 80, 0, 960}, {55, 80, 480, 1920}, {64, 80, 1920, 2400}})});
  Score melody = extract_melody(score);
  const auto& notes = melody.tracks[0].notes;
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].pitch, 67);
  EXPECT_EQ(notes[1].pitch, 64);
}

TEST(ScoreMelody, ChordTakesItsTopNoteAndDrumsAreIgnored) {
  Score score = make_score({make_track("piano", {{60, 80, 0, 480}, {64, 80, 0, 480}, {67, 80, 0, 480}}),
                            make_track("drums", {{81, 100, 0, 480}}, true, 0, 9)});
  Score melody = extract_melody(score);
  ASSERT_EQ(melody.tracks[0].notes.size(), 1u);
  EXPECT_EQ(melody.tracks[0].notes[0].pitch, 67);
  EXPECT_EQ(melody.tracks[0].name, "melody");
}

TEST(ScoreMelody, NamedTrackOnlyAndUnknownNameListsTracks) {
  Score score = make_score({make_track("lead", {{60, 80, 0, 480}}), make_track("pad", {{80, 80, 0, 480}})});
  Score melody = extract_melody(score, "lead");
  ASSERT_EQ(melody.tracks.size(), 1u);
  EXPECT_EQ(melody.tracks[0].name, "lead");
  ASSERT_EQ(melody.tracks[0].notes.size(), 1u);
  EXPECT_EQ(melody.tracks[0].notes[0].pitch, 60);
  try {
    extract_melody(score, "vocals");
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    std::string message = error.what();
    EXPECT_NE(message.find("vocals"), std::string::npos) << message;
    EXPECT_NE(message.find("'lead'"), std::string::npos) << message;
    EXPECT_NE(message.find("'pad'"), std::string::npos) << message;
  }
}

TEST(ScoreMelody, RandomInputGivesAMonophonicSkyline) {
  Score score = random_score(11, 3, 300, 30000);
  Score melody = extract_melody(score);
  const auto& notes = melody.tracks[0].notes;
  ASSERT_FALSE(notes.empty());
  // Highest pitch starting at each onset.
  std::map<int64_t, int> top_at_onset;
  for (const auto& track : score.tracks)
    for (const auto& note : track.notes) {
      auto [it, inserted] = top_at_onset.emplace(note.start_tick, note.pitch);
      if (!inserted) it->second = std::max(it->second, note.pitch);
    }
  for (size_t i = 0; i < notes.size(); ++i) {
    if (i > 0) {
      EXPECT_LE(notes[i - 1].end_tick, notes[i].start_tick) << "overlap at note " << i;
    }
    ASSERT_TRUE(top_at_onset.count(notes[i].start_tick));
    EXPECT_EQ(notes[i].pitch, top_at_onset[notes[i].start_tick]);
    // No input onset inside a melody note is higher than it (it would have cut it).
    for (auto it = top_at_onset.upper_bound(notes[i].start_tick);
         it != top_at_onset.end() && it->first < notes[i].end_tick; ++it)
      EXPECT_LE(it->second, notes[i].pitch);
  }
  // The first onset always sounds.
  EXPECT_EQ(notes.front().start_tick, top_at_onset.begin()->first);
}

}  // namespace
}  // namespace cadenza
