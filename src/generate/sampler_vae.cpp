// Generation with a MusicVAE (models/vae.h): z ~ N(0, I) (optionally truncated) -> decoder, step by step, each step
// drawn at `temperature` with sampling.h (0 = argmax, or the keys above probability 0.5 for frames) -> melody tokens
// or multi-track piano-roll frames -> Score (codec/vae_segments.h). A MIDI file is encoded to z by the encoder's mean
// of its first segment. Longer than one window: consecutive windows decoded from latents on a smooth path
// (latent_common.h). Interpolation between two files, reconstruction, and attribute vectors (the mean latent of the
// training windows in the attribute's top quartile minus that of its bottom quartile; without the training data, of
// windows decoded from prior draws).
#include "generate/sampler_vae.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <random>

#include "codec/vae_segments.h"
#include "common/error.h"
#include "common/random.h"
#include "data/shard.h"
#include "data/windows.h"
#include "eval/melody_features.h"
#include "generate/latent_common.h"
#include "models/checkpoint.h"
#include "models/musegan.h"  // sample_truncated_normal
#include "models/vae.h"
#include "score/operations.h"

namespace cadenza {
namespace {

class VaeSampler final : public Sampler {
 public:
  VaeSampler(const models::Family& family, const models::CheckpointInfo& info)
      : family_(family), info_(info), config_(models::VaeConfig::from_json(info.model_config_json)) {
    models::check_input_width(info, config_.input_kind, config_.vocab_size);
    codec_ = std::make_unique<VaeCodec>(config_, info.encoding);
    model_ = models::MusicVae(config_);
    models::load_checkpoint_weights(info.path, *model_);
    model_->eval();
  }

  const std::string& checkpoint_path() const override { return info_.path; }
  nlohmann::json training_metadata() const override { return info_.training; }

  std::string describe() const override {
    return family_.name + " (" + models::vae_decoder_name(config_.decoder) + " decoder, " +
           std::to_string(codec_->bars()) + " bars" +
           (codec_->frames() ? ", " + std::to_string(config_.vocab_size) + "-key frames" : "") + "), " +
           parameter_text(*model_) + ", " + info_.encoding.value("name", "?") + " encoding";
  }

  SamplerCapabilities capabilities() const override {
    SamplerCapabilities caps;
    caps.family = family_.name;
    caps.input = codec_->frames() ? "frames" : "tokens";
    caps.temperature = true;
    caps.truncation = true;
    caps.interpolate = caps.interpolate_scores = caps.reconstruct = caps.attribute = true;
    caps.window_bars = codec_->bars();
    return caps;
  }

  SampledPiece sample(const SampleRequest& request) override {
    check_sample_request(request, capabilities(), "sample");
    torch::NoGradGuard no_grad;
    const auto start = SamplerClock::now();
    torch::manual_seed(request.seed);
    const int64_t windows = windows_for(request.bars, codec_->bars());
    const auto latents = stitched_latents(windows, request.windows_per_anchor, [&] {
      return models::sample_truncated_normal({config_.latent_size}, request.truncation);  // (Z)
    });
    return decode_piece(latents, request, request.seed, start);
  }

  std::vector<SampledPiece> interpolate(const Score* a, const Score* b, int steps, bool spherical,
                                        const SampleRequest& request) override {
    check_sample_request(request, capabilities(), "interpolate");
    if (steps < 2)
      throw Error("interpolate: --steps must be >= 2 (the two ends included), got " + std::to_string(steps));
    if (a == nullptr || b == nullptr) throw Error("interpolate: a vae interpolates between two MIDI files");
    torch::NoGradGuard no_grad;
    const torch::Tensor z = encode({codec_->input_of(*a), codec_->input_of(*b)});  // (2, Z)
    const torch::Tensor path = models::latent_path(z[0], z[1], steps, spherical);  // (steps, Z)
    SampleRequest one = request;
    one.bars = 0;  // one window per step
    one.on_progress = nullptr;
    std::vector<SampledPiece> pieces;
    for (int i = 0; i < steps; ++i)
      pieces.push_back(decode_piece({path[i]}, one, request.seed, SamplerClock::now()));  // same draws at every step
    return pieces;
  }

