// What `cadenza` (the torch-free front end, main.cpp) and `cadenza-engine` (the model commands, engine_main.cpp)
// share: the command registry, the --threads option and one place that turns exceptions into messages and exit
// codes.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <system_error>
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

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

std::string filesystem_error_text(const std::filesystem::filesystem_error& error) {
  // libstdc++'s what() is "filesystem error: OPERATION: REASON [PATH1] [PATH2]": say the paths first instead.
  std::string what = error.what();
  const std::string prefix = "filesystem error: ";
  if (what.rfind(prefix, 0) == 0) what.erase(0, prefix.size());
  for (const auto* path : {&error.path2(), &error.path1()}) {
    const std::string bracketed = " [" + path->string() + "]";
    if (!path->empty() && what.size() >= bracketed.size() &&
        what.compare(what.size() - bracketed.size(), bracketed.size(), bracketed) == 0)
      what.erase(what.size() - bracketed.size());
  }
  std::string paths = error.path1().string();
  if (!error.path2().empty()) paths += (paths.empty() ? "" : " -> ") + error.path2().string();
  return paths.empty() ? what : paths + ": " + what;
}

int run_app(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const cadenza::Error& e) {
    std::fprintf(stderr, "cadenza: error: %s\n", e.what());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path we were given cannot be created, read or written (an --out that is a file, a folder in /proc, no
    // permission, a full disk): the user's to fix, so a plain error naming the path, not an internal one.
    std::fprintf(stderr, "cadenza: error: %s\n", filesystem_error_text(e).c_str());
    return 1;
  } catch (const std::system_error& e) {
    // Other failures the operating system reports (iostreams, threads): also the environment, not a bug.
    std::fprintf(stderr, "cadenza: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cadenza: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}

}  // namespace cadenza::cli
