#include "data/dataset_manifest.h"

#include <sys/stat.h>

#include "common/error.h"
#include "data/sha256.h"

namespace cadenza {

namespace {

bool is_safe_manifest_path(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view component(path.data() + start, end - start);
    if (component.empty() || component == "." || component == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string short_hash(const std::string& hex) {
  return hex.substr(0, 16) + "...";
}

}  // namespace

ManifestReport verify_manifest(const std::filesystem::path& root, std::span<const ManifestEntry> manifest,
                               size_t max_mismatches) {
  ManifestReport report;
  auto& mismatches = report.mismatches;
  for (const auto& entry : manifest) {
    if (!is_safe_manifest_path(entry.path)) throw Error("invalid path in data set manifest: '" + entry.path + "'");
  }
  for (const auto& entry : manifest) {
    if (mismatches.size() >= max_mismatches) {
      report.stopped_early = true;
      break;
    }
    ++report.files_checked;
    const auto path = root / entry.path;
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
      mismatches.push_back({entry.path, "missing"});
      continue;
    }
    if (!S_ISREG(info.st_mode)) {
      mismatches.push_back({entry.path, "not a regular file"});
      continue;
    }
    if (static_cast<uint64_t>(info.st_size) != entry.size) {
      mismatches.push_back(
          {entry.path, "size " + std::to_string(info.st_size) + " bytes, expected " + std::to_string(entry.size)});
      continue;
    }
    std::string actual = sha256_file_hex(path.string());
    if (actual != entry.sha256) {
      mismatches.push_back({entry.path, "SHA-256 " + short_hash(actual) + " expected " + short_hash(entry.sha256)});
    }
  }
  return report;
}

std::string ManifestReport::describe(size_t listed) const {
  std::string count = std::to_string(mismatches.size()) + (stopped_early ? " or more" : "");
  std::string text =
      count + (mismatches.size() == 1 && !stopped_early ? " file does" : " files do") + " not match the manifest: ";
  for (size_t i = 0; i < mismatches.size() && i < listed; ++i) {
    if (i > 0) text += "; ";
    text += mismatches[i].path + " (" + mismatches[i].problem + ")";
  }
  if (stopped_early) {
    text += "; and more";
  } else if (mismatches.size() > listed) {
    text += "; and " + std::to_string(mismatches.size() - listed) + " more";
  }
  return text;
}

uint64_t manifest_total_bytes(std::span<const ManifestEntry> manifest) {
  uint64_t total = 0;
  for (const auto& entry : manifest) total += entry.size;
  return total;
}

}  // namespace cadenza
