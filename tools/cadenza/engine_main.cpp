// `cadenza-engine`: the model commands of `cadenza` (train, generate, ...; model_commands.h), which need
// libtorch. Users run `cadenza NAME ...`; the front end execs this executable with the same arguments, so it
// presents itself as `cadenza`. `cadenza-engine --list-commands` prints "NAME<TAB>DESCRIPTION" per command (the
// test that the front end's table matches).
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "command.h"
#include "models/cpu_allocator.h"

#ifndef CADENZA_VERSION
#define CADENZA_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace cadenza::cli;
  // Before any tensor exists: every model command's large buffers come from the cache (models/cpu_allocator.h).
  cadenza::models::install_caching_cpu_allocator();
  CLI::App app{"cadenza: neural symbolic music generation studio (model commands)", "cadenza"};
  app.set_version_flag("--version", "cadenza " CADENZA_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  auto commands = registered_commands();
  std::sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& command : commands) command.setup(app);
  if (argc == 2 && std::strcmp(argv[1], "--list-commands") == 0) {
    for (const auto* command : app.get_subcommands({}))
      std::printf("%s\t%s\n", command->get_name().c_str(), command->get_description().c_str());
    return 0;
  }
  return run_app(app, argc, argv);
}
