// Generation's counterpart of the Learner (src/train/learner.h): one Sampler per model family owns everything that
// family does at generation time. `cadenza generate | sample | interpolate | reconstruct | attribute` and the studio
// call only this interface; the family registry (src/families/registry.h: open_sampler) picks the implementation
// from the checkpoint.
//
//   sampler_sequence.cpp   autoregressive families: grammar-masked token sampling (temperature, top-k, top-p), beam
//                          search, primers, lengths in steps / bars / seconds; piano-roll frames key by key
//   sampler_vae.cpp        MusicVAE: prior or truncated latents decoded step by step; pieces longer than a window
//                          stitched along a smooth latent path; interpolate, reconstruct, attribute vectors
//   sampler_musegan.cpp    MuseGAN: noise -> multi-track piano roll, thresholded or Bernoulli-drawn; stitched
//   sampler_crnngan.cpp    C-RNN-GAN: noise -> note events
//
// Every draw goes through src/generate/sampling.h on a std::mt19937_64 seeded from the request (latent noise comes
// from torch's generator seeded the same way), so a seed gives the same piece. An option a model cannot honour is an
// error naming the option, never silently ignored: capabilities() tells a caller (the CLI, the studio) in advance.
//
// This header is libtorch-free.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "encoding/encoding.h"
#include "generate/sampling.h"
#include "score/score.h"

