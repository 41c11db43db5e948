// `cadenza metrics` end to end: per-file values, the mean, JSON, and errors that name the file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

using testing::run_cadenza;

// 480 ticks per quarter, 4/4, C major (no sharps). Four quarter notes C4 E4 G4 C5 in one bar:
// pitch_range 12, 4 pitches, 3 pitch classes, note_density 4, mean pitch (60 + 64 + 67 + 72) / 4 = 65.75.
Score arpeggio() {
  Score score = make_empty_score();
  score.key_signatures.push_back({0, 0, false});
  Track track;
  track.name = "melody";
  track.notes = {{60, 80, 0, 480}, {64, 80, 480, 960}, {67, 80, 960, 1440}, {72, 80, 1440, 1920}};
  score.tracks.push_back(track);
  return score;
}

// Two bars: a C4 whole note, then silence until D4 in the last quarter of bar 2. pitch_range 2, 2 notes in 2 bars.
Score sparse() {
  Score score = make_empty_score();
  Track track;
  track.name = "melody";
  track.notes = {{60, 80, 0, 1920}, {62, 80, 3360, 3840}};
  score.tracks.push_back(track);
  return score;
}

TEST(CliMetrics, JsonHasEachFileAndTheMean) {
  testing::TempDir dir;
  const std::string first = dir.file("arpeggio.mid"), second = dir.file("sparse.mid");
  write_midi_file(arpeggio(), first);
  write_midi_file(sparse(), second);
  const auto result = run_cadenza("metrics " + first + " " + second + " --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json report = nlohmann::json::parse(result.output);
  ASSERT_EQ(report["files"].size(), 2u);
  EXPECT_EQ(report["files"][0]["file"], first);
  const auto& a = report["files"][0]["metrics"];
  EXPECT_EQ(a["pitch_range"], 12.0);
  EXPECT_EQ(a["n_pitches_used"], 4.0);
  EXPECT_EQ(a["n_pitch_classes_used"], 3.0);
  EXPECT_EQ(a["note_density"], 4.0);
  EXPECT_EQ(a["mean_pitch"], 65.75);
  EXPECT_EQ(a["pitch_in_key_rate"], 1.0);  // C E G C in C major
  EXPECT_TRUE(a["drum_pattern_consistency"].is_null());
  const auto& b = report["files"][1]["metrics"];
  EXPECT_EQ(b["pitch_range"], 2.0);
  EXPECT_EQ(b["note_density"], 1.0);
  // Beats 4..6 of 8 are silent (C4 fills beats 0..3, D4 beat 7): 3/8.
  EXPECT_EQ(b["empty_beat_rate"], 0.375);
  EXPECT_TRUE(b["pitch_in_key_rate"].is_null());  // no key signature
  // Means: (12 + 2) / 2; pitch_in_key_rate only from the first file.
  EXPECT_EQ(report["mean"]["pitch_range"], 7.0);
  EXPECT_EQ(report["mean"]["note_density"], 2.5);
  EXPECT_EQ(report["mean"]["pitch_in_key_rate"], 1.0);
  EXPECT_EQ(report["file_count"], 2);
}

TEST(CliMetrics, TextListsEveryMetric) {
  testing::TempDir dir;
  const std::string path = dir.file("arpeggio.mid");
  write_midi_file(arpeggio(), path);
  const auto result = run_cadenza("metrics " + path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("pitch_range                12"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("drum_pattern_consistency   n/a"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("mean over 1 file"), std::string::npos) << result.output;
  const auto mean_only = run_cadenza("metrics --mean-only " + path);
  ASSERT_EQ(mean_only.exit_code, 0) << mean_only.output;
  EXPECT_EQ(mean_only.output.find(path), std::string::npos) << mean_only.output;
}

TEST(CliMetrics, BadFileIsAnErrorNamingIt) {
  testing::TempDir dir;
  const std::string good = dir.file("good.mid"), bad = dir.file("bad.mid");
  write_midi_file(arpeggio(), good);
  write_file_atomic(bad, std::string("MThd\0\0\0\6garbage", 17));
  EXPECT_CLI_ERROR(run_cadenza("metrics " + good + " " + bad), {bad + ": byte "});
  EXPECT_CLI_ERROR(run_cadenza("metrics " + dir.file("missing.mid")), {dir.file("missing.mid"), "cannot open"});
}

}  // namespace
}  // namespace cadenza
