// `cadenza generate --checkpoint FILE|RUN_DIR | --model NAME --out DIR ...`: new pieces as MIDI (and WAV) from a
// model of any family, through its sampler (src/generate/sampler.h).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bundled_models.h"
#include "command.h"
#include "common/error.h"
#include "data/style_blend.h"
#include "midi/midi.h"
#include "sampler_options.h"
#include "score/chords.h"
#include "score/key.h"

namespace cadenza::cli {

namespace {

constexpr int kMaxOutputs = 10000;

struct GenerateCommandOptions {
  SamplerCommandOptions common;
  bool list_models = false;
  int num_outputs = 1;
  std::string primer_midi;
  std::string primer_tokens;
  std::string meter;  // a tune model's METER, "6/8"
  std::string key;    // and KEY, "D", "Em"
  std::string chords_midi;
  std::string prefix = "sample";
};

// --meter / --key: what the tune will start with (the sampler builds the header, SampleRequest::meter and key).
void describe_tune_header(const Sampler& sampler, const SampleRequest& request) {
  const SamplerCapabilities caps = sampler.capabilities();
  if (caps.meters.empty()) return;  // check_sample_request names the problem
  const std::string meter = request.meter.empty() ? "the model's meter" : request.meter;
  if (request.key.empty()) {
    std::printf("tune header: %s (--meter), the key the model's choice\n", meter.c_str());
    return;
  }
  const Key key = parse_key(request.key);
  const std::string flags = request.meter.empty() ? "--key" : "--meter, --key";
  if (caps.one_key) {
    std::printf("tune header: %s, %s (%s; the model writes in %s, the tune is moved to %s)\n", meter.c_str(),
                key_name(key).c_str(), flags.c_str(), key.mode == ScaleMode::kMinor ? "A minor" : "C major",
                key_name(key).c_str());
  } else {
    std::printf("tune header: %s, %s (%s)\n", meter.c_str(), key_name(key).c_str(), flags.c_str());
  }
}

void run_generate(GenerateCommandOptions& cli) {
  if (cli.list_models) {
    std::printf("bundled models in %s:\n", bundled_models_dir().c_str());
    for (const auto& name : bundled_model_names()) std::printf("  %s\n", name.c_str());
    return;
  }
  if (cli.num_outputs < 1 || cli.num_outputs > kMaxOutputs)
    throw Error("generate: --num-outputs must be in [1, " + std::to_string(kMaxOutputs) + "], got " +
                std::to_string(cli.num_outputs));
  PieceWriter::check_name(cli.prefix + "_001", "--prefix");
  std::unique_ptr<Sampler> sampler = open_command_sampler(cli.common, "generate", DefaultTemperature::kSample);
  SampleRequest request = cli.common.request;
  if (!cli.primer_midi.empty()) request.primer = read_midi_file(cli.primer_midi);
  if (!cli.primer_tokens.empty()) {
    if (sampler->encoding() == nullptr)
      throw Error("generate: --primer-tokens needs a token model; " + sampler->checkpoint_path() + " holds a " +
                  sampler->capabilities().family + " model reading " + sampler->capabilities().input);
    request.primer_tokens = sampler->encoding()->from_text(cli.primer_tokens);
  }
  request.meter = cli.meter;
  request.key = cli.key;
  if (!cli.chords_midi.empty()) request.chords_score = read_midi_file(cli.chords_midi);
  check_sample_request(request, sampler->capabilities(), "generate");  // before the folder is made
  if (!cli.meter.empty() || !cli.key.empty()) describe_tune_header(*sampler, request);
  const bool with_chords = !request.chords.empty() || request.chords_score.has_value();
  if (sampler->capabilities().one_key && request.key.empty())
    std::printf("key: the model writes its tunes in C major or A minor%s (--key moves a new tune)\n",
                request.primer || !request.primer_tokens.empty()
                    ? "; the primer's continuation is moved back to the primer's key"
                : with_chords ? "; the chords move there with the tune, and the tune is moved to the chords' key"
                              : "");
  if (!request.chords.empty()) parse_chord_progression(request.chords);  // a bad symbol stops here, named
  if (request.chords_score &&
      (request.chords_track < 0 || static_cast<size_t>(request.chords_track) >= request.chords_score->tracks.size()))
    throw Error("generate: " + cli.chords_midi + ": no chord track " + std::to_string(request.chords_track) +
                " (the file has " + std::to_string(request.chords_score->tracks.size()) + " tracks)");
  const std::vector<std::string>& styles = sampler->capabilities().styles;
  if (!styles.empty()) {
    if (!request.style_path.empty())
      std::printf("style path: %s (by bar)\n", request.style_path.c_str());
    else if (!request.style.empty())
      std::printf("style: %s\n", describe_style_vector(parse_style_mixture(request.style, styles), styles).c_str());
    else
      std::printf("style: the even mixture of the model's %zu styles (none given with --style)\n", styles.size());
  }
  PieceWriter writer(cli.common.out, cli.common.wav, "generate");
  int ended_by_model = 0;
  for (int i = 0; i < cli.num_outputs; ++i) {
    request.seed = cli.common.request.seed + static_cast<uint64_t>(i);
    const SampledPiece piece = sampler->sample(request);
    char name[16];
    std::snprintf(name, sizeof name, "_%03d", i + 1);
    ended_by_model += piece.ended_by_model ? 1 : 0;
    const std::string detail =
        std::to_string(piece.generated_elements) + " " + piece.unit + " " + timing_text(piece) +
        (piece.ended_cleanly ? "" : " (closed by the decoder)") +
        (request.until_end ? (piece.ended_by_model ? ", ended by the model" : ", cut at the cap") : "");
    writer.write(piece.score, cli.prefix + name, detail);
  }
  if (request.until_end)
    std::printf("%d of %d pieces ended by the model's END (the others were cut at the length cap)\n", ended_by_model,
                cli.num_outputs);
}

void setup_generate(CLI::App& parent) {
  auto options = std::make_shared<GenerateCommandOptions>();
  auto* command = parent.add_subcommand("generate", "Generate new pieces with a trained or bundled model");
  SampleRequest& request = options->common.request;
  add_sampler_options(command, options->common, /*latent=*/true);
  command->add_flag("--list-models", options->list_models, "List the bundled models and exit");
  command->add_option("--num-outputs,-n", options->num_outputs, "Pieces to generate")->capture_default_str();
  command->add_option(
      "--bars", request.bars,
      "Length after the primer in bars of the piece's meter (a tune model's own; default 16 when no length is given); "
      "a model that reads the bars left (context_bars_left) plans its ending for it");
  command->add_option("--steps", request.steps, "Length as generated tokens (token models) or frames (piano roll)");
  command->add_option("--seconds", request.seconds, "Length after the primer in seconds at --qpm");
  command->add_option("--primer-midi", options->primer_midi, "MIDI file to continue (encoded like the training data)");
  command->add_option("--primer-tokens", options->primer_tokens,
                      "Token names separated by spaces to continue, e.g. \"NOTE_ON_60 STEP\" (token models)");
  command->add_option("--meter", options->meter,
                      "Tune models (melody with structure=true): the meter to start the tune in, e.g. 6/8 (the "
                      "model's METER tokens); without it the model chooses");
  command->add_option("--key", options->key,
                      "Tune models: the key to start the tune in, e.g. D, Em, F#m, Bb (the model's KEY tokens; a "
                      "model of tunes in one key, melody one_key, writes C major or A minor and the tune is moved to "
                      "this key); without --meter the model chooses the meter first; without --key it chooses the key");
  command->add_option("--chords", request.chords,
                      "Chord models (trained with chord_conditioning): the chords to play the melody over, bars "
                      "separated by '|', several chords in a bar split it evenly, e.g. \"C | G7 | Am F/C | Bdim\" "
                      "(roots A-G with # or b; qualities maj m 7 m7 maj7 dim dim7 m7b5 aug sus2 sus4 6 m6 9; /bass). "
                      "They start at the piece's start (a primer's bars take the first chords), bars of the primer's "
                      "meter (4/4 without one); the output has a \"chords\" track; without a length, the piece is as "
                      "long as the chords; a model of whole tunes writes the key of the chords (Krumhansl-Schmuckler "
                      "over their pitch classes) unless --key gives one");
  command->add_option("--chords-midi", options->chords_midi,
                      "Chord models: take the chords from a track of this MIDI file (--chords-track), in its meter");
  command->add_option("--chords-track", request.chords_track, "The track of --chords-midi that holds the chords")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  command->add_option("--style", request.style,
                      "Style models (trained with style_conditioning): the style to generate in, one of the model's "
                      "styles (\"jigs\") or a mixture of them (\"jigs=0.7,waltzes=0.3\", weights >= 0, normalised). "
                      "Default: the even mixture of all the model's styles");
  command->add_option("--style-path", request.style_path,
                      "Style models: a style that moves over the piece bar by bar, anchors STYLE@BAR separated by "
                      "'->' (\"jigs@0 -> waltzes@16\"; an anchor may be a mixture), interpolated linearly between the "
                      "anchors, held before the first and after the last; bars from the piece's start (a primer's "
                      "included)");
  command->add_flag(
      "--until-end", request.until_end,
      "Let the model end the tune (models of tunes with an end: melody with structure=true); a length "
      "is then only a cap (66 bars of the tune's meter by default); with --bars, the length a bars-left model "
      "plans for, the cap one bar past it; without, a bars-left model is told in its last 8 bars that "
      "the tune has 65 (64 and an upbeat bar), so that a tune still going there ends instead of being "
      "cut");
  command->add_option("--top-k", request.sampling.top_k, "Sample among the k most likely tokens; 0 = all")
      ->capture_default_str();
  command->add_option("--top-p", request.sampling.top_p, "Nucleus sampling: the smallest set with probability >= p")
      ->capture_default_str();
  command->add_option("--beam-size", request.beam_size, "Beam search with this many beams; 0 = plain sampling")
      ->capture_default_str();
  command->add_option("--branch-factor", request.branch_factor, "Continuations each beam proposes per step")
      ->capture_default_str();
  command
      ->add_option("--windows-per-anchor", request.windows_per_anchor,
                   "Latent models, pieces longer than a window: windows between the anchors of the latent path")
      ->capture_default_str();
  command->add_option("--events", request.events, "rgan: note events to generate (0 = 64, or enough for --bars)")
      ->capture_default_str();
  command->add_option("--prefix", options->prefix, "File name prefix")->capture_default_str();
  command->callback([options] { run_generate(*options); });
}

}  // namespace

static const CommandRegistration registration{"generate", setup_generate};

}  // namespace cadenza::cli
