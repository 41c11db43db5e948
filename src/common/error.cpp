#include "common/error.h"

namespace cadenza {

static std::string format_message(const std::string& file, int64_t offset, const std::string& problem) {
  std::string message = file.empty() ? std::string("<memory>") : file;
  if (offset >= 0) message += ": byte " + std::to_string(offset);
  message += ": " + problem;
  return message;
}

FormatError::FormatError(const std::string& file, int64_t offset, const std::string& problem)
    : Error(format_message(file, offset, problem)), file_(file), offset_(offset), problem_(problem) {}

IoError::IoError(const std::string& file, const std::string& problem) : Error(file + ": " + problem) {}

}  // namespace cadenza
