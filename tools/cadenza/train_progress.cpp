#include "train_progress.h"

#include <cmath>
#include <cstdio>

namespace cadenza::cli {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long total = std::lround(seconds);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, (total / 60) % 60);
  } else if (total >= 60) {
    std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%lds", total);
  }
  return text;
}

void TrainProgressDisplay::operator()(const train::TrainProgress& p) {
  char valid[64] = "";
  if (p.valid_score)
    std::snprintf(valid, sizeof valid, " valid %s %.4f (best %.4f)", p.valid_score_name.c_str(), *p.valid_score,
                  *p.best_valid_score);
  if (terminal_) {
    // Redraw at most 4 times a second, and whenever something happened.
    if (!p.log_line && p.event.empty() && p.elapsed_seconds - last_draw_ < 0.25) return;
    last_draw_ = p.elapsed_seconds;
    const double fraction = p.schedule_steps > 0 ? static_cast<double>(p.step) / p.schedule_steps : 0;
    const int width = 24;
    const int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %lld/%lld ep %.2f loss %.4f%s %.0f/s eta %s", label_.c_str(), bar.c_str(),
                 static_cast<long long>(p.step), static_cast<long long>(p.schedule_steps), p.epoch, p.loss, valid,
                 p.elements_per_second, format_duration(p.eta_seconds).c_str());
    // Validation results stay in the scroll-back; everything else is redrawn over.
    line_open_ = p.event != "validation";
    if (!line_open_) std::fprintf(stderr, "\n");
    std::fflush(stderr);
    return;
  }
  if (!p.log_line && p.event != "validation") return;
  std::fprintf(stderr, "%s step %lld/%lld epoch %.2f loss %.4f lr %.2e%s %.0f elements/s elapsed %s eta %s%s%s\n",
               label_.c_str(), static_cast<long long>(p.step), static_cast<long long>(p.schedule_steps), p.epoch,
               p.loss, p.learning_rate, valid, p.elements_per_second, format_duration(p.elapsed_seconds).c_str(),
               format_duration(p.eta_seconds).c_str(), p.event.empty() ? "" : " | ", p.event.c_str());
  std::fflush(stderr);
}

void TrainProgressDisplay::finish() {
  if (line_open_) std::fprintf(stderr, "\n");
  line_open_ = false;
}

}  // namespace cadenza::cli
