// Generation with a MuseGAN (models/musegan.h): noise (truncated normal with `truncation`) -> generator ->
// (K, N, S, P) logits -> binarised by threshold (probability > threshold) or by Bernoulli draws at `temperature`
// (sampling.h: each cell on with probability sigmoid(logit / T)) -> piano roll -> Score, one track per roll track.
// Longer than one window: windows decoded from noise on a smooth path (latent_common.h) and concatenated.
#include "generate/sampler_musegan.h"

#include <torch/torch.h>

#include "codec/roll_windows.h"
#include "common/error.h"
#include "encoding/pianoroll.h"
#include "generate/latent_common.h"
#include "models/checkpoint.h"
#include "models/vae.h"  // latent_path
#include "models/musegan.h"
#include "score/operations.h"

namespace cadenza {
namespace {

class MuseGanSampler final : public Sampler {
 public:
  MuseGanSampler(const models::Family& family, const models::CheckpointInfo& info)
      : family_(family), info_(info), config_(models::MuseGanConfig::from_json(info.model_config_json)) {
    models::check_input_width(info, models::InputKind::kFrames, config_.num_tracks * config_.num_pitches);
    roll_spec_ = PianoRollSpec::from_json(info.encoding);
    if (roll_spec_.num_tracks != config_.num_tracks)
      throw FormatError(info.path, -1,
                        "model_config has " + std::to_string(config_.num_tracks) + " tracks but the piano-roll encoding " +
                            std::to_string(roll_spec_.num_tracks));
    model_ = models::MuseGan(config_);
    models::load_checkpoint_weights(info.path, *model_);
    model_->eval();  // batch norm on running statistics
  }

  const std::string& checkpoint_path() const override { return info_.path; }
  nlohmann::json training_metadata() const override { return info_.training; }

  std::string describe() const override {
    return family_.name + " (" + std::to_string(config_.num_bars) + "-bar windows, " +
           std::to_string(config_.num_tracks) + " tracks), " + parameter_text(*model_) + ", " +
           info_.encoding.value("name", "?") + " encoding";
  }

  SamplerCapabilities capabilities() const override {
    SamplerCapabilities caps;
    caps.family = family_.name;
    caps.input = "frames";
    caps.temperature = true;  // with --binarize bernoulli
    caps.truncation = caps.binarize = caps.interpolate = true;
    caps.window_bars = config_.num_bars;
    return caps;
  }

  SampledPiece sample(const SampleRequest& request) override {
    check(request, "sample");
    torch::NoGradGuard no_grad;
    const auto start = SamplerClock::now();
    torch::manual_seed(request.seed);
    const int64_t windows = windows_for(request.bars, config_.num_bars);
    const auto latents =
        stitched_latents(windows, request.windows_per_anchor, [&] { return draw_latent(request.truncation); });
    return decode_piece(latents, request, request.seed, start);
  }

  std::vector<SampledPiece> interpolate(const Score* a, const Score* b, int steps, bool spherical,
                                        const SampleRequest& request) override {
    check(request, "interpolate");
    if (steps < 2)
      throw Error("interpolate: --steps must be >= 2 (the two ends included), got " + std::to_string(steps));
    if (a != nullptr || b != nullptr)
      throw Error("interpolate: a " + family_.name +
                  " model interpolates between two noise draws (--seed and --seed + 1), not MIDI files");
    torch::NoGradGuard no_grad;
    torch::manual_seed(request.seed);
    const torch::Tensor za = draw_latent(request.truncation), zb = draw_latent(request.truncation);
    const torch::Tensor path = models::latent_path(za, zb, steps, spherical);  // (steps, D)
    SampleRequest one = request;
    one.bars = 0;
    std::vector<SampledPiece> pieces;
    for (int i = 0; i < steps; ++i) pieces.push_back(decode_piece({path[i]}, one, request.seed, SamplerClock::now()));
    return pieces;
  }

 private:
  void check(const SampleRequest& request, const std::string& who) const {
    check_sample_request(request, capabilities(), who);
    if (request.binarize == "threshold" && request.sampling.temperature != 1.0 && request.sampling.temperature != 0.0)
      throw Error(who + ": --temperature applies with --binarize bernoulli (a threshold draws nothing)");
  }

  int64_t latent_size() const {
    return config_.shared_latent + config_.shared_temporal_latent +
           config_.num_tracks * (config_.track_latent + config_.track_temporal_latent);
  }
  torch::Tensor draw_latent(double truncation) { return models::sample_truncated_normal({latent_size()}, truncation); }

  models::MuseGanNoise split_latents(const std::vector<torch::Tensor>& latents) const {  // each (D) -> batch
    const torch::Tensor all = torch::stack(latents);  // (B, D)
    const int64_t B = all.size(0);
    models::MuseGanNoise noise;
    int64_t at = 0;
    auto take = [&](int64_t width) {
      torch::Tensor part = all.narrow(1, at, width);
      at += width;
      return part;
    };
    noise.shared = take(config_.shared_latent);
    noise.shared_temporal = take(config_.shared_temporal_latent);
    noise.track = take(config_.num_tracks * config_.track_latent).reshape({B, config_.num_tracks, config_.track_latent});
    noise.track_temporal = take(config_.num_tracks * config_.track_temporal_latent)
                               .reshape({B, config_.num_tracks, config_.track_temporal_latent});
    return noise;
  }

  // Binarised (W, K, N, S, P) windows, concatenated along time into one roll -> Score.
  SampledPiece decode_piece(const std::vector<torch::Tensor>& latents, const SampleRequest& request, uint64_t seed,
                            SamplerClock::time_point start) {
    const torch::Tensor logits = model_->generator->logits(split_latents(latents)).contiguous();  // (W, K, N, S, P)
    torch::Tensor on;
    if (request.binarize == "bernoulli") {
      std::mt19937_64 rng(seed ^ 0xb1a5u);
      const torch::Tensor values = logits.to(torch::kFloat).contiguous();
      on = torch::empty_like(values);
      sample_keys(values.data_ptr<float>(), values.numel(), request.sampling.temperature, rng, on.data_ptr<float>());
    } else {
      on = torch::sigmoid(logits).gt(request.threshold).to(torch::kFloat);
    }
    const int64_t W = static_cast<int64_t>(latents.size()), steps = W * config_.num_bars * config_.steps_per_bar;
    // (W, K, N, S, P) -> (K, W*N*S, P)
    const torch::Tensor cells = on.permute({1, 0, 2, 3, 4}).reshape({config_.num_tracks, steps, config_.num_pitches});
    const Score score = PianoRollEncoding(roll_spec_).decode(piano_roll_of(cells, config_.steps_per_bar), request.qpm);
    const double window_quarters =
        static_cast<double>(config_.num_bars * config_.steps_per_bar) / roll_spec_.steps_per_quarter;
    return finish_window_piece(score, window_quarters, W, request, start);
  }

  const models::Family& family_;
  models::CheckpointInfo info_;
  models::MuseGanConfig config_;
  PianoRollSpec roll_spec_;
  models::MuseGan model_{nullptr};
};

}  // namespace

std::unique_ptr<Sampler> open_musegan_sampler(const models::Family& family, const models::CheckpointInfo& checkpoint) {
  return std::make_unique<MuseGanSampler>(family, checkpoint);
}

}  // namespace cadenza