  Reconstruction reconstruct(const Score& input, const SampleRequest& request) override {
    check_sample_request(request, capabilities(), "reconstruct");
    torch::NoGradGuard no_grad;
    const torch::Tensor x = codec_->input_of(input);  // (T) tokens or (T, V) frames
    const torch::Tensor mu = encode({x});             // (1, Z)
    std::mt19937_64 rng(request.seed);
    const torch::Tensor output = decode(mu, request.sampling.temperature, rng)[0];
    Reconstruction result;
    result.steps = x.size(0);
    const torch::Tensor same = codec_->frames() ? output.eq(x).all(1) : output.eq(x);  // (T)
    result.step_accuracy = same.to(torch::kDouble).mean().item<double>();
    result.input = codec_->score_of(x, request.qpm);
    result.output = codec_->score_of(output, request.qpm);
    set_tempo(result.input, request.qpm);
    set_tempo(result.output, request.qpm);
    return result;
  }

  std::vector<std::string> attribute_names() const override { return melody_attribute_names(); }

  SampledPiece apply_attribute(const Score& input, const std::string& attribute, double amount,
                               const std::string& shard_path, const SampleRequest& request,
                               int64_t max_windows) override {
    check_sample_request(request, capabilities(), "attribute");
    melody_attribute(Score{}, attribute, 1);  // rejects an unknown name before any work
    torch::NoGradGuard no_grad;
    const torch::Tensor vector = attribute_vector(attribute, shard_path, max_windows);  // (Z)
    const auto start = SamplerClock::now();
    const torch::Tensor z = encode({codec_->input_of(input)})[0] + amount * vector;
    SampleRequest one = request;
    one.bars = 0;
    one.on_progress = nullptr;
    return decode_piece({z}, one, request.seed, start);
  }

 private:
  // The attribute vector (see Sampler::apply_attribute), computed once per (attribute, shard, max_windows).
  torch::Tensor attribute_vector(const std::string& attribute, const std::string& shard_path, int64_t max_windows) {
    const std::string key = attribute + '\n' + shard_path + '\n' + std::to_string(max_windows);
    if (auto found = attribute_vectors_.find(key); found != attribute_vectors_.end()) return found->second;
    const torch::Tensor vector = shard_path.empty() ? prior_attribute_vector(attribute, max_windows)
                                                    : shard_attribute_vector(attribute, shard_path, max_windows);
    attribute_vectors_.emplace(key, vector);
    return vector;
  }

  // Top-quartile mean minus bottom-quartile mean of `latents` (W, Z) ranked by `values` (one per row).
  static torch::Tensor quartile_difference(const torch::Tensor& latents, const std::vector<double>& values) {
    std::vector<std::pair<double, int64_t>> ranked;  // (attribute, row)
    for (size_t row = 0; row < values.size(); ++row) ranked.emplace_back(values[row], static_cast<int64_t>(row));
    std::sort(ranked.begin(), ranked.end());
    const size_t quartile = ranked.size() / 4;
    std::vector<int64_t> low, high;
    for (size_t i = 0; i < quartile; ++i) {
      low.push_back(ranked[i].second);
      high.push_back(ranked[ranked.size() - 1 - i].second);
    }
    return latents.index_select(0, torch::tensor(high)).mean(0) - latents.index_select(0, torch::tensor(low)).mean(0);
  }

