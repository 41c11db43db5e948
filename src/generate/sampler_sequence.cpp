// Generation with an autoregressive model: from a checkpoint to finished pieces of a requested length.
//
// Token models go through generate_tokens() (grammar-masked sampling, generator.h) or beam_search_tokens(); piano-roll
// (frame) models draw every key of each frame from its own Bernoulli (sample_keys), frame by frame through step(). A
// frame model's first input, without a primer, is a silent frame: the first generated frame is what the model
// predicts after silence.
//
// Lengths: `steps` counts generated tokens / frames. `bars` and `seconds` count music after the primer's end: a token
// model samples until the decoded piece reaches that length, and the piece is then cut exactly there (notes sounding
// across the cut end at it); a frame model generates exactly that many frames. Bars are bars of the primer's meter at
// its end (4/4 without a primer); seconds use `qpm`, the output tempo.
//
// Whether the length is reached is known only by decoding; decoding after every token would make generation
// quadratic in the length. The decoded end is checked at positions chosen from the tokens-per-tick rate seen so far:
// each check jumps half of the predicted remaining distance, so a piece of n tokens costs O(n log n) of decoding.
#include "generate/sampler_sequence.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <optional>
#include <random>

#include "common/error.h"
#include "data/style_blend.h"
#include "encoding/melody.h"
#include "encoding/pianoroll.h"
#include "generate/beam_search.h"
#include "generate/generator.h"
#include "generate/sampling_defaults.h"
#include "generate/style_schedule.h"
#include "models/checkpoint.h"
#include "models/device.h"
#include "score/chords.h"
#include "score/key.h"
#include "score/operations.h"

