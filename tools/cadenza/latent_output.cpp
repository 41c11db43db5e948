#include "latent_output.h"

#include <cstdio>
#include <filesystem>

#include "bundled_models.h"
#include "command.h"
#include "common/error.h"
#include "midi/midi.h"
#include "models/threading.h"
#include "render/audio.h"

namespace cadenza::cli {

void add_latent_options(CLI::App* command, LatentCommonOptions& options) {
  command->add_option("--checkpoint", options.checkpoint, "Checkpoint file, or a run folder (its best checkpoint)");
  command->add_option("--model", options.model, "A bundled model by name (cadenza generate --list-models)");
  command->add_option("--out", options.out, "Output folder for the MIDI (and WAV) files")->required();
  command->add_option("--temperature", options.sampling.temperature, "vae: decoder sampling temperature; 0 = argmax")
      ->capture_default_str();
  command
      ->add_option("--truncation", options.sampling.truncation,
                   "Draw latents / noise from N(0,1) truncated to +-this (0 = no truncation)")
      ->capture_default_str();
  command->add_option("--binarize", options.sampling.binarize, "gan: threshold or bernoulli")
      ->check(CLI::IsMember({"threshold", "bernoulli"}))
      ->capture_default_str();
  command->add_option("--threshold", options.sampling.threshold, "gan: a cell is on above this probability")
      ->capture_default_str();
  command->add_option("--qpm", options.sampling.qpm, "Tempo of the output in quarter notes per minute")
      ->capture_default_str();
  command->add_option("--seed", options.sampling.seed, "Seed (piece i of a batch uses seed + i)")
      ->capture_default_str();
  command->add_flag("--wav", options.wav, "Also render each piece to WAV with FluidSynth");
  add_threads_option(command, options.threads);
}

void add_input_track_option(CLI::App* command, LatentCommonOptions& options) {
  command
      ->add_option("--track-index", options.track_index,
                   "Encode only this 0-based track of each input file (-1 = all: a melody model reads their skyline, a "
                   "multi-track model maps track i to roll track i; Nottingham: 0 melody, 1 chords)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
}

Score read_latent_input(const LatentCommonOptions& options, const std::string& path) {
  Score score = read_midi_file(path);
  if (options.track_index < 0) return score;
  if (static_cast<size_t>(options.track_index) >= score.tracks.size())
    throw Error(path + ": no track " + std::to_string(options.track_index) + " (the file has " +
                std::to_string(score.tracks.size()) + " tracks)");
  score.tracks = {score.tracks[static_cast<size_t>(options.track_index)]};
  return score;
}

std::string latent_checkpoint(const LatentCommonOptions& options, const char* command) {
  if (options.checkpoint.empty() == options.model.empty())
    throw Error(std::string(command) + ": give either --checkpoint FILE|RUN_DIR or --model NAME");
  models::configure_tensor_threads(resolve_threads(options.threads));
  std::filesystem::create_directories(options.out);
  return options.checkpoint.empty() ? bundled_model_path(options.model) : options.checkpoint;
}

std::string write_latent_piece(const LatentCommonOptions& options, const Score& score, const std::string& name,
                               const std::string& detail) {
  const std::filesystem::path base = std::filesystem::path(options.out) / name;
  const std::string midi_path = base.string() + ".mid";
  write_midi_file(score, midi_path);
  std::printf("wrote %s: %zu notes, %.1f s%s%s\n", midi_path.c_str(), score.note_count(), score.end_seconds(),
              detail.empty() ? "" : ", ", detail.c_str());
  if (options.wav) {
    const std::string wav_path = base.string() + ".wav";
    render_wav(score, wav_path);
    std::printf("wrote %s\n", wav_path.c_str());
  }
  return midi_path;
}

}  // namespace cadenza::cli
