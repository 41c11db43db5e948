// Helpers shared by the tests: where the data sets are, temporary directories, running the CLI, checking that
// an error message names what the user needs (EXPECT_THROW_WITH, EXPECT_CLI_ERROR).
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <typeinfo>

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

// ---- error messages ------------------------------------------------------------------------------------------
// An error message is part of the interface: a test of a refusal checks that the message names what the user
// needs to fix it (the file, the key, the offending value, the position, the allowed range), not only the type.

// Success when `message` contains every one of `expected` (at least one, none empty); otherwise a failure that
// names `what` (the statement or command), lists the missing substrings and quotes the whole message.
::testing::AssertionResult message_names(const std::string& what, const std::string& message,
                                         std::initializer_list<std::string> expected);

// Runs `run`, which must throw `Exception` (or a subclass) whose what() contains every one of `expected`.
template <typename Exception, typename Run>
::testing::AssertionResult throws_with(Run&& run, const char* statement_text, const char* exception_text,
                                       std::initializer_list<std::string> expected) {
  const std::string statement = std::string("`") + statement_text + "`";
  try {
    run();
  } catch (const Exception& error) {
    return message_names(statement + " threw " + exception_text, error.what(), expected);
  } catch (const std::exception& other) {
    return ::testing::AssertionFailure() << statement << " should throw " << exception_text << " but threw "
                                         << typeid(other).name() << ": " << other.what();
  } catch (...) {
    return ::testing::AssertionFailure() << statement << " should throw " << exception_text
                                         << " but threw something that is not a std::exception";
  }
  return ::testing::AssertionFailure() << statement << " should throw " << exception_text << " but threw nothing";
}

// A finished command (exit code and what it printed) must have failed with `exit_code` and printed exactly one
// line "cadenza: error: ..." that contains every one of `expected`.
::testing::AssertionResult cli_error_names(const std::string& command, int actual_exit_code, const std::string& output,
                                           int exit_code, std::initializer_list<std::string> expected);

}  // namespace cadenza::testing

// EXPECT_THROW_WITH(statement, ExceptionType, {"substring", ...}): like EXPECT_THROW, and the exception's what()
// must contain each substring. On failure it prints the statement, the missing substrings and the whole message.
// Further context can be streamed in: EXPECT_THROW_WITH(f(x), Error, {"x"}) << "case " << i;
#define CADENZA_THROW_WITH_(statement, exception_type, on_failure, ...)                                                \
  GTEST_ASSERT_(                                                                                                       \
      ::cadenza::testing::throws_with<exception_type>([&]() { statement; }, #statement, #exception_type, __VA_ARGS__), \
      on_failure)
#define EXPECT_THROW_WITH(statement, exception_type, ...) \
  CADENZA_THROW_WITH_(statement, exception_type, GTEST_NONFATAL_FAILURE_, __VA_ARGS__)
#define ASSERT_THROW_WITH(statement, exception_type, ...) \
  CADENZA_THROW_WITH_(statement, exception_type, GTEST_FATAL_FAILURE_, __VA_ARGS__)

// EXPECT_CLI_ERROR(result, {"substring", ...}): the CommandResult of run_cadenza exited with 1 and printed one
// "cadenza: error: ..." line containing each substring. EXPECT_CLI_ERROR_CODE takes the exit code and the text
// to search (e.g. stderr alone) explicitly.
#define EXPECT_CLI_ERROR(result, ...)                                                                              \
  GTEST_ASSERT_(::cadenza::testing::cli_error_names(#result, (result).exit_code, (result).output, 1, __VA_ARGS__), \
                GTEST_NONFATAL_FAILURE_)
#define EXPECT_CLI_ERROR_CODE(what, actual_exit_code, output, exit_code, ...)                                \
  GTEST_ASSERT_(::cadenza::testing::cli_error_names(what, actual_exit_code, output, exit_code, __VA_ARGS__), \
                GTEST_NONFATAL_FAILURE_)

// Skips the current test with a loud message when a data set is missing.
#define CADENZA_REQUIRE_DATA(relative)                                                                      \
  do {                                                                                                      \
    if (!std::filesystem::exists(::cadenza::testing::data_dir() + "/" + (relative))) {                      \
      std::fprintf(stderr, "\n*** SKIPPED: data set %s not found under '%s' (CADENZA_TEST_DATA_DIR) ***\n", \
                   std::string(relative).c_str(), ::cadenza::testing::data_dir().c_str());                  \
      GTEST_SKIP() << "data set " << (relative) << " not found";                                            \
    }                                                                                                       \
  } while (0)
