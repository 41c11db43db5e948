// The MIDI reader and writer on the real Nottingham folk-tune files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "common/file_io.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

std::vector<std::string> midi_files_in(const std::string& directory) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory))
    if (entry.is_regular_file() && entry.path().extension() == ".mid") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// Every file parses, and read -> write -> read gives the same Score (names, channels, programs, notes, maps).
void check_round_trip_of_every_file(const std::string& relative, size_t expected_at_least) {
  const std::string directory = testing::data_path(relative);
  const std::vector<std::string> files = midi_files_in(directory);
  ASSERT_GE(files.size(), expected_at_least) << directory;
  size_t notes = 0;
  for (const auto& path : files) {
    Score score;
    try {
      score = read_midi_file(path);
    } catch (const Error& e) {
      ADD_FAILURE() << "cannot read: " << e.what();
      continue;
    }
    EXPECT_FALSE(score.tracks.empty()) << path;
    notes += score.note_count();
    Score again = read_midi(write_midi(score), path + " (rewritten)");
    EXPECT_TRUE(again == score) << path << ": " << describe_difference(score, again);
  }
  EXPECT_GT(notes, files.size() * 20);  // folk tunes: dozens of notes each at least
}

TEST(MidiNottingham, EveryFileOfTheMainFolderRoundTrips) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  check_round_trip_of_every_file("nottingham/MIDI", 1000);
}

TEST(MidiNottingham, EveryMelodyFileRoundTrips) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI/melody");
  check_round_trip_of_every_file("nottingham/MIDI/melody", 1000);
}

TEST(MidiNottingham, EveryChordsFileRoundTrips) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI/chords");
  check_round_trip_of_every_file("nottingham/MIDI/chords", 1000);
}

// Facts of ashover1.mid checked by hand with xxd: format 1, 2 MTrk, division 0x0400; track 1 has 68 note-ons
// (pitches 65..79), track 2 has 90 (36..53), both on channel 1 with empty names, no program change and no tempo
// event; key signature FF 59 02 01 00 (G major); 3/4 with 2/4 bars from tick 21504; the last note-off is at
// tick 97280 = 95 quarters = 47.5 s at the default 120 qpm. The first melody note is 90 4C 5A after a delta of
// 0x90 0x00 (2048 ticks), closed by 80 4C 00 after 0x88 0x00 (1024 ticks).
TEST(MidiNottingham, Ashover1HandCheckedFacts) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI/ashover1.mid");
  const std::string path = testing::data_path("nottingham/MIDI/ashover1.mid");
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  MidiFileInfo info = read_midi_header(bytes, path);
  EXPECT_EQ(info.format, 1);
  EXPECT_EQ(info.declared_tracks, 2);
  EXPECT_FALSE(info.smpte);
  EXPECT_EQ(info.ticks_per_quarter, 1024);

  Score score = read_midi(bytes, path);
  EXPECT_EQ(score.ticks_per_quarter, 1024);
  ASSERT_EQ(score.tracks.size(), 2u);
  EXPECT_EQ(score.tracks[0].notes.size(), 68u);
  EXPECT_EQ(score.tracks[1].notes.size(), 90u);
  for (const auto& track : score.tracks) {
    EXPECT_EQ(track.name, "");
    EXPECT_EQ(track.channel, 0);
    EXPECT_EQ(track.program, 0);
    EXPECT_FALSE(track.is_drum);
  }
  auto [low, high] = std::minmax_element(score.tracks[0].notes.begin(), score.tracks[0].notes.end(),
                                         [](const Note& a, const Note& b) { return a.pitch < b.pitch; });
  EXPECT_EQ(low->pitch, 65);
  EXPECT_EQ(high->pitch, 79);
  EXPECT_EQ(score.tracks[0].notes[0], (Note{76, 90, 2048, 3072}));
  EXPECT_DOUBLE_EQ(score.tracks[0].notes[0].start_sec, 1.0);
  ASSERT_EQ(score.tempos.size(), 1u);
  EXPECT_EQ(score.tempos[0].microseconds_per_quarter, 500000);
  ASSERT_EQ(score.key_signatures.size(), 1u);
  EXPECT_EQ(score.key_signatures[0], (KeySignature{0, 1, false}));
  ASSERT_GE(score.time_signatures.size(), 2u);
  EXPECT_EQ(score.time_signatures[0], (TimeSignature{0, 3, 4}));
  EXPECT_EQ(score.time_signatures[1], (TimeSignature{21504, 2, 4}));
  EXPECT_EQ(score.end_tick(), 97280);
  EXPECT_DOUBLE_EQ(score.end_seconds(), 47.5);

  // The melody/ and chords/ versions hold the two tracks of the main file, one each.
  Score melody = read_midi_file(testing::data_path("nottingham/MIDI/melody/ashover1.mid"));
  Score chords = read_midi_file(testing::data_path("nottingham/MIDI/chords/ashover1.mid"));
  ASSERT_EQ(melody.tracks.size(), 1u);
  ASSERT_EQ(chords.tracks.size(), 1u);
  EXPECT_EQ(melody.tracks[0], score.tracks[0]);
  EXPECT_EQ(chords.tracks[0], score.tracks[1]);
}

TEST(MidiNottingham, TruncatedRealFileGivesAFormatError) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI/ashover1.mid");
  std::vector<uint8_t> bytes = read_file_bytes(testing::data_path("nottingham/MIDI/ashover1.mid"));
  bytes.resize(bytes.size() / 2);
  try {
    read_midi(bytes, "half.mid");
    ADD_FAILURE() << "a file cut in half was accepted";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), "half.mid");
    EXPECT_GE(e.offset(), 0);
  }
}

}  // namespace
}  // namespace cadenza
