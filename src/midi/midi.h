// Standard MIDI File reading and writing.
//
// Reading (read_midi):
//   - SMF formats 0, 1 and 2. Format 2 tracks are read like format 1: every MTrk starts at tick 0 and its
//     tempo / meter / key events go into the Score's single global maps (a Score has one timeline).
//   - Score tracks are split per (MTrk, channel): every Track has one channel, is_drum = (channel == 9), the name
//     of its MTrk (first 0x03 track name, else first 0x04 instrument name) and the program in effect at its
//     first note: the last program change on that channel earlier in the same MTrk, else (formats 0/1) the
//     latest one at or before that tick in any other MTrk, else 0. Tracks are ordered by MTrk, then channel;
//     tracks without notes are dropped.
//   - Note-on with velocity 0 is a note-off. Overlapping notes of one pitch on one channel are paired first-in
//     first-out; notes never closed end at the end of their MTrk (end-of-track or last event).
//   - A note whose note-off comes at the tick of its note-on (a drum hit is often written so; also a note still
//     open at the very end of its MTrk) is kept and lasts one tick, the shortest duration the file can express
//     (Score::normalize); write_midi writes it so, and it reads back the same.
//   - SMPTE division (negative high byte): ticks_per_quarter = frames_per_second * ticks_per_frame and the tempo
//     map is one fixed tempo of 1,000,000 us per quarter (1,001,000 for 29.97 drop-frame), so one "quarter" is one
//     second of SMPTE time; tempo meta events in such files are ignored because SMPTE time does not follow them.
//   - Malformed bytes throw FormatError(name, byte_offset, problem): the offset is that of the item at fault
//     (the header field, the chunk header, the event or the variable-length quantity). Memory use is bounded by
//     a small multiple of the input size.
//
// Writing (write_midi) produces format 1: MTrk 0 is the conductor (time signatures, key signatures, tempos),
// then one MTrk per Track with its name, a program change at tick 0 and the notes (note-offs before note-ons at
// equal ticks, so repeated notes survive). A drum track (is_drum) is written on channel 10 whatever its channel
// says, since reading derives is_drum from channel 10. read_midi(write_midi(s)) == s for every Score that read_midi
// produces; tracks without notes are written but not read back, and overlapping same-pitch notes whose ends are
// not in the order of their starts are re-paired first-in first-out. Delta-times too long for one variable-length
// quantity (over 2^28 - 1 ticks) are bridged with empty text events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "score/score.h"

namespace cadenza {

struct MidiReadOptions {
  bool apply_sustain_pedal = false;  // extend notes held by CC64 until the pedal lifts
};

// read_midi_file refuses files larger than this (IoError) before reading them.
inline constexpr size_t kMaxMidiFileBytes = size_t(64) << 20;

// Parses SMF format 0/1/2 bytes. `name` is used in error messages. Throws FormatError("name: byte N: ...").
// Tracks of the Score are split per (MIDI track, channel) so that every Track has one channel and program.
Score read_midi(std::span<const uint8_t> bytes, const std::string& name, const MidiReadOptions& options = {});
// Reads a file (refusing absurd sizes) and parses it.
Score read_midi_file(const std::string& path, const MidiReadOptions& options = {});

// What the MThd chunk says, for tools that report on a file (`cadenza midi info`).
struct MidiFileInfo {
  int format = 1;                   // 0, 1 or 2
  int declared_tracks = 0;          // ntracks field of MThd
  bool smpte = false;               // division is SMPTE frames rather than ticks per quarter
  int ticks_per_quarter = 0;        // metrical division, or frames_per_second * ticks_per_frame for SMPTE
  int smpte_frames_per_second = 0;  // 24, 25, 29 (29.97 drop-frame) or 30 when smpte
  int smpte_ticks_per_frame = 0;
};
// Validates and decodes the MThd chunk only. Throws FormatError like read_midi.
MidiFileInfo read_midi_header(std::span<const uint8_t> bytes, const std::string& name);

// Writes a format-1 SMF: a conductor track with tempo, time and key signatures, then one track per Track
// with its name and program change. Throws Error if the Score breaks the invariants of score.h or cannot be
// expressed in SMF (ticks_per_quarter outside 1..32767, channel outside 0..15, more than 65534 tracks, ...).
std::vector<uint8_t> write_midi(const Score& score);
// Writes atomically.
void write_midi_file(const Score& score, const std::string& path);

}  // namespace cadenza
