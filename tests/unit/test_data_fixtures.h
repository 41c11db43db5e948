// Small fixtures shared by the data-area unit tests: scores built note by note, MIDI files written from them,
// and token shards written from real encodings.
#pragma once

#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "data/shard.h"
#include "encoding/melody.h"
#include "midi/midi.h"
#include "score/score.h"

namespace cadenza::testing {

// One track of consecutive notes (an eighth note each at 480 ticks per quarter, 120 qpm), starting at
// start_tick; pitch 0 means a rest of the same length.
inline Score line_score(const std::vector<int>& pitches, int64_t start_tick = 0, const std::string& name = "line") {
  Score score = make_empty_score(480, 120.0);
  Track track;
  track.name = name;
  int64_t tick = start_tick;
  for (int pitch : pitches) {
    if (pitch > 0) {
      Note note;
      note.pitch = pitch;
      note.velocity = 90;
      note.start_tick = tick;
      note.end_tick = tick + 240;
      track.notes.push_back(note);
    }
    tick += 240;
  }
  score.tracks.push_back(track);
  score.normalize();
  score.update_seconds();
  return score;
}

// A melody of `length` notes whose pitches depend on seed (within 55..79).
inline Score varied_score(int seed, int length = 16) {
  std::vector<int> pitches;
  for (int i = 0; i < length; ++i) pitches.push_back(55 + (seed * 7 + i * 5) % 25);
  return line_score(pitches);
}

// A melody of `length` notes that does not repeat itself (pitches 55..79 and 8th / quarter / dotted-quarter
// lengths drawn from seed), unlike varied_score, whose cycling pitches make every seed a transposed copy of
// another for the duplicate finder (data/duplicates.h).
inline Score distinct_score(uint32_t seed, int length = 24) {
  std::mt19937 random(seed * 7919u + 17u);
  Score score = make_empty_score(480, 120.0);
  Track track;
  track.name = "line";
  int64_t tick = 0;
  for (int i = 0; i < length; ++i) {
    const int64_t duration = 240 * (1 + static_cast<int64_t>(random() % 3));
    track.notes.push_back({55 + static_cast<int>(random() % 25), 90, tick, tick + duration});
    tick += duration;
  }
  score.tracks.push_back(track);
  score.normalize();
  return score;
}

// A token shard of the given pieces encoded with `encoding`, one source per piece, all in split.
inline void write_token_shard(const std::string& path, const TokenEncoding& encoding, const std::vector<Score>& scores,
                              Split split = Split::kTrain) {
  ShardMetadata metadata;
  metadata.encoding = encoding.spec();
  metadata.vocabulary = encoding.vocabulary().names();
  for (size_t i = 0; i < scores.size(); ++i)
    metadata.sources.push_back({"piece" + std::to_string(i) + ".mid", 0, "fnv1a64:0"});
  ShardWriter writer(metadata);
  for (size_t i = 0; i < scores.size(); ++i)
    writer.add_tokens(static_cast<uint32_t>(i), split, encoding.encode(scores[i]));
  writer.write(path);
}

// A melody-encoded shard of 18 varied pieces (varied_score(i, base_length + i % 7)): 12 train, 3 valid, 3 test.
inline std::string write_split_melody_shard(const std::string& path, int base_length) {
  MelodyEncoding encoding;
  ShardMetadata metadata;
  metadata.encoding = encoding.spec();
  metadata.vocabulary = encoding.vocabulary().names();
  ShardWriter writer(metadata);
  for (int i = 0; i < 18; ++i) {
    writer.metadata().sources.push_back({"p" + std::to_string(i) + ".mid", 0, "fnv1a64:0"});
    const Split split = i < 12 ? Split::kTrain : (i < 15 ? Split::kValid : Split::kTest);
    writer.add_tokens(static_cast<uint32_t>(i), split, encoding.encode(varied_score(i, base_length + i % 7)));
  }
  writer.write(path);
  return path;
}

}  // namespace cadenza::testing
