// OutputLock: one cadenza command at a time per output folder.
//
// Two commands writing the same run or output folder at once would interleave their files (run A's config with
// run B's checkpoints, pieces of one `generate` overwriting the other's). A command that writes a folder takes
// its lock first and keeps it until it ends:
//
//   OutputLock lock(run_dir, "train");  // throws cadenza::Error if another command holds the folder
//   ... write the folder ...
//                                      // released by the destructor, or by the kernel if the process dies
//
// The lock is an flock(2) on DIR/.cadenza.lock (the folder is created if needed). The kernel releases it when
// the holder exits or is killed (SIGKILL included), so a crash never leaves the folder locked; a stale lock file
// left by a crash is simply locked again by the next command. The file holds "COMMAND pid PID" of the current
// holder, which the refusal quotes:
//
//   DIR is in use by another cadenza command (train, pid 12345)
//
// A lock released normally removes the file. Taking the lock checks after locking that the path still names the
// locked file (the previous holder may have removed it in between), so two takers can never both succeed.
// Within one process the lock is not re-entrant: taking it twice for the same folder is refused like a second
// process would be. flock is advisory: only commands that take the lock are kept out. On a file system without
// flock (some network or FUSE mounts) the lock cannot be had and commands run unlocked rather than fail.
#pragma once

#include <string>

namespace cadenza {

class OutputLock {
 public:
  // Locks `folder` for `command` (a word such as "train" or "generate", quoted in refusals). Creates the folder
  // (and its parents) when missing. Throws Error "FOLDER is in use by another cadenza command (COMMAND, pid N)"
  // when another holder has it, IoError when the folder or lock file cannot be created.
  OutputLock(const std::string& folder, const std::string& command);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  OutputLock(OutputLock&& other) noexcept;
  OutputLock& operator=(OutputLock&& other) noexcept;

  const std::string& lock_file() const { return lock_file_; }
  // Releases now (what the destructor does): removes the lock file and drops the lock.
  void release();

 private:
  std::string lock_file_;
  int fd_ = -1;
};

// The lock file OutputLock uses for a folder: FOLDER/.cadenza.lock.
std::string output_lock_file(const std::string& folder);

}  // namespace cadenza
