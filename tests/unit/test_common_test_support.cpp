// The error-message helpers of tests/support must fail when the message lacks a substring, when the statement
// throws another type or nothing, and when a command's error line is missing or names the wrong thing: a check
// that cannot fail would make every test that uses it worthless.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "common/error.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

void throw_format_error() {
  throw FormatError("bad.mid", 14, "running status without a previous status byte");
}
void throw_runtime_error() {
  throw std::runtime_error("plain runtime error");
}
void throw_int() {
  throw 7;
}
void do_nothing() {}

testing::CommandResult failed_run(const std::string& output) {
  return {1, output};
}

TEST(CommonTestSupport, ThrowWithPassesWhenEverySubstringIsThere) {
  EXPECT_THROW_WITH(throw_format_error(), FormatError, {"bad.mid", "byte 14", "running status"});
  EXPECT_THROW_WITH(throw_format_error(), Error, {"bad.mid"}) << "a base class catches the subclass";
  ASSERT_THROW_WITH(throw_format_error(), FormatError, {"running status"});
}

TEST(CommonTestSupport, ThrowWithFailsOnAMissingSubstringAndShowsTheMessage) {
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_WITH(throw_format_error(), FormatError, {"bad.mid", "byte 15", "tempo"}),
                          "lacks \"byte 15\", \"tempo\"");
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_WITH(throw_format_error(), FormatError, {"tempo"}),
                          "bad.mid: byte 14: running status without a previous status byte");
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_WITH(throw_format_error(), FormatError, {"tempo"}), "`throw_format_error()`");
  EXPECT_FATAL_FAILURE(ASSERT_THROW_WITH(throw_format_error(), FormatError, {"tempo"}), "lacks \"tempo\"");
}

TEST(CommonTestSupport, ThrowWithFailsOnAnotherTypeOrNoThrow) {
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_WITH(throw_runtime_error(), Error, {"plain"}), "plain runtime error");
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_WITH(throw_runtime_error(), Error, {"plain"}), "should throw Error");
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_WITH(throw_int(), Error, {"x"}), "not a std::exception");
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_WITH(do_nothing(), Error, {"x"}), "threw nothing");
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_WITH(throw_format_error(), IoError, {"bad.mid"}), "should throw IoError");
}

TEST(CommonTestSupport, ThrowWithRefusesAnEmptyExpectation) {
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_WITH(throw_format_error(), FormatError, {}), "names no expected substring");
  EXPECT_NONFATAL_FAILURE(EXPECT_THROW_WITH(throw_format_error(), FormatError, {""}), "substring is empty");
}

TEST(CommonTestSupport, CliErrorChecksTheExitCodeAndTheOneErrorLine) {
  const auto ok = failed_run("progress...\ncadenza: error: in.mid: byte 3: truncated\n");
  EXPECT_CLI_ERROR(ok, {"in.mid", "byte 3", "truncated"});
  EXPECT_NONFATAL_FAILURE(EXPECT_CLI_ERROR(failed_run("cadenza: error: in.mid: truncated\n"), {"out.mid"}),
                          "lacks \"out.mid\"");
  EXPECT_NONFATAL_FAILURE(EXPECT_CLI_ERROR(failed_run("in.mid: truncated\n"), {"in.mid"}),
                          "printed 0 lines starting \"cadenza: error: \"");
  // A substring printed outside the error line does not count.
  EXPECT_NONFATAL_FAILURE(EXPECT_CLI_ERROR(failed_run("reading in.mid\ncadenza: error: truncated\n"), {"in.mid"}),
                          "lacks \"in.mid\"");
  EXPECT_NONFATAL_FAILURE(EXPECT_CLI_ERROR(testing::CommandResult({0, "cadenza: error: x\n"}), {"x"}),
                          "exited with 0, expected 1");
  EXPECT_CLI_ERROR_CODE("fetch", 1, "cadenza: error: x.tar.gz: HTTP 404", 1, {"x.tar.gz", "404"});
  EXPECT_NONFATAL_FAILURE(EXPECT_CLI_ERROR_CODE("fetch", 2, "cadenza: error: x", 1, {"x"}), "exited with 2");
}

}  // namespace
}  // namespace cadenza
