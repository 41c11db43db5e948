// `cadenza baseline` end to end: the n-gram figures of a small melody shard as text and JSON, and the errors; and
// `cadenza evaluate` showing the same figures beside a token model's NLL.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_fixtures.h"
#include "common/file_io.h"
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

std::string four_decimals(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  return text;
}

// evaluate fits the n-grams itself (through train/evaluate_baselines.h); `cadenza baseline` is the independent path
// whose figures it must reproduce on the same shard, split and window.
TEST(CliBaseline, EvaluateShowsBothNgramsBesideTheModelOnTheSameTokens) {
  testing::TwoTrackShards shards;
  const std::string run = shards.dir.file("run");
  const auto trained = run_cadenza("train --model lstm --preset tiny --data " + shards.melody + " --out " + run +
                                   " --steps 10 --set crop_length=32 --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;

  for (const std::string window : {"1024", "16"}) {
    SCOPED_TRACE("window " + window);
    const auto expected_run =
        run_cadenza("baseline --data " + shards.melody + " --split valid --window " + window + " --json");
    ASSERT_EQ(expected_run.exit_code, 0) << expected_run.output;
    const nlohmann::json expected = nlohmann::json::parse(expected_run.output);

    const auto json_run = run_cadenza("evaluate --checkpoint " + run + " --data " + shards.melody +
                                      " --split valid --window " + window + " --json --threads 1");
    ASSERT_EQ(json_run.exit_code, 0) << json_run.output;
    const nlohmann::json result = nlohmann::json::parse(json_run.output);
    ASSERT_TRUE(result.contains("ngram_baseline")) << result.dump(2);
    const nlohmann::json& ngram = result["ngram_baseline"];
    EXPECT_EQ(result["window"], std::stoll(window));
    EXPECT_EQ(result["training_crop_length"], 32);
    EXPECT_EQ(ngram["split"], "valid");
    EXPECT_EQ(ngram["order"], expected["order"]);
    EXPECT_NEAR(ngram["nll"].get<double>(), expected["nll"].get<double>(), 1e-12);
    ASSERT_TRUE(ngram.contains("cached"));
    EXPECT_EQ(ngram["cached"]["order"], expected["cached"]["order"]);
    EXPECT_NEAR(ngram["cached"]["nll"].get<double>(), expected["cached"]["nll"].get<double>(), 1e-12);
    // The same tokens: the n-grams and the model are scored with one protocol.
    EXPECT_EQ(ngram["elements"], expected["elements"]);
    EXPECT_EQ(result["model"]["elements"], expected["elements"]);
    EXPECT_EQ(ngram["same_tokens"], true);

    const auto text = run_cadenza("evaluate --checkpoint " + run + " --data " + shards.melody +
                                  " --split valid --window " + window + " --threads 1");
    ASSERT_EQ(text.exit_code, 0) << text.output;
    const std::string elements = std::to_string(expected["elements"].get<int64_t>());
    EXPECT_NE(text.output.find(elements + " tokens scored in windows of " + window +
                               " tokens; trained on crops of 32 tokens"),
              std::string::npos)
        << text.output;
    const std::string plain_row = "Kneser-Ney " + std::to_string(expected["order"].get<int>()) + "-gram";
    const size_t plain = text.output.find(plain_row + " ");
    ASSERT_NE(plain, std::string::npos) << text.output;
    EXPECT_NE(text.output.find(four_decimals(expected["nll"].get<double>()), plain), std::string::npos) << text.output;
    const size_t cached = text.output.find("Kneser-Ney " + std::to_string(expected["cached"]["order"].get<int>()) +
                                           "-gram + piece cache");
    ASSERT_NE(cached, std::string::npos) << text.output;
    EXPECT_NE(text.output.find(four_decimals(expected["cached"]["nll"].get<double>()), cached), std::string::npos)
        << text.output;
    EXPECT_NE(text.output.find("scored on the same " + elements + " tokens as the model"), std::string::npos)
        << text.output;
  }

  // The model card (scripts/write_model_card.py) from evaluate's JSON and `cadenza metrics` on generated pieces:
  // the NLL beside both n-grams, the form metrics beside the real tunes'.
  const auto test_json = run_cadenza("evaluate --checkpoint " + run + " --data " + shards.melody + " --json");
  ASSERT_EQ(test_json.exit_code, 0) << test_json.output;
  const nlohmann::json test = nlohmann::json::parse(test_json.output);
  write_file_atomic(shards.dir.file("test.json"), test_json.output);
  const std::string samples = shards.dir.file("samples");
  const auto generated = run_cadenza("generate --checkpoint " + run + " --out " + samples + " -n 2 --bars 4 --seed 1");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  const auto form_run = run_cadenza("metrics " + samples + " --bars 4 --reference-shard " + shards.melody +
                                    " --split test --json --mean-only");
  ASSERT_EQ(form_run.exit_code, 0) << form_run.output;
  write_file_atomic(shards.dir.file("form.json"), form_run.output);
  const nlohmann::json form = nlohmann::json::parse(form_run.output);
  std::filesystem::create_directories(shards.dir.file("card"));
  std::filesystem::copy_file(run + "/checkpoints/best.safetensors", shards.dir.file("card/model.safetensors"));
  // Writes card/README.md with `notes` as the measurement script's Markdown (--notes).
  const auto write_card = [&](const std::string& notes) {
    write_file_atomic(shards.dir.file("notes.md"), notes);
    return testing::run_command("/usr/bin/python3 " + std::string(CADENZA_SOURCE_DIR) +
                                "/scripts/write_model_card.py tiny-lstm " + run + " " + shards.dir.file("test.json") +
                                " 'cadenza train ...' " + shards.dir.file("form.json") +
                                " 'cadenza metrics ...' --out " + shards.dir.file("card/README.md") + " --notes " +
                                shards.dir.file("notes.md"));
  };
  const auto card_run = write_card("| measured by a script | 0.5 |\n");
  ASSERT_EQ(card_run.exit_code, 0) << card_run.output;
  const std::string card = read_file_text(shards.dir.file("card/README.md"));
  // --notes: a measurement script's Markdown, appended as it is; a plain melody model says it has no chords.
  EXPECT_NE(card.find("\n| measured by a script | 0.5 |\n"), std::string::npos) << card;
  EXPECT_NE(card.find("melodies only (no chords)"), std::string::npos) << card;
  auto three_decimals = [](double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", value);
    return std::string(text);
  };
  const nlohmann::json& ngram = test["ngram_baseline"];
  EXPECT_NE(card.find("| test NLL | **" + three_decimals(test["model"]["nll"].get<double>()) + " nats/token**"),
            std::string::npos)
      << card;
  EXPECT_NE(card.find("scored in windows of 1,024 tokens (trained on crops of 32)"), std::string::npos) << card;
  EXPECT_NE(
      card.find("| Kneser-Ney " + std::to_string(ngram["order"].get<int>()) + "-gram baseline | " +
                three_decimals(ngram["nll"].get<double>()) + " nats/token (order chosen on valid; the same tokens)"),
      std::string::npos)
      << card;
  EXPECT_NE(card.find("| Kneser-Ney " + std::to_string(ngram["cached"]["order"].get<int>()) +
                      "-gram + piece cache baseline | " + three_decimals(ngram["cached"]["nll"].get<double>()) +
                      " nats/token"),
            std::string::npos)
      << card;
  EXPECT_NE(card.find("| form metric | generated | real tunes |"), std::string::npos) << card;
  for (const char* name : {"recurring_2bar_patterns", "notes_in_key", "offgrid_onsets", "pitch_range"}) {
    const nlohmann::json& mine = form["form_mean"][name];
    const nlohmann::json& real = form["reference"]["form_mean"][name];
    const std::string row = std::string("| ") + name + " | " + (mine.is_null() ? "-" : three_decimals(mine)) + " | " +
                            (real.is_null() ? "-" : three_decimals(real)) + " |";
    EXPECT_NE(card.find(row), std::string::npos) << row << "\n" << card;
  }
  // The card ends with how to reproduce it: the training command, unless the notes bring their own "Reproduce:"
  // block (the training and measuring commands of scripts/measure_tune_model.sh), which then is the card's only one.
  const auto count_reproduce = [](const std::string& text) {
    int count = 0;
    for (size_t at = text.find("Reproduce:"); at != std::string::npos; at = text.find("Reproduce:", at + 1)) ++count;
    return count;
  };
  EXPECT_NE(card.find("Reproduce:\n\n```bash\ncadenza train ...\n```"), std::string::npos) << card;
  EXPECT_EQ(count_reproduce(card), 1) << card;
  const auto own_run =
      write_card("| measured by a script | 0.5 |\n\nReproduce:\n\n```bash\nmeasure.sh model shard\n```\n");
  ASSERT_EQ(own_run.exit_code, 0) << own_run.output;
  const std::string own_card = read_file_text(shards.dir.file("card/README.md"));
  EXPECT_EQ(count_reproduce(own_card), 1) << own_card;
  EXPECT_NE(own_card.find("Reproduce:\n\n```bash\nmeasure.sh model shard\n```"), std::string::npos) << own_card;
  EXPECT_EQ(own_card.find("cadenza train ..."), std::string::npos) << own_card;

  const auto skipped = run_cadenza("evaluate --checkpoint " + run + " --data " + shards.melody + " --no-baseline");
  ASSERT_EQ(skipped.exit_code, 0) << skipped.output;
  EXPECT_EQ(skipped.output.find("Kneser-Ney"), std::string::npos) << skipped.output;
  EXPECT_EQ(skipped.output.find("unigram baseline"), std::string::npos) << skipped.output;
  const auto skipped_json =
      run_cadenza("evaluate --checkpoint " + run + " --data " + shards.melody + " --no-baseline --json");
  ASSERT_EQ(skipped_json.exit_code, 0) << skipped_json.output;
  EXPECT_FALSE(nlohmann::json::parse(skipped_json.output).contains("ngram_baseline"));
}

// `evaluate --repeat-probe`: each test piece's first bars played twice. The n-gram with a piece cache must predict
// the second copy far better than the first (the check that the probe works); the model's figures are reported on
// the same tokens.
TEST(CliBaseline, RepeatProbeScoresBothCopiesBesideTheNgrams) {
  testing::TwoTrackShards shards;  // tunes of 6..9 bars of 4/4
  const std::string run = shards.dir.file("run");
  const auto trained = run_cadenza("train --model lstm --preset tiny --data " + shards.melody + " --out " + run +
                                   " --steps 10 --set crop_length=32 --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;

  const auto json_run = run_cadenza("evaluate --checkpoint " + run + " --data " + shards.melody +
                                    " --repeat-probe --repeat-bars 4 --json --threads 1");
  ASSERT_EQ(json_run.exit_code, 0) << json_run.output;
  const nlohmann::json result = nlohmann::json::parse(json_run.output);
  ASSERT_TRUE(result.contains("repeat_probe")) << result.dump(2);
  const nlohmann::json& probe = result["repeat_probe"];
  EXPECT_EQ(probe["bars"], 4);
  // 16 sixteenths per bar; tokens 1 .. L-1 of each copy are scored
  EXPECT_EQ(probe["tokens_per_copy"], probe["pieces"].get<int64_t>() * (4 * 16 - 1));
  const Shard shard(shards.melody);
  EXPECT_EQ(probe["pieces"].get<size_t>(), shard.pieces_in_split(Split::kTest).size());  // all have 4 bars
  EXPECT_EQ(probe["model"]["tokens"], probe["pieces"].get<int64_t>() * (4 * 16 - 1));
  for (const char* key : {"model", "ngram", "ngram_cached"}) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(probe.contains(key));
    const double first = probe[key]["first_nll"].get<double>(), second = probe[key]["second_nll"].get<double>();
    EXPECT_GT(first, 0.0);
    EXPECT_GE(second, 0.0);
    EXPECT_NEAR(probe[key]["ratio"].get<double>(), second / first, 1e-12);
  }
  // The cache has heard the phrase: the second copy costs far less than the first.
  EXPECT_LT(probe["ngram_cached"]["ratio"].get<double>(), 0.5) << probe.dump(2);
  // The normal figures are still there.
  EXPECT_TRUE(result.contains("model"));
  EXPECT_TRUE(result.contains("ngram_baseline"));

  const auto text = run_cadenza("evaluate --checkpoint " + run + " --data " + shards.melody +
                                " --repeat-probe --repeat-bars 4 --threads 1");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("repeat probe: the first 4 bars of"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("ratio 2nd / 1st"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("-gram + piece cache"), std::string::npos) << text.output;

  const auto too_long = run_cadenza("evaluate --checkpoint " + run + " --data " + shards.melody +
                                    " --repeat-probe --repeat-bars 20 --threads 1");
  EXPECT_EQ(too_long.exit_code, 1) << too_long.output;
  EXPECT_NE(too_long.output.find("cadenza: error: " + shards.melody +
                                 ": no piece of the test split has 20 bars for the repeat probe"),
            std::string::npos)
      << too_long.output;
  const auto zero =
      run_cadenza("evaluate --checkpoint " + run + " --data " + shards.melody + " --repeat-probe --repeat-bars 0");
  EXPECT_EQ(zero.exit_code, 1) << zero.output;
  EXPECT_NE(zero.output.find("--repeat-bars must be in [1, 1024], got 0"), std::string::npos) << zero.output;
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
