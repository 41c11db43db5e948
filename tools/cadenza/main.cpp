// `cadenza`, the command-line studio's front end: the torch-free commands (one file each, see command.h) run
// here; a model command (model_commands.h) is handed to `cadenza-engine`, which links libtorch.
#include <algorithm>
#include <string>
#include <vector>

#include "command.h"
#include "model_commands.h"

#ifndef CADENZA_VERSION
#define CADENZA_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace cadenza::cli;
  if (const ModelCommand* command = requested_model_command(argc, argv)) return exec_engine(*command, argv);

  CLI::App app{"cadenza: neural symbolic music generation studio", "cadenza"};
  app.set_version_flag("--version", "cadenza " CADENZA_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  // Every command in one sorted list for --help: the front end's own, and the engine's by name and description
  // (never run from here: requested_model_command() sent those to the engine above).
  struct Entry {
    std::string name;
    const RegisteredCommand* local;
    const ModelCommand* engine;
  };
  std::vector<Entry> entries;
  for (const auto& command : registered_commands()) entries.push_back({command.name, &command, nullptr});
  for (const auto& command : model_commands()) entries.push_back({command.name, nullptr, &command});
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  for (const auto& entry : entries) {
    if (entry.local != nullptr)
      entry.local->setup(app);
    else
      app.add_subcommand(entry.engine->name, entry.engine->description)->allow_extras();
  }
  return run_app(app, argc, argv);
}
