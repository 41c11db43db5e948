// Reading a training run's metrics.jsonl (train/trainer.h) for the report: loss curves, training speed and time.
#pragma once

#include <string>
#include <string_view>

#include "report/comparison.h"

namespace cadenza::report {

// Parses the lines of a metrics.jsonl. `source` names the file in errors.
//   train_loss: every "train" record's (step, loss, elapsed_seconds);
//   valid:      every "valid" record's "nll" if it has one, else "elbo_per_step" (the first found names the curve);
//   elements_per_second: the mean of the "train" records' elements_per_second, leaving out the first record when
//               there are several (it includes one-off start-up costs);
//   seconds, steps, stop_reason, parameters: from the last "end" record; without one, seconds and steps come from
//               the last record that has them.
// A run resumed after an interruption has records of several sessions; the trainer keeps them consistent, and this
// reads them in order. Blank lines are skipped; a line that is not a JSON object throws FormatError naming source
// and the line's byte offset.
TrainingSummary parse_training_log(std::string_view jsonl, const std::string& source);

// read_file_text(path) + parse_training_log.
TrainingSummary read_training_log(const std::string& path);

}  // namespace cadenza::report
