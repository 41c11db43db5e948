#include "studio/takes.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "studio/http_error.h"

namespace cadenza::studio {

using nlohmann::json;

int64_t beats_to_ticks(double beats, int ticks_per_quarter) {
  return static_cast<int64_t>(std::llround(beats * ticks_per_quarter));
}

double ticks_to_beats(int64_t ticks, int ticks_per_quarter) {
  return static_cast<double>(ticks) / static_cast<double>(ticks_per_quarter);
}

json note_json(size_t track, const Note& note, int ticks_per_quarter) {
  return {{"track", track},
          {"pitch", note.pitch},
          {"start", ticks_to_beats(note.start_tick, ticks_per_quarter)},
          {"end", ticks_to_beats(note.end_tick, ticks_per_quarter)},
          {"velocity", note.velocity}};
}

json take_json(const Take& take, bool with_notes) {
  const Score& score = take.score;
  json tracks = json::array();
  for (size_t t = 0; t < score.tracks.size(); ++t) {
    const Track& track = score.tracks[t];
    tracks.push_back({{"name", track.name},
                      {"program", track.program},
                      {"drum", track.is_drum},
                      {"role", t < take.roles.size() ? take.roles[t] : "model"},
                      {"note_count", track.notes.size()}});
  }
  const TimeSignature meter = score.time_signatures.empty() ? TimeSignature{} : score.time_signatures.front();
  json out = {{"id", take.id},
              {"name", take.name},
              {"kind", take.kind},
              {"model", take.model},
              // Tempos are stored in whole microseconds per quarter: 90 qpm reads back as 89.99995.
              {"qpm", score.tempos.empty() ? 120.0 : std::round(score.tempos.front().qpm() * 1000) / 1000},
              {"beats_per_bar", meter.numerator * 4.0 / meter.denominator},
              {"length_beats", ticks_to_beats(score.end_tick(), score.ticks_per_quarter)},
              {"note_count", score.note_count()},
              {"tracks", tracks},
              {"info", take.info}};
  if (with_notes) {
    json notes = json::array();
    for (size_t t = 0; t < score.tracks.size(); ++t)
      for (const Note& note : score.tracks[t].notes) notes.push_back(note_json(t, note, score.ticks_per_quarter));
    out["notes"] = std::move(notes);
  }
  return out;
}

namespace {

[[noreturn]] void bad(const std::string& message) {
  throw HttpError(400, message);
}

void check_keys(const json& object, const std::string& what, const std::set<std::string>& known) {
  for (const auto& [key, value] : object.items()) {
    if (known.count(key)) continue;
    std::string list;
    for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
    bad(what + ": unknown key \"" + key + "\" (known: " + list + ")");
  }
}

int integer_in(const json& object, const std::string& key, const std::string& where, int low, int high, int fallback) {
  if (!object.contains(key)) return fallback;
  const json& value = object[key];
  if (!value.is_number_integer() || value.get<int64_t>() < low || value.get<int64_t>() > high)
    bad(where + "." + key + " must be an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "], got " +
        value.dump());
  return value.get<int>();
}

double number_in(const json& object, const std::string& key, const std::string& where, double low, double high) {
  if (!object.contains(key)) bad(where + "." + key + " is missing");
  const json& value = object[key];
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < low ||
      value.get<double>() > high) {
    char range[96];
    std::snprintf(range, sizeof range, "[%g, %g]", low, high);
    bad(where + "." + key + " must be a number in " + range + ", got " + value.dump());
  }
  return value.get<double>();
}

}  // namespace

void assign_channels(Score& score) {
  int next = 0;
  for (Track& track : score.tracks) {
    if (track.is_drum) {
      track.channel = 9;
      continue;
    }
    if (next == 9) ++next;
    track.channel = next % 16;
    next = (next + 1) % 16;
  }
}

