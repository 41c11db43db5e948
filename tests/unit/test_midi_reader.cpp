// Reader behaviour on hand-built Standard MIDI Files (see test_midi_smf_builder.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/error.h"
#include "midi/midi.h"
#include "support/test_support.h"
#include "test_midi_smf_builder.h"

namespace cadenza {
namespace {

using testing::SmfFile;
using testing::SmfTrack;

Score parse(const SmfFile& file, const MidiReadOptions& options = {}) {
  return read_midi(file.bytes(), "fixture.mid", options);
}

Score parse_one_track(const SmfTrack& track, int format = 1, uint16_t division = 480,
                      const MidiReadOptions& options = {}) {
  return parse(SmfFile(format, division).track(track), options);
}

TEST(MidiReader, RunningStatusAndVelocityZeroNoteOff) {
  SmfTrack track;
  track
      .note_on(0, 0, 60, 100)  // sets running status 0x90
      .running(480, 60, 0)     // note-on velocity 0 = note-off
      .running(0, 64, 90)
      .running(240, 64, 0)
      .end();
  Score score = parse_one_track(track);
  ASSERT_EQ(score.tracks.size(), 1u);
  const auto& notes = score.tracks[0].notes;
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0], (Note{60, 100, 0, 480}));
  EXPECT_EQ(notes[1], (Note{64, 90, 480, 720}));
  EXPECT_EQ(score.ticks_per_quarter, 480);
  EXPECT_EQ(score.source, "fixture.mid");
}

TEST(MidiReader, TempoChangeMidPieceGivesExactSeconds) {
  SmfTrack conductor;
  conductor.tempo(0, 500000).tempo(960, 1000000).end();  // 120 qpm, then 60 qpm from beat 3
  SmfTrack music;
  music.note_on(0, 0, 60, 80).note_off(480, 0, 60).note_on(480, 0, 62, 80).note_off(480, 0, 62);
  music.note_on(0, 0, 64, 80).note_off(960, 0, 64).end();
  Score score = parse(SmfFile(1, 480).track(conductor).track(music));
  ASSERT_EQ(score.tempos.size(), 2u);
  EXPECT_EQ(score.tempos[1], (TempoChange{960, 1000000}));
  ASSERT_EQ(score.tracks.size(), 1u);
  const auto& notes = score.tracks[0].notes;
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_DOUBLE_EQ(notes[0].start_sec, 0.0);
  EXPECT_DOUBLE_EQ(notes[0].end_sec, 0.5);
  EXPECT_DOUBLE_EQ(notes[1].start_sec, 1.0);
  EXPECT_DOUBLE_EQ(notes[1].end_sec, 2.0);
  EXPECT_DOUBLE_EQ(notes[2].start_sec, 2.0);
  EXPECT_DOUBLE_EQ(notes[2].end_sec, 4.0);
}

TEST(MidiReader, TimeAndKeySignaturesFromAnyTrack) {
  SmfTrack conductor;
  conductor.time_signature(0, 3, 2).key_signature(0, 1, false).time_signature(1440, 6, 3).end();
  SmfTrack music;
  music.key_signature(0, -2, false).key_signature(2880, 1, true).note_on(0, 0, 60, 80).note_off(480, 0, 60).end();
  Score score = parse(SmfFile(1, 480).track(conductor).track(music));
  ASSERT_EQ(score.time_signatures.size(), 2u);
  EXPECT_EQ(score.time_signatures[0], (TimeSignature{0, 3, 4}));
  EXPECT_EQ(score.time_signatures[1], (TimeSignature{1440, 6, 8}));
  // Two key signatures at tick 0 (one per MTrk): the later one in file order wins, as normalize() documents.
  ASSERT_EQ(score.key_signatures.size(), 2u);
  EXPECT_EQ(score.key_signatures[0], (KeySignature{0, -2, false}));
  EXPECT_EQ(score.key_signatures[1], (KeySignature{2880, 1, true}));
  ASSERT_EQ(score.tempos.size(), 1u);  // no tempo event: the default 120 qpm
  EXPECT_EQ(score.tempos[0].microseconds_per_quarter, 500000);
}

