#include "data/shard.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "data/checksum.h"

namespace cadenza {

static_assert(std::endian::native == std::endian::little,
              "the shard reader hands out spans straight from the little-endian file");

namespace {

// Header field offsets (see docs/dataset-format.md).
constexpr size_t kVersionAt = 8;
constexpr size_t kKindAt = 12;
constexpr size_t kFileSizeAt = 16;
constexpr size_t kMetadataOffsetAt = 24;
constexpr size_t kMetadataLengthAt = 32;
constexpr size_t kIndexOffsetAt = 40;
constexpr size_t kPieceCountAt = 48;
constexpr size_t kPayloadOffsetAt = 56;
constexpr size_t kPayloadLengthAt = 64;
constexpr size_t kMetadataCrcAt = 72;
constexpr size_t kIndexCrcAt = 76;
constexpr size_t kPayloadCrcAt = 80;
constexpr size_t kHeaderCrcAt = 88;  // CRC-32 of bytes [0, 88)

constexpr size_t kPieceAlignment = 8;
constexpr size_t kPayloadAlignment = 64;

size_t align_up(size_t value, size_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

template <typename T>
void put(std::vector<uint8_t>& out, size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof value);
}

template <typename T>
T get(const uint8_t* data, size_t at) {
  T value;
  std::memcpy(&value, data + at, sizeof value);
  return value;
}

uint64_t roll_cell_count(uint64_t tracks, uint64_t steps, uint64_t pitches) {
  return tracks * steps * pitches;
}

// Bytes a piece occupies in the payload (before alignment padding).
uint64_t piece_byte_length(PayloadKind kind, const PieceInfo& piece) {
  switch (kind) {
    case PayloadKind::kTokensUint16:
      return piece.length * 2;
    case PayloadKind::kTokensInt32:
      return piece.length * 4;
    case PayloadKind::kPackedRoll:
      return uint64_t{4} * piece.num_bars +
             (roll_cell_count(piece.num_tracks, piece.num_steps, piece.num_pitches) + 7) / 8;
  }
  return 0;
}

nlohmann::json metadata_to_json(const ShardMetadata& metadata, PayloadKind kind, const std::vector<PieceInfo>& pieces) {
  nlohmann::json json;
  json["format"] = "cadenza-shard";
  json["encoding"] = metadata.encoding;
  json["vocabulary"] = metadata.vocabulary;
  json["payload"] = payload_kind_name(kind);
  nlohmann::json sources = nlohmann::json::array();
  for (const auto& source : metadata.sources)
    sources.push_back({{"path", source.path}, {"size", source.size}, {"hash", source.hash}});
  json["sources"] = std::move(sources);
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& file : metadata.skipped) skipped.push_back({{"path", file.path}, {"reason", file.reason}});
  json["skipped"] = std::move(skipped);
  json["prepare"] = metadata.prepare_options;
  json["tool_version"] = metadata.tool_version;
  if (metadata.duplicates.checked)
    json["duplicates"] = {{"method", metadata.duplicates.method},
                          {"groups", metadata.duplicates.groups},
                          {"pieces", metadata.duplicates.pieces},
                          {"moved", metadata.duplicates.moved}};
  if (metadata.chords.present)
    json["chords"] = {{"version", kShardChordsVersion},
                      {"track", metadata.chords.track},
                      {"mask", "12 pitch-class bits, bit p = pitch class p (C = 0); 0 = no chord"},
                      {"runs", metadata.chords.runs}};
  if (metadata.styles.present)
    json["styles"] = {{"version", kShardStylesVersion},
                      {"source", metadata.styles.source},
                      {"names", metadata.styles.names},
                      {"pieces", metadata.styles.pieces}};
  uint64_t per_split[3] = {0, 0, 0};
  uint64_t total_length = 0;
  for (const auto& piece : pieces) {
    ++per_split[static_cast<int>(piece.split)];
    total_length += piece.length;
  }
  json["counts"] = {{"pieces", pieces.size()},
                    {"train", per_split[0]},
                    {"valid", per_split[1]},
                    {"test", per_split[2]},
                    {kind == PayloadKind::kPackedRoll ? "steps" : "tokens", total_length},
                    {"sources", metadata.sources.size()},
                    {"skipped", metadata.skipped.size()}};
  return json;
}

}  // namespace

