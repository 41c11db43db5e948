// Learning-rate schedules: linear warm-up over warmup_steps, then
//   cosine        min + (peak - min) * (1 + cos(pi * progress)) / 2, progress = (step - warmup) / (total - warmup)
//   inverse_sqrt  peak * sqrt(warmup / step)   (Vaswani et al. 2017; with warmup 0: peak / sqrt(step))
//   constant      peak
// Steps count from 1.
#pragma once

#include <cstdint>
#include <string>

namespace cadenza::train {

struct LrSchedule {
  std::string kind = "cosine";
  double peak = 1e-3;
  double minimum = 0.0;
  int64_t warmup_steps = 0;

  double at(int64_t step, int64_t total_steps) const;
};

}  // namespace cadenza::train
