// `cmake --install BUILD --prefix ANY` gives a working cadenza: it finds its engine (PREFIX/libexec/cadenza) and its
// bundled models (PREFIX/share/cadenza/models) relative to itself, from any working directory, without the
// source tree.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/shell_quote.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

using testing::run_command;
using testing::shell_quote;
using testing::TempDir;
namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class InstallPrefix : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    prefix_ = new TempDir;
    // A prefix with a space in it, so that nothing on the way splits paths.
    const std::string prefix = prefix_->file("install prefix");
    const auto installed = run_command(shell_quote(CADENZA_CMAKE_COMMAND) + " --install " +
                                       shell_quote(CADENZA_BUILD_DIR) + " --prefix " + shell_quote(prefix));
    install_output_ = new std::string(installed.output);
    install_ok_ = installed.exit_code == 0;
  }
  static void TearDownTestSuite() {
    delete prefix_;
    delete install_output_;
  }
  void SetUp() override { ASSERT_TRUE(install_ok_) << "cmake --install failed:\n" << *install_output_; }

  static std::string prefix() { return prefix_->file("install prefix"); }
  // Runs the installed cadenza from a fresh working directory with no override pointing back into the tree.
  static testing::CommandResult run_installed(const TempDir& work, const std::string& arguments) {
    return run_command("cd " + shell_quote(work.path().string()) +
                       " && env -u CADENZA_MODELS_DIR -u CADENZA_SOUNDFONT " + shell_quote(prefix() + "/bin/cadenza") +
                       " " + arguments);
  }

  static TempDir* prefix_;
  static std::string* install_output_;
  static bool install_ok_;
};
TempDir* InstallPrefix::prefix_ = nullptr;
std::string* InstallPrefix::install_output_ = nullptr;
bool InstallPrefix::install_ok_ = false;

TEST_F(InstallPrefix, HasTheLayoutTheExecutablesExpect) {
  EXPECT_TRUE(fs::exists(prefix() + "/bin/cadenza"));
  EXPECT_TRUE(fs::exists(prefix() + "/libexec/cadenza/cadenza-engine"));
  EXPECT_TRUE(fs::exists(prefix() + "/share/cadenza/models/nottingham-lstm/model.safetensors"));
  EXPECT_TRUE(fs::exists(prefix() + "/share/cadenza/models/nottingham-lstm/README.md"));
  EXPECT_FALSE(fs::exists(prefix() + "/bin/cadenza-engine")) << "the engine is not a user command";
  // The studio's page (cadenza serve finds it relative to the engine), without the browser tests' npm package.
  EXPECT_TRUE(fs::exists(prefix() + "/share/cadenza/web/index.html"));
  EXPECT_TRUE(fs::exists(prefix() + "/share/cadenza/web/js/main.js"));
  EXPECT_FALSE(fs::exists(prefix() + "/share/cadenza/web/node_modules/playwright-core"));
}

TEST_F(InstallPrefix, VersionAndHelpWork) {
  TempDir work;
  const auto version = run_installed(work, "--version");
  EXPECT_EQ(version.exit_code, 0) << version.output;
  EXPECT_EQ(version.output.rfind("cadenza ", 0), 0u) << version.output;
  const auto help = run_installed(work, "train --help");
  EXPECT_EQ(help.exit_code, 0) << help.output;
  EXPECT_TRUE(contains(help.output, "--data")) << help.output;
}

TEST_F(InstallPrefix, ListsTheInstalledModelsNotTheSourceTree) {
  TempDir work;
  const auto listed = run_installed(work, "generate --list-models");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_TRUE(contains(listed.output, "bundled models in " + prefix() + "/share/cadenza/models:")) << listed.output;
  EXPECT_TRUE(contains(listed.output, "  nottingham-lstm\n")) << listed.output;
}

TEST_F(InstallPrefix, GeneratesWithABundledModelFromAnotherDirectory) {
  TempDir work;
  const auto generated = run_installed(work, "generate --model nottingham-lstm --out pieces -n 1 --bars 4 --seed 3");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  int pieces = 0;
  std::string piece;
  for (const auto& entry : fs::directory_iterator(work.path() / "pieces"))
    if (entry.path().extension() == ".mid") ++pieces, piece = entry.path().string();
  ASSERT_EQ(pieces, 1) << generated.output;
  // And the installed front end reads what the installed engine wrote.
  const auto info = run_installed(work, "midi info " + shell_quote(piece));
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_TRUE(contains(info.output, "notes")) << info.output;
}

TEST_F(InstallPrefix, ModelsOverrideStillWins) {
  TempDir work, models;
  const auto listed = run_command("cd " + shell_quote(work.path().string()) +
                                  " && CADENZA_MODELS_DIR=" + shell_quote(models.path().string()) + " " +
                                  shell_quote(prefix() + "/bin/cadenza") + " generate --list-models");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_TRUE(contains(listed.output, "bundled models in " + models.path().string() + ":")) << listed.output;
  EXPECT_FALSE(contains(listed.output, "nottingham-lstm")) << listed.output;
}

}  // namespace
}  // namespace cadenza