const char* payload_kind_name(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kTokensUint16:
      return "uint16";
    case PayloadKind::kTokensInt32:
      return "int32";
    case PayloadKind::kPackedRoll:
      return "packed_bits";
  }
  return "unknown";
}

std::string ShardMetadata::encoding_name() const {
  if (encoding.is_object() && encoding.contains("name") && encoding["name"].is_string())
    return encoding["name"].get<std::string>();
  return "";
}

// ---- writer -------------------------------------------------------------------------------------------------

ShardWriter::ShardWriter(ShardMetadata metadata) : metadata_(std::move(metadata)) {
  if (metadata_.encoding_name().empty()) throw Error("shard metadata: the encoding spec has no \"name\"");
  if (metadata_.is_piano_roll()) {
    kind_ = PayloadKind::kPackedRoll;
    if (!metadata_.vocabulary.empty()) throw Error("shard metadata: a piano-roll shard has no vocabulary");
  } else {
    if (metadata_.vocabulary.empty())
      throw Error("shard metadata: token encoding '" + metadata_.encoding_name() + "' has an empty vocabulary");
    kind_ = metadata_.vocabulary.size() <= 65536 ? PayloadKind::kTokensUint16 : PayloadKind::kTokensInt32;
  }
}

void ShardWriter::add_tokens(uint32_t source, Split split, std::span<const Token> tokens) {
  if (kind_ == PayloadKind::kPackedRoll) throw Error("add_tokens on a piano-roll shard");
  const auto vocabulary_size = static_cast<Token>(metadata_.vocabulary.size());
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= vocabulary_size)
      throw Error("token " + std::to_string(tokens[i]) + " at position " + std::to_string(i) +
                  " is outside the vocabulary of " + std::to_string(vocabulary_size));
  PieceInfo piece;
  piece.offset = align_up(payload_.size(), kPieceAlignment);
  piece.length = tokens.size();
  piece.split = split;
  piece.source = source;
  payload_.resize(piece.offset + piece_byte_length(kind_, piece), 0);
  uint8_t* out = payload_.data() + piece.offset;
  if (kind_ == PayloadKind::kTokensUint16) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      auto value = static_cast<uint16_t>(tokens[i]);
      std::memcpy(out + 2 * i, &value, 2);
    }
  } else if (!tokens.empty()) {
    std::memcpy(out, tokens.data(), tokens.size() * 4);
  }
  pieces_.push_back(piece);
}

void ShardWriter::add_roll(uint32_t source, Split split, const PianoRoll& roll) {
  if (kind_ != PayloadKind::kPackedRoll) throw Error("add_roll on a token shard");
  if (roll.num_tracks < 0 || roll.num_steps < 0 || roll.num_pitches < 0 ||
      roll.cells.size() != roll_cell_count(roll.num_tracks, roll.num_steps, roll.num_pitches))
    throw Error("piano roll shape " + std::to_string(roll.num_tracks) + "x" + std::to_string(roll.num_steps) + "x" +
                std::to_string(roll.num_pitches) + " does not match its " + std::to_string(roll.cells.size()) +
                " cells");
  if (metadata_.encoding.contains("lowest_pitch") && metadata_.encoding.contains("highest_pitch")) {
    int expected = metadata_.encoding["highest_pitch"].get<int>() - metadata_.encoding["lowest_pitch"].get<int>() + 1;
    if (roll.num_pitches != expected)
      throw Error("piano roll has " + std::to_string(roll.num_pitches) + " pitches, the spec says " +
                  std::to_string(expected));
  }
  for (int bar : roll.bar_starts)
    if (bar < 0) throw Error("piano roll has a negative bar start");
  PieceInfo piece;
  piece.offset = align_up(payload_.size(), kPieceAlignment);
  piece.length = static_cast<uint64_t>(roll.num_steps);
  piece.split = split;
  piece.source = source;
  piece.num_tracks = static_cast<uint32_t>(roll.num_tracks);
  piece.num_steps = static_cast<uint32_t>(roll.num_steps);
  piece.num_pitches = static_cast<uint32_t>(roll.num_pitches);
  piece.num_bars = static_cast<uint32_t>(roll.bar_starts.size());
  payload_.resize(piece.offset + piece_byte_length(kind_, piece), 0);
  uint8_t* out = payload_.data() + piece.offset;
  for (size_t i = 0; i < roll.bar_starts.size(); ++i) {
    auto bar = static_cast<uint32_t>(roll.bar_starts[i]);
    std::memcpy(out + 4 * i, &bar, 4);
  }
  const std::vector<uint8_t> packed = pack_bits(roll);
  if (!packed.empty()) std::memcpy(out + 4 * roll.bar_starts.size(), packed.data(), packed.size());
  pieces_.push_back(piece);
}

