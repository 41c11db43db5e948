#include "common/output_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string_view>
#include <utility>

#include "common/error.h"
#include "common/file_io.h"
#include "common/file_lock.h"

namespace cadenza {

namespace {

// What the lock file says about its holder ("train pid 123"), read without blocking; "" when unreadable.
std::string holder_of(int fd) {
  char buffer[256];
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return "";
  std::string text(buffer, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return text;
}

// "train pid 123" -> "train, pid 123"; anything else as it is.
std::string holder_description(const std::string& holder) {
  const size_t space = holder.find(" pid ");
  if (holder.empty()) return "pid unknown";
  if (space == std::string::npos) return holder;
  return holder.substr(0, space) + "," + holder.substr(space);
}

}  // namespace

std::string output_lock_file(const std::string& folder) {
  return (std::filesystem::path(folder) / ".cadenza.lock").string();
}

OutputLock::OutputLock(const std::string& folder, const std::string& command) : lock_file_(output_lock_file(folder)) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) throw IoError(folder, "cannot create the folder: " + error.message());
  for (int attempt = 0;; ++attempt) {
    FileDescriptor fd(::open(lock_file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644));
    if (fd.get() < 0) throw IoError(lock_file_, "cannot create the lock file: " + errno_text());
    const LockResult locked = lock_exclusive(fd.get(), /*wait=*/false);
    if (locked == LockResult::kBusy)
      throw Error(folder + " is in use by another cadenza command (" + holder_description(holder_of(fd.get())) +
                  "); wait for it to finish or choose another folder");
    // The previous holder removes the file when it releases: make sure we locked the file the name leads to now.
    struct stat opened {};
    struct stat named {};
    if (::fstat(fd.get(), &opened) != 0) throw IoError(lock_file_, "cannot stat: " + errno_text());
    if (::stat(lock_file_.c_str(), &named) != 0 || named.st_dev != opened.st_dev || named.st_ino != opened.st_ino) {
      if (attempt >= 1000) throw IoError(lock_file_, "the lock file keeps being replaced");
      continue;
    }
    const std::string holder = command + " pid " + std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), holder.data(), holder.size(), 0) < 0)
      throw IoError(lock_file_, "cannot write the lock file: " + errno_text());
    fd_ = fd.release();
    return;
  }
}

OutputLock::~OutputLock() {
  release();
}

OutputLock::OutputLock(OutputLock&& other) noexcept
    : lock_file_(std::move(other.lock_file_)), fd_(std::exchange(other.fd_, -1)) {}

OutputLock& OutputLock::operator=(OutputLock&& other) noexcept {
  if (this != &other) {
    release();
    lock_file_ = std::move(other.lock_file_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void OutputLock::release() {
  if (fd_ < 0) return;
  // Removed while still locked: a taker that opened the old file before the unlink finds, once it gets the lock,
  // that the name no longer leads to it and starts again.
  ::unlink(lock_file_.c_str());
  ::close(fd_);
  fd_ = -1;
}

}  // namespace cadenza
