// REMI and piano-roll round trips on the real data sets: every JSB chorale (three resolutions) and every
// Nottingham tune (melody + chords).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "encoding/remi.h"
#include "midi/midi.h"
#include "score/jsb.h"
#include "score/operations.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

std::vector<std::string> nottingham_files() {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(testing::data_dir() + "/nottingham/MIDI"))
    if (entry.is_regular_file() && entry.path().extension() == ".mid") paths.push_back(entry.path().string());
  std::sort(paths.begin(), paths.end());
  return paths;
}

const std::vector<Score>& nottingham_scores() {
  static const std::vector<Score> scores = [] {
    std::vector<Score> loaded;
    for (const auto& path : nottingham_files()) loaded.push_back(read_midi_file(path));
    return loaded;
  }();
  return scores;
}

// ---- JSB ---------------------------------------------------------------------------------------------------

// The JSON's own step lists, read independently of load_jsb_json: per split, per piece, the set of pitches of
// each step (the 8th/16th files repeat pitches within a step and write some as 73.0).
std::map<std::string, std::vector<std::vector<std::set<int>>>> jsb_steps(const std::string& path) {
  std::ifstream in(path);
  const nlohmann::json root = nlohmann::json::parse(in);
  std::map<std::string, std::vector<std::vector<std::set<int>>>> result;
  for (const auto& [split, pieces] : root.items())
    for (const auto& piece : pieces) {
      auto& steps = result[split].emplace_back();
      for (const auto& step : piece) {
        auto& pitches = steps.emplace_back();
        for (const auto& pitch : step) pitches.insert(static_cast<int>(pitch.get<double>()));
      }
    }
  return result;
}

void check_jsb_file(const std::string& name, int steps_per_quarter) {
  const std::string path = testing::data_dir() + "/jsb-chorales/" + name;
  const auto expected = jsb_steps(path);
  const auto pieces = load_jsb_json(path, {.steps_per_quarter = steps_per_quarter});
  PianoRollEncoding encoding(
      {.steps_per_quarter = steps_per_quarter, .lowest_pitch = 21, .highest_pitch = 108, .merge_all_tracks = true});
  const int bar_steps = 4 * steps_per_quarter;  // the chorales load as 4/4
  size_t checked = 0;
  for (const auto& piece : pieces) {
    const auto& steps = expected.at(split_name(piece.split)).at(piece.index);
    const PianoRoll roll = encoding.encode(piece.score);
    const std::string where = name + " " + split_name(piece.split) + " " + std::to_string(piece.index);
    // The roll holds the piece and pads to the end of its last bar; silent steps at the end are not kept.
    size_t last_sounding = steps.size();
    while (last_sounding > 0 && steps[last_sounding - 1].empty()) --last_sounding;
    ASSERT_GE(roll.num_steps, static_cast<int>(last_sounding)) << where;
    ASSERT_EQ(roll.num_steps % bar_steps, 0) << where;
    ASSERT_LT(roll.num_steps - static_cast<int>(last_sounding), bar_steps) << where;
    for (int step = 0; step < roll.num_steps; ++step) {
      std::set<int> on;
      for (int p = 0; p < roll.num_pitches; ++p)
        if (roll.at(0, step, p)) on.insert(21 + p);
      const std::set<int> want = static_cast<size_t>(step) < steps.size() ? steps[step] : std::set<int>{};
      ASSERT_EQ(on, want) << where << " step " << step;
    }
    for (size_t b = 0; b < roll.bar_starts.size(); ++b)
      ASSERT_EQ(roll.bar_starts[b], static_cast<int>(b) * bar_steps) << where;
    // With the piece's end (what `dataset prepare` stores for a JSON piece): exactly the file's steps, no padding.
    const PianoRoll exact = encoding.encode(piece.score, piece.end_tick);
    ASSERT_EQ(exact.num_steps, static_cast<int>(steps.size())) << where;
    for (int step = 0; step < exact.num_steps; ++step) {
      std::set<int> on;
      for (int p = 0; p < exact.num_pitches; ++p)
        if (exact.at(0, step, p)) on.insert(21 + p);
      ASSERT_EQ(on, steps[step]) << where << " step " << step << " (with the end)";
    }
    // And back: the decoded chorale encodes to the same roll.
    const PianoRoll again = encoding.encode(encoding.decode(roll));
    ASSERT_TRUE(again.cells == roll.cells && again.bar_starts == roll.bar_starts) << where;
    ++checked;
  }
  EXPECT_EQ(checked, 382u);
}

TEST(EncodingRoundTripData, JsbQuarterPianoRollsReproduceTheJsonSteps) {
  CADENZA_REQUIRE_DATA("jsb-chorales/jsb-chorales-quarter.json");
  check_jsb_file("jsb-chorales-quarter.json", 1);
}

