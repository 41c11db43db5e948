#include "generate/sampler.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "data/style_blend.h"
#include "score/key.h"
#include "score/operations.h"

namespace cadenza {

nlohmann::json SamplerCapabilities::to_json() const {
  return {{"family", family},
          {"input", input},
          {"temperature", temperature},
          {"top_k_top_p", top_k_top_p},
          {"primer", primer},
          {"beam_search", beam_search},
          {"until_end", until_end},
          {"meters", meters},
          {"one_key", one_key},
          {"chords", chords},
          {"styles", styles},
          {"lengths_in_steps", lengths_in_steps},
          {"truncation", truncation},
          {"binarize", binarize},
          {"events", events},
          {"interpolate", interpolate},
          {"interpolate_scores", interpolate_scores},
          {"reconstruct", reconstruct},
          {"attribute", attribute},
          {"window_bars", window_bars},
          {"default_temperature", default_temperature},
          {"max_bars", kMaxBars},
          {"max_steps", kMaxSteps},
          {"max_beam_size", kMaxBeamSize}};
}

namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

int64_t requested_frames(const SampleRequest& request, const TimeSignature& meter, int steps_per_quarter) {
  int64_t steps = request.steps;
  if (steps <= 0) {
    const double quarters = request.seconds > 0 ? request.seconds * request.qpm / 60.0
                                                : (request.bars > 0 ? request.bars : 16) *
                                                      quarters_per_bar(meter.numerator, meter.denominator);
    steps = static_cast<int64_t>(std::llround(quarters * steps_per_quarter));
  }
  if (steps <= 0) throw Error("generate: the requested length is shorter than one frame");
  return steps;
}

void check_sample_request(const SampleRequest& request, const SamplerCapabilities& caps, const std::string& who) {
  auto fail = [&](const std::string& problem) { throw Error(who + ": " + problem); };
  const std::string model = "a " + caps.family + " model";
  validate_sampling_options(request.sampling);
  // Lengths: finite, non-negative, bounded, at most one of them.
  if (!std::isfinite(request.bars) || request.bars < 0 || request.bars > kMaxBars)
    fail("--bars must be a number in [0, " + number(kMaxBars) + "], got " + number(request.bars));
  if (!std::isfinite(request.seconds) || request.seconds < 0 || request.seconds > kMaxSeconds)
    fail("--seconds must be a number in [0, " + number(kMaxSeconds) + "], got " + number(request.seconds));
  if (request.steps < 0 || request.steps > kMaxSteps)
    fail("--steps must be in [0, " + std::to_string(kMaxSteps) + "], got " + std::to_string(request.steps));
  if ((request.steps > 0) + (request.bars > 0) + (request.seconds > 0) > 1)
    fail("give at most one length: --steps, --bars or --seconds");
  if (!(request.qpm > 0 && request.qpm <= 1000)) fail("--qpm must be in (0, 1000], got " + number(request.qpm));
  if (request.beam_size < 0 || request.beam_size > kMaxBeamSize)
    fail("--beam-size must be in [0, " + std::to_string(kMaxBeamSize) + "], got " + std::to_string(request.beam_size));
  if (request.branch_factor < 1 || request.branch_factor > kMaxBranchFactor)
    fail("--branch-factor must be in [1, " + std::to_string(kMaxBranchFactor) + "], got " +
         std::to_string(request.branch_factor));
  if (!std::isfinite(request.truncation) || request.truncation < 0 || request.truncation > 100)
    fail("--truncation must be in [0, 100] (0 = none), got " + number(request.truncation));
  if (!(request.threshold >= 0 && request.threshold <= 1))
    fail("--threshold must be in [0, 1], got " + number(request.threshold));
  if (request.binarize != "threshold" && request.binarize != "bernoulli")
    fail("--binarize must be threshold or bernoulli, got \"" + request.binarize + "\"");
  if (request.windows_per_anchor < 1 || request.windows_per_anchor > 4096)
    fail("--windows-per-anchor must be in [1, 4096], got " + std::to_string(request.windows_per_anchor));
  if (request.events < 0 || request.events > kMaxSteps)
    fail("--events must be in [0, " + std::to_string(kMaxSteps) + "], got " + std::to_string(request.events));

  // Options the model cannot honour are refused, not ignored.
  if (!caps.temperature && request.sampling.temperature != caps.default_temperature)
    fail(model + " draws nothing a temperature could scale: --temperature does not apply" +
         (caps.truncation ? " (--truncation controls how far from typical its latents go)" : ""));
  if (!caps.top_k_top_p && (request.sampling.top_k != 0 || request.sampling.top_p != 1.0))
    fail("--top-k and --top-p choose among tokens; " + model + " does not sample tokens" +
         (caps.input == "frames" ? " (each key is its own draw: use --temperature)" : ""));
  if (!caps.primer && (request.primer || !request.primer_tokens.empty()))
    fail(model + " takes no primer (it does not continue a piece)");
  if (!caps.beam_search && request.beam_size > 0) fail("beam search applies to token models; " + model + " has none");
  if (!caps.until_end && request.until_end)
    fail("--until-end needs a model whose encoding ends tunes (melody with structure=true); " + model + " has none");
  if (request.until_end && request.beam_size > 0) fail("--until-end and --beam-size cannot be combined");
  const bool chords_given = !request.chords.empty() || request.chords_score.has_value();
  // A new tune's header: checked here, before any work, and named as the CLI names it.
  if (!request.meter.empty() || !request.key.empty()) {
    if (caps.meters.empty())
      fail("--meter and --key are for models of whole tunes (melody with structure=true); " + model +
           " reads no tune header");
    if (request.primer || !request.primer_tokens.empty())
      fail("--meter and --key start a new tune; a primer already sets its meter and key");
    if (!request.meter.empty() && std::find(caps.meters.begin(), caps.meters.end(), request.meter) == caps.meters.end()) {
      std::string listed;
      for (const std::string& meter : caps.meters) listed += (listed.empty() ? "" : ", ") + meter;
      fail("--meter \"" + request.meter + "\" is not a meter the model writes (" + listed + ")");
    }
    if (!request.meter.empty() && chords_given) fail("--meter with chords: the chords give the tune's meter");
    if (!request.key.empty()) {
      try {
        parse_key(request.key);
      } catch (const Error& error) {
        fail(std::string("--key: ") + error.what());
      }
      if (request.tonic >= 0) fail("give the key to move a tune to as --key or as a tonic, not both");
    }
  }
  if (chords_given && !caps.chords)
    fail(
        "--chords / --chords-midi need a model trained with chord conditioning (model config chord_conditioning "
        "on a melody shard prepared with --chords-track); " +
        model + " has none");
  if (!request.chords.empty() && request.chords_score) fail("give chords as --chords or --chords-midi, not both");
  if (chords_given && request.beam_size > 0) fail("--chords and --beam-size cannot be combined yet");
  const bool style_given = !request.style.empty() || !request.style_path.empty();
  if (style_given && caps.styles.empty())
    fail(
        "--style / --style-path need a model trained with style conditioning (model config style_conditioning on a "
        "shard prepared with --style-from or --style); " +
        model + " has none");
  if (!request.style.empty() && !request.style_path.empty())
    fail("give the style as --style or --style-path, not both");
  // Names and weights are checked here, before any work (the sampler parses them again for their values).
  if (!request.style.empty()) parse_style_mixture(request.style, caps.styles);
  if (!request.style_path.empty()) parse_style_path(request.style_path, caps.styles);
  if (!caps.lengths_in_steps && (request.steps > 0 || request.seconds > 0))
    fail(model + " generates whole bars: give the length with --bars, not --steps or --seconds");
  if (!caps.truncation && request.truncation != 0) fail(model + " draws no latent: --truncation does not apply");
  if (!caps.binarize && (request.binarize != "threshold" || request.threshold != 0.5))
    fail("--binarize and --threshold apply to piano-roll GANs; " + model + " does not binarize");
  if (!caps.events && request.events != 0) fail("--events applies to note-event models; " + model + " is not one");
}

void Sampler::use_device(const std::string& spec) {
  if (spec == "cpu" || spec == "auto") return;
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0)
    throw Error("--device " + spec + ": a " + capabilities().family + " model (" + capabilities().input +
                ") generates on the CPU only for now (token models of rnn, lstm, gru and transformer take a device)");
  throw Error("--device " + spec + ": expected auto, cpu, cuda or cuda:N");
}

std::vector<SampledPiece> Sampler::interpolate(const Score*, const Score*, int, bool, const SampleRequest&) {
  throw Error("interpolate: a " + capabilities().family + " model has no latent space to interpolate in");
}

Reconstruction Sampler::reconstruct(const Score&, const SampleRequest&) {
  throw Error("reconstruct: a " + capabilities().family + " model has no encoder (" + checkpoint_path() + ")");
}

SampledPiece Sampler::apply_attribute(const Score&, const std::string&, double, const std::string&,
                                      const SampleRequest&, int64_t) {
  throw Error("attribute: a " + capabilities().family + " model has no encoder to steer (" + checkpoint_path() + ")");
}

}  // namespace cadenza
