// The Score: Cadenza's in-memory model of a piece, between files and encodings.
//
// Time is canonical in ticks (integer, `ticks_per_quarter` per quarter note); seconds are derived from the
// tempo map and stored on each note so that performance-style encodings need not recompute them. Every
// operation that changes ticks (quantize, clip, ...) recomputes seconds with `update_seconds()`.
//
// Invariants kept by every producer (MIDI reader, decoders, operations):
//   - notes of each track are sorted by (start_tick, pitch, end_tick, velocity);
//   - 0 <= pitch <= 127, 1 <= velocity <= 127, start_tick < end_tick;
//   - a note that starts and ends on the same tick (a drum hit is often written so) is kept as a note of one tick,
//     the shortest a score can hold: normalize() lengthens it, so no producer loses it. Every encoding gives such
//     a note its shortest step (see docs/encodings.md, "Very short notes"); notes that end before they start are
//     broken input and are dropped.
//   - tempos / time_signatures / key_signatures are sorted by tick, at most one per tick, and tempos and
//     time_signatures always have an entry at tick 0 (120 qpm and 4/4 when a file says nothing).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cadenza {

struct Note {
  int pitch = 60;     // MIDI pitch 0..127
  int velocity = 64;  // 1..127
  int64_t start_tick = 0;
  int64_t end_tick = 0;
  double start_sec = 0.0;  // derived from the tempo map
  double end_sec = 0.0;

  int64_t duration_ticks() const { return end_tick - start_tick; }
  // Ticks and pitch/velocity only: seconds are derived data.
  bool operator==(const Note& other) const {
    return pitch == other.pitch && velocity == other.velocity && start_tick == other.start_tick &&
           end_tick == other.end_tick;
  }
};

struct Track {
  std::string name;
  int program = 0;       // General MIDI program 0..127
  bool is_drum = false;  // channel 10 (index 9)
  int channel = 0;       // MIDI channel 0..15 the notes were read from / will be written to
  std::vector<Note> notes;

  bool operator==(const Track& other) const = default;
};

struct TempoChange {
  int64_t tick = 0;
  int32_t microseconds_per_quarter = 500000;  // 120 qpm
  double qpm() const { return 60'000'000.0 / microseconds_per_quarter; }
  bool operator==(const TempoChange& other) const = default;
};

struct TimeSignature {
  int64_t tick = 0;
  int numerator = 4;
  int denominator = 4;  // a power of two
  bool operator==(const TimeSignature& other) const = default;
};

struct KeySignature {
  int64_t tick = 0;
  int sharps = 0;  // -7..7, negative = flats
  bool minor = false;
  bool operator==(const KeySignature& other) const = default;
};

struct Score {
  int ticks_per_quarter = 480;
  std::vector<Track> tracks;
  std::vector<TempoChange> tempos;
  std::vector<TimeSignature> time_signatures;
  std::vector<KeySignature> key_signatures;
  std::string source;  // file it came from, for messages; not part of equality

  bool operator==(const Score& other) const {
    return ticks_per_quarter == other.ticks_per_quarter && tracks == other.tracks && tempos == other.tempos &&
           time_signatures == other.time_signatures && key_signatures == other.key_signatures;
  }

  size_t note_count() const;
  int64_t end_tick() const;  // the latest note end (0 for an empty score)
  double end_seconds() const;

  // Converts a tick to seconds with this score's tempo map.
  double tick_to_seconds(int64_t tick) const;
  // Recomputes start_sec/end_sec of every note from ticks and the tempo map.
  void update_seconds();
  // Sorts notes and meta lists, gives zero-length notes one tick, drops notes that end before they start, fills
  // default tempo / meter at tick 0.
  void normalize();
};

// Builds an empty score with one default tempo (qpm) and time signature.
Score make_empty_score(int ticks_per_quarter = 480, double qpm = 120.0, int numerator = 4, int denominator = 4);

// A short human-readable description of the first difference between two scores ("" when equal).
std::string describe_difference(const Score& a, const Score& b);

}  // namespace cadenza
