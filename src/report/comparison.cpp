#include "report/comparison.h"

#include <cmath>

namespace cadenza::report {

double OriginalityFigures::mean_share(int n) const {
  for (const auto& share : shares)
    if (share.n == n) return share.mean;
  return kNotMeasured;
}

const char* likelihood_kind_name(LikelihoodKind kind) {
  switch (kind) {
    case LikelihoodKind::kNll:
      return "nll";
    case LikelihoodKind::kElboBound:
      return "elbo_bound";
    case LikelihoodKind::kNone:
      break;
  }
  return "none";
}

double ModelReport::real_time_factor() const {
  if (samples.empty() || !(generation_seconds > 0)) return kNotMeasured;
  return music_seconds / generation_seconds;
}

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

}  // namespace cadenza::report
