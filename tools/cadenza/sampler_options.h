// What `cadenza generate | sample | interpolate | reconstruct | attribute` share: the model to open (a checkpoint,
// a run folder or a bundled model), the sampling options every family understands (src/generate/sampler.h), reading
// input MIDI files, and the one piece writer that names, checks and writes every output file.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "common/output_lock.h"
#include "generate/sampler.h"

namespace cadenza::cli {

struct SamplerCommandOptions {
  std::string checkpoint;
  std::string model;  // a bundled model by name
  std::string out;
  bool wav = false;
  int threads = 1;             // batch-1 decoding is matrix-vector work (docs/threading.md)
  std::string device = "cpu";  // --device: batch-1 decoding is a chain of small steps; the CPU unless asked
  SampleRequest request;
  int track_index = -1;  // encode only this track of each input MIDI file
  CLI::Option* temperature = nullptr;
};

// --checkpoint / --model, --out, --temperature, --qpm, --seed, --wav, --threads (and, with latent = true,
// --truncation, --binarize, --threshold).
void add_sampler_options(CLI::App* command, SamplerCommandOptions& options, bool latent);
// --track-index, for the commands that encode MIDI files.
void add_input_track_option(CLI::App* command, SamplerCommandOptions& options);
// What a command does without --temperature, for a model that samples with one: kSample (generate, sample) takes the
// model's own default, 1 or the temperature in generation.json beside its checkpoint (generate/sampling_defaults.h);
// kMostLikely (interpolate, reconstruct, attribute) decodes the most likely output (temperature 0).
enum class DefaultTemperature { kSample, kMostLikely };
// Sets the thread count, resolves --model, opens the sampler and prints "model: PATH (description)" (and the
// temperature, when it comes from generation.json). A model that draws nothing a temperature scales keeps its
// neutral value. Checks that --out is given.
std::unique_ptr<Sampler> open_command_sampler(SamplerCommandOptions& options, const std::string& command,
                                              DefaultTemperature default_temperature);
// Reads an input MIDI file, keeping only track options.track_index when it is >= 0 (an Error naming the file when it
// has no such track).
Score read_input_midi(const SamplerCommandOptions& options, const std::string& path);

// Writes pieces into one output folder: OUT/NAME.mid (and NAME.wav), NAME made only of letters, digits and ._-+
// (a name that would leave the folder or is too long is an Error naming it), one printed line per file.
class PieceWriter {
 public:
  // Takes the folder's OutputLock for `command` (a second command writing the same folder is refused).
  PieceWriter(std::string folder, bool wav, const std::string& command);
  // Returns the MIDI path.
  std::string write(const Score& score, const std::string& name, const std::string& detail);
  // Throws cadenza::Error when `prefix` cannot start a file name ("--prefix ../x").
  static void check_name(const std::string& name, const std::string& option);

 private:
  std::string folder_;
  bool wav_;
  OutputLock lock_;
};

// An input file's stem as an output name: characters PieceWriter does not allow become '_'.
std::string file_stem_name(const std::string& path);

// "generated in 0.123 s (456x real time)"
std::string timing_text(const SampledPiece& piece);

}  // namespace cadenza::cli
