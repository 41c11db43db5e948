// The JSB Chorales piano-roll JSON (Boulanger-Lewandowski 2012 split) as Scores.
//
// The file holds {"train": [...], "valid": [...], "test": [...]}; each piece is a list of steps, each step a
// list of sounding MIDI pitches. A pitch sounding in consecutive steps is one held note (the data set cannot
// tell held from repeated notes). The "separated" variant holds exactly four pitches per step (SATB, -1 for
// silence) and becomes four tracks.
#pragma once

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
};

struct JsbOptions {
  int steps_per_quarter = 1;  // 1 for the quarter file, 2 for 8th, 4 for 16th
  double qpm = 100.0;
  int velocity = 80;
};

// Parses a JSB JSON file. Detects the SATB-separated layout. Throws FormatError naming the file on bad input.
std::vector<JsbPiece> load_jsb_json(const std::string& path, const JsbOptions& options = {});

// Guesses steps_per_quarter from a file name containing "quarter", "8th" or "16th" (default 1).
int jsb_steps_per_quarter_from_name(const std::string& path);

}  // namespace cadenza
