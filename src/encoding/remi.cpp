#include "encoding/remi.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "encoding/factories.h"
#include "encoding/spec_options.h"
#include "score/operations.h"

namespace cadenza {

namespace {

enum class Kind : uint8_t { kBar, kPosition, kTimeSig, kTempo, kProgram, kPitch, kDrumPitch, kVelocity, kDuration };

constexpr int kDenominators[] = {2, 4, 8, 16};

void check_range(const char* key, double value, double low, double high) {
  if (!(value >= low && value <= high)) {
    char text[160];
    std::snprintf(text, sizeof text, "remi encoding: option '%s' = %g is outside %g..%g", key, value, low, high);
    throw Error(text);
  }
}

void validate(const RemiSpec& spec) {
  check_range("positions_per_quarter", spec.positions_per_quarter, 1, 48);
  if (RemiEncoding::kDecodedTicksPerQuarter % spec.positions_per_quarter != 0)
    throw Error("remi encoding: option 'positions_per_quarter' = " + std::to_string(spec.positions_per_quarter) +
                " must divide 480 (decoded scores have 480 ticks per quarter)");
  check_range("lowest_pitch", spec.lowest_pitch, 0, 127);
  check_range("highest_pitch", spec.highest_pitch, 0, 127);
  if (spec.lowest_pitch > spec.highest_pitch)
    throw Error("remi encoding: lowest_pitch " + std::to_string(spec.lowest_pitch) + " is above highest_pitch " +
                std::to_string(spec.highest_pitch));
  check_range("num_velocity_bins", spec.num_velocity_bins, 1, 127);
  check_range("max_duration_quarters", spec.max_duration_quarters, 1, 32);
  check_range("num_tempo_bins", spec.num_tempo_bins, 1, 256);
  check_range("min_tempo", spec.min_tempo, 1, 1000);
  check_range("max_tempo", spec.max_tempo, 1, 1000);
  if (!(spec.min_tempo < spec.max_tempo))
    throw Error("remi encoding: min_tempo " + std::to_string(spec.min_tempo) + " must be below max_tempo " +
                std::to_string(spec.max_tempo));
}

}  // namespace

// ---- token tables ------------------------------------------------------------------------------------------

struct RemiEncoding::Layout {
  RemiSpec spec;
  Vocabulary vocabulary;
  std::vector<Kind> kind;  // per token
  std::vector<int> value;  // per token: position, meter index, tempo bin, program key, pitch, velocity, duration

  Token first_position = 0, first_time_sig = 0, first_tempo = 0, first_program = 0, first_pitch = 0,
        first_drum_pitch = 0, first_velocity = 0, first_duration = 0;
  int num_positions = 0, num_time_sigs = 0, num_tempos = 0, num_programs = 0, num_pitches = 0, num_drum_pitches = 0,
      num_velocities = 0, num_durations = 0;

  struct Meter {
    int numerator = 4;
    int denominator = 4;
    int positions = 16;
  };
  std::vector<Meter> meters;  // one per TimeSig token
  int common_time_positions = 16;

  std::vector<double> tempo_qpm;
  std::vector<int32_t> tempo_microseconds;
  std::vector<int> velocity_values;
  std::array<int, 128> velocity_bin{};  // velocity -> nearest bin

