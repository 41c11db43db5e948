// `dataset prepare` as a library: input discovery, skipping broken files, determinism and stable splits.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "common/file_io.h"
#include "data/checksum.h"
#include "data/prepare.h"
#include "data/shard.h"
#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "score/operations.h"
#include "support/test_support.h"
#include "test_data_fixtures.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::line_score;
using testing::TempDir;
using testing::varied_score;

// Plain writes: write_file_atomic's fsync would make fixtures of dozens of files slow.
void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

void write_score(const std::string& path, const Score& score) {
  auto bytes = write_midi(score);
  write_text(path, std::string(bytes.begin(), bytes.end()));
}

PrepareOptions melody_options(const std::string& input, int threads = 1) {
  PrepareOptions options;
  options.inputs = {input};
  options.encoding = "melody";
  options.threads = threads;
  return options;
}

// A folder with three good MIDI files (one upper-case extension, one in a sub-folder), one broken MIDI file,
// one without notes, and a text file that is not an input.
struct MixedFolder {
  TempDir dir;
  MixedFolder() {
    write_score(dir.file("a.mid"), line_score({60, 62, 64, 65}));
    write_score(dir.file("b.MID"), line_score({67, 0, 69, 71}));
    write_score(dir.file("sub/c.midi"), line_score({72, 71, 69}));
    write_text(dir.file("broken.mid"), "MThd\x00\x00\x00\x06\x00\x01");
    write_score(dir.file("silent.mid"), make_empty_score());
    write_text(dir.file("notes.txt"), "not music");
  }
};

TEST(DataPrepare, FindsInputsSortedWithRelativePaths) {
  MixedFolder folder;
  auto files = collect_input_files({folder.dir.path().string()});
  std::vector<std::string> relative;
  for (const auto& file : files) relative.push_back(file.relative);
  EXPECT_EQ(relative, (std::vector<std::string>{"a.mid", "b.MID", "broken.mid", "silent.mid", "sub/c.midi"}));
  auto top_only = collect_input_files({folder.dir.path().string()}, /*recursive=*/false);
  EXPECT_EQ(top_only.size(), 4u);
  for (const auto& file : top_only) EXPECT_EQ(file.relative.find('/'), std::string::npos) << file.relative;

  // A file named explicitly is known by its bare name; naming it again (also via its folder) reads it once.
  auto named = collect_input_files({folder.dir.file("sub/c.midi"), folder.dir.path().string()});
  EXPECT_EQ(named.size(), 5u);
  EXPECT_EQ(named[0].relative, "a.mid");
}

TEST(DataPrepare, BadInputsAreErrors) {
  TempDir dir;
  EXPECT_THROW_WITH(collect_input_files({dir.file("absent")}), Error, {dir.file("absent"), "does not exist"});
  write_text(dir.file("x.txt"), "text");
  EXPECT_THROW_WITH(collect_input_files({dir.file("x.txt")}), Error, {dir.file("x.txt"), ".mid", ".json"});
  // An empty folder: nothing to prepare.
  EXPECT_THROW_WITH(build_dataset(melody_options(dir.path().string())), Error,
                    {"no .mid, .midi or .json files", dir.path().string()});
}

