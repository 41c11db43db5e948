// The shard file format: round trips of token and piano-roll pieces, and detection of every kind of damage.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/file_io.h"
#include "data/shard.h"
#include "encoding/melody.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

using testing::TempDir;

std::vector<std::string> numbered_names(size_t count) {
  std::vector<std::string> names;
  for (size_t i = 0; i < count; ++i) names.push_back("tok" + std::to_string(i));
  return names;
}

ShardMetadata token_metadata(size_t vocabulary_size, size_t source_count = 3) {
  ShardMetadata metadata;
  metadata.encoding = {{"name", "synthetic"}, {"steps_per_quarter", 4}};
  metadata.vocabulary = numbered_names(vocabulary_size);
  for (size_t i = 0; i < source_count; ++i)
    metadata.sources.push_back(
        {"folder/piece" + std::to_string(i) + ".mid", 100 + i, "fnv1a64:00000000000000" + std::to_string(10 + i)});
  metadata.skipped.push_back({"folder/broken.mid", "folder/broken.mid: byte 14: bad chunk"});
  metadata.prepare_options = {{"split", "0.8,0.1,0.1"}};
  metadata.tool_version = "cadenza test";
  return metadata;
}

// Three token pieces of different lengths (one odd, to exercise alignment padding) in three splits.
std::vector<std::vector<Token>> sample_pieces(Token vocabulary_size) {
  std::vector<std::vector<Token>> pieces(3);
  for (int i = 0; i < 7; ++i) pieces[0].push_back((i * 5) % vocabulary_size);
  for (int i = 0; i < 12; ++i) pieces[1].push_back(vocabulary_size - 1 - i % 3);
  for (int i = 0; i < 1; ++i) pieces[2].push_back(0);
  return pieces;
}

std::string write_sample_token_shard(const TempDir& dir, size_t vocabulary_size = 40) {
  ShardWriter writer(token_metadata(vocabulary_size));
  auto pieces = sample_pieces(static_cast<Token>(vocabulary_size));
  writer.add_tokens(0, Split::kTrain, pieces[0]);
  writer.add_tokens(1, Split::kValid, pieces[1]);
  writer.add_tokens(2, Split::kTest, pieces[2]);
  std::string path = dir.file("sample.cdz");
  writer.write(path);
  return path;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  return read_file_bytes(path);
}
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  // Remove rather than truncate: ext4 flushes a truncated-and-rewritten file to disk on close, which makes the
  // byte-by-byte damage loops below a hundred times slower.
  std::filesystem::remove(path);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

TEST(DataShard, TokenRoundTripKeepsMetadataPiecesAndSplits) {
  TempDir dir;
  std::string path = write_sample_token_shard(dir);
  Shard shard(path);
  auto expected = sample_pieces(40);
  ASSERT_EQ(shard.num_pieces(), 3u);
  EXPECT_EQ(shard.payload_kind(), PayloadKind::kTokensUint16);
  EXPECT_EQ(shard.vocabulary_size(), 40);
  EXPECT_EQ(shard.metadata().vocabulary, numbered_names(40));
  EXPECT_EQ(shard.metadata().sources, token_metadata(40).sources);
  EXPECT_EQ(shard.metadata().skipped, token_metadata(40).skipped);
  EXPECT_EQ(shard.metadata().encoding, token_metadata(40).encoding);
  EXPECT_EQ(shard.metadata().prepare_options["split"], "0.8,0.1,0.1");
  EXPECT_EQ(shard.metadata().tool_version, "cadenza test");
  EXPECT_EQ(shard.metadata_json()["counts"]["tokens"], 20);
  EXPECT_EQ(shard.metadata_json()["counts"]["pieces"], 3);
  EXPECT_EQ(shard.file_size(), std::filesystem::file_size(path));
  for (size_t i = 0; i < 3; ++i) {
    auto span = shard.tokens(i);
    EXPECT_EQ(std::vector<Token>(span.begin(), span.end()), expected[i]) << "piece " << i;
    EXPECT_EQ(shard.token_vector(i), expected[i]);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(span.data()) % 8, 0u) << "pieces start 8-byte aligned";
    EXPECT_EQ(shard.piece(i).source, i);
    EXPECT_EQ(shard.piece(i).length, expected[i].size());
  }
  EXPECT_EQ(shard.pieces_in_split(Split::kTrain), std::vector<size_t>{0});
  EXPECT_EQ(shard.pieces_in_split(Split::kValid), std::vector<size_t>{1});
  EXPECT_EQ(shard.pieces_in_split(Split::kTest), std::vector<size_t>{2});
  EXPECT_THROW_WITH(shard.tokens32(0), Error, {path, "stored as uint16, not int32"});
  EXPECT_THROW_WITH(shard.roll(0), Error, {path, "not a piano-roll shard"});
  EXPECT_THROW_WITH(shard.piece(3), Error, {path, "piece 3 does not exist", "has 3"});
}

