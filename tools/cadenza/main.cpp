// The `cadenza` command-line studio: one binary, one subcommand per file (see command.h).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <thread>

#include "command.h"
#include "common/error.h"

namespace cadenza::cli {

std::vector<RegisteredCommand>& registered_commands() {
  static std::vector<RegisteredCommand> commands;
  return commands;
}

CommandRegistration::CommandRegistration(std::string name, SetupFunction setup) {
  registered_commands().push_back({std::move(name), std::move(setup)});
}

void add_threads_option(CLI::App* command, int& threads) {
  command->add_option("--threads", threads, "Worker threads (0 = all cores); see docs/threading.md")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
}

int resolve_threads(int threads) {
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  if (threads <= 0) return static_cast<int>(hardware);
  // More threads than cores only slow OpenBLAS down, and thousands exhaust memory.
  const int limit = static_cast<int>(std::max(16u, 4 * hardware));
  if (threads > limit)
    throw cadenza::Error("--threads " + std::to_string(threads) + ": at most " + std::to_string(limit) +
                         " on this machine (4 x its " + std::to_string(hardware) + " cores, or 16)");
  return threads;
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace cadenza::cli

int main(int argc, char** argv) {
  using namespace cadenza::cli;
  CLI::App app{"cadenza: neural symbolic music generation studio", "cadenza"};
  app.set_version_flag("--version", "cadenza 0.1.0");
  app.require_subcommand(1);
  app.fallthrough(false);
  auto commands = registered_commands();
  std::sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& command : commands) command.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const cadenza::Error& e) {
    std::fprintf(stderr, "cadenza: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cadenza: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
