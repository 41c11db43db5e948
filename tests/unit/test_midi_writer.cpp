// Writer: byte layout facts and read(write(score)) == score round trips of synthetic scores.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "common/error.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

Score round_trip(const Score& score) {
  return read_midi(write_midi(score), "round-trip.mid");
}

void expect_round_trip(Score score) {
  score.normalize();
  Score again = round_trip(score);
  EXPECT_TRUE(again == score) << describe_difference(score, again);
}

bool contains(const std::vector<uint8_t>& haystack, const std::vector<uint8_t>& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

Score band_score() {
  Score score = make_empty_score(96, 100.0, 3, 4);
  score.tempos.push_back({96 * 6, 400000});
  score.time_signatures.push_back({96 * 12, 6, 8});
  score.key_signatures.push_back({0, 2, false});
  score.key_signatures.push_back({96 * 12, -3, true});
  score.tracks.push_back({"Lead", 73, false, 0, {{72, 100, 0, 96}, {74, 90, 96, 192}, {76, 80, 192, 384}}});
  score.tracks.push_back({"Bass", 33, false, 1, {{36, 70, 0, 288}, {43, 70, 288, 576}}});
  score.tracks.push_back({"Kit", 0, true, 9, {{36, 120, 0, 24}, {42, 60, 0, 12}, {38, 110, 96, 120}}});
  return score;
}

TEST(MidiWriter, HeaderAndConductorLayout) {
  Score score = band_score();
  score.normalize();
  std::vector<uint8_t> bytes = write_midi(score);
  ASSERT_GE(bytes.size(), 22u);
  const std::vector<uint8_t> header = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 1, 0, 4, 0, 96};
  EXPECT_TRUE(std::equal(header.begin(), header.end(), bytes.begin()));
  MidiFileInfo info = read_midi_header(bytes, "x");
  EXPECT_EQ(info.format, 1);
  EXPECT_EQ(info.declared_tracks, 4);                                                    // conductor + 3 tracks
  EXPECT_TRUE(contains(bytes, {0xFF, 0x51, 0x03, 0x06, 0x1A, 0x80}));                    // 400000 us per quarter
  EXPECT_TRUE(contains(bytes, {0xFF, 0x58, 0x04, 6, 3, 24, 8}));                         // 6/8
  EXPECT_TRUE(contains(bytes, {0xFF, 0x59, 0x02, 0xFD, 1}));                             // 3 flats, minor
  EXPECT_TRUE(contains(bytes, {0xFF, 0x03, 0x04, 'L', 'e', 'a', 'd', 0x00, 0xC0, 73}));  // name then program
  EXPECT_TRUE(contains(bytes, {0x00, 0xC9, 0x00}));  // drum program change on channel 10
  EXPECT_TRUE(contains(bytes, {0xFF, 0x2F, 0x00}));
}

TEST(MidiWriter, RoundTripOfASyntheticBand) {
  Score score = band_score();
  score.normalize();
  Score again = round_trip(score);
  EXPECT_TRUE(again == score) << describe_difference(score, again);
  ASSERT_EQ(again.tracks.size(), 3u);
  EXPECT_TRUE(again.tracks[2].is_drum);
  EXPECT_EQ(again.tracks[1].program, 33);
  EXPECT_DOUBLE_EQ(again.tracks[0].notes[2].end_sec, score.tracks[0].notes[2].end_sec);
}

TEST(MidiWriter, RepeatedNotesAtTheSameTickStaySeparate) {
  Score score = make_empty_score(480);
  score.tracks.push_back({"", 0, false, 0, {{60, 80, 0, 480}, {60, 81, 480, 960}, {60, 82, 960, 1440}}});
  expect_round_trip(score);
  std::vector<uint8_t> bytes = write_midi(score);
  // At tick 480 the note-off of the first note comes before the note-on of the second.
  EXPECT_TRUE(contains(bytes, {0x83, 0x60, 0x80, 60, 64, 0x00, 0x90, 60, 81}));
}