TEST(DataShard, ChordsRoundTripAndOldShardsHaveNone) {
  TempDir dir;
  // Without the "chords" key (every shard before chords existed): no chords, and asking for them says so.
  const Shard plain(write_sample_token_shard(dir));
  EXPECT_FALSE(plain.has_chords());
  EXPECT_THROW_WITH(plain.piece_chords(0), Error, {"stores no chords", "--chords-track"});

  ShardMetadata metadata = token_metadata(40);
  metadata.chords.present = true;
  metadata.chords.track = 1;
  // Piece 0 (7 tokens): C major from token 0, G major from token 4; piece 1 (12): no chord, then A minor from 3;
  // piece 2 (1): C major.
  metadata.chords.runs = {{0, 0x091, 4, 0x884}, {0, 0, 3, 0x211}, {0, 0x091}};
  ShardWriter writer(metadata);
  auto pieces = sample_pieces(40);
  for (uint32_t i = 0; i < 3; ++i) writer.add_tokens(i, static_cast<Split>(i), pieces[i]);
  writer.write(dir.file("chords.cdz"));
  const Shard shard(dir.file("chords.cdz"));
  ASSERT_TRUE(shard.has_chords());
  EXPECT_EQ(shard.metadata().chords, metadata.chords);
  EXPECT_EQ(shard.piece_chords(0), (std::vector<uint16_t>{0x091, 0x091, 0x091, 0x091, 0x884, 0x884, 0x884}));
  const auto second = shard.piece_chords(1);
  ASSERT_EQ(second.size(), 12u);
  EXPECT_EQ(second[2], 0);
  EXPECT_EQ(second[3], 0x211);
  EXPECT_EQ(second[11], 0x211);

  // Runs that do not fit their piece are refused, naming the piece and the run.
  metadata.chords.runs = {{0, 0x091, 9, 0x884}, {0, 0}, {0, 0}};
  ShardWriter bad(metadata);
  for (uint32_t i = 0; i < 3; ++i) bad.add_tokens(i, static_cast<Split>(i), pieces[i]);
  bad.write(dir.file("bad_chords.cdz"));
  EXPECT_THROW_WITH(Shard(dir.file("bad_chords.cdz")).piece_chords(0), Error,
                    {"chords of piece 0", "malformed at run 0", "piece length 7"});
}

