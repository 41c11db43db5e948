// A tiny Standard MIDI File builder for the MIDI unit tests: fixtures are written byte by byte in the test
// itself, so every test states exactly which bytes it feeds the reader and can compute error offsets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace cadenza::testing {

inline std::vector<uint8_t> vlq_bytes(uint32_t value) {
  std::vector<uint8_t> groups;
  do {
    groups.insert(groups.begin(), static_cast<uint8_t>(value & 0x7F));
    value >>= 7;
  } while (value != 0);
  for (size_t i = 0; i + 1 < groups.size(); ++i) groups[i] |= 0x80;
  return groups;
}

// The body of one MTrk chunk. Every event method takes the delta-time first.
class SmfTrack {
 public:
  SmfTrack& raw(std::initializer_list<uint8_t> bytes) {
    body.insert(body.end(), bytes);
    return *this;
  }
  SmfTrack& raw(const std::vector<uint8_t>& bytes) {
    body.insert(body.end(), bytes.begin(), bytes.end());
    return *this;
  }
  SmfTrack& delta(uint32_t ticks) { return raw(vlq_bytes(ticks)); }

  SmfTrack& note_on(uint32_t ticks, int channel, int pitch, int velocity) {
    return delta(ticks).raw({uint8_t(0x90 | channel), uint8_t(pitch), uint8_t(velocity)});
  }
  SmfTrack& note_off(uint32_t ticks, int channel, int pitch, int velocity = 64) {
    return delta(ticks).raw({uint8_t(0x80 | channel), uint8_t(pitch), uint8_t(velocity)});
  }
  // Data bytes only: the reader must apply the running status.
  SmfTrack& running(uint32_t ticks, int data1, int data2) { return delta(ticks).raw({uint8_t(data1), uint8_t(data2)}); }
  SmfTrack& program(uint32_t ticks, int channel, int program) {
    return delta(ticks).raw({uint8_t(0xC0 | channel), uint8_t(program)});
  }
  SmfTrack& control(uint32_t ticks, int channel, int controller, int value) {
    return delta(ticks).raw({uint8_t(0xB0 | channel), uint8_t(controller), uint8_t(value)});
  }
  SmfTrack& meta(uint32_t ticks, uint8_t type, const std::vector<uint8_t>& data) {
    delta(ticks).raw({0xFF, type}).raw(vlq_bytes(static_cast<uint32_t>(data.size())));
    return raw(data);
  }
  SmfTrack& tempo(uint32_t ticks, uint32_t microseconds_per_quarter) {
    return meta(ticks, 0x51,
                {uint8_t(microseconds_per_quarter >> 16), uint8_t(microseconds_per_quarter >> 8),
                 uint8_t(microseconds_per_quarter)});
  }
  SmfTrack& time_signature(uint32_t ticks, int numerator, int denominator_power) {
    return meta(ticks, 0x58, {uint8_t(numerator), uint8_t(denominator_power), 24, 8});
  }
  SmfTrack& key_signature(uint32_t ticks, int sharps, bool minor) {
    return meta(ticks, 0x59, {uint8_t(int8_t(sharps)), uint8_t(minor ? 1 : 0)});
  }
  SmfTrack& text_meta(uint32_t ticks, uint8_t type, const std::string& text) {
    return meta(ticks, type, std::vector<uint8_t>(text.begin(), text.end()));
  }
  SmfTrack& name(uint32_t ticks, const std::string& text) { return text_meta(ticks, 0x03, text); }
  SmfTrack& sysex(uint32_t ticks, uint8_t lead, const std::vector<uint8_t>& data) {
    delta(ticks).raw({lead}).raw(vlq_bytes(static_cast<uint32_t>(data.size())));
    return raw(data);
  }
  SmfTrack& end(uint32_t ticks = 0) { return delta(ticks).raw({0xFF, 0x2F, 0x00}); }

  size_t size() const { return body.size(); }  // offset of the next event inside the body

  std::vector<uint8_t> body;
};

// A whole file: MThd (14 bytes) then chunks. By default ntracks counts the MTrk chunks added.
class SmfFile {
 public:
  static constexpr size_t kHeaderSize = 14;
  static constexpr size_t kChunkHeaderSize = 8;

  explicit SmfFile(int format = 1, uint16_t division = 480) : format_(format), division_(division) {}

  SmfFile& track(const SmfTrack& track) {
    ++mtrk_count_;
    return chunk("MTrk", track.body);
  }
  SmfFile& chunk(const char* id, const std::vector<uint8_t>& body) {
    chunks_.insert(chunks_.end(), id, id + 4);
    const auto length = static_cast<uint32_t>(body.size());
    chunks_.insert(chunks_.end(),
                   {uint8_t(length >> 24), uint8_t(length >> 16), uint8_t(length >> 8), uint8_t(length)});
    chunks_.insert(chunks_.end(), body.begin(), body.end());
    return *this;
  }
  SmfFile& raw(const std::vector<uint8_t>& bytes) {
    chunks_.insert(chunks_.end(), bytes.begin(), bytes.end());
    return *this;
  }
  SmfFile& declared_tracks(int count) {
    declared_tracks_ = count;
    return *this;
  }

  // File offset where the next chunk added would start.
  size_t size() const { return kHeaderSize + chunks_.size(); }

  std::vector<uint8_t> bytes() const {
    const int tracks = declared_tracks_ >= 0 ? declared_tracks_ : mtrk_count_;
    std::vector<uint8_t> out = {'M',
                                'T',
                                'h',
                                'd',
                                0,
                                0,
                                0,
                                6,
                                uint8_t(format_ >> 8),
                                uint8_t(format_),
                                uint8_t(tracks >> 8),
                                uint8_t(tracks),
                                uint8_t(division_ >> 8),
                                uint8_t(division_)};
    out.insert(out.end(), chunks_.begin(), chunks_.end());
    return out;
  }

 private:
  int format_;
  uint16_t division_;
  int mtrk_count_ = 0;
  int declared_tracks_ = -1;
  std::vector<uint8_t> chunks_;
};

}  // namespace cadenza::testing
