#include "encoding/performance.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "encoding/factories.h"
#include "encoding/spec_options.h"

namespace cadenza {

namespace {

// Longest sequence encode() produces: a guard against scores whose times run off to absurd values (a gap of
// days would otherwise become millions of TIME_SHIFTs).
constexpr int64_t kMaxTokens = int64_t{1} << 26;
// Latest grid step encode() accepts (about 10 days at 100 steps per second); beyond it int64 stays far away.
constexpr int64_t kMaxStep = int64_t{1} << 40;

// Nearest grid step of a time in seconds, halves up (Magenta's quantize cutoff 0.5).
int64_t seconds_to_step(double seconds, int steps_per_second) {
  double step = std::floor(seconds * steps_per_second + 0.5);
  if (!(step < static_cast<double>(kMaxStep))) return kMaxStep;  // also catches NaN
  return std::max<int64_t>(0, static_cast<int64_t>(step));
}

class PerformanceGrammar : public Grammar {
 public:
  explicit PerformanceGrammar(const PerformanceEncoding& encoding)
      : spec_(encoding.performance_spec()),
        vocabulary_size_(encoding.vocabulary().size()),
        first_note_off_(encoding.first_note_off()),
        first_time_shift_(encoding.first_time_shift()),
        first_velocity_(encoding.first_velocity()),
        sounding_(spec_.num_pitches(), 0),
        started_now_(spec_.num_pitches(), 0) {}

  // The same rules as allows(), range by range (this runs once per generated token).
  void allowed(std::vector<uint8_t>& mask) const override {
    mask.assign(vocabulary_size_, 0);
    const int num_pitches = spec_.num_pitches();
    if (spec_.num_velocity_bins == 0 || current_bin_ != 0)
      for (int pitch_index = 0; pitch_index < num_pitches; ++pitch_index)
        mask[pitch_index] = !started_now_[pitch_index];
    if (pending_velocity_) return;
    for (int pitch_index = 0; pitch_index < num_pitches; ++pitch_index)
      mask[first_note_off_ + pitch_index] = sounding_[pitch_index] && !started_now_[pitch_index];
    std::fill(mask.begin() + first_time_shift_, mask.begin() + first_velocity_, 1);
    if (static_cast<int>(started_list_.size()) < num_pitches)
      for (int bin = 1; bin <= spec_.num_velocity_bins && 1 + (bin - 1) * spec_.velocity_bin_size() <= 127; ++bin)
        mask[first_velocity_ + bin - 1] = bin != current_bin_;
  }

  void push(Token token) override {
    if (token < 0 || token >= vocabulary_size_)
      throw Error("performance grammar: token " + std::to_string(token) + " is outside the vocabulary 0.." +
                  std::to_string(vocabulary_size_ - 1));
    if (!allows(token))
      throw Error("performance grammar: token " + std::to_string(token) + " (" + token_name(token) +
                  ") is not allowed here");
    if (token < first_note_off_) {
      if (!sounding_[token]) ++sounding_count_;
      sounding_[token] = 1;
      started_now_[token] = 1;
      started_list_.push_back(token);
      pending_velocity_ = false;
    } else if (token < first_time_shift_) {
      sounding_[token - first_note_off_] = 0;
      --sounding_count_;
    } else if (token < first_velocity_) {
      for (int pitch_index : started_list_) started_now_[pitch_index] = 0;
      started_list_.clear();
    } else {
      current_bin_ = token - first_velocity_ + 1;
      pending_velocity_ = true;
    }
  }

  bool can_end() const override { return sounding_count_ == 0 && !pending_velocity_; }
  std::unique_ptr<Grammar> clone() const override { return std::make_unique<PerformanceGrammar>(*this); }

 private:
  // The vocabulary's name of an in-range token, rebuilt from the layout (for error messages).
  std::string token_name(Token token) const {
    if (token < first_note_off_) return "NOTE_ON_" + std::to_string(spec_.min_pitch + token);
    if (token < first_time_shift_) return "NOTE_OFF_" + std::to_string(spec_.min_pitch + token - first_note_off_);
    if (token < first_velocity_) return "TIME_SHIFT_" + std::to_string(token - first_time_shift_ + 1);
    return "VELOCITY_" + std::to_string(token - first_velocity_ + 1);
  }

