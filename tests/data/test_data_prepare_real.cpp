// `dataset prepare` on the real data sets: all of Nottingham (top folder and recursive) with the melody and
// performance encodings, the JSB chorales as piano rolls, and a corrupted copy of a Nottingham file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/file_io.h"
#include "data/prepare.h"
#include "data/shard.h"
#include "encoding/pianoroll.h"
#include "midi/midi.h"
#include "score/jsb.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;

std::string nottingham() {
  return testing::data_dir() + "/nottingham/MIDI";
}

size_t count_midi_files(const fs::path& folder) {
  size_t count = 0;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_regular_file() && entry.path().extension() == ".mid") ++count;
  return count;
}

Shard write_and_open(const PreparedDataset& prepared, const testing::TempDir& dir, const std::string& name) {
  write_file_atomic(dir.file(name), prepared.shard_bytes);
  return Shard(dir.file(name));
}

void expect_reasonable_splits(const PrepareResult& result) {
  const double pieces = static_cast<double>(result.pieces);
  EXPECT_NEAR(result.pieces_per_split[0] / pieces, 0.8, 0.05);
  EXPECT_NEAR(result.pieces_per_split[1] / pieces, 0.1, 0.03);
  EXPECT_NEAR(result.pieces_per_split[2] / pieces, 0.1, 0.03);
}

TEST(DataPrepareReal, NottinghamTopFolderWithMelody) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  PrepareOptions options;
  options.inputs = {nottingham()};
  options.encoding = "melody";
  options.recursive = false;
  options.threads = 2;
  const PreparedDataset prepared = build_dataset(options);
  const PrepareResult& result = prepared.result;
  EXPECT_EQ(result.files_found, 1034u);
  EXPECT_EQ(result.files_found, count_midi_files(nottingham()));
  EXPECT_EQ(result.pieces + result.files_skipped, 1034u);
  EXPECT_GT(result.pieces, 1000u) << "only melodies outside the encoding range may be skipped";
  for (const auto& skipped : result.skipped)
    EXPECT_NE(skipped.reason.find("range"), std::string::npos) << skipped.reason;
  expect_reasonable_splits(result);

  testing::TempDir dir;
  Shard shard = write_and_open(prepared, dir, "melody.cdz");
  EXPECT_EQ(shard.num_pieces(), result.pieces);
  EXPECT_EQ(shard.payload_kind(), PayloadKind::kTokensUint16);
  auto encoding = shard.make_encoding();
  for (size_t i = 0; i < shard.num_pieces(); i += 97) {
    const auto tokens = shard.token_vector(i);
    const Score decoded = encoding->decode(tokens);
    EXPECT_GT(decoded.note_count(), 10u) << shard.metadata().sources[shard.piece(i).source].path;
    EXPECT_EQ(encoding->encode(decoded), tokens) << "piece " << i << " is canonical";
    EXPECT_EQ(shard.piece(i).split, split_for_path(shard.metadata().sources[shard.piece(i).source].path));
  }
  // The thread count does not change the bytes.
  options.threads = 1;
  EXPECT_EQ(build_dataset(options).shard_bytes, prepared.shard_bytes);
}

TEST(DataPrepareReal, NottinghamRecursiveIncludesSubfolders) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  PrepareOptions options;
  options.inputs = {nottingham()};
  options.encoding = "melody";
  options.threads = 2;
  const PreparedDataset prepared = build_dataset(options);
  const size_t expected = count_midi_files(nottingham()) + count_midi_files(nottingham() + "/melody") +
                          count_midi_files(nottingham() + "/chords");
  EXPECT_EQ(prepared.result.files_found, expected);
  EXPECT_EQ(prepared.result.pieces + prepared.result.files_skipped, expected);
  testing::TempDir dir;
  Shard shard = write_and_open(prepared, dir, "all.cdz");
  size_t in_melody_folder = 0;
  for (const auto& source : shard.metadata().sources) in_melody_folder += source.path.rfind("melody/", 0) == 0;
  EXPECT_GT(in_melody_folder, 1000u);
}

