// `cadenza midi info` end to end: text, JSON and errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

using testing::run_cadenza;

// A small band: violin on channel 3 and drums, 100 qpm then 150 qpm, 6/8, E minor. 480 ticks per quarter.
Score band() {
  Score score = make_empty_score(480, 100.0, 6, 8);
  score.tempos.push_back({1440 * 2, 400000});  // 150 qpm from bar 3
  score.key_signatures.push_back({0, 1, true});
  score.tracks.push_back({"Fiddle", 40, false, 2, {{64, 90, 0, 720}, {76, 90, 720, 1440}, {69, 80, 1440, 4320}}});
  score.tracks.push_back({"Kit", 0, true, 9, {{36, 120, 0, 240}, {38, 100, 720, 960}}});
  score.normalize();
  return score;
}

TEST(CliMidi, InfoPrintsTheFileSummary) {
  testing::TempDir dir;
  const std::string path = dir.file("band.mid");
  write_midi_file(band(), path);
  auto result = run_cadenza("midi info " + path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string& out = result.output;
  EXPECT_NE(out.find("format      1 (3 MTrk chunks)"), std::string::npos) << out;
  EXPECT_NE(out.find("480 ticks per quarter"), std::string::npos) << out;
  EXPECT_NE(out.find("\"Fiddle\""), std::string::npos) << out;
  EXPECT_NE(out.find("channel  3  program 40 (Violin)"), std::string::npos) << out;
  EXPECT_NE(out.find("channel 10  drums"), std::string::npos) << out;
  EXPECT_NE(out.find("E4..E5"), std::string::npos) << out;
  EXPECT_NE(out.find("100 qpm at 0 s, 150 qpm at 3.6 s"), std::string::npos) << out;
  EXPECT_NE(out.find("6/8 at bar 1"), std::string::npos) << out;
  EXPECT_NE(out.find("E minor"), std::string::npos) << out;
  EXPECT_NE(out.find("notes       5"), std::string::npos) << out;
  // 4320 ticks of 6/8 (1440 ticks a bar) = 3 bars; 2880 ticks at 100 qpm (3.6 s) + 1440 at 150 qpm (1.2 s).
  EXPECT_NE(out.find("duration    4.800 s = 3 bars + 0 beats"), std::string::npos) << out;
}

TEST(CliMidi, InfoJsonSaysTheSame) {
  testing::TempDir dir;
  const std::string path = dir.file("band.mid");
  write_midi_file(band(), path);
  auto result = run_cadenza("midi info " + path + " --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json info = nlohmann::json::parse(result.output);
  EXPECT_EQ(info["format"], 1);
  EXPECT_EQ(info["ticks_per_quarter"], 480);
  ASSERT_EQ(info["tracks"].size(), 2u);
  EXPECT_EQ(info["tracks"][0]["name"], "Fiddle");
  EXPECT_EQ(info["tracks"][0]["channel"], 3);
  EXPECT_EQ(info["tracks"][0]["program"], 40);
  EXPECT_EQ(info["tracks"][0]["instrument"], "Violin");
  EXPECT_EQ(info["tracks"][0]["notes"], 3);
  EXPECT_EQ(info["tracks"][0]["lowest_pitch"], 64);
  EXPECT_EQ(info["tracks"][0]["highest_pitch"], 76);
  EXPECT_EQ(info["tracks"][1]["drum"], true);
  EXPECT_EQ(info["tracks"][1]["channel"], 10);
  ASSERT_EQ(info["tempos"].size(), 2u);
  EXPECT_DOUBLE_EQ(info["tempos"][1]["qpm"].get<double>(), 150.0);
  EXPECT_EQ(info["time_signatures"][0]["text"], "6/8");
  EXPECT_EQ(info["key_signatures"][0]["text"], "E minor");
  EXPECT_EQ(info["total_notes"], 5);
  EXPECT_DOUBLE_EQ(info["duration"]["seconds"].get<double>(), 4.8);
  EXPECT_EQ(info["duration"]["bars"], 3);
}

TEST(CliMidi, MalformedFileNamesTheByte) {
  testing::TempDir dir;
  const std::string path = dir.file("broken.mid");
  std::vector<uint8_t> bytes = write_midi(band());
  bytes[12] = 0;  // division 0 ticks per quarter
  bytes[13] = 0;
  write_file_atomic(path, bytes);
  EXPECT_CLI_ERROR(run_cadenza("midi info " + path),
                   {"cadenza: error: " + path + ": byte 12: division of 0 ticks per quarter"});

  // A track cut short: the error points into the file, still exit 1.
  std::vector<uint8_t> cut = write_midi(band());
  cut.resize(cut.size() - 5);
  write_file_atomic(path, cut);
  EXPECT_CLI_ERROR(run_cadenza("midi info " + path + " --json"), {"cadenza: error: " + path + ": byte "});
}

TEST(CliMidi, MissingFileAndMissingSubcommand) {
  testing::TempDir dir;
  EXPECT_CLI_ERROR(run_cadenza("midi info " + dir.file("nothing.mid")),
                   {"cadenza: error: " + dir.file("nothing.mid") + ": cannot open"});
  const auto bare = run_cadenza("midi");
  EXPECT_NE(bare.exit_code, 0);
  EXPECT_NE(bare.output.find("A subcommand is required"), std::string::npos) << bare.output;
}

TEST(CliMidi, InfoOnARealNottinghamFile) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI/ashover1.mid");
  auto result = run_cadenza("midi info " + testing::data_path("nottingham/MIDI/ashover1.mid") + " --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json info = nlohmann::json::parse(result.output);
  EXPECT_EQ(info["ticks_per_quarter"], 1024);
  EXPECT_EQ(info["total_notes"], 158);
  EXPECT_EQ(info["key_signatures"][0]["text"], "G major");
  EXPECT_DOUBLE_EQ(info["duration"]["seconds"].get<double>(), 47.5);
}

}  // namespace
}  // namespace cadenza
