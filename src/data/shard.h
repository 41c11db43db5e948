// Dataset shards: one memory-mappable file holding every encoded piece of a prepared data set.
//
// The byte layout is specified in docs/dataset-format.md. In short: a 96-byte header (magic "CDZSHRD1",
// version, section offsets and CRC-32s), a JSON metadata block (encoding spec, vocabulary, sources, skipped
// files, prepare options), a piece index (48 bytes per piece) and the payload (tokens as uint16 when the
// vocabulary has at most 65,536 entries, else int32; piano rolls bit-packed). Every piece starts on an 8-byte
// boundary, so the reader hands out spans straight from the memory map.
//
// ShardWriter assembles a shard in memory and writes it with write_file_atomic. Shard opens one read-only;
// a bad magic, unknown version, truncation, a CRC mismatch, an inconsistent index, or a stored vocabulary that
// differs from the encoding rebuilt from the stored spec (named by position, with both names) is a FormatError
// naming the file and the byte offset of the offending section. (A shard of an encoding this build does not know
// still opens, so that its tokens can be counted; make_encoding() refuses it.)
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "score/jsb.h"  // Split

namespace cadenza {

inline constexpr char kShardMagic[8] = {'C', 'D', 'Z', 'S', 'H', 'R', 'D', '1'};
inline constexpr uint32_t kShardFormatVersion = 1;
inline constexpr size_t kShardHeaderSize = 96;
inline constexpr size_t kShardIndexEntrySize = 48;
// The encoding name recorded for piano-roll shards (token encodings record TokenEncoding::name()).
inline constexpr char kPianoRollEncodingName[] = "pianoroll";

// How the payload stores each piece.
enum class PayloadKind : uint32_t {
  kTokensUint16 = 1,  // tokens as little-endian uint16 (vocabulary size <= 65,536)
  kTokensInt32 = 2,   // tokens as little-endian int32
  kPackedRoll = 3,    // piano rolls: uint32 bar starts, then cells bit-packed LSB-first
};
const char* payload_kind_name(PayloadKind kind);  // "uint16", "int32", "packed_bits"

struct ShardSource {
  std::string path;   // relative to the input folder it was found in ('/'-separated), or the bare file name
  uint64_t size = 0;  // bytes
  std::string hash;   // content_hash() of the bytes ("fnv1a64:...")
  bool operator==(const ShardSource&) const = default;
};

struct SkippedFile {
  std::string path;    // as ShardSource::path; "file.json#train/12" for one piece of a multi-piece file
  std::string reason;  // the error message, or "no notes", ...
  bool operator==(const SkippedFile&) const = default;
};

// How `dataset prepare` grouped identical and near-identical pieces (data/duplicates.h). Stored under the metadata
// key "duplicates"; shards prepared before grouping existed lack the key and read as checked = false.
struct DuplicateInfo {
  bool checked = false;
  std::string method;                         // how duplicates were found, in words
  std::vector<std::vector<uint32_t>> groups;  // source indexes of each group of 2+ pieces, ascending
  uint64_t pieces = 0;                        // pieces in those groups
  uint64_t moved = 0;                         // pieces that took their group's split instead of their own
  bool operator==(const DuplicateInfo&) const = default;
};
inline constexpr char kDuplicateMethod[] =
    "same encoding, same transposition-invariant melodic line, or >= 50% shared 8-note shingles of it";

// The harmony under every token (`dataset prepare --chords-track N`, melody encoding), stored under the metadata key
// "chords" (version 1). Shards without the key have no chords. Per piece, runs as a flat list [first token, mask,
// first token, mask, ...] (first tokens ascending from 0): token i has the mask of the last run starting at or before
// it. A mask is 12 pitch-class bits (score/chords.h; 0 = no chord).
struct ShardChords {
  bool present = false;
  int track = -1;                           // the source track index the chords were read from
  std::vector<std::vector<uint32_t>> runs;  // one entry per piece, in index order
  bool operator==(const ShardChords&) const = default;
};
inline constexpr int kShardChordsVersion = 1;

// The style label of every piece (`dataset prepare --style-from RULE` / `--style NAME`, data/style_label.h), stored
// under the metadata key "styles" (version 1). Shards without the key have no styles. `names` are sorted and
// distinct; `pieces` holds one index into `names` per piece, in index order.
struct ShardStyles {
  bool present = false;
  std::string source;              // how the labels were found: "folder", "name:REGEX" or "given"
  std::vector<std::string> names;  // sorted
  std::vector<uint32_t> pieces;    // per piece, an index into names
  bool operator==(const ShardStyles&) const = default;
};
inline constexpr int kShardStylesVersion = 1;

struct ShardMetadata {
  // TokenEncoding::spec(), or PianoRollSpec::to_json() plus "name": "pianoroll".
  nlohmann::json encoding = nlohmann::json::object();
  std::vector<std::string> vocabulary;  // token names in id order (token encodings only)
  std::vector<ShardSource> sources;
  std::vector<SkippedFile> skipped;
  nlohmann::json prepare_options = nlohmann::json::object();  // how the shard was made (free-form)
  std::string tool_version;
  DuplicateInfo duplicates;
  ShardChords chords;
  ShardStyles styles;

