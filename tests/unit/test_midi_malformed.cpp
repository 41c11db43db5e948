// Malformed Standard MIDI Files: each must give a FormatError naming the file and the byte at fault.
#include <gtest/gtest.h>

#include "common/error.h"
#include "midi/midi.h"
#include "test_midi_smf_builder.h"

namespace cadenza {
namespace {

using testing::SmfFile;
using testing::SmfTrack;

constexpr size_t kFirstTrackBody = SmfFile::kHeaderSize + SmfFile::kChunkHeaderSize;  // 22

void expect_format_error(const std::vector<uint8_t>& bytes, size_t offset, const std::string& fragment) {
  try {
    read_midi(bytes, "broken.mid");
    ADD_FAILURE() << "no error; expected one at byte " << offset << " about '" << fragment << "'";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), "broken.mid");
    EXPECT_EQ(e.offset(), static_cast<int64_t>(offset)) << e.what();
    const std::string prefix = "broken.mid: byte " + std::to_string(offset) + ": ";
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u) << e.what();
    EXPECT_NE(e.problem().find(fragment), std::string::npos) << e.what();
  }
}

// A one-track file whose track body is `track`; offsets inside the body are shifted by kFirstTrackBody.
std::vector<uint8_t> one_track_file(const SmfTrack& track) {
  return SmfFile(1, 480).track(track).bytes();
}

TEST(MidiMalformed, EmptyAndNonMidiFiles) {
  expect_format_error({}, 0, "no MThd header");
  expect_format_error({'R', 'I', 'F', 'F', 0, 0, 0, 4, 'R', 'M', 'I', 'D'}, 0, "no MThd header");
  expect_format_error({'M', 'T', 'h'}, 0, "no MThd header");
}

TEST(MidiMalformed, ShortHeader) {
  std::vector<uint8_t> bytes = SmfFile().bytes();
  bytes.resize(10);
  expect_format_error(bytes, 0, "truncated MThd header");
}

TEST(MidiMalformed, WrongHeaderLength) {
  std::vector<uint8_t> bytes = SmfFile().bytes();
  bytes[7] = 4;
  expect_format_error(bytes, 4, "less than 6");
  bytes[7] = 200;
  expect_format_error(bytes, 4, "runs past the end of the file");
}

TEST(MidiMalformed, UnsupportedFormatAndDivision) {
  expect_format_error(SmfFile(3, 480).bytes(), 8, "unsupported SMF format 3");
  expect_format_error(SmfFile(1, 0).bytes(), 12, "0 ticks per quarter");
  expect_format_error(SmfFile(1, static_cast<uint16_t>((uint8_t(-20) << 8) | 10)).bytes(), 12, "20 frames per second");
  expect_format_error(SmfFile(1, static_cast<uint16_t>(uint8_t(-25) << 8)).bytes(), 12, "0 ticks per frame");
}

TEST(MidiMalformed, AbsurdTrackCount) {
  SmfTrack track;
  track.end();
  expect_format_error(SmfFile().track(track).declared_tracks(1000).bytes(), 10, "declares 1000 tracks");
}

TEST(MidiMalformed, FewerTracksThanDeclared) {
  SmfTrack track;
  track.end();
  // Two 12-byte MTrk chunks pass the "8 bytes per declared track" check for 3 tracks; the third is missing.
  std::vector<uint8_t> bytes = SmfFile().track(track).track(track).declared_tracks(3).bytes();
  expect_format_error(bytes, bytes.size(), "file ends after 2 of the 3 declared tracks");
}

TEST(MidiMalformed, TruncatedChunkHeader) {
  SmfTrack track;
  track.end();
  std::vector<uint8_t> bytes = SmfFile().track(track).declared_tracks(2).bytes();
  const size_t second_chunk = bytes.size();
  bytes.insert(bytes.end(), {'M', 'T', 'r', 'k', 0});
  expect_format_error(bytes, second_chunk, "truncated chunk header");
}

TEST(MidiMalformed, ChunkLengthBeyondTheFile) {
  SmfTrack track;
  track.note_on(0, 0, 60, 80).note_off(10, 0, 60).end();
  std::vector<uint8_t> bytes = one_track_file(track);
  bytes[SmfFile::kHeaderSize + 4] = 0x10;  // MTrk length now about 268 MB
  expect_format_error(bytes, SmfFile::kHeaderSize + 4, "runs past the end of the file");
  // A truncated file: the MTrk length is right but its end is cut off.
  std::vector<uint8_t> cut = one_track_file(track);
  cut.resize(cut.size() - 3);
  expect_format_error(cut, SmfFile::kHeaderSize + 4, "runs past the end of the file");
}

TEST(MidiMalformed, ChunkLengthShorterThanTheTrack) {
  SmfTrack track;
  track.note_on(0, 0, 60, 80).note_off(10, 0, 60).end();  // 12 bytes: ... 00 FF 2F 00
  std::vector<uint8_t> bytes = one_track_file(track);
  bytes[SmfFile::kHeaderSize + 7] = 11;  // the chunk now ends before the length byte of end-of-track
  expect_format_error(bytes, kFirstTrackBody + 11, "truncated variable-length meta event length");
  bytes[SmfFile::kHeaderSize + 7] = 7;  // ... or in the middle of the note-off
  expect_format_error(bytes, kFirstTrackBody + 5, "truncated note-off event: needs 2 data bytes, 1 left");
}

