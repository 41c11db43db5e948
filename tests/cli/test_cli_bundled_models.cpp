// The bundled models under models/: each loads, generates valid MIDI by name, stays under 4 MB and has a model
// card with its test NLL; the token models sample at the temperature their generation.json gives.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/file_io.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> bundled_models() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(std::string(CADENZA_SOURCE_DIR) + "/models"))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(CliBundledModels, EachGeneratesByNameAndHasACard) {
  const auto names = bundled_models();
  ASSERT_GE(names.size(), 6u) << "models/ should hold the bundled rnn, lstm, gru, transformer, vae and gan";
  const auto listed = testing::run_cadenza("generate --list-models");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  testing::TempDir dir;
  for (const auto& name : names) {
    const fs::path folder = fs::path(CADENZA_SOURCE_DIR) / "models" / name;
    EXPECT_NE(listed.output.find(name), std::string::npos) << name;
    ASSERT_TRUE(fs::exists(folder / "model.safetensors")) << name;
    EXPECT_LT(fs::file_size(folder / "model.safetensors"), 4u * 1000 * 1000) << name << " is over 4 MB";
    std::ifstream card(folder / "README.md");
    ASSERT_TRUE(card.good()) << name << " has no model card";
    std::stringstream text;
    text << card.rdbuf();
    // Autoregressive cards state a test NLL; the vae's its held-out reconstruction; the gan's its samples' statistics
    // beside the training windows' (a GAN has no likelihood).
    const bool has_held_out_figure = text.str().find("test NLL") != std::string::npos ||
                                     text.str().find("held-out (test) reconstruction") != std::string::npos ||
                                     text.str().find("samples vs training windows") != std::string::npos;
    EXPECT_TRUE(has_held_out_figure) << name;
    EXPECT_NE(text.str().find("licence"), std::string::npos) << name;

    const std::string out = dir.file(name);
    const auto generated = testing::run_cadenza("generate --model " + name + " --out " + out + " --bars 4 --seed 3");
    ASSERT_EQ(generated.exit_code, 0) << generated.output;
    const Score score = read_midi_file(out + "/sample_001.mid");
    EXPECT_GT(score.note_count(), 3u) << name;
    // 4 bars of the piece's own meter (a tune model writes its meter: 6/8 bars hold 3 quarters, 12/8 bars 6).
    const TimeSignature meter = score.time_signatures.empty() ? TimeSignature{} : score.time_signatures.front();
    EXPECT_LE(score.end_tick(), 4 * 4 * score.ticks_per_quarter * meter.numerator / meter.denominator) << name;
  }
}

// A length in bars counts bars of the meter the model writes, not of the 4/4 that an empty primer reads as: 4 bars
// of a 6/8 tune are 12 quarters (before the fix, 16 quarters = 5 1/3 bars; --until-end's 64-bar cap ran 85 bars).
TEST(CliBundledModels, LengthInBarsCountsBarsOfTheMeterTheModelWrites) {
  testing::TempDir dir;
  const auto generated =
      testing::run_cadenza("generate --model nottingham-gru --out " + dir.file("tunes") + " -n 8 --seed 1 --bars 4");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  int other_meters = 0;
  for (int i = 1; i <= 8; ++i) {
    const std::string name = "sample_00" + std::to_string(i) + ".mid";
    const Score score = read_midi_file(dir.file("tunes") + "/" + name);
    ASSERT_FALSE(score.time_signatures.empty()) << name;
    const TimeSignature meter = score.time_signatures.front();
    const int64_t bar = 4 * score.ticks_per_quarter * meter.numerator / meter.denominator;
    other_meters += bar != 4 * score.ticks_per_quarter ? 1 : 0;
    EXPECT_LE(score.end_tick(), 4 * bar) << name << ": more than 4 bars of " << meter.numerator << "/"
                                         << meter.denominator;
    EXPECT_GT(score.end_tick(), 2 * bar) << name << ": bars 3 and 4 of " << meter.numerator << "/" << meter.denominator
                                         << " are empty";
  }
  ASSERT_GT(other_meters, 0) << "no piece in a meter whose bar is not 4 quarters: the test shows nothing";
}