Take take_from_json(const json& body) {
  if (!body.is_object()) bad("a take must be a JSON object with \"notes\"");
  check_keys(body, "take", {"name", "qpm", "beats_per_bar", "tracks", "notes"});
  Take take;
  take.kind = "phrase";
  if (body.contains("name")) {
    if (!body["name"].is_string() || body["name"].get<std::string>().size() > 200)
      bad("take.name must be a string of at most 200 characters");
    take.name = body["name"].get<std::string>();
  }
  const double qpm = body.contains("qpm") ? number_in(body, "qpm", "take", 10, 1000) : 120.0;
  const int beats_per_bar = integer_in(body, "beats_per_bar", "take", 1, 16, 4);
  Score score = make_empty_score(480, qpm, beats_per_bar, 4);

  if (body.contains("tracks")) {
    const json& tracks = body["tracks"];
    if (!tracks.is_array() || tracks.empty() || tracks.size() > kMaxTakeTracks)
      bad("take.tracks must be an array of 1 to " + std::to_string(kMaxTakeTracks) + " tracks");
    for (size_t t = 0; t < tracks.size(); ++t) {
      const json& entry = tracks[t];
      const std::string where = "take.tracks[" + std::to_string(t) + "]";
      if (!entry.is_object()) bad(where + " must be an object");
      check_keys(entry, where, {"name", "program", "drum", "role"});
      Track track;
      track.name = entry.contains("name") && entry["name"].is_string() ? entry["name"].get<std::string>()
                                                                       : "track " + std::to_string(t + 1);
      if (track.name.size() > 200) bad(where + ".name is longer than 200 characters");
      track.program = integer_in(entry, "program", where, 0, 127, 0);
      if (entry.contains("drum") && !entry["drum"].is_boolean()) bad(where + ".drum must be true or false");
      track.is_drum = entry.value("drum", false);
      const std::string role =
          entry.contains("role") && entry["role"].is_string() ? entry["role"].get<std::string>() : "user";
      if (role != "user" && role != "model") bad(where + ".role must be \"user\" or \"model\", got \"" + role + "\"");
      score.tracks.push_back(track);
      take.roles.push_back(role);
    }
  } else {
    score.tracks.push_back(Track{"melody", 0, false, 0, {}});
    take.roles.push_back("user");
  }

  if (!body.contains("notes") || !body["notes"].is_array()) bad("take.notes must be an array of notes");
  const json& notes = body["notes"];
  if (notes.size() > kMaxTakeNotes)
    bad("take.notes has " + std::to_string(notes.size()) + " notes, more than the " + std::to_string(kMaxTakeNotes) +
        " a take may have");
  for (size_t i = 0; i < notes.size(); ++i) {
    const json& entry = notes[i];
    const std::string where = "take.notes[" + std::to_string(i) + "]";
    if (!entry.is_object()) bad(where + " must be an object");
    check_keys(entry, where, {"track", "pitch", "start", "end", "velocity"});
    const int track = integer_in(entry, "track", where, 0, static_cast<int>(score.tracks.size()) - 1, 0);
    Note note;
    if (!entry.contains("pitch")) bad(where + ".pitch is missing");
    note.pitch = integer_in(entry, "pitch", where, 0, 127, 60);
    note.velocity = integer_in(entry, "velocity", where, 1, 127, 100);
    const double start = number_in(entry, "start", where, 0, kMaxTakeBeats);
    const double end = number_in(entry, "end", where, 0, kMaxTakeBeats);
    note.start_tick = beats_to_ticks(start, score.ticks_per_quarter);
    note.end_tick = beats_to_ticks(end, score.ticks_per_quarter);
    if (note.end_tick <= note.start_tick)
      bad(where + " ends (" + entry["end"].dump() + ") before it starts (" + entry["start"].dump() +
          ") or lasts less than 1/480 beat");
    score.tracks[static_cast<size_t>(track)].notes.push_back(note);
  }
  assign_channels(score);
  score.normalize();
  score.update_seconds();
  take.score = std::move(score);
  return take;
}

std::string download_name(const Take& take) {
  std::string name = take.name.empty() ? "take-" + take.id : take.name;
  std::string out;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')
      out += c;
    else if (!out.empty() && out.back() != '-')
      out += '-';
    if (out.size() >= 80) break;
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  return out.empty() ? "take" : out;
}

TakeStore::TakeStore(size_t capacity) : capacity_(std::max<size_t>(1, capacity)), ids_(std::random_device{}()) {}

std::shared_ptr<const Take> TakeStore::add(Take take) {
  std::lock_guard lock(mutex_);
  char id[20];
  do {
    std::snprintf(id, sizeof id, "%012llx", static_cast<unsigned long long>(ids_() & 0xffffffffffffULL));
  } while (by_id_.count(id));
  take.id = id;
  ++counter_;
  if (take.name.empty()) take.name = take.kind + " " + std::to_string(counter_);
  auto stored = std::make_shared<const Take>(std::move(take));
  by_id_[stored->id] = stored;
  order_.push_back(stored->id);
  while (order_.size() > capacity_) {
    by_id_.erase(order_.front());
    order_.pop_front();
  }
  return stored;
}

std::shared_ptr<const Take> TakeStore::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto found = by_id_.find(id);
  return found == by_id_.end() ? nullptr : found->second;
}

std::vector<std::shared_ptr<const Take>> TakeStore::list() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<const Take>> takes;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) takes.push_back(by_id_.at(*it));
  return takes;
}

size_t TakeStore::size() const {
  std::lock_guard lock(mutex_);
  return by_id_.size();
}

}  // namespace cadenza::studio
