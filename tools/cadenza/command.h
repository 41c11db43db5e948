// Subcommand registry of the `cadenza` CLI.
//
// `cadenza` is two executables: the front end (main.cpp) holds the torch-free commands and starts in
// milliseconds; the model commands (model_commands.cpp lists them) live in `cadenza-engine` (engine_main.cpp),
// which the front end execs with the same arguments. Each executable registers the commands compiled into it.
//
// Each subcommand lives in its own file (cmd_<name>.cpp) with an options struct, a setup_<name>() that
// declares its CLI11 options and a run_<name>() that does the work, and registers itself with a file-scope
//   static const CommandRegistration registration{"name", setup_name};
// main() then builds the app from every registration, sorted by name. run_* functions throw
// cadenza::Error for user-facing failures; run_app prints "cadenza: error: <what>" and exits 1.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
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

// Parses argv into `app` (whose subcommands run their command) and turns what is thrown into a message and an
// exit code: CLI11's own for usage errors, 1 for cadenza::Error and operating-system errors (a filesystem error
// names its path), 2 ("internal error") for anything else.
int run_app(CLI::App& app, int argc, char** argv);

// "PATH: OPERATION: REASON" for a std::filesystem error (both paths when there are two).
std::string filesystem_error_text(const std::filesystem::filesystem_error& error);

// True when stderr is a terminal (progress bars) rather than a log file / pipe (plain lines).
bool stderr_is_terminal();

}  // namespace cadenza::cli
