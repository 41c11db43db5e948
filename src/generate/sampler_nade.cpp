// Generation with a NADE hybrid: the primer's frames (or one silent frame) go through the backbone step by step; each
// new frame is drawn key by key from the NADE its condition defines (ancestral sampling at `temperature`, 0 = each key
// on when its logit given the keys before it is > 0), and fed back. Lengths in frames, bars (of the primer's meter, or
// 4/4) or seconds.
#include "generate/sampler_nade.h"

#include <torch/torch.h>

#include <chrono>

#include "codec/roll_windows.h"
#include "common/error.h"
#include "encoding/pianoroll.h"
#include "generate/latent_common.h"
#include "models/checkpoint.h"
#include "models/rnn_nade.h"
#include "models/transformer_nade.h"
#include "score/operations.h"

namespace cadenza {
namespace {

template <class Impl>
using ConfigOf = std::decay_t<decltype(std::declval<const Impl&>().config())>;

template <class Impl>
class NadeSampler final : public Sampler {
 public:
  NadeSampler(const models::Family& family, const models::CheckpointInfo& info)
      : family_(family), info_(info), config_(ConfigOf<Impl>::from_json(info.model_config_json)) {
    models::check_input_width(info, models::InputKind::kFrames, config_.vocab_size);
    roll_spec_ = PianoRollSpec::from_json(info.encoding);
    model_ = std::make_shared<Impl>(config_);
    models::load_checkpoint_weights(info.path, *model_);
    model_->eval();
  }

  const std::string& checkpoint_path() const override { return info_.path; }
  nlohmann::json training_metadata() const override { return info_.training; }
  std::string describe() const override {
    return family_.name + ", " + parameter_text(*model_) + ", piano-roll frames of " +
           std::to_string(config_.vocab_size) + " keys";
  }

  SamplerCapabilities capabilities() const override {
    SamplerCapabilities caps;
    caps.family = family_.name;
    caps.input = "frames";
    caps.temperature = caps.primer = caps.lengths_in_steps = true;
    return caps;
  }

  SampledPiece sample(const SampleRequest& request) override {
    check_sample_request(request, capabilities(), "generate");
    if (!request.primer_tokens.empty()) throw Error("generate: a piano-roll model takes a MIDI primer, not tokens");
    const auto start = SamplerClock::now();
    const int64_t K = roll_spec_.num_tracks, P = roll_spec_.num_pitches(), V = K * P;
    PianoRollEncoding encoding(roll_spec_);
    std::vector<torch::Tensor> frames;  // (V) each
    Score meter_source = make_empty_score();
    if (request.primer) {
      meter_source = *request.primer;
      const PianoRoll roll = encoding.encode(*request.primer);
      const torch::Tensor cells =
          torch::from_blob(const_cast<uint8_t*>(roll.cells.data()), {K, roll.num_steps, P}, torch::kUInt8)
              .permute({1, 0, 2})
              .reshape({roll.num_steps, V})
              .to(torch::kFloat);  // (T0, V)
      for (int64_t t = 0; t < cells.size(0); ++t) frames.push_back(cells[t]);
    }
    const TimeSignature meter = meter_at(meter_source, meter_source.end_tick());
    const int64_t steps = requested_frames(request, meter, roll_spec_.steps_per_quarter);
    SampledPiece piece;
    piece.unit = "frames";
    piece.primer_elements = static_cast<int64_t>(frames.size());

    torch::NoGradGuard no_grad;
    std::mt19937_64 rng(request.seed);
    auto state = model_->initial_state(1);
    torch::Tensor condition;  // (1, C)
    // A silent first frame without a primer: the first generated frame is what the model predicts after silence.
    if (frames.empty()) condition = model_->step(torch::zeros({1, V}), *state);
    for (const torch::Tensor& frame : frames) condition = model_->step(frame.unsqueeze(0), *state);
    for (int64_t t = 0; t < steps; ++t) {
      const torch::Tensor frame = model_->sample_frame(condition, request.sampling.temperature, rng);  // (1, V)
      frames.push_back(frame[0]);
      if (t + 1 < steps) condition = model_->step(frame, *state);
    }
    piece.generated_elements = steps;
    const torch::Tensor all = torch::stack(frames).reshape({-1, K, P}).permute({1, 0, 2});  // (K, T, P)
    const int64_t bar_steps = steps_per_bar(meter.numerator, meter.denominator, roll_spec_.steps_per_quarter);
    piece.score = encoding.decode(piano_roll_of(all, bar_steps), request.qpm);
    piece.music_seconds = static_cast<double>(steps) / roll_spec_.steps_per_quarter * 60.0 / request.qpm;
    piece.generation_seconds = std::chrono::duration<double>(SamplerClock::now() - start).count();
    return piece;
  }

 private:
  const models::Family& family_;
  models::CheckpointInfo info_;
  ConfigOf<Impl> config_;
  PianoRollSpec roll_spec_;
  std::shared_ptr<Impl> model_;
};

}  // namespace

template <class Impl>
std::unique_ptr<Sampler> open_nade_sampler(const models::Family& family, const models::CheckpointInfo& checkpoint) {
  return std::make_unique<NadeSampler<Impl>>(family, checkpoint);
}

template std::unique_ptr<Sampler> open_nade_sampler<models::RnnNadeImpl>(const models::Family&,
                                                                        const models::CheckpointInfo&);
template std::unique_ptr<Sampler> open_nade_sampler<models::TransformerNadeImpl>(const models::Family&,
                                                                                const models::CheckpointInfo&);

}  // namespace cadenza
