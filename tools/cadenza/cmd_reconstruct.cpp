// `cadenza reconstruct --checkpoint F IN.mid --out DIR`: a melody through a vae's encoder and decoder; writes the
// segment the encoder read and its reconstruction, and prints how many steps came back the same.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.h"
#include "common/error.h"
#include "midi/midi.h"
#include "sampler_options.h"

namespace cadenza::cli {
namespace {

struct ReconstructCommandOptions {
  SamplerCommandOptions common;
  std::vector<std::string> inputs;
};

void run_reconstruct(ReconstructCommandOptions& cli) {
  // Greedy decoding by default: MusicVAE's reconstruction accuracy.
  std::unique_ptr<Sampler> sampler = open_command_sampler(cli.common, "reconstruct", DefaultTemperature::kMostLikely);
  PieceWriter writer(cli.common.out, cli.common.wav, "reconstruct");
  double accuracy_sum = 0;
  for (const std::string& input : cli.inputs) {
    const Reconstruction result = sampler->reconstruct(read_input_midi(cli.common, input), cli.common.request);
    const std::string stem = file_stem_name(input);
    writer.write(result.input, stem + "_input", "the segment the encoder read");
    char detail[96];
    std::snprintf(detail, sizeof detail, "%.1f%% of %lld steps as in the input", 100 * result.step_accuracy,
                  static_cast<long long>(result.steps));
    writer.write(result.output, stem + "_reconstruction", detail);
    accuracy_sum += result.step_accuracy;
  }
  if (cli.inputs.size() > 1)
    std::printf("mean reconstruction accuracy %.1f%% over %zu files\n", 100 * accuracy_sum / cli.inputs.size(),
                cli.inputs.size());
}

void setup_reconstruct(CLI::App& parent) {
  auto options = std::make_shared<ReconstructCommandOptions>();
  auto* command = parent.add_subcommand("reconstruct", "Encode melodies with a vae and decode them again");
  add_sampler_options(command, options->common, /*latent=*/false);
  add_input_track_option(command, options->common);
  command->add_option("inputs", options->inputs, "MIDI files")->required();
  command->callback([options] { run_reconstruct(*options); });
}

}  // namespace

static const CommandRegistration registration{"reconstruct", setup_reconstruct};

}  // namespace cadenza::cli
