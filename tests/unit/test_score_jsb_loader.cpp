#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "score/jsb.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

std::string write_json(const testing::TempDir& dir, const std::string& name, const std::string& text) {
  std::string path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

// The message of the FormatError that loading `text` throws ("" if none is thrown).
std::string load_error(const std::string& text, const std::string& name = "bad.json", JsbOptions options = {}) {
  testing::TempDir dir;
  std::string path = write_json(dir, name, text);
  try {
    load_jsb_json(path, options);
  } catch (const FormatError& error) {
    EXPECT_EQ(error.file(), path);
    return error.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ScoreJsb, CombinedStepsBecomeHeldNotes) {
  testing::TempDir dir;
  // Step 0: C-E, step 1: C-G, step 2: rest, step 3: C (a new note after the rest).
  std::string path = write_json(dir, "tiny-8th.json", R"({"train": [[[60, 64], [60, 67], [], [60]]],
                                                           "valid": [], "test": [[[50]]]})");
  JsbOptions options;
  options.steps_per_quarter = 2;  // 240 ticks a step
  options.qpm = 90.0;
  options.velocity = 70;
  auto pieces = load_jsb_json(path, options);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].split, Split::kTrain);
  EXPECT_EQ(pieces[0].index, 0);
  EXPECT_EQ(pieces[1].split, Split::kTest);
  const Score& score = pieces[0].score;
  EXPECT_EQ(score.ticks_per_quarter, 480);
  ASSERT_EQ(score.tempos.size(), 1u);
  EXPECT_NEAR(score.tempos[0].qpm(), 90.0, 1e-3);
  ASSERT_EQ(score.time_signatures.size(), 1u);
  EXPECT_EQ(score.time_signatures[0].numerator, 4);
  EXPECT_EQ(score.source, path);
  ASSERT_EQ(score.tracks.size(), 1u);
  EXPECT_EQ(score.tracks[0].name, "chorale");
  EXPECT_EQ(score.tracks[0].program, 0);
  const auto& notes = score.tracks[0].notes;
  ASSERT_EQ(notes.size(), 4u);
  EXPECT_EQ(notes[0], (Note{60, 70, 0, 480}));  // held over steps 0-1
  EXPECT_EQ(notes[1], (Note{64, 70, 0, 240}));
  EXPECT_EQ(notes[2], (Note{67, 70, 240, 480}));
  EXPECT_EQ(notes[3], (Note{60, 70, 720, 960}));                       // after the rest
  EXPECT_NEAR(notes[3].start_sec, 720.0 / 480.0 * 60.0 / 90.0, 1e-5);  // tempo stored in whole microseconds
}

TEST(ScoreJsb, DuplicatesAndIntegralFloatsAreOnePitch) {
  testing::TempDir dir;
  std::string path = write_json(dir, "x.json", R"({"train": [[[53.0, 53, 60], [53, 60.0]]]})");
  auto pieces = load_jsb_json(path);
  ASSERT_EQ(pieces.size(), 1u);
  const auto& notes = pieces[0].score.tracks[0].notes;
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0], (Note{53, 80, 0, 960}));  // quarter steps by default: 480 ticks each
  EXPECT_EQ(notes[1], (Note{60, 80, 0, 960}));
}

TEST(ScoreJsb, SeparatedLayoutGivesFourVoices) {
  testing::TempDir dir;
  std::string path =
      write_json(dir, "TinySeparated.json", R"({"valid": [[[72, 67, 64, 48], [72, 67, 64, -1], [74, 67, 67, 50]]]})");
  JsbOptions options;
  options.steps_per_quarter = 4;
  auto pieces = load_jsb_json(path, options);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].split, Split::kValid);
  const Score& score = pieces[0].score;
  ASSERT_EQ(score.tracks.size(), 4u);
  EXPECT_EQ(score.tracks[0].name, "soprano");
  EXPECT_EQ(score.tracks[3].name, "bass");
  EXPECT_EQ(score.tracks[3].channel, 3);
  ASSERT_EQ(score.tracks[0].notes.size(), 2u);
  EXPECT_EQ(score.tracks[0].notes[0], (Note{72, 80, 0, 240}));
  EXPECT_EQ(score.tracks[0].notes[1], (Note{74, 80, 240, 360}));
  ASSERT_EQ(score.tracks[1].notes.size(), 1u);  // alto holds 67 throughout
  EXPECT_EQ(score.tracks[1].notes[0], (Note{67, 80, 0, 360}));
  // Tenor moves to 67 in unison with the alto: its own note in its own track.
  ASSERT_EQ(score.tracks[2].notes.size(), 2u);
  EXPECT_EQ(score.tracks[2].notes[1], (Note{67, 80, 240, 360}));
  // Bass: silent in step 1, so two notes.
  ASSERT_EQ(score.tracks[3].notes.size(), 2u);
  EXPECT_EQ(score.tracks[3].notes[0], (Note{48, 80, 0, 120}));
  EXPECT_EQ(score.tracks[3].notes[1], (Note{50, 80, 240, 360}));
}

TEST(ScoreJsb, SilenceMarksSeparatedLayoutWhateverTheName) {
  testing::TempDir dir;
  std::string path = write_json(dir, "plain.json", R"({"train": [[[72, -1, 64, 48]]]})");
  auto pieces = load_jsb_json(path);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].score.tracks.size(), 4u);
  EXPECT_TRUE(pieces[0].score.tracks[1].notes.empty());
  // Forced combined, -1 is just an invalid pitch.
  JsbOptions combined;
  combined.layout = JsbLayout::kCombined;
  EXPECT_THROW_WITH(load_jsb_json(path, combined), FormatError,
                    {path, "split 'train' piece 0 step 0", "pitch -1 outside 0..127"});
}

