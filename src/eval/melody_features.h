// Simple per-piece melody features: what the VAE's attribute vectors are built from and what interpolation
// smoothness is measured with. Torch-free.
//
// Each attribute is the musical_metrics.h feature of the same name (one definition per feature) applied to the
// pitched part of the score (drum tracks dropped): note_density = notes per bar (eval::note_density), mean_pitch
// (eval::mean_pitch), pitch_range (eval::pitch_range). Bars follow the score's meter (4/4 when it has none).
#pragma once

#include <string>
#include <vector>

#include "score/score.h"

namespace cadenza {

// The value of a named melody attribute of a score: note_density = note onsets per bar (0 without notes);
// mean_pitch = mean MIDI pitch of the notes (NaN without notes); pitch_range = highest - lowest pitch (NaN without
// notes); rest_rate = fraction of the time, from tick 0 to the end of the bars, with no note sounding. `bars` is the
// length the score stands for (a window's bars); 0 takes the bars of the score's meter up to the last note's end
// (at least one). Drum tracks are ignored. Throws cadenza::Error on an unknown name.
double melody_attribute(const Score& score, const std::string& attribute, double bars);

// The names melody_attribute() knows.
std::vector<std::string> melody_attribute_names();

}  // namespace cadenza