  explicit Layout(const RemiSpec& remi_spec) : spec(remi_spec) {
    const int ppq = spec.positions_per_quarter;
    common_time_positions = 4 * ppq;
    std::vector<std::string> names;
    auto add = [&](std::string name, Kind token_kind, int token_value) {
      names.push_back(std::move(name));
      kind.push_back(token_kind);
      value.push_back(token_value);
    };
    add("Bar", Kind::kBar, 0);

    first_position = static_cast<Token>(names.size());
    num_positions = (spec.use_time_signatures ? kMaxBarQuarters : 4) * ppq;
    for (int p = 0; p < num_positions; ++p) add("Position_" + std::to_string(p), Kind::kPosition, p);

    first_time_sig = static_cast<Token>(names.size());
    if (spec.use_time_signatures) {
      for (int denominator : kDenominators)
        for (int numerator = 1; numerator * 4 <= kMaxBarQuarters * denominator; ++numerator) {
          if (numerator * 4 * ppq % denominator != 0) continue;
          const int positions = numerator * 4 * ppq / denominator;
          meters.push_back({numerator, denominator, positions});
          add("TimeSig_" + std::to_string(numerator) + "/" + std::to_string(denominator), Kind::kTimeSig,
              static_cast<int>(meters.size()) - 1);
        }
    }
    num_time_sigs = static_cast<int>(meters.size());

    first_tempo = static_cast<Token>(names.size());
    num_tempos = spec.num_tempo_bins;
    const double log_low = std::log(spec.min_tempo), log_high = std::log(spec.max_tempo);
    for (int i = 0; i < num_tempos; ++i) {
      const double fraction = num_tempos == 1 ? 0.0 : static_cast<double>(i) / (num_tempos - 1);
      const double qpm = std::exp(log_low + fraction * (log_high - log_low));
      tempo_qpm.push_back(qpm);
      tempo_microseconds.push_back(static_cast<int32_t>(std::lround(60'000'000.0 / qpm)));
      char name[32];
      std::snprintf(name, sizeof name, "Tempo_%.2f", qpm);
      if (!names.empty() && names.back() == name)
        throw Error("remi encoding: " + std::to_string(num_tempos) + " tempo bins between " +
                    std::to_string(spec.min_tempo) + " and " + std::to_string(spec.max_tempo) +
                    " qpm are too close to tell apart");
      add(name, Kind::kTempo, i);
    }

    first_program = static_cast<Token>(names.size());
    if (spec.use_programs) {
      for (int program = 0; program < 128; ++program)
        add("Program_" + std::to_string(program), Kind::kProgram, program);
      add("Program_drums", Kind::kProgram, kDrumProgram);
    }
    num_programs = static_cast<int>(names.size()) - first_program;

    first_pitch = static_cast<Token>(names.size());
    for (int pitch = spec.lowest_pitch; pitch <= spec.highest_pitch; ++pitch)
      add("Pitch_" + std::to_string(pitch), Kind::kPitch, pitch);
    num_pitches = static_cast<int>(names.size()) - first_pitch;

    first_drum_pitch = static_cast<Token>(names.size());
    if (spec.use_programs)
      for (int pitch = kLowestDrumPitch; pitch <= kHighestDrumPitch; ++pitch)
        add("DrumPitch_" + std::to_string(pitch), Kind::kDrumPitch, pitch);
    num_drum_pitches = static_cast<int>(names.size()) - first_drum_pitch;

    first_velocity = static_cast<Token>(names.size());
    num_velocities = spec.num_velocity_bins;
    for (int i = 1; i <= num_velocities; ++i) {
      const int velocity = static_cast<int>(std::lround(i * 127.0 / num_velocities));
      velocity_values.push_back(velocity);
      add("Velocity_" + std::to_string(velocity), Kind::kVelocity, velocity);
    }
    // Nearest bin for every velocity (a tie goes to the lower bin).
    for (int velocity = 0; velocity < 128; ++velocity) {
      int best = 0;
      for (int bin = 1; bin < num_velocities; ++bin)
        if (std::abs(velocity_values[bin] - velocity) < std::abs(velocity_values[best] - velocity)) best = bin;
      velocity_bin[velocity] = best;
    }

    first_duration = static_cast<Token>(names.size());
    num_durations = spec.max_duration_quarters * ppq;
    for (int d = 1; d <= num_durations; ++d) add("Duration_" + std::to_string(d), Kind::kDuration, d);

    vocabulary = Vocabulary(std::move(names));
  }

  bool valid(Token token) const { return token >= 0 && token < vocabulary.size(); }

  // Index of the TimeSig token of a meter, or -1.
  int meter_index(int numerator, int denominator) const {
    for (size_t i = 0; i < meters.size(); ++i)
      if (meters[i].numerator == numerator && meters[i].denominator == denominator) return static_cast<int>(i);
    return -1;
  }

