// Sampling settings that travel with a checkpoint: `generation.json` in the checkpoint file's folder, e.g.
//   {"temperature": 0.9}
// A model's maker (the bundled models' recipe, scripts/train_bundled_models.sh) writes it to say at what setting
// the model was measured and sounds best; `generate`, `sample` and the studio take it when the user gives no
// --temperature (an explicit --temperature, 1 included, always wins). Only token models (rnn, lstm, gru,
// transformer and their piano-roll forms) read it: their draws are the ones a temperature scales.
//
// The file is optional. One that is present must be a JSON object with known keys and values in range; anything
// else is an error naming the file, the key and the value (a typo must not silently sample at another setting).
#pragma once

#include <optional>
#include <string>

namespace cadenza {

struct SamplingDefaults {
  std::optional<double> temperature;  // in [0, kMaxDefaultTemperature]; absent = the command's own default
  std::string source;                 // the file read; empty when there is none
};

inline constexpr double kMaxDefaultTemperature = 5.0;

// CHECKPOINT_DIR/generation.json for the checkpoint file `checkpoint_path`.
std::string sampling_defaults_path(const std::string& checkpoint_path);

// The defaults stored beside `checkpoint_path`; empty (no temperature, no source) when there is no file. Throws
// FormatError naming the file for malformed JSON, a value that is not an object, an unknown key (the message lists
// the known ones) or a temperature that is not a number in [0, 5]; IoError when the file exists but cannot be read.
SamplingDefaults read_sampling_defaults(const std::string& checkpoint_path);

}  // namespace cadenza
