// Reading never blocks on or misreads a non-regular file; atomic writes leave at most one temporary file per target
// whatever happens to the writer, and concurrent writers of one target never tear it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::vector<std::string> names_in(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Runs `read` on a FIFO nobody writes to. Before the fix open() waited for a writer for ever; if it still does,
// the test opens the writing end itself so that the reader wakes up and the test fails instead of hanging.
template <typename Read>
void expect_fifo_refused(const std::string& fifo, Read read) {
  auto result = std::async(std::launch::async, [&]() -> std::string {
    try {
      read(fifo);
    } catch (const IoError& error) {
      return error.what();
    }
    return "(no error)";
  });
  if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "reading " << fifo << " blocked";
    const int writer = ::open(fifo.c_str(), O_WRONLY);
    ::close(writer);
  }
  const std::string message = result.get();
  EXPECT_NE(message.find(fifo), std::string::npos) << message;
  EXPECT_NE(message.find("is a FIFO (named pipe), not a regular file"), std::string::npos) << message;
}

TEST(CommonFileIo, ReadingAFifoNeitherBlocksNorReadsIt) {
  TempDir dir;
  const std::string fifo = dir.file("song.mid");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  expect_fifo_refused(fifo, [](const std::string& path) { read_file_bytes(path); });
  expect_fifo_refused(fifo, [](const std::string& path) { read_file_text(path); });
  expect_fifo_refused(fifo, [](const std::string& path) { MappedFile file(path); });
}

TEST(CommonFileIo, ReadingADirectoryOrADeviceNamesIt) {
  TempDir dir;
  fs::create_directories(dir.file("x.mid"));
  try {
    read_file_bytes(dir.file("x.mid"));
    FAIL() << "a directory was read";
  } catch (const IoError& error) {
    EXPECT_EQ(std::string(error.what()), dir.file("x.mid") + ": is a directory, not a regular file");
  }
  try {
    MappedFile file("/dev/null");
    FAIL() << "a device was mapped";
  } catch (const IoError& error) {
    EXPECT_EQ(std::string(error.what()),
              "/dev/null: is a character device, not a regular file; only regular files are read");
  }
}

TEST(CommonFileIo, AtomicWriteReusesATemporaryFileLeftByAKilledWriter) {
  TempDir dir;
  const std::string target = dir.file("last.safetensors");
  EXPECT_EQ(atomic_write_temporary(target), target + ".tmp");
  write_file_atomic(target, std::string_view("old"));
  write_file_atomic(atomic_write_temporary(target), std::string_view("half of a write that was killed, longer"));
  write_file_atomic(target, std::string_view("new"));
  EXPECT_EQ(read_file_text(target), "new");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"last.safetensors"});
}

// Writers killed with SIGKILL at random moments of their writes leave at most the one temporary file, and the
// target is always one whole version.
TEST(CommonFileIo, AtomicWritesKilledAtRandomMomentsLeaveAtMostOneTemporary) {
  TempDir dir;
  const std::string target = dir.file("big.bin");
  std::mt19937 random(12345);
  for (int round = 0; round < 12; ++round) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Versions of 4 MB, each filled with one byte value, written for ever.
      std::vector<uint8_t> bytes(size_t(4) << 20);
      for (uint8_t version = 1;; ++version) {
        std::fill(bytes.begin(), bytes.end(), version == 0 ? 1 : version);
        write_file_atomic(target, bytes);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + random() % 60));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    const auto names = names_in(dir.path());
    for (const auto& name : names) EXPECT_TRUE(name == "big.bin" || name == "big.bin.tmp") << name;
    if (fs::exists(target)) {
      const std::vector<uint8_t> seen = read_file_bytes(target);
      ASSERT_EQ(seen.size(), size_t(4) << 20);
      EXPECT_EQ(std::count(seen.begin(), seen.end(), seen.front()), static_cast<ptrdiff_t>(seen.size()))
          << "a torn file after round " << round;
    }
  }
  write_file_atomic(target, std::string_view("done"));
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"big.bin"});
}

// A writer holding PATH.tmp (here a child that locked it, as a writer does) holds back a second writer of the same
// target until it dies; the second then writes normally.
TEST(CommonFileIo, AtomicWritersOfOneTargetTakeTurns) {
  TempDir dir;
  const std::string target = dir.file("out.json");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int fd = ::open(atomic_write_temporary(target).c_str(), O_WRONLY | O_CREAT, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) _exit(1);
    (void)!::write(ready[1], "x", 1);
    ::pause();
    _exit(0);
  }
  char byte;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  auto writer = std::async(std::launch::async, [&] { write_file_atomic(target, std::string_view("second")); });
  EXPECT_EQ(writer.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout)
      << "the write did not wait for the writer holding the temporary file";
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_EQ(writer.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  writer.get();
  EXPECT_EQ(read_file_text(target), "second");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.json"});
  ::close(ready[0]);
  ::close(ready[1]);
}

// Threads writing versions of different lengths to one target: every read sees one whole version.
TEST(CommonFileIo, ConcurrentAtomicWritersNeverTearTheTarget) {
  TempDir dir;
  const std::string target = dir.file("shared.txt");
  write_file_atomic(target, std::string(10, 'a'));
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      const std::string text(1000 * (w + 1), static_cast<char>('b' + w));
      for (int i = 0; i < 200; ++i) write_file_atomic(target, text);
    });
  int reads = 0;
  std::thread reader([&] {
    while (!stop) {
      const std::string seen = read_file_text(target);
      ++reads;
      ASSERT_FALSE(seen.empty());
      const bool whole = seen == std::string(10, 'a') ||
                         (seen.size() % 1000 == 0 && seen.size() / 1000 == static_cast<size_t>(seen[0] - 'b' + 1) &&
                          seen.find_first_not_of(seen[0]) == std::string::npos);
      ASSERT_TRUE(whole) << "torn read of " << seen.size() << " bytes";
    }
  });
  for (auto& writer : writers) writer.join();
  stop = true;
  reader.join();
  EXPECT_GT(reads, 0);
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"shared.txt"});
}

TEST(CommonFileIo, AtomicWriteRefusesATemporaryThatIsNotAFile) {
  TempDir dir;
  const std::string target = dir.file("x.mid");
  ASSERT_EQ(::mkfifo(atomic_write_temporary(target).c_str(), 0644), 0);
  try {
    write_file_atomic(target, std::string_view("data"));
    FAIL() << "wrote through a FIFO";
  } catch (const IoError& error) {
    EXPECT_NE(std::string(error.what()).find(target + ": cannot create temporary file " + target + ".tmp"),
              std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace cadenza
