// fetch_dataset end to end with no network: archives are built in the test and served from 127.0.0.1.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "common/error.h"
#include "data/dataset_registry.h"
#include "data/fetch.h"
#include "data/sha256.h"
#include "support/test_support.h"
#include "unit/data_archive_builders.h"
#include "unit/data_http_test_server.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::TarMember;

// A small synthetic data set: the files, their manifest, and archives of them as GitHub would serve them.
class DataFetch : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = {
        {"README.md", "synthetic data set\n"},
        {"LICENSE.md", "GPLv3 text would go here\n"},
        {"MIDI/a.mid", std::string("MThd\0\0\0\6", 8) + std::string(300, '\x40')},
        {"MIDI/melody/a.mid", std::string(1000, '\x3c')},
    };
    spec_.name = "synthetic";
    spec_.description = "test data";
    spec_.default_url = "http://127.0.0.1:1/never-used.tar.gz";
    for (const auto& [path, content] : files_) spec_.manifest.push_back({path, content.size(), sha256_hex(content)});
    cache_ = dir_.path() / "cache";
    options_.cache_dir = cache_.string();
  }

  // The files inside "synthetic-master/", plus one file that is not in the manifest.
  std::vector<TarMember> members(const std::map<std::string, std::string>& files) const {
    std::vector<TarMember> result{{"synthetic-master/", "", '5', "", 0755}};
    for (const auto& [path, content] : files) result.push_back({"synthetic-master/" + path, content});
    result.push_back({"synthetic-master/ABC_original/extra.abc", "not in the manifest"});
    return result;
  }
  std::string tar_gz(const std::map<std::string, std::string>& files) const {
    return testing::gzip_bytes(testing::make_tar(members(files)));
  }

  FetchResult fetch(const std::string& source) {
    FetchOptions options = options_;
    options.source = source;
    return fetch_dataset(spec_, options);
  }

  // Expects fetch(source) to throw Error containing every fragment and to leave no installed copy behind.
  void expect_fetch_error(const std::string& source, std::initializer_list<std::string> fragments) {
    try {
      fetch(source);
      ADD_FAILURE() << "expected an error fetching " << source;
    } catch (const Error& error) {
      for (const auto& fragment : fragments) {
        EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos)
            << "'" << fragment << "' not in: " << error.what();
      }
    }
    expect_no_temporary_folders();
  }

  void expect_installed_exactly() const {
    const fs::path root = cache_ / "synthetic";
    std::set<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (entry.is_regular_file()) found.insert(fs::relative(entry.path(), root).generic_string());
    }
    std::set<std::string> expected{".cadenza-fetch.json"};
    for (const auto& [path, content] : files_) {
      expected.insert(path);
      EXPECT_EQ(testing::read_bytes(root / path), content) << path;
    }
    EXPECT_EQ(found, expected);  // the archive's extra file is not installed
  }

  void expect_no_temporary_folders() const {
    if (!fs::exists(cache_)) return;
    for (const auto& entry : fs::directory_iterator(cache_)) {
      EXPECT_EQ(entry.path().filename().string().rfind(".tmp-", 0), std::string::npos) << entry.path();
    }
  }

  testing::TempDir dir_;
  testing::TestHttpServer server_;
  std::map<std::string, std::string> files_;
  DatasetSpec spec_;
  fs::path cache_;
  FetchOptions options_;
};

TEST_F(DataFetch, DownloadsVerifiesAndInstallsOnlyManifestFiles) {
  server_.add("/synthetic.tar.gz", tar_gz(files_));
  std::vector<std::string> messages;
  options_.log = [&](const std::string& message) { messages.push_back(message); };
  FetchResult result = fetch(server_.url("/synthetic.tar.gz"));
  EXPECT_EQ(result.path, cache_ / "synthetic");
  EXPECT_FALSE(result.already_present);
  EXPECT_EQ(result.files, 4u);
  EXPECT_EQ(result.archive_sha256, sha256_hex(tar_gz(files_)));
  expect_installed_exactly();
  expect_no_temporary_folders();
  std::string provenance = testing::read_bytes(cache_ / "synthetic/.cadenza-fetch.json");
  EXPECT_NE(provenance.find(server_.url("/synthetic.tar.gz")), std::string::npos) << provenance;
  EXPECT_NE(provenance.find(result.archive_sha256), std::string::npos) << provenance;
  ASSERT_FALSE(messages.empty());
  EXPECT_NE(messages.back().find("installed"), std::string::npos) << messages.back();
}

