// Zero-length and one-tick notes (drum hits are often written with the note-off on the note-on's tick) are kept by
// every encoding as their shortest step (docs/encodings.md, "Very short notes").
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "score/score.h"

namespace cadenza {
namespace {

// A quarter note C4 at tick 0, then a note of `length` ticks (0: zero-length, as a MIDI file may write it) of
// pitch E4 one beat later, at 480 ticks per quarter; `drums` puts the short note in a drum track of its own.
Score with_short_note(int64_t length, bool drums = false) {
  Score score = make_empty_score(480, 120.0);
  Track lead;
  lead.name = "lead";
  lead.notes.push_back({60, 90, 0, 480});
  Track hits;
  hits.name = "hits";
  hits.is_drum = drums;
  hits.channel = drums ? 9 : 1;
  hits.notes.push_back({drums ? 38 : 64, 100, 480, 480 + length});
  if (drums) {
    score.tracks = {lead, hits};
  } else {
    lead.notes.push_back(hits.notes.front());
    score.tracks = {lead};
  }
  return score;  // deliberately not normalized: encoders must cope with a zero-length note as given
}

// The notes of the decoded score with the given pitch.
std::vector<Note> notes_of_pitch(const Score& score, int pitch) {
  std::vector<Note> found;
  for (const auto& track : score.tracks)
    for (const auto& note : track.notes)
      if (note.pitch == pitch) found.push_back(note);
  return found;
}

TEST(EncodingShortNotes, NormalizeGivesAZeroLengthNoteOneTick) {
  Score score = with_short_note(0);
  score.tracks[0].notes.push_back({70, 80, 900, 899});  // ends before it starts: broken, dropped
  score.normalize();
  const auto kept = notes_of_pitch(score, 64);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].start_tick, 480);
  EXPECT_EQ(kept[0].end_tick, 481);
  EXPECT_TRUE(notes_of_pitch(score, 70).empty());
}

TEST(EncodingShortNotes, MelodyGivesOneGridStep) {
  auto melody = make_token_encoding({{"name", "melody"}});
  for (int64_t length : {0, 1}) {
    const Score decoded = melody->decode(melody->encode(with_short_note(length)));
    const auto notes = notes_of_pitch(decoded, 64);
    ASSERT_EQ(notes.size(), 1u) << "length " << length;
    EXPECT_EQ(notes[0].start_tick, decoded.ticks_per_quarter) << "one beat in";
    EXPECT_EQ(notes[0].duration_ticks(), decoded.ticks_per_quarter / 4) << "one 16th step";
  }
}

TEST(EncodingShortNotes, PerformanceGivesOneTimeStepAndKeepsDrumHitsWhenAsked) {
  auto performance = make_token_encoding({{"name", "performance"}, {"keep_drums", true}});
  for (int64_t length : {0, 1}) {
    const Score decoded = performance->decode(performance->encode(with_short_note(length, /*drums=*/true)));
    const auto hits = notes_of_pitch(decoded, 38);
    ASSERT_EQ(hits.size(), 1u) << "length " << length;
    EXPECT_EQ(hits[0].duration_ticks(), 10) << "one 10 ms step (kTicksPerStep ticks)";
    EXPECT_NEAR(hits[0].start_sec, 0.5, 1e-9);
  }
}

TEST(EncodingShortNotes, RemiGivesDurationOne) {
  auto remi = make_token_encoding({{"name", "remi"}, {"use_programs", true}});
  for (int64_t length : {0, 1}) {
    const auto tokens = remi->encode(with_short_note(length, /*drums=*/true));
    const std::string text = remi->to_text(tokens);
    EXPECT_NE(text.find("Duration_1"), std::string::npos) << text;
    const Score decoded = remi->decode(tokens);
    const auto hits = notes_of_pitch(decoded, 38);
    ASSERT_EQ(hits.size(), 1u) << text;
    EXPECT_EQ(hits[0].duration_ticks(), 480 / 4) << "one position";
  }
}

TEST(EncodingShortNotes, PianoRollGivesOneStep) {
  PianoRollSpec spec;
  spec.include_drums = true;
  spec.num_tracks = 2;
  PianoRollEncoding roll(spec);
  for (int64_t length : {0, 1}) {
    const PianoRoll encoded = roll.encode(with_short_note(length, /*drums=*/true));
    const int pitch_index = 38 - spec.lowest_pitch;
    int on = 0, at = -1;
    for (int step = 0; step < encoded.num_steps; ++step)
      if (encoded.at(1, step, pitch_index)) {
        ++on;
        at = step;
      }
    EXPECT_EQ(on, 1) << "length " << length;
    EXPECT_EQ(at, 4) << "one beat in, at 4 steps per quarter";
  }
}

}  // namespace
}  // namespace cadenza
