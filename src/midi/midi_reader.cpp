// Standard MIDI File reader: bytes -> Score. The policies (track split, note pairing, SMPTE) are described in
// midi.h; this file is the byte-level parser that enforces them.
#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <string_view>

#include "common/error.h"
#include "common/file_io.h"
#include "midi/midi.h"

namespace cadenza {

namespace {

constexpr int kChannels = 16;
constexpr int kPitches = 128;
constexpr int kDrumChannel = 9;
constexpr int kSustainController = 64;
constexpr int64_t kUnknownEnd = -1;  // a note released under the sustain pedal, waiting for its real end

std::string hex_byte(uint8_t value) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02X", value);
  return text;
}

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
uint16_t read_be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

const char* channel_message_name(uint8_t status) {
  switch (status & 0xF0) {
    case 0x80:
      return "note-off";
    case 0x90:
      return "note-on";
    case 0xA0:
      return "poly aftertouch";
    case 0xB0:
      return "control change";
    case 0xC0:
      return "program change";
    case 0xD0:
      return "channel pressure";
    default:
      return "pitch bend";
  }
}

int channel_message_data_bytes(uint8_t status) {
  uint8_t kind = status & 0xF0;
  return (kind == 0xC0 || kind == 0xD0) ? 1 : 2;
}

[[noreturn]] void fail(const std::string& name, size_t offset, const std::string& problem) {
  throw FormatError(name, static_cast<int64_t>(offset), problem);
}

// Decodes MThd; `header_end` receives the offset just past the MThd chunk.
MidiFileInfo parse_header(std::span<const uint8_t> bytes, const std::string& name, size_t* header_end) {
  const size_t size = bytes.size();
  if (size < 4 || std::string_view(reinterpret_cast<const char*>(bytes.data()), 4) != "MThd")
    fail(name, 0, "not a Standard MIDI File (no MThd header)");
  if (size < 14) fail(name, 0, "truncated MThd header (" + std::to_string(size) + " of 14 bytes)");
  uint32_t length = read_be32(bytes.data() + 4);
  if (length < 6) fail(name, 4, "MThd length " + std::to_string(length) + " is less than 6");
  if (length > size - 8)
    fail(name, 4,
         "MThd length " + std::to_string(length) + " runs past the end of the file (" + std::to_string(size) +
             " bytes)");
  MidiFileInfo info;
  info.format = read_be16(bytes.data() + 8);
  if (info.format > 2) fail(name, 8, "unsupported SMF format " + std::to_string(info.format) + " (expected 0, 1 or 2)");
  info.declared_tracks = read_be16(bytes.data() + 10);
  const uint8_t division_high = bytes[12];
  const uint8_t division_low = bytes[13];
  if (division_high & 0x80) {
    info.smpte = true;
    info.smpte_frames_per_second = -static_cast<int8_t>(division_high);
    info.smpte_ticks_per_frame = division_low;
    int fps = info.smpte_frames_per_second;
    if (fps != 24 && fps != 25 && fps != 29 && fps != 30)
      fail(name, 12, "SMPTE division with " + std::to_string(fps) + " frames per second (expected 24, 25, 29 or 30)");
    if (info.smpte_ticks_per_frame == 0) fail(name, 12, "SMPTE division with 0 ticks per frame");
    // 29 stands for 29.97 drop-frame: 30 frames of ticks with a tempo 1.001 times slower (see fixed_smpte_tempo).
    info.ticks_per_quarter = (fps == 29 ? 30 : fps) * info.smpte_ticks_per_frame;
  } else {
    info.ticks_per_quarter = (division_high << 8) | division_low;
    if (info.ticks_per_quarter == 0) fail(name, 12, "division of 0 ticks per quarter note");
  }
  *header_end = 8 + static_cast<size_t>(length);
  // Every MTrk takes at least its 8-byte chunk header: a count the rest of the file cannot hold is garbage.
  const size_t remaining = size - *header_end;
  if (static_cast<size_t>(info.declared_tracks) * 8 > remaining)
    fail(name, 10,
         "header declares " + std::to_string(info.declared_tracks) + " tracks but only " + std::to_string(remaining) +
             " bytes follow the header");
  return info;
}

// One microsecond tempo per "quarter" of SMPTE ticks so that a quarter lasts exactly one second of SMPTE time.
int32_t fixed_smpte_tempo(const MidiFileInfo& info) {
  return info.smpte_frames_per_second == 29 ? 1'001'000 : 1'000'000;
}

struct PendingNote {
  int64_t start_tick;
  int velocity;
};

// Notes of one (MTrk, channel) while its MTrk is being parsed.
struct ChannelNotes {
  std::vector<Note> notes;  // end_tick == kUnknownEnd while held by the sustain pedal
  // Per pitch, notes struck and not yet released, oldest first (FIFO pairing); `pending_head` skips the
  // released ones so that pops are O(1).
  std::array<std::vector<PendingNote>, kPitches> pending;
  std::array<size_t, kPitches> pending_head{};
  // Per pitch, indexes into `notes` released while the pedal was down.
  std::array<std::vector<size_t>, kPitches> sustained;
  bool pedal_down = false;
  int64_t first_note_tick = -1;
  int program_at_first_note = -1;  // -1: no program change on this channel earlier in the MTrk
};

struct ProgramChange {
  int64_t tick;
  uint64_t sequence;  // global event order: MTrk order, then stream order
  int mtrk;
  int program;
};

// Notes of a finished (MTrk, channel), before tracks are assembled.
struct ParsedChannel {
  int mtrk;
  int channel;
  std::string name;
  int program;  // -1 until resolved
  int64_t first_note_tick;
  std::vector<Note> notes;
};

class MidiParser {
 public:
  MidiParser(std::span<const uint8_t> bytes, const std::string& name, const MidiReadOptions& options)
      : bytes_(bytes), name_(name), options_(options) {}

