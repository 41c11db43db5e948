// Melodies as note events (pitch, duration and time shift in beats), the C-RNN-GAN's data: from a Score, and back.
#pragma once

#include <vector>

#include "models/crnngan_config.h"  // MelodyEvent
#include "score/score.h"

namespace cadenza {

// Every note of every track, ordered by onset: duration and time since the previous onset in quarter notes.
std::vector<models::MelodyEvent> melody_events(const Score& score);

// One melody track at 480 ticks per quarter; events after max_quarters (> 0) are dropped and notes cut there. A
// zero-length event still sounds a 64th note.
Score score_of_events(const std::vector<models::MelodyEvent>& events, double max_quarters);

}  // namespace cadenza
