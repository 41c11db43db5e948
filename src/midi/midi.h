// Standard MIDI File reading and writing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "score/score.h"

namespace cadenza {

struct MidiReadOptions {
  bool apply_sustain_pedal = false;  // extend notes held by CC64 until the pedal lifts
};

// Parses SMF format 0/1/2 bytes. `name` is used in error messages. Throws FormatError("name: byte N: ...").
// Tracks of the Score are split per (MIDI track, channel) so that every Track has one channel and program.
Score read_midi(std::span<const uint8_t> bytes, const std::string& name, const MidiReadOptions& options = {});
// Reads a file (refusing absurd sizes) and parses it.
Score read_midi_file(const std::string& path, const MidiReadOptions& options = {});

// Writes a format-1 SMF: a conductor track with tempo, time and key signatures, then one track per Track
// with its name and program change.
std::vector<uint8_t> write_midi(const Score& score);
// Writes atomically.
void write_midi_file(const Score& score, const std::string& path);

}  // namespace cadenza