  std::string encoding_name() const;  // encoding["name"], "" when absent
  bool is_piano_roll() const { return encoding_name() == kPianoRollEncodingName; }
};

// One entry of the piece index.
struct PieceInfo {
  uint64_t offset = 0;  // bytes from the start of the payload (a multiple of 8)
  uint64_t length = 0;  // tokens, or steps for a roll
  Split split = Split::kTrain;
  uint32_t source = 0;  // index into ShardMetadata::sources
  // Piano rolls only (0 for tokens).
  uint32_t num_tracks = 0;
  uint32_t num_steps = 0;
  uint32_t num_pitches = 0;
  uint32_t num_bars = 0;
};

class ShardWriter {
 public:
  // The payload kind follows the metadata: piano roll if encoding["name"] is "pianoroll", otherwise tokens,
  // uint16 when the vocabulary has at most 65,536 names. Throws Error when a token encoding has no vocabulary.
  explicit ShardWriter(ShardMetadata metadata);

  PayloadKind payload_kind() const { return kind_; }
  ShardMetadata& metadata() { return metadata_; }
  size_t num_pieces() const { return pieces_.size(); }

  // Throws Error if a token is outside [0, vocabulary size) or the call does not match the payload kind.
  void add_tokens(uint32_t source, Split split, std::span<const Token> tokens);
  // Throws Error on a roll whose shape does not match its cells, or whose pitch count differs from the spec.
  void add_roll(uint32_t source, Split split, const PianoRoll& roll);

  // The complete file. Throws Error if a piece names a source that the metadata does not list.
  std::vector<uint8_t> serialize() const;
  // serialize() then write_file_atomic(path).
  void write(const std::string& path) const;

 private:
  ShardMetadata metadata_;
  PayloadKind kind_;
  std::vector<PieceInfo> pieces_;
  std::vector<uint8_t> payload_;
};

class Shard {
 public:
  // Maps and validates the file (header, CRCs of metadata and index, the vocabulary against the encoding rebuilt
  // from the stored spec, every index entry). With
  // verify_payload the payload CRC is checked too (one pass over the payload; token ids are range-checked
  // in the same pass).
  explicit Shard(const std::string& path, bool verify_payload = true);

  const std::string& path() const { return file_.path(); }
  uint64_t file_size() const { return file_.bytes().size(); }
  const ShardMetadata& metadata() const { return metadata_; }
  const nlohmann::json& metadata_json() const { return metadata_json_; }  // the block exactly as stored
  PayloadKind payload_kind() const { return kind_; }
  bool is_piano_roll() const { return kind_ == PayloadKind::kPackedRoll; }
  int vocabulary_size() const { return static_cast<int>(metadata_.vocabulary.size()); }

  size_t num_pieces() const { return pieces_.size(); }
  const PieceInfo& piece(size_t index) const;  // throws Error when out of range
  const std::vector<PieceInfo>& pieces() const { return pieces_; }
  std::vector<size_t> pieces_in_split(Split split) const;

  // Token pieces straight from the map. tokens() needs a uint16 shard, tokens32() an int32 one (Error
  // otherwise); token_vector() copies either into Tokens.
  std::span<const uint16_t> tokens(size_t index) const;
  std::span<const int32_t> tokens32(size_t index) const;
  std::vector<Token> token_vector(size_t index) const;
  // True when the shard stores the chord under every token (ShardChords).
  bool has_chords() const { return metadata_.chords.present; }
  // The chord mask of every token of a piece (ShardChords); Error when the shard has none or the runs are malformed.
  std::vector<uint16_t> piece_chords(size_t index) const;
  // True when the shard stores a style label per piece (ShardStyles).
  bool has_styles() const { return metadata_.styles.present; }
  const std::vector<std::string>& style_names() const { return metadata_.styles.names; }
  // The style index (into style_names()) of a piece; Error when the shard has no styles.
  uint32_t piece_style(size_t index) const;
  // Unpacks a piano-roll piece.
  PianoRoll roll(size_t index) const;

  // Rebuilds the encoding from the stored spec and checks that its vocabulary matches the stored one (Error
  // if it does not: the shard was made by another version of the encoding and must be prepared again).
  std::unique_ptr<TokenEncoding> make_encoding() const;
  PianoRollSpec roll_spec() const;  // piano-roll shards only

 private:
  [[noreturn]] void fail(int64_t offset, const std::string& problem) const;
  void check_encoding(int64_t metadata_offset) const;
  std::span<const uint8_t> piece_bytes(size_t index) const;

  MappedFile file_;
  nlohmann::json metadata_json_;
  ShardMetadata metadata_;
  PayloadKind kind_ = PayloadKind::kTokensUint16;
  std::vector<PieceInfo> pieces_;
  const uint8_t* payload_ = nullptr;
  uint64_t payload_length_ = 0;
};

}  // namespace cadenza