TEST_F(DataFetch, SecondFetchIsANoOpAndForceFetchesAgain) {
  server_.add("/s.tar.gz", tar_gz(files_));
  fetch(server_.url("/s.tar.gz"));
  ASSERT_EQ(server_.hits("/s.tar.gz"), 1);

  FetchResult again = fetch(server_.url("/s.tar.gz"));
  EXPECT_TRUE(again.already_present);
  EXPECT_EQ(again.path, cache_ / "synthetic");
  EXPECT_EQ(server_.hits("/s.tar.gz"), 1);

  options_.force = true;
  FetchResult forced = fetch(server_.url("/s.tar.gz"));
  EXPECT_FALSE(forced.already_present);
  EXPECT_EQ(server_.hits("/s.tar.gz"), 2);
  expect_installed_exactly();
  expect_no_temporary_folders();
}

TEST_F(DataFetch, TamperedFileFailsNamingItAndInstallsNothing) {
  auto tampered = files_;
  tampered["MIDI/melody/a.mid"][500] ^= 1;  // one byte changed, same size
  server_.add("/t.tar.gz", tar_gz(tampered));
  expect_fetch_error(server_.url("/t.tar.gz"), {"MIDI/melody/a.mid", "SHA-256", "nothing was installed"});
  EXPECT_FALSE(fs::exists(cache_ / "synthetic"));

  auto shorter = files_;
  shorter["README.md"] = "short";
  shorter.erase("LICENSE.md");
  server_.add("/m.tar.gz", tar_gz(shorter));
  expect_fetch_error(server_.url("/m.tar.gz"), {"2 files do not match", "LICENSE.md (missing)", "README.md (size 5"});
  EXPECT_FALSE(fs::exists(cache_ / "synthetic"));
}

TEST_F(DataFetch, FailedFetchKeepsTheInstalledCopy) {
  server_.add("/good.tar.gz", tar_gz(files_));
  fetch(server_.url("/good.tar.gz"));
  auto tampered = files_;
  tampered["README.md"][0] = 'S';
  server_.add("/bad.tar.gz", tar_gz(tampered));
  options_.force = true;
  expect_fetch_error(server_.url("/bad.tar.gz"), {"README.md"});
  expect_installed_exactly();
}

TEST_F(DataFetch, ReplacesAnIncompleteInstalledCopy) {
  server_.add("/s.tar.gz", tar_gz(files_));
  fetch(server_.url("/s.tar.gz"));
  fs::remove(cache_ / "synthetic/MIDI/a.mid");
  testing::write_bytes(cache_ / "synthetic/stale.txt", "left over");
  FetchResult result = fetch(server_.url("/s.tar.gz"));
  EXPECT_FALSE(result.already_present);
  EXPECT_EQ(server_.hits("/s.tar.gz"), 2);
  expect_installed_exactly();  // stale.txt went with the old copy
}

TEST_F(DataFetch, RemovesItsOwnStaleWorkFoldersOnly) {
  fs::create_directories(cache_ / ".tmp-synthetic-Ab12Cd/unpacked");  // left by a killed fetch
  fs::create_directories(cache_ / ".tmp-synthetic-extra-Ab12Cd");     // another data set's, in use
  server_.add("/s.tar.gz", tar_gz(files_));
  fetch(server_.url("/s.tar.gz"));
  EXPECT_FALSE(fs::exists(cache_ / ".tmp-synthetic-Ab12Cd"));
  EXPECT_TRUE(fs::exists(cache_ / ".tmp-synthetic-extra-Ab12Cd"));
}

TEST_F(DataFetch, ConcurrentFetchesTakeTurns) {
  server_.add("/s.tar.gz", tar_gz(files_));
  FetchResult results[2];
  std::string errors[2];
  auto run = [&](int i) {
    try {
      results[i] = fetch(server_.url("/s.tar.gz"));
    } catch (const std::exception& error) {
      errors[i] = error.what();
    }
  };
  std::thread first(run, 0);
  std::thread second(run, 1);
  first.join();
  second.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  // The lock serialises them: one installs, the other then finds it verified.
  EXPECT_NE(results[0].already_present, results[1].already_present);
  EXPECT_EQ(server_.hits("/s.tar.gz"), 1);
  expect_installed_exactly();
  expect_no_temporary_folders();
}

TEST_F(DataFetch, HttpErrorsAreClear) {
  const std::string missing = server_.url("/missing.tar.gz");
  expect_fetch_error(missing, {missing, "HTTP 404"});
  EXPECT_FALSE(fs::exists(cache_ / "synthetic"));

  server_.add_truncated("/short.tar.gz", tar_gz(files_).substr(0, 100), 5000);
  expect_fetch_error(server_.url("/short.tar.gz"), {"/short.tar.gz", "closed before the whole file arrived"});

  // Nothing listens on the port of a server that has shut down.
  std::string refused;
  {
    testing::TestHttpServer gone;
    refused = gone.url("/x.tar.gz");
  }
  expect_fetch_error(refused, {refused, "download failed"});
}