TEST(DataPrepare, SkipsBrokenAndEmptyFilesAndListsThem) {
  MixedFolder folder;
  PreparedDataset prepared = build_dataset(melody_options(folder.dir.path().string()));
  const PrepareResult& result = prepared.result;
  EXPECT_EQ(result.files_found, 5u);
  EXPECT_EQ(result.files_used, 3u);
  EXPECT_EQ(result.files_skipped, 2u);
  EXPECT_EQ(result.pieces, 3u);
  ASSERT_EQ(result.skipped.size(), 2u);
  EXPECT_EQ(result.skipped[0].path, "broken.mid");
  // The reader's message without the file name, which the entry already holds.
  EXPECT_EQ(result.skipped[0].reason.rfind("byte ", 0), 0u) << result.skipped[0].reason;
  EXPECT_EQ(result.skipped[1].path, "silent.mid");
  EXPECT_EQ(result.skipped[1].reason, "no notes");

  write_file_atomic(folder.dir.file("out.cdz"), prepared.shard_bytes);
  Shard shard(folder.dir.file("out.cdz"));
  EXPECT_EQ(shard.metadata().skipped, result.skipped);
  ASSERT_EQ(shard.metadata().sources.size(), 3u);
  const std::vector<std::string> expected_paths = {"a.mid", "b.MID", "sub/c.midi"};
  for (size_t i = 0; i < 3; ++i) {
    const ShardSource& source = shard.metadata().sources[i];
    EXPECT_EQ(source.path, expected_paths[i]);
    auto bytes = read_file_bytes(folder.dir.file(expected_paths[i]));
    EXPECT_EQ(source.size, bytes.size());
    EXPECT_EQ(source.hash, content_hash(bytes));
    EXPECT_EQ(shard.piece(i).source, i);
    EXPECT_EQ(shard.piece(i).split, split_for_path(expected_paths[i]));
  }
  // The stored tokens decode to the notes that went in.
  auto encoding = shard.make_encoding();
  Score decoded = encoding->decode(shard.token_vector(0));
  ASSERT_EQ(decoded.tracks.size(), 1u);
  std::vector<int> pitches;
  for (const auto& note : decoded.tracks[0].notes) pitches.push_back(note.pitch);
  EXPECT_EQ(pitches, (std::vector<int>{60, 62, 64, 65}));
  EXPECT_EQ(shard.metadata().prepare_options["encoding"], "melody");
  EXPECT_EQ(shard.metadata().tool_version, kCadenzaToolVersion);
}

TEST(DataPrepare, EveryFileBrokenIsAnError) {
  TempDir dir;
  write_text(dir.file("one.mid"), "garbage");
  write_text(dir.file("two.mid"), "MThd");
  try {
    build_dataset(melody_options(dir.path().string()));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("one.mid"), std::string::npos) << e.what();
  }
}

TEST(DataPrepare, ThreadCountDoesNotChangeTheBytes) {
  TempDir dir;
  for (int i = 0; i < 24; ++i) write_score(dir.file("tune" + std::to_string(i) + ".mid"), varied_score(i, 8 + i));
  write_text(dir.file("zz-broken.mid"), "MThd\x00\x00\x00\x06");
  auto one = build_dataset(melody_options(dir.path().string(), 1));
  auto three = build_dataset(melody_options(dir.path().string(), 3));
  EXPECT_EQ(one.result.pieces, 24u);
  EXPECT_EQ(one.shard_bytes, three.shard_bytes);
}

// A piece without duplicates keeps its split whatever other files there are; a copy follows its group's leader,
// the top-level file it copies.
TEST(DataPrepare, SplitOfAFileDoesNotDependOnTheOtherFiles) {
  TempDir all, some;
  for (int i = 0; i < 40; ++i) write_score(all.file("t" + std::to_string(i) + ".mid"), testing::distinct_score(i));
  for (int i = 0; i < 40; i += 3) write_score(some.file("t" + std::to_string(i) + ".mid"), testing::distinct_score(i));
  for (int i = 100; i < 110; ++i) write_score(some.file("t" + std::to_string(i) + ".mid"), testing::distinct_score(i));
  for (int i = 0; i < 40; i += 3)
    write_score(some.file("copies/t" + std::to_string(i) + ".mid"), testing::distinct_score(i));
  auto split_by_path = [&](const std::string& folder) {
    PreparedDataset prepared = build_dataset(melody_options(folder));
    TempDir out;
    write_file_atomic(out.file("s.cdz"), prepared.shard_bytes);
    Shard shard(out.file("s.cdz"));
    std::map<std::string, Split> splits;
    for (const auto& piece : shard.pieces()) splits[shard.metadata().sources[piece.source].path] = piece.split;
    return splits;
  };
  auto full = split_by_path(all.path().string());
  auto partial = split_by_path(some.path().string());
  std::set<Split> seen;
  for (const auto& [path, split] : partial) {
    if (path.rfind("copies/", 0) == 0) {
      EXPECT_EQ(split, full.at(path.substr(7))) << path << " follows the top-level file it copies";
    } else if (full.count(path)) {
      EXPECT_EQ(split, full[path]) << path;
    }
    seen.insert(split);
  }
  for (const auto& [path, split] : full) {
    EXPECT_EQ(split, split_for_path(path)) << path << " has no duplicate";
    seen.insert(split);
  }
  EXPECT_EQ(seen.size(), 3u) << "40 files should reach every split at 80/10/10";
}

