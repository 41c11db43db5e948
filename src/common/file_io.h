// File helpers: whole-file reads with a size limit, atomic writes, read-only memory maps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cadenza {

// Reads a whole regular file. Throws IoError if it cannot be read, is larger than max_bytes or is not a regular
// file: a FIFO, socket, device or directory is refused with a message naming it, and opening never blocks (a FIFO
// with no writer would otherwise hang the command).
std::vector<uint8_t> read_file_bytes(const std::string& path, size_t max_bytes = size_t(1) << 31);
std::string read_file_text(const std::string& path, size_t max_bytes = size_t(1) << 31);

// Writes atomically: the bytes go to the temporary file PATH.tmp, are fsynced, and PATH.tmp is renamed over PATH,
// so readers see the old file or the whole new one, never a torn write. Throws IoError on failure (and removes the
// temporary file).
//
// The temporary name is fixed, so a writer killed mid-write (SIGKILL, power loss) leaves at most one PATH.tmp per
// target, which the next write of PATH reuses: leftovers cannot pile up. Writers of one target take turns through
// an flock on PATH.tmp held from before the first byte until after the rename (the kernel drops it when a writer
// dies), and each checks after locking that PATH.tmp is still the file it opened (not one another writer has
// already renamed into place), so concurrent writers of the same PATH, in one process or several, never
// interleave: the last rename wins with a whole file.
void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes);
void write_file_atomic(const std::string& path, std::string_view text);
// The temporary file write_file_atomic(path, ...) uses: path + ".tmp".
std::string atomic_write_temporary(const std::string& path);

// Owns a POSIX file descriptor and closes it on destruction.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  int get() const { return fd_; }
  // Gives up ownership without closing.
  int release();
  // Closes now so that a failing close() (delayed write errors) is reported; false on failure.
  bool close();

 private:
  int fd_;
};

// Opens a regular file for reading, never blocking: a FIFO, socket, device or directory is refused with IoError
// "PATH: is a FIFO (named pipe), not a regular file; ..." (a FIFO with no writer would otherwise hang the command).
// `size` receives the file's size. Every reader of a path a user gives goes through this.
FileDescriptor open_regular_file(const std::string& path, uint64_t* size = nullptr);

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