namespace cadenza {
namespace {

// Safety cap for sampling towards a length in bars/seconds: a model that only emits time-less tokens (e.g.
// velocity changes) must still stop.
constexpr int64_t kMaxTokensPerQuarter = 256;
// The shortest tune, in bars, a plan (the bars left, context_bars_left) is given for when a length is asked for
// without --until-end: the tunes a model learns from are longer (Nottingham's run 8 bars and more), so a model told
// "1 bar left" at a tune's start has never seen that and writes only its last bar (one long note, or none: 9 of 20
// one-bar pieces of the bundled lstm were empty). A shorter piece, primer included, reads "unknown" and is cut at its
// length, as from a model without a plan.
constexpr double kShortestPlannedTuneBars = 8;
// --until-end without a length: the late plan a bars-left model is told near the cap (GenerationOptions::
// late_plan_bars) is a tune of 65 bars, 64 and the bar of an upbeat (a 64-bar tune that starts with a pickup spans
// 65, as a 32-bar one spans the 33 that `--bars 33` plans), and the cap is one bar past it, where the tune's END
// falls. A plan of 63 bars (the cap's 64 less one, until 2026-12-07) ended tunes in mid-phrase: of 500 tunes of the
// bundled transformer (seeds 1001..1500) 62 ran to it, 17 of them ending on the tonic; with 65 bars, 0.652 of the
// 500 end on the tonic against 0.60.
constexpr int64_t kUntilEndPlanBars = 65;
constexpr int64_t kUntilEndCapBars = kUntilEndPlanBars + 1;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class SequenceSampler final : public Sampler {
 public:
  SequenceSampler(const models::Family& family, const models::CheckpointInfo& info) : family_(family) {
    loaded_ = models::load_checkpoint(info.path, family.make_sequence_model);
    if (loaded_.model_config.input_kind == models::InputKind::kFrames) {
      roll_encoding_.emplace(PianoRollSpec::from_json(info.encoding));
    } else {
      encoding_ = make_token_encoding(info.encoding);
    }
    sampling_defaults_ = read_sampling_defaults(loaded_.info.path);
  }

  const std::string& checkpoint_path() const override { return loaded_.info.path; }
  nlohmann::json training_metadata() const override { return loaded_.info.training; }
  const TokenEncoding* encoding() const override { return encoding_.get(); }
  bool frames() const { return roll_encoding_.has_value(); }

  // Token generation runs on the model's device (generator.h, beam_search.h); frame sampling builds its frames on
  // the CPU, so piano-roll models stay there.
  void use_device(const std::string& spec) override {
    const torch::Device device = models::resolve_device(spec);
    if (device.is_cpu()) return;
    if (frames()) Sampler::use_device(spec);
    loaded_.model->to(device);
  }

  std::string describe() const override {
    char parameters[32];
    std::snprintf(parameters, sizeof parameters, "%.2fM", models::count_parameters(*loaded_.model) / 1e6);
    return family_.name + ", " + parameters + " parameters, " +
           (frames() ? std::string("piano-roll frames") : encoding_->name() + " encoding");
  }

  SamplerCapabilities capabilities() const override {
    SamplerCapabilities caps;
    caps.family = family_.name;
    caps.input = frames() ? "frames" : "tokens";
    caps.temperature = true;
    caps.top_k_top_p = !frames();
    caps.primer = true;
    caps.beam_search = !frames();
    caps.until_end = !frames() && encoding_->end_token() >= 0;
    caps.chords = !frames() && loaded_.model_config.chord_conditioning &&
                  dynamic_cast<const MelodyEncoding*>(encoding_.get()) != nullptr;
    if (!frames() && loaded_.model_config.style_conditioning) caps.styles = loaded_.model_config.style_names;
    if (const auto* melody = dynamic_cast<const MelodyEncoding*>(encoding_.get());
        melody != nullptr && melody->has_tune_header()) {
      for (const std::string& name : encoding_->vocabulary().names())
        if (name.rfind("METER_", 0) == 0) {
          std::string meter = name.substr(6);  // METER_6_8 -> 6/8
          meter[meter.find('_')] = '/';
          caps.meters.push_back(meter);
        }
      caps.one_key = melody->one_key();
    }
    caps.lengths_in_steps = true;
    // The temperature the model's maker measured it at (generation.json beside the checkpoint), else 1.
    if (sampling_defaults_.temperature) caps.default_temperature = *sampling_defaults_.temperature;
    return caps;
  }

  SampledPiece sample(const SampleRequest& request) override {
    check_sample_request(request, capabilities(), "generate");
    if (frames() && !request.primer_tokens.empty())
      throw Error("generate: a piano-roll model takes a MIDI primer, not tokens");
    const auto started = std::chrono::steady_clock::now();
    SampledPiece piece = frames() ? sample_frames(request) : sample_tokens(request);
    piece.generation_seconds = seconds_since(started);
    return piece;
  }

 private:
  // Ticks of music the request asks for after `primer_end` (0: a length in steps).
  int64_t target_end_tick(const SampleRequest& request, const Score& primer_score, int64_t primer_end) const {
    if (request.steps > 0) return -1;
    const double bars = request.bars > 0 ? request.bars : (request.seconds > 0 ? 0 : 16);
    if (bars > 0) return tick_after_bars(primer_score, primer_end, bars);
    return primer_end +
           std::llround(request.seconds * request.qpm / 60.0 * static_cast<double>(primer_score.ticks_per_quarter));
  }

  SampledPiece sample_tokens(const SampleRequest& request) {
    std::vector<Token> primer = request.primer_tokens;
    if (request.primer) {
      if (!primer.empty()) throw Error("generate: give a primer as tokens or as a score, not both");
      primer = encoding_->encode(*request.primer);
      // A tune's encoding ends with END (melody with structure): a primer is continued, so it is not over yet.
      while (!primer.empty() && encoding_->end_token() >= 0 && primer.back() == encoding_->end_token())
        primer.pop_back();
    }
    // Chords (a chord model): the chord of every grid step from the piece's start, in the meter they follow.
    const auto* melody = dynamic_cast<const MelodyEncoding*>(encoding_.get());
    std::vector<uint16_t> chord_steps;
    const bool with_chords = !request.chords.empty() || request.chords_score.has_value();
    const bool one_key = melody != nullptr && melody->one_key();
    if (request.tonic >= 0 && !one_key)
      throw Error("generate: a tonic to move the tune to is for models of tunes in one key (melody one_key); " +
                  checkpoint_path() + " writes tunes in their own keys");
    if (request.tonic > 11)
      throw Error("generate: tonic " + std::to_string(request.tonic) + " is not a pitch class 0..11");
    int tonic = request.tonic;  // where a one-key model's tune is moved (-1: a primer's key, else C / A minor)
    int chord_move = 0;         // one key: the semitones the chords move by with the tune (to C major / A minor)
    if (with_chords) {
      const int steps_per_quarter = melody->melody_spec().steps_per_quarter;
      const Score& meter_source = request.chords_score ? *request.chords_score : encoding_->decode(primer);
      const TimeSignature meter =
          meter_source.time_signatures.empty() ? TimeSignature{} : meter_source.time_signatures.front();
      if (request.chords_score) {
        const Score& score = *request.chords_score;
        const int64_t steps = nearest_grid_step(score.end_tick(), steps_per_quarter, score.ticks_per_quarter);
        chord_steps = chord_masks_at_steps(score, request.chords_track, steps_per_quarter, steps);
      } else {
        const int64_t bar_steps = int64_t{4} * steps_per_quarter * meter.numerator / meter.denominator;
        if (bar_steps <= 0 || int64_t{4} * steps_per_quarter * meter.numerator % meter.denominator != 0)
          throw Error("generate: a bar of " + std::to_string(meter.numerator) + "/" +
                      std::to_string(meter.denominator) + " is not a whole number of the model's grid steps");
        chord_steps = progression_step_masks(parse_chord_progression(request.chords), bar_steps);
      }
      // A tune model (structure) starts with START METER_n_d KEY: without a primer, the chords give the meter and the
      // key (the one asked for, else the key of the chords' pitch classes: a key the model drew itself would often
      // not be the chords' one, and its melody would follow the key it wrote more than the chords).
      if (primer.empty() && encoding_->end_token() >= 0) {
        const Token meter_token = melody->meter_token(meter.numerator, meter.denominator);
        primer = {encoding_->vocabulary().id("START"), meter_token};
        const std::optional<Key> key =
            request.key.empty() ? chord_progression_key(chord_steps) : parse_key(request.key);
        if (key) primer.push_back(header_key_token(*key, &tonic, &chord_move));
      } else if (request.primer) {
        chord_move = melody->key_shift(*request.primer);
      }
      // A model of tunes in one key learned its chords moved with its tunes to C major / A minor (dataset prepare):
      // the chords move as the tune does (from the key asked for or found to C / A minor, or as encode() moved a
      // primer), and the piece moves back to that key or the primer's with in_asked_key below.
      for (uint16_t& mask : chord_steps) mask = transpose_chord_mask(mask, chord_move);
    } else if (!request.meter.empty() || !request.key.empty()) {
      primer = tune_header(request, &tonic);
    }
    const Score primer_score = encoding_->decode(primer);
    const int ticks_per_quarter = primer_score.ticks_per_quarter;
    const int64_t primer_end = primer.empty() ? 0 : primer_score.end_tick();
    // --until-end: the model's END ends the piece; the length asked for (kUntilEndCapBars unless given) is only a cap.
    int64_t target_end = -1;
    if (!request.until_end || request.bars > 0 || request.seconds > 0)
      target_end = target_end_tick(request, primer_score, primer_end);
    else if (request.steps <= 0)
      target_end = tick_after_bars(primer_score, primer_end, static_cast<double>(kUntilEndCapBars));
    // A length in bars counts bars of the piece's own meter: a tune model writes its meter after the primer (an
    // unprimed 6/8 tune's 16 bars are 48 quarters, not the 64 of the 4/4 that an empty primer reads as), so the
    // target is measured again on the piece so far at every length check, and at the end.
    double length_bars = 0;
    if (target_end >= 0 && request.steps <= 0 && request.seconds <= 0)
      length_bars = request.bars > 0 ? request.bars : (request.until_end ? static_cast<double>(kUntilEndCapBars) : 16);
    const int64_t ticks_per_step = with_chords ? melody->melody_spec().ticks_per_step() : 1;
    const int64_t chords_end = static_cast<int64_t>(chord_steps.size()) * ticks_per_step;
    if (with_chords && request.steps <= 0 && request.bars <= 0 && request.seconds <= 0 && chords_end > primer_end) {
      target_end = chords_end;  // no length given: as long as the chords
      length_bars = 0;
    }
    // A length in bars asked for (or the default 16) is the plan a bars-left model reads, so that it ends the piece
    // there; --until-end without --bars plans none (the cap is no plan).
    int64_t planned_bars = -1;
    if (length_bars > 0 && (request.bars > 0 || !request.until_end) &&
        (request.until_end || primer_bars(primer_score, primer_end) + length_bars >= kShortestPlannedTuneBars))
      planned_bars = static_cast<int64_t>(std::ceil(length_bars));
    // With --until-end the model's own END comes after its last bar (the closing NOTE_OFF on the bar line, then END):
    // the cap for a planned length is one bar past it, so that a model that keeps to its plan ends the tune itself.
    if (request.until_end && planned_bars > 0 && loaded_.model->reads_bars_left()) length_bars += 1;
    auto target_for = [length_bars, target_end, primer_end](const Score& piece_so_far) {
      return length_bars > 0 ? tick_after_bars(piece_so_far, primer_end, length_bars) : target_end;
    };

    GenerationOptions options;
    options.sampling = request.sampling;
    options.seed = request.seed;
    // A length asked for (not --until-end) is the piece's length: a tune model's END would stop it short (and leave
    // a duet without an answer), so it is not sampled.
    options.forbid_end = !request.until_end;
    options.planned_bars = planned_bars;
    // --until-end with no plan (length_bars is then the default cap): a bars-left model is told the bars left to
    // kUntilEndPlanBars once it comes near them, so that a tune still going there ends (one bar before the cap, so
    // that its END fits) rather than being cut.
    if (request.until_end && planned_bars < 0 && length_bars >= 2 && loaded_.model->reads_bars_left())
      options.late_plan_bars = kUntilEndPlanBars;
    if (with_chords) {
      options.next_chord = [melody, &chord_steps](std::span<const Token> before) -> int64_t {
        int64_t step = 0;  // the next token's grid step
        for (const Token token : before) step += melody->is_step_token(token) ? 1 : 0;
        return step < static_cast<int64_t>(chord_steps.size()) ? chord_steps[static_cast<size_t>(step)] : 0;
      };
    }
    if (loaded_.model->style_count() > 0) options.next_style = style_function(request);
    // The piece so far for request.on_progress (on a schedule that keeps decoding linear overall).
    auto progress_next = std::make_shared<int64_t>(1);
    auto report_progress = [this, &request, tonic, primer_end, progress_next, primer_size = primer.size()](
                               std::span<const Token> tokens, bool final_call) {
      const int64_t generated = static_cast<int64_t>(tokens.size() - primer_size);
      if (!final_call && !sampler_detail::progress_due(generated, *progress_next)) return;
      const Score partial = in_asked_key(request, tonic, encoding_->decode(tokens));
      if (!request.on_progress(SampleProgress{partial, primer_end, generated})) throw GenerationCancelled();
    };
    if (target_end < 0) {
      options.max_tokens = request.steps;
    } else {
      // x2 in bars: the meter the model writes may have longer bars than the primer's (a safety cap only).
      const int64_t length = (length_bars > 0 ? 2 : 1) * (target_end - primer_end);
      options.max_tokens = std::max<int64_t>(16, kMaxTokensPerQuarter * length / std::max(1, ticks_per_quarter));
      // Checked at positions that halve the predicted remaining distance (see the header comment).
      auto next_check = std::make_shared<size_t>(primer.size() + 1);
      options.stop_after = [this, melody, target_for, primer_end, next_check,
                            primer_size = primer.size()](std::span<const Token> tokens) {
        if (tokens.size() < *next_check) return false;
        const Score decoded = encoding_->decode(tokens);
        const int64_t target_end = target_for(decoded);
        int64_t end = decoded.end_tick();
        // A melody's time is its step count, rests included: a model that rests at the end (a tune over, the chords
        // run out) would otherwise be sampled on, to the token cap, until some note ends past the target.
        if (melody != nullptr) {
          int64_t steps = 0;
          for (const Token token : tokens) steps += melody->is_step_token(token) ? 1 : 0;
          end = std::max<int64_t>(end, steps * melody->melody_spec().ticks_per_step());
        }
        if (end >= target_end) return true;
        if (end <= primer_end) {  // no time yet (e.g. only the KEY token so far): no rate to predict from
          *next_check = tokens.size() + 1;
          return false;
        }
        if (melody != nullptr) {
          // One token per grid step: the target cannot be reached in fewer tokens than the steps still missing, and
          // is reached in exactly that many when all of them are steps. (A rate estimated from the first step would
          // count the tune's three header tokens as time and skip the check at the cap by half again.)
          const int64_t step_ticks = melody->melody_spec().ticks_per_step();
          *next_check = tokens.size() + static_cast<size_t>(std::max<int64_t>(1, (target_end - end) / step_ticks));
          return false;
        }
        const double generated = static_cast<double>(tokens.size() - primer_size);
        const double per_tick = generated / static_cast<double>(end - primer_end);
        const double remaining = per_tick * static_cast<double>(target_end - end);
        *next_check = tokens.size() + static_cast<size_t>(std::max(1.0, std::floor(remaining / 2)));
        return false;
      };
    }
    if (request.on_progress) {
      options.stop_after = [length_reached = options.stop_after, report_progress](std::span<const Token> tokens) {
        report_progress(tokens, false);
        return length_reached && length_reached(tokens);
      };
    }
    SampledPiece piece;
    piece.unit = "tokens";
    if (request.beam_size > 0) {
      BeamSearchOptions beam;
      beam.beam_size = request.beam_size;
      beam.branch_factor = request.branch_factor;
      beam.sampling = request.sampling;
      beam.seed = request.seed;
      beam.stochastic = request.sampling.temperature > 0;
      beam.next_style = options.next_style;
      beam.forbid_end = options.forbid_end;
      beam.planned_bars = options.planned_bars;
      BeamSearchStats stats;
      if (target_end < 0) {
        beam.max_tokens = request.steps;
        piece.tokens = beam_search_tokens(*loaded_.model, *encoding_, primer, beam, &stats);
      } else {
        // Beam search cannot stop on a decoded length mid-search: search a token budget, and double it until the
        // piece is long enough (a few tries at most: melody needs about one token per grid step).
        const int64_t quarters =
            std::max<int64_t>(1, (target_end - primer_end + ticks_per_quarter - 1) / ticks_per_quarter);
        beam.max_tokens = 8 * quarters;
        for (int attempt = 0; attempt < 6; ++attempt) {
          piece.tokens = beam_search_tokens(*loaded_.model, *encoding_, primer, beam, &stats);
          const Score decoded = encoding_->decode(piece.tokens);
          if (decoded.end_tick() >= target_for(decoded)) break;
          beam.max_tokens *= 2;
        }
      }
      piece.generated_elements = stats.generated_tokens + stats.closing_tokens;
      piece.ended_cleanly = stats.ended_cleanly;
      // Beam search cannot show a partial piece (any beam may still win): one report at the end.
      if (request.on_progress) report_progress(piece.tokens, true);
    } else {
      GenerationStats stats;
      piece.tokens = generate_tokens(*loaded_.model, *encoding_, primer, options, &stats);
      piece.generated_elements = stats.generated_tokens + stats.closing_tokens;
      piece.ended_cleanly = stats.ended_cleanly;
    }
    piece.primer_elements = static_cast<int64_t>(primer.size());
    piece.primer_end_tick = primer_end;
    const Token end_token = encoding_->end_token();
    piece.ended_by_model =
        end_token >= 0 && std::find(piece.tokens.begin() + static_cast<std::ptrdiff_t>(primer.size()),
                                    piece.tokens.end(), end_token) != piece.tokens.end();
    piece.score = encoding_->decode(piece.tokens);
    if (target_end >= 0) {
      target_end = target_for(piece.score);  // in the piece's own meter
      // An END past the length (a check may fall after it) does not end the piece heard: the cap cuts it first.
      if (piece.score.end_tick() > target_end) piece.ended_by_model = false;
      piece.score = clip(piece.score, 0, target_end);
    }
    piece.score = in_asked_key(request, tonic, piece.score);
    if (with_chords) {
      // The chords under the piece, as a track of their own (up to the piece's end), in the piece's key (a one-key
      // model read them moved by chord_move).
      const int64_t piece_end = target_end >= 0 ? target_end : piece.score.end_tick();
      const auto steps = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(chord_steps.size()),
                                                               (piece_end + ticks_per_step - 1) / ticks_per_step));
      std::vector<uint16_t> heard(chord_steps.begin(), chord_steps.begin() + steps);
      for (uint16_t& mask : heard) mask = transpose_chord_mask(mask, -chord_move);
      add_chord_track(piece.score, heard, ticks_per_step);
    }
    set_tempo(piece.score, request.qpm);
    const int64_t end = target_end >= 0 && !request.until_end ? target_end : piece.score.end_tick();
    piece.music_seconds = piece.score.tick_to_seconds(end) - piece.score.tick_to_seconds(primer_end);
    return piece;
  }

