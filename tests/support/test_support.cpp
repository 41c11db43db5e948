#include "support/test_support.h"

#include "support/shell_quote.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <random>
#include <sys/wait.h>

namespace cadenza::testing {

std::string data_dir() {
  if (const char* env = std::getenv("CADENZA_TEST_DATA_DIR"); env != nullptr && *env) return env;
  return CADENZA_TEST_DATA_DIR;
}

std::string data_path(const std::string& relative) { return data_dir() + "/" + relative; }

TempDir::TempDir() {
  std::random_device device;
  auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = base / ("cadenza-test-" + std::to_string(::getpid()) + "-" + std::to_string(device()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

CommandResult run_command(const std::string& command_line) {
  CommandResult result;
  std::string full = command_line + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CommandResult run_cadenza(const std::string& arguments) {
  return run_command(shell_quote(CADENZA_BINARY) + " " + arguments);
}

}  // namespace cadenza::testing
