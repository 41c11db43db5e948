// The split of `cadenza` into a torch-free front end and `cadenza-engine` (tools/cadenza/model_commands.h): the
// front end must not load libtorch (nor FluidSynth, opened only to render WAV), its table of model commands must
// match the engine's, and model commands must work through it.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "midi/midi.h"
#include "model_commands.h"
#include "score/score.h"
#include "support/shell_quote.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

using testing::run_cadenza;
using testing::run_command;
using testing::shell_quote;
using testing::TempDir;

const std::string kFrontEnd = CADENZA_BINARY;
const std::string kEngine = CADENZA_ENGINE_BINARY;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ldd lists every shared library the dynamic loader maps at start-up, the indirect ones too.
TEST(CliFrontEnd, LoadsNeitherLibtorchNorFluidSynthAtStartUp) {
  const auto front_end = run_command("ldd " + shell_quote(kFrontEnd));
  ASSERT_EQ(front_end.exit_code, 0) << front_end.output;
  ASSERT_TRUE(contains(front_end.output, "libc.so")) << "unexpected ldd output:\n" << front_end.output;
  for (const char* library : {"libtorch", "libc10", "libfluidsynth", "libgomp", "libopenblas"})
    EXPECT_FALSE(contains(front_end.output, library)) << kFrontEnd << " loads " << library << ":\n" << front_end.output;
  // The same check sees libtorch where it is linked.
  const auto engine = run_command("ldd " + shell_quote(kEngine));
  ASSERT_EQ(engine.exit_code, 0) << engine.output;
  EXPECT_TRUE(contains(engine.output, "libtorch")) << engine.output;
}

TEST(CliFrontEnd, ModelCommandTableMatchesTheEngine) {
  const auto listed = run_command(shell_quote(kEngine) + " --list-commands");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  std::map<std::string, std::string> engine;
  std::istringstream lines(listed.output);
  for (std::string line; std::getline(lines, line);) {
    const size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << "not NAME<TAB>DESCRIPTION: " << line;
    engine[line.substr(0, tab)] = line.substr(tab + 1);
  }
  ASSERT_FALSE(engine.empty()) << listed.output;
  std::map<std::string, std::string> front_end;
  for (const auto& command : cli::model_commands()) front_end[command.name] = command.description;
  for (const auto& [name, description] : engine) {
    auto it = front_end.find(name);
    if (it == front_end.end()) {
      ADD_FAILURE() << "the engine has `" << name << "` but tools/cadenza/model_commands.cpp does not list it, so "
                    << "`cadenza " << name << "` would not reach it. A command that needs libtorch goes in that "
                    << "table; one that does not goes in the front end (CADENZA_FRONT_END_SOURCES in CMakeLists.txt)";
      continue;
    }
    EXPECT_EQ(it->second, description) << "description of `" << name << "` in model_commands.cpp differs from "
                                       << "the engine's";
  }
  for (const auto& [name, description] : front_end)
    EXPECT_TRUE(engine.count(name)) << "model_commands.cpp lists `" << name << "`, which the engine does not have";
}

TEST(CliFrontEnd, HelpListsEveryCommand) {
  const auto help = run_cadenza("--help");
  ASSERT_EQ(help.exit_code, 0) << help.output;
  for (const char* name : {"baseline", "dataset", "metrics", "midi", "originality", "render", "style-classifier"})
    EXPECT_TRUE(contains(help.output, std::string("  ") + name + " ")) << name << " missing:\n" << help.output;
  for (const auto& command : cli::model_commands()) {
    EXPECT_TRUE(contains(help.output, std::string("  ") + command.name + " ")) << command.name << " missing:\n"
                                                                               << help.output;
    // The first words of its description (CLI11 may wrap long ones).
    EXPECT_TRUE(contains(help.output, std::string(command.description).substr(0, 30))) << help.output;
  }
}