TEST(ScoreJsb, ParseErrorNamesFileAndByte) {
  testing::TempDir dir;
  std::string path = write_json(dir, "broken.json", R"({"train": [[[60, 64], [60,, 67]]]})");
  try {
    load_jsb_json(path);
    FAIL() << "expected a FormatError";
  } catch (const FormatError& error) {
    EXPECT_EQ(error.file(), path);
    EXPECT_GT(error.offset(), 20);  // the second comma is at byte 27 (0-based 26)
    EXPECT_LT(error.offset(), 30);
    EXPECT_TRUE(contains(error.what(), "broken.json")) << error.what();
  }
  EXPECT_TRUE(contains(load_error(""), "invalid JSON"));
  EXPECT_TRUE(contains(load_error(R"({"train": [[[60]]])"), "invalid JSON"));  // truncated
}

TEST(ScoreJsb, WrongStructureNamesSplitAndPiece) {
  EXPECT_TRUE(contains(load_error("[1, 2]"), "expected an object"));
  EXPECT_TRUE(contains(load_error("{}"), "no \"train\""));
  EXPECT_TRUE(contains(load_error(R"({"training": []})"), "unexpected key \"training\""));
  EXPECT_TRUE(contains(load_error(R"({"train": 5})"), "split 'train'"));
  std::string piece_error = load_error(R"({"train": [], "test": [[[60]], {"a": 1}]})");
  EXPECT_TRUE(contains(piece_error, "split 'test' piece 1")) << piece_error;
  std::string step_error = load_error(R"({"valid": [[[60], 61]]})");
  EXPECT_TRUE(contains(step_error, "split 'valid' piece 0 step 1")) << step_error;
  std::string pitch_type = load_error(R"({"train": [[[60, "C4"]]]})");
  EXPECT_TRUE(contains(pitch_type, "step 0")) << pitch_type;
  EXPECT_TRUE(contains(pitch_type, "string")) << pitch_type;
}

TEST(ScoreJsb, PitchesOutsideMidiRangeAreRejected) {
  EXPECT_TRUE(contains(load_error(R"({"train": [[[60], [128]]]})"), "outside 0..127"));
  EXPECT_TRUE(contains(load_error(R"({"train": [[[-3]]]})"), "outside 0..127"));
  EXPECT_TRUE(contains(load_error(R"({"train": [[[18446744073709551615]]]})"), "outside 0..127"));
  EXPECT_TRUE(contains(load_error(R"({"train": [[[60.5]]]})"), "not a whole number"));
  EXPECT_TRUE(contains(load_error(R"({"train": [[[60, 64, 67, 200]]]})", "Separated.json"), "outside 0..127"));
}

TEST(ScoreJsb, SeparatedLayoutNeedsFourVoices) {
  std::string error = load_error(R"({"train": [[[60, 64, 67, 48], [60, 64, 67]]]})", "jsbSeparated.json");
  EXPECT_TRUE(contains(error, "exactly 4 voices")) << error;
  EXPECT_TRUE(contains(error, "split 'train' piece 0 step 1")) << error;
}

TEST(ScoreJsb, MissingFileIsAnIoError) {
  testing::TempDir dir;
  EXPECT_THROW_WITH(load_jsb_json(dir.file("absent.json")), IoError, {dir.file("absent.json"), "cannot open"});
}

TEST(ScoreJsb, BadOptionsAreErrors) {
  testing::TempDir dir;
  std::string path = write_json(dir, "ok.json", R"({"train": [[[60]]]})");
  JsbOptions options;
  options.steps_per_quarter = 7;  // 480 / 7 is not a whole number of ticks
  EXPECT_THROW_WITH(load_jsb_json(path, options), Error, {"steps per quarter", "divide 480", "got 7"});
  options = {};
  options.qpm = 0;
  EXPECT_THROW_WITH(load_jsb_json(path, options), Error, {"tempo", "4..1000", "got 0"});
  options = {};
  options.velocity = 128;
  EXPECT_THROW_WITH(load_jsb_json(path, options), Error, {"velocity", "1..127", "got 128"});
}

TEST(ScoreJsb, EmptyPieceIsAnEmptyScore) {
  testing::TempDir dir;
  auto pieces = load_jsb_json(write_json(dir, "e.json", R"({"train": [[], [[], []]]})"));
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].score.note_count(), 0u);
  EXPECT_EQ(pieces[1].score.note_count(), 0u);
  EXPECT_EQ(pieces[1].index, 1);
}

TEST(ScoreJsb, StepsPerQuarterFromName) {
  EXPECT_EQ(jsb_steps_per_quarter_from_name("/data/jsb-chorales-quarter.json"), 1);
  EXPECT_EQ(jsb_steps_per_quarter_from_name("jsb-chorales-8th.json"), 2);
  EXPECT_EQ(jsb_steps_per_quarter_from_name("/x/jsb-chorales-16th.json"), 4);
  EXPECT_EQ(jsb_steps_per_quarter_from_name("Jsb16thSeparated.json"), 4);
  EXPECT_EQ(jsb_steps_per_quarter_from_name("/runs/16th/chorales.json"), 1);  // directories do not count
  EXPECT_EQ(split_name(Split::kValid), std::string("valid"));
}

}  // namespace
}  // namespace cadenza