TEST(DataShard, StylesRoundTripAndOldShardsHaveNone) {
  TempDir dir;
  // Without the "styles" key (every shard before styles existed): no styles, and asking for one says so.
  const Shard plain(write_sample_token_shard(dir));
  EXPECT_FALSE(plain.has_styles());
  EXPECT_TRUE(plain.style_names().empty());
  EXPECT_THROW_WITH(plain.piece_style(0), Error, {"stores no styles", "--style-from"});

  ShardMetadata metadata = token_metadata(40);
  metadata.styles.present = true;
  metadata.styles.source = "name:^([a-z]+)";
  metadata.styles.names = {"jigs", "reels"};
  metadata.styles.pieces = {1, 0, 1};
  auto pieces = sample_pieces(40);
  auto write = [&](const std::string& name) {
    ShardWriter writer(metadata);
    for (uint32_t i = 0; i < 3; ++i) writer.add_tokens(i, static_cast<Split>(i), pieces[i]);
    writer.write(dir.file(name));
    return dir.file(name);
  };
  const Shard shard(write("styles.cdz"));
  ASSERT_TRUE(shard.has_styles());
  EXPECT_EQ(shard.metadata().styles, metadata.styles);
  EXPECT_EQ(shard.style_names(), (std::vector<std::string>{"jigs", "reels"}));
  EXPECT_EQ(shard.piece_style(0), 1u);
  EXPECT_EQ(shard.piece_style(1), 0u);
  EXPECT_EQ(shard.metadata_json()["styles"]["version"], kShardStylesVersion);

  // Names out of order and indexes past the names are format errors naming the problem.
  metadata.styles.names = {"reels", "jigs"};
  EXPECT_THROW_WITH(Shard(write("unsorted.cdz")), FormatError, {"styles", "sorted", "'reels' before 'jigs'"});
  metadata.styles.names = {"jigs", "reels"};
  metadata.styles.pieces = {0, 2, 1};
  EXPECT_THROW_WITH(Shard(write("index.cdz")), FormatError, {"piece 1 has style index 2", "2 styles"});
}

TEST(DataShard, SerializationIsDeterministic) {
  TempDir dir;
  std::string a = write_sample_token_shard(dir);
  auto first = read_bytes(a);
  std::string b = write_sample_token_shard(dir);
  EXPECT_EQ(first, read_bytes(b));
}

TEST(DataShard, LargeVocabularyIsStoredAsInt32) {
  TempDir dir;
  ShardWriter writer(token_metadata(70000, 1));
  EXPECT_EQ(writer.payload_kind(), PayloadKind::kTokensInt32);
  std::vector<Token> tokens = {0, 65535, 65536, 69999, 3};
  writer.add_tokens(0, Split::kTrain, tokens);
  writer.write(dir.file("big.cdz"));
  Shard shard(dir.file("big.cdz"));
  EXPECT_EQ(shard.payload_kind(), PayloadKind::kTokensInt32);
  auto span = shard.tokens32(0);
  EXPECT_EQ(std::vector<Token>(span.begin(), span.end()), tokens);
  EXPECT_EQ(shard.token_vector(0), tokens);
  EXPECT_THROW_WITH(shard.tokens(0), Error, {dir.file("big.cdz"), "stored as int32, not uint16"});
}

TEST(DataShard, VocabularyOfExactly65536FitsUint16) {
  ShardWriter writer(token_metadata(65536, 1));
  EXPECT_EQ(writer.payload_kind(), PayloadKind::kTokensUint16);
}

TEST(DataShard, PianoRollRoundTripKeepsCellsAndBars) {
  TempDir dir;
  ShardMetadata metadata;
  metadata.encoding = {{"name", "pianoroll"}, {"lowest_pitch", 60}, {"highest_pitch", 64}};
  metadata.sources = {{"a.json", 10, "fnv1a64:0"}, {"b.json", 20, "fnv1a64:1"}};
  ShardWriter writer(metadata);
  EXPECT_EQ(writer.payload_kind(), PayloadKind::kPackedRoll);
  std::vector<PianoRoll> rolls;
  for (int r = 0; r < 3; ++r) {
    PianoRoll roll;
    roll.num_tracks = r + 1;
    roll.num_steps = 3 + 2 * r;  // odd cell counts, not multiples of 8
    roll.num_pitches = 5;
    roll.cells.resize(static_cast<size_t>(roll.num_tracks) * roll.num_steps * roll.num_pitches);
    for (size_t i = 0; i < roll.cells.size(); ++i) roll.cells[i] = (i * 7 + r) % 3 == 0;
    roll.bar_starts = {0};
    if (roll.num_steps > 4) roll.bar_starts.push_back(4);
    writer.add_roll(static_cast<uint32_t>(r % 2), r == 2 ? Split::kTest : Split::kTrain, roll);
    rolls.push_back(roll);
  }
  writer.write(dir.file("roll.cdz"));
  Shard shard(dir.file("roll.cdz"));
  ASSERT_EQ(shard.num_pieces(), 3u);
  EXPECT_TRUE(shard.is_piano_roll());
  for (size_t i = 0; i < 3; ++i) {
    PianoRoll roll = shard.roll(i);
    EXPECT_EQ(roll.num_tracks, rolls[i].num_tracks);
    EXPECT_EQ(roll.num_steps, rolls[i].num_steps);
    EXPECT_EQ(roll.num_pitches, 5);
    EXPECT_EQ(roll.cells, rolls[i].cells) << "roll " << i;
    EXPECT_EQ(roll.bar_starts, rolls[i].bar_starts);
    EXPECT_EQ(shard.piece(i).length, static_cast<uint64_t>(rolls[i].num_steps));
  }
  EXPECT_EQ(shard.pieces_in_split(Split::kTest), std::vector<size_t>{2});
  EXPECT_THROW_WITH(shard.tokens(0), Error, {dir.file("roll.cdz"), "stored as packed_bits, not uint16"});
  EXPECT_THROW_WITH(shard.make_encoding(), Error, {dir.file("roll.cdz"), "piano-roll shard has no token encoding"});
}