TEST(MidiReader, SysexAndUnknownMetaEventsAreSkipped) {
  SmfTrack track;
  track.sysex(0, 0xF0, {0x7E, 0x7F, 0x09, 0x01, 0xF7})
      .text_meta(0, 0x01, "some text")
      .meta(0, 0x7F, {0x00, 0x00, 0x41, 0x01})  // sequencer-specific
      .meta(0, 0x60, {1, 2, 3})                 // undefined meta type
      .note_on(10, 0, 60, 100)
      .sysex(0, 0xF7, {0xF8})  // escape sequence
      .note_off(100, 0, 60)
      .text_meta(0, 0x06, "marker")
      .end();
  Score score = parse_one_track(track);
  ASSERT_EQ(score.tracks.size(), 1u);
  ASSERT_EQ(score.tracks[0].notes.size(), 1u);
  EXPECT_EQ(score.tracks[0].notes[0], (Note{60, 100, 10, 110}));
}

TEST(MidiReader, MetaAndSysexCancelRunningStatus) {
  for (bool use_sysex : {false, true}) {
    SmfTrack track;
    track.note_on(0, 0, 60, 100);
    if (use_sysex)
      track.sysex(0, 0xF0, {0x01, 0xF7});
    else
      track.text_meta(0, 0x01, "x");
    track.delta(10);
    const size_t data_offset = track.size();
    track.raw({60, 0}).end();
    try {
      parse_one_track(track);
      ADD_FAILURE() << "a data byte after a " << (use_sysex ? "sysex" : "meta") << " event was accepted";
    } catch (const FormatError& e) {
      EXPECT_EQ(e.offset(), static_cast<int64_t>(SmfFile::kHeaderSize + SmfFile::kChunkHeaderSize + data_offset));
      EXPECT_NE(e.problem().find("running status"), std::string::npos) << e.what();
    }
  }
}

TEST(MidiReader, UnknownChunksAreSkippedAndNotCountedAsTracks) {
  SmfTrack track;
  track.note_on(0, 0, 67, 70).note_off(96, 0, 67).end();
  SmfFile file(1, 96);
  file.chunk("XFIH", {0xDE, 0xAD, 0xBE, 0xEF, 0x00}).track(track).chunk("junk", {});
  Score score = parse(file);
  ASSERT_EQ(score.tracks.size(), 1u);
  EXPECT_EQ(score.tracks[0].notes[0], (Note{67, 70, 0, 96}));
  EXPECT_EQ(read_midi_header(file.bytes(), "fixture.mid").declared_tracks, 1);
}

TEST(MidiReader, FormatZeroWithTwoChannelsGivesTwoTracks) {
  SmfTrack track;
  track.name(0, "Piano").note_on(0, 3, 48, 60).note_on(0, 0, 72, 90).note_off(480, 0, 72).note_off(0, 3, 48).end();
  Score score = parse_one_track(track, 0);
  ASSERT_EQ(score.tracks.size(), 2u);
  EXPECT_EQ(score.tracks[0].channel, 0);  // ordered by channel within an MTrk
  EXPECT_EQ(score.tracks[0].notes[0].pitch, 72);
  EXPECT_EQ(score.tracks[1].channel, 3);
  EXPECT_EQ(score.tracks[1].notes[0].pitch, 48);
  EXPECT_EQ(score.tracks[0].name, "Piano");
  EXPECT_EQ(score.tracks[1].name, "Piano");
}

TEST(MidiReader, DrumsOnChannelTen) {
  SmfTrack track;
  track.note_on(0, 9, 36, 110).note_off(120, 9, 36).note_on(0, 1, 40, 50).note_off(120, 1, 40).end();
  Score score = parse_one_track(track, 0);
  ASSERT_EQ(score.tracks.size(), 2u);
  EXPECT_FALSE(score.tracks[0].is_drum);
  EXPECT_EQ(score.tracks[1].channel, 9);
  EXPECT_TRUE(score.tracks[1].is_drum);
}

