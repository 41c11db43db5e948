#include "model_commands.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "common/assets.h"

namespace cadenza::cli {

namespace {

constexpr std::array kModelCommands = {
    ModelCommand{"attribute", "Change a melody along a vae attribute vector"},
    ModelCommand{"benchmark",
                 "Train and evaluate families on a polyphonic piano-roll JSON (train/valid/test) and print the NLL "
                 "table"},
    ModelCommand{"compare",
                 "Train several model families under one budget and seed, generate from each, evaluate against the "
                 "training and held-out data, and write an HTML / Markdown / JSON report that ranks them (see "
                 "docs/compare.md)"},
    ModelCommand{"evaluate",
                 "Held-out NLL, perplexity and accuracy of a model on a shard (vae: ELBO, reconstruction, "
                 "interpolation smoothness; gan / rgan: sample statistics)"},
    ModelCommand{"generate", "Generate new pieces with a trained or bundled model"},
    ModelCommand{"interpolate", "Pieces along a latent path between two melodies (vae) or two noise draws (gan, rgan)"},
    ModelCommand{"jsb-table",
                 "The benchmark command under its first name: `cadenza benchmark` with --input for --data"},
    ModelCommand{"reconstruct", "Encode melodies with a vae and decode them again"},
    ModelCommand{"sample", "Sample new pieces from a model (vae, gan and rgan options)"},
    ModelCommand{"serve", "Cadenza Studio: a local web studio (generate, continue, duet, interpolate, training runs)"},
    ModelCommand{"train", "Train a model on a prepared shard (`cadenza dataset prepare`)"},
};

}  // namespace

std::span<const ModelCommand> model_commands() {
  return kModelCommands;
}

const ModelCommand* requested_model_command(int argc, char** argv) {
  // The top-level app has flags only (--help, --version), so the first non-option argument is the command.
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (argument.empty() || argument.front() == '-') continue;
    for (const auto& command : kModelCommands)
      if (argument == command.name) return &command;
    return nullptr;
  }
  return nullptr;
}

std::vector<std::string> engine_search_path() {
  const std::filesystem::path executable = executable_path();
  if (executable.empty()) return {};
  const std::filesystem::path dir = executable.parent_path();
  return {(dir / "cadenza-engine").string(),
          (dir / ".." / "libexec" / "cadenza" / "cadenza-engine").lexically_normal().string()};
}

int exec_engine(const ModelCommand& command, char** argv) {
  const std::vector<std::string> candidates = engine_search_path();
  for (const auto& candidate : candidates) {
    if (::access(candidate.c_str(), X_OK) != 0) continue;
    ::execv(candidate.c_str(), argv);
    std::fprintf(stderr, "cadenza: error: cannot start the model engine %s for `%s`: %s\n", candidate.c_str(),
                 command.name, std::strerror(errno));
    return 1;
  }
  std::string looked;
  for (const auto& candidate : candidates) looked += (looked.empty() ? "" : ", ") + candidate;
  std::fprintf(stderr,
               "cadenza: error: `%s` needs the model engine cadenza-engine, which is not installed beside this "
               "cadenza (looked for %s)\n",
               command.name, looked.empty() ? "it without knowing where this executable is" : looked.c_str());
  return 1;
}

}  // namespace cadenza::cli