  // The bars of a primer (up to primer_end), in its first meter (4/4 without one).
  static double primer_bars(const Score& primer, int64_t primer_end) {
    const TimeSignature meter = primer.time_signatures.empty() ? TimeSignature{} : primer.time_signatures.front();
    const double bar_ticks = 4.0 * primer.ticks_per_quarter * meter.numerator / std::max(1, meter.denominator);
    return bar_ticks > 0 ? static_cast<double>(primer_end) / bar_ticks : 0.0;
  }

  // The KEY token of a new tune's header in `key`. A model of tunes in one key has only C major and A minor: the
  // key's mode, *tonic becomes the key's tonic and *move (when given) the semitones from it to C / A, as encode()
  // moves a tune in that key (0 for a model that keeps keys).
  Token header_key_token(const Key& key, int* tonic, int* move = nullptr) const {
    const auto& melody = dynamic_cast<const MelodyEncoding&>(*encoding_);
    const bool minor = key.mode == ScaleMode::kMinor;
    if (!melody.one_key()) return melody.key_token(key.root, minor);
    *tonic = key.root;
    if (move != nullptr) *move = nearest_shift(key.root, minor ? 9 : 0);
    return melody.key_token(minor ? 9 : 0, minor);
  }

  // START METER [KEY]: the header of a new tune asked for with request.meter / request.key. A key without a meter
  // follows the meter the model draws after START (one token, sampled like the piece, from the request's seed).
  std::vector<Token> tune_header(const SampleRequest& request, int* tonic) {
    const auto& melody = dynamic_cast<const MelodyEncoding&>(*encoding_);
    const Vocabulary& vocabulary = encoding_->vocabulary();
    std::vector<Token> header{vocabulary.id("START")};
    if (!request.meter.empty()) {
      const auto slash = request.meter.find('/');
      header.push_back(
          melody.meter_token(std::stoi(request.meter.substr(0, slash)), std::stoi(request.meter.substr(slash + 1))));
    } else {
      GenerationOptions draw;
      draw.sampling = request.sampling;
      draw.seed = request.seed;
      draw.max_tokens = 1;
      draw.forbid_end = true;
      // The plan a bars-left model reads, as for the piece (sample_tokens: a length in bars, or the default 16;
      // none for a piece shorter than kShortestPlannedTuneBars without --until-end).
      const double bars = request.bars > 0 ? request.bars : 16;
      if (request.steps <= 0 && request.seconds <= 0 && (request.bars > 0 || !request.until_end) &&
          (request.until_end || bars >= kShortestPlannedTuneBars))
        draw.planned_bars = static_cast<int64_t>(std::ceil(bars));
      if (loaded_.model->style_count() > 0) draw.next_style = style_function(request);
      const std::vector<Token> drawn = generate_tokens(*loaded_.model, *encoding_, header, draw);
      if (drawn.size() < 2 || vocabulary.name(drawn[1]).rfind("METER_", 0) != 0)
        throw Error("generate: " + checkpoint_path() + ": the model's tune does not start START, METER (got " +
                    (drawn.size() < 2 ? std::string("nothing") : vocabulary.name(drawn[1])) + " after START)");
      header.push_back(drawn[1]);
    }
    if (!request.key.empty()) header.push_back(header_key_token(parse_key(request.key), tonic));
    return header;
  }

