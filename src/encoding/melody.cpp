#include "encoding/melody.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "encoding/factories.h"
#include "encoding/spec_options.h"
#include "score/key.h"
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

// The meters a structured melody names, and their bar lengths in quarters x 2 (to stay in integers).
struct Meter {
  int numerator, denominator;
};
constexpr Meter kMeters[] = {{2, 4}, {3, 4}, {4, 4}, {5, 4}, {6, 4}, {2, 2}, {3, 2}, {3, 8}, {6, 8}, {9, 8}, {12, 8}};
constexpr int kMeterCount = sizeof(kMeters) / sizeof(kMeters[0]);
constexpr int kKeyCount = 24;
// The longest listed bar, in quarters (6/4, 3/2, 12/8).
constexpr int kMaxBarQuarters = 6;

// one_key: the tonic of the key minor tunes are moved to (A; major tunes go to C, 0): relative keys, no accidentals.
constexpr int kOneKeyMinorTonic = 9;

constexpr const char* kKeyNames[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

// Ids of the structure tokens, after the NOTE_ONs.
struct StructureIds {
  Token start = -1, end = -1, first_meter = -1, first_key = -1;
  bool one_key = false;  // only KEY_C and KEY_Am are written (melody.h, one_key)
  bool is_meter(Token t) const { return first_meter >= 0 && t >= first_meter && t < first_meter + kMeterCount; }
  bool is_key(Token t) const { return first_key >= 0 && t >= first_key && t < first_key + kKeyCount; }
  // A key token this encoding writes: any of the 24, or with one_key only C major and A minor.
  bool is_written_key(Token t) const {
    return is_key(t) && (!one_key || t == first_key || t == first_key + 12 + kOneKeyMinorTonic);
  }
  Token start_or(Token fallback) const { return start >= 0 ? start : fallback; }
};

class MelodyGrammar : public Grammar {
 public:
  MelodyGrammar(int vocabulary_size, StructureIds ids, int steps_per_quarter)
      : vocabulary_size_(vocabulary_size),
        ids_(ids),
        steps_per_quarter_(steps_per_quarter),
        phase_(ids.end >= 0 ? Phase::kStart : Phase::kSteps) {}

  void allowed(std::vector<uint8_t>& mask) const override {
    mask.assign(vocabulary_size_, 0);
    switch (phase_) {
      case Phase::kStart:
        mask[ids_.start] = 1;
        return;
      case Phase::kMeter:
        for (int m = 0; m < kMeterCount; ++m) mask[ids_.first_meter + m] = 1;
        return;
      case Phase::kKey:
        for (int k = 0; k < kKeyCount; ++k) mask[ids_.first_key + k] = ids_.is_written_key(ids_.first_key + k) ? 1 : 0;
        return;
      case Phase::kEnded:
        mask[ids_.end] = 1;
        return;
      case Phase::kSteps:
        for (Token t = 0; t < ids_.start_or(vocabulary_size_); ++t) mask[t] = 1;
        mask[MelodyEncoding::kNoteOff] = sounding_ ? 1 : 0;
        if (ids_.end >= 0) mask[ids_.end] = sounding_ ? 0 : 1;  // a tune ends between notes
        return;
    }
  }
  void push(Token token) override {
    if (token < 0 || token >= vocabulary_size_)
      throw Error("melody grammar: token " + std::to_string(token) + " is outside the vocabulary 0.." +
                  std::to_string(vocabulary_size_ - 1));
    switch (phase_) {
      case Phase::kStart:
        if (token != ids_.start)
          throw Error("melody grammar: token " + std::to_string(token) + " comes first, where START must");
        phase_ = Phase::kMeter;
        return;
      case Phase::kMeter:
        if (!ids_.is_meter(token))
          throw Error("melody grammar: token " + std::to_string(token) + " follows START, where a METER token must");
        bar_steps_ = static_cast<int>(steps_per_bar(kMeters[token - ids_.first_meter].numerator,
                                                    kMeters[token - ids_.first_meter].denominator, steps_per_quarter_));
        meter_ = token;
        phase_ = Phase::kKey;
        return;
      case Phase::kKey:
        if (!ids_.is_key(token))
          throw Error("melody grammar: token " + std::to_string(token) + " follows the meter, where a KEY token must");
        if (!ids_.is_written_key(token))
          throw Error("melody grammar: token " + std::to_string(token) +
                      " is a key other than C major and A minor, the only keys of a one_key encoding");
        key_ = token;
        phase_ = Phase::kSteps;
        return;
      case Phase::kEnded:
        if (token != ids_.end)
          throw Error("melody grammar: token " + std::to_string(token) + " follows END, where only END may");
        return;
      case Phase::kSteps:
        break;
    }
    if (ids_.end >= 0 && token == ids_.end) {
      if (sounding_) throw Error("melody grammar: END (token " + std::to_string(token) + ") while a note sounds");
      phase_ = Phase::kEnded;
      return;
    }
    if (ids_.is_meter(token) || ids_.is_key(token) || token == ids_.start)
      throw Error("melody grammar: token " + std::to_string(token) + " (START, METER or KEY) inside the melody");
    if (token == MelodyEncoding::kNoteOff && !sounding_)
      throw Error("melody grammar: token " + std::to_string(token) + " (NOTE_OFF) is not allowed while no note sounds");
    if (token == MelodyEncoding::kNoteOff)
      sounding_ = false;
    else if (token >= MelodyEncoding::kFirstNoteOn)
      sounding_ = true;
    ++steps_;
  }
  bool can_end() const override { return phase_ == Phase::kEnded || (phase_ == Phase::kSteps && !sounding_); }
  bool ended() const override { return phase_ == Phase::kEnded; }
  std::unique_ptr<Grammar> clone() const override { return std::make_unique<MelodyGrammar>(*this); }

  StepContext context() const override {
    StepContext context;
    context.meter = meter_, context.key = key_;  // from the header on, at every step (and after END)
    if (phase_ != Phase::kSteps || bar_steps_ <= 0) return context;
    // The next token is step `steps_`; one token per step, so the step k bars before it is k * bar_steps tokens back.
    context.position = 1 + static_cast<int>(steps_ % bar_steps_);
    context.bar = static_cast<int>(steps_ / bar_steps_);
    for (int k = 0; k < kLookbackCount; ++k) {
      const int64_t distance = static_cast<int64_t>(kLookbackBars[k]) * bar_steps_;
      if (steps_ >= distance) context.lookback_distance[k] = static_cast<int>(distance);
    }
    return context;
  }

 private:
  enum class Phase { kStart, kMeter, kKey, kSteps, kEnded };
  int vocabulary_size_;
  StructureIds ids_;
  int steps_per_quarter_;
  Phase phase_;
  bool sounding_ = false;
  int bar_steps_ = 0;
  int64_t steps_ = 0;
  Token meter_ = -1, key_ = -1;  // the header's tokens once read
};

struct StepNote {
  int64_t start = 0;
  int64_t end = 0;
  int pitch = 0;
};

}  // namespace

