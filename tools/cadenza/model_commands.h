// The commands that need libtorch, and how the front end hands them to the engine.
//
// `cadenza` itself links no libtorch, so that `--help`, `--version` and the torch-free commands (`midi`,
// `dataset`, `render`, `metrics`, `originality`, `baseline`: CADENZA_FRONT_END_SOURCES in CMakeLists.txt) start in
// milliseconds. The model commands live in `cadenza-engine` (built beside `cadenza`,
// installed as PREFIX/libexec/cadenza/cadenza-engine); the front end knows only their names and one-line
// descriptions (for --help) and execs the engine with the same arguments when asked for one of them.
// tests/cli/test_cli_front_end.cpp fails when this table and the engine's commands disagree.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace cadenza::cli {

struct ModelCommand {
  const char* name;
  const char* description;  // exactly the engine's, so that `cadenza --help` says what `cadenza NAME --help` does
};

// The engine's commands, sorted by name.
std::span<const ModelCommand> model_commands();

// The model command that argv asks for (the first argument that is not an option), or nullptr.
const ModelCommand* requested_model_command(int argc, char** argv);

// Where the engine is looked for, in order: beside this executable (the build tree), then
// ../libexec/cadenza/ (an installed prefix).
std::vector<std::string> engine_search_path();

// Replaces this process with the engine, passing argv on unchanged. Returns only on failure, having printed a
// `cadenza: error:` line naming where the engine was looked for; the result is the exit status to use.
int exec_engine(const ModelCommand& command, char** argv);

}  // namespace cadenza::cli
