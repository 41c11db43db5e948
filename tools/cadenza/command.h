// Subcommand registry of the `cadenza` CLI.
//
// Each subcommand lives in its own file (cmd_<name>.cpp) with an options struct, a setup_<name>() that
// declares its CLI11 options and a run_<name>() that does the work, and registers itself with a file-scope
//   static const CommandRegistration registration{"name", setup_name};
// main.cpp then builds the app from every registration, sorted by name. run_* functions throw
// cadenza::Error for user-facing failures; main prints "cadenza: error: <what>" and exits 1.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace cadenza::cli {

using SetupFunction = std::function<void(CLI::App& parent)>;

struct CommandRegistration {
  CommandRegistration(std::string name, SetupFunction setup);
};

struct RegisteredCommand {
  std::string name;
  SetupFunction setup;
};
std::vector<RegisteredCommand>& registered_commands();

// Adds the shared --threads option (see docs/threading.md). 0 means "all cores".
void add_threads_option(CLI::App* command, int& threads);
// Resolves 0 to the number of hardware threads.
int resolve_threads(int threads);

// True when stderr is a terminal (progress bars) rather than a log file / pipe (plain lines).
bool stderr_is_terminal();

}  // namespace cadenza::cli
