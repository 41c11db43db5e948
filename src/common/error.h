// Error types shared by every layer of Cadenza.
//
// Every error that comes from bad input names the file (or stream) it came from and, where it makes sense,
// the byte offset, so that the CLI can print one clear line and exit non-zero.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace cadenza {

// Base class of every error Cadenza throws on purpose. The CLI catches it, prints what() and exits 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Malformed content in a file: what() reads "FILE: byte OFFSET: PROBLEM" (offset omitted when negative).
class FormatError : public Error {
 public:
  FormatError(const std::string& file, int64_t offset, const std::string& problem);
  const std::string& file() const { return file_; }
  int64_t offset() const { return offset_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string file_;
  int64_t offset_;
  std::string problem_;
};

// A file that cannot be opened, read or written: what() reads "FILE: PROBLEM (strerror)".
class IoError : public Error {
 public:
  IoError(const std::string& file, const std::string& problem);
};

}  // namespace cadenza
