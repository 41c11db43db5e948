#include "common/options.h"

#include <unistd.h>

#include <cstdio>

namespace cadenza {
namespace option_detail {

std::string show(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

int64_t read_integer(const nlohmann::json& value, const std::string& label, const std::string& key, int64_t low,
                     int64_t high) {
  const std::string range = "an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "]";
  int64_t number = 0;
  if (value.is_number_integer()) {
    // Unsigned values above INT64_MAX would wrap: compare as unsigned first.
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(high))
      throw Error(label + ": \"" + key + "\" must be " + range + ", got " + show(value));
    number = value.get<int64_t>();
  } else if (value.is_number_float()) {
    const double real = value.get<double>();
    // 1e3 written as a float is accepted when it is a whole number within the range.
    if (!std::isfinite(real) || std::floor(real) != real || real < static_cast<double>(low) ||
        real > static_cast<double>(high))
      throw Error(label + ": \"" + key + "\" must be " + range + ", got " + show(value));
    number = static_cast<int64_t>(real);
  } else {
    throw Error(label + ": \"" + key + "\" must be " + range + ", got " + show(value));
  }
  if (number < low || number > high) throw Error(label + ": \"" + key + "\" must be " + range + ", got " + show(value));
  return number;
}

double read_number(const nlohmann::json& value, const std::string& label, const std::string& key, double low,
                   double high) {
  const std::string range = "a number in [" + format_number(low) + ", " + format_number(high) + "]";
  if (!value.is_number()) throw Error(label + ": \"" + key + "\" must be " + range + ", got " + show(value));
  const double number = value.get<double>();
  if (!std::isfinite(number) || number < low || number > high)
    throw Error(label + ": \"" + key + "\" must be " + range + ", got " + show(value));
  return number;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace option_detail

uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
}

void check_memory_estimate(double bytes, const std::string& what) {
  const uint64_t memory = physical_memory_bytes();
  if (memory == 0) return;
  const double limit = 0.5 * static_cast<double>(memory);
  if (!(bytes <= limit)) {
    char text[160];
    std::snprintf(text, sizeof text, " needs about %.1f GB, more than the limit of half this machine's %.1f GB of memory",
                  bytes / 1e9, static_cast<double>(memory) / 1e9);
    throw Error(what + text);
  }
}

}  // namespace cadenza
