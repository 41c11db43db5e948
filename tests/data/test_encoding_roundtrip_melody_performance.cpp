// The melody and performance token encodings on every Nottingham file: encode -> decode gives the expected
// (quantized) score, and every encoded sequence is accepted by the encoding's grammar and may end where it ends.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "encoding/encoding.h"
#include "encoding/melody.h"
#include "encoding/performance.h"
#include "midi/midi.h"
#include "score/operations.h"
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

::testing::AssertionResult accepted_by_grammar(const TokenEncoding& encoding, const std::vector<Token>& tokens) {
  auto grammar = encoding.grammar();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!grammar->is_allowed(tokens[i]))
      return ::testing::AssertionFailure()
             << "token " << i << " (" << encoding.vocabulary().name(tokens[i]) << ") is not allowed after the prefix";
    grammar->push(tokens[i]);
  }
  if (!grammar->can_end()) return ::testing::AssertionFailure() << "the grammar cannot end after the last token";
  return ::testing::AssertionSuccess();
}

// The melody the encoder should see, in the decoder's tick space: the skyline of the quantized score, moved by
// the smallest whole-octave shift that fits 48..84, at 120 ticks per 16th step, velocity 100, 120 qpm, 4/4.
// Returns false when no shift fits (the encoder must then refuse the file).
bool expected_melody(const Score& source, const MelodySpec& spec, Score& expected) {
  Score melody = extract_melody(quantize(source, spec.steps_per_quarter));
  expected = make_empty_score(spec.decoded_ticks_per_quarter(), spec.qpm, 4, 4);
  Track track;
  track.name = "melody";
  if (melody.tracks.empty() || melody.tracks[0].notes.empty()) {
    expected.tracks.push_back(track);
    expected.normalize();
    return true;
  }
  int lowest = 127, highest = 0;
  for (const auto& note : melody.tracks[0].notes) {
    lowest = std::min(lowest, note.pitch);
    highest = std::max(highest, note.pitch);
  }
  std::vector<int> shifts = {0};
  for (int octaves = 1; octaves <= 10; ++octaves) shifts.insert(shifts.end(), {12 * octaves, -12 * octaves});
  auto fits = [&](int shift) { return lowest + shift >= spec.min_pitch && highest + shift <= spec.max_pitch; };
  auto found = std::find_if(shifts.begin(), shifts.end(), fits);
  if (found == shifts.end()) return false;
  const int64_t tpq = melody.ticks_per_quarter;
  auto to_step = [&](int64_t tick) {
    return static_cast<int64_t>(std::llround(static_cast<double>(tick) * spec.steps_per_quarter / tpq));
  };
  for (const auto& note : melody.tracks[0].notes)
    track.notes.push_back({note.pitch + *found, spec.velocity, to_step(note.start_tick) * spec.ticks_per_step(),
                           to_step(note.end_tick) * spec.ticks_per_step()});
  expected.tracks.push_back(track);
  expected.normalize();
  return true;
}

// decode(encode(source)) for the performance encoding, from the documented rules: seconds snapped to the grid
// (halves up), drums dropped, one sounding note per key (same onset: the longest, then the loudest; a later
// onset cuts the earlier note), velocities at the lower edge of their bin; 10 ticks per step at 120 qpm.
Score expected_performance(const PerformanceSpec& spec, Score source) {
  source.update_seconds();
  struct Timed {
    int64_t end;
    int velocity;
  };
  std::map<int, std::map<int64_t, Timed>> by_pitch_and_start;
  for (const auto& track : source.tracks) {
    if (track.is_drum) continue;
    for (const auto& note : track.notes) {
      const int64_t start = static_cast<int64_t>(std::floor(note.start_sec * spec.steps_per_second + 0.5));
      const int64_t end =
          std::max(static_cast<int64_t>(std::floor(note.end_sec * spec.steps_per_second + 0.5)), start + 1);
      auto [it, inserted] = by_pitch_and_start[note.pitch].emplace(start, Timed{end, note.velocity});
      if (!inserted && std::tie(end, note.velocity) > std::tie(it->second.end, it->second.velocity))
        it->second = {end, note.velocity};
    }
  }
  const int bin_size = (127 + spec.num_velocity_bins - 1) / spec.num_velocity_bins;
  Score expected = make_empty_score(5 * spec.steps_per_second, 120.0);
  Track track;
  track.name = "performance";
  for (const auto& [pitch, by_start] : by_pitch_and_start)
    for (auto it = by_start.begin(); it != by_start.end(); ++it) {
      auto next = std::next(it);
      const int64_t end = next == by_start.end() ? it->second.end : std::min(it->second.end, next->first);
      const int velocity = 1 + (it->second.velocity - 1) / bin_size * bin_size;
      track.notes.push_back({pitch, velocity, it->first * 10, end * 10});
    }
  expected.tracks.push_back(track);
  expected.normalize();
  return expected;
}

