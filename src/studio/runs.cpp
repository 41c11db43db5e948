#include "studio/runs.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "common/file_io.h"

namespace cadenza::studio {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kMaxMetricsBytes = size_t(256) << 20;
constexpr size_t kMaxConfigBytes = size_t(4) << 20;
constexpr int kMaxDepth = 3;
// A run whose metrics changed within this many seconds, without an end record, is still training.
constexpr double kTrainingWindowSeconds = 120;

bool is_file(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error);
}

double unix_seconds(fs::file_time_type time) {
  // The file clock's offset from the system clock, measured now (g++ 12 has no clock_cast).
  const auto offset = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()) -
                      std::chrono::duration<double>(fs::file_time_type::clock::now().time_since_epoch());
  return (std::chrono::duration<double>(time.time_since_epoch()) + offset).count();
}

void scan_folder(const fs::path& dir, const std::string& name, int depth, RunsScan& scan, size_t max_entries) {
  if (scan.runs.size() >= max_entries && scan.reports.size() >= max_entries) return;
  const bool is_run = is_file(dir / "config.json") || is_file(dir / "metrics.jsonl");
  const bool is_report = is_file(dir / "index.html") && is_file(dir / "results.json");
  if (is_run && scan.runs.size() < max_entries) scan.runs.push_back({name.empty() ? "." : name, dir});
  if (is_report && scan.reports.size() < max_entries) scan.reports.push_back({name.empty() ? "." : name, dir});
  if (is_run || depth >= kMaxDepth) return;  // a run's own folders (checkpoints/, samples/) hold no other run
  std::error_code error;
  std::vector<fs::path> children;
  for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, error), end; !error && it != end;
       it.increment(error)) {
    std::error_code type_error;
    // Symbolic links are not followed: a link cannot lead the studio out of the folder it was given.
    if (it->is_directory(type_error) && !it->is_symlink(type_error)) children.push_back(it->path());
  }
  std::sort(children.begin(), children.end());
  for (const fs::path& child : children) {
    const std::string child_name = child.filename().string();
    if (child_name.empty() || child_name[0] == '.') continue;
    scan_folder(child, name.empty() ? child_name : name + "/" + child_name, depth + 1, scan, max_entries);
  }
}

}  // namespace

RunsScan scan_runs(const std::vector<std::string>& roots, size_t max_entries) {
  RunsScan scan;
  for (const std::string& root : roots) {
    std::error_code error;
    if (!fs::is_directory(root, error)) continue;
    std::string prefix;
    if (roots.size() > 1) {
      prefix = fs::path(root).lexically_normal().filename().string();
      if (prefix.empty()) prefix = fs::path(root).lexically_normal().parent_path().filename().string();
    }
    scan_folder(fs::path(root), prefix, 0, scan, max_entries);
  }
  // Unique names: a second folder of the same name gets "~2", "~3", ...
  for (auto* list : {&scan.runs, &scan.reports}) {
    std::set<std::string> seen;
    for (RunFolder& folder : *list) {
      std::string name = folder.name;
      for (int n = 2; seen.count(name); ++n) name = folder.name + "~" + std::to_string(n);
      folder.name = name;
      seen.insert(name);
    }
  }
  return scan;
}

std::optional<fs::path> run_checkpoint(const RunFolder& run) {
  for (const char* file : {"best.safetensors", "last.safetensors"}) {
    const fs::path path = run.dir / "checkpoints" / file;
    if (is_file(path)) return path;
  }
  return std::nullopt;
}

json run_metrics_json(const RunFolder& run, size_t from, size_t max_records) {
  json out = {{"records", json::array()}, {"next", from}, {"finished", false}, {"skipped", 0}};
  const fs::path path = run.dir / "metrics.jsonl";
  if (!is_file(path)) return out;
  const std::string text = read_file_text(path.string(), kMaxMetricsBytes);
  size_t line = 0, position = 0, skipped = 0, records = 0;
  // The trainer writes compact JSON (nlohmann dump()), so an end record anywhere, also before `from`, reads so.
  bool finished = text.find("\"kind\":\"end\"") != std::string::npos;
  while (position < text.size()) {
    const size_t newline = text.find('\n', position);
    if (newline == std::string::npos) break;  // a line still being written
    if (line >= from) {
      if (records >= max_records) break;
      const std::string_view content(text.data() + position, newline - position);
      if (content.find_first_not_of(" \t\r") != std::string_view::npos) {
        json record = json::parse(content, nullptr, /*allow_exceptions=*/false);
        if (record.is_object() && record.contains("kind") && record["kind"].is_string()) {
          if (record["kind"] == "end") finished = true;
          out["records"].push_back(std::move(record));
          ++records;
        } else {
          ++skipped;
        }
      }
    }
    ++line;
    position = newline + 1;
  }
  out["next"] = std::max(from, line);
  out["finished"] = finished;
  out["skipped"] = skipped;
  return out;
}

json run_json(const RunFolder& run, bool details) {
  json out = {{"name", run.name}};
  json config;
  const fs::path config_path = run.dir / "config.json";
  if (is_file(config_path)) {
    try {
      config = json::parse(read_file_text(config_path.string(), kMaxConfigBytes));
    } catch (const std::exception& e) {
      out["config_error"] = std::string("config.json: ") + e.what();
    }
  }
  if (config.is_object() && config.contains("model") && config["model"].is_object())
    out["family"] = config["model"].value("family", "");
  const json metrics = run_metrics_json(run, 0);
  int64_t steps = 0;
  std::string valid_metric;
  for (const json& record : metrics["records"]) {
    if (record.contains("step") && record["step"].is_number()) steps = std::max(steps, record["step"].get<int64_t>());
    if (valid_metric.empty() && record["kind"] == "valid") {
      for (const char* name : {"nll", "elbo_per_step"})
        if (record.contains(name)) {
          valid_metric = name;
          break;
        }
    }
  }
  std::error_code error;
  const fs::path metrics_path = run.dir / "metrics.jsonl";
  double updated = 0;
  if (is_file(metrics_path))
    updated = unix_seconds(fs::last_write_time(metrics_path, error));
  else if (is_file(config_path))
    updated = unix_seconds(fs::last_write_time(config_path, error));
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string status = "new";
  if (metrics["finished"].get<bool>())
    status = "finished";
  else if (!metrics["records"].empty())
    status = now - updated < kTrainingWindowSeconds ? "training" : "stopped";
  out["status"] = status;
  out["steps"] = steps;
  out["updated"] = updated;
  out["valid_metric"] = valid_metric;
  out["records"] = metrics["records"].size();
  const auto checkpoint = run_checkpoint(run);
  out["has_checkpoint"] = checkpoint.has_value();
  out["best_checkpoint"] = is_file(run.dir / "checkpoints" / "best.safetensors");
  if (details) {
    out["config"] = config.is_null() ? json::object() : config;
    out["checkpoint"] = checkpoint ? checkpoint->filename().string() : "";
  }
  return out;
}

}  // namespace cadenza::studio
