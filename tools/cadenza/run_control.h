// What the long-running commands (train, compare, jsb-table) share: durations as the user writes them, and Ctrl-C
// (or SIGTERM) as a request to save and stop.
#pragma once

#include <atomic>
#include <string>

namespace cadenza::cli {

// "90", "90s", "10m", "1.5h" -> seconds (> 0, at most a year); with allow_none, "none" and "0" -> 0. Errors name the
// option and the text.
double parse_duration(const std::string& text, const std::string& option, bool allow_none = false);

// While alive, SIGINT and SIGTERM set stop_requested() instead of killing the process; a second signal kills it the
// usual way. The default handlers come back however the guarded work ends.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};
const std::atomic<bool>& stop_requested();

}  // namespace cadenza::cli
