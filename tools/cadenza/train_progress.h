// How `cadenza train` (and later `compare`) shows a run: a one-line progress bar redrawn in place on a
// terminal, plain log lines every log_every steps otherwise (logs, CI, pipes).
#pragma once

#include <string>

#include "train/trainer.h"

namespace cadenza::cli {

class TrainProgressDisplay {
 public:
  // label: shown at the start of each line (e.g. "lstm"); terminal: redraw in place.
  TrainProgressDisplay(std::string label, bool terminal) : label_(std::move(label)), terminal_(terminal) {}
  void operator()(const train::TrainProgress& progress);
  void finish();  // ends the in-place line

 private:
  std::string label_;
  bool terminal_;
  bool line_open_ = false;
  double last_draw_ = -1;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace cadenza::cli