TEST(MidiWriter, OverlappingSamePitchNotesRoundTrip) {
  Score score = make_empty_score(480);
  // Same-pitch notes whose ends follow their starts: what first-in first-out pairing produces on reading.
  score.tracks.push_back(
      {"", 0, false, 0, {{60, 10, 0, 200}, {60, 20, 100, 300}, {60, 30, 100, 400}, {60, 40, 300, 450}}});
  expect_round_trip(score);
  // A note nested inside another of the same pitch cannot survive: it is re-paired, keeping count and ticks.
  Score nested = make_empty_score(480);
  nested.tracks.push_back({"", 0, false, 0, {{60, 10, 0, 400}, {60, 20, 100, 200}}});
  Score again = round_trip(nested);
  ASSERT_EQ(again.tracks.at(0).notes.size(), 2u);
  EXPECT_EQ(again.tracks[0].notes[0], (Note{60, 10, 0, 200}));
  EXPECT_EQ(again.tracks[0].notes[1], (Note{60, 20, 100, 400}));
}

TEST(MidiWriter, NameCollisionsAndChannelsRoundTrip) {
  Score score = make_empty_score(120);
  // Same name, same channel, different programs: each Track keeps its own MTrk and program change.
  score.tracks.push_back({"Voice", 40, false, 3, {{60, 80, 0, 120}}});
  score.tracks.push_back({"Voice", 41, false, 3, {{62, 80, 0, 120}}});
  score.tracks.push_back({"Voice", 0, false, 15, {{64, 80, 60, 120}}});
  score.tracks.push_back({"", 127, false, 0, {{127, 127, 0, 1}, {0, 1, 0, 1}}});
  score.tracks.push_back({std::string("na\0me\xff", 6), 5, false, 4, {{50, 50, 5, 6}}});
  expect_round_trip(score);
}

TEST(MidiWriter, KeepsTicksPerQuarter) {
  for (int tpq : {1, 96, 480, 1024, 32767}) {
    Score score = make_empty_score(tpq);
    score.tracks.push_back({"t", 0, false, 0, {{60, 80, 0, tpq}, {62, 80, tpq, 3 * tpq}}});
    expect_round_trip(score);
    EXPECT_EQ(round_trip(score).ticks_per_quarter, tpq);
  }
}

TEST(MidiWriter, GapsLongerThanOneDeltaTimeRoundTrip) {
  Score score = make_empty_score(480);
  const int64_t far = int64_t(3) * 0x0FFFFFFF + 12345;  // three maximal delta-times and then some
  score.tempos.push_back({far, 600000});
  score.tracks.push_back({"", 0, false, 0, {{60, 80, 0, 10}, {61, 80, far, far + 480}}});
  expect_round_trip(score);
}

TEST(MidiWriter, EmptyScore) {
  Score score = make_empty_score(480, 90.0, 7, 8);
  score.key_signatures.push_back({0, 0, true});
  expect_round_trip(score);
  Score again = round_trip(score);
  EXPECT_TRUE(again.tracks.empty());
  EXPECT_EQ(again.time_signatures[0].numerator, 7);
}