namespace cadenza {

// What sample() reports while it works (SampleRequest::on_progress), so that a caller can show a piece as it grows
// (the studio streams its notes) and stop it.
struct SampleProgress {
  const Score& score;              // the piece so far, primer included, in the ticks of the finished piece; its
                                   // last notes may still be sounding (they end where decoding stopped)
  int64_t primer_end_tick = 0;     // where the generated music starts
  int64_t generated_elements = 0;  // tokens / frames / windows generated so far
};

// Thrown by sample() when on_progress returned false.
class GenerationCancelled : public Error {
 public:
  GenerationCancelled() : Error("generation cancelled") {}
};

// Bounds on what one request may ask for, checked before any work (issue: absurd sizes must not exhaust memory).
inline constexpr double kMaxBars = 4096;  // ~2.3 hours of 4/4 at 120 qpm
inline constexpr double kMaxSeconds = 4 * 3600.0;
inline constexpr int64_t kMaxSteps = 1 << 20;  // generated tokens / frames
inline constexpr int kMaxBeamSize = 256;
inline constexpr int kMaxBranchFactor = 256;

struct SampleRequest {
  SamplingOptions sampling;  // temperature (models with capabilities().temperature), top_k / top_p (token models)
  // The length after the primer: at most one of steps / bars / seconds (none: the model's default, 16 bars or one
  // window). Bars follow the meter of the primer (4/4 without one).
  int64_t steps = 0;
  double bars = 0;
  double seconds = 0;
  std::optional<Score> primer;       // continue this score (models with capabilities().primer)
  std::vector<Token> primer_tokens;  // token models: continue these tokens
  // Token models whose encoding ends tunes (capabilities().until_end): stop where the model ends the tune; a length,
  // if given, is then only a cap (default 66 bars: 64, an upbeat bar and the bar of the END). Without it the model's
  // END is not sampled: the piece runs to the length asked for (or the default).
  bool until_end = false;
  // Chord models (capabilities().chords): the harmony the melody is generated over, from step 0 of the piece (a
  // primer's bars take the first chords). Either a progression of chord symbols (score/chords.h, bars of the
  // primer's meter, 4/4 without one), or the chords of a track of chords_score (its meter; 4/4 when it has none).
  // The output gets a "chords" track. Without a length, the piece is as long as the chords.
  std::string chords;
  std::optional<Score> chords_score;
  int chords_track = 1;
  // Style models (capabilities().styles): the style vector the model reads (data/style_blend.h). `style`: one style
  // or a mixture ("jigs", "jigs=0.7,waltzes=0.3"); `style_path`: a transition by bar ("jigs@0 -> waltzes@16", bars
  // from the start of the piece, a primer's included). At most one; neither: the even mixture of all the model's
  // styles.
  std::string style;
  std::string style_path;
  // Models of tunes in one key (melody one_key): the pitch class (0 = C) to move the tune's tonic to; -1 = a primer's
  // own key (its continuation is moved back to it), else the model's C major / A minor (or `key`'s tonic).
  int tonic = -1;
  // Models of whole tunes (capabilities().meters not empty: melody with structure): a new tune's meter ("6/8", one of
  // capabilities().meters) and / or key ("G", "Em", "F#m", "Bb"); empty: the model's choice. The piece starts with
  // that header (START METER KEY). A key without a meter: the model first draws the meter after START (one token,
  // from this request's seed and sampling), then writes in the key. A model of tunes in one key writes the key's mode
  // in C major / A minor and the tune is moved to the key's tonic. Not with a primer (it has its own); with chords the
  // chords give the meter.
  std::string meter;
  std::string key;
  int beam_size = 0;  // > 0: beam search (token models)
  int branch_factor = 4;
  // Latent families
  double truncation = 0;               // latents / noise from N(0, 1) truncated to +-truncation (0 = none)
  std::string binarize = "threshold";  // musegan: threshold | bernoulli
  double threshold = 0.5;              // musegan: a cell is on above this probability
  int windows_per_anchor = 4;          // stitched pieces: windows between the anchors of the latent path
  int64_t events = 0;                  // crnngan: note events (0 = 64, or enough for `bars`)
  double qpm = 120.0;                  // tempo of the output (and the unit of `seconds`)
  uint64_t seed = 1;
  // Optional. Called by sample() on the generating thread with the piece decoded so far: token and frame models
  // after each generated element at first, then after a number of elements that grows with the piece (a fixed
  // fraction of it, so decoding stays linear in the length overall); the VAE after each window; the GANs, which
  // decode a piece in one pass, never. Returning false stops generation: sample() throws GenerationCancelled.
  // interpolate(), reconstruct() and apply_attribute() do not call it. It does not change the piece: with or without
  // it, a seed gives the same music.
  std::function<bool(const SampleProgress&)> on_progress;
};

struct SampledPiece {
  Score score;
  std::vector<Token> tokens;       // token models: primer + generated (+ closing) tokens
  int64_t primer_elements = 0;     // primer tokens / frames
  int64_t generated_elements = 0;  // tokens / frames / events generated after the primer
  int64_t primer_end_tick = 0;     // where the generated music starts in `score` (0 without a primer)
  std::string unit = "steps";      // what the elements are: "tokens", "frames", "windows", "events"
  bool ended_cleanly = true;       // token models: the grammar could end where generation stopped
  bool ended_by_model = false;     // tune models (an END token): the model wrote END before the length cap
  double generation_seconds = 0;   // wall time of this piece
  double music_seconds = 0;        // length of the generated part at the output tempo
};

// How a MIDI file came back through an encoder-decoder model.
struct Reconstruction {
  Score input;               // the segment the encoder read (after encoding: quantized, in range, padded)
  Score output;              // decoded from the posterior mean
  double step_accuracy = 0;  // fraction of the segment's steps (tokens, or whole frames) the output reproduces
  int64_t steps = 0;
};

// What a model can be asked; the CLI refuses options outside it and the studio builds its controls from it.
struct SamplerCapabilities {
  std::string family;
  std::string input;         // "tokens" | "frames" | "events"
  bool temperature = false;  // sampling.temperature changes the draws
  bool top_k_top_p = false;  // token models
  bool primer = false;       // continue a score / tokens
  bool beam_search = false;
  bool until_end = false;           // the encoding has an end token the model can choose
  std::vector<std::string> meters;  // models of whole tunes: the meters a tune can start in ("4/4", "6/8"); empty:
                                    // the model reads no tune header (SampleRequest::meter and key do not apply)
  bool one_key = false;  // a model of tunes in one key: it writes C major / A minor, moved to a key asked for
  bool chords = false;   // the model reads chords (chord_conditioning, melody encoding)
  std::vector<std::string> styles;  // the styles the model reads (style_conditioning); empty = none
  bool lengths_in_steps = false;    // `steps` and `seconds` (else bars only)
  bool truncation = false;
  bool binarize = false;
  bool events = false;
  bool interpolate = false;         // between two scores (encoder) or two noise draws
  bool interpolate_scores = false;  // interpolate() takes two scores
  bool reconstruct = false;
  bool attribute = false;
  int64_t window_bars = 0;  // latent families: bars one latent decodes to (0: not windowed)
  double default_temperature = 1.0;
  nlohmann::json to_json() const;
};

class Sampler {
 public:
  virtual ~Sampler() = default;

