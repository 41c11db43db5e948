#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace cadenza::train {

double LrSchedule::at(int64_t step, int64_t total_steps) const {
  step = std::max<int64_t>(step, 1);
  if (warmup_steps > 0 && step <= warmup_steps)
    return peak * static_cast<double>(step) / static_cast<double>(warmup_steps);
  if (kind == "constant") return peak;
  if (kind == "inverse_sqrt")
    return peak * std::sqrt(static_cast<double>(std::max<int64_t>(warmup_steps, 1)) / static_cast<double>(step));
  const double span = static_cast<double>(std::max<int64_t>(total_steps - warmup_steps, 1));
  const double progress = std::clamp(static_cast<double>(step - warmup_steps) / span, 0.0, 1.0);
  return minimum + (peak - minimum) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace cadenza::train