  Score parse() {
    size_t position = 0;
    info_ = parse_header(bytes_, name_, &position);
    int tracks_found = 0;
    while (tracks_found < info_.declared_tracks) {
      const size_t size = bytes_.size();
      if (position >= size)
        fail(name_, size,
             "file ends after " + std::to_string(tracks_found) + " of the " + std::to_string(info_.declared_tracks) +
                 " declared tracks");
      if (size - position < 8)
        fail(name_, position, "truncated chunk header (" + std::to_string(size - position) + " bytes left, 8 needed)");
      const uint8_t* header = bytes_.data() + position;
      bool printable = std::all_of(header, header + 4, [](uint8_t c) { return c >= 0x20 && c < 0x7F; });
      if (!printable)
        fail(name_, position,
             "expected a chunk header, found bytes " + hex_byte(header[0]) + " " + hex_byte(header[1]) + " " +
                 hex_byte(header[2]) + " " + hex_byte(header[3]));
      const uint32_t length = read_be32(header + 4);
      if (length > size - position - 8)
        fail(name_, position + 4,
             "chunk length " + std::to_string(length) + " runs past the end of the file (" +
                 std::to_string(size - position - 8) + " bytes left)");
      const size_t data_begin = position + 8;
      if (std::string_view(reinterpret_cast<const char*>(header), 4) == "MTrk") {
        parse_track(data_begin, data_begin + length, tracks_found);
        ++tracks_found;
      }  // any other chunk type is skipped, as the SMF specification asks
      position = data_begin + length;
    }
    return assemble();
  }

 private:
  uint32_t read_vlq(size_t& position, size_t end, const char* what) const {
    const size_t start = position;
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      if (position >= end) fail(name_, start, std::string("truncated variable-length ") + what);
      const uint8_t byte = bytes_[position++];
      value = (value << 7) | (byte & 0x7F);
      if ((byte & 0x80) == 0) return value;
    }
    fail(name_, start, std::string("variable-length ") + what + " longer than 4 bytes");
  }

