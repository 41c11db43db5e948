// Shared by `cadenza sample | interpolate | reconstruct | attribute` and `generate` on latent-model checkpoints:
// the sampling options every one of them takes, and writing a piece as MIDI (and WAV).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "generate/latent_generator.h"

namespace cadenza::cli {

struct LatentCommonOptions {
  std::string checkpoint;
  std::string model;  // a bundled model by name
  std::string out;
  bool wav = false;
  int threads = 1;  // batch-1 decoding is matrix-vector work (docs/threading.md)
  LatentSampleOptions sampling;
  int track_index = -1;  // reconstruct / interpolate / attribute: encode only this track of each input MIDI file
};

// --checkpoint/--model, --out, --temperature, --truncation, --binarize, --threshold, --qpm, --seed, --wav, --threads.
void add_latent_options(CLI::App* command, LatentCommonOptions& options);
// --track-index, for the commands that encode MIDI files.
void add_input_track_option(CLI::App* command, LatentCommonOptions& options);
// Reads an input MIDI file, keeping only track options.track_index when it is >= 0 (an Error naming the file when it
// has no such track).
Score read_latent_input(const LatentCommonOptions& options, const std::string& path);
// The checkpoint path (resolving --model), after setting the thread count; checks that --out is given.
std::string latent_checkpoint(const LatentCommonOptions& options, const char* command);
// Writes OUT/name.mid (and .wav); prints one line; returns the MIDI path.
std::string write_latent_piece(const LatentCommonOptions& options, const Score& score, const std::string& name,
                               const std::string& detail);

}  // namespace cadenza::cli