  virtual const std::string& checkpoint_path() const = 0;
  virtual std::string describe() const = 0;  // "lstm, 1.10M parameters, melody encoding"
  virtual SamplerCapabilities capabilities() const = 0;
  virtual nlohmann::json training_metadata() const = 0;
  // The token encoding of a token model (primer tokens, vocabulary); null otherwise.
  virtual const TokenEncoding* encoding() const { return nullptr; }
  // `--device` (auto, cpu, cuda, cuda:N; models/device.h): where the model generates from now on. Token models of
  // the autoregressive families move to the device; the others generate on the CPU, take "cpu" and "auto" (which
  // means the CPU for them) and refuse a GPU with an Error naming the family. A bad value or an absent CUDA device
  // is an Error naming what was found.
  virtual void use_device(const std::string& spec);

  // One new piece (continuing request.primer / primer_tokens when given). Throws cadenza::Error naming an option the
  // model cannot honour, a length out of bounds, or a primer it rejects.
  virtual SampledPiece sample(const SampleRequest& request) = 0;
  // `steps` pieces along the latent path from a to b, both included (slerp when spherical, else lerp): the
  // encodings of two scores (interpolate_scores) or two noise draws from seeds request.seed and seed + 1.
  virtual std::vector<SampledPiece> interpolate(const Score* a, const Score* b, int steps, bool spherical,
                                                const SampleRequest& request);
  // Encodes the score (posterior mean) and decodes it at request.sampling.temperature.
  virtual Reconstruction reconstruct(const Score& input, const SampleRequest& request);
  // The attributes apply_attribute() knows (note_density, mean_pitch, ...).
  virtual std::vector<std::string> attribute_names() const { return {}; }
  // Adds amount x the attribute vector to the score's latent and decodes. The vector is the mean latent of the
  // windows in the attribute's top quartile minus that of its bottom quartile, over at most max_windows windows: of
  // the training split of `shard_path`, or, with an empty shard_path, of windows the model decodes greedily from
  // latents drawn from its prior (for a model whose training data is not at hand). Vectors are computed once per
  // (attribute, shard_path, max_windows) and cached by the sampler.
  virtual SampledPiece apply_attribute(const Score& input, const std::string& attribute, double amount,
                                       const std::string& shard_path, const SampleRequest& request,
                                       int64_t max_windows = 4096);
};

namespace sampler_detail {
// When a sampler calls on_progress: after every one of the first 16 generated elements (a streamed piece shows its
// first notes at once), then each time the generated part has grown by a sixteenth since the previous call (so
// that decoding the piece so far costs O(length) in all). `next` starts at 1.
inline bool progress_due(int64_t generated, int64_t& next) {
  if (generated < next) return false;
  next = generated + std::max<int64_t>(1, generated / 16);
  return true;
}
}  // namespace sampler_detail

// How many frames a frame sampler generates for `request`: request.steps when set, else its seconds (at
// request.qpm) or bars (16 when neither is given) in `meter`, at steps_per_quarter. Throws Error when that is
// less than one frame.
int64_t requested_frames(const SampleRequest& request, const TimeSignature& meter, int steps_per_quarter);

// The checks every sampler makes first: bounds (kMax*), finite values, options the capabilities do not include
// (each refusal names the option and says why). `who` prefixes messages ("generate").
void check_sample_request(const SampleRequest& request, const SamplerCapabilities& capabilities,
                          const std::string& who);

}  // namespace cadenza
