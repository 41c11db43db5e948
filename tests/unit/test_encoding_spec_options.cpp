#include <gtest/gtest.h>

#include "common/error.h"
#include "encoding/pianoroll.h"
#include "encoding/spec_options.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(SpecOptions, ReadsValuesAndFallsBack) {
  const auto spec = nlohmann::json::parse(R"({"name": "x", "a": 3, "b": 0.5, "c": true, "d": "lead"})");
  const SpecOptions options(spec, "x encoding", "x", {"a", "b", "c", "d", "e"});
  EXPECT_EQ(options.integer("a", 0, 1, 10), 3);
  EXPECT_DOUBLE_EQ(options.number("b", 0.0, 0.0, 1.0), 0.5);
  EXPECT_TRUE(options.boolean("c", false));
  EXPECT_EQ(options.string("d", ""), "lead");
  EXPECT_EQ(options.integer("e", 7, 1, 10), 7);
}

// nlohmann stores 0 as an unsigned number: the lower bound must still apply to it.
TEST(SpecOptions, LowerBoundAppliesToNonNegativeLiterals) {
  const auto spec = nlohmann::json::parse(R"({"a": 0, "b": -4, "c": 11})");
  const SpecOptions options(spec, "x encoding", "x", {"a", "b", "c"});
  EXPECT_NE(error_of([&] { options.integer("a", 1, 1, 10); }).find("'a' = 0 is outside 1..10"), std::string::npos);
  EXPECT_NE(error_of([&] { options.integer("b", 1, 1, 10); }).find("outside"), std::string::npos);
  EXPECT_NE(error_of([&] { options.integer("c", 1, 1, 10); }).find("outside"), std::string::npos);
}

TEST(SpecOptions, RejectsUnknownOptionsWrongTypesAndWrongName) {
  EXPECT_NE(error_of([] {
              SpecOptions(nlohmann::json::parse(R"({"z": 1})"), "x encoding", "x", {"a"});
            }).find("x encoding: unknown option 'z'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              SpecOptions(nlohmann::json::parse(R"({"name": "y"})"), "x encoding", "x", {});
            }).find("spec names encoding \"y\""),
            std::string::npos);
  EXPECT_NE(error_of([] { SpecOptions(nlohmann::json::parse("[1]"), "x encoding", "x", {}); }).find("JSON object"),
            std::string::npos);
  const auto spec = nlohmann::json::parse(R"({"a": "3", "b": 1.5})");
  const SpecOptions options(spec, "x encoding", "x", {"a", "b"});
  EXPECT_NE(error_of([&] { options.integer("a", 1, 1, 10); }).find("must be an integer"), std::string::npos);
  EXPECT_NE(error_of([&] { options.boolean("b", false); }).find("must be true or false"), std::string::npos);
  EXPECT_NE(error_of([&] { options.number("b", 0, 0, 1); }).find("outside"), std::string::npos);
}

TEST(SpecOptions, PianoRollRejectsZeroStepsPerQuarter) {
  EXPECT_THROW_WITH(PianoRollSpec::from_json(nlohmann::json::parse(R"({"steps_per_quarter": 0})")), Error,
                    {"piano roll", "'steps_per_quarter' = 0", "outside 1..480"});
}

}  // namespace
}  // namespace cadenza
