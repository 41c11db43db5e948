// Standard MIDI File writer: Score -> format-1 bytes that read_midi turns back into the same Score.
#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "common/file_io.h"
#include "midi/midi.h"

namespace cadenza {

namespace {

constexpr uint32_t kMaxDelta = 0x0FFFFFFF;  // the largest 4-byte variable-length quantity
constexpr int kDrumChannel = 9;
constexpr int kReleaseVelocity = 64;  // the customary "no release velocity" value of note-off

// `describe` builds the message only on failure: these checks run once per note.
template <typename Describe>
void require(bool condition, Describe&& describe) {
  if (!condition) throw Error("cannot write MIDI: " + std::string(describe()));
}

// Bytes of one MTrk chunk body, with delta-times and running status handled.
class TrackBuilder {
 public:
  void meta(int64_t tick, uint8_t type, const uint8_t* data, size_t length) {
    advance_to(tick);
    bytes_.push_back(0xFF);
    bytes_.push_back(type);
    require(length <= kMaxDelta, [&] { return "meta event of " + std::to_string(length) + " bytes is too long"; });
    put_vlq(static_cast<uint32_t>(length));
    bytes_.insert(bytes_.end(), data, data + length);
    running_status_ = 0;  // meta events cancel running status
  }

  void channel_message(int64_t tick, uint8_t status, uint8_t data1) {
    put_status(tick, status);
    bytes_.push_back(data1);
  }
  void channel_message(int64_t tick, uint8_t status, uint8_t data1, uint8_t data2) {
    put_status(tick, status);
    bytes_.push_back(data1);
    bytes_.push_back(data2);
  }

  void end_of_track(int64_t tick) { meta(tick, 0x2F, nullptr, 0); }

  // Appends the finished chunk ("MTrk", length, body) to `out`.
  void append_chunk(std::vector<uint8_t>& out) const {
    require(bytes_.size() <= 0xFFFFFFFFu, [&] { return "a track is longer than 4 GiB"; });
    const uint32_t length = static_cast<uint32_t>(bytes_.size());
    const uint8_t header[8] = {
        'M', 'T', 'r', 'k', uint8_t(length >> 24), uint8_t(length >> 16), uint8_t(length >> 8), uint8_t(length)};
    out.insert(out.end(), header, header + 8);
    out.insert(out.end(), bytes_.begin(), bytes_.end());
  }

 private:
  void put_status(int64_t tick, uint8_t status) {
    advance_to(tick);
    if (status != running_status_) bytes_.push_back(status);
    running_status_ = status;
  }

  void advance_to(int64_t tick) {
    require(tick >= last_tick_, [&] { return "events out of order"; });
    int64_t delta = tick - last_tick_;
    // A gap longer than one delta-time can carry is bridged with empty text events, which readers skip.
    if (delta > kMaxDelta) {
      static constexpr uint8_t kFiller[7] = {0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0x01, 0x00};  // delta 2^28-1, FF 01 00
      const auto fillers = static_cast<size_t>((delta - 1) / kMaxDelta);  // leaves 1..kMaxDelta for the event
      const size_t at = bytes_.size();
      bytes_.resize(at + fillers * sizeof kFiller);
      for (size_t i = 0; i < fillers; ++i)
        std::memcpy(bytes_.data() + at + i * sizeof kFiller, kFiller, sizeof kFiller);
      delta -= static_cast<int64_t>(fillers) * kMaxDelta;
      running_status_ = 0;
    }
    put_vlq(static_cast<uint32_t>(delta));
    last_tick_ = tick;
  }

  void put_vlq(uint32_t value) {
    uint8_t groups[4];
    int count = 0;
    do {
      groups[count++] = value & 0x7F;
      value >>= 7;
    } while (value != 0 && count < 4);
    for (int i = count - 1; i >= 0; --i) bytes_.push_back(i > 0 ? (groups[i] | 0x80) : groups[i]);
  }

