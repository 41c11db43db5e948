#include "report/training_log.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"

namespace cadenza::report {

namespace {

double number_in(const nlohmann::json& record, const char* key, double fallback) {
  const auto found = record.find(key);
  return found != record.end() && found->is_number() ? found->get<double>() : fallback;
}

std::string string_in(const nlohmann::json& record, const char* key) {
  const auto found = record.find(key);
  return found != record.end() && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace

TrainingSummary parse_training_log(std::string_view jsonl, const std::string& source) {
  TrainingSummary summary;
  std::vector<double> speeds;
  bool ended = false;
  double last_step = 0, last_elapsed = kNotMeasured;
  size_t offset = 0;
  while (offset < jsonl.size()) {
    size_t end = jsonl.find('\n', offset);
    if (end == std::string_view::npos) end = jsonl.size();
    const std::string_view line = jsonl.substr(offset, end - offset);
    const size_t line_offset = offset;
    offset = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object())
      throw FormatError(source, static_cast<int64_t>(line_offset), "a line that is not a JSON object");
    const std::string kind = string_in(record, "kind");
    const double step = number_in(record, "step", 0);
    const double elapsed = number_in(record, "elapsed_seconds", kNotMeasured);
    if (kind == "train") {
      if (record.contains("loss") && record["loss"].is_number())
        summary.train_loss.push_back({step, record["loss"].get<double>(), elapsed});
      if (record.contains("elements_per_second") && record["elements_per_second"].is_number())
        speeds.push_back(record["elements_per_second"].get<double>());
    } else if (kind == "valid") {
      if (summary.valid_name.empty()) {
        if (record.contains("nll"))
          summary.valid_name = "nll";
        else if (record.contains("elbo_per_step") || record.contains("elbo_per_token"))
          summary.valid_name = "elbo_per_step";
      }
      // Runs written before the VAE read piano-roll frames call its ELBO "elbo_per_token".
      const char* key = summary.valid_name == "elbo_per_step" && !record.contains("elbo_per_step")
                            ? "elbo_per_token"
                            : summary.valid_name.c_str();
      if (!summary.valid_name.empty() && record.contains(key) && record[key].is_number())
        summary.valid.push_back({step, record[key].get<double>(), elapsed});
    } else if (kind == "end") {
      ended = true;
      summary.steps = static_cast<int64_t>(step);
      summary.seconds = elapsed;
      summary.stop_reason = string_in(record, "stop_reason");
      if (record.contains("parameters") && record["parameters"].is_number_integer())
        summary.parameters = record["parameters"].get<int64_t>();
      continue;
    }
    if (kind == "train" || kind == "valid") {
      last_step = std::max(last_step, step);
      if (std::isfinite(elapsed)) last_elapsed = elapsed;
    }
  }
  // Without an end record (a run still going, or killed), the latest record tells how far it got.
  if (!ended) {
    summary.steps = static_cast<int64_t>(last_step);
    summary.seconds = last_elapsed;
  }
  if (!speeds.empty()) {
    // The first interval pays one-off costs (allocation, first validation): leave it out when there are others.
    const size_t first = speeds.size() > 1 ? 1 : 0;
    double sum = 0;
    for (size_t i = first; i < speeds.size(); ++i) sum += speeds[i];
    summary.elements_per_second = sum / static_cast<double>(speeds.size() - first);
  }
  return summary;
}

TrainingSummary read_training_log(const std::string& path) {
  return parse_training_log(read_file_text(path, size_t{1} << 30), path);
}

}  // namespace cadenza::report