TEST_F(DataFetch, FollowsRedirectsAndEnforcesTheSizeLimit) {
  server_.add("/real.tar.gz", tar_gz(files_));
  server_.add_redirect("/latest.tar.gz", server_.url("/real.tar.gz"));
  fetch(server_.url("/latest.tar.gz"));
  EXPECT_EQ(server_.hits("/real.tar.gz"), 1);
  expect_installed_exactly();

  options_.force = true;
  options_.download.max_bytes = 100;
  expect_fetch_error(server_.url("/real.tar.gz"), {"larger than the limit of 100 bytes"});
}

TEST_F(DataFetch, ArchiveSha256PinIsChecked) {
  const std::string archive = tar_gz(files_);
  server_.add("/s.tar.gz", archive);
  options_.archive_sha256 = std::string(64, '0');
  expect_fetch_error(server_.url("/s.tar.gz"), {"--sha256 expects " + std::string(64, '0'), sha256_hex(archive)});
  EXPECT_FALSE(fs::exists(cache_ / "synthetic"));

  options_.archive_sha256 = "not-hex";
  expect_fetch_error(server_.url("/s.tar.gz"), {"not a SHA-256"});

  std::string upper = sha256_hex(archive);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  options_.archive_sha256 = upper;
  EXPECT_FALSE(fetch(server_.url("/s.tar.gz")).already_present);
  expect_installed_exactly();
}

TEST_F(DataFetch, LocalArchivesFileUrlsZipAndDirectories) {
  const fs::path tarball = dir_.path() / "local.tgz";
  testing::write_bytes(tarball, tar_gz(files_));
  options_.force = true;
  fetch(tarball.string());
  expect_installed_exactly();

  fetch("file://" + tarball.string());
  expect_installed_exactly();

  std::vector<testing::ZipMember> zip_members{{"synthetic-master/", ""}};
  for (const auto& [path, content] : files_) zip_members.push_back({"synthetic-master/" + path, content});
  server_.add("/s.zip", testing::make_zip(zip_members));
  FetchResult from_zip = fetch(server_.url("/s.zip"));
  EXPECT_FALSE(from_zip.already_present);
  expect_installed_exactly();

  // A directory is copied as is (no top-level folder stripping); its extra files are not installed.
  const fs::path folder = dir_.path() / "folder";
  for (const auto& [path, content] : files_) {
    fs::create_directories((folder / path).parent_path());
    testing::write_bytes(folder / path, content);
  }
  testing::write_bytes(folder / "unrelated.txt", "x");
  FetchResult from_folder = fetch(folder.string());
  EXPECT_TRUE(from_folder.archive_sha256.empty());
  expect_installed_exactly();

  options_.archive_sha256 = std::string(64, 'a');
  expect_fetch_error(folder.string(), {"is a directory"});
}

TEST_F(DataFetch, ArchiveWithoutTopFolderWhoseFilesShareOneFolder) {
  // Every file under MIDI/ and no "<repo>-master/" folder: MIDI/ must not be mistaken for GitHub's top folder.
  std::erase_if(spec_.manifest, [](const ManifestEntry& entry) { return entry.path.rfind("MIDI/", 0) != 0; });
  ASSERT_EQ(spec_.manifest.size(), 2u);
  std::vector<TarMember> members;
  for (const auto& entry : spec_.manifest) members.push_back({entry.path, files_.at(entry.path)});
  const fs::path tarball = dir_.path() / "midi-only.tar";
  testing::write_bytes(tarball, testing::make_tar(members));
  FetchResult result = fetch(tarball.string());
  EXPECT_TRUE(fs::is_regular_file(result.path / "MIDI/melody/a.mid"));
}

TEST_F(DataFetch, BadSourcesAreClearErrors) {
  expect_fetch_error((dir_.path() / "nowhere.tar.gz").string(), {"nowhere.tar.gz"});
  expect_fetch_error("ftp://example.org/x.tar.gz", {"unsupported URL"});
  expect_fetch_error("file://relative/x.tar.gz", {"absolute path"});
  const fs::path text = dir_.path() / "notes.txt";
  testing::write_bytes(text, "not an archive");
  expect_fetch_error(text.string(), {"notes.txt", "not a tar, tar.gz or zip"});
  EXPECT_FALSE(fs::exists(cache_ / "synthetic"));
}