TEST(MidiReader, ProgramIsTheOneInEffectAtTheFirstNote) {
  SmfTrack track;
  track.program(0, 0, 40)
      .program(0, 0, 41)  // the last change before the first note counts
      .note_on(0, 0, 60, 80)
      .program(0, 0, 73)  // same tick but after the note: too late
      .note_off(100, 0, 60)
      .note_on(0, 0, 62, 80)
      .note_off(100, 0, 62)
      .note_on(0, 2, 50, 80)  // channel 2 never gets a program change
      .note_off(10, 2, 50)
      .end();
  Score score = parse_one_track(track, 0);
  ASSERT_EQ(score.tracks.size(), 2u);
  EXPECT_EQ(score.tracks[0].program, 41);
  EXPECT_EQ(score.tracks[0].notes.size(), 2u);  // a later program change does not split the track
  EXPECT_EQ(score.tracks[1].program, 0);
}

TEST(MidiReader, ProgramFromAnotherTrackAppliesInFormatOneButNotFormatTwo) {
  SmfTrack conductor;
  conductor.program(0, 5, 24).program(1000, 5, 30).end();  // a conductor setting programs of channel 6
  SmfTrack music;
  music.note_on(500, 5, 60, 80).note_off(100, 5, 60).end();
  Score format1 = parse(SmfFile(1, 480).track(conductor).track(music));
  ASSERT_EQ(format1.tracks.size(), 1u);
  EXPECT_EQ(format1.tracks[0].program, 24);  // the change at tick 1000 comes after the first note (tick 500)
  Score format2 = parse(SmfFile(2, 480).track(conductor).track(music));
  ASSERT_EQ(format2.tracks.size(), 1u);
  EXPECT_EQ(format2.tracks[0].program, 0);
}

TEST(MidiReader, FormatTwoTracksEachStartAtTickZero) {
  SmfTrack first, second;
  first.name(0, "A").note_on(100, 0, 60, 80).note_off(100, 0, 60).end();
  second.name(0, "B").note_on(100, 0, 62, 80).note_off(100, 0, 62).end();
  Score score = parse(SmfFile(2, 480).track(first).track(second));
  ASSERT_EQ(score.tracks.size(), 2u);
  EXPECT_EQ(score.tracks[0].name, "A");
  EXPECT_EQ(score.tracks[1].name, "B");
  EXPECT_EQ(score.tracks[0].notes[0].start_tick, 100);
  EXPECT_EQ(score.tracks[1].notes[0].start_tick, 100);
}

TEST(MidiReader, TrackNameFallsBackToInstrumentName) {
  SmfTrack named, instrument_only;
  named.text_meta(0, 0x04, "Instrument").name(0, "Melody").name(0, "Second name").note_on(0, 0, 60, 80);
  named.note_off(10, 0, 60).end();
  instrument_only.text_meta(0, 0x04, "Fiddle").note_on(0, 1, 60, 80).note_off(10, 1, 60).end();
  Score score = parse(SmfFile(1, 480).track(named).track(instrument_only));
  ASSERT_EQ(score.tracks.size(), 2u);
  EXPECT_EQ(score.tracks[0].name, "Melody");
  EXPECT_EQ(score.tracks[1].name, "Fiddle");
}

TEST(MidiReader, TracksWithoutNotesAreDropped) {
  SmfTrack conductor, controllers_only, music;
  conductor.name(0, "Conductor").tempo(0, 400000).end();
  controllers_only.program(0, 4, 10).control(0, 4, 7, 100).end();
  music.name(0, "Tune").note_on(0, 0, 60, 80).note_off(10, 0, 60).end();
  Score score = parse(SmfFile(1, 480).track(conductor).track(controllers_only).track(music));
  ASSERT_EQ(score.tracks.size(), 1u);
  EXPECT_EQ(score.tracks[0].name, "Tune");
  EXPECT_EQ(score.tempos[0].microseconds_per_quarter, 400000);
}

TEST(MidiReader, OverlappingSamePitchNotesArePairedFirstInFirstOut) {
  SmfTrack track;
  track.note_on(0, 0, 60, 10).note_on(100, 0, 60, 20).note_off(100, 0, 60).note_off(100, 0, 60).end();
  Score score = parse_one_track(track);
  const auto& notes = score.tracks.at(0).notes;
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0], (Note{60, 10, 0, 200}));
  EXPECT_EQ(notes[1], (Note{60, 20, 100, 300}));
}

