#include "data/dataset_info.h"

#include <algorithm>

namespace cadenza {

namespace {

constexpr size_t kSkippedShownByDefault = 5;

nlohmann::json stats_json(const LengthStats& stats) {
  return {{"pieces", stats.pieces},
          {"total", stats.total},
          {"min", stats.min},
          {"median", stats.median},
          {"max", stats.max}};
}

}  // namespace

LengthStats length_stats(std::vector<uint64_t> lengths) {
  LengthStats stats;
  stats.pieces = lengths.size();
  if (lengths.empty()) return stats;
  for (uint64_t length : lengths) stats.total += length;
  auto middle = lengths.begin() + static_cast<std::ptrdiff_t>((lengths.size() - 1) / 2);
  std::nth_element(lengths.begin(), middle, lengths.end());
  stats.median = *middle;
  auto [low, high] = std::minmax_element(lengths.begin(), lengths.end());
  stats.min = *low;
  stats.max = *high;
  return stats;
}

ShardStats compute_shard_stats(const Shard& shard, size_t top_count) {
  ShardStats stats;
  std::vector<uint64_t> all;
  std::array<std::vector<uint64_t>, 3> per_split;
  for (const auto& piece : shard.pieces()) {
    all.push_back(piece.length);
    per_split[static_cast<int>(piece.split)].push_back(piece.length);
  }
  stats.lengths = length_stats(all);
  for (int split = 0; split < 3; ++split) stats.per_split[split] = length_stats(per_split[split]);

  if (!shard.is_piano_roll()) {
    std::vector<uint64_t> counts(static_cast<size_t>(shard.vocabulary_size()), 0);
    for (size_t i = 0; i < shard.num_pieces(); ++i) {
      if (shard.payload_kind() == PayloadKind::kTokensUint16) {
        for (uint16_t token : shard.tokens(i))
          if (token < counts.size()) ++counts[token];
      } else {
        for (int32_t token : shard.tokens32(i))
          if (token >= 0 && static_cast<size_t>(token) < counts.size()) ++counts[static_cast<size_t>(token)];
      }
    }
    std::vector<Token> used;
    for (size_t token = 0; token < counts.size(); ++token)
      if (counts[token] > 0) used.push_back(static_cast<Token>(token));
    stats.distinct_tokens = used.size();
    std::stable_sort(used.begin(), used.end(), [&](Token a, Token b) { return counts[a] > counts[b]; });
    used.resize(std::min(used.size(), top_count));
    for (Token token : used) stats.top_tokens.push_back({token, shard.metadata().vocabulary[token], counts[token]});
  } else {
    std::array<uint64_t, 128> pitch_counts{};
    uint64_t on = 0, cells = 0;
    int lowest_pitch = shard.roll_spec().lowest_pitch;
    for (size_t i = 0; i < shard.num_pieces(); ++i) {
      PianoRoll roll = shard.roll(i);
      cells += roll.cells.size();
      for (size_t cell = 0; cell < roll.cells.size(); ++cell) {
        if (!roll.cells[cell]) continue;
        ++on;
        int pitch = lowest_pitch + static_cast<int>(cell % static_cast<size_t>(roll.num_pitches));
        if (pitch >= 0 && pitch < 128) ++pitch_counts[pitch];
      }
    }
    for (int pitch = 0; pitch < 128; ++pitch) {
      if (pitch_counts[pitch] == 0) continue;
      ++stats.distinct_pitches;
      if (stats.lowest_pitch < 0) stats.lowest_pitch = pitch;
      stats.highest_pitch = pitch;
    }
    stats.on_cell_fraction = cells ? static_cast<double>(on) / static_cast<double>(cells) : 0.0;
  }
  return stats;
}

nlohmann::json shard_info_json(const Shard& shard, const ShardStats& stats, bool include_all_skipped) {
  const ShardMetadata& metadata = shard.metadata();
  nlohmann::json json;
  json["file"] = shard.path();
  json["file_size"] = shard.file_size();
  json["encoding"] = metadata.encoding;
  json["payload"] = payload_kind_name(shard.payload_kind());
  json["tool_version"] = metadata.tool_version;
  json["prepare"] = metadata.prepare_options;
  json["sources"] = metadata.sources.size();
  json["pieces"] = shard.num_pieces();
  nlohmann::json splits;
  for (Split split : {Split::kTrain, Split::kValid, Split::kTest})
    splits[split_name(split)] = stats_json(stats.per_split[static_cast<int>(split)]);
  json["splits"] = std::move(splits);
  json[shard.is_piano_roll() ? "steps" : "tokens"] = stats_json(stats.lengths);
  if (shard.is_piano_roll()) {
    json["pitches_used"] = stats.distinct_pitches;
    json["lowest_pitch_used"] = stats.lowest_pitch;
    json["highest_pitch_used"] = stats.highest_pitch;
    json["on_cell_fraction"] = stats.on_cell_fraction;
  } else {
    json["vocabulary_size"] = shard.vocabulary_size();
    json["distinct_tokens_used"] = stats.distinct_tokens;
    nlohmann::json top = nlohmann::json::array();
    for (const auto& token : stats.top_tokens)
      top.push_back({{"token", token.token}, {"name", token.name}, {"count", token.count}});
    json["top_tokens"] = std::move(top);
  }
  // Duplicate grouping (null for shards prepared before it existed); groups are listed by source path.
  if (metadata.duplicates.checked) {
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& group : metadata.duplicates.groups) {
      nlohmann::json paths = nlohmann::json::array();
      for (uint32_t source : group) paths.push_back(metadata.sources.at(source).path);
      groups.push_back(std::move(paths));
    }
    json["duplicates"] = {{"method", metadata.duplicates.method},
                          {"groups", metadata.duplicates.groups.size()},
                          {"pieces", metadata.duplicates.pieces},
                          {"moved", metadata.duplicates.moved},
                          {"group_paths", std::move(groups)}};
  } else {
    json["duplicates"] = nullptr;
  }
  if (shard.has_styles()) {
    // Pieces per style and split: {"jigs": {"train": 3, "valid": 1, "test": 0}, ...}, and how they were labelled.
    nlohmann::json per_style = nlohmann::json::object();
    for (const std::string& name : shard.style_names()) per_style[name] = {{"train", 0}, {"valid", 0}, {"test", 0}};
    for (size_t i = 0; i < shard.num_pieces(); ++i) {
      auto& count = per_style[shard.style_names()[shard.piece_style(i)]][split_name(shard.piece(i).split)];
      count = count.get<uint64_t>() + 1;
    }
    json["styles"] = {{"source", metadata.styles.source}, {"pieces", std::move(per_style)}};
  }
  json["skipped_count"] = metadata.skipped.size();
  nlohmann::json skipped = nlohmann::json::array();
  const size_t shown =
      include_all_skipped ? metadata.skipped.size() : std::min(metadata.skipped.size(), kSkippedShownByDefault);
  for (size_t i = 0; i < shown; ++i)
    skipped.push_back({{"path", metadata.skipped[i].path}, {"reason", metadata.skipped[i].reason}});
  json["skipped"] = std::move(skipped);
  return json;
}

}  // namespace cadenza