TEST(DataPrepareReal, NottinghamWithPerformanceKeepsTiming) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  PrepareOptions options;
  options.inputs = {nottingham()};
  options.encoding = "performance";
  options.recursive = false;
  options.threads = 2;
  const PreparedDataset prepared = build_dataset(options);
  EXPECT_EQ(prepared.result.pieces + prepared.result.files_skipped, 1034u);
  expect_reasonable_splits(prepared.result);
  testing::TempDir dir;
  Shard shard = write_and_open(prepared, dir, "performance.cdz");
  auto encoding = shard.make_encoding();
  for (size_t i = 0; i < shard.num_pieces(); i += 111) {
    const std::string source = shard.metadata().sources[shard.piece(i).source].path;
    const Score original = read_midi_file(nottingham() + "/" + source);
    const Score decoded = encoding->decode(shard.token_vector(i));
    EXPECT_EQ(decoded.note_count(), original.note_count()) << source;
    EXPECT_NEAR(decoded.end_seconds(), original.end_seconds(), 0.011) << source << " (10 ms grid)";
  }
}

TEST(DataPrepareReal, CorruptedCopyIsSkippedAndListed) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  testing::TempDir dir;
  const std::vector<std::string> names = {"ashover1.mid", "ashover2.mid", "jigs1.mid", "reelsa-c1.mid"};
  for (const auto& name : names) fs::copy_file(nottingham() + "/" + name, dir.file(name));
  // Cut jigs1.mid in the middle of its first track.
  auto bytes = read_file_bytes(dir.file("jigs1.mid"));
  bytes.resize(bytes.size() / 2);
  fs::remove(dir.file("jigs1.mid"));
  write_file_atomic(dir.file("jigs1.mid"), bytes);

  PrepareOptions options;
  options.inputs = {dir.path().string()};
  options.encoding = "melody";
  const PreparedDataset prepared = build_dataset(options);
  EXPECT_EQ(prepared.result.pieces, 3u);
  ASSERT_EQ(prepared.result.skipped.size(), 1u);
  EXPECT_EQ(prepared.result.skipped[0].path, "jigs1.mid");
  EXPECT_EQ(prepared.result.skipped[0].reason.rfind("byte ", 0), 0u) << prepared.result.skipped[0].reason;
  Shard shard = write_and_open(prepared, dir, "out.cdz");
  EXPECT_EQ(shard.metadata().skipped, prepared.result.skipped);
  for (const auto& source : shard.metadata().sources) EXPECT_NE(source.path, "jigs1.mid");
}

TEST(DataPrepareReal, JsbQuarterAsPianoRollsKeepsTheSplits) {
  CADENZA_REQUIRE_DATA("jsb-chorales/jsb-chorales-quarter.json");
  const std::string path = testing::data_dir() + "/jsb-chorales/jsb-chorales-quarter.json";
  PrepareOptions options;
  options.inputs = {path};
  options.encoding = "pianoroll";
  options.settings = {{"steps_per_quarter", 1}, {"merge_all_tracks", true}};
  const PreparedDataset prepared = build_dataset(options);
  EXPECT_EQ(prepared.result.pieces, 382u);
  EXPECT_EQ(prepared.result.pieces_per_split, (std::array<size_t, 3>{229, 76, 77}));
  testing::TempDir dir;
  Shard shard = write_and_open(prepared, dir, "jsb.cdz");
  ASSERT_EQ(shard.metadata().sources.size(), 1u);
  EXPECT_EQ(shard.metadata().sources[0].path, "jsb-chorales-quarter.json");
  // Each stored roll is exactly the encoding of the chorale it came from.
  const auto chorales = load_jsb_json(path, JsbOptions{});
  ASSERT_EQ(chorales.size(), shard.num_pieces());
  const PianoRollEncoding encoding(shard.roll_spec());
  for (size_t i = 0; i < chorales.size(); i += 19) {
    const PianoRoll stored = shard.roll(i);
    const PianoRoll expected = encoding.encode(chorales[i].score, chorales[i].end_tick);
    EXPECT_EQ(stored.num_steps, chorales[i].end_tick / 480) << "chorale " << i << ": one frame per quarter, no padding";
    EXPECT_EQ(stored.cells, expected.cells) << "chorale " << i;
    EXPECT_EQ(stored.bar_starts, expected.bar_starts);
    EXPECT_EQ(shard.piece(i).split, chorales[i].split);
    EXPECT_GT(encoding.decode(stored).note_count(), 0u);
  }
}

}  // namespace
}  // namespace cadenza
