// Training runs and comparison reports under the folders given with `cadenza serve --runs DIR`.
//
// A run is a folder with config.json or metrics.jsonl (src/train/trainer.h); a report is a folder with index.html and
// results.json (`cadenza compare`). They are found up to three levels below each --runs folder (a compare report keeps
// its runs in REPORT/runs/<model>), named by their path relative to it (with the folder's own name in front when
// several --runs folders are given). Clients name runs and reports by these names only: a name that is not in the
// last scan is unknown, so no other file can be reached through them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cadenza::studio {

struct RunFolder {
  std::string name;
  std::filesystem::path dir;
};

struct RunsScan {
  std::vector<RunFolder> runs;
  std::vector<RunFolder> reports;
};

// At most max_entries runs and as many reports; folders that cannot be read are skipped.
RunsScan scan_runs(const std::vector<std::string>& roots, size_t max_entries = 1000);

// RUN/checkpoints/best.safetensors, else last.safetensors; nullopt when neither exists.
std::optional<std::filesystem::path> run_checkpoint(const RunFolder& run);

// The records of RUN/metrics.jsonl from line `from` on (at most max_records), each a JSON object with "kind":
//   {"records": [...], "next": N (the line to ask from next time), "finished": true once an "end" record was read,
//    "skipped": lines that were not JSON objects}
// A last line without its newline (being written) is left for the next call. No metrics.jsonl: no records.
nlohmann::json run_metrics_json(const RunFolder& run, size_t from, size_t max_records = 20000);

// {"name", "status": "training" | "finished" | "stopped" | "new", "family", "steps", "updated" (unix seconds),
//  "best_checkpoint": bool, "valid_metric"}; with details, also "config" (config.json) and "checkpoint" (the file the
// "use this model" button opens).
nlohmann::json run_json(const RunFolder& run, bool details);

}  // namespace cadenza::studio
