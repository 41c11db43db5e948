// `cadenza attribute --checkpoint F IN.mid --attribute note_density --amount X --out DIR [--data SHARD]`: moves a
// melody's latent along an attribute vector (mean latent of the training windows in the attribute's top quartile
// minus the bottom quartile's) and decodes it.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.h"
#include "common/error.h"
#include "eval/melody_features.h"
#include "midi/midi.h"
#include "sampler_options.h"

namespace cadenza::cli {
namespace {

struct AttributeCommandOptions {
  SamplerCommandOptions common;
  std::string input;
  std::string attribute = "note_density";
  std::vector<double> amounts = {1.0};
  std::string data;
  int64_t max_windows = 4096;
};

void run_attribute(AttributeCommandOptions& cli) {
  std::unique_ptr<Sampler> sampler = open_command_sampler(cli.common, "attribute", DefaultTemperature::kMostLikely);
  PieceWriter writer(cli.common.out, cli.common.wav, "attribute");
  std::string data = cli.data;
  if (data.empty()) {
    const auto& training = sampler->training_metadata();
    if (training.contains("config") && training["config"].contains("data"))
      data = training["config"]["data"].value("path", "");
    if (data.empty() || !std::filesystem::exists(data))
      throw Error("attribute: give --data SHARD (the shard the model was trained on" +
                  (data.empty() ? std::string(")") : ": " + data + " is not there)"));
  }
  const Score input = read_input_midi(cli.common, cli.input);
  const double bars = static_cast<double>(sampler->capabilities().window_bars);
  const std::string stem = file_stem_name(cli.input);
  // The baseline is the reconstruction (amount 0): the segment the model reads, as the model decodes it.
  const double baseline = melody_attribute(sampler->reconstruct(input, cli.common.request).output, cli.attribute, bars);
  for (double amount : cli.amounts) {
    const SampledPiece piece =
        sampler->apply_attribute(input, cli.attribute, amount, data, cli.common.request, cli.max_windows);
    char name[96], detail[160];
    std::snprintf(name, sizeof name, "%s_%s_%+.2f", stem.c_str(), cli.attribute.c_str(), amount);
    std::snprintf(detail, sizeof detail, "%s %.2f (reconstruction without the vector: %.2f)", cli.attribute.c_str(),
                  melody_attribute(piece.score, cli.attribute, bars), baseline);
    writer.write(piece.score, name, detail);
  }
}

void setup_attribute(CLI::App& parent) {
  auto options = std::make_shared<AttributeCommandOptions>();
  auto* command = parent.add_subcommand("attribute", "Change a melody along a vae attribute vector");
  add_sampler_options(command, options->common, /*latent=*/false);
  add_input_track_option(command, options->common);
  command->add_option("input", options->input, "MIDI file")->required();
  command->add_option("--attribute", options->attribute, "note_density, mean_pitch, pitch_range or rest_rate")
      ->check(CLI::IsMember({"note_density", "mean_pitch", "pitch_range", "rest_rate"}))
      ->capture_default_str();
  command->add_option("--amount", options->amounts, "Multiples of the attribute vector to add (repeatable)")
      ->capture_default_str();
  command->add_option("--data", options->data, "Shard the model was trained on (default: the run's, if present)");
  command->add_option("--max-windows", options->max_windows, "Training windows the attribute vector averages")
      ->capture_default_str();
  command->callback([options] { run_attribute(*options); });
}

}  // namespace

static const CommandRegistration registration{"attribute", setup_attribute};

}  // namespace cadenza::cli