  bool allows(Token token) const {
    if (token < 0 || token >= vocabulary_size_) return false;
    if (token < first_note_off_)  // NOTE_ON: needs a velocity when there are bins; no zero-length re-strike
      return (spec_.num_velocity_bins == 0 || current_bin_ != 0) && !started_now_[token];
    if (pending_velocity_) return false;  // a VELOCITY is followed by its NOTE_ON
    if (token < first_time_shift_) {
      int pitch_index = token - first_note_off_;
      return sounding_[pitch_index] && !started_now_[pitch_index];
    }
    if (token < first_velocity_) return true;
    int bin = token - first_velocity_ + 1;
    return bin != current_bin_ && 1 + (bin - 1) * spec_.velocity_bin_size() <= 127 &&
           static_cast<int>(started_list_.size()) < spec_.num_pitches();
  }

  PerformanceSpec spec_;
  int vocabulary_size_;
  Token first_note_off_, first_time_shift_, first_velocity_;
  std::vector<uint8_t> sounding_;     // per pitch index
  std::vector<uint8_t> started_now_;  // per pitch index: a NOTE_ON since the last TIME_SHIFT
  std::vector<int> started_list_;     // the pitch indices set in started_now_, to reset them cheaply
  int sounding_count_ = 0;
  int current_bin_ = 0;  // 0: no VELOCITY yet
  bool pending_velocity_ = false;
};

struct StepNote {
  int64_t start = 0;
  int64_t end = 0;
  int pitch = 0;
  int velocity = 0;
};

struct Event {
  int64_t step = 0;
  int kind = 0;  // 0 = note off, 1 = note on: offs first at the same step
  int pitch = 0;
  int velocity = 0;
};

}  // namespace

int PerformanceSpec::velocity_to_bin(int velocity) const {
  if (num_velocity_bins == 0) return 0;
  return (std::clamp(velocity, 1, 127) - 1) / velocity_bin_size() + 1;
}

int PerformanceSpec::bin_to_velocity(int velocity_bin) const {
  if (num_velocity_bins == 0) return velocity;
  return std::clamp(1 + (velocity_bin - 1) * velocity_bin_size(), 1, 127);
}

nlohmann::json PerformanceSpec::to_json() const {
  return {{"name", "performance"},
          {"steps_per_second", steps_per_second},
          {"max_shift_steps", max_shift_steps},
          {"num_velocity_bins", num_velocity_bins},
          {"min_pitch", min_pitch},
          {"max_pitch", max_pitch},
          {"keep_drums", keep_drums},
          {"velocity", velocity}};
}

PerformanceSpec PerformanceSpec::from_json(const nlohmann::json& json) {
  const SpecOptions options(
      json, "performance encoding", "performance",
      {"steps_per_second", "max_shift_steps", "num_velocity_bins", "min_pitch", "max_pitch", "keep_drums", "velocity"});
  PerformanceSpec spec;
  spec.steps_per_second = options.integer("steps_per_second", spec.steps_per_second, 1, 1000);
  spec.max_shift_steps = options.integer("max_shift_steps", spec.max_shift_steps, 1, 1000);
  spec.num_velocity_bins = options.integer("num_velocity_bins", spec.num_velocity_bins, 0, 127);
  spec.min_pitch = options.integer("min_pitch", spec.min_pitch, 0, 127);
  spec.max_pitch = options.integer("max_pitch", spec.max_pitch, 0, 127);
  if (spec.min_pitch > spec.max_pitch)
    throw Error("performance encoding: min_pitch " + std::to_string(spec.min_pitch) + " is above max_pitch " +
                std::to_string(spec.max_pitch));
  spec.keep_drums = options.boolean("keep_drums", spec.keep_drums);
  spec.velocity = options.integer("velocity", spec.velocity, 1, 127);
  return spec;
}

PerformanceEncoding::PerformanceEncoding(PerformanceSpec spec) : spec_(spec) {
  std::vector<std::string> names;
  for (int pitch = spec_.min_pitch; pitch <= spec_.max_pitch; ++pitch)
    names.push_back("NOTE_ON_" + std::to_string(pitch));
  for (int pitch = spec_.min_pitch; pitch <= spec_.max_pitch; ++pitch)
    names.push_back("NOTE_OFF_" + std::to_string(pitch));
  for (int steps = 1; steps <= spec_.max_shift_steps; ++steps) names.push_back("TIME_SHIFT_" + std::to_string(steps));
  for (int bin = 1; bin <= spec_.num_velocity_bins; ++bin) names.push_back("VELOCITY_" + std::to_string(bin));
  vocabulary_ = Vocabulary(std::move(names));
}

nlohmann::json PerformanceEncoding::spec() const {
  return spec_.to_json();
}

Token PerformanceEncoding::note_on(int pitch) const {
  if (pitch < spec_.min_pitch || pitch > spec_.max_pitch) return -1;
  return pitch - spec_.min_pitch;
}

Token PerformanceEncoding::note_off(int pitch) const {
  if (pitch < spec_.min_pitch || pitch > spec_.max_pitch) return -1;
  return first_note_off() + (pitch - spec_.min_pitch);
}

Token PerformanceEncoding::time_shift(int steps) const {
  if (steps < 1 || steps > spec_.max_shift_steps) return -1;
  return first_time_shift() + steps - 1;
}

Token PerformanceEncoding::velocity(int velocity_bin) const {
  if (velocity_bin < 1 || velocity_bin > spec_.num_velocity_bins) return -1;
  return first_velocity() + velocity_bin - 1;
}

int PerformanceEncoding::token_pitch(Token token) const {
  if (token < 0 || token >= first_time_shift()) return -1;
  return spec_.min_pitch + (token < first_note_off() ? token : token - first_note_off());
}

Token PerformanceEncoding::with_pitch(Token token, int pitch) const {
  if (token < 0 || token >= first_time_shift()) return -1;
  return token < first_note_off() ? note_on(pitch) : note_off(pitch);
}

std::vector<Token> PerformanceEncoding::encode(const Score& score) const {
  // Seconds are recomputed rather than trusted, so that a score whose ticks were edited by hand still encodes
  // at the right times.
  Score timed;
  timed.ticks_per_quarter = score.ticks_per_quarter;
  timed.tempos = score.tempos;
  if (timed.ticks_per_quarter <= 0)
    throw Error("performance encoding: the score" + in_source(score) + " has ticks_per_quarter " +
                std::to_string(score.ticks_per_quarter));
  std::vector<StepNote> notes;
  for (const auto& track : score.tracks) {
    if (track.is_drum && !spec_.keep_drums) continue;
    timed.tracks.assign(1, Track{});
    timed.tracks[0].notes = track.notes;
    timed.update_seconds();
    for (const auto& note : timed.tracks[0].notes) {
      if (note.pitch < spec_.min_pitch || note.pitch > spec_.max_pitch) continue;
      int64_t start = seconds_to_step(note.start_sec, spec_.steps_per_second);
      int64_t end = std::max(seconds_to_step(note.end_sec, spec_.steps_per_second), start + 1);
      notes.push_back({start, end, note.pitch, note.velocity});
    }
  }

  // One key sounds once: per pitch, of notes starting together the last in (end, velocity) order stays, and a
  // note is cut where the next one of its pitch starts.
  std::sort(notes.begin(), notes.end(), [](const StepNote& a, const StepNote& b) {
    if (a.pitch != b.pitch) return a.pitch < b.pitch;
    if (a.start != b.start) return a.start < b.start;
    if (a.end != b.end) return a.end < b.end;
    return a.velocity < b.velocity;
  });
  std::vector<Event> events;
  events.reserve(notes.size() * 2);
  for (size_t i = 0; i < notes.size(); ++i) {
    const StepNote& note = notes[i];
    const bool has_next_same_pitch = i + 1 < notes.size() && notes[i + 1].pitch == note.pitch;
    if (has_next_same_pitch && notes[i + 1].start == note.start) continue;
    int64_t end = has_next_same_pitch ? std::min(note.end, notes[i + 1].start) : note.end;
    events.push_back({note.start, 1, note.pitch, note.velocity});
    events.push_back({end, 0, note.pitch, 0});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.step != b.step) return a.step < b.step;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.pitch < b.pitch;
  });
  if (events.empty()) return {};
  const int64_t shift_tokens = events.back().step / spec_.max_shift_steps + 1;
  if (events.back().step >= kMaxStep || shift_tokens + static_cast<int64_t>(events.size()) * 2 > kMaxTokens)
    throw Error("performance encoding: the score" + in_source(score) + " is too long to encode (" +
                std::to_string(events.back().step) + " steps of 1/" + std::to_string(spec_.steps_per_second) + " s)");

  std::vector<Token> tokens;
  tokens.reserve(events.size() * 2 + static_cast<size_t>(shift_tokens));
  int64_t now = 0;
  int current_bin = 0;
  for (const auto& event : events) {
    for (int64_t gap = event.step - now; gap > 0; gap -= spec_.max_shift_steps)
      tokens.push_back(time_shift(static_cast<int>(std::min<int64_t>(gap, spec_.max_shift_steps))));
    now = event.step;
    if (event.kind == 0) {
      tokens.push_back(note_off(event.pitch));
      continue;
    }
    if (spec_.num_velocity_bins > 0) {
      int bin = spec_.velocity_to_bin(event.velocity);
      if (bin != current_bin) {
        tokens.push_back(velocity(bin));
        current_bin = bin;
      }
    }
    tokens.push_back(note_on(event.pitch));
  }
  return tokens;
}

