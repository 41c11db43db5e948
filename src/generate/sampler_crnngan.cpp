// Generation with a C-RNN-GAN (models/crnngan.h): noise (truncated normal with `truncation`) -> generator -> note
// events (pitch, duration, time shift) -> one melody track (codec/melody_events.h), its times rounded to the training
// data's grid. The generator's output is continuous: nothing is drawn from a distribution, so there is no temperature.
#include "generate/sampler_crnngan.h"

#include <torch/torch.h>

#include <cmath>

#include "codec/melody_events.h"
#include "common/error.h"
#include "generate/latent_common.h"
#include "models/checkpoint.h"
#include "models/crnngan.h"
#include "models/musegan.h"  // sample_truncated_normal
#include "models/vae.h"      // latent_path
#include "score/operations.h"

namespace cadenza {
namespace {

class CrnnGanSampler final : public Sampler {
 public:
  CrnnGanSampler(const models::Family& family, const models::CheckpointInfo& info)
      : family_(family), info_(info), config_(models::CrnnGanConfig::from_json(info.model_config_json)) {
    if (info.encoding.value("name", "") != "melody")
      throw FormatError(info.path, -1, "a " + family.name + " checkpoint needs the melody encoding");
    steps_per_quarter_ = info.encoding.value("steps_per_quarter", 4);
    if (steps_per_quarter_ < 1)
      throw FormatError(
          info.path, -1,
          "the melody encoding's steps_per_quarter must be >= 1, got " + std::to_string(steps_per_quarter_));
    model_ = models::CrnnGan(config_);
    models::load_checkpoint_weights(info.path, *model_);
    model_->eval();
  }

  const std::string& checkpoint_path() const override { return info_.path; }
  nlohmann::json training_metadata() const override { return info_.training; }
  std::string describe() const override {
    return family_.name + ", " + parameter_text(*model_) + ", " + info_.encoding.value("name", "?") + " encoding";
  }

  SamplerCapabilities capabilities() const override {
    SamplerCapabilities caps;
    caps.family = family_.name;
    caps.input = "events";
    caps.truncation = caps.events = caps.interpolate = true;
    return caps;
  }

  SampledPiece sample(const SampleRequest& request) override {
    check_sample_request(request, capabilities(), "sample");
    torch::NoGradGuard no_grad;
    const auto start = SamplerClock::now();
    torch::manual_seed(request.seed);
    const int64_t events = event_count(request);
    return decode_piece(draw_latent(events, request.truncation), events, request, start);
  }

  std::vector<SampledPiece> interpolate(const Score* a, const Score* b, int steps, bool spherical,
                                        const SampleRequest& request) override {
    check_sample_request(request, capabilities(), "interpolate");
    if (steps < 2)
      throw Error("interpolate: --steps must be >= 2 (the two ends included), got " + std::to_string(steps));
    if (a != nullptr || b != nullptr)
      throw Error("interpolate: a " + family_.name +
                  " model interpolates between two noise draws (--seed and --seed + 1), not MIDI files");
    torch::NoGradGuard no_grad;
    torch::manual_seed(request.seed);
    const int64_t events = event_count(request);
    const torch::Tensor za = draw_latent(events, request.truncation), zb = draw_latent(events, request.truncation);
    const torch::Tensor path = models::latent_path(za, zb, steps, spherical);  // (steps, D)
    std::vector<SampledPiece> pieces;
    for (int i = 0; i < steps; ++i) pieces.push_back(decode_piece(path[i], events, request, SamplerClock::now()));
    return pieces;
  }

 private:
  int64_t event_count(const SampleRequest& request) const {
    if (request.events > 0) return request.events;
    // Enough events for the bars even if every note were a 16th (then cut at the bars).
    if (request.bars > 0) return static_cast<int64_t>(std::ceil(request.bars * quarters_per_bar(4, 4) * 4));
    return 64;
  }
  torch::Tensor draw_latent(int64_t events, double truncation) {
    return models::sample_truncated_normal({events * config_.noise_size}, truncation);
  }
  SampledPiece decode_piece(const torch::Tensor& latent, int64_t events, const SampleRequest& request,
                            SamplerClock::time_point start) {
    const torch::Tensor noise = latent.reshape({1, events, config_.noise_size});
    const torch::Tensor features = model_->generator->forward(noise)[0];  // (T, 3)
    SampledPiece piece;
    // Times on the training data's grid, as the pitches on its semitones (score_of_events).
    piece.score = score_of_events(models::features_to_events(features, config_), request.bars * quarters_per_bar(4, 4),
                                  steps_per_quarter_);
    set_tempo(piece.score, request.qpm);
    piece.unit = "events";
    piece.generated_elements = events;
    piece.generation_seconds = std::chrono::duration<double>(SamplerClock::now() - start).count();
    piece.music_seconds = piece.score.end_seconds();
    return piece;
  }

  const models::Family& family_;
  models::CheckpointInfo info_;
  models::CrnnGanConfig config_;
  models::CrnnGan model_{nullptr};
  int steps_per_quarter_ = 4;  // the training data's grid (its melody encoding)
};

}  // namespace

std::unique_ptr<Sampler> open_crnngan_sampler(const models::Family& family, const models::CheckpointInfo& checkpoint) {
  return std::make_unique<CrnnGanSampler>(family, checkpoint);
}

}  // namespace cadenza
