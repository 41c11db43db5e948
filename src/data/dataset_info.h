// Statistics of a prepared shard, for `cadenza dataset info`.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/shard.h"

namespace cadenza {

struct LengthStats {
  uint64_t pieces = 0;
  uint64_t total = 0;
  uint64_t min = 0;
  uint64_t median = 0;  // the lower median for an even count
  uint64_t max = 0;
};
LengthStats length_stats(std::vector<uint64_t> lengths);

struct TokenCount {
  Token token = 0;
  std::string name;
  uint64_t count = 0;
};

struct ShardStats {
  LengthStats lengths;                   // tokens, or steps for rolls, over every piece
  std::array<LengthStats, 3> per_split;  // indexed by Split
  // Token shards: how many distinct ids occur, and the most frequent ones (ties by lower id).
  size_t distinct_tokens = 0;
  std::vector<TokenCount> top_tokens;
  // Piano-roll shards: pitches that sound somewhere, and the fraction of cells that are on.
  int distinct_pitches = 0;
  int lowest_pitch = -1;
  int highest_pitch = -1;
  double on_cell_fraction = 0.0;
};

// One pass over every piece (rolls are unpacked one at a time).
ShardStats compute_shard_stats(const Shard& shard, size_t top_count = 10);

// Everything `dataset info --json` prints: file, size, encoding spec, payload kind, vocabulary size, sources,
// pieces per split, length statistics, vocabulary / pitch usage, the duplicate groups (null for a shard prepared
// before duplicate grouping) and the skipped files (all of them when include_all_skipped, else the first few).
nlohmann::json shard_info_json(const Shard& shard, const ShardStats& stats, bool include_all_skipped);

}  // namespace cadenza