nlohmann::json MelodySpec::to_json() const {
  nlohmann::json json = {{"name", "melody"},
                         {"steps_per_quarter", steps_per_quarter},
                         {"min_pitch", min_pitch},
                         {"max_pitch", max_pitch},
                         {"transpose_into_range", transpose_into_range},
                         {"qpm", qpm},
                         {"velocity", velocity},
                         {"track", track}};
  // Only when set: a spec without the key is the plain encoding, so older shards and checkpoints compare equal.
  if (structure) json["structure"] = true;
  if (one_key) json["one_key"] = true;
  return json;
}

MelodySpec MelodySpec::from_json(const nlohmann::json& json) {
  const SpecOptions options(json, "melody encoding", "melody",
                            {"steps_per_quarter", "min_pitch", "max_pitch", "transpose_into_range", "qpm", "velocity",
                             "track", "structure", "one_key"});
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
  spec.structure = options.boolean("structure", spec.structure);
  spec.one_key = options.boolean("one_key", spec.one_key);
  if (spec.one_key && !spec.structure)
    throw Error(
        "melody encoding: one_key needs structure true (the KEY token says which of C major and A minor a "
        "tune was moved to)");
  return spec;
}

MelodyEncoding::MelodyEncoding(MelodySpec spec) : spec_(std::move(spec)) {
  std::vector<std::string> names = {"NO_EVENT", "NOTE_OFF"};
  for (int pitch = spec_.min_pitch; pitch <= spec_.max_pitch; ++pitch)
    names.push_back("NOTE_ON_" + std::to_string(pitch));
  if (spec_.structure) {
    names.push_back("START");
    names.push_back("END");
    for (const Meter& meter : kMeters)
      names.push_back("METER_" + std::to_string(meter.numerator) + "_" + std::to_string(meter.denominator));
    for (int minor = 0; minor < 2; ++minor)
      for (int root = 0; root < 12; ++root) names.push_back(std::string("KEY_") + kKeyNames[root] + (minor ? "m" : ""));
  }
  vocabulary_ = Vocabulary(std::move(names));
}

