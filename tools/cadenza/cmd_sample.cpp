// `cadenza sample --checkpoint F --out DIR [-n N] [--bars B] [--temperature T] [--truncation X] [--binarize ...]`:
// new pieces from a vae, gan or rgan model (src/generate/latent_generator.h).
#include <cstdio>
#include <memory>

#include "command.h"
#include "common/error.h"
#include "latent_output.h"

namespace cadenza::cli {
namespace {

struct SampleCommandOptions {
  LatentCommonOptions common;
  int num_outputs = 4;
  std::string prefix = "sample";
};

void run_sample(const SampleCommandOptions& cli) {
  LatentGenerator generator(latent_checkpoint(cli.common, "sample"));
  std::printf("model: %s (%s)\n", generator.checkpoint_path().c_str(), generator.describe().c_str());
  const std::vector<LatentPiece> pieces = generator.sample(cli.num_outputs, cli.common.sampling);
  for (size_t i = 0; i < pieces.size(); ++i) {
    char name[64], detail[96];
    std::snprintf(name, sizeof name, "%s_%03zu", cli.prefix.c_str(), i + 1);
    std::snprintf(detail, sizeof detail, "generated in %.3f s (%.0fx real time)", pieces[i].generation_seconds,
                  pieces[i].music_seconds / std::max(pieces[i].generation_seconds, 1e-9));
    write_latent_piece(cli.common, pieces[i].score, name, detail);
  }
}

void setup_sample(CLI::App& parent) {
  auto options = std::make_shared<SampleCommandOptions>();
  auto* command = parent.add_subcommand("sample", "Sample new pieces from a vae, gan or rgan model");
  add_latent_options(command, options->common);
  command->add_option("--num-outputs,-n", options->num_outputs, "Pieces to sample")->capture_default_str();
  command
      ->add_option("--bars", options->common.sampling.bars,
                   "Length in 4/4 bars; beyond the model's window, windows are stitched along a smooth latent path "
                   "(0 = one window)")
      ->capture_default_str();
  command->add_option("--events", options->common.sampling.events, "rgan: note events to generate (0 = 64)")
      ->capture_default_str();
  command
      ->add_option("--windows-per-anchor", options->common.sampling.windows_per_anchor,
                   "Stitched pieces: windows between the random anchor latents of the path")
      ->capture_default_str();
  command->add_option("--prefix", options->prefix, "File name prefix")->capture_default_str();
  command->callback([options] { run_sample(*options); });
}

}  // namespace

static const CommandRegistration registration{"sample", setup_sample};

}  // namespace cadenza::cli
