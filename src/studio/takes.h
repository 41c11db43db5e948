// Takes: every piece the studio makes or receives (a generated variation, a continuation, a duet exchange, an
// interpolation step, an uploaded MIDI file, a played phrase), kept in memory under a random id so that the page can
// play it, download it as MIDI / WAV / JSON and feed it back to a model. The store is bounded: past its capacity the
// oldest take is forgotten.
//
// On the wire a take is JSON with its notes in beats (quarter notes) from the start:
//   {"id", "name", "kind", "model", "qpm", "beats_per_bar", "length_beats", "info": {...},
//    "tracks": [{"name", "program", "drum", "role": "user" | "model"}],
//    "notes": [{"track", "pitch", "start", "end", "velocity"}, ...]}
// and the same shape (tracks and role optional) is what POST /api/takes accepts (docs/studio-api.md).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "score/score.h"

namespace cadenza::studio {

struct Take {
  std::string id;
  std::string name;
  std::string kind;   // generate | continue | duet | interpolate | attribute | upload | phrase
  std::string model;  // the model id that made it ("" for uploads and phrases)
  Score score;
  std::vector<std::string> roles;                  // per track: "user" (the musician's notes) or "model"
  nlohmann::json info = nlohmann::json::object();  // options, timings, attribute values
};

// Limits on a take sent as JSON.
inline constexpr size_t kMaxTakeNotes = 20000;
inline constexpr size_t kMaxTakeTracks = 16;
inline constexpr double kMaxTakeBeats = 4 * 4096;

// The JSON of a take (with_notes = false: without "notes", for lists).
nlohmann::json take_json(const Take& take, bool with_notes = true);
// One note in take JSON: track, pitch, start and end in beats, velocity.
nlohmann::json note_json(size_t track, const Note& note, int ticks_per_quarter);

// A take from JSON sent by the page (a played phrase, edited notes): checks every field and names the first bad one
// ("notes[3].pitch must be an integer in [0, 127], got 200"). The score gets 480 ticks per quarter, the given qpm
// (default 120) and 4/4; tracks default to one "melody" track; roles default to "user".
Take take_from_json(const nlohmann::json& body);

// MIDI channels for writing: drum tracks on 9, the others 0..15 (skipping 9) in track order.
void assign_channels(Score& score);

// Beats <-> ticks.
int64_t beats_to_ticks(double beats, int ticks_per_quarter);
double ticks_to_beats(int64_t ticks, int ticks_per_quarter);

// A safe file name for downloads: letters, digits, '-', '_' and '.', at most 80 characters.
std::string download_name(const Take& take);

class TakeStore {
 public:
  explicit TakeStore(size_t capacity);
  // Gives the take a fresh id (and a name when it has none) and keeps it; returns the stored take.
  std::shared_ptr<const Take> add(Take take);
  // nullptr when unknown (or forgotten).
  std::shared_ptr<const Take> find(const std::string& id) const;
  // Newest first.
  std::vector<std::shared_ptr<const Take>> list() const;
  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const Take>> by_id_;
  std::deque<std::string> order_;  // oldest first
  std::mt19937_64 ids_;
  uint64_t counter_ = 0;
};

}  // namespace cadenza::studio