TEST(DataShard, WriterRejectsBadPieces) {
  ShardWriter writer(token_metadata(10, 1));
  std::vector<Token> out_of_range = {1, 10};
  EXPECT_THROW_WITH(writer.add_tokens(0, Split::kTrain, out_of_range), Error,
                    {"token 10 at position 1", "vocabulary of 10"});
  std::vector<Token> negative = {-1};
  EXPECT_THROW_WITH(writer.add_tokens(0, Split::kTrain, negative), Error, {"token -1 at position 0"});
  EXPECT_THROW_WITH(writer.add_roll(0, Split::kTrain, PianoRoll{}), Error, {"add_roll on a token shard"});
  std::vector<Token> fine = {1, 2};
  writer.add_tokens(5, Split::kTrain, fine);  // source 5 does not exist
  EXPECT_THROW_WITH(writer.serialize(), Error, {"piece 0 names source 5", "lists 1 sources"});

  ShardMetadata no_vocabulary = token_metadata(0, 1);
  EXPECT_THROW_WITH(ShardWriter{no_vocabulary}, Error, {"'synthetic'", "empty vocabulary"});

  ShardMetadata roll_metadata;
  roll_metadata.encoding = {{"name", "pianoroll"}, {"lowest_pitch", 60}, {"highest_pitch", 64}};
  roll_metadata.sources = {{"a", 1, "h"}};
  ShardWriter roll_writer(roll_metadata);
  PianoRoll wrong_pitches{1, 2, 6, std::vector<uint8_t>(12, 0), {}};
  EXPECT_THROW_WITH(roll_writer.add_roll(0, Split::kTrain, wrong_pitches), Error, {"has 6 pitches", "spec says 5"});
  PianoRoll wrong_cells{1, 2, 5, std::vector<uint8_t>(9, 0), {}};
  EXPECT_THROW_WITH(roll_writer.add_roll(0, Split::kTrain, wrong_cells), Error, {"shape 1x2x5", "its 9 cells"});
}

TEST(DataShard, EmptyShardRoundTrips) {
  TempDir dir;
  ShardWriter writer(token_metadata(5, 0));
  writer.write(dir.file("empty.cdz"));
  Shard shard(dir.file("empty.cdz"));
  EXPECT_EQ(shard.num_pieces(), 0u);
  EXPECT_TRUE(shard.pieces_in_split(Split::kTrain).empty());
}

// Expects opening `path` to throw a FormatError naming the file; returns it for further checks.
FormatError expect_format_error(const std::string& path, bool verify_payload = true) {
  try {
    Shard shard(path, verify_payload);
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected a FormatError, got: " << e.what();
    return FormatError(path, -1, "wrong exception");
  }
  ADD_FAILURE() << "expected a FormatError for " << path << ", the shard opened";
  return FormatError(path, -1, "no exception");
}