// File names are bytes: a Latin-1 name (and a --set value that is not UTF-8) cannot go into JSON as they are. The
// shard stores them with U+FFFD instead of failing at the last step (json type_error, an "internal error").
TEST(DataPrepare, NamesAndSettingsThatAreNotUtf8AreStoredReplaced) {
  TempDir dir;
  Score tune = testing::distinct_score(1);
  tune.tracks[0].name = "\xff";  // a Latin-1 track name, chosen by the melody encoding's "track" option
  write_score(dir.file("caf\xe9.mid"), tune);
  PrepareOptions options = melody_options(dir.path().string());
  apply_setting(options.settings, std::string("track=\xff"));
  const PreparedDataset prepared = build_dataset(options);
  ASSERT_EQ(prepared.result.pieces, 1u);
  write_file_atomic(dir.file("s.cdz"), prepared.shard_bytes);
  const Shard shard(dir.file("s.cdz"));
  ASSERT_EQ(shard.metadata().sources.size(), 1u);
  EXPECT_EQ(shard.metadata().sources[0].path, "caf\xEF\xBF\xBD.mid");
  EXPECT_EQ(shard.metadata().prepare_options["set"]["track"], "\xEF\xBF\xBD");
}

TEST(DataPrepare, LengthLimitsAndTrackSelectionSkipWithReasons) {
  TempDir dir;
  write_score(dir.file("short.mid"), line_score({60, 62}));
  write_score(dir.file("long.mid"), varied_score(1, 40));
  Score two_tracks = line_score({60, 64, 67, 72, 71, 69, 67, 65}, 0, "lead");
  two_tracks.tracks.push_back(line_score({48, 52, 55}, 0, "bass").tracks[0]);
  write_score(dir.file("duet.mid"), two_tracks);

  PrepareOptions options = melody_options(dir.path().string());
  options.min_length = 10;  // short.mid: 2 eighths = 4 steps + NOTE_OFF
  options.max_length = 60;  // long.mid: 40 eighths = 80 steps
  auto prepared = build_dataset(options);
  ASSERT_EQ(prepared.result.skipped.size(), 2u);
  EXPECT_EQ(prepared.result.skipped[0].path, "long.mid");
  EXPECT_NE(prepared.result.skipped[0].reason.find("too long"), std::string::npos);
  EXPECT_EQ(prepared.result.skipped[1].path, "short.mid");
  EXPECT_NE(prepared.result.skipped[1].reason.find("too short"), std::string::npos);

  PrepareOptions by_name = melody_options(dir.path().string());
  by_name.track = "bass";
  prepared = build_dataset(by_name);
  EXPECT_EQ(prepared.result.pieces, 1u);
  EXPECT_EQ(prepared.result.skipped.size(), 2u);
  EXPECT_EQ(prepared.result.skipped[0].reason, "no track named 'bass'");
  write_file_atomic(dir.file("bass.cdz"), prepared.shard_bytes);
  Shard shard(dir.file("bass.cdz"));
  Score decoded = shard.make_encoding()->decode(shard.token_vector(0));
  ASSERT_FALSE(decoded.tracks.empty());
  EXPECT_EQ(decoded.tracks[0].notes.front().pitch, 48) << "the melody comes from the bass track only";

  PrepareOptions by_index = melody_options(dir.path().string());
  by_index.track_index = 1;
  prepared = build_dataset(by_index);
  EXPECT_EQ(prepared.result.pieces, 1u);
  EXPECT_NE(prepared.result.skipped[0].reason.find("no track 1"), std::string::npos);
}