  ChannelNotes& channel_notes(std::array<std::unique_ptr<ChannelNotes>, kChannels>& channels, int channel) {
    if (!channels[channel]) channels[channel] = std::make_unique<ChannelNotes>();
    return *channels[channel];
  }

  void parse_track(size_t begin, size_t end, int mtrk) {
    std::array<std::unique_ptr<ChannelNotes>, kChannels> channels;
    std::array<int, kChannels> current_program;
    current_program.fill(-1);
    std::string track_name, instrument_name;
    bool has_track_name = false, has_instrument_name = false;
    int64_t tick = 0;
    uint8_t running_status = 0;
    size_t position = begin;

    while (position < end) {
      const size_t delta_offset = position;
      tick += read_vlq(position, end, "delta-time");
      if (position >= end) fail(name_, delta_offset, "track ends after a delta-time, with no event");
      const size_t event_offset = position;
      const uint8_t lead = bytes_[position];
      const uint64_t sequence = sequence_++;

      if (lead == 0xFF) {  // meta event; cancels running status
        running_status = 0;
        ++position;
        if (position >= end) fail(name_, event_offset, "truncated meta event (no type byte)");
        const uint8_t type = bytes_[position++];
        const uint32_t length = read_vlq(position, end, "meta event length");
        if (length > end - position)
          fail(name_, event_offset,
               "meta event " + hex_byte(type) + " length " + std::to_string(length) +
                   " runs past the end of the track (" + std::to_string(end - position) + " bytes left)");
        const uint8_t* data = bytes_.data() + position;
        position += length;
        if (type == 0x2F) break;  // end of track: anything after it in the chunk is ignored
        handle_meta(type, data, length, tick, event_offset, track_name, has_track_name, instrument_name,
                    has_instrument_name);
        continue;
      }
      if (lead == 0xF0 || lead == 0xF7) {  // sysex or escape: VLQ length, then skipped; cancels running status
        running_status = 0;
        ++position;
        const uint32_t length = read_vlq(position, end, "sysex length");
        if (length > end - position)
          fail(name_, event_offset,
               "sysex length " + std::to_string(length) + " runs past the end of the track (" +
                   std::to_string(end - position) + " bytes left)");
        position += length;
        continue;
      }
      if (lead > 0xF0) fail(name_, event_offset, "unexpected status byte " + hex_byte(lead) + " in a track");

      uint8_t status;
      if (lead & 0x80) {
        status = lead;
        running_status = lead;
        ++position;
      } else {
        if (running_status == 0)
          fail(name_, event_offset, "data byte " + hex_byte(lead) + " with no running status in effect");
        status = running_status;
      }
      const int needed = channel_message_data_bytes(status);
      if (end - position < static_cast<size_t>(needed))
        fail(name_, event_offset,
             std::string("truncated ") + channel_message_name(status) + " event: needs " + std::to_string(needed) +
                 " data bytes, " + std::to_string(end - position) + " left in the track");
      for (int i = 0; i < needed; ++i)
        if (bytes_[position + i] & 0x80)
          fail(name_, position + i,
               std::string("expected a data byte (0..127) in a ") + channel_message_name(status) + " event, found " +
                   hex_byte(bytes_[position + i]));
      const int data1 = bytes_[position];
      const int data2 = needed == 2 ? bytes_[position + 1] : 0;
      position += needed;
      const int channel = status & 0x0F;

      switch (status & 0xF0) {
        case 0x90:
          if (data2 > 0) {
            note_on(channel_notes(channels, channel), data1, data2, tick, current_program[channel]);
            break;
          }
          [[fallthrough]];  // note-on with velocity 0 is a note-off
        case 0x80:
          if (channels[channel]) note_off(*channels[channel], data1, tick);
          break;
        case 0xB0:
          if (data1 == kSustainController && options_.apply_sustain_pedal)
            sustain_pedal(channel_notes(channels, channel), data2 >= 64, tick);
          break;
        case 0xC0:
          current_program[channel] = data1;
          program_changes_[channel].push_back({tick, sequence, mtrk, data1});
          break;
        default:  // aftertouch, channel pressure, pitch bend: parsed for their length, not kept by the Score
          break;
      }
    }

    // Notes never released (or still held by the pedal) end where the track ends: its last event.
    const int64_t track_end = tick;
    const std::string& name = has_track_name ? track_name : instrument_name;
    for (int channel = 0; channel < kChannels; ++channel) {
      if (!channels[channel]) continue;
      ChannelNotes& state = *channels[channel];
      for (auto& note : state.notes)
        if (note.end_tick == kUnknownEnd) note.end_tick = track_end;
      for (int pitch = 0; pitch < kPitches; ++pitch) {
        const auto& queue = state.pending[pitch];
        for (size_t i = state.pending_head[pitch]; i < queue.size(); ++i)
          state.notes.push_back({pitch, queue[i].velocity, queue[i].start_tick, track_end});
      }
      if (state.first_note_tick < 0) continue;  // only controllers on this channel
      channels_.push_back(
          {mtrk, channel, name, state.program_at_first_note, state.first_note_tick, std::move(state.notes)});
    }
  }