TEST(DataShard, BadMagicIsReported) {
  TempDir dir;
  std::string path = write_sample_token_shard(dir);
  auto bytes = read_bytes(path);
  bytes[3] = 'X';
  write_bytes(path, bytes);
  auto error = expect_format_error(path);
  EXPECT_EQ(error.offset(), 0);
  EXPECT_NE(error.problem().find("CDZSHRD1"), std::string::npos) << error.what();

  write_bytes(path, {'M', 'T', 'h', 'd'});
  EXPECT_EQ(expect_format_error(path).offset(), 0);
  write_bytes(path, {});
  EXPECT_EQ(expect_format_error(path).offset(), 0);
}

TEST(DataShard, UnknownVersionIsReported) {
  TempDir dir;
  std::string path = write_sample_token_shard(dir);
  auto bytes = read_bytes(path);
  bytes[8] = 2;
  write_bytes(path, bytes);
  auto error = expect_format_error(path);
  EXPECT_EQ(error.offset(), 8);
  EXPECT_NE(error.problem().find("version 2"), std::string::npos) << error.what();
}

TEST(DataShard, EveryTruncationIsReported) {
  TempDir dir;
  std::string path = write_sample_token_shard(dir);
  const auto bytes = read_bytes(path);
  std::string cut = dir.file("cut.cdz");
  for (size_t length = 0; length < bytes.size(); ++length) {
    write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length)));
    SCOPED_TRACE("truncated to " + std::to_string(length) + " bytes");
    auto error = expect_format_error(cut);
    if (length >= kShardHeaderSize) {
      EXPECT_NE(error.problem().find("truncated"), std::string::npos) << error.what();
      EXPECT_EQ(error.offset(), static_cast<int64_t>(length));
    }
  }
  auto longer = bytes;
  longer.push_back(0);
  write_bytes(cut, longer);
  EXPECT_NE(expect_format_error(cut).problem().find("longer"), std::string::npos);
}

TEST(DataShard, EveryFlippedByteIsReported) {
  TempDir dir;
  std::string path = write_sample_token_shard(dir);
  const auto bytes = read_bytes(path);
  std::string bad = dir.file("bad.cdz");
  for (size_t at = 0; at < bytes.size(); ++at) {
    auto damaged = bytes;
    damaged[at] ^= 0x10;
    write_bytes(bad, damaged);
    SCOPED_TRACE("byte " + std::to_string(at) + " flipped");
    expect_format_error(bad);
  }
}

TEST(DataShard, DamagedSectionsNameTheirOffset) {
  TempDir dir;
  std::string path = write_sample_token_shard(dir);
  const auto bytes = read_bytes(path);
  uint64_t index_offset, payload_offset;
  std::memcpy(&index_offset, bytes.data() + 40, 8);
  std::memcpy(&payload_offset, bytes.data() + 56, 8);
  std::string bad = dir.file("bad.cdz");

  auto damaged = bytes;
  damaged[kShardHeaderSize + 5] ^= 1;  // inside the metadata JSON
  write_bytes(bad, damaged);
  auto error = expect_format_error(bad);
  EXPECT_EQ(error.offset(), static_cast<int64_t>(kShardHeaderSize));
  EXPECT_NE(error.problem().find("metadata"), std::string::npos) << error.what();

  damaged = bytes;
  damaged[index_offset + kShardIndexEntrySize + 8] ^= 1;  // length of piece 1
  write_bytes(bad, damaged);
  error = expect_format_error(bad);
  EXPECT_EQ(error.offset(), static_cast<int64_t>(index_offset));
  EXPECT_NE(error.problem().find("index"), std::string::npos) << error.what();

  damaged = bytes;
  damaged[payload_offset + 2] ^= 1;
  write_bytes(bad, damaged);
  error = expect_format_error(bad);
  EXPECT_EQ(error.offset(), static_cast<int64_t>(payload_offset));
  EXPECT_NE(error.problem().find("payload"), std::string::npos) << error.what();
  // Without payload verification the same file opens: the payload is only checked on request.
  EXPECT_NO_THROW(Shard(bad, /*verify_payload=*/false));
}

