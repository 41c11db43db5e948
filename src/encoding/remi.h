// REMI tokens (Huang & Yang 2020, "Pop Music Transformer"), with optional Program tokens for several
// instruments (as in MidiTok's REMI with use_programs) and optional time-signature tokens.
//
// A piece is a run of bars; inside a bar, events sit on a grid of positions_per_quarter positions per quarter:
//
//   Bar [TimeSig_n/d] Position_k [Tempo_q] ( [Program_p] Pitch_x Velocity_v Duration_d )* Position_k' ... Bar ...
//
// Vocabulary (in id order): Bar; Position_0 .. Position_{P-1}; TimeSig_<n>/<d> (use_time_signatures);
// Tempo_<qpm> (num_tempo_bins values, geometric between min_tempo and max_tempo, named with 2 decimals);
// Program_0 .. Program_127, Program_drums (use_programs); Pitch_<lowest_pitch> .. Pitch_<highest_pitch>;
// DrumPitch_27 .. DrumPitch_87 (use_programs: drum keys have their own tokens so that token-space transposition
// never moves them); Velocity_<v> (num_velocity_bins values round(i * 127 / n), i = 1..n); Duration_1 ..
// Duration_<max_duration_quarters * positions_per_quarter>, in positions.
//
// Bars and meters. With use_time_signatures (the default) bars follow the score's time signatures: the first
// bar carries a TimeSig token, and every bar whose meter differs from the previous bar's carries one right after
// its Bar token. A meter is representable when its denominator is 2, 4, 8 or 16, its bar lasts at most 8
// quarters (kMaxBarQuarters: 8/4, 16/8, 12/8, 7/4 ... fit) and a whole number of positions; other meters are
// encoded as 4/4 bars (the notes keep their times, the meter is lost). A meter change takes effect at the first
// bar line at or after it: a change in the middle of a bar (which would make a partial bar) is moved to the next
// bar line. P = 8 * positions_per_quarter positions exist. Without use_time_signatures every bar is a 4/4 bar of
// P = 4 * positions_per_quarter positions and the decoded score is 4/4: the meter and the metrical meaning of
// Bar/Position are lost for pieces in other meters (3/4 waltzes are cut into 4/4 "bars"), note times are kept.
//
// encode(): notes snap to the position grid (nearest position, halves up; an end snapping onto its start keeps
// one position: the same rule as quantize()); durations are clamped to 1 .. max duration; velocities go to the
// nearest bin, tempos to the nearest bin in log-tempo. Notes outside lowest_pitch..highest_pitch (drums:
// outside 27..87) are dropped. Without use_programs all tracks are merged into one and drum tracks are dropped
// (their keys are not pitches). With use_programs every note group starts with its Program token (tracks of the
// same program merge; all drum tracks share Program_drums). At one position, note groups are ordered by
// program (drums last), pitch, duration, velocity; identical groups are written once. A Tempo token follows the
// Position where the binned tempo changes; the first bar always starts "Bar [TimeSig] Position_0 Tempo_q".
// Bars run from tick 0 to the bar of the last note start (leading empty bars are written, trailing ones are
// not); tempo changes after that bar are dropped. Key signatures are not encoded. An empty score (no note
// kept) encodes to an empty sequence. A score needing more than kMaxBars bars is an Error.
//
// decode(): ticks_per_quarter 480; each Bar starts a new bar after the previous one (the first at tick 0);
// Position_k places events k positions into the bar; a note is Pitch Velocity Duration (with a Program before it
// under use_programs) and ends after its duration. Anything else is repaired rather than refused: ids outside
// the vocabulary are skipped; incomplete note groups are dropped; a Position beyond the current bar is skipped;
// events before the first Bar sit in bar 0; a TimeSig not directly after a Bar is ignored; a Position earlier
// than the previous one is taken literally. Tracks: without use_programs exactly one track "remi" (program 0,
// channel 0, possibly empty); with use_programs one track per program that has notes, in program order with
// drums last, named "program_<p>" / "drums", channels 0, 1, ... skipping 9 (cycling after 15), drums on 9.
// Tempo: from the Tempo tokens (120 qpm before the first). Meter: from the TimeSig tokens (4/4 before the first).
//
// Grammar (what generation may emit): the first token is Bar. After Bar: TimeSig (if enabled, directly after
// Bar only), Position_k with k < bar positions, or Bar. After Position_k: Tempo, or the start of a note
// ([Program_p] then Pitch; Program_drums then DrumPitch). After Pitch: Velocity. After Velocity: Duration. After
// Duration or Tempo: another note at this position, Position_j with j > k, or Bar. can_end() after a Bar, a
// TimeSig, a Tempo or a complete note (Duration).
//
// Spec options (all optional): positions_per_quarter 4 (must divide 480, <= 48), lowest_pitch 21, highest_pitch
// 108 (0..127), num_velocity_bins 32 (1..127), max_duration_quarters 8 (1..32), num_tempo_bins 32 (1..256),
// min_tempo 40, max_tempo 250 (qpm, 1..1000, min < max), use_programs false, use_time_signatures true.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "encoding/encoding.h"

namespace cadenza {

struct RemiSpec {
  int positions_per_quarter = 4;
  int lowest_pitch = 21;
  int highest_pitch = 108;
  int num_velocity_bins = 32;
  int max_duration_quarters = 8;
  int num_tempo_bins = 32;
  double min_tempo = 40.0;
  double max_tempo = 250.0;
  bool use_programs = false;
  bool use_time_signatures = true;

  nlohmann::json to_json() const;                         // includes "name": "remi"
  static RemiSpec from_json(const nlohmann::json& json);  // throws Error on unknown keys or bad values
};

class RemiEncoding : public TokenEncoding {
 public:
  static constexpr int kMaxBarQuarters = 8;
  static constexpr int kLowestDrumPitch = 27;
  static constexpr int kHighestDrumPitch = 87;
  static constexpr int kDrumProgram = 128;  // program key of Program_drums
  static constexpr int kDecodedTicksPerQuarter = 480;
  static constexpr int64_t kMaxBars = 1 << 20;

  explicit RemiEncoding(RemiSpec spec = {});  // throws Error on bad values
  ~RemiEncoding() override;

  std::string name() const override { return "remi"; }
  nlohmann::json spec() const override;
  const Vocabulary& vocabulary() const override;
  std::vector<Token> encode(const Score& score) const override;
  Score decode(std::span<const Token> tokens) const override;
  std::unique_ptr<Grammar> grammar() const override;
  int token_pitch(Token token) const override;
  Token with_pitch(Token token, int pitch) const override;

  const RemiSpec& remi_spec() const { return spec_; }

  // The binning applied by encode(), exposed so that callers (and tests) can predict decode(encode(s)):
  // the velocity a note of this velocity decodes with, and the tempo a tempo decodes with.
  int binned_velocity(int velocity) const;
  int32_t binned_microseconds_per_quarter(int32_t microseconds_per_quarter) const;
  // Positions in a bar of this meter, or 0 when the meter has no TimeSig token (encoded as 4/4 then).
  int bar_positions(int numerator, int denominator) const;
  int max_bar_positions() const;

  // Token ids by meaning (-1 when the value has no token).
  Token bar_token() const;
  Token position_token(int position) const;
  Token pitch_token(int pitch) const;
  Token program_token(int program) const;  // 0..127, or kDrumProgram for Program_drums

  struct Layout;  // token tables, shared with grammar states

 private:
  RemiSpec spec_;
  std::shared_ptr<const Layout> layout_;
};

}  // namespace cadenza
