#include "data/augment.h"

#include <cmath>

#include "common/error.h"

namespace cadenza {

namespace {

int64_t scale_tick(int64_t tick, double factor) {
  return std::llround(static_cast<double>(tick) * factor);
}

}  // namespace

Score stretch_time(const Score& score, double factor) {
  if (!std::isfinite(factor) || factor <= 0.0)
    throw Error("time stretch factor must be a positive number, got " + std::to_string(factor));
  Score stretched = score;
  for (auto& track : stretched.tracks)
    for (auto& note : track.notes) {
      note.start_tick = scale_tick(note.start_tick, factor);
      note.end_tick = std::max(scale_tick(note.end_tick, factor), note.start_tick + 1);
    }
  for (auto& tempo : stretched.tempos) tempo.tick = scale_tick(tempo.tick, factor);
  for (auto& meter : stretched.time_signatures) meter.tick = scale_tick(meter.tick, factor);
  for (auto& key : stretched.key_signatures) key.tick = scale_tick(key.tick, factor);
  // Rounding can move two meta events onto one tick or reorder notes that started one tick apart.
  stretched.normalize();
  stretched.update_seconds();
  return stretched;
}

std::vector<Token> stretch_tokens(const TokenEncoding& encoding, std::span<const Token> tokens, double factor) {
  return encoding.encode(stretch_time(encoding.decode(tokens), factor));
}

std::pair<int, int> roll_transposition_range(const PianoRoll& roll) {
  int lowest_on = roll.num_pitches, highest_on = -1;
  const size_t rows = roll.num_pitches > 0 ? roll.cells.size() / static_cast<size_t>(roll.num_pitches) : 0;
  for (size_t row = 0; row < rows; ++row) {
    const uint8_t* cells = roll.cells.data() + row * static_cast<size_t>(roll.num_pitches);
    for (int pitch = 0; pitch < lowest_on; ++pitch)
      if (cells[pitch]) {
        lowest_on = pitch;
        break;
      }
    for (int pitch = roll.num_pitches - 1; pitch > highest_on; --pitch)
      if (cells[pitch]) {
        highest_on = pitch;
        break;
      }
  }
  if (highest_on < 0) return {-roll.num_pitches + 1, roll.num_pitches - 1};
  return {-lowest_on, roll.num_pitches - 1 - highest_on};
}

void transpose_roll(PianoRoll& roll, int semitones) {
  if (semitones == 0) return;
  auto [lowest, highest] = roll_transposition_range(roll);
  if (semitones < lowest || semitones > highest)
    throw Error("cannot transpose the piano roll by " + std::to_string(semitones) + " semitones (range " +
                std::to_string(lowest) + ".." + std::to_string(highest) + ")");
  const size_t width = static_cast<size_t>(roll.num_pitches);
  const size_t rows = width > 0 ? roll.cells.size() / width : 0;
  std::vector<uint8_t> shifted(roll.cells.size(), 0);
  for (size_t row = 0; row < rows; ++row)
    for (size_t pitch = 0; pitch < width; ++pitch)
      if (roll.cells[row * width + pitch])
        shifted[row * width + static_cast<size_t>(static_cast<int64_t>(pitch) + semitones)] = 1;
  roll.cells.swap(shifted);
}

}  // namespace cadenza