  void handle_meta(uint8_t type, const uint8_t* data, uint32_t length, int64_t tick, size_t event_offset,
                   std::string& track_name, bool& has_track_name, std::string& instrument_name,
                   bool& has_instrument_name) {
    switch (type) {
      case 0x51: {
        if (length < 3)
          fail(name_, event_offset, "tempo event has " + std::to_string(length) + " data bytes, 3 needed");
        const int32_t microseconds = static_cast<int32_t>((data[0] << 16) | (data[1] << 8) | data[2]);
        if (microseconds == 0) fail(name_, event_offset, "tempo of 0 microseconds per quarter note");
        if (!info_.smpte) tempos_.push_back({tick, microseconds});  // SMPTE time does not follow tempo events
        break;
      }
      case 0x58: {
        if (length < 2)
          fail(name_, event_offset, "time signature event has " + std::to_string(length) + " data bytes, 4 needed");
        if (data[0] == 0) fail(name_, event_offset, "time signature with numerator 0");
        if (data[1] > 6)
          fail(name_, event_offset,
               "time signature denominator 2^" + std::to_string(data[1]) + " is beyond the supported 1/64");
        time_signatures_.push_back({tick, data[0], 1 << data[1]});
        break;
      }
      case 0x59: {
        if (length < 2)
          fail(name_, event_offset, "key signature event has " + std::to_string(length) + " data bytes, 2 needed");
        const int sharps = static_cast<int8_t>(data[0]);
        if (sharps < -7 || sharps > 7)
          fail(name_, event_offset, "key signature with " + std::to_string(sharps) + " sharps (expected -7..7)");
        if (data[1] > 1)
          fail(name_, event_offset, "key signature mode " + std::to_string(data[1]) + " (expected 0 major, 1 minor)");
        key_signatures_.push_back({tick, sharps, data[1] == 1});
        break;
      }
      case 0x03:
        if (!has_track_name) {
          track_name.assign(reinterpret_cast<const char*>(data), length);
          has_track_name = true;
        }
        break;
      case 0x04:
        if (!has_instrument_name) {
          instrument_name.assign(reinterpret_cast<const char*>(data), length);
          has_instrument_name = true;
        }
        break;
      default:  // text, lyrics, markers, sequencer-specific, unknown: skipped
        break;
    }
  }

  void note_on(ChannelNotes& state, int pitch, int velocity, int64_t tick, int program) {
    if (state.first_note_tick < 0) {
      state.first_note_tick = tick;
      state.program_at_first_note = program;
    }
    // Striking a pitch again ends the notes of that pitch that only the pedal was still holding.
    auto& held = state.sustained[pitch];
    for (size_t index : held) state.notes[index].end_tick = tick;
    held.clear();
    state.pending[pitch].push_back({tick, velocity});
  }