TEST(EncodingRoundTripData, JsbEighthPianoRollsReproduceTheJsonSteps) {
  CADENZA_REQUIRE_DATA("jsb-chorales/jsb-chorales-8th.json");
  check_jsb_file("jsb-chorales-8th.json", 2);
}

TEST(EncodingRoundTripData, JsbSixteenthPianoRollsReproduceTheJsonSteps) {
  CADENZA_REQUIRE_DATA("jsb-chorales/jsb-chorales-16th.json");
  check_jsb_file("jsb-chorales-16th.json", 4);
}

// ---- Nottingham piano rolls --------------------------------------------------------------------------------

// decode(encode(score)) as documented: quantized notes in 480 ticks per quarter, where notes of one pitch in one
// roll track that touch or overlap merge into one (the roll cannot tell them apart). merges[t] counts the merges
// in roll track t; a track without any is exactly the quantized track.
std::vector<std::vector<Note>> expected_roll_notes(const Score& score, int steps_per_quarter, int num_tracks,
                                                   int velocity, std::vector<int>& merges) {
  const Score snapped = quantize(score, steps_per_quarter);
  const int64_t tpq = snapped.ticks_per_quarter;
  auto to_480 = [&](int64_t tick) {
    return (tick * steps_per_quarter * 2 + tpq) / (2 * tpq) * (480 / steps_per_quarter);
  };
  std::vector<std::map<int, std::vector<std::pair<int64_t, int64_t>>>> runs(num_tracks);
  int kept = 0;
  for (const auto& track : snapped.tracks) {
    if (track.is_drum) continue;
    const int target = std::min(kept++, num_tracks - 1);
    for (const auto& note : track.notes)
      runs[target][note.pitch].push_back({to_480(note.start_tick), to_480(note.end_tick)});
  }
  merges.assign(num_tracks, 0);
  std::vector<std::vector<Note>> notes(num_tracks);
  for (int t = 0; t < num_tracks; ++t)
    for (auto& [pitch, intervals] : runs[t]) {
      std::sort(intervals.begin(), intervals.end());
      std::vector<std::pair<int64_t, int64_t>> merged;
      for (const auto& interval : intervals) {
        if (!merged.empty() && interval.first <= merged.back().second) {
          merged.back().second = std::max(merged.back().second, interval.second);
          ++merges[t];
        } else {
          merged.push_back(interval);
        }
      }
      for (const auto& [start, end] : merged) notes[t].push_back({pitch, velocity, start, end});
    }
  for (auto& track_notes : notes)
    std::sort(track_notes.begin(), track_notes.end(), [](const Note& a, const Note& b) {
      return std::tie(a.start_tick, a.pitch, a.end_tick) < std::tie(b.start_tick, b.pitch, b.end_tick);
    });
  return notes;
}

TEST(EncodingRoundTripData, NottinghamPianoRollsRoundTrip) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  const auto& scores = nottingham_scores();
  ASSERT_GT(scores.size(), 1000u);
  PianoRollEncoding encoding({.steps_per_quarter = 12, .lowest_pitch = 21, .highest_pitch = 108, .num_tracks = 2});
  int tracks_without_merges = 0, tracks_with_merges = 0;
  for (const Score& score : scores) {
    const PianoRoll roll = encoding.encode(score);
    // The honest invariant: a decoded roll encodes back to itself, bar lines included.
    const Score decoded = encoding.decode(roll, 120.0, 90);
    const PianoRoll again = encoding.encode(decoded);
    ASSERT_EQ(again.num_steps, roll.num_steps) << score.source;
    ASSERT_EQ(again.bar_starts, roll.bar_starts) << score.source;
    ASSERT_TRUE(again.cells == roll.cells) << score.source;
    // And the notes: the quantized score, with same-pitch notes that touch merged.
    std::vector<int> merges;
    const auto expected = expected_roll_notes(score, 12, 2, 90, merges);
    ASSERT_EQ(decoded.tracks.size(), 2u);
    for (int t = 0; t < 2; ++t) {
      ASSERT_EQ(decoded.tracks[t].notes, expected[t]) << score.source << " track " << t;
      if (expected[t].empty()) continue;
      (merges[t] == 0 ? tracks_without_merges : tracks_with_merges) += 1;
    }
  }
  // Tracks without touching same-pitch notes come back exactly quantized; folk tunes repeat notes and chords, so
  // both kinds must occur for the comparison to have covered both cases.
  EXPECT_GT(tracks_without_merges, 0);
  EXPECT_GT(tracks_with_merges, 0);
  std::printf("piano roll: %d Nottingham tracks come back exactly quantized, %d with touching notes merged\n",
              tracks_without_merges, tracks_with_merges);
}