TEST(MidiReader, StrayNoteOffAndZeroLengthNotesAreIgnored) {
  SmfTrack track;
  track.note_off(0, 0, 61).note_on(0, 0, 62, 80).note_off(0, 0, 62).note_on(5, 0, 63, 80).note_off(5, 0, 63).end();
  Score score = parse_one_track(track);
  ASSERT_EQ(score.tracks.size(), 1u);
  ASSERT_EQ(score.tracks[0].notes.size(), 1u);
  EXPECT_EQ(score.tracks[0].notes[0], (Note{63, 80, 5, 10}));
}

TEST(MidiReader, UnclosedNotesEndAtTheTrackEnd) {
  SmfTrack with_end;
  with_end.note_on(0, 0, 60, 80).note_on(100, 0, 64, 80).note_off(100, 0, 64).end(760);  // end-of-track at 960
  Score score = parse_one_track(with_end);
  const auto& notes = score.tracks.at(0).notes;
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0], (Note{60, 80, 0, 960}));
  EXPECT_EQ(notes[1], (Note{64, 80, 100, 200}));

  SmfTrack without_end;  // no end-of-track event: tolerated, the last event ends the track
  without_end.note_on(0, 0, 60, 80).control(300, 0, 7, 100);
  Score tolerated = parse_one_track(without_end);
  ASSERT_EQ(tolerated.tracks.at(0).notes.size(), 1u);
  EXPECT_EQ(tolerated.tracks[0].notes[0].end_tick, 300);
}

TEST(MidiReader, SustainPedalExtendsReleasedNotesWhenAsked) {
  SmfTrack track;
  track
      .control(0, 0, 64, 127)  // pedal down
      .note_on(0, 0, 60, 80)
      .note_off(100, 0, 60)  // released at 100 under the pedal
      .note_on(0, 0, 64, 80)
      .note_off(100, 0, 64)  // released at 200, struck again at 300
      .note_on(100, 0, 64, 70)
      .note_off(50, 0, 64)    // released at 350 under the pedal
      .control(50, 0, 64, 0)  // pedal up at 400
      .note_on(0, 0, 67, 80)
      .note_off(100, 0, 67)  // pedal up: ends at its own release, 500
      .end();
  MidiReadOptions pedal;
  pedal.apply_sustain_pedal = true;
  Score held = parse_one_track(track, 1, 480, pedal);
  const auto& notes = held.tracks.at(0).notes;
  ASSERT_EQ(notes.size(), 4u);
  EXPECT_EQ(notes[0], (Note{60, 80, 0, 400}));
  EXPECT_EQ(notes[1], (Note{64, 80, 100, 300}));
  EXPECT_EQ(notes[2], (Note{64, 70, 300, 400}));
  EXPECT_EQ(notes[3], (Note{67, 80, 400, 500}));

  Score plain = parse_one_track(track);
  const auto& raw = plain.tracks.at(0).notes;
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(raw[0].end_tick, 100);
  EXPECT_EQ(raw[1].end_tick, 200);
  EXPECT_EQ(raw[2].end_tick, 350);
}

TEST(MidiReader, SustainPedalStillDownAtTheEndHoldsToTrackEnd) {
  SmfTrack track;
  track.control(0, 2, 64, 100).note_on(0, 2, 60, 80).note_off(10, 2, 60).end(90);
  MidiReadOptions pedal;
  pedal.apply_sustain_pedal = true;
  Score score = parse_one_track(track, 1, 480, pedal);
  EXPECT_EQ(score.tracks.at(0).notes.at(0).end_tick, 100);
}

