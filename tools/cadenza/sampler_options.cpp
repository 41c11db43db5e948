#include "sampler_options.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "bundled_models.h"
#include "command.h"
#include "common/error.h"
#include "families/registry.h"
#include "generate/sampling_defaults.h"
#include "midi/midi.h"
#include "models/threading.h"
#include "render/audio.h"

namespace cadenza::cli {

void add_sampler_options(CLI::App* command, SamplerCommandOptions& options, bool latent) {
  command->add_option("--checkpoint", options.checkpoint, "Checkpoint file, or a run folder (its best checkpoint)");
  command->add_option("--model", options.model, "A bundled model by name (cadenza generate --list-models)");
  command->add_option("--out", options.out, "Output folder for the MIDI (and WAV) files");
  options.temperature =
      command->add_option("--temperature", options.request.sampling.temperature,
                          "Sampling temperature; 0 = most likely (default for generate/sample: the model's own, 1 "
                          "unless a generation.json beside its checkpoint gives one, as the bundled token models' "
                          "do; 0 for interpolate, reconstruct and attribute)");
  if (latent) {
    command
        ->add_option("--truncation", options.request.truncation,
                     "Draw latents / noise from N(0,1) truncated to +-this (0 = no truncation)")
        ->capture_default_str();
    command->add_option("--binarize", options.request.binarize, "gan: threshold or bernoulli")
        ->check(CLI::IsMember({"threshold", "bernoulli"}))
        ->capture_default_str();
    command->add_option("--threshold", options.request.threshold, "gan: a cell is on above this probability")
        ->capture_default_str();
  }
  command->add_option("--qpm", options.request.qpm, "Tempo of the output in quarter notes per minute")
      ->capture_default_str();
  command->add_option("--seed", options.request.seed, "Seed (piece i of a batch uses seed + i)")->capture_default_str();
  command->add_flag("--wav", options.wav, "Also render each piece to WAV with FluidSynth");
  add_threads_option(command, options.threads);
  command
      ->add_option("--device", options.device,
                   "cpu, auto, cuda or cuda:N: where the model generates (token models of rnn, lstm, gru and "
                   "transformer; the other families generate on the CPU)")
      ->capture_default_str();
}

void add_input_track_option(CLI::App* command, SamplerCommandOptions& options) {
  command
      ->add_option("--track-index", options.track_index,
                   "Encode only this 0-based track of each input file (-1 = all: a melody model reads their skyline, a "
                   "multi-track model maps track i to roll track i; Nottingham: 0 melody, 1 chords)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
}

std::unique_ptr<Sampler> open_command_sampler(SamplerCommandOptions& options, const std::string& command,
                                              DefaultTemperature default_temperature) {
  if (options.checkpoint.empty() == options.model.empty())
    throw Error(command + ": give either --checkpoint FILE|RUN_DIR or --model NAME (see generate --list-models)");
  if (options.out.empty()) throw Error(command + ": --out DIR is required");
  models::configure_tensor_threads(resolve_threads(options.threads));
  const std::string checkpoint = options.checkpoint.empty() ? bundled_model_path(options.model) : options.checkpoint;
  std::unique_ptr<Sampler> sampler = families::open_sampler(checkpoint);
  sampler->use_device(options.device);
  const SamplerCapabilities caps = sampler->capabilities();
  const bool temperature_given = options.temperature != nullptr && options.temperature->count() > 0;
  if (!temperature_given)
    options.request.sampling.temperature =
        caps.temperature && default_temperature == DefaultTemperature::kMostLikely ? 0.0 : caps.default_temperature;
  std::printf("model: %s (%s)\n", sampler->checkpoint_path().c_str(), sampler->describe().c_str());
  if (!temperature_given && caps.temperature && default_temperature == DefaultTemperature::kSample) {
    const std::string defaults = sampling_defaults_path(sampler->checkpoint_path());
    if (std::filesystem::exists(defaults))
      std::printf("temperature %g: the model's default, from %s (--temperature sets another)\n",
                  options.request.sampling.temperature, defaults.c_str());
  }
  return sampler;
}

Score read_input_midi(const SamplerCommandOptions& options, const std::string& path) {
  Score score = read_midi_file(path);
  if (options.track_index < 0) return score;
  if (static_cast<size_t>(options.track_index) >= score.tracks.size())
    throw Error(path + ": no track " + std::to_string(options.track_index) + " (the file has " +
                std::to_string(score.tracks.size()) + " tracks)");
  score.tracks = {score.tracks[static_cast<size_t>(options.track_index)]};
  return score;
}

PieceWriter::PieceWriter(std::string folder, bool wav, const std::string& command)
    : folder_(std::move(folder)), wav_(wav), lock_(folder_, command) {}

void PieceWriter::check_name(const std::string& name, const std::string& option) {
  const bool characters_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+';
  });
  if (name.empty() || name.size() > 200 || !characters_ok || name == "." || name == "..")
    throw Error(option + " \"" + name +
                "\": a file name must be 1 to 200 letters, digits, '.', '_', '-' or '+' (it names files inside --out)");
}

std::string PieceWriter::write(const Score& score, const std::string& name, const std::string& detail) {
  check_name(name, "output name");
  const std::filesystem::path base = std::filesystem::path(folder_) / name;
  const std::string midi_path = base.string() + ".mid";
  write_midi_file(score, midi_path);
  std::printf("wrote %s: %zu notes, %.1f s%s%s\n", midi_path.c_str(), score.note_count(), score.end_seconds(),
              detail.empty() ? "" : ", ", detail.c_str());
  if (wav_) {
    const std::string wav_path = base.string() + ".wav";
    render_wav(score, wav_path);
    std::printf("wrote %s\n", wav_path.c_str());
  }
  return midi_path;
}

std::string file_stem_name(const std::string& path) {
  std::string stem = std::filesystem::path(path).stem().string();
  for (char& c : stem)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+')) c = '_';
  if (stem.size() > 120) stem.resize(120);
  return stem.empty() ? "input" : stem;
}

std::string timing_text(const SampledPiece& piece) {
  char text[128];
  std::snprintf(text, sizeof text, "generated in %.3f s (%.0fx real time)", piece.generation_seconds,
                piece.music_seconds / std::max(piece.generation_seconds, 1e-9));
  return text;
}

}  // namespace cadenza::cli