TEST(DataFetchCacheDir, FollowsXdgThenHome) {
  const char* old_xdg = std::getenv("XDG_CACHE_HOME");
  const char* old_home = std::getenv("HOME");
  std::string saved_xdg = old_xdg ? old_xdg : "";
  std::string saved_home = old_home ? old_home : "";
  ::setenv("XDG_CACHE_HOME", "/x/cache", 1);
  EXPECT_EQ(default_dataset_cache_dir(), "/x/cache/cadenza/datasets");
  ::unsetenv("XDG_CACHE_HOME");
  ::setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(default_dataset_cache_dir(), "/home/someone/.cache/cadenza/datasets");
  ::unsetenv("HOME");
  EXPECT_THROW_WITH(default_dataset_cache_dir(), Error, {"XDG_CACHE_HOME", "HOME", "--cache"});
  if (old_xdg) ::setenv("XDG_CACHE_HOME", saved_xdg.c_str(), 1);
  if (old_home) ::setenv("HOME", saved_home.c_str(), 1);
}

TEST(DataManifest, ReportsEachKindOfMismatch) {
  testing::TempDir dir;
  testing::write_bytes(dir.path() / "ok.txt", "fine");
  testing::write_bytes(dir.path() / "size.txt", "longer than expected");
  testing::write_bytes(dir.path() / "hash.txt", "abcd");
  fs::create_directories(dir.path() / "dir.txt");
  fs::create_symlink("ok.txt", dir.path() / "link.txt");
  std::vector<ManifestEntry> manifest = {
      {"ok.txt", 4, sha256_hex(std::string_view("fine"))},   {"size.txt", 4, sha256_hex(std::string_view("abcd"))},
      {"hash.txt", 4, sha256_hex(std::string_view("abce"))}, {"dir.txt", 0, sha256_hex(std::string_view(""))},
      {"link.txt", 4, sha256_hex(std::string_view("fine"))}, {"gone.txt", 1, sha256_hex(std::string_view("x"))},
  };
  ManifestReport report = verify_manifest(dir.path(), manifest);
  ASSERT_EQ(report.mismatches.size(), 5u);
  EXPECT_EQ(report.mismatches[0].path, "size.txt");
  EXPECT_EQ(report.mismatches[0].problem, "size 20 bytes, expected 4");
  EXPECT_EQ(report.mismatches[1].path, "hash.txt");
  EXPECT_NE(report.mismatches[1].problem.find("SHA-256"), std::string::npos);
  EXPECT_EQ(report.mismatches[2].problem, "not a regular file");
  EXPECT_EQ(report.mismatches[3].problem, "not a regular file");  // symbolic links are not accepted
  EXPECT_EQ(report.mismatches[4].problem, "missing");
  EXPECT_FALSE(report.stopped_early);
  EXPECT_NE(report.describe(2).find("5 files do not match the manifest: size.txt"), std::string::npos);
  EXPECT_NE(report.describe(2).find("and 3 more"), std::string::npos);

  ManifestReport first = verify_manifest(dir.path(), manifest, 1);
  EXPECT_EQ(first.mismatches.size(), 1u);
  EXPECT_TRUE(first.stopped_early);

  std::vector<ManifestEntry> unsafe = {{"../escape.txt", 1, std::string(64, '0')}};
  EXPECT_THROW_WITH(verify_manifest(dir.path(), unsafe), Error, {"invalid path", "'../escape.txt'"});
}

TEST(DataRegistry, KnownDataSetsHaveWellFormedManifests) {
  EXPECT_EQ(dataset_names(), (std::vector<std::string>{"nottingham", "jsb-chorales"}));
  EXPECT_THROW_WITH(find_dataset("maestro"), Error, {"unknown data set 'maestro'", "nottingham", "jsb-chorales"});
  for (const auto& spec : dataset_registry()) {
    SCOPED_TRACE(spec.name);
    EXPECT_EQ(&find_dataset(spec.name), &spec);
    EXPECT_EQ(spec.default_url.rfind("https://github.com/", 0), 0u);
    EXPECT_FALSE(spec.licence.empty());
    ASSERT_FALSE(spec.manifest.empty());
    for (size_t i = 0; i < spec.manifest.size(); ++i) {
      EXPECT_TRUE(is_sha256_hex(spec.manifest[i].sha256)) << spec.manifest[i].path;
      if (i > 0) {
        EXPECT_LT(spec.manifest[i - 1].path, spec.manifest[i].path);  // sorted, no duplicates
      }
    }
  }
  const auto& nottingham = find_dataset("nottingham");
  auto has = [&](const std::string& path) {
    for (const auto& entry : nottingham.manifest) {
      if (entry.path == path) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("LICENSE.md"));
  EXPECT_TRUE(has("MIDI/ashover1.mid"));
  EXPECT_TRUE(has("MIDI/melody/ashover1.mid"));
  EXPECT_TRUE(has("MIDI/chords/ashover1.mid"));
  EXPECT_EQ(find_dataset("jsb-chorales").manifest.size(), 4u);
}

}  // namespace
}  // namespace cadenza