TEST(MidiMalformed, GarbageWhereAChunkShouldBe) {
  std::vector<uint8_t> bytes = SmfFile().declared_tracks(1).bytes();
  bytes.insert(bytes.end(), {0x00, 0xFF, 0x13, 0x88, 0, 0, 0, 0});
  expect_format_error(bytes, SmfFile::kHeaderSize, "expected a chunk header");
}

TEST(MidiMalformed, VariableLengthQuantityOverFourBytes) {
  SmfTrack track;
  track.note_on(0, 0, 60, 80);
  const size_t bad = track.size();
  track.raw({0x81, 0x81, 0x81, 0x81, 0x00}).raw({0x80, 60, 0}).end();
  expect_format_error(one_track_file(track), kFirstTrackBody + bad, "longer than 4 bytes");
}

TEST(MidiMalformed, TruncatedVariableLengthQuantity) {
  SmfTrack track;
  track.note_on(0, 0, 60, 80);
  const size_t bad = track.size();
  track.raw({0x81, 0x82});
  expect_format_error(one_track_file(track), kFirstTrackBody + bad, "truncated variable-length delta-time");
}

TEST(MidiMalformed, DeltaTimeWithNoEvent) {
  SmfTrack track;
  track.note_on(0, 0, 60, 80);
  const size_t bad = track.size();
  track.delta(5);
  expect_format_error(one_track_file(track), kFirstTrackBody + bad, "with no event");
}

TEST(MidiMalformed, DataByteWithoutRunningStatus) {
  SmfTrack track;
  track.delta(0).raw({0x3C, 0x40}).end();
  expect_format_error(one_track_file(track), kFirstTrackBody + 1, "no running status");
}

TEST(MidiMalformed, TruncatedChannelMessage) {
  SmfTrack track;
  track.note_on(0, 0, 60, 80).delta(10);
  const size_t bad = track.size();
  track.raw({0x80, 60});
  expect_format_error(one_track_file(track), kFirstTrackBody + bad, "truncated note-off event");
}

TEST(MidiMalformed, StatusByteWhereDataIsExpected) {
  SmfTrack track;
  track.delta(0).raw({0x90, 0x3C});
  const size_t bad = track.size();
  track.raw({0x90, 0x00}).end();
  expect_format_error(one_track_file(track), kFirstTrackBody + bad, "expected a data byte");
}

TEST(MidiMalformed, SystemMessageInATrack) {
  SmfTrack track;
  track.delta(0);
  track.raw({0xF2, 0x00, 0x00}).end();
  expect_format_error(one_track_file(track), kFirstTrackBody + 1, "unexpected status byte 0xF2");
}

TEST(MidiMalformed, MetaAndSysexLengthsBeyondTheTrack) {
  SmfTrack meta;
  meta.note_on(0, 0, 60, 80).delta(0);
  const size_t meta_at = meta.size();
  meta.raw({0xFF, 0x01, 0x20, 'a', 'b'});
  expect_format_error(one_track_file(meta), kFirstTrackBody + meta_at, "meta event 0x01 length 32 runs past");

  SmfTrack sysex;
  sysex.delta(0);
  sysex.raw({0xF0, 0x83, 0x00, 0x01});
  expect_format_error(one_track_file(sysex), kFirstTrackBody + 1, "sysex length 384 runs past");

  SmfTrack no_type;
  no_type.delta(0).raw({0xFF});
  expect_format_error(one_track_file(no_type), kFirstTrackBody + 1, "truncated meta event");
}

TEST(MidiMalformed, BadTempoMeterAndKeyValues) {
  struct Case {
    std::vector<uint8_t> event;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {{0xFF, 0x51, 0x02, 0x07, 0xA1}, "tempo event has 2 data bytes"},
      {{0xFF, 0x51, 0x03, 0x00, 0x00, 0x00}, "tempo of 0"},
      {{0xFF, 0x58, 0x01, 0x04}, "time signature event has 1 data bytes"},
      {{0xFF, 0x58, 0x04, 0x00, 0x02, 24, 8}, "numerator 0"},
      {{0xFF, 0x58, 0x04, 0x04, 0x07, 24, 8}, "denominator 2^7"},
      {{0xFF, 0x59, 0x02, 0x08, 0x00}, "8 sharps"},
      {{0xFF, 0x59, 0x02, 0xF8, 0x00}, "-8 sharps"},
      {{0xFF, 0x59, 0x02, 0x00, 0x02}, "mode 2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.fragment);
    SmfTrack track;
    track.note_on(0, 0, 60, 80).delta(0);
    const size_t at = track.size();
    track.raw(c.event).end();
    expect_format_error(one_track_file(track), kFirstTrackBody + at, c.fragment);
  }
}

TEST(MidiMalformed, ErrorsInALaterTrackHaveFileOffsets) {
  SmfTrack good;
  good.note_on(0, 0, 60, 80).note_off(10, 0, 60).end();
  SmfFile file;
  file.track(good);
  const size_t second_body = file.size() + SmfFile::kChunkHeaderSize;
  SmfTrack bad;
  bad.note_on(0, 0, 60, 80).delta(3);
  const size_t at = bad.size();
  bad.raw({0xF4}).end();  // an undefined system common status
  file.track(bad);
  expect_format_error(file.bytes(), second_body + at, "unexpected status byte 0xF4");
}

}  // namespace
}  // namespace cadenza
