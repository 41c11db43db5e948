#include "generate/latent_common.h"

#include <algorithm>
#include <cmath>

#include "models/sequence_model.h"
#include "models/vae.h"
#include "score/operations.h"

namespace cadenza {

std::vector<torch::Tensor> stitched_latents(int64_t windows, int per_anchor, const std::function<torch::Tensor()>& draw) {
  const int64_t anchors = 1 + (windows - 1 + per_anchor - 1) / per_anchor;
  std::vector<torch::Tensor> anchor_latents;
  for (int64_t a = 0; a < anchors; ++a) anchor_latents.push_back(draw());
  std::vector<torch::Tensor> latents;
  for (int64_t k = 0; k < windows; ++k) {
    const int64_t j = k / per_anchor;
    const double t = static_cast<double>(k % per_anchor) / per_anchor;
    latents.push_back(t == 0 ? anchor_latents[j] : models::slerp(anchor_latents[j], anchor_latents[j + 1], t));
  }
  return latents;
}

int64_t windows_for(double bars, int64_t bars_per_window) {
  if (bars_per_window <= 0 || bars <= 0) return 1;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(bars / static_cast<double>(bars_per_window))));
}

SampledPiece finish_window_piece(Score score, double window_quarters, int64_t windows, const SampleRequest& request,
                                 SamplerClock::time_point start) {
  const double whole = window_quarters * static_cast<double>(windows);
  const double bar_quarters = quarters_per_bar(4, 4);  // the latent families decode 4/4 bars
  const double quarters = request.bars > 0 ? std::min(request.bars * bar_quarters, whole) : whole;
  SampledPiece piece;
  piece.score = clip(score, 0, std::llround(quarters * score.ticks_per_quarter));
  set_tempo(piece.score, request.qpm);
  piece.unit = "windows";
  piece.generated_elements = windows;
  piece.generation_seconds = std::chrono::duration<double>(SamplerClock::now() - start).count();
  piece.music_seconds = quarters * 60.0 / request.qpm;
  return piece;
}

std::string parameter_text(const torch::nn::Module& module) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2fM parameters", static_cast<double>(models::count_parameters(module)) / 1e6);
  return text;
}

}  // namespace cadenza
