#include "support/test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <random>
#include <vector>

#include "support/shell_quote.h"

namespace cadenza::testing {

std::string data_dir() {
  if (const char* env = std::getenv("CADENZA_TEST_DATA_DIR"); env != nullptr && *env) return env;
  return CADENZA_TEST_DATA_DIR;
}

std::string data_path(const std::string& relative) {
  return data_dir() + "/" + relative;
}

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

namespace {

std::string quoted_list(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "\"" : ", \"") + part + "\"";
  return out;
}

}  // namespace

::testing::AssertionResult message_names(const std::string& what, const std::string& message,
                                         std::initializer_list<std::string> expected) {
  if (expected.size() == 0) return ::testing::AssertionFailure() << what << ": the test names no expected substring";
  std::vector<std::string> missing;
  for (const auto& part : expected) {
    if (part.empty()) return ::testing::AssertionFailure() << what << ": an expected substring is empty";
    if (message.find(part) == std::string::npos) missing.push_back(part);
  }
  if (missing.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ", but its message lacks " << quoted_list(missing)
                                       << "\n  whole message: " << message << "\n  expected to contain: "
                                       << quoted_list(std::vector<std::string>(expected));
}

::testing::AssertionResult cli_error_names(const std::string& command, int actual_exit_code, const std::string& output,
                                           int exit_code, std::initializer_list<std::string> expected) {
  static const std::string kPrefix = "cadenza: error: ";
  if (actual_exit_code != exit_code)
    return ::testing::AssertionFailure() << command << " exited with " << actual_exit_code << ", expected " << exit_code
                                         << "\n  output:\n"
                                         << output;
  std::vector<std::string> error_lines;
  size_t begin = 0;
  while (begin < output.size()) {
    size_t end = output.find('\n', begin);
    if (end == std::string::npos) end = output.size();
    const std::string line = output.substr(begin, end - begin);
    if (line.rfind(kPrefix, 0) == 0) error_lines.push_back(line);
    begin = end + 1;
  }
  if (error_lines.size() != 1)
    return ::testing::AssertionFailure() << command << " printed " << error_lines.size() << " lines starting \""
                                         << kPrefix << "\", expected one\n  output:\n"
                                         << output;
  return message_names(command + " failed", error_lines.front(), expected);
}

}  // namespace cadenza::testing