// ---- Nottingham REMI ---------------------------------------------------------------------------------------

// decode(encode(score)) per the REMI rules (see remi.h), computed with quantize(): the same construction as the
// unit test's, restricted to what the Nottingham files hold (no drums, pitches in range).
Score expected_remi(const Score& score, const RemiEncoding& encoding) {
  const RemiSpec& spec = encoding.remi_spec();
  const int ppq = spec.positions_per_quarter;
  const Score snapped = quantize(score, ppq);
  const int64_t tpq = snapped.ticks_per_quarter;
  auto position_of = [&](int64_t tick) { return (tick * ppq * 2 + tpq) / (2 * tpq); };
  const int64_t ticks_per_position = 480 / ppq;
  std::map<int, std::set<std::tuple<int64_t, int, int64_t, int>>> notes;
  int64_t last_start = -1;
  for (const auto& track : snapped.tracks) {
    const int key = spec.use_programs ? track.program : 0;
    for (const auto& note : track.notes) {
      const int64_t start = position_of(note.start_tick);
      const int64_t length = std::min<int64_t>(position_of(note.end_tick) - start, spec.max_duration_quarters * ppq);
      notes[key].insert({start * ticks_per_position, note.pitch, (start + length) * ticks_per_position,
                         encoding.binned_velocity(note.velocity)});
      last_start = std::max(last_start, start);
    }
  }
  Score expected;
  expected.ticks_per_quarter = 480;
  int channel = 0;
  for (const auto& [key, set] : notes) {
    Track track = spec.use_programs ? Track{"program_" + std::to_string(key), key, false, channel++, {}}
                                    : Track{"remi", 0, false, 0, {}};
    for (const auto& [start, pitch, end, velocity] : set) track.notes.push_back({pitch, velocity, start, end});
    expected.tracks.push_back(std::move(track));
  }
  int64_t bars_end = 0;
  for (int64_t bar_start = 0; bar_start <= last_start;) {
    TimeSignature meter{0, 4, 4};
    for (const auto& signature : snapped.time_signatures)
      if (position_of(signature.tick) <= bar_start) meter = signature;
    if (encoding.bar_positions(meter.numerator, meter.denominator) == 0) meter = {0, 4, 4};
    const auto& meters = expected.time_signatures;
    if (meters.empty() || meters.back().numerator != meter.numerator || meters.back().denominator != meter.denominator)
      expected.time_signatures.push_back({bar_start * ticks_per_position, meter.numerator, meter.denominator});
    bar_start += encoding.bar_positions(meter.numerator, meter.denominator);
    bars_end = bar_start;
  }
  for (const auto& tempo : snapped.tempos) {
    const int64_t position = position_of(tempo.tick);
    const int32_t binned = encoding.binned_microseconds_per_quarter(tempo.microseconds_per_quarter);
    if (position < bars_end && (expected.tempos.empty() || expected.tempos.back().microseconds_per_quarter != binned))
      expected.tempos.push_back({position * ticks_per_position, binned});
  }
  expected.normalize();
  return expected;
}

TEST(EncodingRoundTripData, NottinghamRemiRoundTripsToTheQuantizedScore) {
  CADENZA_REQUIRE_DATA("nottingham/MIDI");
  const auto& scores = nottingham_scores();
  ASSERT_GT(scores.size(), 1000u);
  for (const bool use_programs : {false, true}) {
    RemiSpec spec;
    spec.use_programs = use_programs;
    spec.positions_per_quarter = 12;  // the tunes hold triplets
    RemiEncoding remi(spec);
    size_t tokens = 0;
    int meter_changes = 0;
    for (const Score& score : scores) {
      const auto encoded = remi.encode(score);
      tokens += encoded.size();
      auto grammar = remi.grammar();
      for (Token token : encoded)  // push() refuses (throws) any token the grammar does not allow
        ASSERT_NO_THROW(grammar->push(token)) << score.source << ": " << remi.vocabulary().name(token);
      ASSERT_TRUE(grammar->can_end()) << score.source;
      const Score decoded = remi.decode(encoded);
      ASSERT_EQ(describe_difference(decoded, expected_remi(score, remi)), "") << score.source;
      meter_changes += decoded.time_signatures.size() > 1;
    }
    EXPECT_GT(meter_changes, 0);  // some tunes change meter: that path is exercised
    std::printf("remi (use_programs=%d): %zu tokens for %zu files\n", use_programs, tokens, scores.size());
  }
}

}  // namespace
}  // namespace cadenza
