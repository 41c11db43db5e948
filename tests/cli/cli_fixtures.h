// Fixtures shared by the CLI tests: small MIDI material written by the tests themselves.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "midi/midi.h"
#include "score/score.h"
#include "support/test_support.h"

namespace cadenza::testing {

// A two-track tune of `bars` 4/4 bars: a melody of eighth notes (a rest now and then) over whole-bar triads.
inline Score two_track_tune(int seed, int bars) {
  Score score = make_empty_score(480, 120.0);
  Track melody, chords;
  melody.name = "melody", chords.name = "chords", chords.channel = 1;
  for (int i = 0; i < bars * 8; ++i) {
    if ((seed + i) % 7 == 3) continue;
    melody.notes.push_back({60 + (seed * 5 + i * 3) % 14, 90, i * 240, i * 240 + 240});
  }
  for (int bar = 0; bar < bars; ++bar)
    for (int offset : {0, 4, 7})
      chords.notes.push_back({48 + (seed + bar) % 5 + offset, 70, bar * 1920, bar * 1920 + 1920});
  score.tracks = {melody, chords};
  score.normalize();
  return score;
}

// 30 two-track tunes of 6..9 bars in a temporary folder, prepared into a melody shard (track 0) and a 2-track
// piano-roll shard, both split 60/20/20. The tunes are loops of one 14-note figure in a few phases, which
// `dataset prepare` rightly finds to be near-duplicates and would keep in 6 groups (all in train and valid):
// --no-group-duplicates keeps the plain path split these tests were written for.
struct TwoTrackShards {
  TempDir dir;
  std::string melody = dir.file("melody.cdz"), roll = dir.file("roll.cdz");
  TwoTrackShards() {
    std::filesystem::create_directories(dir.file("tunes"));
    for (int i = 0; i < 30; ++i)
      write_midi_file(two_track_tune(i, 6 + i % 4), dir.file("tunes/t" + std::to_string(i) + ".mid"));
    auto prepared =
        run_cadenza("dataset prepare --input " + dir.file("tunes") +
                    " --encoding melody --track-index 0 --split 0.6,0.2,0.2 --no-group-duplicates --out " + melody);
    EXPECT_EQ(prepared.exit_code, 0) << prepared.output;
    prepared = run_cadenza("dataset prepare --input " + dir.file("tunes") +
                           " --encoding pianoroll --set num_tracks=2 --set lowest_pitch=36 --set highest_pitch=83 "
                           "--split 0.6,0.2,0.2 --no-group-duplicates --out " +
                           roll);
    EXPECT_EQ(prepared.exit_code, 0) << prepared.output;
  }
};

}  // namespace cadenza::testing
