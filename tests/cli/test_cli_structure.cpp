// Tunes with structure end to end: `dataset prepare --set structure=true` (START, METER, KEY, END tokens), training
// an LSTM and a Transformer that read the step context (bar position, lookback tokens), evaluating them, and
// `generate --until-end`, which stops where the model ends the tune.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/file_io.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::run_cadenza;

// A 4-bar tune in 3/4 or 4/4, D major (two sharps), that states a 1-bar figure twice.
Score tune(int seed) {
  const int numerator = seed % 2 == 0 ? 3 : 4;
  Score score = make_empty_score(480, 120.0, numerator, 4);
  score.key_signatures = {{0, 2, false}};
  Track track;
  track.name = "tune";
  const int scale[] = {62, 64, 66, 67, 69, 71, 73, 74};
  int64_t tick = 0;
  for (int bar = 0; bar < 4; ++bar)
    for (int beat = 0; beat < numerator; ++beat, tick += 480)
      track.notes.push_back({scale[(seed + (bar % 2) * 2 + beat) % 8], 90, tick, tick + 480});
  score.tracks.push_back(track);
  score.normalize();
  return score;
}

struct StructuredTunes {
  testing::TempDir dir;
  std::string shard = dir.file("tunes.cdz");
  StructuredTunes() {
    fs::create_directories(dir.file("tunes"));
    for (int i = 0; i < 30; ++i) write_midi_file(tune(i), dir.file("tunes/tune" + std::to_string(i) + ".mid"));
    const auto prepared =
        run_cadenza("dataset prepare --input " + dir.file("tunes") +
                    " --encoding melody --set structure=true --split 0.6,0.2,0.2 --no-group-duplicates"
                    " --out " +
                    shard);
    EXPECT_EQ(prepared.exit_code, 0) << prepared.output;
  }
};

TEST(CliStructure, PrepareTrainEvaluateAndGenerateUntilTheModelsEnd) {
  StructuredTunes data;
  const auto info = run_cadenza("dataset info " + data.shard);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("structure"), std::string::npos) << info.output;

  for (const std::string family : {"lstm", "transformer"}) {
    const std::string run = data.dir.file("run_" + family);
    const auto trained = run_cadenza("train --model " + family + " --preset tiny --data " + data.shard + " --out " +
                                     run + " --steps 40 --set eval_every=20 --threads 1");
    ASSERT_EQ(trained.exit_code, 0) << trained.output;
    // The presets read the context the data gives: 25 bar positions at 4 steps per quarter, both lookbacks.
    std::ifstream config_file(run + "/config.json");
    const auto config = nlohmann::json::parse(config_file);
    EXPECT_EQ(config["model"]["context_positions"], 25) << family;
    EXPECT_EQ(config["model"]["context_lookback"], 2) << family;

    const auto evaluated = run_cadenza("evaluate --checkpoint " + run + " --data " + data.shard + " --json");
    ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
    const auto result = nlohmann::json::parse(evaluated.output.substr(evaluated.output.find('{')));
    EXPECT_GT(result["model"]["nll"].get<double>(), 0.0) << family;
    EXPECT_TRUE(std::isfinite(result["model"]["nll"].get<double>())) << family;

    const std::string out = data.dir.file("until_end_" + family);
    const auto generated =
        run_cadenza("generate --checkpoint " + run + " --out " + out + " -n 3 --until-end --bars 8 --seed 3");
    ASSERT_EQ(generated.exit_code, 0) << generated.output;
    for (const char* name : {"sample_001.mid", "sample_002.mid", "sample_003.mid"}) {
      const Score score = read_midi_file(out + "/" + name);
      // The KEY and METER tokens the model chose are in the file; the cap (8 bars) bounds the length.
      ASSERT_FALSE(score.time_signatures.empty()) << name;
      const int denominator = score.time_signatures[0].denominator;
      EXPECT_TRUE(denominator == 2 || denominator == 4 || denominator == 8) << name << ": not a METER token's meter";
      EXPECT_FALSE(score.key_signatures.empty()) << name << ": the KEY token sets a key signature";
      EXPECT_LE(score.end_tick(), 8 * 6 * score.ticks_per_quarter) << name << ": past the 8-bar cap";
    }
    // A whole tune as a primer is continued: its END is not part of the primer (else nothing could follow it).
    const Score primer = read_midi_file(data.dir.file("tunes/tune0.mid"));
    const std::string continued = data.dir.file("continued_" + family);
    const auto continuation = run_cadenza("generate --checkpoint " + run + " --out " + continued + " --primer-midi " +
                                          data.dir.file("tunes/tune0.mid") + " --steps 32 --seed 3");
    ASSERT_EQ(continuation.exit_code, 0) << continuation.output;
    std::smatch generated_count;
    ASSERT_TRUE(std::regex_search(continuation.output, generated_count, std::regex("([0-9]+) tokens generated")))
        << continuation.output;
    EXPECT_GE(std::stoi(generated_count[1]), 32) << continuation.output;  // 32 steps, and closing tokens if any
    EXPECT_GE(read_midi_file(continued + "/sample_001.mid").end_tick() * primer.ticks_per_quarter,
              primer.end_tick() * read_midi_file(continued + "/sample_001.mid").ticks_per_quarter)
        << family << ": the primer is kept";
  }
}

TEST(CliStructure, UntilEndNeedsAnEncodingWithAnEndAndAContextNeedsStructuredData) {
  testing::TempDir dir;
  fs::create_directories(dir.file("tunes"));
  for (int i = 0; i < 10; ++i) write_midi_file(tune(i), dir.file("tunes/t" + std::to_string(i) + ".mid"));
  const std::string shard = dir.file("plain.cdz");
  ASSERT_EQ(run_cadenza("dataset prepare --input " + dir.file("tunes") +
                        " --encoding melody --no-group-duplicates"
                        " --split 0.6,0.2,0.2 --out " +
                        shard)
                .exit_code,
            0);
  const auto refused = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + dir.file("run") +
                                   " --steps 2 --set context_lookback=2 --threads 1");
  EXPECT_CLI_ERROR(refused, {shard, "gives no step context", "structure=true"});
  // A plain shard still trains (the presets' context is "as the data allows": none here).
  const auto trained = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + dir.file("run") +
                                   " --steps 4 --set eval_every=2 --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const auto until_end =
      run_cadenza("generate --checkpoint " + dir.file("run") + " --out " + dir.file("out") + " --until-end");
  EXPECT_CLI_ERROR(until_end, {"--until-end"});
}

}  // namespace
}  // namespace cadenza
