// Where the benchmarks find the Nottingham set: $CADENZA_TEST_DATA_DIR, else the path CMake injected.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace cadenza::bench {

inline std::string data_dir() {
  const char* env = std::getenv("CADENZA_TEST_DATA_DIR");
  return env != nullptr && *env ? env : CADENZA_TEST_DATA_DIR;
}

// Sorted .mid paths under nottingham/MIDI (with melody/ and chords/ when recursive); empty when absent.
inline std::vector<std::string> nottingham_midi_paths(bool recursive) {
  const std::filesystem::path root = std::filesystem::path(data_dir()) / "nottingham" / "MIDI";
  std::vector<std::string> paths;
  if (!std::filesystem::is_directory(root)) return paths;
  auto take = [&](const std::filesystem::directory_entry& entry) {
    if (entry.is_regular_file() && entry.path().extension() == ".mid") paths.push_back(entry.path().string());
  };
  if (recursive)
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) take(entry);
  else
    for (const auto& entry : std::filesystem::directory_iterator(root)) take(entry);
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace cadenza::bench
