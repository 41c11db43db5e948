// `cadenza generate --checkpoint FILE|RUN_DIR | --model NAME --out DIR ...`: new pieces as MIDI (and WAV).
// The work is src/generate/piece_generator.h.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "bundled_models.h"
#include "command.h"
#include "common/error.h"
#include "generate/latent_generator.h"
#include "generate/piece_generator.h"
#include "midi/midi.h"
#include "models/checkpoint.h"
#include "models/threading.h"
#include "render/audio.h"

namespace cadenza::cli {

namespace {

struct GenerateCommandOptions {
  std::string checkpoint;
  std::string model;
  bool list_models = false;
  std::string out;
  int num_outputs = 1;
  double bars = 0;
  int64_t steps = 0;
  double seconds = 0;
  std::string primer_midi;
  std::string primer_tokens;
  double temperature = 1.0;
  int top_k = 0;
  double top_p = 1.0;
  int beam_size = 0;
  int branch_factor = 4;
  double qpm = 120.0;
  uint64_t seed = 1;
  bool wav = false;
  std::string prefix = "sample";
  // Batch-1 generation is matrix-vector work that OpenBLAS slows down when it splits it (docs/threading.md).
  int threads = 1;
};

// vae / gan / rgan checkpoints: `generate` samples them like `cadenza sample` (options of the autoregressive
// families that have no meaning there are refused rather than ignored).
void generate_from_latent_model(const GenerateCommandOptions& cli, const std::string& checkpoint) {
  if (!cli.primer_midi.empty() || !cli.primer_tokens.empty() || cli.beam_size > 0 || cli.top_k > 0 || cli.top_p < 1.0 ||
      cli.steps > 0 || cli.seconds > 0)
    throw Error("generate: " + checkpoint +
                " holds a latent-variable model, which takes no primer, beam search, "
                "top-k/top-p, --steps or --seconds (use --bars; `cadenza sample --help` lists its options)");
  LatentGenerator generator(checkpoint);
  std::printf("model: %s (%s)\n", generator.checkpoint_path().c_str(), generator.describe().c_str());
  LatentSampleOptions options;
  options.temperature = cli.temperature;
  options.bars = cli.bars > 0 ? cli.bars : 16;
  options.qpm = cli.qpm;
  options.seed = cli.seed;
  const std::vector<LatentPiece> pieces = generator.sample(cli.num_outputs, options);
  std::filesystem::create_directories(cli.out);
  for (size_t i = 0; i < pieces.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "%s_%03zu", cli.prefix.c_str(), i + 1);
    const std::string base = (std::filesystem::path(cli.out) / name).string();
    write_midi_file(pieces[i].score, base + ".mid");
    std::printf("wrote %s.mid: %zu notes, %.1f s of music, generated in %.3f s (%.0fx real time)\n", base.c_str(),
                pieces[i].score.note_count(), pieces[i].score.end_seconds(), pieces[i].generation_seconds,
                pieces[i].music_seconds / std::max(pieces[i].generation_seconds, 1e-9));
    if (cli.wav) {
      render_wav(pieces[i].score, base + ".wav");
      std::printf("wrote %s.wav\n", base.c_str());
    }
  }
}

void run_generate(const GenerateCommandOptions& cli) {
  if (cli.list_models) {
    std::printf("bundled models in %s:\n", bundled_models_dir().c_str());
    for (const auto& name : bundled_model_names()) std::printf("  %s\n", name.c_str());
    return;
  }
  if (cli.checkpoint.empty() == cli.model.empty())
    throw Error("generate: give either --checkpoint FILE|RUN_DIR or --model NAME (see --list-models)");
  if (cli.out.empty()) throw Error("generate: --out DIR is required");
  if (cli.num_outputs < 1) throw Error("generate: --num-outputs must be >= 1");
  models::configure_tensor_threads(resolve_threads(cli.threads));
  const std::string checkpoint = cli.checkpoint.empty() ? bundled_model_path(cli.model) : cli.checkpoint;
  if (!models::is_sequence_family(models::read_checkpoint_info(models::resolve_checkpoint_path(checkpoint)).family)) {
    generate_from_latent_model(cli, checkpoint);
    return;
  }
  PieceGenerator generator(checkpoint);

  PieceRequest request;
  request.sampling.temperature = cli.temperature;
  request.sampling.top_k = cli.top_k;
  request.sampling.top_p = cli.top_p;
  request.steps = cli.steps;
  request.bars = cli.bars;
  request.seconds = cli.seconds;
  if (request.steps == 0 && request.bars == 0 && request.seconds == 0) request.bars = 16;
  request.qpm = cli.qpm;
  request.beam_size = cli.beam_size;
  request.branch_factor = cli.branch_factor;
  if (!cli.primer_midi.empty()) request.primer_score = read_midi_file(cli.primer_midi);
  if (!cli.primer_tokens.empty()) {
    if (generator.frames()) throw Error("generate: --primer-tokens needs a token model; this one reads piano rolls");
    request.primer_tokens = generator.encoding()->from_text(cli.primer_tokens);
  }
  std::filesystem::create_directories(cli.out);
  std::printf("model: %s (%s)\n", generator.checkpoint_path().c_str(), generator.describe().c_str());
  for (int i = 0; i < cli.num_outputs; ++i) {
    request.seed = cli.seed + static_cast<uint64_t>(i);
    const GeneratedPiece piece = generator.generate(request);
    char name[64];
    std::snprintf(name, sizeof name, "%s_%03d", cli.prefix.c_str(), i + 1);
    const std::string midi_path = (std::filesystem::path(cli.out) / (std::string(name) + ".mid")).string();
    write_midi_file(piece.score, midi_path);
    std::printf("wrote %s: %zu notes, %.1f s of music, %lld %s generated in %.2f s (%.0fx real time)%s\n",
                midi_path.c_str(), piece.score.note_count(), piece.score.end_seconds(),
                static_cast<long long>(piece.generated_elements), generator.frames() ? "frames" : "tokens",
                piece.generation_seconds, piece.music_seconds / std::max(piece.generation_seconds, 1e-9),
                piece.ended_cleanly ? "" : " (closed by the decoder)");
    if (cli.wav) {
      const std::string wav_path = (std::filesystem::path(cli.out) / (std::string(name) + ".wav")).string();
      render_wav(piece.score, wav_path);
      std::printf("wrote %s\n", wav_path.c_str());
    }
  }
}

void setup_generate(CLI::App& parent) {
  auto options = std::make_shared<GenerateCommandOptions>();
  auto* command = parent.add_subcommand("generate", "Generate new pieces with a trained or bundled model");
  command->add_option("--checkpoint", options->checkpoint, "Checkpoint file, or a run folder (its best checkpoint)");
  command->add_option("--model", options->model, "A bundled model by name (see --list-models)");
  command->add_flag("--list-models", options->list_models, "List the bundled models and exit");
  command->add_option("--out", options->out, "Output folder for the MIDI (and WAV) files");
  command->add_option("--num-outputs,-n", options->num_outputs, "Pieces to generate")->capture_default_str();
  command->add_option("--bars", options->bars, "Length after the primer in 4/4 bars (default 16 when no length)");
  command->add_option("--steps", options->steps, "Length as generated tokens (token models) or frames (piano roll)");
  command->add_option("--seconds", options->seconds, "Length after the primer in seconds at --qpm");
  command->add_option("--primer-midi", options->primer_midi, "MIDI file to continue (encoded like the training data)");
  command->add_option("--primer-tokens", options->primer_tokens,
                      "Token names separated by spaces to continue, e.g. \"NOTE_ON_60 STEP\" (token models)");
  command->add_option("--temperature", options->temperature, "Sampling temperature; 0 = greedy")->capture_default_str();
  command->add_option("--top-k", options->top_k, "Sample among the k most likely tokens; 0 = all")
      ->capture_default_str();
  command->add_option("--top-p", options->top_p, "Nucleus sampling: the smallest set with probability >= p")
      ->capture_default_str();
  command->add_option("--beam-size", options->beam_size, "Beam search with this many beams; 0 = plain sampling")
      ->capture_default_str();
  command->add_option("--branch-factor", options->branch_factor, "Continuations each beam proposes per step")
      ->capture_default_str();
  command->add_option("--qpm", options->qpm, "Tempo of the output in quarter notes per minute")->capture_default_str();
  command->add_option("--seed", options->seed, "Seed; piece i uses seed + i")->capture_default_str();
  command->add_flag("--wav", options->wav, "Also render each piece to WAV with FluidSynth");
  command->add_option("--prefix", options->prefix, "File name prefix")->capture_default_str();
  add_threads_option(command, options->threads);
  command->callback([options] { run_generate(*options); });
}

}  // namespace

static const CommandRegistration registration{"generate", setup_generate};

}  // namespace cadenza::cli
