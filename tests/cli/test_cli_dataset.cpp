// `cadenza dataset prepare` and `cadenza dataset info` end to end: summaries, JSON, determinism and errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::run_cadenza;

Score tune(int seed, int length) {
  Score score = make_empty_score(480, 120.0);
  Track track;
  track.name = "tune";
  for (int i = 0; i < length; ++i) track.notes.push_back({60 + (seed * 5 + i * 3) % 19, 90, i * 240, i * 240 + 240});
  score.tracks.push_back(track);
  score.normalize();
  return score;
}

void write_plain(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Six tunes (two in a sub-folder) and one broken file.
struct TuneFolder {
  testing::TempDir dir;
  std::string input = dir.file("tunes");
  TuneFolder() {
    for (int i = 0; i < 6; ++i)
      write_plain(input + (i < 4 ? "/" : "/more/") + "tune" + std::to_string(i) + ".mid", write_midi(tune(i, 10 + i)));
    write_plain(input + "/broken.mid", {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0});
  }
};

TEST(CliDataset, PrepareSummarizesAndInfoDescribes) {
  TuneFolder folder;
  const std::string out = folder.dir.file("tunes.cdz");
  auto prepared = run_cadenza("dataset prepare --input " + folder.input +
                              " --encoding melody --set steps_per_quarter=2 --out " + out + " --threads 2");
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  EXPECT_NE(prepared.output.find("prepared 6 pieces"), std::string::npos) << prepared.output;
  EXPECT_NE(prepared.output.find("from 6 of 7 files into " + out), std::string::npos) << prepared.output;
  EXPECT_NE(prepared.output.find("skipped 1 of 7 files; see `cadenza dataset info"), std::string::npos)
      << prepared.output;
  EXPECT_NE(prepared.output.find("broken.mid"), std::string::npos) << prepared.output;
  ASSERT_TRUE(fs::exists(out));

  auto info = run_cadenza("dataset info " + out);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("\"steps_per_quarter\":2"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("vocabulary 39"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("pieces      6:"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("top tokens\n  NOTE_"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("broken.mid: byte 0: "), std::string::npos) << info.output;

  auto json_run = run_cadenza("dataset info " + out + " --json --skipped");
  ASSERT_EQ(json_run.exit_code, 0) << json_run.output;
  const auto json = nlohmann::json::parse(json_run.output);
  EXPECT_EQ(json["pieces"], 6);
  EXPECT_EQ(json["encoding"]["name"], "melody");
  EXPECT_EQ(json["encoding"]["steps_per_quarter"], 2);
  EXPECT_EQ(json["sources"], 6);
  EXPECT_EQ(json["skipped_count"], 1);
  EXPECT_EQ(json["skipped"][0]["path"], "broken.mid");
  EXPECT_EQ(json["file_size"], fs::file_size(out));
  const auto& splits = json["splits"];
  EXPECT_EQ(
      splits["train"]["pieces"].get<int>() + splits["valid"]["pieces"].get<int>() + splits["test"]["pieces"].get<int>(),
      6);
  EXPECT_EQ(json["tokens"]["pieces"], 6);

  // --pieces: every piece's split and source, matching the split counts.
  auto list = run_cadenza("dataset info " + out + " --pieces");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("\tmore/tune5.mid\n"), std::string::npos) << list.output;
  auto list_json = run_cadenza("dataset info " + out + " --pieces --json");
  ASSERT_EQ(list_json.exit_code, 0) << list_json.output;
  const auto pieces = nlohmann::json::parse(list_json.output);
  ASSERT_EQ(pieces.size(), 6u);
  int test_pieces = 0;
  for (const auto& piece : pieces) {
    EXPECT_NE(list.output.find(piece["split"].get<std::string>() + "\t" + piece["path"].get<std::string>() + "\n"),
              std::string::npos)
        << piece;
    test_pieces += piece["split"] == "test";
  }
  EXPECT_EQ(test_pieces, splits["test"]["pieces"].get<int>());
  EXPECT_GT(json["distinct_tokens_used"].get<int>(), 5);
  EXPECT_LE(json["top_tokens"].size(), 10u);
}

TEST(CliDataset, OutputDoesNotDependOnThreadsAndNoRecursiveSkipsSubfolders) {
  TuneFolder folder;
  const std::string one = folder.dir.file("one.cdz"), three = folder.dir.file("three.cdz");
  ASSERT_EQ(run_cadenza("dataset prepare -i " + folder.input + " -e performance -o " + one + " --threads 1").exit_code,
            0);
  ASSERT_EQ(
      run_cadenza("dataset prepare -i " + folder.input + " -e performance -o " + three + " --threads 3").exit_code, 0);
  EXPECT_EQ(read_file_bytes(one), read_file_bytes(three));

  auto top = run_cadenza("dataset prepare -i " + folder.input + " --no-recursive -o " + folder.dir.file("top.cdz"));
  ASSERT_EQ(top.exit_code, 0) << top.output;
  EXPECT_NE(top.output.find("prepared 4 pieces"), std::string::npos) << top.output;
}

TEST(CliDataset, PianoRollFromJsbJson) {
  testing::TempDir dir;
  const std::string json =
      R"({"train": [[[60, 64], [60, 64], [62]]], "valid": [[[72], [71]]], "test": [[[48], [50]]]})";
  write_file_atomic(dir.file("chorales-quarter.json"), json);
  auto prepared = run_cadenza("dataset prepare -i " + dir.file("chorales-quarter.json") +
                              " -e pianoroll --set steps_per_quarter=1 --set lowest_pitch=36 -o " + dir.file("r.cdz"));
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  EXPECT_NE(prepared.output.find("prepared 3 pieces (train 1, valid 1, test 1;"), std::string::npos) << prepared.output;
  auto info = run_cadenza("dataset info " + dir.file("r.cdz") + " --json");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  const auto parsed = nlohmann::json::parse(info.output);
  EXPECT_EQ(parsed["encoding"]["name"], "pianoroll");
  EXPECT_EQ(parsed["encoding"]["lowest_pitch"], 36);
  EXPECT_EQ(parsed["payload"], "packed_bits");
  EXPECT_EQ(parsed["pitches_used"], 7);
}

TEST(CliDataset, UserErrorsExitWithOneClearLine) {
  TuneFolder folder;
  const std::string out = folder.dir.file("x.cdz");
  // Each command, what its error line must name (the input, option or file) and the problem with it.
  struct Case {
    std::string arguments;
    std::string names;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"dataset prepare -i " + folder.dir.file("absent") + " -o " + out, folder.dir.file("absent"), "does not exist"},
      {"dataset prepare -i " + folder.input + " --set steps_per_quarter -o " + out, "--set 'steps_per_quarter'",
       "expected key=value"},
      {"dataset prepare -i " + folder.input + " --set steps_per_quarter=0 -o " + out, "'steps_per_quarter' = 0",
       "outside 1..480"},
      {"dataset prepare -i " + folder.input + " --split 0.8,0.2 -o " + out, "bad split '0.8,0.2'", "three numbers"},
      {"dataset prepare -i " + folder.input + "/broken.mid -o " + out, "broken.mid: byte 0", "truncated MThd header"},
      {"dataset prepare -i " + folder.input + " --min-length 50 --max-length 10 -o " + out, "--min-length 50",
       "--max-length 10"},
      {"dataset prepare -i " + folder.input + " -o " + folder.dir.file("no/such/dir/x.cdz"),
       folder.dir.file("no/such/dir/x.cdz"), "cannot create"},
  };
  for (const auto& c : cases) EXPECT_CLI_ERROR(run_cadenza(c.arguments), {c.names, c.problem}) << c.arguments;
  EXPECT_FALSE(fs::exists(out)) << "failed runs leave no output";
  // An unknown encoding is refused by the option parser, which lists the choices.
  const auto nonsense = run_cadenza("dataset prepare -i " + folder.input + " -e nonsense -o " + out);
  EXPECT_NE(nonsense.exit_code, 0);
  EXPECT_NE(nonsense.output.find("nonsense not in {melody,performance,remi,pianoroll}"), std::string::npos)
      << nonsense.output;
}

TEST(CliDataset, InfoRejectsDamagedFiles) {
  TuneFolder folder;
  const std::string out = folder.dir.file("t.cdz");
  ASSERT_EQ(run_cadenza("dataset prepare -i " + folder.input + " -o " + out).exit_code, 0);
  auto bytes = read_file_bytes(out);
  bytes.resize(bytes.size() - 3);
  const std::string cut = folder.dir.file("cut.cdz");
  write_file_atomic(cut, bytes);
  EXPECT_CLI_ERROR(run_cadenza("dataset info " + cut),
                   {cut + ": byte " + std::to_string(bytes.size()) + ": truncated"});
  EXPECT_CLI_ERROR(run_cadenza("dataset info " + folder.input + "/tune0.mid"),
                   {folder.input + "/tune0.mid: byte 0", "not a Cadenza dataset shard"});
  EXPECT_CLI_ERROR(run_cadenza("dataset info " + folder.dir.file("absent.cdz")),
                   {folder.dir.file("absent.cdz"), "cannot open"});
}

TEST(CliDataset, PreparesNottinghamTopFolder) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  testing::TempDir dir;
  auto result = run_cadenza("dataset prepare --input " + testing::data_dir() + "/nottingham/MIDI --no-recursive -o " +
                            dir.file("n.cdz"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find(" of 1,034 files into "), std::string::npos) << result.output;
}

}  // namespace
}  // namespace cadenza
