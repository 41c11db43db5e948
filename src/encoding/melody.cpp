#include "encoding/melody.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "encoding/factories.h"
#include "encoding/spec_options.h"
#include "score/operations.h"

namespace cadenza {

namespace {

// Longest sequence encode() produces (about 58 hours of 16th notes at 120 qpm): a guard against scores whose
// ticks run off to absurd values, which would otherwise allocate without bound.
constexpr int64_t kMaxSteps = int64_t{1} << 24;

// nearest_grid_step() clamped to a few times kMaxSteps, so that step arithmetic below stays small.
int64_t grid_step(int64_t tick, int steps_per_quarter, int ticks_per_quarter) {
  return std::clamp(nearest_grid_step(tick, steps_per_quarter, ticks_per_quarter), -kMaxSteps * 4, kMaxSteps * 4);
}

class MelodyGrammar : public Grammar {
 public:
  explicit MelodyGrammar(int vocabulary_size) : vocabulary_size_(vocabulary_size) {}

  void allowed(std::vector<uint8_t>& mask) const override {
    mask.assign(vocabulary_size_, 1);
    mask[MelodyEncoding::kNoteOff] = sounding_ ? 1 : 0;
  }
  void push(Token token) override {
    if (token < 0 || token >= vocabulary_size_)
      throw Error("melody grammar: token " + std::to_string(token) + " is outside the vocabulary 0.." +
                  std::to_string(vocabulary_size_ - 1));
    if (token == MelodyEncoding::kNoteOff && !sounding_)
      throw Error("melody grammar: token " + std::to_string(token) + " (NOTE_OFF) is not allowed while no note sounds");
    if (token == MelodyEncoding::kNoteOff)
      sounding_ = false;
    else if (token >= MelodyEncoding::kFirstNoteOn)
      sounding_ = true;
  }
  bool can_end() const override { return !sounding_; }
  std::unique_ptr<Grammar> clone() const override { return std::make_unique<MelodyGrammar>(*this); }

