// `cadenza interpolate --checkpoint F [A.mid B.mid] --steps N [--mode slerp|lerp] --out DIR`: pieces along the
// latent path between two melodies (vae) or two noise draws (gan, rgan); one MIDI per step plus all of them
// concatenated in one file.
#include <cmath>
#include <cstdio>
#include <memory>

#include "command.h"
#include "common/error.h"
#include "eval/melody_features.h"
#include "midi/midi.h"
#include "sampler_options.h"
#include "score/operations.h"

namespace cadenza::cli {
namespace {

struct InterpolateCommandOptions {
  SamplerCommandOptions common;
  std::vector<std::string> inputs;
  int steps = 5;
  std::string mode = "slerp";
};

// Appends `piece` to `whole` starting at the next bar line after whole's end (ticks converted).
void append_at_bar(Score& whole, const Score& piece) {
  const int64_t bar = tick_after_bars(whole, 0, 1.0);
  const int64_t offset = (whole.end_tick() + bar - 1) / bar * bar;
  const double scale = static_cast<double>(whole.ticks_per_quarter) / piece.ticks_per_quarter;
  for (size_t t = 0; t < piece.tracks.size(); ++t) {
    if (whole.tracks.size() <= t) {
      Track track = piece.tracks[t];
      track.notes.clear();
      whole.tracks.push_back(track);
    }
    for (Note note : piece.tracks[t].notes) {
      note.start_tick = offset + std::llround(note.start_tick * scale);
      note.end_tick = offset + std::llround(note.end_tick * scale);
      whole.tracks[t].notes.push_back(note);
    }
  }
}

void run_interpolate(InterpolateCommandOptions& cli) {
  // Greedy decoding by default: the path, not sampling noise, should drive the changes.
  std::unique_ptr<Sampler> sampler = open_command_sampler(cli.common, "interpolate", DefaultTemperature::kMostLikely);
  const SamplerCapabilities caps = sampler->capabilities();
  std::optional<Score> a, b;
  if (caps.interpolate_scores) {
    if (cli.inputs.size() != 2)
      throw Error("interpolate: a " + caps.family + " model interpolates between two MIDI files: A.mid B.mid");
    a = read_input_midi(cli.common, cli.inputs[0]);
    b = read_input_midi(cli.common, cli.inputs[1]);
  } else if (!cli.inputs.empty() && caps.interpolate) {
    throw Error("interpolate: a " + caps.family +
                " model interpolates between two noise draws (--seed and --seed + 1), not MIDI files");
  }
  const std::vector<SampledPiece> pieces =
      sampler->interpolate(a ? &*a : nullptr, b ? &*b : nullptr, cli.steps, cli.mode == "slerp", cli.common.request);
  PieceWriter writer(cli.common.out, cli.common.wav, "interpolate");
  Score whole = pieces.front().score;
  for (auto& track : whole.tracks) track.notes.clear();
  const double bars = static_cast<double>(caps.window_bars);
  for (size_t i = 0; i < pieces.size(); ++i) {
    char name[64], detail[160];
    std::snprintf(name, sizeof name, "step_%02zu", i);
    const double t = static_cast<double>(i) / static_cast<double>(pieces.size() - 1);
    std::snprintf(detail, sizeof detail, "t = %.3f, note density %.2f per bar, mean pitch %.1f", t,
                  melody_attribute(pieces[i].score, "note_density", bars),
                  melody_attribute(pieces[i].score, "mean_pitch", 0));
    writer.write(pieces[i].score, name, detail);
    append_at_bar(whole, pieces[i].score);
  }
  whole.normalize();
  whole.update_seconds();
  writer.write(whole, "interpolation", "all steps one after another");
}

void setup_interpolate(CLI::App& parent) {
  auto options = std::make_shared<InterpolateCommandOptions>();
  auto* command = parent.add_subcommand("interpolate",
                                        "Pieces along a latent path between two melodies (vae) or "
                                        "two noise draws (gan, rgan)");
  add_sampler_options(command, options->common, /*latent=*/true);
  add_input_track_option(command, options->common);
  command->add_option("inputs", options->inputs, "vae: the two MIDI files A.mid B.mid");
  command->add_option("--steps", options->steps, "Pieces along the path, both ends included")->capture_default_str();
  command->add_option("--mode", options->mode, "slerp (great circle, MusicVAE's choice) or lerp (straight line)")
      ->check(CLI::IsMember({"slerp", "lerp"}))
      ->capture_default_str();
  command->callback([options] { run_interpolate(*options); });
}

}  // namespace

static const CommandRegistration registration{"interpolate", setup_interpolate};

}  // namespace cadenza::cli