  void note_off(ChannelNotes& state, int pitch, int64_t tick) {
    auto& queue = state.pending[pitch];
    size_t& head = state.pending_head[pitch];
    if (head >= queue.size()) return;  // a note-off with no sounding note: nothing to close
    const PendingNote pending = queue[head++];
    if (head == queue.size()) {
      queue.clear();
      head = 0;
    }
    if (state.pedal_down) {
      state.sustained[pitch].push_back(state.notes.size());
      state.notes.push_back({pitch, pending.velocity, pending.start_tick, kUnknownEnd});
    } else {
      state.notes.push_back({pitch, pending.velocity, pending.start_tick, tick});
    }
  }

  void sustain_pedal(ChannelNotes& state, bool down, int64_t tick) {
    state.pedal_down = down;
    if (down) return;
    for (auto& held : state.sustained) {
      for (size_t index : held) state.notes[index].end_tick = tick;
      held.clear();
    }
  }

  // The program at a track's first note when its own MTrk set none: the latest program change on that channel
  // at or before that tick in another MTrk (formats 0/1 share one channel space; format 2 tracks are
  // independent), else 0.
  int program_from_other_tracks(const ParsedChannel& parsed) const {
    if (info_.format == 2) return 0;
    const auto& changes = program_changes_[parsed.channel];  // sorted by (tick, sequence)
    auto it = std::upper_bound(changes.begin(), changes.end(), parsed.first_note_tick,
                               [](int64_t tick, const ProgramChange& change) { return tick < change.tick; });
    while (it != changes.begin()) {
      --it;
      if (it->mtrk != parsed.mtrk) return it->program;
    }
    return 0;
  }

  Score assemble() {
    for (auto& changes : program_changes_)
      std::stable_sort(changes.begin(), changes.end(),
                       [](const ProgramChange& a, const ProgramChange& b) { return a.tick < b.tick; });
    Score score;
    score.source = name_;
    score.ticks_per_quarter = info_.ticks_per_quarter;
    score.tempos = std::move(tempos_);
    if (info_.smpte) score.tempos = {TempoChange{0, fixed_smpte_tempo(info_)}};
    score.time_signatures = std::move(time_signatures_);
    score.key_signatures = std::move(key_signatures_);
    // channels_ is already in (MTrk, channel) order.
    score.tracks.reserve(channels_.size());
    for (auto& parsed : channels_) {
      Track track;
      track.name = parsed.name;
      track.channel = parsed.channel;
      track.is_drum = parsed.channel == kDrumChannel;
      track.program = parsed.program >= 0 ? parsed.program : program_from_other_tracks(parsed);
      track.notes = std::move(parsed.notes);
      score.tracks.push_back(std::move(track));
    }
    score.normalize();  // sorts, gives zero-length notes one tick, fills default tempo / meter, computes seconds
    std::erase_if(score.tracks, [](const Track& track) { return track.notes.empty(); });
    return score;
  }

  std::span<const uint8_t> bytes_;
  const std::string& name_;
  const MidiReadOptions& options_;
  MidiFileInfo info_;
  uint64_t sequence_ = 0;
  std::vector<TempoChange> tempos_;
  std::vector<TimeSignature> time_signatures_;
  std::vector<KeySignature> key_signatures_;
  std::array<std::vector<ProgramChange>, kChannels> program_changes_;
  std::vector<ParsedChannel> channels_;
};

}  // namespace

MidiFileInfo read_midi_header(std::span<const uint8_t> bytes, const std::string& name) {
  size_t header_end = 0;
  return parse_header(bytes, name, &header_end);
}

Score read_midi(std::span<const uint8_t> bytes, const std::string& name, const MidiReadOptions& options) {
  return MidiParser(bytes, name, options).parse();
}

Score read_midi_file(const std::string& path, const MidiReadOptions& options) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, kMaxMidiFileBytes);
  return read_midi(bytes, path, options);
}

}  // namespace cadenza