TEST(MidiWriter, RefusesScoresSmfCannotHold) {
  auto expect_refused = [](const Score& score, const std::string& fragment) {
    try {
      write_midi(score);
      ADD_FAILURE() << "expected a refusal mentioning '" << fragment << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  Score base = make_empty_score(480);
  base.tracks.push_back({"t", 0, false, 0, {{60, 80, 0, 10}}});

  Score score = base;
  score.ticks_per_quarter = 40000;
  expect_refused(score, "ticks_per_quarter 40000");
  score = base;
  score.tracks[0].channel = 16;
  expect_refused(score, "channel 16");
  score = base;
  score.tracks[0].program = 128;
  expect_refused(score, "program 128");
  score = base;
  score.tracks[0].notes[0].pitch = 128;
  expect_refused(score, "pitch 128");
  score = base;
  score.tracks[0].notes[0].velocity = 0;
  expect_refused(score, "velocity 0");
  score = base;
  score.tracks[0].notes[0].end_tick = 0;
  expect_refused(score, "empty or negative");
  score = base;
  score.time_signatures[0].denominator = 3;
  expect_refused(score, "denominator 3");
  score = base;
  score.tempos[0].microseconds_per_quarter = 0;
  expect_refused(score, "tempo of 0");
  score = base;
  score.key_signatures.push_back({0, 9, false});
  expect_refused(score, "9 sharps");
}

TEST(MidiWriter, DrumFlagWinsOverTheChannel) {
  Score score = make_empty_score(480);
  score.tracks.push_back({"drums", 0, true, 2, {{36, 100, 0, 10}}});
  Score again = round_trip(score);
  ASSERT_EQ(again.tracks.size(), 1u);
  EXPECT_TRUE(again.tracks[0].is_drum);
  EXPECT_EQ(again.tracks[0].channel, 9);
}

// Random scores: a read score is a fixed point of write+read, and scores without overlapping same-pitch notes
// survive the first round trip unchanged.
TEST(MidiWriter, RandomScoresRoundTrip) {
  std::mt19937 random(1234);
  auto uniform = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(random); };
  for (int trial = 0; trial < 60; ++trial) {
    SCOPED_TRACE(trial);
    Score score = make_empty_score(uniform(1, 2000), uniform(30, 240), uniform(1, 12), 1 << uniform(0, 5));
    for (int i = uniform(0, 3); i > 0; --i) score.tempos.push_back({uniform(0, 20000), uniform(100000, 2000000)});
    for (int i = uniform(0, 3); i > 0; --i)
      score.key_signatures.push_back({uniform(0, 20000), uniform(-7, 7), uniform(0, 1) == 1});
    const bool overlapping = trial % 2 == 1;
    for (int t = uniform(1, 5); t > 0; --t) {
      Track track;
      track.channel = uniform(0, 15);
      track.is_drum = track.channel == 9;
      track.program = uniform(0, 127);
      track.name = "track " + std::to_string(uniform(0, 2));
      std::vector<int64_t> free_from(128, 0);
      for (int n = uniform(1, 200); n > 0; --n) {
        Note note;
        note.pitch = uniform(0, 127);
        note.velocity = uniform(1, 127);
        note.start_tick = overlapping ? uniform(0, 5000) : std::max<int64_t>(free_from[note.pitch], uniform(0, 5000));
        note.end_tick = note.start_tick + uniform(1, 500);
        free_from[note.pitch] = note.end_tick;
        track.notes.push_back(note);
      }
      score.tracks.push_back(track);
    }
    score.normalize();
    Score first = round_trip(score);
    if (!overlapping) {
      EXPECT_TRUE(first == score) << describe_difference(score, first);
    }
    Score second = round_trip(first);
    EXPECT_TRUE(second == first) << describe_difference(first, second);
    EXPECT_EQ(first.note_count(), score.note_count());  // re-pairing never loses or invents notes
  }
}

TEST(MidiWriterFile, WritesAtomicallyAndReadsBack) {
  testing::TempDir dir;
  Score score = band_score();
  score.normalize();
  const std::string path = dir.file("band.mid");
  write_midi_file(score, path);
  Score again = read_midi_file(path);
  EXPECT_TRUE(again == score) << describe_difference(score, again);
  EXPECT_EQ(again.source, path);
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);  // no temporary file left behind
  EXPECT_THROW_WITH(write_midi_file(score, dir.file("no-such-dir/x.mid")), IoError,
                    {dir.file("no-such-dir/x.mid"), "cannot create"});
}

}  // namespace
}  // namespace cadenza
