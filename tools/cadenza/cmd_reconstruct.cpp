// `cadenza reconstruct --checkpoint F IN.mid --out DIR`: a melody through a vae's encoder and decoder; writes the
// segment the encoder read and its reconstruction, and prints how many steps came back the same.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.h"
#include "common/error.h"
#include "latent_output.h"
#include "midi/midi.h"

namespace cadenza::cli {
namespace {

struct ReconstructCommandOptions {
  LatentCommonOptions common;
  std::vector<std::string> inputs;
};

void run_reconstruct(const ReconstructCommandOptions& cli) {
  LatentGenerator generator(latent_checkpoint(cli.common, "reconstruct"));
  std::printf("model: %s (%s)\n", generator.checkpoint_path().c_str(), generator.describe().c_str());
  double accuracy_sum = 0;
  for (const std::string& input : cli.inputs) {
    const Reconstruction result = generator.reconstruct(read_latent_input(cli.common, input), cli.common.sampling);
    const std::string stem = std::filesystem::path(input).stem().string();
    write_latent_piece(cli.common, result.input, stem + "_input", "the segment the encoder read");
    char detail[96];
    std::snprintf(detail, sizeof detail, "%.1f%% of %lld steps as in the input", 100 * result.step_accuracy,
                  static_cast<long long>(result.steps));
    write_latent_piece(cli.common, result.output, stem + "_reconstruction", detail);
    accuracy_sum += result.step_accuracy;
  }
  if (cli.inputs.size() > 1)
    std::printf("mean reconstruction accuracy %.1f%% over %zu files\n", 100 * accuracy_sum / cli.inputs.size(),
                cli.inputs.size());
}

void setup_reconstruct(CLI::App& parent) {
  auto options = std::make_shared<ReconstructCommandOptions>();
  auto* command = parent.add_subcommand("reconstruct", "Encode melodies with a vae and decode them again");
  options->common.sampling.temperature = 0;  // argmax: MusicVAE's reconstruction accuracy
  add_latent_options(command, options->common);
  add_input_track_option(command, options->common);
  command->add_option("inputs", options->inputs, "MIDI files")->required();
  command->callback([options] { run_reconstruct(*options); });
}

}  // namespace

static const CommandRegistration registration{"reconstruct", setup_reconstruct};

}  // namespace cadenza::cli
