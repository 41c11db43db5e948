#include "run_control.h"

#include <cmath>
#include <csignal>

#include "common/error.h"

namespace cadenza::cli {
namespace {

std::atomic<bool> g_stop_requested{false};

extern "C" void on_interrupt(int) {
  g_stop_requested.store(true);
  // A second Ctrl-C kills the process the usual way.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

double parse_duration(const std::string& text, const std::string& option, bool allow_none) {
  if (allow_none && (text == "none" || text == "0")) return 0;
  const std::string expected =
      option + " " + text + ": expected a duration like 600, 600s, 10m or 1.5h" + (allow_none ? " (or none)" : "");
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw Error(expected);
  }
  const std::string unit = text.substr(used);
  double scale = 1;
  if (unit == "m" || unit == "min") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (!unit.empty() && unit != "s") {
    throw Error(option + " " + text + ": unknown unit \"" + unit + "\" (use s, m or h)");
  }
  const double seconds = value * scale;
  if (!std::isfinite(seconds) || !(seconds > 0)) throw Error(option + " " + text + ": must be positive");
  if (seconds > 366 * 24 * 3600.0) throw Error(option + " " + text + ": at most a year");
  return seconds;
}

InterruptGuard::InterruptGuard() {
  g_stop_requested.store(false);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
}

InterruptGuard::~InterruptGuard() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

const std::atomic<bool>& stop_requested() {
  return g_stop_requested;
}

}  // namespace cadenza::cli