TEST(CliFrontEnd, ModelCommandsRunInTheEngine) {
  const auto train = run_cadenza("train --help");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_TRUE(contains(train.output, "cadenza train")) << train.output;
  EXPECT_TRUE(contains(train.output, "--data")) << train.output;
  const auto models = run_cadenza("generate --list-models");
  ASSERT_EQ(models.exit_code, 0) << models.output;
  EXPECT_TRUE(contains(models.output, "nottingham-lstm")) << models.output;
  // Options and errors are the engine's own.
  const auto bad = run_cadenza("generate --no-such-option");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.output, "--no-such-option")) << bad.output;
}

TEST(CliFrontEnd, VersionIsTheSameInBothExecutables) {
  const auto front_end = run_cadenza("--version");
  const auto engine = run_command(shell_quote(kEngine) + " --version");
  ASSERT_EQ(front_end.exit_code, 0) << front_end.output;
  ASSERT_EQ(engine.exit_code, 0) << engine.output;
  EXPECT_EQ(front_end.output.rfind("cadenza ", 0), 0u) << front_end.output;
  EXPECT_EQ(front_end.output, engine.output);
}

TEST(CliFrontEnd, MissingEngineIsAClearError) {
  TempDir dir;
  const std::string lonely = dir.file("cadenza");
  std::filesystem::copy_file(kFrontEnd, lonely);
  const auto result = run_command(shell_quote(lonely) + " generate --list-models");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "cadenza: error: `generate` needs the model engine cadenza-engine"))
      << result.output;
  EXPECT_TRUE(contains(result.output, dir.file("cadenza-engine"))) << result.output;
  // The torch-free commands still work without it.
  const auto help = run_command(shell_quote(lonely) + " midi --help");
  EXPECT_EQ(help.exit_code, 0) << help.output;
}

TEST(CliFrontEnd, FilesystemErrorsNameThePathNotAnInternalError) {
  TempDir dir;
  const std::string file = dir.file("a-file");
  std::FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  // --out names an existing file: creating the output folder fails in std::filesystem.
  const auto result = run_cadenza("generate --model nottingham-lstm --bars 1 --out " + shell_quote(file + "/pieces"));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "cadenza: error: " + file)) << result.output;
  EXPECT_FALSE(contains(result.output, "internal error")) << result.output;
}

TEST(CliFrontEnd, WavRenderingOpensFluidSynthOnlyWhenNeededAndSaysWhenItIsMissing) {
  TempDir dir;
  Score score = make_empty_score(480, 120.0);
  Track melody;
  melody.notes = {{60, 90, 0, 480}, {64, 90, 480, 960}};
  score.tracks = {melody};
  score.normalize();
  const std::string midi = dir.file("tune.mid");
  write_midi_file(score, midi);
  const std::string environment = "CADENZA_FLUIDSYNTH_LIBRARY=libcadenza-no-such-fluidsynth.so.3 ";
  // Pictures need no FluidSynth.
  const auto png = run_command(environment + shell_quote(kFrontEnd) + " render " + shell_quote(midi) + " --png " +
                               shell_quote(dir.file("tune.png")));
  EXPECT_EQ(png.exit_code, 0) << png.output;
  EXPECT_TRUE(std::filesystem::exists(dir.file("tune.png")));
  const auto wav = run_command(environment + shell_quote(kFrontEnd) + " render " + shell_quote(midi) + " --wav " +
                               shell_quote(dir.file("tune.wav")));
  EXPECT_EQ(wav.exit_code, 1) << wav.output;
  EXPECT_TRUE(contains(wav.output, "cannot load FluidSynth")) << wav.output;
  EXPECT_TRUE(contains(wav.output, "libcadenza-no-such-fluidsynth.so.3")) << wav.output;
  EXPECT_TRUE(contains(wav.output, "libfluidsynth3")) << wav.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("tune.wav")));
}

}  // namespace
}  // namespace cadenza
