// `cadenza interpolate --checkpoint F [A.mid B.mid] --steps N [--mode slerp|lerp] --out DIR`: pieces along the
// latent path between two melodies (vae) or two noise draws (gan, rgan); one MIDI per step plus all of them
// concatenated in one file.
#include <cmath>
#include <cstdio>
#include <memory>

#include "command.h"
#include "common/error.h"
#include "latent_output.h"
#include "midi/midi.h"
#include "score/operations.h"

namespace cadenza::cli {
namespace {

struct InterpolateCommandOptions {
  LatentCommonOptions common;
  std::vector<std::string> inputs;
  int steps = 5;
  std::string mode = "slerp";
};

// Appends `piece` to `whole` starting at the next bar line (4/4) after whole's end (ticks converted).
void append_at_bar(Score& whole, const Score& piece) {
  const int64_t bar = 4LL * whole.ticks_per_quarter;
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

void run_interpolate(const InterpolateCommandOptions& cli) {
  LatentGenerator generator(latent_checkpoint(cli.common, "interpolate"));
  std::printf("model: %s (%s)\n", generator.checkpoint_path().c_str(), generator.describe().c_str());
  std::optional<Score> a, b;
  if (generator.family() == "vae") {
    if (cli.inputs.size() != 2) throw Error("interpolate: a vae interpolates between two MIDI files: A.mid B.mid");
    a = read_latent_input(cli.common, cli.inputs[0]);
    b = read_latent_input(cli.common, cli.inputs[1]);
  } else if (!cli.inputs.empty()) {
    throw Error("interpolate: a " + generator.family() +
                " model interpolates between two noise draws (--seed and "
                "--seed + 1), not MIDI files");
  }
  const std::vector<LatentPiece> pieces =
      generator.interpolate(a ? &*a : nullptr, b ? &*b : nullptr, cli.steps, cli.mode == "slerp", cli.common.sampling);
  Score whole = pieces.front().score;
  for (auto& track : whole.tracks) track.notes.clear();
  for (size_t i = 0; i < pieces.size(); ++i) {
    char name[64], detail[160];
    std::snprintf(name, sizeof name, "step_%02zu", i);
    const double t = static_cast<double>(i) / static_cast<double>(pieces.size() - 1);
    std::snprintf(detail, sizeof detail, "t = %.3f, note density %.2f per bar, mean pitch %.1f", t,
                  melody_attribute(pieces[i].score, "note_density", static_cast<double>(generator.window_bars())),
                  melody_attribute(pieces[i].score, "mean_pitch", 0));
    write_latent_piece(cli.common, pieces[i].score, name, detail);
    append_at_bar(whole, pieces[i].score);
  }
  whole.normalize();
  whole.update_seconds();
  write_latent_piece(cli.common, whole, "interpolation", "all steps one after another");
}

void setup_interpolate(CLI::App& parent) {
  auto options = std::make_shared<InterpolateCommandOptions>();
  auto* command = parent.add_subcommand("interpolate",
                                        "Pieces along a latent path between two melodies (vae) or "
                                        "two noise draws (gan, rgan)");
  options->common.sampling.temperature = 0;  // argmax decoding: the path, not sampling noise, should drive changes
  add_latent_options(command, options->common);
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
