// Stable train / valid / test assignment of source files.
//
// A file's split depends only on its relative path (as recorded in the shard, '/'-separated): the path is
// hashed (FNV-1a 64, then a SplitMix64 finalizer so that similar names spread evenly) to a number u in [0, 1),
// and u < train -> train, u < train + valid -> valid, else test. Adding, removing or reordering other files
// never moves a file to another split, and the result is the same on every machine. (`dataset prepare` then keeps
// identical and near-identical pieces together: data/prepare.h, data/duplicates.h.)
#pragma once

#include <string>
#include <string_view>

#include "score/jsb.h"  // Split

namespace cadenza {

struct SplitRatios {
  double train = 0.8;
  double valid = 0.1;
  double test = 0.1;

  // Parses "0.8,0.1,0.1" (three non-negative numbers; they are divided by their sum, which must be > 0).
  // Throws Error naming the text on bad input.
  static SplitRatios parse(const std::string& text);
  std::string to_string() const;  // "0.8,0.1,0.1"
};

// The number in [0, 1) a relative path hashes to.
double split_hash_unit(std::string_view relative_path);
// The split a relative path falls in under the given ratios.
Split split_for_path(std::string_view relative_path, const SplitRatios& ratios = {});

// Parses "train" / "valid" / "test" (also "validation"); throws Error otherwise.
Split parse_split(const std::string& name);

}  // namespace cadenza