// A shard whose vocabulary was reordered and whose checksums were then fixed up (the writer computes them) must not
// decode with the wrong names: the reader rebuilds the encoding from the spec and names the first difference.
TEST(DataShard, AReorderedVocabularyIsRefusedNamingPositionAndBothNames) {
  TempDir dir;
  MelodyEncoding encoding;
  ShardMetadata metadata;
  metadata.encoding = encoding.spec();
  metadata.vocabulary = encoding.vocabulary().names();
  ASSERT_EQ(metadata.vocabulary[1], "NOTE_OFF");
  ASSERT_EQ(metadata.vocabulary[2], "NOTE_ON_48");
  std::swap(metadata.vocabulary[1], metadata.vocabulary[2]);
  metadata.sources = {{"a.mid", 1, "h"}};
  ShardWriter writer(metadata);
  writer.add_tokens(0, Split::kTrain, std::vector<Token>{2, 1, 0});
  const std::string path = dir.file("reordered.cdz");
  writer.write(path);
  const FormatError error = expect_format_error(path, /*verify_payload=*/false);
  EXPECT_EQ(error.offset(), static_cast<int64_t>(kShardHeaderSize));
  EXPECT_EQ(error.problem(),
            "vocabulary entry 1 is \"NOTE_ON_48\" in the shard but \"NOTE_OFF\" in the encoding 'melody' rebuilt from "
            "the stored spec (the shard was edited or made by another version of the encoding); prepare it again");

  metadata.vocabulary = encoding.vocabulary().names();
  metadata.vocabulary.push_back("NOTE_ON_128");
  ShardWriter longer(metadata);
  longer.write(path);
  EXPECT_EQ(expect_format_error(path).problem(),
            "the shard's vocabulary has 40 names but the encoding 'melody' rebuilt from the stored spec has 39; "
            "prepare it again");

  metadata.vocabulary = encoding.vocabulary().names();
  metadata.encoding["min_pitch"] = 90;  // above max_pitch 84: no such melody encoding
  ShardWriter bad_spec(metadata);
  bad_spec.write(path);
  EXPECT_EQ(expect_format_error(path).problem().rfind("the stored encoding spec is not usable: melody encoding", 0), 0u)
      << expect_format_error(path).problem();

  metadata.encoding = encoding.spec();
  ShardWriter intact(metadata);
  intact.add_tokens(0, Split::kTrain, std::vector<Token>{2, 1, 0});
  intact.write(path);
  EXPECT_EQ(Shard(path).make_encoding()->vocabulary().names(), encoding.vocabulary().names());
}

TEST(DataShard, MissingFileIsAnIoError) {
  TempDir dir;
  EXPECT_THROW_WITH(Shard(dir.file("absent.cdz")), IoError, {dir.file("absent.cdz"), "cannot open"});
}

TEST(DataShard, RollPayloadIsBarStartsThenCellsLsbFirst) {
  TempDir dir;
  ShardMetadata metadata;
  metadata.encoding = {{"name", "pianoroll"}, {"lowest_pitch", 60}, {"highest_pitch", 60}};
  metadata.sources = {{"a.mid", 1, "h"}};
  ShardWriter writer(metadata);
  // 1 track x 11 steps x 1 pitch: cells 0, 9 and 10 on -> bytes 0x01, 0x06.
  PianoRoll roll{1, 11, 1, {1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, {0, 4}};
  writer.add_roll(0, Split::kTrain, roll);
  writer.write(dir.file("bits.cdz"));
  const auto bytes = read_bytes(dir.file("bits.cdz"));
  uint64_t payload_offset, payload_length;
  std::memcpy(&payload_offset, bytes.data() + 56, 8);
  std::memcpy(&payload_length, bytes.data() + 64, 8);
  ASSERT_EQ(payload_length, 10u);
  const uint8_t expected[10] = {0, 0, 0, 0, 4, 0, 0, 0, 0x01, 0x06};
  EXPECT_EQ(std::memcmp(bytes.data() + payload_offset, expected, 10), 0);
  EXPECT_EQ(Shard(dir.file("bits.cdz")).roll(0).cells, roll.cells);
}

}  // namespace
}  // namespace cadenza
