// Quoting paths for the command lines given to testing::run_command.
#pragma once

#include <string>

namespace cadenza::testing {

// `text` as one single-quoted shell word (any ' inside escaped).
inline std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace cadenza::testing
