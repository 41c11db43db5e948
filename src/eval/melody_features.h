// Simple per-piece melody features: what the VAE's attribute vectors are built from and what interpolation
// smoothness is measured with. Torch-free.
#pragma once

#include <string>
#include <vector>

#include "score/score.h"

namespace cadenza {

// The value of a named melody attribute of a score: note_density = note onsets per 4/4 bar; mean_pitch = mean MIDI
// pitch of the notes (NaN without notes); pitch_range = highest - lowest pitch (NaN without notes); rest_rate =
// fraction of the time with no note sounding. `bars` is the length the score stands for (a window's bars); 0 takes
// the bars up to the last note's end (at least one). Drum tracks are ignored. Throws cadenza::Error on an unknown name.
double melody_attribute(const Score& score, const std::string& attribute, double bars);

// The names melody_attribute() knows.
std::vector<std::string> melody_attribute_names();

}  // namespace cadenza
