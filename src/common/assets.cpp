#include "common/assets.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <system_error>

// Set by the build for this file only: the source tree (holding models/ ...) and the build tree it was built in.
#ifndef CADENZA_SOURCE_TREE
#define CADENZA_SOURCE_TREE ""
#endif
#ifndef CADENZA_BUILD_TREE
#define CADENZA_BUILD_TREE ""
#endif

namespace cadenza {

namespace fs = std::filesystem;

namespace {

std::string override_variable(const std::string& name) {
  std::string variable = "CADENZA_";
  for (char c : name) variable += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return variable + "_DIR";
}

// True when `path` lies inside `folder` (both absolute and normalised).
bool is_inside(const fs::path& path, const fs::path& folder) {
  auto folder_end = folder.end();
  if (folder.has_relative_path() && folder.filename().empty()) --folder_end;  // "/a/b/" ends in an empty name
  return std::mismatch(folder.begin(), folder_end, path.begin(), path.end()).first == folder_end;
}

}  // namespace

std::string executable_path() {
  std::error_code error;
  fs::path path = fs::read_symlink("/proc/self/exe", error);
  return error ? std::string() : path.string();
}

std::vector<std::string> asset_search_path(const std::string& name) {
  const std::string variable = override_variable(name);
  if (const char* dir = std::getenv(variable.c_str()); dir != nullptr && *dir != '\0') return {dir};

  std::vector<std::string> candidates;
  const fs::path executable = executable_path();
  if (!executable.empty()) {
    const fs::path exe_dir = executable.parent_path();
    candidates.push_back((exe_dir / ".." / "share" / "cadenza" / name).lexically_normal().string());
    candidates.push_back((exe_dir / ".." / ".." / "share" / "cadenza" / name).lexically_normal().string());
    const fs::path build_tree = fs::path(CADENZA_BUILD_TREE).lexically_normal();
    const fs::path source_tree = fs::path(CADENZA_SOURCE_TREE);
    if (build_tree.is_absolute() && !source_tree.empty() && is_inside(executable.lexically_normal(), build_tree))
      candidates.push_back((source_tree / name).lexically_normal().string());
  }
  return candidates;
}

std::string asset_dir(const std::string& name) {
  const std::vector<std::string> candidates = asset_search_path(name);
  for (const auto& candidate : candidates) {
    std::error_code error;
    if (fs::is_directory(candidate, error)) return candidate;
  }
  return candidates.empty() ? name : candidates.front();
}

}  // namespace cadenza
