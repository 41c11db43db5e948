// OutputLock: a second holder of a folder, in this process or another, is refused with a message naming the folder
// and the holder; a holder killed with SIGKILL leaves the folder free; many processes never hold it together.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/output_lock.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string refusal(const std::string& folder, const std::string& command) {
  try {
    OutputLock lock(folder, command);
  } catch (const IoError& error) {
    return std::string("IoError: ") + error.what();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(CommonOutputLock, ASecondHolderInTheSameProcessIsRefused) {
  TempDir dir;
  const std::string run = dir.file("runs/a");  // created by the lock
  {
    OutputLock lock(run, "train");
    EXPECT_TRUE(fs::is_directory(run));
    EXPECT_EQ(lock.lock_file(), run + "/.cadenza.lock");
    EXPECT_TRUE(fs::exists(lock.lock_file()));
    EXPECT_EQ(refusal(run, "generate"), run + " is in use by another cadenza command (train, pid " +
                                            std::to_string(::getpid()) +
                                            "); wait for it to finish or choose another folder");
    OutputLock other(dir.file("runs/b"), "train");  // another folder is free
  }
  EXPECT_FALSE(fs::exists(run + "/.cadenza.lock")) << "a released lock removes its file";
  EXPECT_EQ(refusal(run, "generate"), "(no error)");
}

TEST(CommonOutputLock, MovedLockStaysHeldAndReleasesOnce) {
  TempDir dir;
  OutputLock first(dir.file("out"), "generate");
  OutputLock moved(std::move(first));
  EXPECT_NE(refusal(dir.file("out"), "sample").find("(generate, pid "), std::string::npos);
  moved.release();
  EXPECT_EQ(refusal(dir.file("out"), "sample"), "(no error)");
}

// A child process takes the lock; the parent is refused with the child's pid; after the child is killed with
// SIGKILL (no destructor runs, the lock file stays) the parent takes the folder.
TEST(CommonOutputLock, AnotherProcessHoldsItUntilItIsKilled) {
  TempDir dir;
  const std::string run = dir.file("run");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      OutputLock lock(run, "train");
      (void)!::write(ready[1], "x", 1);
      ::pause();
    } catch (...) {
    }
    _exit(1);
  }
  char byte;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  EXPECT_EQ(refusal(run, "train"), run + " is in use by another cadenza command (train, pid " + std::to_string(child) +
                                       "); wait for it to finish or choose another folder");
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(fs::exists(run + "/.cadenza.lock")) << "a killed holder cannot remove its file";
  {
    OutputLock lock(run, "train");
    EXPECT_EQ(refusal(run, "train").find(std::to_string(child)), std::string::npos) << "names the old holder";
  }
  ::close(ready[0]);
  ::close(ready[1]);
}

// Processes taking and releasing the lock as fast as they can: none ever finds another inside. The marker file is
// created with O_EXCL, so two holders at once make one of them fail.
TEST(CommonOutputLock, ManyProcessesNeverHoldItTogether) {
  TempDir dir;
  const std::string run = dir.file("run");
  const std::string marker = dir.file("inside");
  std::vector<pid_t> children;
  for (int c = 0; c < 4; ++c) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      int held = 0;
      for (int i = 0; i < 300; ++i) {
        try {
          OutputLock lock(run, "worker");
          const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
          if (fd < 0) _exit(2);  // someone else is inside
          ::close(fd);
          ::unlink(marker.c_str());
          ++held;
        } catch (const Error&) {
          // refused: another worker has it
        }
      }
      // A worker may lose every race to the others on a busy machine (the lock promises exclusion, not fairness),
      // so only the whole group must have held it.
      _exit(held > 0 ? 0 : 3);
    }
    children.push_back(child);
  }
  int workers_that_held_it = 0;
  for (pid_t child : children) {
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_NE(WEXITSTATUS(status), 2) << "two processes held the lock at once";
    EXPECT_TRUE(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3) << "exit status " << WEXITSTATUS(status);
    workers_that_held_it += WEXITSTATUS(status) == 0 ? 1 : 0;
  }
  EXPECT_GE(workers_that_held_it, 1) << "nobody ever got the lock";
}

TEST(CommonOutputLock, AFolderThatCannotBeCreatedIsNamed) {
  TempDir dir;
  const std::string file = dir.file("plain");
  { OutputLock probe(dir.file("x"), "t"); }
  FILE* out = std::fopen(file.c_str(), "w");
  ASSERT_NE(out, nullptr);
  std::fclose(out);
  const std::string message = refusal(file + "/run", "train");
  EXPECT_EQ(message.rfind("IoError: " + file + "/run: cannot create the folder: ", 0), 0u) << message;
}

}  // namespace
}  // namespace cadenza
