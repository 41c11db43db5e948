// `cadenza metrics` end to end: per-file values, the mean, JSON, and errors that name the file.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_fixtures.h"
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

TEST(CliMetrics, FormMetricsOfTheMelody) {
  testing::TempDir dir;
  const std::string path = dir.file("arpeggio.mid");
  write_midi_file(arpeggio(), path);
  const auto result = run_cadenza("metrics " + path + " --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json form = nlohmann::json::parse(result.output)["files"][0]["form"];
  // C4 E4 G4 C5 quarters in C major: one bar (no 2-bar window), all in key, all on the beat, ends on C.
  EXPECT_TRUE(form["recurring_2bar_patterns"].is_null());
  EXPECT_EQ(form["notes_in_key"], 1.0);
  EXPECT_EQ(form["offgrid_onsets"], 0.0);
  EXPECT_EQ(form["ends_on_tonic"], 1.0);
  EXPECT_EQ(form["pitch_range"], 12.0);
  const auto text = run_cadenza("metrics " + path);
  char line[96];
  std::snprintf(line, sizeof line, "  %-26s %s\n", "ends_on_tonic", "1");
  EXPECT_NE(text.output.find(line), std::string::npos) << text.output;
}

TEST(CliMetrics, ReferenceMeansBesideTheFiles) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("real"));
  write_midi_file(arpeggio(), dir.file("real/a.mid"));
  write_midi_file(sparse(), dir.file("real/b.mid"));
  // Three-bar tune: the first two bars are measured with --bars 2.
  Score generated = sparse();
  generated.tracks[0].notes.push_back({84, 80, 3840, 4320});
  write_midi_file(generated, dir.file("generated.mid"));
  const auto result =
      run_cadenza("metrics " + dir.file("generated.mid") + " --bars 2 --json --reference " + dir.file("real"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json report = nlohmann::json::parse(result.output);
  EXPECT_EQ(report["files"][0]["metrics"]["pitch_range"], 2.0) << "the third bar's C6 is cut by --bars 2";
  EXPECT_EQ(report["reference"]["piece_count"], 2);
  EXPECT_EQ(report["reference"]["mean"]["pitch_range"], 7.0);  // (12 + 2) / 2
  EXPECT_EQ(report["reference"]["form_mean"]["pitch_range"], 7.0);
  const auto text = run_cadenza("metrics " + dir.file("generated.mid") + " --reference " + dir.file("real"));
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("reference: 2 reference files"), std::string::npos) << text.output;
  char line[96];
  std::snprintf(line, sizeof line, "  %-26s %12s %12s\n", "pitch_range", "24", "7");
  EXPECT_NE(text.output.find(line), std::string::npos) << text.output;

  const auto empty =
      run_cadenza("metrics " + dir.file("generated.mid") + " --reference " + dir.path().string() + "/none");
  EXPECT_EQ(empty.exit_code, 1) << empty.output;
  std::filesystem::create_directories(dir.file("none"));
  const auto no_midi = run_cadenza("metrics " + dir.file("generated.mid") + " --reference " + dir.file("none"));
  EXPECT_EQ(no_midi.exit_code, 1) << no_midi.output;
  EXPECT_NE(no_midi.output.find("none: the folder holds no .mid or .midi file"), std::string::npos) << no_midi.output;
}

TEST(CliMetrics, ReferenceShardIsDecoded) {
  testing::TwoTrackShards shards;
  testing::TempDir dir;
  write_midi_file(arpeggio(), dir.file("a.mid"));
  const auto result = run_cadenza("metrics " + dir.file("a.mid") + " --json --reference-shard " + shards.melody +
                                  " --split test --reference-count 3");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json reference = nlohmann::json::parse(result.output)["reference"];
  EXPECT_EQ(reference["piece_count"], 3);
  EXPECT_EQ(reference["split"], "test");
  // The fixture's melodies move within 60..73 and never hold a drum: a finite range, no drum pattern.
  EXPECT_GT(reference["form_mean"]["pitch_range"].get<double>(), 0.0);
  EXPECT_LE(reference["form_mean"]["pitch_range"].get<double>(), 13.0);
  EXPECT_TRUE(reference["mean"]["drum_pattern_consistency"].is_null());
  const auto both = run_cadenza("metrics " + dir.file("a.mid") + " --reference " + dir.file("a.mid") +
                                " --reference-shard " + shards.melody);
  EXPECT_EQ(both.exit_code, 1) << both.output;
  EXPECT_NE(both.output.find("give one reference, not both"), std::string::npos) << both.output;
}

}  // namespace
}  // namespace cadenza
