// fuzz-areas: common score midi encoding data
//
// libFuzzer target for the dataset shard reader (src/data/shard.h), what `dataset info`, training and evaluation
// open. Every input is opened twice: as it is, and with its CRC-32s recomputed for the sections its header
// describes (so that mutations reach the metadata JSON, the vocabulary check and the piece index instead of
// stopping at a checksum). Opening must either succeed or throw FormatError / IoError naming the file; an opened
// shard must hand out every piece (tokens in the vocabulary, rolls of their stated shape), give its statistics,
// and, when its encoding rebuilds, decode every token piece.
//
// Seeds: CADENZA_FUZZ_WRITE_SEEDS=DIR makes the binary write small valid shards there and exit (scripts/fuzz.sh).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "data/checksum.h"
#include "data/dataset_info.h"
#include "data/shard.h"
#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "score/score.h"

namespace {

using namespace cadenza;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_shard_reader: %s\n", what.c_str());
  std::abort();
}

const std::string& scratch_path() {
  static const std::string path = "/tmp/fuzz_shard_reader." + std::to_string(::getpid()) + ".cdz";
  return path;
}

// A plain write (no fsync, unlike write_file_atomic): a shard is opened by path.
void write_plain(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) fail("cannot write " + path);
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), out);
  std::fclose(out);
}

template <typename T>
T get(const std::vector<uint8_t>& bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof value);
  return value;
}
template <typename T>
void put(std::vector<uint8_t>& bytes, size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

// Recomputes the metadata, index, payload and header CRCs where the header's offsets lie inside the file (see
// docs/dataset-format.md for the layout). Returns false when there is nothing to fix.
bool fix_checksums(std::vector<uint8_t>& bytes) {
  if (bytes.size() < kShardHeaderSize) return false;
  const uint64_t size = bytes.size();
  auto section_crc = [&](size_t offset_at, uint64_t length, size_t crc_at) {
    const uint64_t offset = get<uint64_t>(bytes, offset_at);
    if (offset <= size && length <= size - offset)
      put<uint32_t>(bytes, crc_at, crc32_of(std::span<const uint8_t>(bytes).subspan(offset, length)));
  };
  section_crc(24, get<uint64_t>(bytes, 32), 72);
  const uint64_t pieces = get<uint64_t>(bytes, 48);
  if (pieces <= size / kShardIndexEntrySize) section_crc(40, pieces * kShardIndexEntrySize, 76);
  section_crc(56, get<uint64_t>(bytes, 64), 80);
  put<uint32_t>(bytes, 88, crc32_of(std::span<const uint8_t>(bytes).subspan(0, 88)));
  return true;
}

void exercise(const std::string& path) {
  std::unique_ptr<Shard> shard;
  try {
    shard = std::make_unique<Shard>(path);
  } catch (const FormatError& error) {
    if (error.file() != path) fail("a FormatError that does not name the file: " + std::string(error.what()));
    return;
  } catch (const IoError&) {
    return;
  }
  const int vocabulary = shard->vocabulary_size();
  for (size_t i = 0; i < shard->num_pieces(); ++i) {
    const PieceInfo& info = shard->piece(i);
    if (shard->is_piano_roll()) {
      const PianoRoll roll = shard->roll(i);
      if (roll.cells.size() != static_cast<size_t>(info.num_tracks) * info.num_steps * info.num_pitches)
        fail("a roll whose cells do not match its shape");
    } else {
      for (Token token : shard->token_vector(i))
        if (token < 0 || token >= vocabulary) fail("a token outside the vocabulary passed the checks");
    }
  }
  const ShardStats stats = compute_shard_stats(*shard);
  shard_info_json(*shard, stats, true).dump();
  if (shard->is_piano_roll()) return;
  std::unique_ptr<TokenEncoding> encoding;
  try {
    encoding = shard->make_encoding();
  } catch (const Error&) {
    return;  // an encoding this build does not know
  }
  for (size_t i = 0; i < shard->num_pieces() && i < 8; ++i) encoding->decode(shard->token_vector(i));
}

void write_seeds(const std::string& dir) {
  auto melody = make_token_encoding({{"name", "melody"}});
  Score score = make_empty_score(480, 120.0);
  Track track;
  for (int i = 0; i < 12; ++i) track.notes.push_back({60 + (i * 5) % 12, 90, i * 240, i * 240 + 240});
  score.tracks.push_back(track);
  score.normalize();
  ShardMetadata metadata;
  metadata.encoding = melody->spec();
  metadata.vocabulary = melody->vocabulary().names();
  metadata.sources = {{"a.mid", 100, "fnv1a64:0000000000000001"}, {"b/c.mid", 200, "fnv1a64:0000000000000002"}};
  metadata.skipped = {{"broken.mid", "byte 14: bad chunk"}};
  metadata.duplicates = {true, kDuplicateMethod, {{0, 1}}, 2, 1};
  metadata.tool_version = "cadenza fuzz";
  ShardWriter tokens(metadata);
  tokens.add_tokens(0, Split::kTrain, melody->encode(score));
  tokens.add_tokens(1, Split::kTest, std::vector<Token>{0, 2, 1});
  tokens.write(dir + "/melody.cdz");

  PianoRollSpec spec;
  spec.lowest_pitch = 60;
  spec.highest_pitch = 71;
  ShardMetadata roll_metadata;
  roll_metadata.encoding = spec.to_json();
  roll_metadata.encoding["name"] = kPianoRollEncodingName;
  roll_metadata.sources = {{"r.mid", 1, "fnv1a64:0000000000000003"}};
  ShardWriter rolls(roll_metadata);
  rolls.add_roll(0, Split::kValid, PianoRollEncoding(spec).encode(score));
  rolls.write(dir + "/roll.cdz");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("CADENZA_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  write_plain(scratch_path(), bytes);
  exercise(scratch_path());
  if (fix_checksums(bytes)) {
    write_plain(scratch_path(), bytes);
    exercise(scratch_path());
  }
  return 0;
}
