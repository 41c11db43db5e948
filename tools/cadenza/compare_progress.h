// The progress display of `cadenza compare`: which model, which phase (training / generating / evaluating), the
// time spent so far and how much of the total training budget is left. On a terminal the training line is redrawn in
// place; otherwise (logs, pipes) plain lines are printed at each training log interval and each phase change.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "train/trainer.h"

namespace cadenza::cli {

class CompareProgress {
 public:
  // models: how many models the comparison has; to_train: how many of them it trains; budget_seconds: the training
  // time budget per model (0: none, the runs are bounded by steps).
  CompareProgress(size_t models, size_t to_train, double budget_seconds, bool terminal);

  // A phase of one model begins ("training", "evaluating", "generating", ...): one line on stderr.
  void phase(size_t model_index, const std::string& model, const std::string& phase, const std::string& detail = "");
  // Progress of the model being trained (from run_training's callback).
  void training(const train::TrainProgress& progress);
  // The model being trained has finished: its budget no longer counts as left.
  void training_done();
  // A line outside any phase (the reference sets, the report).
  void message(const std::string& text);
  // Ends an in-place line.
  void finish();

  double elapsed_seconds() const;
  // Training time still to come: the rest of the current run plus the budget of every model not trained yet; negative
  // when unknown (runs bounded by steps whose speed is not known yet).
  double training_left_seconds() const;

 private:
  std::string status_suffix() const;

  size_t models_;
  size_t to_train_;
  size_t trained_ = 0;
  double budget_seconds_;
  bool terminal_;
  bool line_open_ = false;
  bool in_training_ = false;
  double current_left_ = -1;  // of the run in progress
  double last_draw_ = -1;
  double last_log_ = -1;
  size_t model_index_ = 0;
  std::string model_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace cadenza::cli