TEST(DataPrepare, JsbJsonKeepsItsOwnSplitsAsPianoRolls) {
  TempDir dir;
  // Two train chorales, one valid (ending on a rest), one test of which the second is silent.
  nlohmann::json jsb = {
      {"train", {{{60, 64, 67}, {60, 64, 67}, {62, 65}}, {{55}, {57}, {59}, {60}}}},
      {"valid", {{{72, 76}, {71}, nlohmann::json::array()}}},
      {"test", {{{48}, {50}}, nlohmann::json::array({nlohmann::json::array(), nlohmann::json::array()})}}};
  write_text(dir.file("jsb-chorales-quarter.json"), jsb.dump());
  PrepareOptions options;
  options.inputs = {dir.file("jsb-chorales-quarter.json")};
  options.encoding = "pianoroll";
  options.settings = {{"steps_per_quarter", 1}, {"merge_all_tracks", true}};
  auto prepared = build_dataset(options);
  EXPECT_EQ(prepared.result.pieces, 4u);
  EXPECT_EQ(prepared.result.pieces_per_split, (std::array<size_t, 3>{2, 1, 1}));
  EXPECT_EQ(prepared.result.files_used, 1u);
  EXPECT_EQ(prepared.result.pieces_skipped, 1u);
  ASSERT_EQ(prepared.result.skipped.size(), 1u);
  EXPECT_EQ(prepared.result.skipped[0].path, "jsb-chorales-quarter.json#test/1");
  EXPECT_EQ(prepared.result.skipped[0].reason, "no notes");

  write_file_atomic(dir.file("jsb.cdz"), prepared.shard_bytes);
  Shard shard(dir.file("jsb.cdz"));
  ASSERT_TRUE(shard.is_piano_roll());
  EXPECT_EQ(shard.pieces_in_split(Split::kValid), std::vector<size_t>{2});
  PianoRollSpec spec = shard.roll_spec();
  EXPECT_EQ(spec.steps_per_quarter, 1);
  PianoRoll roll = shard.roll(0);
  // Exactly the file's steps: no silent padding to a whole 4/4 bar, and a trailing rest is kept.
  EXPECT_EQ(roll.num_steps, 3);
  EXPECT_EQ(shard.roll(1).num_steps, 4);
  EXPECT_EQ(shard.roll(2).num_steps, 3);
  EXPECT_EQ(shard.roll(3).num_steps, 2);
  EXPECT_EQ(roll.bar_starts, std::vector<int>{0});
  auto on = [&](int step, int pitch) { return roll.at(0, step, pitch - spec.lowest_pitch) != 0; };
  EXPECT_TRUE(on(0, 60) && on(0, 64) && on(0, 67) && on(1, 67) && on(2, 62) && on(2, 65));
  EXPECT_FALSE(on(2, 60));
}

TEST(DataPrepare, SettingsParseJsonValuesOrStrings) {
  nlohmann::json settings = nlohmann::json::object();
  apply_setting(settings, "steps_per_quarter=4");
  apply_setting(settings, "transpose_into_range=false");
  apply_setting(settings, "qpm=96.5");
  apply_setting(settings, "track=Lead Vocal");
  apply_setting(settings, "quoted=\"7\"");
  EXPECT_EQ(settings["steps_per_quarter"], 4);
  EXPECT_TRUE(settings["steps_per_quarter"].is_number_integer());
  EXPECT_EQ(settings["transpose_into_range"], false);
  EXPECT_DOUBLE_EQ(settings["qpm"].get<double>(), 96.5);
  EXPECT_EQ(settings["track"], "Lead Vocal");
  EXPECT_EQ(settings["quoted"], "7");
  EXPECT_THROW_WITH(apply_setting(settings, "no-equals"), Error, {"--set 'no-equals'", "key=value"});
  EXPECT_THROW_WITH(apply_setting(settings, "=4"), Error, {"--set '=4'", "key=value"});
  EXPECT_THROW_WITH(apply_setting(settings, "name=remi"), Error, {"--set 'name=remi'", "--encoding"});
}

TEST(DataPrepare, EncodingSpecIsResolvedWithDefaults) {
  nlohmann::json spec = resolve_encoding_spec("melody", {{"min_pitch", 50}});
  EXPECT_EQ(spec["name"], "melody");
  EXPECT_EQ(spec["min_pitch"], 50);
  EXPECT_TRUE(spec.contains("steps_per_quarter"));
  nlohmann::json roll = resolve_encoding_spec("pianoroll", {{"lowest_pitch", 36}});
  EXPECT_EQ(roll["name"], "pianoroll");
  EXPECT_EQ(roll["lowest_pitch"], 36);
  EXPECT_THROW_WITH(resolve_encoding_spec("nonsense", nlohmann::json::object()), Error,
                    {"unknown encoding 'nonsense'", "melody"});
  EXPECT_THROW_WITH(resolve_encoding_spec("melody", {{"min_pitch", "low"}}), Error,
                    {"melody", "'min_pitch'", "integer", "\"low\""});
  EXPECT_THROW_WITH(resolve_encoding_spec("pianoroll", {{"bogus_key", 1}}), Error,
                    {"piano roll", "unknown option 'bogus_key'"});
}

}  // namespace
}  // namespace cadenza