  int tempo_bin(int32_t microseconds_per_quarter) const {
    if (num_tempos == 1 || microseconds_per_quarter <= 0) return 0;
    const double qpm = 60'000'000.0 / microseconds_per_quarter;
    const double log_low = std::log(spec.min_tempo), log_high = std::log(spec.max_tempo);
    const double fraction = (std::log(qpm) - log_low) / (log_high - log_low);
    return static_cast<int>(
        std::clamp(std::lround(fraction * (num_tempos - 1)), 0L, static_cast<long>(num_tempos - 1)));
  }

  bool starts_note(Kind token_kind) const {
    return spec.use_programs ? token_kind == Kind::kProgram : token_kind == Kind::kPitch;
  }
};

// ---- grammar -----------------------------------------------------------------------------------------------

namespace {

class RemiGrammar : public Grammar {
 public:
  explicit RemiGrammar(std::shared_ptr<const RemiEncoding::Layout> layout)
      : layout_(std::move(layout)), bar_positions_(layout_->common_time_positions) {}

  void allowed(std::vector<uint8_t>& mask) const override {
    const int size = layout_->vocabulary.size();
    mask.assign(size, 0);
    for (Token token = 0; token < size; ++token) mask[token] = allows(token) ? 1 : 0;
  }

  void push(Token token) override {
    if (!allows(token))
      throw Error("remi grammar: token " + layout_->vocabulary.name(token) + " is not allowed " + state_name());
    const Kind kind = layout_->kind[token];
    const int value = layout_->value[token];
    switch (kind) {
      case Kind::kBar:
        state_ = State::kBar;
        position_ = -1;
        break;
      case Kind::kTimeSig:
        state_ = State::kTimeSig;
        bar_positions_ = layout_->meters[value].positions;
        break;
      case Kind::kPosition:
        state_ = State::kPosition;
        position_ = value;
        break;
      case Kind::kTempo:
        state_ = State::kTempo;
        break;
      case Kind::kProgram:
        state_ = value == RemiEncoding::kDrumProgram ? State::kDrumProgram : State::kProgram;
        break;
      case Kind::kPitch:
      case Kind::kDrumPitch:
        state_ = State::kPitch;
        break;
      case Kind::kVelocity:
        state_ = State::kVelocity;
        break;
      case Kind::kDuration:
        state_ = State::kDuration;
        break;
    }
  }

  bool can_end() const override {
    return state_ == State::kBar || state_ == State::kTimeSig || state_ == State::kTempo || state_ == State::kDuration;
  }

  std::unique_ptr<Grammar> clone() const override { return std::make_unique<RemiGrammar>(*this); }

 private:
  enum class State { kStart, kBar, kTimeSig, kPosition, kTempo, kProgram, kDrumProgram, kPitch, kVelocity, kDuration };

  bool allows(Token token) const {
    if (!layout_->valid(token)) return false;
    const Kind kind = layout_->kind[token];
    const int value = layout_->value[token];
    switch (state_) {
      case State::kStart:
        return kind == Kind::kBar;
      case State::kBar:
        if (kind == Kind::kTimeSig) return true;  // TimeSig tokens exist only with use_time_signatures
        [[fallthrough]];
      case State::kTimeSig:
        return kind == Kind::kBar || (kind == Kind::kPosition && value < bar_positions_);
      case State::kPosition:
        return kind == Kind::kTempo || layout_->starts_note(kind);
      case State::kTempo:
      case State::kDuration:
        return kind == Kind::kBar || layout_->starts_note(kind) ||
               (kind == Kind::kPosition && value > position_ && value < bar_positions_);
      case State::kProgram:
        return kind == Kind::kPitch;
      case State::kDrumProgram:
        return kind == Kind::kDrumPitch;
      case State::kPitch:
        return kind == Kind::kVelocity;
      case State::kVelocity:
        return kind == Kind::kDuration;
    }
    return false;
  }

