// Fixtures shared by the CLI tests: small MIDI material written by the tests themselves.
#pragma once

#include "score/score.h"

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

}  // namespace cadenza::testing