  // A model of tunes in one key (melody one_key) writes C major or A minor: the piece moved to `tonic` (the request's,
  // or its key's), else a primer's continuation back to the primer's own key; other models' pieces as they are.
  Score in_asked_key(const SampleRequest& request, int tonic, const Score& decoded) const {
    const auto* melody = dynamic_cast<const MelodyEncoding*>(encoding_.get());
    if (melody == nullptr || !melody->one_key()) return decoded;
    int move = 0;
    if (tonic >= 0) {
      const std::optional<Key> written = first_key(decoded);  // none before the KEY token
      move = written ? nearest_shift(written->root, tonic) : 0;
    } else if (request.primer) {
      move = -melody->key_shift(*request.primer);
    }
    return move == 0 ? decoded : transpose_with_key(decoded, move);
  }

  // The style vector of the next token for a style model: --style, --style-path or the even mixture.
  std::function<std::vector<int64_t>(std::span<const Token>)> style_function(const SampleRequest& request) const {
    const std::vector<std::string>& names = loaded_.model_config.style_names;
    StylePath path;
    if (!request.style_path.empty())
      path = parse_style_path(request.style_path, names);
    else
      path.anchors.push_back(
          {0, request.style.empty() ? even_style_mixture(names.size()) : parse_style_mixture(request.style, names)});
    return style_schedule(std::move(path), *encoding_);
  }