  std::string state_name() const {
    switch (state_) {
      case State::kStart:
        return "at the start (a sequence begins with Bar)";
      case State::kBar:
        return "after Bar";
      case State::kTimeSig:
        return "after TimeSig";
      case State::kPosition:
        return "after Position";
      case State::kTempo:
        return "after Tempo";
      case State::kProgram:
        return "after Program";
      case State::kDrumProgram:
        return "after Program_drums";
      case State::kPitch:
        return "after Pitch";
      case State::kVelocity:
        return "after Velocity";
      case State::kDuration:
        return "after Duration";
    }
    return "here";
  }

  std::shared_ptr<const RemiEncoding::Layout> layout_;
  State state_ = State::kStart;
  int position_ = -1;
  int bar_positions_;
};

}  // namespace

// ---- spec --------------------------------------------------------------------------------------------------

nlohmann::json RemiSpec::to_json() const {
  return {{"name", "remi"},
          {"positions_per_quarter", positions_per_quarter},
          {"lowest_pitch", lowest_pitch},
          {"highest_pitch", highest_pitch},
          {"num_velocity_bins", num_velocity_bins},
          {"max_duration_quarters", max_duration_quarters},
          {"num_tempo_bins", num_tempo_bins},
          {"min_tempo", min_tempo},
          {"max_tempo", max_tempo},
          {"use_programs", use_programs},
          {"use_time_signatures", use_time_signatures}};
}

RemiSpec RemiSpec::from_json(const nlohmann::json& json) {
  // Ranges are checked by validate(), which also guards specs built in code.
  const SpecOptions options(
      json, "remi encoding", "remi",
      {"positions_per_quarter", "lowest_pitch", "highest_pitch", "num_velocity_bins", "max_duration_quarters",
       "num_tempo_bins", "min_tempo", "max_tempo", "use_programs", "use_time_signatures"});
  constexpr int kWide = 1'000'000;
  RemiSpec spec;
  spec.positions_per_quarter = options.integer("positions_per_quarter", spec.positions_per_quarter, -kWide, kWide);
  spec.lowest_pitch = options.integer("lowest_pitch", spec.lowest_pitch, -kWide, kWide);
  spec.highest_pitch = options.integer("highest_pitch", spec.highest_pitch, -kWide, kWide);
  spec.num_velocity_bins = options.integer("num_velocity_bins", spec.num_velocity_bins, -kWide, kWide);
  spec.max_duration_quarters = options.integer("max_duration_quarters", spec.max_duration_quarters, -kWide, kWide);
  spec.num_tempo_bins = options.integer("num_tempo_bins", spec.num_tempo_bins, -kWide, kWide);
  spec.min_tempo = options.number("min_tempo", spec.min_tempo, -kWide, kWide);
  spec.max_tempo = options.number("max_tempo", spec.max_tempo, -kWide, kWide);
  spec.use_programs = options.boolean("use_programs", spec.use_programs);
  spec.use_time_signatures = options.boolean("use_time_signatures", spec.use_time_signatures);
  validate(spec);
  return spec;
}

// ---- encoding ----------------------------------------------------------------------------------------------

RemiEncoding::RemiEncoding(RemiSpec spec) : spec_(spec) {
  validate(spec_);
  layout_ = std::make_shared<const Layout>(spec_);
}

RemiEncoding::~RemiEncoding() = default;

nlohmann::json RemiEncoding::spec() const {
  return spec_.to_json();
}

const Vocabulary& RemiEncoding::vocabulary() const {
  return layout_->vocabulary;
}

std::unique_ptr<Grammar> RemiEncoding::grammar() const {
  return std::make_unique<RemiGrammar>(layout_);
}

int RemiEncoding::binned_velocity(int velocity) const {
  return layout_->velocity_values[layout_->velocity_bin[std::clamp(velocity, 0, 127)]];
}

int32_t RemiEncoding::binned_microseconds_per_quarter(int32_t microseconds_per_quarter) const {
  return layout_->tempo_microseconds[layout_->tempo_bin(microseconds_per_quarter)];
}

int RemiEncoding::bar_positions(int numerator, int denominator) const {
  const int index = layout_->meter_index(numerator, denominator);
  return index < 0 ? 0 : layout_->meters[index].positions;
}

int RemiEncoding::max_bar_positions() const {
  return layout_->num_positions;
}

Token RemiEncoding::bar_token() const {
  return 0;
}

Token RemiEncoding::position_token(int position) const {
  return position >= 0 && position < layout_->num_positions ? layout_->first_position + position : -1;
}

Token RemiEncoding::pitch_token(int pitch) const {
  return pitch >= spec_.lowest_pitch && pitch <= spec_.highest_pitch ? layout_->first_pitch + pitch - spec_.lowest_pitch
                                                                     : -1;
}

Token RemiEncoding::program_token(int program) const {
  if (!spec_.use_programs) return -1;
  if (program == kDrumProgram) return layout_->first_program + 128;
  return program >= 0 && program < 128 ? layout_->first_program + program : -1;
}

int RemiEncoding::token_pitch(Token token) const {
  if (!layout_->valid(token) || layout_->kind[token] != Kind::kPitch) return -1;  // DrumPitch: never transposed
  return layout_->value[token];
}

Token RemiEncoding::with_pitch(Token token, int pitch) const {
  if (token_pitch(token) < 0) return -1;
  return pitch_token(pitch);
}

std::vector<Token> RemiEncoding::encode(const Score& score) const {
  const Layout& layout = *layout_;
  if (score.ticks_per_quarter <= 0)
    throw Error("remi encoding: the score" + in_source(score) + " has ticks_per_quarter " +
                std::to_string(score.ticks_per_quarter));
  const int ppq = spec_.positions_per_quarter;
  const int tpq = score.ticks_per_quarter;
  auto position_of = [&](int64_t tick) { return nearest_grid_step(tick, ppq, tpq); };

  struct NoteEvent {
    int64_t position;
    int program;
    int pitch;
    int duration;
    int velocity_bin;
    auto operator<=>(const NoteEvent&) const = default;
  };
  std::vector<NoteEvent> notes;
  for (const auto& track : score.tracks) {
    if (track.is_drum && !spec_.use_programs) continue;
    const int program = !spec_.use_programs ? 0 : track.is_drum ? kDrumProgram : std::clamp(track.program, 0, 127);
    const int low = track.is_drum ? kLowestDrumPitch : spec_.lowest_pitch;
    const int high = track.is_drum ? kHighestDrumPitch : spec_.highest_pitch;
    for (const auto& note : track.notes) {
      if (note.pitch < low || note.pitch > high) continue;
      const int64_t start = position_of(note.start_tick);
      if (start < 0) continue;  // negative ticks break the Score invariants; nothing sensible to encode
      const int64_t end = std::max(position_of(note.end_tick), start + 1);
      const int duration = static_cast<int>(std::min<int64_t>(end - start, layout.num_durations));
      notes.push_back({start, program, note.pitch, duration, layout.velocity_bin[std::clamp(note.velocity, 0, 127)]});
    }
  }
  if (notes.empty()) return {};
  std::sort(notes.begin(), notes.end());
  notes.erase(std::unique(notes.begin(), notes.end()), notes.end());

  // Tempo changes on the grid, binned; the last change at a position wins and repeats of a bin are dropped.
  struct TempoEvent {
    int64_t position;
    int bin;
  };
  std::vector<TempoEvent> tempos;
  auto sorted_tempos = score.tempos;
  std::stable_sort(sorted_tempos.begin(), sorted_tempos.end(),
                   [](const TempoChange& a, const TempoChange& b) { return a.tick < b.tick; });
  if (sorted_tempos.empty() || sorted_tempos.front().tick > 0) sorted_tempos.insert(sorted_tempos.begin(), {0, 500000});
  for (const auto& change : sorted_tempos) {
    const TempoEvent event{std::max<int64_t>(position_of(change.tick), 0),
                           layout.tempo_bin(change.microseconds_per_quarter)};
    if (!tempos.empty() && tempos.back().position == event.position)
      tempos.back() = event;
    else
      tempos.push_back(event);
  }
  std::vector<TempoEvent> tempo_changes;
  for (const auto& event : tempos)
    if (tempo_changes.empty() || tempo_changes.back().bin != event.bin) tempo_changes.push_back(event);

  // Meter changes on the grid, as TimeSig indices (4/4 for a meter without a token); none with meters off.
  struct MeterEvent {
    int64_t position;
    int meter;
  };
  std::vector<MeterEvent> meter_changes;
  if (spec_.use_time_signatures) {
    auto sorted_meters = score.time_signatures;
    std::stable_sort(sorted_meters.begin(), sorted_meters.end(),
                     [](const TimeSignature& a, const TimeSignature& b) { return a.tick < b.tick; });
    for (const auto& signature : sorted_meters) {
      int meter = layout.meter_index(signature.numerator, signature.denominator);
      if (meter < 0) meter = layout.meter_index(4, 4);
      meter_changes.push_back({std::max<int64_t>(position_of(signature.tick), 0), meter});
    }
  }

  std::vector<Token> tokens;
  tokens.reserve(notes.size() * (spec_.use_programs ? 4 : 3) +
                 static_cast<size_t>(std::min<int64_t>(notes.back().position / ppq, kMaxBars)) + 8);
  size_t next_note = 0, next_tempo = 0, next_meter = 0;
  int meter = spec_.use_time_signatures ? layout.meter_index(4, 4) : -1;
  int previous_meter = -2;  // forces a TimeSig on the first bar
  int64_t bar_start = 0;
  for (int64_t bar = 0; next_note < notes.size(); ++bar) {
    if (bar >= kMaxBars)
      throw Error("remi encoding: the score" + in_source(score) + " needs more than " + std::to_string(kMaxBars) +
                  " bars (its last note starts " + std::to_string(notes.back().position / ppq) + " quarters in)");
    // A meter change applies from the first bar line at or after it.
    while (next_meter < meter_changes.size() && meter_changes[next_meter].position <= bar_start)
      meter = meter_changes[next_meter++].meter;
    const int positions = meter >= 0 ? layout.meters[meter].positions : layout.common_time_positions;
    const int64_t bar_end = bar_start + positions;
    tokens.push_back(bar_token());
    if (spec_.use_time_signatures && meter != previous_meter) tokens.push_back(layout.first_time_sig + meter);
    previous_meter = meter;
    // Events of this bar in position order. Every tempo change and note lies at or after bar_start: earlier
    // bars took theirs, and tempo changes hold at most one per position.
    while (true) {
      const bool tempo_here = next_tempo < tempo_changes.size() && tempo_changes[next_tempo].position < bar_end;
      const bool note_here = next_note < notes.size() && notes[next_note].position < bar_end;
      if (!tempo_here && !note_here) break;
      int64_t position = INT64_MAX;
      if (tempo_here) position = tempo_changes[next_tempo].position;
      if (note_here) position = std::min(position, notes[next_note].position);
      tokens.push_back(layout.first_position + static_cast<Token>(position - bar_start));
      if (tempo_here && tempo_changes[next_tempo].position == position)
        tokens.push_back(layout.first_tempo + tempo_changes[next_tempo++].bin);
      for (; next_note < notes.size() && notes[next_note].position == position; ++next_note) {
        const NoteEvent& note = notes[next_note];
        const bool drum = note.program == kDrumProgram;
        if (spec_.use_programs) tokens.push_back(layout.first_program + (drum ? 128 : note.program));
        tokens.push_back(drum ? layout.first_drum_pitch + (note.pitch - kLowestDrumPitch)
                              : layout.first_pitch + (note.pitch - spec_.lowest_pitch));
        tokens.push_back(layout.first_velocity + note.velocity_bin);
        tokens.push_back(layout.first_duration + note.duration - 1);
      }
    }
    bar_start = bar_end;
  }
  return tokens;
}

Score RemiEncoding::decode(std::span<const Token> tokens) const {
  const Layout& layout = *layout_;
  const int64_t ticks_per_position = kDecodedTicksPerQuarter / spec_.positions_per_quarter;
  Score score;
  score.ticks_per_quarter = kDecodedTicksPerQuarter;

  // Notes per program key (0..127, kDrumProgram); without programs everything goes to key 0.
  std::vector<std::vector<Note>> notes(kDrumProgram + 1);
  bool in_bar = false;     // a bar has started (explicitly or by an event before the first Bar)
  bool after_bar = false;  // the previous valid token was Bar: a TimeSig may set this bar's meter
  int64_t bar_start = 0;   // in positions
  int bar_positions = layout.common_time_positions;
  int position = -1;  // within the bar; -1 before the first Position of the bar
  int program = spec_.use_programs ? -1 : 0;
  int pitch = -1;
  bool drum_pitch = false;
  int velocity = -1;
  auto start_bar_if_needed = [&] {
    if (!in_bar) {
      in_bar = true;
      bar_start = 0;
    }
  };
  auto clear_group = [&] {
    pitch = -1;
    velocity = -1;
  };

  for (Token token : tokens) {
    if (!layout.valid(token)) continue;  // not a token of this encoding: as if absent
    const Kind kind = layout.kind[token];
    const int value = layout.value[token];
    const bool was_after_bar = after_bar;
    after_bar = false;
    switch (kind) {
      case Kind::kBar:
        if (in_bar) bar_start += bar_positions;
        in_bar = true;
        after_bar = true;
        position = -1;
        if (spec_.use_programs) program = -1;
        clear_group();
        break;
      case Kind::kTimeSig:
        if (!was_after_bar) break;  // a meter only makes sense at a bar line
        bar_positions = layout.meters[value].positions;
        score.time_signatures.push_back(
            {bar_start * ticks_per_position, layout.meters[value].numerator, layout.meters[value].denominator});
        break;
      case Kind::kPosition:
        start_bar_if_needed();
        if (value >= bar_positions) break;  // beyond this bar: skipped
        position = value;
        if (spec_.use_programs) program = -1;
        clear_group();
        break;
      case Kind::kTempo:
        start_bar_if_needed();
        score.tempos.push_back(
            {(bar_start + std::max(position, 0)) * ticks_per_position, layout.tempo_microseconds[value]});
        break;
      case Kind::kProgram:
        program = value;
        clear_group();
        break;
      case Kind::kPitch:
      case Kind::kDrumPitch: {
        clear_group();
        const bool drum = kind == Kind::kDrumPitch;
        if (position < 0 || program < 0 || drum != (program == kDrumProgram)) break;  // incomplete group
        pitch = value;
        drum_pitch = drum;
        break;
      }
      case Kind::kVelocity:
        if (pitch >= 0 && velocity < 0)
          velocity = value;
        else
          clear_group();  // out of order: the group is broken
        break;
      case Kind::kDuration:
        if (pitch >= 0 && velocity >= 0) {
          const int64_t start = (bar_start + position) * ticks_per_position;
          notes[drum_pitch ? kDrumProgram : program].push_back(
              {pitch, velocity, start, start + value * ticks_per_position});
        }
        clear_group();  // the program stays: further notes at this position may reuse it
        break;
    }
  }

  if (!spec_.use_programs) {
    score.tracks.push_back({"remi", 0, false, 0, std::move(notes[0])});
  } else {
    int next_channel = 0;
    for (int key = 0; key <= kDrumProgram; ++key) {
      if (notes[key].empty()) continue;
      if (key == kDrumProgram) {
        score.tracks.push_back({"drums", 0, true, 9, std::move(notes[key])});
        continue;
      }
      score.tracks.push_back({"program_" + std::to_string(key), key, false, next_channel, std::move(notes[key])});
      next_channel = next_channel == 15 ? 0 : next_channel + 1;
      if (next_channel == 9) ++next_channel;
    }
  }
  score.normalize();  // sorts notes, keeps the last tempo / meter per tick, fills 120 qpm and 4/4 at tick 0
  return score;
}

std::unique_ptr<TokenEncoding> make_remi_encoding(const nlohmann::json& spec) {
  return std::make_unique<RemiEncoding>(RemiSpec::from_json(spec));
}

}  // namespace cadenza
