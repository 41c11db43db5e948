// Hostile inputs to the torch-free commands, end to end: files whose maps or track counts made `midi info`
// quadratic or huge, FIFOs and folders where a file is expected, and links that cannot be followed inside an input
// folder of `dataset prepare`. Every case ends quickly with a clear message naming the path, never blocks.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "midi/midi.h"
#include "support/test_support.h"
#include "unit/test_midi_smf_builder.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::run_command;
using testing::SmfFile;
using testing::SmfTrack;
using testing::TempDir;

// The limit each command gets: generous (a loaded machine starts `cadenza` in seconds), yet far below the minute
// the quadratic paths took, and it turns a blocked open() into a failure instead of a hung test.
constexpr int kTimeoutSeconds = 60;

std::string cadenza(const std::string& arguments) {
  return "timeout " + std::to_string(kTimeoutSeconds) + " " + std::string(CADENZA_BINARY) + " " + arguments;
}

testing::CommandResult run(const std::string& arguments) {
  return run_command(cadenza(arguments));
}

// Runs a command with its output in `output_file` and returns its exit code and peak resident memory (KiB) as
// wait4 reports it for that child alone.
struct Measured {
  int exit_code = -1;
  long max_rss_kib = 0;
};
Measured run_measured(const std::string& arguments, const std::string& output_file) {
  const std::string line = cadenza(arguments) + " > '" + output_file + "' 2>&1";
  std::fflush(nullptr);  // the child must not write this process's buffered output again
  const pid_t child = ::fork();
  if (child == 0) {
    ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  Measured measured;
  int status = 0;
  struct rusage usage {};
  if (child > 0 && ::wait4(child, &status, 0, &usage) == child) {
    measured.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    measured.max_rss_kib = usage.ru_maxrss;
  }
  return measured;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// One track: `count` meta events of the given kind a tick apart, then a quarter note.
std::vector<uint8_t> long_map_file(int count, bool tempos) {
  SmfTrack track;
  for (int i = 0; i < count; ++i) {
    if (tempos)
      track.tempo(i == 0 ? 0 : 1, 400000 + static_cast<uint32_t>(i % 1000));
    else
      track.time_signature(i == 0 ? 0 : 1, 3 + i % 5, 2);
  }
  track.note_on(0, 0, 60, 100).note_off(480, 0, 60).end();
  return SmfFile(0, 480).track(track).bytes();
}

// 200,000 time signatures (a 1.6 MB file) took 67.5 s and 200,000 tempos 25 s: every entry walked the whole map.
TEST(CliInputs, MidiInfoOnLongTempoAndMeterMapsIsFast) {
  TempDir dir;
  for (bool tempos : {false, true}) {
    const std::string path = dir.file(tempos ? "tempos.mid" : "meters.mid");
    write_bytes(path, long_map_file(200'000, tempos));
    const auto text = run("midi info " + path);
    ASSERT_EQ(text.exit_code, 0) << "exit 124 is the " << kTimeoutSeconds << " s limit\n"
                                 << text.output.substr(0, 2000);
    EXPECT_NE(text.output.find("... and 199992 more"), std::string::npos) << text.output.substr(0, 2000);
    const auto json = run("midi info --json " + path);
    ASSERT_EQ(json.exit_code, 0) << json.output.substr(0, 2000);
    const auto info = nlohmann::json::parse(json.output);
    EXPECT_EQ(info[tempos ? "tempos" : "time_signatures"].size(), 200'000u);
    // Every change starts a new bar (the one-tick bar before it counts as a whole one): meter i begins bar i + 1.
    if (!tempos) EXPECT_EQ(info["time_signatures"][199'999]["bar"], 200'000);
  }
}

// 65,535 MTrk chunks of one note on each of the 16 channels: 1,048,560 tracks from a 9 MB file. Holding the whole
// report as one JSON document took 2.3 GB; entries are now made as they are printed.
TEST(CliInputs, MidiInfoOnSixtyFiveThousandTracksStaysSmall) {
  TempDir dir;
  SmfTrack track;
  for (int channel = 0; channel < 16; ++channel) track.note_on(0, channel, 60, 100);
  for (int channel = 0; channel < 16; ++channel) track.note_off(channel == 0 ? 10 : 0, channel, 60);
  track.end();
  SmfFile file(1, 480);
  for (int i = 0; i < 65535; ++i) file.track(track);
  const std::string path = dir.file("tracks.mid");
  write_bytes(path, file.bytes());
  const Measured json = run_measured("midi info --json " + path, dir.file("out.json"));
  ASSERT_EQ(json.exit_code, 0) << read_file_text(dir.file("out.json")).substr(0, 2000);
  EXPECT_LT(json.max_rss_kib, 1'000'000) << "peak memory of `midi info --json` in KiB";
  // The output is valid JSON with every track (read back in a child, to keep this process small).
  const auto counted = run_command("grep -c '\"channel\": ' '" + dir.file("out.json") + "'");
  EXPECT_EQ(counted.output, "1048560\n");
  const Measured text = run_measured("midi info " + path, dir.file("out.txt"));
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_LT(text.max_rss_kib, 1'000'000);
  std::printf("midi info on 1,048,560 tracks: peak %ld MiB (--json), %ld MiB (text)\n", json.max_rss_kib / 1024,
              text.max_rss_kib / 1024);
}

TEST(CliInputs, MidiInfoJsonOfASmallFileParsesWithEveryList) {
  TempDir dir;
  Score score = make_empty_score(480, 100.0, 3, 4);
  score.tempos.push_back({960, 400000});
  score.key_signatures.push_back({0, -2, false});
  score.tracks.push_back({"a", 0, false, 0, {{60, 90, 0, 480}}});
  score.tracks.push_back({"b", 0, true, 9, {{36, 90, 0, 1}}});
  score.normalize();
  write_midi_file(score, dir.file("s.mid"));
  const auto json = run("midi info --json " + dir.file("s.mid"));
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const auto info = nlohmann::json::parse(json.output);
  EXPECT_EQ(info["tracks"].size(), 2u);
  EXPECT_EQ(info["tracks"][1]["instrument"], "Drum kit");
  EXPECT_EQ(info["tempos"].size(), 2u);
  EXPECT_EQ(info["tempos"][1]["seconds"], 1.2);
  EXPECT_EQ(info["time_signatures"][0]["text"], "3/4");
  EXPECT_EQ(info["key_signatures"][0]["sharps"], -2);
  EXPECT_EQ(info["total_notes"], 2);
  EXPECT_EQ(info.dump(2) + "\n", json.output) << "printed exactly as one dump(2) of the whole report";
}

// A FIFO named like a MIDI file (or a shard, or a config) blocked every command in open() waiting for a writer.
TEST(CliInputs, AFifoWhereAFileIsExpectedIsNamedNotWaitedFor) {
  TempDir dir;
  const std::string fifo = dir.file("song.mid");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const std::string refusal = fifo + ": is a FIFO (named pipe), not a regular file";
  for (const std::string& arguments :
       {"midi info " + fifo, "render " + fifo + " --png " + dir.file("x.png"), "metrics " + fifo}) {
    const auto result = run(arguments);
    EXPECT_EQ(result.exit_code, 1) << arguments << "\n" << result.output;
    EXPECT_NE(result.output.find(refusal), std::string::npos) << arguments << "\n" << result.output;
  }
  // `dataset prepare` names files by their path relative to the input (here the bare name).
  const auto named = run("dataset prepare --input " + fifo + " --out " + dir.file("x.cdz"));
  EXPECT_EQ(named.exit_code, 1) << named.output;
  EXPECT_NE(named.output.find("first problem: song.mid: is a FIFO (named pipe), not a regular file"), std::string::npos)
      << named.output;
  const std::string shard = dir.file("data.cdz");
  ASSERT_EQ(::mkfifo(shard.c_str(), 0644), 0);
  const auto info = run("dataset info " + shard);
  EXPECT_EQ(info.exit_code, 1) << info.output;
  EXPECT_NE(info.output.find(shard + ": is a FIFO (named pipe), not a regular file"), std::string::npos) << info.output;

  // In an input folder the FIFO is listed as skipped, by name, and the other files are prepared.
  fs::create_directories(dir.file("tunes"));
  Score tune = make_empty_score();
  Track line;
  for (int i = 0; i < 16; ++i) line.notes.push_back({60 + i % 7, 90, i * 240, i * 240 + 240});
  tune.tracks.push_back(line);
  tune.normalize();
  write_midi_file(tune, dir.file("tunes/a.mid"));
  ASSERT_EQ(::mkfifo(dir.file("tunes/b.mid").c_str(), 0644), 0);
  const auto prepared = run("dataset prepare --input " + dir.file("tunes") + " --out " + dir.file("t.cdz"));
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  EXPECT_NE(prepared.output.find("b.mid: is a FIFO (named pipe), not a regular file"), std::string::npos)
      << prepared.output;
}

TEST(CliInputs, AFolderNamedLikeAMidiFileIsNamed) {
  TempDir dir;
  const std::string folder = dir.file("x.mid");
  fs::create_directories(folder);
  for (const std::string& arguments : {"midi info " + folder, "render " + folder + " --png " + dir.file("x.png")}) {
    const auto result = run(arguments);
    EXPECT_EQ(result.exit_code, 1) << arguments << "\n" << result.output;
    EXPECT_NE(result.output.find(folder + ": is a directory, not a regular file"), std::string::npos)
        << arguments << "\n"
        << result.output;
  }
  const auto prepared = run("dataset prepare --input " + folder + " --out " + dir.file("x.cdz"));
  EXPECT_EQ(prepared.exit_code, 1) << prepared.output;
  EXPECT_NE(
      prepared.output.find("no .mid, .midi or .json files found in the inputs (none in the folder " + folder + ")"),
      std::string::npos)
      << prepared.output;
}

// Broken links, link loops and links to folders inside an input folder were skipped silently.
TEST(CliInputs, DatasetPrepareNamesEveryLinkItCannotFollow) {
  TempDir dir;
  const std::string tunes = dir.file("tunes");
  fs::create_directories(tunes + "/sub");
  Score tune = make_empty_score();
  Track line;
  for (int i = 0; i < 16; ++i) line.notes.push_back({62 + i % 5, 90, i * 240, i * 240 + 240});
  tune.tracks.push_back(line);
  tune.normalize();
  write_midi_file(tune, tunes + "/good.mid");
  tune.tracks[0].notes.pop_back();
  write_midi_file(tune, dir.file("outside.mid"));
  fs::create_symlink(dir.file("outside.mid"), tunes + "/linked.mid");  // a link to a file: followed
  fs::create_symlink(dir.file("gone.mid"), tunes + "/broken.mid");
  fs::create_symlink(tunes + "/loop.mid", tunes + "/loop.mid");
  fs::create_symlink("..", tunes + "/sub/up");  // a folder link (a loop if it were followed)
  const std::string shard = dir.file("t.cdz");
  const auto prepared = run("dataset prepare --input " + tunes + " --out " + shard);
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  EXPECT_NE(prepared.output.find("from 2 of 5 files"), std::string::npos) << prepared.output;
  const auto info = run("dataset info --json --skipped " + shard);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  const auto skipped = nlohmann::json::parse(info.output)["skipped"];
  ASSERT_EQ(skipped.size(), 3u) << skipped.dump(2);
  EXPECT_EQ(skipped[0]["path"], "broken.mid");
  EXPECT_EQ(skipped[0]["reason"], "broken symbolic link ('" + dir.file("gone.mid") + "' does not exist)");
  EXPECT_EQ(skipped[1]["path"], "loop.mid");
  EXPECT_EQ(skipped[1]["reason"], "symbolic link loop (it points to '" + tunes + "/loop.mid')");
  EXPECT_EQ(skipped[2]["path"], "sub/up");
  EXPECT_EQ(skipped[2]["reason"],
            "symbolic link to a folder, not followed (name its target with --input to include it)");

  // Named directly, a broken link or a loop is an error that says which.
  const auto broken = run("dataset prepare --input " + tunes + "/broken.mid --out " + shard);
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.output.find("input '" + tunes + "/broken.mid' is a broken symbolic link (it points to '" +
                               dir.file("gone.mid") + "')"),
            std::string::npos)
      << broken.output;
  const auto loop = run("dataset prepare --input " + tunes + "/loop.mid --out " + shard);
  EXPECT_NE(loop.output.find("is a symbolic link loop"), std::string::npos) << loop.output;
}

// The caching CPU allocator's limit comes from the environment: a value that is not a number is named, and the model
// command goes on with the default limit instead of failing or ignoring it silently.
TEST(CliInputs, ACacheLimitThatIsNotANumberIsNamed) {
  const auto bad = run_command("CADENZA_CPU_CACHE_MB=lots " + cadenza("train --help"));
  EXPECT_EQ(bad.exit_code, 0) << bad.output;
  EXPECT_NE(bad.output.find("CADENZA_CPU_CACHE_MB=\"lots\" is not a whole number of MiB; keeping "), std::string::npos)
      << bad.output;
  const auto good = run_command("CADENZA_CPU_CACHE_MB=512 " + cadenza("train --help"));
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_EQ(good.output.find("CADENZA_CPU_CACHE_MB"), std::string::npos) << good.output;
}

}  // namespace
}  // namespace cadenza