nlohmann::json MelodyEncoding::spec() const {
  return spec_.to_json();
}

Token MelodyEncoding::note_on(int pitch) const {
  if (pitch < spec_.min_pitch || pitch > spec_.max_pitch) return -1;
  return kFirstNoteOn + (pitch - spec_.min_pitch);
}

namespace {

StructureIds structure_ids(const MelodySpec& spec) {
  if (!spec.structure) return {};
  StructureIds ids;
  ids.start = MelodyEncoding::kFirstNoteOn + spec.num_pitches();
  ids.end = ids.start + 1;
  ids.first_meter = ids.end + 1;
  ids.first_key = ids.first_meter + kMeterCount;
  ids.one_key = spec.one_key;
  return ids;
}

}  // namespace

int MelodyEncoding::token_pitch(Token token) const {
  const StructureIds ids = structure_ids(spec_);
  // A KEY token carries its tonic as a pitch in the octave above middle C, so transposition moves it with the notes.
  if (ids.is_key(token)) return 60 + (token - ids.first_key) % 12;
  if (token < kFirstNoteOn || token >= kFirstNoteOn + spec_.num_pitches()) return -1;
  return spec_.min_pitch + (token - kFirstNoteOn);
}

Token MelodyEncoding::with_pitch(Token token, int pitch) const {
  const StructureIds ids = structure_ids(spec_);
  if (ids.is_key(token)) {
    const int mode = (token - ids.first_key) / 12;
    return ids.first_key + 12 * mode + ((pitch % 12) + 12) % 12;
  }
  if (token_pitch(token) < 0) return -1;
  return note_on(pitch);
}

int MelodyEncoding::position_count() const {
  return spec_.structure ? 1 + kMaxBarQuarters * spec_.steps_per_quarter : 0;
}

Token MelodyEncoding::end_token() const {
  return structure_ids(spec_).end;
}

int64_t MelodyEncoding::tune_bar_count(std::span<const Token> tokens, const std::vector<StepContext>& contexts) const {
  const Token end = end_token();
  if (end < 0 || contexts.size() != tokens.size()) return -1;
  const auto first_end = std::find(tokens.begin(), tokens.end(), end);  // padding may repeat END
  if (first_end == tokens.end() || first_end - tokens.begin() < 2) return -1;
  // The last step token before END and the context it was read with (contexts[i] is of token i + 1).
  const size_t last = static_cast<size_t>(first_end - tokens.begin()) - 1;
  const StepContext& at_last = contexts[last - 1];
  if (!is_step_token(tokens[last]) || at_last.bar < 0) return -1;
  // A closing NOTE_OFF on a bar line ends the tune at that line; any other last step lasts into its bar.
  const bool on_the_line = tokens[last] == kNoteOff && at_last.position == 1;
  return at_last.bar + (on_the_line ? 0 : 1);
}

Token MelodyEncoding::meter_token(int numerator, int denominator) const {
  const StructureIds ids = structure_ids(spec_);
  if (ids.end < 0) return -1;
  for (int m = 0; m < kMeterCount; ++m)
    if (kMeters[m].numerator == numerator && kMeters[m].denominator == denominator) return ids.first_meter + m;
  // Another meter: the listed one with the same bar length, else 4/4.
  const double quarters = quarters_per_bar(numerator, denominator);
  for (int m = 0; m < kMeterCount; ++m)
    if (quarters_per_bar(kMeters[m].numerator, kMeters[m].denominator) == quarters) return ids.first_meter + m;
  return ids.first_meter + 2;  // 4/4
}