  std::vector<uint8_t> bytes_;
  int64_t last_tick_ = 0;
  uint8_t running_status_ = 0;
};

void write_conductor(const Score& score, std::vector<uint8_t>& out) {
  struct MetaEvent {
    int64_t tick;
    uint8_t type;
    uint8_t data[4];
    uint8_t length;
  };
  std::vector<MetaEvent> events;
  for (const auto& signature : score.time_signatures) {
    require(signature.tick >= 0, [&] { return "time signature at negative tick " + std::to_string(signature.tick); });
    require(signature.numerator >= 1 && signature.numerator <= 255,
            [&] { return "time signature numerator " + std::to_string(signature.numerator) + " outside 1..255"; });
    int exponent = 0;
    while (exponent <= 6 && (1 << exponent) != signature.denominator) ++exponent;
    require(exponent <= 6, [&] {
      return "time signature denominator " + std::to_string(signature.denominator) +
             " is not a power of two from 1 to 64";
    });
    // 24 MIDI clocks per metronome click and 8 32nd notes per quarter: the customary values.
    events.push_back({signature.tick, 0x58, {uint8_t(signature.numerator), uint8_t(exponent), 24, 8}, 4});
  }
  for (const auto& key : score.key_signatures) {
    require(key.tick >= 0, [&] { return "key signature at negative tick " + std::to_string(key.tick); });
    require(key.sharps >= -7 && key.sharps <= 7,
            [&] { return "key signature with " + std::to_string(key.sharps) + " sharps"; });
    events.push_back({key.tick, 0x59, {uint8_t(int8_t(key.sharps)), uint8_t(key.minor ? 1 : 0), 0, 0}, 2});
  }
  for (const auto& tempo : score.tempos) {
    require(tempo.tick >= 0, [&] { return "tempo change at negative tick " + std::to_string(tempo.tick); });
    const int32_t us = tempo.microseconds_per_quarter;
    require(us >= 1 && us <= 0xFFFFFF, [&] { return "tempo of " + std::to_string(us) + " microseconds per quarter"; });
    events.push_back({tempo.tick, 0x51, {uint8_t(us >> 16), uint8_t(us >> 8), uint8_t(us), 0}, 3});
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const MetaEvent& a, const MetaEvent& b) { return a.tick < b.tick; });
  TrackBuilder conductor;
  int64_t end = 0;
  for (const auto& event : events) {
    conductor.meta(event.tick, event.type, event.data, event.length);
    end = event.tick;
  }
  conductor.end_of_track(end);
  conductor.append_chunk(out);
}

void write_note_track(const Track& track, size_t index, std::vector<uint8_t>& out) {
  const std::string where = "track " + std::to_string(index) + " ('" + track.name + "')";
  require(track.channel >= 0 && track.channel <= 15,
          [&] { return where + ": channel " + std::to_string(track.channel) + " outside 0..15"; });
  require(track.program >= 0 && track.program <= 127,
          [&] { return where + ": program " + std::to_string(track.program) + " outside 0..127"; });
  // The reader derives is_drum from channel 10, so a drum track goes there whatever channel it names.
  const uint8_t channel = static_cast<uint8_t>(track.is_drum ? kDrumChannel : track.channel);

  // Notes in the Score's canonical order; with same-pitch notes sorted by start then end, first-in first-out
  // pairing on reading matches every note-off with its own note-on.
  std::vector<const Note*> notes;
  notes.reserve(track.notes.size());
  for (const auto& note : track.notes) {
    require(note.pitch >= 0 && note.pitch <= 127,
            [&] { return where + ": pitch " + std::to_string(note.pitch) + " outside 0..127"; });
    require(note.velocity >= 1 && note.velocity <= 127,
            [&] { return where + ": velocity " + std::to_string(note.velocity) + " outside 1..127"; });
    require(note.start_tick >= 0 && note.start_tick < note.end_tick, [&] {
      return where + ": note with ticks [" + std::to_string(note.start_tick) + ", " + std::to_string(note.end_tick) +
             ") is empty or negative";
    });
    notes.push_back(&note);
  }
  std::stable_sort(notes.begin(), notes.end(), [](const Note* a, const Note* b) {
    if (a->start_tick != b->start_tick) return a->start_tick < b->start_tick;
    if (a->pitch != b->pitch) return a->pitch < b->pitch;
    if (a->end_tick != b->end_tick) return a->end_tick < b->end_tick;
    return a->velocity < b->velocity;
  });

  struct NoteEvent {
    int64_t tick;
    bool on;
    const Note* note;
  };
  std::vector<NoteEvent> events;
  events.reserve(notes.size() * 2);
  for (const Note* note : notes) {
    events.push_back({note->start_tick, true, note});
    events.push_back({note->end_tick, false, note});
  }
  // At equal ticks note-offs go first, so that a note repeated at the tick the previous one ends stays two notes.
  std::stable_sort(events.begin(), events.end(), [](const NoteEvent& a, const NoteEvent& b) {
    if (a.tick != b.tick) return a.tick < b.tick;
    return !a.on && b.on;
  });

  TrackBuilder builder;
  if (!track.name.empty())
    builder.meta(0, 0x03, reinterpret_cast<const uint8_t*>(track.name.data()), track.name.size());
  builder.channel_message(0, 0xC0 | channel, static_cast<uint8_t>(track.program));
  int64_t end = 0;
  for (const auto& event : events) {
    if (event.on)
      builder.channel_message(event.tick, 0x90 | channel, uint8_t(event.note->pitch), uint8_t(event.note->velocity));
    else
      builder.channel_message(event.tick, 0x80 | channel, uint8_t(event.note->pitch), kReleaseVelocity);
    end = event.tick;
  }
  builder.end_of_track(end);
  builder.append_chunk(out);
}

}  // namespace

std::vector<uint8_t> write_midi(const Score& score) {
  require(score.ticks_per_quarter >= 1 && score.ticks_per_quarter <= 0x7FFF,
          [&] { return "ticks_per_quarter " + std::to_string(score.ticks_per_quarter) + " outside 1..32767"; });
  require(score.tracks.size() <= 0xFFFE,
          [&] { return std::to_string(score.tracks.size()) + " tracks (at most 65534 fit in SMF)"; });
  const size_t mtrk_count = score.tracks.size() + 1;
  std::vector<uint8_t> out = {'M',
                              'T',
                              'h',
                              'd',
                              0,
                              0,
                              0,
                              6,
                              0,
                              1,
                              uint8_t(mtrk_count >> 8),
                              uint8_t(mtrk_count),
                              uint8_t(score.ticks_per_quarter >> 8),
                              uint8_t(score.ticks_per_quarter)};
  size_t note_total = score.note_count();
  out.reserve(64 + note_total * 8);
  write_conductor(score, out);
  for (size_t i = 0; i < score.tracks.size(); ++i) write_note_track(score.tracks[i], i, out);
  return out;
}

void write_midi_file(const Score& score, const std::string& path) {
  write_file_atomic(path, write_midi(score));
}

}  // namespace cadenza
