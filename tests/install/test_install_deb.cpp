// The Debian package (`cpack -G DEB` in the build folder) holds what `cmake --install` installs under /usr and
// declares what it needs; its cadenza, extracted anywhere, runs a model command with its bundled models.
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

TEST(InstallDeb, PackageInstallsAWorkingCadenza) {
  if (run_command("command -v dpkg-deb && command -v dpkg-shlibdeps").exit_code != 0) {
    std::fprintf(stderr, "\n*** SKIPPED: dpkg-deb / dpkg-shlibdeps not found (Debian packages dpkg, dpkg-dev) ***\n");
    GTEST_SKIP() << "dpkg-deb / dpkg-shlibdeps not found";
  }
  TempDir dir;
  const std::string packages = dir.file("packages");
  const auto packed =
      run_command(shell_quote(CADENZA_CPACK_COMMAND) + " -G DEB --config " +
                  shell_quote(std::string(CADENZA_BUILD_DIR) + "/CPackConfig.cmake") + " -B " + shell_quote(packages));
  ASSERT_EQ(packed.exit_code, 0) << packed.output;
  std::string deb;
  for (const auto& entry : fs::directory_iterator(packages))
    if (entry.path().extension() == ".deb") deb = entry.path().string();
  ASSERT_FALSE(deb.empty()) << "no .deb in " << packages << ":\n" << packed.output;

  const auto fields = run_command("dpkg-deb --field " + shell_quote(deb));
  ASSERT_EQ(fields.exit_code, 0) << fields.output;
  EXPECT_TRUE(contains(fields.output, "Package: cadenza\n")) << fields.output;
  EXPECT_TRUE(contains(fields.output, "libtorch")) << "dpkg-shlibdeps should have found libtorch:\n" << fields.output;
  EXPECT_TRUE(contains(fields.output, "libfluidsynth3")) << fields.output;
  EXPECT_TRUE(contains(fields.output, "Recommends: fluid-soundfont-gm")) << fields.output;

  const auto listing = run_command("dpkg-deb --contents " + shell_quote(deb));
  ASSERT_EQ(listing.exit_code, 0) << listing.output;
  for (const char* path : {"./usr/bin/cadenza\n", "./usr/libexec/cadenza/cadenza-engine\n",
                           "./usr/share/cadenza/models/nottingham-lstm/model.safetensors\n"})
    EXPECT_TRUE(contains(listing.output, path)) << path << " missing:\n" << listing.output;

  // Unpacked into a folder (as dpkg would into /), run from elsewhere.
  const std::string root = dir.file("root");
  const auto extracted = run_command("dpkg-deb -x " + shell_quote(deb) + " " + shell_quote(root));
  ASSERT_EQ(extracted.exit_code, 0) << extracted.output;
  const std::string cadenza = shell_quote(root + "/usr/bin/cadenza");
  const std::string work = dir.file("work");
  fs::create_directories(work);
  const std::string in_work = "cd " + shell_quote(work) + " && env -u CADENZA_MODELS_DIR ";
  const auto version = run_command(in_work + cadenza + " --version");
  EXPECT_EQ(version.exit_code, 0) << version.output;
  EXPECT_EQ(version.output.rfind("cadenza ", 0), 0u) << version.output;
  const auto listed = run_command(in_work + cadenza + " generate --list-models");
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_TRUE(contains(listed.output, "bundled models in " + root + "/usr/share/cadenza/models:")) << listed.output;
  const auto generated =
      run_command(in_work + cadenza + " generate --model nottingham-lstm --out pieces -n 1 --bars 2");
  EXPECT_EQ(generated.exit_code, 0) << generated.output;
  EXPECT_TRUE(fs::is_directory(work + "/pieces") && !fs::is_empty(work + "/pieces")) << generated.output;
}

}  // namespace
}  // namespace cadenza
