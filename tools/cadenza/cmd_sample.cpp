// `cadenza sample --checkpoint F --out DIR [-n N] [--bars B] [--temperature T] [--truncation X] [--binarize ...]`:
// new pieces from a model's sampler, with the latent families' options first (src/generate/sampler.h).
#include <cstdio>
#include <memory>

#include "command.h"
#include "common/error.h"
#include "sampler_options.h"

namespace cadenza::cli {
namespace {

struct SampleCommandOptions {
  SamplerCommandOptions common;
  int num_outputs = 4;
  std::string prefix = "sample";
};

void run_sample(SampleCommandOptions& cli) {
  if (cli.num_outputs < 1 || cli.num_outputs > 10000)
    throw Error("sample: --num-outputs must be in [1, 10000], got " + std::to_string(cli.num_outputs));
  PieceWriter::check_name(cli.prefix + "_001", "--prefix");
  std::unique_ptr<Sampler> sampler = open_command_sampler(cli.common, "sample", DefaultTemperature::kSample);
  SampleRequest request = cli.common.request;
  check_sample_request(request, sampler->capabilities(), "sample");
  PieceWriter writer(cli.common.out, cli.common.wav, "sample");
  // One piece at a time, written as soon as it is made: memory stays flat however many are asked for.
  for (int i = 0; i < cli.num_outputs; ++i) {
    request.seed = cli.common.request.seed + static_cast<uint64_t>(i);
    const SampledPiece piece = sampler->sample(request);
    char name[16];
    std::snprintf(name, sizeof name, "_%03d", i + 1);
    writer.write(piece.score, cli.prefix + name, timing_text(piece));
  }
}

void setup_sample(CLI::App& parent) {
  auto options = std::make_shared<SampleCommandOptions>();
  auto* command = parent.add_subcommand("sample", "Sample new pieces from a model (vae, gan and rgan options)");
  add_sampler_options(command, options->common, /*latent=*/true);
  SampleRequest& request = options->common.request;
  command->add_option("--num-outputs,-n", options->num_outputs, "Pieces to sample")->capture_default_str();
  command
      ->add_option("--bars", request.bars,
                   "Length in 4/4 bars; beyond the model's window, windows are stitched along a smooth latent path "
                   "(0 = one window)")
      ->capture_default_str();
  command->add_option("--events", request.events, "rgan: note events to generate (0 = 64)")->capture_default_str();
  command
      ->add_option("--windows-per-anchor", request.windows_per_anchor,
                   "Stitched pieces: windows between the random anchor latents of the path")
      ->capture_default_str();
  command->add_option("--prefix", options->prefix, "File name prefix")->capture_default_str();
  command->callback([options] { run_sample(*options); });
}

}  // namespace

static const CommandRegistration registration{"sample", setup_sample};

}  // namespace cadenza::cli
