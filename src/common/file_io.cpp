#include "common/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace cadenza {

std::string errno_text() {
  return std::strerror(errno);
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
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

std::vector<uint8_t> read_file_bytes(const std::string& path, size_t max_bytes) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw IoError(path, "cannot open: " + errno_text());
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) throw IoError(path, "cannot stat: " + errno_text());
  if (S_ISDIR(info.st_mode)) throw IoError(path, "is a directory, not a file");
  if (static_cast<uint64_t>(info.st_size) > max_bytes)
    throw IoError(path, "file is " + std::to_string(info.st_size) + " bytes, more than the limit of " +
                            std::to_string(max_bytes));
  std::vector<uint8_t> bytes(static_cast<size_t>(info.st_size));
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

void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw IoError(path, "cannot create temporary file " + tmp + ": " + errno_text());
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string why = errno_text();
      ::unlink(tmp.c_str());
      throw IoError(path, "write failed: " + why);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw IoError(path, "flush failed: " + why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw IoError(path, "cannot rename temporary file into place: " + why);
  }
}

void write_file_atomic(const std::string& path, std::string_view text) {
  write_file_atomic(path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw IoError(path, "cannot open: " + errno_text());
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) throw IoError(path, "cannot stat: " + errno_text());
  if (S_ISDIR(info.st_mode)) throw IoError(path, "is a directory, not a file");
  size_ = static_cast<size_t>(info.st_size);
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