  // From the model's prior: latents drawn from N(0, I) with a fixed seed (with the portable RNG of common/random.h,
  // so the vector does not depend on the libtorch version), decoded greedily; each latent is ranked by the attribute
  // of its own decoded window.
  torch::Tensor prior_attribute_vector(const std::string& attribute, int64_t max_windows) {
    const int64_t count = std::max<int64_t>(8, max_windows);
    std::mt19937_64 draws(0x5eed'a77bu);
    torch::Tensor latents = torch::empty({count, config_.latent_size}, torch::kFloat);  // (W, Z)
    float* data = latents.data_ptr<float>();
    for (int64_t i = 0; i < latents.numel(); ++i) data[i] = static_cast<float>(random_normal(draws));
    std::vector<double> values;
    std::mt19937_64 unused(0);  // temperature 0 draws nothing
    const int64_t chunk = 256;
    for (int64_t first = 0; first < count; first += chunk) {
      const int64_t rows = std::min(chunk, count - first);
      const torch::Tensor decoded = decode(latents.narrow(0, first, rows), 0.0, unused);  // (B, T[, V])
      for (int64_t row = 0; row < rows; ++row)
        values.push_back(
            melody_attribute(codec_->score_of(decoded[row]), attribute, static_cast<double>(codec_->bars())));
    }
    return quartile_difference(latents, values);
  }

  // From the training split of a shard: posterior means of its windows, ranked by the windows' attribute.
  torch::Tensor shard_attribute_vector(const std::string& attribute, const std::string& shard_path,
                                       int64_t max_windows) {
    const Shard shard(shard_path);
    if (shard.metadata().encoding != info_.encoding)
      throw Error(shard_path + ": its encoding differs from the model's (" + info_.path +
                  "); attribute vectors must come from the data the model was trained on");
    VaeSegments segments(shard, config_);
    const std::vector<Window> windows =
        spread_windows(segments.windows(Split::kTrain), static_cast<size_t>(std::max<int64_t>(0, max_windows)));
    if (windows.size() < 8) throw Error(shard_path + ": too few training windows for an attribute vector");
    std::vector<double> values;  // one per window, in order
    std::vector<torch::Tensor> means;
    const size_t chunk = 256;
    for (size_t first = 0; first < windows.size(); first += chunk) {
      const size_t count = std::min(chunk, windows.size() - first);
      const torch::Tensor x = segments.batch(windows, first, count);  // (B, T[, V])
      means.push_back(model_->encode(x).first);
      for (size_t row = 0; row < count; ++row)
        values.push_back(melody_attribute(codec_->score_of(x[static_cast<int64_t>(row)]), attribute,
                                          static_cast<double>(codec_->bars())));
    }
    return quartile_difference(torch::cat(means), values);  // (Z)
  }

  torch::Tensor encode(const std::vector<torch::Tensor>& rows) {  // -> (B, Z) posterior means
    return model_->encode(torch::stack(rows)).first;
  }

  // Decodes z (B, Z) step by step, each step drawn with sampling.h at `temperature` (rows in order, then keys).
  torch::Tensor decode(const torch::Tensor& z, double temperature, std::mt19937_64& rng) {
    const bool frames = codec_->frames();
    const int64_t V = config_.vocab_size;
    SamplingOptions options;
    options.temperature = temperature;
    return model_->decode(z, config_.sequence_length, [&](const torch::Tensor& logits, int64_t) {
      const torch::Tensor rows = logits.to(torch::kFloat).contiguous();  // (B, V)
      const int64_t B = rows.size(0);
      const float* data = rows.data_ptr<float>();
      if (frames) {
        torch::Tensor keys = torch::empty({B, V}, torch::kFloat);
        for (int64_t b = 0; b < B; ++b) sample_keys(data + b * V, V, temperature, rng, keys.data_ptr<float>() + b * V);
        return keys;
      }
      torch::Tensor tokens = torch::empty({B}, torch::kLong);
      for (int64_t b = 0; b < B; ++b)
        tokens[b] = static_cast<int64_t>(sample_token(data + b * V, static_cast<int>(V), nullptr, options, rng));
      return tokens;
    });
  }

  SampledPiece decode_piece(const std::vector<torch::Tensor>& latents, const SampleRequest& request, uint64_t seed,
                            SamplerClock::time_point start) {
    std::mt19937_64 rng(seed);
    std::vector<torch::Tensor> windows;
    for (const auto& z : latents) {
      windows.push_back(decode(z.unsqueeze(0), request.sampling.temperature, rng)[0]);
      if (request.on_progress) {
        const Score partial = codec_->score_of(torch::cat(windows), request.qpm);
        if (!request.on_progress(SampleProgress{partial, 0, static_cast<int64_t>(windows.size())}))
          throw GenerationCancelled();
      }
    }
    const Score score = codec_->score_of(torch::cat(windows), request.qpm);
    const double window_quarters = static_cast<double>(codec_->bars()) * quarters_per_bar(4, 4);
    return finish_window_piece(score, window_quarters, static_cast<int64_t>(latents.size()), request, start);
  }

  const models::Family& family_;
  models::CheckpointInfo info_;
  models::VaeConfig config_;
  std::unique_ptr<VaeCodec> codec_;
  models::MusicVae model_{nullptr};
  std::map<std::string, torch::Tensor> attribute_vectors_;  // see attribute_vector()
};

}  // namespace

std::unique_ptr<Sampler> open_vae_sampler(const models::Family& family, const models::CheckpointInfo& checkpoint) {
  return std::make_unique<VaeSampler>(family, checkpoint);
}

}  // namespace cadenza
