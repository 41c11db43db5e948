#include "common/file_io.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "common/file_lock.h"

namespace cadenza {

std::string errno_text() {
  return std::strerror(errno);
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

int FileDescriptor::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

bool FileDescriptor::close() {
  int fd = release();
  return fd < 0 || ::close(fd) == 0;
}

namespace {

// What a non-regular file is, for messages.
std::string file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "an unknown kind of file";
}

}  // namespace

FileDescriptor open_regular_file(const std::string& path, uint64_t* size) {
  // O_NONBLOCK keeps open() from waiting for a writer when the path is a FIFO (it changes nothing for a regular
  // file); anything but a regular file is then refused with a message that names it.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) throw IoError(path, "cannot open: " + errno_text());
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) throw IoError(path, "cannot stat: " + errno_text());
  if (!S_ISREG(info.st_mode))
    throw IoError(path, "is " + file_type_name(info.st_mode) + ", not a regular file" +
                            (S_ISDIR(info.st_mode) ? "" : "; only regular files are read"));
  if (size != nullptr) *size = static_cast<uint64_t>(info.st_size);
  return fd;
}

std::vector<uint8_t> read_file_bytes(const std::string& path, size_t max_bytes) {
  uint64_t size = 0;
  FileDescriptor fd = open_regular_file(path, &size);
  if (size > max_bytes)
    throw IoError(path,
                  "file is " + std::to_string(size) + " bytes, more than the limit of " + std::to_string(max_bytes));
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(path, "read failed: " + errno_text());
    }
    if (n == 0) break;  // file shrank while reading
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

std::string read_file_text(const std::string& path, size_t max_bytes) {
  auto bytes = read_file_bytes(path, max_bytes);
  return std::string(bytes.begin(), bytes.end());
}

LockResult lock_exclusive(int fd, bool wait) {
  while (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return LockResult::kBusy;
    if (errno == ENOLCK || errno == EOPNOTSUPP || errno == ENOSYS) return LockResult::kUnsupported;
    throw IoError("file descriptor " + std::to_string(fd), "cannot lock: " + errno_text());
  }
  return LockResult::kLocked;
}

std::string atomic_write_temporary(const std::string& path) {
  return path + ".tmp";
}

void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes) {
  const std::string tmp = atomic_write_temporary(path);
  FileDescriptor fd(-1);
  // Lock PATH.tmp, then make sure the name still leads to the locked file: a writer that held the lock before us
  // may have renamed that very file over PATH in the meantime, and writing into it would tear the live target.
  for (int attempt = 0;; ++attempt) {
    fd = FileDescriptor(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644));
    if (fd.get() < 0) throw IoError(path, "cannot create temporary file " + tmp + ": " + errno_text());
    if (lock_exclusive(fd.get(), /*wait=*/true) == LockResult::kUnsupported) break;  // no flock here: no turns
    struct stat opened {};
    struct stat named {};
    if (::fstat(fd.get(), &opened) != 0) throw IoError(path, "cannot stat temporary file " + tmp + ": " + errno_text());
    if (!S_ISREG(opened.st_mode)) throw IoError(path, "temporary file " + tmp + " exists and is not a regular file");
    if (::stat(tmp.c_str(), &named) == 0 && named.st_dev == opened.st_dev && named.st_ino == opened.st_ino) break;
    if (attempt >= 1000) throw IoError(path, "temporary file " + tmp + " keeps being replaced by other writers");
  }
  // The file may hold what a killed writer left: start from empty.
  if (::ftruncate(fd.get(), 0) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw IoError(path, "cannot truncate temporary file " + tmp + ": " + why);
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      std::string why = errno_text();
      ::unlink(tmp.c_str());
      throw IoError(path, "write failed: " + why);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw IoError(path, "flush failed: " + why);
  }
  // Renamed while still locked and open, so that no other writer can take the file in between.
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw IoError(path, "cannot rename temporary file into place: " + why);
  }
  fd.close();  // the data is already on disk (fsync above); closing releases the lock
}

void write_file_atomic(const std::string& path, std::string_view text) {
  write_file_atomic(path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  uint64_t size = 0;
  FileDescriptor fd = open_regular_file(path, &size);
  size_ = static_cast<size_t>(size);
  if (size_ == 0) return;
  void* addr = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (addr == MAP_FAILED) {
    size_ = 0;
    throw IoError(path, "cannot memory-map: " + errno_text());
  }
  data_ = static_cast<const uint8_t*>(addr);
}

MappedFile::~MappedFile() {
  release();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void MappedFile::release() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace cadenza
