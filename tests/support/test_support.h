// Helpers shared by the tests: where the data sets are, temporary directories, running the CLI.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace cadenza::testing {

// CADENZA_TEST_DATA_DIR (../shared/data by default) or "" when it does not exist.
std::string data_dir();
// data_dir()/relative, or calls GTEST_SKIP-style loud skip when missing: use the macro below.
std::string data_path(const std::string& relative);

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs a shell command line, capturing output.
CommandResult run_command(const std::string& command_line);
// Runs the built `cadenza` binary with the given arguments (already shell-quoted as needed).
CommandResult run_cadenza(const std::string& arguments);

}  // namespace cadenza::testing

// Skips the current test with a loud message when a data set is missing.
#define CADENZA_REQUIRE_DATA(relative)                                                                   \
  do {                                                                                                   \
    if (!std::filesystem::exists(::cadenza::testing::data_dir() + "/" + (relative))) {                   \
      std::fprintf(stderr, "\n*** SKIPPED: data set %s not found under '%s' (CADENZA_TEST_DATA_DIR) ***\n", \
                   std::string(relative).c_str(), ::cadenza::testing::data_dir().c_str());                \
      GTEST_SKIP() << "data set " << (relative) << " not found";                                        \
    }                                                                                                    \
  } while (0)
