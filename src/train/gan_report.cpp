#include "train/gan_report.h"

#include "common/error.h"
#include "eval/musegan_metrics.h"

namespace cadenza::train {

using nlohmann::json;

double mean_pairwise_jaccard_distance(const torch::Tensor& binary) {
  const int64_t count = binary.size(0);
  if (count < 2) throw Error("mean_pairwise_jaccard_distance: needs at least two samples");
  const torch::Tensor flat = binary.reshape({count, -1}).to(torch::kFloat);  // (B, cells)
  const torch::Tensor both = torch::mm(flat, flat.t());                      // (B, B) cells on in both
  const torch::Tensor on = flat.sum(1);                                      // (B)
  const torch::Tensor either = on.unsqueeze(1) + on.unsqueeze(0) - both;     // (B, B)
  // Two silent samples are identical (distance 0).
  const torch::Tensor distance = torch::where(either > 0, 1 - both / either.clamp_min(1), torch::zeros_like(either));
  return (distance.sum() / static_cast<double>(count * (count - 1))).item<double>();  // the diagonal is 0
}

namespace {

// (B, K, N, S, P) bool -> B piano rolls of N bars.
std::vector<PianoRoll> to_rolls(const torch::Tensor& rolls) {
  const int64_t B = rolls.size(0), K = rolls.size(1), N = rolls.size(2), S = rolls.size(3), P = rolls.size(4);
  const torch::Tensor cells = rolls.reshape({B, K, N * S, P}).to(torch::kUInt8).contiguous();
  std::vector<PianoRoll> out;
  for (int64_t b = 0; b < B; ++b) {
    PianoRoll roll;
    roll.num_tracks = static_cast<int>(K), roll.num_steps = static_cast<int>(N * S),
    roll.num_pitches = static_cast<int>(P);
    const uint8_t* data = cells[b].data_ptr<uint8_t>();
    roll.cells.assign(data, data + K * N * S * P);
    for (int64_t bar = 0; bar < N; ++bar) roll.bar_starts.push_back(static_cast<int>(bar * S));
    out.push_back(std::move(roll));
  }
  return out;
}

json set_report(const torch::Tensor& rolls, const eval::MuseganOptions& options) {  // (B, K, N, S, P) bool
  json report = eval::musegan_metrics(to_rolls(rolls), options).to_json();
  report["diversity"] = mean_pairwise_jaccard_distance(rolls);
  const torch::Tensor density = rolls.to(torch::kFloat).mean({0, 2, 3, 4});  // (K)
  report["density"] = std::vector<double>(density.data_ptr<float>(), density.data_ptr<float>() + density.numel());
  return report;
}

}  // namespace

json gan_sample_report(const torch::Tensor& generated, const torch::Tensor& reference,
                       const models::MuseGanConfig& config, int lowest_pitch, int steps_per_quarter) {
  (void)config;
  eval::MuseganOptions options;
  options.lowest_pitch = lowest_pitch;
  options.min_qualified_steps = std::max(1, steps_per_quarter / 2);
  json report = {{"generated", set_report(generated, options)}, {"training", set_report(reference, options)}};
  const double generated_diversity = report["generated"]["diversity"].get<double>();
  const double training_diversity = report["training"]["diversity"].get<double>();
  report["mode_collapse"] = generated_diversity < 0.25 * training_diversity;
  return report;
}

}  // namespace cadenza::train
