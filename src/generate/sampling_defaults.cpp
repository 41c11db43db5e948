#include "generate/sampling_defaults.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"

namespace cadenza {

std::string sampling_defaults_path(const std::string& checkpoint_path) {
  return (std::filesystem::path(checkpoint_path).parent_path() / "generation.json").string();
}

SamplingDefaults read_sampling_defaults(const std::string& checkpoint_path) {
  const std::string path = sampling_defaults_path(checkpoint_path);
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return {};
  // A sampling-settings file is a few bytes; a large one is not this file.
  const std::string text = read_file_text(path, 64 * 1024);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw FormatError(path, -1, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!json.is_object())
    throw FormatError(path, -1, "must be a JSON object such as {\"temperature\": 0.9}, got " + json.dump());
  SamplingDefaults defaults;
  defaults.source = path;
  for (const auto& [key, value] : json.items()) {
    if (key != "temperature") throw FormatError(path, -1, "unknown key \"" + key + "\" (known: temperature)");
    if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0 ||
        value.get<double>() > kMaxDefaultTemperature)
      throw FormatError(path, -1, "\"temperature\" must be a number in [0, 5], got " + value.dump());
    defaults.temperature = value.get<double>();
  }
  return defaults;
}

}  // namespace cadenza
