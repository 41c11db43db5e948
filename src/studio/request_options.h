// The generation options of the studio's jobs: which controls a model gets (built from its SamplerCapabilities, with
// the studio's limits as ranges) and reading a job's JSON body into a SampleRequest with a clear refusal for each bad
// field. Family-free: everything comes from the capabilities.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "generate/sampler.h"

namespace cadenza::studio {

struct StudioLimits {
  double max_bars = 64;  // length of one generated piece (and of a duet answer)
  int max_variations = 16;
  int max_interpolation_steps = 16;
  size_t max_queue = 16;  // jobs waiting behind the running one
  size_t max_body_bytes = 8 << 20;
  double max_wav_seconds = 900;  // longest take rendered to WAV
  nlohmann::json to_json() const;
};

// Every control of a model: [{"name", "label", "type": "integer" | "number" | "choice" | "boolean", "min", "max",
// "step", "default", "choices", "choice_labels" (what the page shows for each choice, when it differs), "only_with":
// {"name": value}}], in the order the page shows them.
nlohmann::json controls_json(const SamplerCapabilities& capabilities, const StudioLimits& limits);

// The generation options of a job body: bars, temperature, top_k, top_p, seed, qpm, truncation, binarize, threshold,
// until_end, meter, key.
// A field the model does not have, a value of the wrong type or outside its range, and a key that is neither a
// generation option nor in `job_keys` are HttpError 400 naming the field ("temperature must be a number in [0, 5],
// got 9"). Lengths: `bars` (default default_bars) within [1, limits.max_bars].
SampleRequest sample_request_from_json(const nlohmann::json& body, const SamplerCapabilities& capabilities,
                                       const StudioLimits& limits, const std::set<std::string>& job_keys,
                                       double default_bars);

// Helpers for a job's own fields (same messages).
int integer_field(const nlohmann::json& body, const std::string& key, int low, int high, int fallback);
double number_field(const nlohmann::json& body, const std::string& key, double low, double high, double fallback);
bool boolean_field(const nlohmann::json& body, const std::string& key, bool fallback);
// A required string of at most 200 characters.
std::string string_field(const nlohmann::json& body, const std::string& key);

}  // namespace cadenza::studio
