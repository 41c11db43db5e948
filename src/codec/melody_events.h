// Melodies as note events (pitch, duration and time shift in beats), the C-RNN-GAN's data: from a Score, and back.
#pragma once

#include <vector>

#include "models/crnngan_config.h"  // MelodyEvent
#include "score/score.h"

namespace cadenza {

// Every note of every track, ordered by onset: duration and time since the previous onset in quarter notes.
std::vector<models::MelodyEvent> melody_events(const Score& score);

// One melody track at 480 ticks per quarter; events after max_quarters (> 0) are dropped and notes cut there.
// steps_per_quarter 0: the times as they are, a zero-length event still sounding a 64th note. steps_per_quarter > 0:
// on that grid, as the data the events came from (the C-RNN-GAN's continuous times, like its pitches rounded to
// semitones): each onset (the sum of the time shifts so far, so rounding does not accumulate) and each note's end
// rounded to the nearest step, a note at least one step long.
Score score_of_events(const std::vector<models::MelodyEvent>& events, double max_quarters, int steps_per_quarter = 0);

}  // namespace cadenza
