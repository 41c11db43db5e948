#include "data/split.h"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "data/checksum.h"

namespace cadenza {

namespace {

uint64_t splitmix64_finalize(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

}  // namespace

SplitRatios SplitRatios::parse(const std::string& text) {
  std::vector<double> values;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    size_t used = 0;
    double value = 0.0;
    try {
      value = std::stod(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    while (used < part.size() && part[used] == ' ') ++used;
    if (part.empty() || used != part.size() || !std::isfinite(value) || value < 0.0)
      throw Error("bad split '" + text + "': expected three non-negative numbers like 0.8,0.1,0.1");
    values.push_back(value);
  }
  if (values.size() != 3)
    throw Error("bad split '" + text + "': expected three numbers (train,valid,test) like 0.8,0.1,0.1");
  double sum = values[0] + values[1] + values[2];
  if (sum <= 0.0) throw Error("bad split '" + text + "': the three numbers add up to zero");
  return SplitRatios{values[0] / sum, values[1] / sum, values[2] / sum};
}

std::string SplitRatios::to_string() const {
  return format_number(train) + "," + format_number(valid) + "," + format_number(test);
}

double split_hash_unit(std::string_view relative_path) {
  uint64_t hash = splitmix64_finalize(fnv1a64(relative_path));
  return static_cast<double>(hash >> 11) * 0x1.0p-53;
}

Split split_for_path(std::string_view relative_path, const SplitRatios& ratios) {
  double sum = ratios.train + ratios.valid + ratios.test;
  double u = split_hash_unit(relative_path) * (sum > 0.0 ? sum : 1.0);
  if (u < ratios.train) return Split::kTrain;
  if (u < ratios.train + ratios.valid) return Split::kValid;
  return Split::kTest;
}

Split parse_split(const std::string& name) {
  if (name == "train") return Split::kTrain;
  if (name == "valid" || name == "validation") return Split::kValid;
  if (name == "test") return Split::kTest;
  throw Error("unknown split '" + name + "' (expected train, valid or test)");
}

}  // namespace cadenza