Score PerformanceEncoding::decode(std::span<const Token> tokens) const {
  const int64_t ticks_per_step = PerformanceSpec::kTicksPerStep;
  Score score = make_empty_score(spec_.decoded_ticks_per_quarter(), 120.0, 4, 4);
  Track track;
  track.name = "performance";
  struct Open {
    int64_t start = -1;  // -1: the pitch does not sound
    int velocity = 0;
  };
  std::vector<Open> open(spec_.num_pitches());
  int64_t now = 0;
  int velocity = spec_.bin_to_velocity(spec_.velocity_to_bin(spec_.velocity));
  auto emit = [&](int pitch_index, int64_t end) {
    const Open& note = open[pitch_index];
    if (end > note.start)
      track.notes.push_back(
          {spec_.min_pitch + pitch_index, note.velocity, note.start * ticks_per_step, end * ticks_per_step});
    open[pitch_index].start = -1;
  };
  for (Token token : tokens) {
    if (token < 0 || token >= vocabulary_.size()) continue;  // not a token of this encoding: ignored
    if (token < first_note_off()) {
      if (open[token].start >= 0) emit(token, now);  // a re-strike ends the sounding note
      open[token] = {now, velocity};
    } else if (token < first_time_shift()) {
      int pitch_index = token - first_note_off();
      if (open[pitch_index].start >= 0) emit(pitch_index, now);
    } else if (token < first_velocity()) {
      now += token - first_time_shift() + 1;
    } else {
      velocity = spec_.bin_to_velocity(token - first_velocity() + 1);
    }
  }
  for (int pitch_index = 0; pitch_index < spec_.num_pitches(); ++pitch_index)
    if (open[pitch_index].start >= 0) emit(pitch_index, std::max(now, open[pitch_index].start + 1));
  score.tracks.push_back(std::move(track));
  score.normalize();
  return score;
}

std::unique_ptr<Grammar> PerformanceEncoding::grammar() const {
  return std::make_unique<PerformanceGrammar>(*this);
}

std::unique_ptr<TokenEncoding> make_performance_encoding(const nlohmann::json& spec) {
  return std::make_unique<PerformanceEncoding>(PerformanceSpec::from_json(spec));
}

}  // namespace cadenza
