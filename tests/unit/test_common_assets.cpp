// cadenza::asset_dir: installed assets relative to the executable, an environment override, and the source tree
// only for executables in the build tree (this test binary is one).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/assets.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;

// Sets an environment variable for the scope of a test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_)
      ::setenv(name_.c_str(), old_.c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

TEST(CommonAssets, ExecutablePathIsThisTestBinary) {
  const fs::path path = executable_path();
  ASSERT_TRUE(path.is_absolute()) << path;
  EXPECT_EQ(path.filename(), "test_common_assets");
  EXPECT_TRUE(fs::exists(path));
}

TEST(CommonAssets, SearchesBesideTheExecutableThenTheSourceTreeFromTheBuildTree) {
  ScopedEnv unset("CADENZA_MODELS_DIR", nullptr);
  const fs::path exe_dir = fs::path(executable_path()).parent_path();
  const auto candidates = asset_search_path("models");
  ASSERT_EQ(candidates.size(), 3u);
  EXPECT_EQ(candidates[0], (exe_dir / "../share/cadenza/models").lexically_normal().string());
  EXPECT_EQ(candidates[1], (exe_dir / "../../share/cadenza/models").lexically_normal().string());
  EXPECT_EQ(candidates[2], (fs::path(CADENZA_SOURCE_DIR) / "models").lexically_normal().string());
  // Nothing is installed beside a test binary, so the source tree's models/ is the one found.
  EXPECT_EQ(asset_dir("models"), candidates[2]);
  EXPECT_TRUE(fs::exists(fs::path(asset_dir("models")) / "nottingham-lstm" / "model.safetensors"));
}

TEST(CommonAssets, EnvironmentOverrideIsTakenAsIs) {
  testing::TempDir dir;
  ScopedEnv models("CADENZA_MODELS_DIR", dir.path().c_str());
  EXPECT_EQ(asset_search_path("models"), std::vector<std::string>{dir.path().string()});
  EXPECT_EQ(asset_dir("models"), dir.path().string());
  // Taken as is even when it does not exist, so that a mistyped override is not silently ignored.
  ScopedEnv missing("CADENZA_MODELS_DIR", "/no/such/models");
  EXPECT_EQ(asset_dir("models"), "/no/such/models");
  // An empty value means "not set".
  ScopedEnv empty("CADENZA_MODELS_DIR", "");
  EXPECT_EQ(asset_search_path("models").size(), 3u);
}

TEST(CommonAssets, OverrideVariableIsTheUpperCasedName) {
  testing::TempDir dir;
  ScopedEnv web("CADENZA_WEB_UI_DIR", dir.path().c_str());
  EXPECT_EQ(asset_dir("web-ui"), dir.path().string());
  EXPECT_NE(asset_dir("models"), dir.path().string());
}

TEST(CommonAssets, PrefersTheInstalledCopyAndNamesItWhenNothingIsFound) {
  ScopedEnv unset("CADENZA_NO_SUCH_ASSET_DIR", nullptr);
  const auto candidates = asset_search_path("no-such-asset");
  ASSERT_FALSE(candidates.empty());
  // None exists: the first (installed) location is what a message should name.
  EXPECT_EQ(asset_dir("no-such-asset"), candidates.front());
}

}  // namespace
}  // namespace cadenza