  SampledPiece sample_frames(const SampleRequest& request) {
    const PianoRollSpec& spec = roll_encoding_->spec();
    const int64_t K = spec.num_tracks, P = spec.num_pitches(), V = K * P;
    // Primer frames, (T0, V) track-major like the training data.
    std::vector<std::vector<float>> frames;
    Score meter_source = make_empty_score();
    if (request.primer) {
      meter_source = *request.primer;
      const PianoRoll roll = roll_encoding_->encode(*request.primer);
      for (int t = 0; t < roll.num_steps; ++t) {
        std::vector<float> frame(static_cast<size_t>(V));
        for (int k = 0; k < K; ++k)
          for (int p = 0; p < P; ++p) frame[static_cast<size_t>(k * P + p)] = roll.at(k, t, p);
        frames.push_back(std::move(frame));
      }
    }
    const TimeSignature meter = meter_at(meter_source, meter_source.end_tick());
    const int64_t steps = requested_frames(request, meter, spec.steps_per_quarter);
    SampledPiece piece;
    piece.unit = "frames";
    piece.primer_elements = static_cast<int64_t>(frames.size());

    // Frames -> Score: on (> 0.5) cells become notes, bars in the meter of the primer.
    auto decode_frames = [&](const std::vector<std::vector<float>>& rows) {
      PianoRoll roll;
      roll.num_tracks = static_cast<int>(K);
      roll.num_steps = static_cast<int>(rows.size());
      roll.num_pitches = static_cast<int>(P);
      roll.cells.assign(static_cast<size_t>(K) * roll.num_steps * P, 0);
      for (int t = 0; t < roll.num_steps; ++t)
        for (int k = 0; k < K; ++k)
          for (int p = 0; p < P; ++p)
            roll.at(k, t, p) = rows[static_cast<size_t>(t)][static_cast<size_t>(k * P + p)] > 0.5f;
      const int64_t bar_steps = steps_per_bar(meter.numerator, meter.denominator, spec.steps_per_quarter);
      for (int64_t start = 0; start < roll.num_steps; start += bar_steps)
        roll.bar_starts.push_back(static_cast<int>(start));
      return roll_encoding_->decode(roll, request.qpm);
    };
    const size_t primer_frames = frames.size();
    auto primer_end_tick = [&](const Score& score) {
      return static_cast<int64_t>(primer_frames) * score.ticks_per_quarter / spec.steps_per_quarter;
    };
    int64_t progress_next = 1;

    auto& model = *loaded_.model;
    model.eval();
    torch::NoGradGuard no_grad;
    std::mt19937_64 rng(request.seed);
    auto state = model.initial_state(1);
    torch::Tensor logits;  // (1, V)
    auto feed = [&](const std::vector<float>& frame) {
      auto input = torch::from_blob(const_cast<float*>(frame.data()), {1, V}, torch::kFloat).clone();  // (1, V)
      logits = model.step(input, *state).to(torch::kFloat).contiguous();
    };
    feed(frames.empty() ? std::vector<float>(static_cast<size_t>(V), 0.0f) : frames.front());
    for (size_t t = 1; t < frames.size(); ++t) feed(frames[t]);
    for (int64_t t = 0; t < steps; ++t) {
      std::vector<float> frame(static_cast<size_t>(V));
      sample_keys(logits.data_ptr<float>(), V, request.sampling.temperature, rng, frame.data());
      frames.push_back(frame);
      if (request.on_progress && sampler_detail::progress_due(t + 1, progress_next)) {
        const Score partial = decode_frames(frames);
        if (!request.on_progress(SampleProgress{partial, primer_end_tick(partial), t + 1})) throw GenerationCancelled();
      }
      if (t + 1 < steps) feed(frames.back());
    }
    piece.generated_elements = steps;
    piece.score = decode_frames(frames);
    piece.primer_end_tick = primer_end_tick(piece.score);
    piece.music_seconds = static_cast<double>(steps) / spec.steps_per_quarter * 60.0 / request.qpm;
    return piece;
  }

  const models::Family& family_;
  models::LoadedCheckpoint loaded_;
  std::unique_ptr<TokenEncoding> encoding_;         // token models
  std::optional<PianoRollEncoding> roll_encoding_;  // frame models
  SamplingDefaults sampling_defaults_;              // generation.json beside the checkpoint (none: empty)
};

}  // namespace

std::unique_ptr<Sampler> open_sequence_sampler(const models::Family& family, const models::CheckpointInfo& checkpoint) {
  return std::make_unique<SequenceSampler>(family, checkpoint);
}

}  // namespace cadenza
