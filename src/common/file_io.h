// File helpers: whole-file reads with a size limit, atomic writes, read-only memory maps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cadenza {

// Reads a whole file. Throws IoError if it cannot be read or is larger than max_bytes.
std::vector<uint8_t> read_file_bytes(const std::string& path, size_t max_bytes = size_t(1) << 31);
std::string read_file_text(const std::string& path, size_t max_bytes = size_t(1) << 31);

// Writes to PATH.tmp.<pid>.<n>, fsyncs, then renames over path: readers see the old file or the whole new
// one, never a torn write. Throws IoError on failure (and removes the temporary file).
void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes);
void write_file_atomic(const std::string& path, std::string_view text);

// Owns a POSIX file descriptor and closes it on destruction.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Gives up ownership without closing.
  int release();
  // Closes now so that a failing close() (delayed write errors) is reported; false on failure.
  bool close();

 private:
  int fd_;
};

// strerror(errno) as a string, for messages.
std::string errno_text();

// A read-only memory map of a whole file. Empty files map to an empty span.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  void release();
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace cadenza
