#include "compare_progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "train_progress.h"  // format_duration

namespace cadenza::cli {

namespace {

// Seconds between two plain progress lines of a training run (not on a terminal).
constexpr double kLogSeconds = 10.0;

}  // namespace

CompareProgress::CompareProgress(size_t models, size_t to_train, double budget_seconds, bool terminal)
    : models_(models),
      to_train_(to_train),
      budget_seconds_(budget_seconds),
      terminal_(terminal),
      start_(std::chrono::steady_clock::now()) {}

double CompareProgress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double CompareProgress::training_left_seconds() const {
  const size_t waiting = to_train_ - std::min(to_train_, trained_ + (in_training_ ? 1 : 0));
  if (budget_seconds_ > 0) {
    const double current = in_training_ ? std::max(0.0, current_left_ >= 0 ? current_left_ : budget_seconds_) : 0.0;
    return current + budget_seconds_ * static_cast<double>(waiting);
  }
  // Bounded by steps: the current run's ETA is known once it has logged, the others are not.
  if (waiting > 0) return -1;
  return in_training_ ? current_left_ : 0.0;
}

std::string CompareProgress::status_suffix() const {
  std::string text = "elapsed " + format_duration(elapsed_seconds());
  const double left = training_left_seconds();
  if (left > 0)
    text += ", about " + format_duration(left) + " of training left";
  else if (left < 0)
    text += ", " + std::to_string(to_train_ - std::min(to_train_, trained_)) + " model(s) still to train";
  return text;
}

void CompareProgress::phase(size_t model_index, const std::string& model, const std::string& phase,
                            const std::string& detail) {
  finish();
  model_index_ = model_index;
  model_ = model;
  if (phase == "training") {
    in_training_ = true;
    current_left_ = -1;
    last_log_ = -kLogSeconds;
  }
  std::fprintf(stderr, "[%zu/%zu] %s: %s%s%s (%s)\n", model_index + 1, models_, model.c_str(), phase.c_str(),
               detail.empty() ? "" : " ", detail.c_str(), status_suffix().c_str());
  std::fflush(stderr);
}

void CompareProgress::training(const train::TrainProgress& p) {
  if (budget_seconds_ > 0)
    current_left_ = std::max(
        0.0, std::min(budget_seconds_ - p.elapsed_seconds, p.eta_seconds > 0 ? p.eta_seconds : budget_seconds_));
  else if (p.eta_seconds > 0 || p.step >= p.schedule_steps)
    current_left_ = p.eta_seconds;
  char head[256];
  std::snprintf(head, sizeof head, "[%zu/%zu] %s training: step %lld/%lld loss %.4f", model_index_ + 1, models_,
                model_.c_str(), static_cast<long long>(p.step), static_cast<long long>(p.schedule_steps), p.loss);
  std::string line = head;
  if (p.valid_score) {
    char valid[64];
    std::snprintf(valid, sizeof valid, " valid %s %.4f", p.valid_score_name.c_str(), *p.valid_score);
    line += valid;
  }
  if (p.elements_per_second > 0) line += " " + std::to_string(std::llround(p.elements_per_second)) + "/s";
  const std::string run = " | run " + format_duration(p.elapsed_seconds) + " | " + status_suffix();
  if (terminal_) {
    if (!p.log_line && p.event.empty() && p.elapsed_seconds - last_draw_ < 0.25) return;
    last_draw_ = p.elapsed_seconds;
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), run.c_str());
    line_open_ = true;
    std::fflush(stderr);
    return;
  }
  // A log gets a line every kLogSeconds, at each scored validation and at the end: six ten-minute runs would
  // otherwise fill it with thousands of lines.
  const bool scored_validation = p.event == "validation" && p.valid_score.has_value();
  const bool ended = !p.event.empty() && p.event != "validation" && p.event != "checkpoint";
  const bool due = p.log_line && p.elapsed_seconds - last_log_ >= kLogSeconds;
  if (!due && !scored_validation && !ended) return;
  last_log_ = p.elapsed_seconds;
  std::fprintf(stderr, "%s%s%s%s\n", line.c_str(), run.c_str(), p.event.empty() ? "" : " | ", p.event.c_str());
  std::fflush(stderr);
}

void CompareProgress::training_done() {
  finish();
  if (in_training_) ++trained_;
  in_training_ = false;
  current_left_ = -1;
}

void CompareProgress::message(const std::string& text) {
  finish();
  std::fprintf(stderr, "%s (%s)\n", text.c_str(), status_suffix().c_str());
  std::fflush(stderr);
}

void CompareProgress::finish() {
  if (line_open_) std::fprintf(stderr, "\n");
  line_open_ = false;
}

}  // namespace cadenza::cli