std::vector<uint8_t> ShardWriter::serialize() const {
  for (size_t i = 0; i < pieces_.size(); ++i)
    if (pieces_[i].source >= metadata_.sources.size())
      throw Error("piece " + std::to_string(i) + " names source " + std::to_string(pieces_[i].source) +
                  " but the metadata lists " + std::to_string(metadata_.sources.size()) + " sources");
  // File names and --set values are bytes, not always UTF-8 (Latin-1 names are common): JSON cannot hold those, so
  // they are stored with U+FFFD in place of each invalid byte (dump() would throw).
  const std::string metadata_text =
      metadata_to_json(metadata_, kind_, pieces_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  const size_t metadata_offset = kShardHeaderSize;
  const size_t index_offset = align_up(metadata_offset + metadata_text.size(), kPieceAlignment);
  const size_t index_length = pieces_.size() * kShardIndexEntrySize;
  const size_t payload_offset = align_up(index_offset + index_length, kPayloadAlignment);
  const size_t file_size = payload_offset + payload_.size();

  std::vector<uint8_t> out(file_size, 0);
  std::memcpy(out.data(), kShardMagic, sizeof kShardMagic);
  put<uint32_t>(out, kVersionAt, kShardFormatVersion);
  put<uint32_t>(out, kKindAt, static_cast<uint32_t>(kind_));
  put<uint64_t>(out, kFileSizeAt, file_size);
  put<uint64_t>(out, kMetadataOffsetAt, metadata_offset);
  put<uint64_t>(out, kMetadataLengthAt, metadata_text.size());
  put<uint64_t>(out, kIndexOffsetAt, index_offset);
  put<uint64_t>(out, kPieceCountAt, pieces_.size());
  put<uint64_t>(out, kPayloadOffsetAt, payload_offset);
  put<uint64_t>(out, kPayloadLengthAt, payload_.size());

  std::memcpy(out.data() + metadata_offset, metadata_text.data(), metadata_text.size());
  for (size_t i = 0; i < pieces_.size(); ++i) {
    const PieceInfo& piece = pieces_[i];
    size_t at = index_offset + i * kShardIndexEntrySize;
    put<uint64_t>(out, at + 0, piece.offset);
    put<uint64_t>(out, at + 8, piece.length);
    put<uint32_t>(out, at + 16, piece.source);
    put<uint8_t>(out, at + 20, static_cast<uint8_t>(piece.split));
    put<uint32_t>(out, at + 24, piece.num_tracks);
    put<uint32_t>(out, at + 28, piece.num_steps);
    put<uint32_t>(out, at + 32, piece.num_pitches);
    put<uint32_t>(out, at + 36, piece.num_bars);
  }
  if (!payload_.empty()) std::memcpy(out.data() + payload_offset, payload_.data(), payload_.size());

  std::span<const uint8_t> all(out);
  put<uint32_t>(out, kMetadataCrcAt, crc32_of(all.subspan(metadata_offset, metadata_text.size())));
  put<uint32_t>(out, kIndexCrcAt, crc32_of(all.subspan(index_offset, index_length)));
  put<uint32_t>(out, kPayloadCrcAt, crc32_of(all.subspan(payload_offset, payload_.size())));
  put<uint32_t>(out, kHeaderCrcAt, crc32_of(all.subspan(0, kHeaderCrcAt)));
  return out;
}

void ShardWriter::write(const std::string& path) const {
  auto bytes = serialize();
  write_file_atomic(path, bytes);
}

// ---- reader -------------------------------------------------------------------------------------------------

void Shard::fail(int64_t offset, const std::string& problem) const {
  throw FormatError(file_.path(), offset, problem);
}

Shard::Shard(const std::string& path, bool verify_payload) : file_(path) {
  const std::span<const uint8_t> bytes = file_.bytes();
  const uint8_t* data = bytes.data();
  const uint64_t size = bytes.size();

  if (size < sizeof kShardMagic || std::memcmp(data, kShardMagic, sizeof kShardMagic) != 0)
    fail(0, "not a Cadenza dataset shard (the file does not start with \"CDZSHRD1\")");
  if (size < kShardHeaderSize)
    fail(static_cast<int64_t>(size),
         "truncated: the file ends inside the " + std::to_string(kShardHeaderSize) + "-byte header");
  const uint32_t version = get<uint32_t>(data, kVersionAt);
  if (version != kShardFormatVersion)
    fail(kVersionAt, "shard format version " + std::to_string(version) + " is not supported (this build reads " +
                         std::to_string(kShardFormatVersion) + "); prepare the data set again");
  if (get<uint32_t>(data, kHeaderCrcAt) != crc32_of(bytes.subspan(0, kHeaderCrcAt)))
    fail(kHeaderCrcAt, "header checksum mismatch: the header is corrupt");
  const uint64_t file_size = get<uint64_t>(data, kFileSizeAt);
  if (size < file_size)
    fail(static_cast<int64_t>(size),
         "truncated: the file is " + std::to_string(size) + " bytes, its header says " + std::to_string(file_size));
  if (size > file_size)
    fail(static_cast<int64_t>(file_size), "the file is " + std::to_string(size) + " bytes, longer than the " +
                                              std::to_string(file_size) + " its header says (trailing data)");
  const uint32_t kind = get<uint32_t>(data, kKindAt);
  if (kind < 1 || kind > 3) fail(kKindAt, "unknown payload kind " + std::to_string(kind));
  kind_ = static_cast<PayloadKind>(kind);

  const uint64_t metadata_offset = get<uint64_t>(data, kMetadataOffsetAt);
  const uint64_t metadata_length = get<uint64_t>(data, kMetadataLengthAt);
  const uint64_t index_offset = get<uint64_t>(data, kIndexOffsetAt);
  const uint64_t piece_count = get<uint64_t>(data, kPieceCountAt);
  const uint64_t payload_offset = get<uint64_t>(data, kPayloadOffsetAt);
  const uint64_t payload_length = get<uint64_t>(data, kPayloadLengthAt);
  // Sections must lie in order inside the file; each comparison is written so that it cannot overflow.
  if (metadata_offset < kShardHeaderSize || metadata_offset > size || metadata_length > size - metadata_offset)
    fail(kMetadataOffsetAt, "metadata section lies outside the file");
  if (index_offset < metadata_offset + metadata_length || index_offset > size || index_offset % kPieceAlignment != 0 ||
      piece_count > (size - index_offset) / kShardIndexEntrySize)
    fail(kIndexOffsetAt, "piece index lies outside the file or is misaligned");
  if (payload_offset < index_offset + piece_count * kShardIndexEntrySize || payload_offset > size ||
      payload_offset % kPieceAlignment != 0 || payload_length != size - payload_offset)
    fail(kPayloadOffsetAt, "payload section does not match the file layout");

  // Every byte of the file is covered by a checksum or must be zero, so that no single flipped byte goes
  // unnoticed: the reserved header word and the padding between sections.
  auto require_zero = [&](uint64_t begin, uint64_t end, const char* what) {
    for (uint64_t at = begin; at < end; ++at)
      if (data[at] != 0) fail(static_cast<int64_t>(at), std::string("non-zero byte in the ") + what);
  };
  require_zero(kHeaderCrcAt + 4, kShardHeaderSize, "reserved header bytes");
  require_zero(kShardHeaderSize, metadata_offset, "padding before the metadata");
  require_zero(metadata_offset + metadata_length, index_offset, "padding after the metadata");
  require_zero(index_offset + piece_count * kShardIndexEntrySize, payload_offset, "padding before the payload");

  const auto metadata_bytes = bytes.subspan(metadata_offset, metadata_length);
  if (get<uint32_t>(data, kMetadataCrcAt) != crc32_of(metadata_bytes))
    fail(static_cast<int64_t>(metadata_offset), "metadata checksum mismatch: the metadata block is corrupt");
  const auto index_bytes = bytes.subspan(index_offset, piece_count * kShardIndexEntrySize);
  if (get<uint32_t>(data, kIndexCrcAt) != crc32_of(index_bytes))
    fail(static_cast<int64_t>(index_offset), "piece index checksum mismatch: the index is corrupt");
  payload_ = data + payload_offset;
  payload_length_ = payload_length;
  if (verify_payload && get<uint32_t>(data, kPayloadCrcAt) != crc32_of(bytes.subspan(payload_offset, payload_length)))
    fail(static_cast<int64_t>(payload_offset), "payload checksum mismatch: the payload is corrupt");

  // Metadata JSON.
  try {
    metadata_json_ = nlohmann::json::parse(metadata_bytes.begin(), metadata_bytes.end());
    const auto& json = metadata_json_;
    metadata_.encoding = json.at("encoding");
    metadata_.vocabulary = json.at("vocabulary").get<std::vector<std::string>>();
    for (const auto& source : json.at("sources"))
      metadata_.sources.push_back({source.at("path").get<std::string>(), source.at("size").get<uint64_t>(),
                                   source.at("hash").get<std::string>()});
    for (const auto& file : json.at("skipped"))
      metadata_.skipped.push_back({file.at("path").get<std::string>(), file.at("reason").get<std::string>()});
    metadata_.prepare_options = json.value("prepare", nlohmann::json::object());
    metadata_.tool_version = json.value("tool_version", std::string());
    if (json.contains("duplicates")) {  // optional: older shards were prepared without duplicate grouping
      const auto& duplicates = json.at("duplicates");
      metadata_.duplicates.checked = true;
      metadata_.duplicates.method = duplicates.at("method").get<std::string>();
      metadata_.duplicates.groups = duplicates.at("groups").get<std::vector<std::vector<uint32_t>>>();
      metadata_.duplicates.pieces = duplicates.at("pieces").get<uint64_t>();
      metadata_.duplicates.moved = duplicates.at("moved").get<uint64_t>();
    }
    if (json.contains("chords")) {  // optional: shards prepared without --chords-track have no chords
      const auto& chords = json.at("chords");
      const int version = chords.at("version").get<int>();
      if (version != kShardChordsVersion)
        fail(static_cast<int64_t>(metadata_offset), "chords version " + std::to_string(version) +
                                                        " is not known to this build (it reads version " +
                                                        std::to_string(kShardChordsVersion) + ")");
      metadata_.chords.present = true;
      metadata_.chords.track = chords.value("track", -1);
      metadata_.chords.runs = chords.at("runs").get<std::vector<std::vector<uint32_t>>>();
    }
    if (json.contains("styles")) {  // optional: shards prepared without --style / --style-from have no styles
      const auto& styles = json.at("styles");
      const int version = styles.at("version").get<int>();
      if (version != kShardStylesVersion)
        fail(static_cast<int64_t>(metadata_offset), "styles version " + std::to_string(version) +
                                                        " is not known to this build (it reads version " +
                                                        std::to_string(kShardStylesVersion) + ")");
      ShardStyles& read = metadata_.styles;
      read.present = true;
      read.source = styles.value("source", std::string());
      read.names = styles.at("names").get<std::vector<std::string>>();
      read.pieces = styles.at("pieces").get<std::vector<uint32_t>>();
      for (size_t i = 1; i < read.names.size(); ++i)
        if (!(read.names[i - 1] < read.names[i]))
          fail(static_cast<int64_t>(metadata_offset), "styles: the names must be sorted and distinct ('" +
                                                          read.names[i - 1] + "' before '" + read.names[i] + "')");
      for (size_t i = 0; i < read.pieces.size(); ++i)
        if (read.pieces[i] >= read.names.size())
          fail(static_cast<int64_t>(metadata_offset), "styles: piece " + std::to_string(i) + " has style index " +
                                                          std::to_string(read.pieces[i]) + ", but there are " +
                                                          std::to_string(read.names.size()) + " styles");
    }
  } catch (const nlohmann::json::exception& e) {
    fail(static_cast<int64_t>(metadata_offset), std::string("bad metadata block: ") + e.what());
  }
  for (const auto& group : metadata_.duplicates.groups)
    for (uint32_t source : group)
      if (source >= metadata_.sources.size())
        fail(static_cast<int64_t>(metadata_offset), "a duplicate group names source " + std::to_string(source) +
                                                        ", but the metadata lists " +
                                                        std::to_string(metadata_.sources.size()) + " sources");
  if (metadata_.is_piano_roll() != (kind_ == PayloadKind::kPackedRoll))
    fail(kKindAt, "payload kind " + std::string(payload_kind_name(kind_)) + " does not fit encoding '" +
                      metadata_.encoding_name() + "'");
  if (!metadata_.is_piano_roll() && metadata_.vocabulary.empty())
    fail(static_cast<int64_t>(metadata_offset), "token shard without a vocabulary");
  if (kind_ == PayloadKind::kTokensUint16 && metadata_.vocabulary.size() > 65536)
    fail(kKindAt, "uint16 tokens but a vocabulary of " + std::to_string(metadata_.vocabulary.size()));
  check_encoding(static_cast<int64_t>(metadata_offset));

  // Piece index.
  pieces_.resize(piece_count);
  uint64_t previous_end = 0;
  for (uint64_t i = 0; i < piece_count; ++i) {
    const uint64_t at = index_offset + i * kShardIndexEntrySize;
    auto entry_error = [&](const std::string& problem) {
      fail(static_cast<int64_t>(at), "piece " + std::to_string(i) + ": " + problem);
    };
    PieceInfo& piece = pieces_[i];
    piece.offset = get<uint64_t>(data, at + 0);
    piece.length = get<uint64_t>(data, at + 8);
    piece.source = get<uint32_t>(data, at + 16);
    const uint8_t split = get<uint8_t>(data, at + 20);
    piece.num_tracks = get<uint32_t>(data, at + 24);
    piece.num_steps = get<uint32_t>(data, at + 28);
    piece.num_pitches = get<uint32_t>(data, at + 32);
    piece.num_bars = get<uint32_t>(data, at + 36);
    if (split > 2) entry_error("bad split " + std::to_string(split));
    piece.split = static_cast<Split>(split);
    if (piece.source >= metadata_.sources.size())
      entry_error("source " + std::to_string(piece.source) + " is not in the metadata");
    if (piece.offset % kPieceAlignment != 0 || piece.offset < previous_end || piece.offset > payload_length)
      entry_error("bad payload offset " + std::to_string(piece.offset));
    if (kind_ == PayloadKind::kPackedRoll) {
      if (piece.length != piece.num_steps) entry_error("length and step count differ");
      if (piece.num_tracks > 4096 || piece.num_pitches > 128 || piece.num_bars > piece.num_steps + 1u)
        entry_error("implausible roll shape");
    } else if (piece.num_tracks || piece.num_steps || piece.num_pitches || piece.num_bars) {
      entry_error("roll fields set in a token shard");
    }
    if (kind_ != PayloadKind::kPackedRoll &&
        piece.length > payload_length / 2)  // keeps the byte count from overflowing
      entry_error("length " + std::to_string(piece.length) + " is too large");
    const uint64_t byte_length = piece_byte_length(kind_, piece);
    if (byte_length > payload_length - piece.offset)
      entry_error("data runs past the end of the payload (" + std::to_string(byte_length) + " bytes at offset " +
                  std::to_string(piece.offset) + ")");
    previous_end = piece.offset + byte_length;
  }

  if (verify_payload && kind_ != PayloadKind::kPackedRoll) {
    const auto vocabulary_size = static_cast<int64_t>(metadata_.vocabulary.size());
    for (size_t i = 0; i < pieces_.size(); ++i) {
      const auto bad = [&](int64_t token) {
        fail(static_cast<int64_t>(payload_offset + pieces_[i].offset),
             "piece " + std::to_string(i) + " holds token " + std::to_string(token) + ", outside the vocabulary of " +
                 std::to_string(vocabulary_size));
      };
      if (kind_ == PayloadKind::kTokensUint16) {
        for (uint16_t token : tokens(i))
          if (token >= vocabulary_size) bad(token);
      } else {
        for (int32_t token : tokens32(i))
          if (token < 0 || token >= vocabulary_size) bad(token);
      }
    }
  }
}

void Shard::check_encoding(int64_t metadata_offset) const {
  // The encoding is rebuilt from the stored spec and its vocabulary compared name by name with the stored one:
  // a shard whose vocabulary was reordered or edited (checksums fixed up) would otherwise be decoded with the
  // wrong names, and one made by another version of an encoding must be prepared again.
  if (metadata_.is_piano_roll()) {
    try {
      roll_spec();
    } catch (const Error& e) {
      fail(metadata_offset, std::string("the stored piano-roll spec is not usable: ") + e.what());
    }
    return;
  }
  // An encoding this build does not have cannot be rebuilt: its tokens can still be read and counted
  // (`dataset info`), and make_encoding() refuses it with a message naming the encoding.
  const std::vector<std::string> known = token_encoding_names();
  if (std::find(known.begin(), known.end(), metadata_.encoding_name()) == known.end()) return;
  std::unique_ptr<TokenEncoding> encoding;
  try {
    encoding = make_token_encoding(metadata_.encoding);
  } catch (const Error& e) {
    fail(metadata_offset, std::string("the stored encoding spec is not usable: ") + e.what());
  }
  const std::vector<std::string>& expected = encoding->vocabulary().names();
  const std::vector<std::string>& stored = metadata_.vocabulary;
  const std::string which = "encoding '" + metadata_.encoding_name() + "' rebuilt from the stored spec";
  for (size_t i = 0; i < std::min(expected.size(), stored.size()); ++i)
    if (expected[i] != stored[i])
      fail(metadata_offset, "vocabulary entry " + std::to_string(i) + " is \"" + stored[i] + "\" in the shard but \"" +
                                expected[i] + "\" in the " + which +
                                " (the shard was edited or made by another version of the encoding); prepare it again");
  if (expected.size() != stored.size())
    fail(metadata_offset, "the shard's vocabulary has " + std::to_string(stored.size()) + " names but the " + which +
                              " has " + std::to_string(expected.size()) + "; prepare it again");
}

const PieceInfo& Shard::piece(size_t index) const {
  if (index >= pieces_.size())
    throw Error(path() + ": piece " + std::to_string(index) + " does not exist (the shard has " +
                std::to_string(pieces_.size()) + ")");
  return pieces_[index];
}

std::vector<size_t> Shard::pieces_in_split(Split split) const {
  std::vector<size_t> indices;
  for (size_t i = 0; i < pieces_.size(); ++i)
    if (pieces_[i].split == split) indices.push_back(i);
  return indices;
}

std::span<const uint8_t> Shard::piece_bytes(size_t index) const {
  const PieceInfo& info = piece(index);
  return {payload_ + info.offset, static_cast<size_t>(piece_byte_length(kind_, info))};
}

std::span<const uint16_t> Shard::tokens(size_t index) const {
  if (kind_ != PayloadKind::kTokensUint16)
    throw Error(path() + ": tokens are stored as " + payload_kind_name(kind_) + ", not uint16");
  const auto bytes = piece_bytes(index);
  return {reinterpret_cast<const uint16_t*>(bytes.data()), bytes.size() / 2};
}

std::span<const int32_t> Shard::tokens32(size_t index) const {
  if (kind_ != PayloadKind::kTokensInt32)
    throw Error(path() + ": tokens are stored as " + payload_kind_name(kind_) + ", not int32");
  const auto bytes = piece_bytes(index);
  return {reinterpret_cast<const int32_t*>(bytes.data()), bytes.size() / 4};
}

std::vector<Token> Shard::token_vector(size_t index) const {
  if (kind_ == PayloadKind::kTokensUint16) {
    auto span = tokens(index);
    return std::vector<Token>(span.begin(), span.end());
  }
  auto span = tokens32(index);
  return std::vector<Token>(span.begin(), span.end());
}

std::vector<uint16_t> Shard::piece_chords(size_t index) const {
  if (!metadata_.chords.present)
    throw Error(path() + ": the shard stores no chords (prepare it with --chords-track N)");
  const PieceInfo& info = piece(index);
  if (metadata_.chords.runs.size() != pieces_.size())
    throw Error(path() + ": the chords list " + std::to_string(metadata_.chords.runs.size()) + " pieces, the index " +
                std::to_string(pieces_.size()));
  const auto& runs = metadata_.chords.runs[index];
  std::vector<uint16_t> masks(static_cast<size_t>(info.length), 0);
  if (runs.size() % 2 != 0 || (!runs.empty() && runs[0] != 0))
    throw Error(path() + ": the chords of piece " + std::to_string(index) +
                " must be [first token, mask] pairs starting at token 0");
  for (size_t r = 0; r < runs.size(); r += 2) {
    const uint32_t first = runs[r], mask = runs[r + 1];
    const uint64_t end = r + 2 < runs.size() ? runs[r + 2] : info.length;
    if (mask > 0xFFF || first >= end || end > info.length)
      throw Error(path() + ": the chords of piece " + std::to_string(index) + " are malformed at run " +
                  std::to_string(r / 2) + " (first token " + std::to_string(first) + ", mask " + std::to_string(mask) +
                  ", piece length " + std::to_string(info.length) + ")");
    std::fill(masks.begin() + first, masks.begin() + static_cast<int64_t>(end), static_cast<uint16_t>(mask));
  }
  return masks;
}

uint32_t Shard::piece_style(size_t index) const {
  if (!metadata_.styles.present)
    throw Error(path() + ": the shard stores no styles (prepare it with --style-from RULE or --style NAME)");
  piece(index);  // range check
  if (metadata_.styles.pieces.size() != pieces_.size())
    throw Error(path() + ": the styles list " + std::to_string(metadata_.styles.pieces.size()) + " pieces, the index " +
                std::to_string(pieces_.size()));
  return metadata_.styles.pieces[index];
}

PianoRoll Shard::roll(size_t index) const {
  if (kind_ != PayloadKind::kPackedRoll) throw Error(path() + ": not a piano-roll shard");
  const PieceInfo& info = piece(index);
  const auto bytes = piece_bytes(index);
  PianoRoll roll;
  try {
    roll = unpack_bits(bytes.subspan(size_t{4} * info.num_bars), static_cast<int>(info.num_tracks),
                       static_cast<int>(info.num_steps), static_cast<int>(info.num_pitches));
  } catch (const Error& e) {
    // Only reachable when the payload was not verified on open (the CRC would have caught the damage).
    fail(static_cast<int64_t>(payload_ - file_.bytes().data() + info.offset),
         "piece " + std::to_string(index) + ": " + e.what());
  }
  roll.bar_starts.resize(info.num_bars);
  for (uint32_t i = 0; i < info.num_bars; ++i)
    roll.bar_starts[i] = static_cast<int>(get<uint32_t>(bytes.data(), 4 * i));
  return roll;
}

std::unique_ptr<TokenEncoding> Shard::make_encoding() const {
  if (is_piano_roll()) throw Error(path() + ": a piano-roll shard has no token encoding");
  auto encoding = make_token_encoding(metadata_.encoding);
  if (encoding->vocabulary().names() != metadata_.vocabulary)
    throw Error(path() + ": the vocabulary of encoding '" + metadata_.encoding_name() +
                "' differs from the one stored in the shard (it was prepared by another version); prepare it again");
  return encoding;
}

PianoRollSpec Shard::roll_spec() const {
  if (!is_piano_roll()) throw Error(path() + ": not a piano-roll shard");
  nlohmann::json spec = metadata_.encoding;
  spec.erase("name");
  return PianoRollSpec::from_json(spec);
}

}  // namespace cadenza