TEST(MidiReader, SmpteDivisionUsesAFixedOneSecondQuarter) {
  // 25 fps, 40 ticks per frame: 1000 ticks per second.
  SmfTrack track;
  track
      .tempo(0, 300000)  // ignored: SMPTE time does not follow the tempo map
      .note_on(0, 0, 60, 80)
      .note_off(1000, 0, 60)
      .note_on(500, 0, 62, 80)
      .note_off(250, 0, 62)
      .end();
  Score score = parse_one_track(track, 0, static_cast<uint16_t>((uint8_t(-25) << 8) | 40));
  EXPECT_EQ(score.ticks_per_quarter, 1000);
  ASSERT_EQ(score.tempos.size(), 1u);
  EXPECT_EQ(score.tempos[0].microseconds_per_quarter, 1000000);
  const auto& notes = score.tracks.at(0).notes;
  EXPECT_DOUBLE_EQ(notes.at(0).end_sec, 1.0);
  EXPECT_DOUBLE_EQ(notes.at(1).start_sec, 1.5);
  EXPECT_DOUBLE_EQ(notes.at(1).end_sec, 1.75);

  // 29.97 drop-frame (written as 29), 4 ticks per frame: 7500 frames last 7500 / 29.97 = 250.25 s.
  SmfTrack long_note;
  long_note.note_on(0, 0, 60, 80).note_off(30000, 0, 60).end();
  Score ntsc = parse_one_track(long_note, 0, static_cast<uint16_t>((uint8_t(-29) << 8) | 4));
  EXPECT_EQ(ntsc.ticks_per_quarter, 120);
  EXPECT_NEAR(ntsc.tracks.at(0).notes.at(0).end_sec, 7500 / (30000.0 / 1001.0), 1e-9);
  MidiFileInfo info = read_midi_header(SmfFile(0, static_cast<uint16_t>((uint8_t(-29) << 8) | 4)).bytes(), "x");
  EXPECT_TRUE(info.smpte);
  EXPECT_EQ(info.smpte_frames_per_second, 29);
  EXPECT_EQ(info.smpte_ticks_per_frame, 4);
}

TEST(MidiReader, HeaderInfo) {
  SmfTrack track;
  track.end();
  MidiFileInfo info = read_midi_header(SmfFile(2, 96).track(track).track(track).bytes(), "x");
  EXPECT_EQ(info.format, 2);
  EXPECT_EQ(info.declared_tracks, 2);
  EXPECT_FALSE(info.smpte);
  EXPECT_EQ(info.ticks_per_quarter, 96);
}

TEST(MidiReader, LongerHeaderAndTrailingBytesAreTolerated) {
  SmfTrack track;
  track.note_on(0, 0, 60, 80).note_off(10, 0, 60).end().raw({0x00, 0x90});  // bytes after end-of-track
  std::vector<uint8_t> bytes = SmfFile(0, 480).track(track).bytes();
  bytes[7] = 8;  // MThd length 8: two extra header bytes the reader must skip
  bytes.insert(bytes.begin() + 14, {0xAA, 0xBB});
  bytes.insert(bytes.end(), {0x00, 0x01, 0x02});  // trailing garbage after the declared tracks
  Score score = read_midi(bytes, "x");
  ASSERT_EQ(score.tracks.size(), 1u);
  EXPECT_EQ(score.tracks[0].notes[0], (Note{60, 80, 0, 10}));
}

TEST(MidiReader, EveryChannelMessageIsParsedForItsLength) {
  SmfTrack track;
  track.delta(0)
      .raw({0xA0, 60, 10})  // poly aftertouch
      .delta(0)
      .raw({0xD0, 20})  // channel pressure (one data byte)
      .delta(0)
      .raw({0xE0, 0, 64})  // pitch bend
      .delta(0)
      .raw({0xC0, 5})  // program change (one data byte)
      .delta(0)
      .raw({0xB0, 7, 100})  // control change
      .note_on(0, 0, 60, 80)
      .delta(0)
      .raw({0xD0, 30})
      .delta(0)
      .raw({31})  // running status with a one-data-byte message
      .note_off(50, 0, 60)
      .end();
  Score score = parse_one_track(track);
  ASSERT_EQ(score.tracks.size(), 1u);
  EXPECT_EQ(score.tracks[0].program, 5);
  EXPECT_EQ(score.tracks[0].notes.at(0), (Note{60, 80, 0, 50}));
}

TEST(MidiReaderFile, RefusesFilesOverTheSizeLimit) {
  testing::TempDir dir;
  const std::string path = dir.file("huge.mid");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kMaxMidiFileBytes + 1)), 0);  // sparse: costs no disk
  ::close(fd);
  try {
    read_midi_file(path);
    ADD_FAILURE() << "a file over the limit was read";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("huge.mid"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("limit"), std::string::npos) << e.what();
  }
  EXPECT_THROW_WITH(read_midi_file(dir.file("missing.mid")), IoError, {dir.file("missing.mid"), "cannot open"});
}

}  // namespace
}  // namespace cadenza