// Generation stops when the piece reaches the length asked for (a melody's steps, trailing rests included). Before
// the fix a tune model's first length check came right after its KEY token, when no time had passed, and it put the
// next check at half the token cap: 4,287 and 7,682 tokens were sampled here for 8 bars of 16 steps.
TEST(CliBundledModels, GenerationStopsAtTheLengthWhenTheMelodyRests) {
  testing::TempDir dir;
  const auto generated =
      testing::run_cadenza("generate --model nottingham-chords --out " + dir.file("over") +
                           " -n 2 --seed 1 --style reels --chords \"D | G | D | A7 | D | G | A7 | D\"");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  std::istringstream lines(generated.output);
  std::string line;
  int pieces = 0;
  while (std::getline(lines, line)) {
    const size_t at = line.find(" tokens generated");
    if (at == std::string::npos) continue;
    const size_t from = line.rfind(' ', at - 1) + 1;
    const int tokens = std::stoi(line.substr(from, at - from));
    // 8 bars of 16 steps, the KEY token (START and METER are the primer), END, and closing tokens (a few at most).
    EXPECT_LE(tokens, 8 * 16 + 8) << line;
    ++pieces;
  }
  EXPECT_EQ(pieces, 2) << generated.output;
  for (const char* name : {"sample_001.mid", "sample_002.mid"}) {
    const Score score = read_midi_file(dir.file("over") + "/" + name);
    EXPECT_EQ(score.end_tick(), 8 * 4 * score.ticks_per_quarter) << name << ": the chord track spans the 8 bars";
  }
}

// A bundled token model samples by default at the temperature in its generation.json (the setting its card was
// measured at): the same seed gives the same file as that --temperature given by hand, and another file at another
// temperature (1, or 0.9 for a model whose default is 1).
TEST(CliBundledModels, TokenModelsSampleAtTheTemperatureTheirGenerationJsonGives) {
  testing::TempDir dir;
  std::set<std::string> with_defaults;
  for (const auto& name : bundled_models()) {
    const fs::path defaults = fs::path(CADENZA_SOURCE_DIR) / "models" / name / "generation.json";
    if (!fs::exists(defaults)) continue;
    with_defaults.insert(name);
    const double temperature = nlohmann::json::parse(read_file_text(defaults.string()))["temperature"];
    char text[32];
    std::snprintf(text, sizeof text, "%g", temperature);
    const std::string common = "generate --model " + name + " --bars 8 --seed 4 --out ";
    const auto by_default = testing::run_cadenza(common + dir.file(name + "-default"));
    ASSERT_EQ(by_default.exit_code, 0) << by_default.output;
    EXPECT_TRUE(testing::message_names(
        "generate's output", by_default.output,
        {"temperature " + std::string(text) + ": the model's default, from", defaults.string()}));
    const auto by_hand = testing::run_cadenza(common + dir.file(name + "-by-hand") + " --temperature " + text);
    ASSERT_EQ(by_hand.exit_code, 0) << by_hand.output;
    EXPECT_EQ(by_hand.output.find("the model's default"), std::string::npos) << by_hand.output;
    const std::string other = temperature == 1.0 ? "0.9" : "1";
    const auto at_other = testing::run_cadenza(common + dir.file(name + "-other") + " --temperature " + other);
    ASSERT_EQ(at_other.exit_code, 0) << at_other.output;
    const auto bytes = [&](const std::string& folder) { return read_file_bytes(dir.file(folder) + "/sample_001.mid"); };
    EXPECT_EQ(bytes(name + "-default"), bytes(name + "-by-hand")) << name;
    EXPECT_NE(bytes(name + "-default"), bytes(name + "-other"))
        << name << ": temperature " << other << " gave the same piece";
  }
  EXPECT_EQ(with_defaults,
            (std::set<std::string>{"nottingham-gru", "nottingham-lstm", "nottingham-rnn", "nottingham-transformer"}));
}

// A copy of bundled model NAME in DIR/FOLDER with `defaults` as its generation.json; returns the checkpoint's path.
std::string copy_with_sampling_defaults(const testing::TempDir& dir, const std::string& name, const std::string& folder,
                                        const std::string& defaults) {
  fs::create_directories(dir.path() / folder);
  fs::copy_file(fs::path(CADENZA_SOURCE_DIR) / "models" / name / "model.safetensors",
                dir.path() / folder / "model.safetensors");
  write_file_atomic(dir.file(folder + "/generation.json"), defaults);
  return dir.file(folder + "/model.safetensors");
}

// generation.json beside a model that does not read it, or a malformed one, is an error naming the file.
TEST(CliBundledModels, SamplingDefaultsBesideALatentModelOrMalformedAreClearErrors) {
  testing::TempDir dir;
  const std::string vae = copy_with_sampling_defaults(dir, "nottingham-vae", "vae", R"({"temperature": 0.9})");
  const auto latent = testing::run_cadenza("sample --checkpoint " + vae + " --out " + dir.file("v"));
  EXPECT_CLI_ERROR(
      latent, {dir.file("vae/generation.json"), "sampling defaults apply to the token models", "holds a vae model"});

  const std::string rnn = copy_with_sampling_defaults(dir, "nottingham-rnn", "rnn", R"({"temprature": 0.9})");
  const auto typo = testing::run_cadenza("generate --checkpoint " + rnn + " --out " + dir.file("r"));
  EXPECT_CLI_ERROR(typo, {dir.file("rnn/generation.json"), "unknown key \"temprature\"", "known: temperature"});
}

}  // namespace
}  // namespace cadenza
