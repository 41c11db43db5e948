// `cadenza baseline` end to end: the n-gram figures of a small melody shard as text and JSON, and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli_fixtures.h"
#include "data/shard.h"
#include "eval/ngram.h"

namespace cadenza {
namespace {

using testing::run_cadenza;

TEST(CliBaseline, PrintsTheChosenOrderAndBothFigures) {
  testing::TwoTrackShards shards;
  const auto text = run_cadenza("baseline --data " + shards.melody + " --max-order 4");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("test split"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("valid NLL by order (nats/token): 1:"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("+ piece cache"), std::string::npos) << text.output;

  const auto json_run = run_cadenza("baseline --data " + shards.melody + " --max-order 4 --json");
  ASSERT_EQ(json_run.exit_code, 0) << json_run.output;
  const nlohmann::json report = nlohmann::json::parse(json_run.output);
  // The same figures as the library computes on the same shard.
  eval::NgramBaselineOptions options;
  options.max_order = 4;
  const eval::NgramBaseline expected = eval::fit_ngram_baseline(Shard(shards.melody), options);
  EXPECT_EQ(report["order"], expected.order);
  EXPECT_NEAR(report["nll"].get<double>(), expected.nll, 1e-12);
  EXPECT_NEAR(report["cached"]["nll"].get<double>(), expected.nll_cached, 1e-12);
  EXPECT_EQ(report["elements"], expected.elements);
  EXPECT_EQ(report["valid_by_order"].size(), 4u);
  EXPECT_NE(text.output.find("Kneser-Ney " + std::to_string(expected.order) + "-gram"), std::string::npos)
      << text.output;

  const auto no_cache = run_cadenza("baseline --data " + shards.melody + " --order 2 --no-cache --json");
  ASSERT_EQ(no_cache.exit_code, 0) << no_cache.output;
  const nlohmann::json plain = nlohmann::json::parse(no_cache.output);
  EXPECT_EQ(plain["order"], 2);
  EXPECT_FALSE(plain.contains("cached"));
}

TEST(CliBaseline, ErrorsNameTheProblem) {
  testing::TwoTrackShards shards;
  const auto roll = run_cadenza("baseline --data " + shards.roll);
  EXPECT_EQ(roll.exit_code, 1) << roll.output;
  EXPECT_NE(roll.output.find("cadenza: error: " + shards.roll +
                             ": a piano-roll shard; the n-gram baseline scores token shards only"),
            std::string::npos)
      << roll.output;
  const auto split = run_cadenza("baseline --data " + shards.melody + " --split holdout");
  EXPECT_EQ(split.exit_code, 1) << split.output;
  EXPECT_NE(split.output.find("unknown split 'holdout'"), std::string::npos) << split.output;
  const auto missing = run_cadenza("baseline --data " + shards.dir.file("missing.cdz"));
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("missing.cdz"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace cadenza
