// Reading a run's metrics.jsonl for the report: curves, speed, time, and a clear error for a corrupt line.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/error.h"
#include "report/training_log.h"
#include "support/test_support.h"

namespace cadenza::report {
namespace {

const char* kAutoregressiveRun =
    R"({"kind":"train","step":20,"loss":3.5,"learning_rate":0.001,"elements_per_second":100,"elapsed_seconds":2.0}
{"kind":"train","step":40,"loss":3.0,"learning_rate":0.001,"elements_per_second":1000,"elapsed_seconds":3.0}
{"kind":"valid","step":40,"nll":2.9,"perplexity":18.2,"elapsed_seconds":3.5,"best":true}

{"kind":"train","step":60,"loss":2.5,"learning_rate":0.001,"elements_per_second":2000,"elapsed_seconds":4.0}
{"kind":"valid","step":60,"nll":2.7,"elapsed_seconds":4.5}
{"kind":"end","step":60,"stop_reason":"time budget","elapsed_seconds":4.6,"parameters":4321,"best_valid_score":2.7}
)";

TEST(ReportTrainingLog, ReadsCurvesSpeedAndEnd) {
  const TrainingSummary summary = parse_training_log(kAutoregressiveRun, "metrics.jsonl");
  ASSERT_EQ(summary.train_loss.size(), 3u);
  EXPECT_DOUBLE_EQ(summary.train_loss[1].step, 40);
  EXPECT_DOUBLE_EQ(summary.train_loss[1].value, 3.0);
  EXPECT_DOUBLE_EQ(summary.train_loss[2].elapsed_seconds, 4.0);
  EXPECT_EQ(summary.valid_name, "nll");
  ASSERT_EQ(summary.valid.size(), 2u);
  EXPECT_DOUBLE_EQ(summary.valid[1].value, 2.7);
  EXPECT_DOUBLE_EQ(summary.elements_per_second, 1500) << "the first interval (start-up costs) is left out";
  EXPECT_EQ(summary.steps, 60);
  EXPECT_DOUBLE_EQ(summary.seconds, 4.6);
  EXPECT_EQ(summary.stop_reason, "time budget");
  EXPECT_EQ(summary.parameters, 4321);
}

TEST(ReportTrainingLog, VaeAndGanRecords) {
  const TrainingSummary vae = parse_training_log(
      R"({"kind":"train","step":10,"loss":40.0,"elements_per_second":50,"elapsed_seconds":1}
{"kind":"valid","step":10,"elbo_per_token":1.7,"kl_bits":3.0,"elapsed_seconds":1.2})",
      "vae.jsonl");
  EXPECT_EQ(vae.valid_name, "elbo_per_step") << "the legacy key of older runs reads as the current one";
  ASSERT_EQ(vae.valid.size(), 1u);
  EXPECT_DOUBLE_EQ(vae.valid[0].value, 1.7);
  EXPECT_DOUBLE_EQ(vae.elements_per_second, 50) << "a single record is used as is";
  EXPECT_EQ(vae.steps, 10) << "without an end record, the last record tells how far the run got";
  EXPECT_DOUBLE_EQ(vae.seconds, 1.2);
  EXPECT_EQ(vae.parameters, -1);

  const TrainingSummary current = parse_training_log(
      R"({"kind":"valid","step":10,"elbo_per_step":0.9,"kl_bits":3.0,"elapsed_seconds":1.2})", "vae2.jsonl");
  EXPECT_EQ(current.valid_name, "elbo_per_step");
  ASSERT_EQ(current.valid.size(), 1u);
  EXPECT_DOUBLE_EQ(current.valid[0].value, 0.9);

  const TrainingSummary gan = parse_training_log(
      R"({"kind":"train","step":20,"loss":-0.5,"critic_loss":0.1,"elapsed_seconds":1}
{"kind":"valid","step":20,"mode_collapse":false,"elapsed_seconds":1.1})",
      "gan.jsonl");
  EXPECT_EQ(gan.valid_name, "") << "GAN validations carry no score";
  EXPECT_TRUE(gan.valid.empty());
  EXPECT_TRUE(std::isnan(gan.elements_per_second));
}

TEST(ReportTrainingLog, CorruptLineNamesFileAndOffset) {
  const std::string text = "{\"kind\":\"train\",\"step\":1,\"loss\":1}\n{\"kind\": tr\n";
  try {
    parse_training_log(text, "runs/lstm/metrics.jsonl");
    FAIL() << "expected FormatError";
  } catch (const FormatError& error) {
    EXPECT_EQ(error.file(), "runs/lstm/metrics.jsonl");
    EXPECT_EQ(error.offset(), 35) << "the byte offset of the bad line";
  }
  EXPECT_THROW_WITH(parse_training_log("[1, 2]\n", "runs/x.jsonl"), FormatError,
                    {"runs/x.jsonl: byte 0", "not a JSON object"})
      << "a line must be an object";
  // Ill-typed fields are ignored rather than crashing.
  const TrainingSummary odd =
      parse_training_log(R"({"kind":"end","step":5,"stop_reason":7,"parameters":"many","elapsed_seconds":"x"})", "x");
  EXPECT_EQ(odd.stop_reason, "");
  EXPECT_EQ(odd.parameters, -1);
  EXPECT_THROW_WITH(read_training_log("/nonexistent/metrics.jsonl"), IoError,
                    {"/nonexistent/metrics.jsonl", "cannot open"});
}

}  // namespace
}  // namespace cadenza::report