Token MelodyEncoding::key_token(int root, bool minor) const {
  const StructureIds ids = structure_ids(spec_);
  if (ids.end < 0) return -1;
  return ids.first_key + (minor ? 12 : 0) + ((root % 12) + 12) % 12;
}

int MelodyEncoding::key_shift(const Score& score) const {
  if (!spec_.one_key) return 0;
  const Key key = tune_key(score).value_or(Key{});
  return nearest_shift(key.root, key.mode == ScaleMode::kMinor ? kOneKeyMinorTonic : 0);
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
  if (notes.empty()) {
    if (!spec_.structure) return {};
    const TimeSignature meter = meter_at(score, 0);
    const Key key = tune_key(score).value_or(Key{});
    return {structure_ids(spec_).start, meter_token(meter.numerator, meter.denominator),
            key_token(key.root + key_shift(score), key.mode == ScaleMode::kMinor), end_token()};
  }

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
  // one_key: the move to C major / A minor first; the octave search below starts from it.
  const int moved_key = key_shift(score);
  int shift = moved_key;
  if (lowest + shift < spec_.min_pitch || highest + shift > spec_.max_pitch) {
    if (!spec_.transpose_into_range)
      throw Error("melody encoding: the melody" + in_source(score) + " spans pitches " + span +
                  (moved_key != 0 ? " (moved " + std::to_string(moved_key) + " semitones to C major / A minor)" : "") +
                  ", outside the encoding range " + range + " (transpose_into_range is off)");
    // Octave shifts that fit form one run of consecutive octaves not containing 0; take the one nearest 0.
    bool found = false;
    for (int octaves = 1; octaves <= 11 && !found; ++octaves)
      for (int direction : {1, -1}) {
        int candidate = moved_key + direction * 12 * octaves;
        if (lowest + candidate >= spec_.min_pitch && highest + candidate <= spec_.max_pitch) {
          shift = candidate;
          found = true;
          break;
        }
      }
    if (!found)
      throw Error("melody encoding: the melody" + in_source(score) + " spans pitches " + span +
                  (moved_key != 0 ? " (moved " + std::to_string(moved_key) + " semitones to C major / A minor)" : "") +
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
  if (spec_.structure) {
    // The meter at the first step, and the key of the whole score (its signature, or estimated from every non-drum
    // note: the chords of an accompaniment help); whole-octave shifts leave the tonic's pitch class as it is (a one_key
    // move takes it to C or A).
    const TimeSignature meter = meter_at(score, 0);
    const Key key = tune_key(score).value_or(Key{});
    tokens.insert(tokens.begin(), {structure_ids(spec_).start, meter_token(meter.numerator, meter.denominator),
                                   key_token(key.root + moved_key, key.mode == ScaleMode::kMinor)});
    tokens.push_back(end_token());
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
  const StructureIds ids = structure_ids(spec_);
  for (Token token : tokens) {
    if (token < 0 || token >= vocabulary_.size()) continue;  // not a token of this encoding: ignored
    if (ids.end >= 0) {
      if (token == ids.end) break;  // the tune is over
      if (token == ids.start) continue;
      if (ids.is_meter(token)) {
        const Meter& meter = kMeters[token - ids.first_meter];
        score.time_signatures.front().numerator = meter.numerator;
        score.time_signatures.front().denominator = meter.denominator;
        continue;
      }
      if (ids.is_key(token)) {
        const int index = token - ids.first_key;
        score.key_signatures = {key_signature_of(Key{index % 12, index >= 12 ? ScaleMode::kMinor : ScaleMode::kMajor})};
        continue;
      }
    }
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
  return std::make_unique<MelodyGrammar>(vocabulary_.size(), structure_ids(spec_), spec_.steps_per_quarter);
}

std::unique_ptr<TokenEncoding> make_melody_encoding(const nlohmann::json& spec) {
  return std::make_unique<MelodyEncoding>(MelodySpec::from_json(spec));
}

std::vector<int64_t> MelodyEncoding::token_steps(std::span<const Token> tokens) const {
  std::vector<int64_t> steps(tokens.size());
  int64_t step = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    steps[i] = step;
    if (is_step_token(tokens[i])) ++step;
  }
  return steps;
}

}  // namespace cadenza