 private:
  int vocabulary_size_;
  bool sounding_ = false;
};

struct StepNote {
  int64_t start = 0;
  int64_t end = 0;
  int pitch = 0;
};

}  // namespace

nlohmann::json MelodySpec::to_json() const {
  return {{"name", "melody"},
          {"steps_per_quarter", steps_per_quarter},
          {"min_pitch", min_pitch},
          {"max_pitch", max_pitch},
          {"transpose_into_range", transpose_into_range},
          {"qpm", qpm},
          {"velocity", velocity},
          {"track", track}};
}

MelodySpec MelodySpec::from_json(const nlohmann::json& json) {
  const SpecOptions options(
      json, "melody encoding", "melody",
      {"steps_per_quarter", "min_pitch", "max_pitch", "transpose_into_range", "qpm", "velocity", "track"});
  MelodySpec spec;
  spec.steps_per_quarter = options.integer("steps_per_quarter", spec.steps_per_quarter, 1, 480);
  spec.min_pitch = options.integer("min_pitch", spec.min_pitch, 0, 127);
  spec.max_pitch = options.integer("max_pitch", spec.max_pitch, 0, 127);
  if (spec.min_pitch > spec.max_pitch)
    throw Error("melody encoding: min_pitch " + std::to_string(spec.min_pitch) + " is above max_pitch " +
                std::to_string(spec.max_pitch));
  spec.transpose_into_range = options.boolean("transpose_into_range", spec.transpose_into_range);
  spec.qpm = options.number("qpm", spec.qpm, 1.0, 1000.0);
  spec.velocity = options.integer("velocity", spec.velocity, 1, 127);
  spec.track = options.string("track", spec.track);
  return spec;
}

MelodyEncoding::MelodyEncoding(MelodySpec spec) : spec_(std::move(spec)) {
  std::vector<std::string> names = {"NO_EVENT", "NOTE_OFF"};
  for (int pitch = spec_.min_pitch; pitch <= spec_.max_pitch; ++pitch)
    names.push_back("NOTE_ON_" + std::to_string(pitch));
  vocabulary_ = Vocabulary(std::move(names));
}

nlohmann::json MelodyEncoding::spec() const {
  return spec_.to_json();
}

Token MelodyEncoding::note_on(int pitch) const {
  if (pitch < spec_.min_pitch || pitch > spec_.max_pitch) return -1;
  return kFirstNoteOn + (pitch - spec_.min_pitch);
}

int MelodyEncoding::token_pitch(Token token) const {
  if (token < kFirstNoteOn || token >= vocabulary_.size()) return -1;
  return spec_.min_pitch + (token - kFirstNoteOn);
}

Token MelodyEncoding::with_pitch(Token token, int pitch) const {
  if (token_pitch(token) < 0) return -1;
  return note_on(pitch);
}

std::vector<Token> MelodyEncoding::encode(const Score& score) const {
  if (score.ticks_per_quarter <= 0)
    throw Error("melody encoding: the score" + in_source(score) + " has ticks_per_quarter " +
                std::to_string(score.ticks_per_quarter));
  const Score melody = extract_melody(quantize(score, spec_.steps_per_quarter), spec_.track);

  std::vector<StepNote> notes;
  for (const auto& track : melody.tracks)
    for (const auto& note : track.notes) {
      StepNote step_note{grid_step(note.start_tick, spec_.steps_per_quarter, melody.ticks_per_quarter),
                         grid_step(note.end_tick, spec_.steps_per_quarter, melody.ticks_per_quarter), note.pitch};
      if (step_note.start < 0) continue;  // cannot happen for valid scores (ticks are >= 0)
      step_note.end = std::max(step_note.end, step_note.start + 1);
      notes.push_back(step_note);
    }
  if (notes.empty()) return {};

  // extract_melody() already gives one line; this keeps the encoder monophonic whatever it is handed: of notes
  // starting together the highest wins, and a note is cut where the next one starts.
  std::sort(notes.begin(), notes.end(), [](const StepNote& a, const StepNote& b) {
    return a.start != b.start ? a.start < b.start : a.pitch < b.pitch;
  });
  std::vector<StepNote> line;
  for (const auto& note : notes) {
    if (!line.empty() && line.back().start == note.start) line.pop_back();
    if (!line.empty() && line.back().end > note.start) line.back().end = note.start;
    line.push_back(note);
  }

  int lowest = 127, highest = 0;
  for (const auto& note : line) {
    lowest = std::min(lowest, note.pitch);
    highest = std::max(highest, note.pitch);
  }
  const std::string span = std::to_string(lowest) + ".." + std::to_string(highest);
  const std::string range = std::to_string(spec_.min_pitch) + ".." + std::to_string(spec_.max_pitch);
  if (highest - lowest > spec_.max_pitch - spec_.min_pitch)
    throw Error("melody encoding: the melody" + in_source(score) + " spans pitches " + span + " (" +
                std::to_string(highest - lowest + 1) + " semitones), wider than the encoding range " + range);
  int shift = 0;
  if (lowest < spec_.min_pitch || highest > spec_.max_pitch) {
    if (!spec_.transpose_into_range)
      throw Error("melody encoding: the melody" + in_source(score) + " spans pitches " + span +
                  ", outside the encoding range " + range + " (transpose_into_range is off)");
    // Octave shifts that fit form one run of consecutive octaves not containing 0; take the one nearest 0.
    bool found = false;
    for (int octaves = 1; octaves <= 11 && !found; ++octaves)
      for (int direction : {1, -1}) {
        int candidate = direction * 12 * octaves;
        if (lowest + candidate >= spec_.min_pitch && highest + candidate <= spec_.max_pitch) {
          shift = candidate;
          found = true;
          break;
        }
      }
    if (!found)
      throw Error("melody encoding: the melody" + in_source(score) + " spans pitches " + span +
                  " and no whole-octave shift fits it into the encoding range " + range);
  }

  const int64_t length = line.back().end + 1;  // the final NOTE_OFF sits on the last note's end step
  if (length > kMaxSteps)
    throw Error("melody encoding: the melody" + in_source(score) + " lasts " + std::to_string(length) +
                " steps, more than the limit of " + std::to_string(kMaxSteps));
  std::vector<Token> tokens(static_cast<size_t>(length), kNoEvent);
  for (size_t i = 0; i < line.size(); ++i) {
    tokens[line[i].start] = note_on(line[i].pitch + shift);
    // A note running into the next one needs no NOTE_OFF: the next NOTE_ON implies it.
    if (i + 1 == line.size() || line[i + 1].start > line[i].end) tokens[line[i].end] = kNoteOff;
  }
  return tokens;
}

Score MelodyEncoding::decode(std::span<const Token> tokens) const {
  const int64_t ticks_per_step = spec_.ticks_per_step();
  Score score = make_empty_score(spec_.decoded_ticks_per_quarter(), spec_.qpm, 4, 4);
  Track track;
  track.name = "melody";
  int64_t step = 0;
  int sounding_pitch = -1;
  int64_t sounding_start = 0;
  auto close = [&](int64_t end_step) {
    if (sounding_pitch >= 0 && end_step > sounding_start)
      track.notes.push_back(
          {sounding_pitch, spec_.velocity, sounding_start * ticks_per_step, end_step * ticks_per_step});
    sounding_pitch = -1;
  };
  for (Token token : tokens) {
    if (token < 0 || token >= vocabulary_.size()) continue;  // not a token of this encoding: ignored
    if (token == kNoteOff) {
      close(step);
    } else if (token >= kFirstNoteOn) {
      close(step);
      sounding_pitch = token_pitch(token);
      sounding_start = step;
    }
    ++step;
  }
  close(step);
  score.tracks.push_back(std::move(track));
  score.normalize();
  return score;
}

std::unique_ptr<Grammar> MelodyEncoding::grammar() const {
  return std::make_unique<MelodyGrammar>(vocabulary_.size());
}

std::unique_ptr<TokenEncoding> make_melody_encoding(const nlohmann::json& spec) {
  return std::make_unique<MelodyEncoding>(MelodySpec::from_json(spec));
}

}  // namespace cadenza