TEST(EncodingRoundTrip, MelodyOnEveryNottinghamMelody) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI/melody");
  const auto files = midi_files_in(testing::data_dir() + "/nottingham/MIDI/melody");
  ASSERT_GE(files.size(), 1000u);
  MelodyEncoding encoding;
  size_t tokens_total = 0, notes_total = 0, refused = 0;
  for (const auto& path : files) {
    const Score source = read_midi_file(path);
    Score expected;
    if (!expected_melody(source, encoding.melody_spec(), expected)) {
      EXPECT_THROW_WITH(encoding.encode(source), Error, {"in '" + path + "'", "spans pitches", "range 48..84"}) << path;
      ++refused;
      continue;
    }
    std::vector<Token> tokens;
    ASSERT_NO_THROW(tokens = encoding.encode(source)) << path;
    const Score decoded = encoding.decode(tokens);
    ASSERT_EQ(describe_difference(decoded, expected), "") << path;
    EXPECT_TRUE(accepted_by_grammar(encoding, tokens)) << path;
    EXPECT_FALSE(expected.tracks[0].notes.empty()) << path;
    tokens_total += tokens.size();
    notes_total += decoded.note_count();
  }
  // The tunes are small, fit an octave shift, and a melody averages a few tokens per note.
  EXPECT_LT(refused, files.size() / 100) << "most melodies must fit the 48..84 range";
  EXPECT_GT(tokens_total, notes_total);
  std::printf("melody: %zu files, %zu refused, %zu notes, %zu tokens\n", files.size(), refused, notes_total,
              tokens_total);
}

TEST(EncodingRoundTrip, PerformanceOnEveryNottinghamFile) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  const auto files = midi_files_in(testing::data_dir() + "/nottingham/MIDI");
  ASSERT_GE(files.size(), 1000u);
  PerformanceEncoding encoding;
  const PerformanceSpec& spec = encoding.performance_spec();
  size_t tokens_total = 0, notes_total = 0;
  for (const auto& path : files) {
    const Score source = read_midi_file(path);
    std::vector<Token> tokens;
    ASSERT_NO_THROW(tokens = encoding.encode(source)) << path;
    const Score decoded = encoding.decode(tokens);
    const Score expected = expected_performance(spec, source);
    ASSERT_EQ(describe_difference(decoded, expected), "") << path;
    ASSERT_EQ(decoded.tracks.size(), 1u);
    const auto& notes = decoded.tracks[0].notes;
    for (size_t i = 0; i < notes.size(); ++i) {
      const Note& want = expected.tracks[0].notes[i];
      ASSERT_NEAR(notes[i].start_sec, static_cast<double>(want.start_tick / 10) / spec.steps_per_second, 1e-6) << path;
      ASSERT_NEAR(notes[i].end_sec, static_cast<double>(want.end_tick / 10) / spec.steps_per_second, 1e-6) << path;
    }
    EXPECT_TRUE(accepted_by_grammar(encoding, tokens)) << path;
    EXPECT_GT(notes.size(), 0u) << path;
    tokens_total += tokens.size();
    notes_total += notes.size();
  }
  std::printf("performance: %zu files, %zu notes, %zu tokens\n", files.size(), notes_total, tokens_total);
}

}  // namespace
}  // namespace cadenza
