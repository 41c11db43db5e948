// The JSB Chorales piano-roll JSON (Boulanger-Lewandowski 2012 split) as Scores.
//
// The file holds {"train": [...], "valid": [...], "test": [...]}; each piece is a list of steps, each step a
// list of sounding MIDI pitches. A pitch sounding in consecutive steps is one held note (the data set cannot
// tell held from repeated notes). The "separated" variant holds exactly four pitches per step (SATB, -1 for
// silence) and becomes four tracks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "score/score.h"

namespace cadenza {

enum class Split { kTrain = 0, kValid = 1, kTest = 2 };
const char* split_name(Split split);

struct JsbPiece {
  Split split = Split::kTrain;
  int index = 0;  // position within its split
  Score score;
  // Where the piece ends: its number of steps in the file times the step's ticks. Trailing empty steps count
  // (a Score ends at its last note and cannot say so), so a piano roll can be cut to exactly the file's steps.
  int64_t end_tick = 0;
};

// kAuto treats a file as SATB-separated when its name contains "separated" (any case) or any pitch is -1 (the
// separated layout's silence; the combined files never hold it).
enum class JsbLayout { kAuto = 0, kCombined = 1, kSeparated = 2 };

struct JsbOptions {
  int steps_per_quarter = 1;  // 1 for the quarter file, 2 for 8th, 4 for 16th; must divide 480
  double qpm = 100.0;
  int velocity = 80;
  JsbLayout layout = JsbLayout::kAuto;
};

// Parses a JSB JSON file. Detects the SATB-separated layout. Throws FormatError naming the file on bad input.
//
// Each piece becomes a Score with ticks_per_quarter 480 (a step is 480 / steps_per_quarter ticks), one tempo
// (options.qpm) and 4/4. The combined layout gives one track "chorale" (program 0, Acoustic Grand Piano: the
// neutral General MIDI default, so renders sound like the piano-roll they come from; channel 0); the separated
// layout gives four tracks "soprano", "alto", "tenor", "bass" (program 0, channels 0..3). A note is a run of
// consecutive steps holding the same pitch (in the same voice); duplicate pitches within one combined step are
// one note. Empty steps are rests; rests after the last note are not representable (a Score ends at its last
// note), which the data set never needs. Pitches may be written as integral floats (73.0); anything else
// outside 0..127 (or -1 in the separated layout) is a FormatError naming the split, piece and step.
// Throws Error on bad options (steps_per_quarter not dividing 480, qpm outside 4..1000, velocity outside 1..127).
std::vector<JsbPiece> load_jsb_json(const std::string& path, const JsbOptions& options = {});

// Guesses steps_per_quarter from a file name containing "quarter", "8th" or "16th" (default 1).
int jsb_steps_per_quarter_from_name(const std::string& path);

}  // namespace cadenza
