// `cadenza dataset fetch` end to end with no network: archives of the real data sets (built from the copies in
// CADENZA_TEST_DATA_DIR, inside a top-level folder as GitHub serves them) are served from 127.0.0.1.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "unit/data_archive_builders.h"
#include "unit/data_http_test_server.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;

struct SplitResult {
  int exit_code = -1;
  std::string out;  // stdout only
  std::string err;
};

// Runs the binary with stdout and stderr captured apart, to check that stdout ends with the installed path.
SplitResult run_fetch(const std::string& arguments, const testing::TempDir& dir) {
  const std::string err_file = dir.file("stderr.txt");
  auto result =
      testing::run_command("(" + std::string(CADENZA_BINARY) + " dataset fetch " + arguments + " 2>" + err_file + ")");
  return {result.exit_code, result.output, testing::read_bytes(err_file)};
}

std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  size_t newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

std::vector<std::string> relative_files(const fs::path& root) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), root).generic_string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A .tar.gz of data_dir()/name inside `top`/, plus a file the manifest does not list; `tampered` (if not empty)
// gets one byte changed.
std::string archive_of(const std::string& name, const std::string& top, const std::string& tampered = "") {
  auto members = testing::tar_members_of_directory(fs::path(testing::data_dir()) / name, top,
                                                   [&](const std::string& relative, std::string& content) {
                                                     if (relative == tampered && content.size() > 20) content[20] ^= 1;
                                                   });
  members.push_back({top + "/ABC_original/not-in-manifest.abc", "X: 1\n"});
  return testing::gzip_bytes(testing::make_tar(members), 1);
}

void expect_nothing_installed(const fs::path& cache, const std::string& name) {
  EXPECT_FALSE(fs::exists(cache / name));
  for (const auto& entry : fs::directory_iterator(cache)) {
    EXPECT_NE(entry.path().filename().string().rfind(".tmp-", 0), 0u) << "left behind: " << entry.path();
  }
}

// Fetches name from a served archive, checks what was installed against the data folder, then fetches again.
void check_fetch_and_refetch(const std::string& name, const std::string& top,
                             const std::vector<std::string>& expected_files) {
  testing::TempDir dir;
  testing::TestHttpServer server;
  server.add("/" + top + ".tar.gz", archive_of(name, top));
  const fs::path cache = dir.path() / "cache";
  const std::string arguments = name + " --from " + server.url("/" + top + ".tar.gz") + " --cache " + cache.string();

  SplitResult first = run_fetch(arguments, dir);
  ASSERT_EQ(first.exit_code, 0) << first.err << first.out;
  EXPECT_EQ(last_line(first.out), (cache / name).string());
  EXPECT_NE(first.err.find("verified " + std::to_string(expected_files.size()) + " files"), std::string::npos)
      << first.err;
  std::vector<std::string> installed = relative_files(cache / name);
  installed.erase(std::remove(installed.begin(), installed.end(), ".cadenza-fetch.json"), installed.end());
  EXPECT_EQ(installed, expected_files);  // and so not ABC_original/not-in-manifest.abc
  for (const auto& file : {expected_files.front(), expected_files.back()}) {
    EXPECT_EQ(testing::read_bytes(cache / name / file),
              testing::read_bytes(fs::path(testing::data_dir()) / name / file))
        << file;
  }

  SplitResult second = run_fetch(arguments, dir);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("already present, verified"), std::string::npos) << second.err;
  EXPECT_EQ(last_line(second.out), (cache / name).string());
  EXPECT_EQ(server.hits("/" + top + ".tar.gz"), 1);
}

void check_tampered_file_fails(const std::string& name, const std::string& top, const std::string& tampered) {
  testing::TempDir dir;
  testing::TestHttpServer server;
  server.add("/tampered.tar.gz", archive_of(name, top, tampered));
  const fs::path cache = dir.path() / "cache";
  SplitResult result =
      run_fetch(name + " --from " + server.url("/tampered.tar.gz") + " --cache " + cache.string(), dir);
  EXPECT_CLI_ERROR_CODE("dataset fetch " + name, result.exit_code, result.err, 1,
                        {tampered + " (SHA-256", "nothing was installed"});
  EXPECT_EQ(result.out, "");
  expect_nothing_installed(cache, name);
}

TEST(CliDatasetFetch, NottinghamFromALocalHttpServer) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  check_fetch_and_refetch("nottingham", "nottingham-dataset-master",
                          relative_files(fs::path(testing::data_dir()) / "nottingham"));
}

TEST(CliDatasetFetch, NottinghamWithOneChangedByteFailsAndInstallsNothing) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  check_tampered_file_fails("nottingham", "nottingham-dataset-master", "MIDI/melody/ashover1.mid");
}

TEST(CliDatasetFetch, JsbChoralesFromALocalHttpServer) {
  CADENZA_REQUIRE_DATA("jsb-chorales/jsb-chorales-16th.json");
  check_fetch_and_refetch(
      "jsb-chorales", "JSB-Chorales-dataset-master",
      {"Jsb16thSeparated.json", "jsb-chorales-16th.json", "jsb-chorales-8th.json", "jsb-chorales-quarter.json"});
}

TEST(CliDatasetFetch, JsbChoralesWithOneChangedByteFailsAndInstallsNothing) {
  CADENZA_REQUIRE_DATA("jsb-chorales/jsb-chorales-16th.json");
  check_tampered_file_fails("jsb-chorales", "JSB-Chorales-dataset-master", "jsb-chorales-8th.json");
}

TEST(CliDatasetFetch, FromADirectoryWithARelativeCachePrintsAnAbsolutePath) {
  CADENZA_REQUIRE_DATA("jsb-chorales/jsb-chorales-16th.json");
  testing::TempDir dir;
  auto result = testing::run_command("(cd " + dir.path().string() + " && " + CADENZA_BINARY +
                                     " dataset fetch jsb-chorales --cache relative/cache --from " +
                                     testing::data_dir() + "/jsb-chorales 2>/dev/null)");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(last_line(result.output), (dir.path() / "relative/cache/jsb-chorales").string());
  EXPECT_TRUE(fs::is_regular_file(dir.path() / "relative/cache/jsb-chorales/jsb-chorales-quarter.json"));
}

TEST(CliDatasetFetch, Http404IsAClearError) {
  testing::TempDir dir;
  testing::TestHttpServer server;
  const std::string url = server.url("/nottingham-dataset/archive/master.tar.gz");
  SplitResult result = run_fetch("nottingham --from " + url + " --cache " + dir.file("cache"), dir);
  EXPECT_CLI_ERROR_CODE("dataset fetch nottingham", result.exit_code, result.err, 1,
                        {"cadenza: error: " + url + ": download failed: the server answered HTTP 404"});
  expect_nothing_installed(dir.path() / "cache", "nottingham");
}

TEST(CliDatasetFetch, UnknownDataSetAndBadOptionsAreRejected) {
  testing::TempDir dir;
  auto unknown = testing::run_cadenza("dataset fetch maestro --cache " + dir.file("cache"));
  EXPECT_NE(unknown.exit_code, 0);  // refused by the option parser, which lists the known data sets
  EXPECT_NE(unknown.output.find("maestro not in {nottingham,jsb-chorales}"), std::string::npos) << unknown.output;
  EXPECT_FALSE(fs::exists(dir.path() / "cache"));

  auto bad_hash = testing::run_cadenza("dataset fetch nottingham --sha256 xyz --cache " + dir.file("cache"));
  EXPECT_CLI_ERROR(bad_hash, {"--sha256 'xyz' is not a SHA-256", "64 hex digits"});
}

}  // namespace
}  // namespace cadenza
