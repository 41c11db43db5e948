#include "generate/latent_generator.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "common/error.h"
#include "data/shard.h"
#include "data/windows.h"
#include "encoding/encoding.h"
#include "encoding/melody.h"
#include "encoding/pianoroll.h"
#include "eval/melody_features.h"
#include "generate/vae_segments.h"
#include "models/checkpoint.h"
#include "models/crnngan.h"
#include "models/musegan.h"
#include "models/vae.h"
#include "score/operations.h"

namespace cadenza {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kBarQuarters = 4.0;  // 4/4 bars

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Latents on a smooth path through random anchors: window k sits at k / per_anchor between anchors (slerp).
std::vector<torch::Tensor> stitched_latents(int64_t windows, int per_anchor,
                                            const std::function<torch::Tensor()>& draw) {
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

Score events_to_score(const std::vector<models::MelodyEvent>& events, double max_quarters) {
  Score score;
  score.ticks_per_quarter = 480;
  Track track;
  track.name = "melody";
  double onset = 0;
  for (const auto& event : events) {
    onset += event.time_shift;
    if (max_quarters > 0 && onset >= max_quarters) break;
    double end = onset + std::max(event.duration, 1.0 / 16);  // a zero-length event still sounds a 64th
    if (max_quarters > 0) end = std::min(end, max_quarters);
    Note note;
    note.pitch = event.pitch;
    note.velocity = 90;
    note.start_tick = std::llround(onset * score.ticks_per_quarter);
    note.end_tick = std::max(note.start_tick + 1, static_cast<int64_t>(std::llround(end * score.ticks_per_quarter)));
    track.notes.push_back(note);
  }
  score.tracks.push_back(track);
  score.time_signatures.push_back({});
  score.tempos.push_back({});
  score.normalize();
  return score;
}

}  // namespace

// Cuts a decoded piece at options.bars (when shorter than its windows), sets the output tempo and the timings.
static LatentPiece finish_piece(LatentPiece piece, double window_quarters, const LatentSampleOptions& options,
                                Clock::time_point start) {
  const double quarters = options.bars > 0 ? std::min(options.bars * kBarQuarters, window_quarters) : window_quarters;
  piece.score = clip(piece.score, 0, std::llround(quarters * piece.score.ticks_per_quarter));
  set_tempo(piece.score, options.qpm);
  piece.generation_seconds = seconds_since(start);
  piece.music_seconds = quarters * 60.0 / options.qpm;
  return piece;
}

struct LatentGenerator::Impl {
  std::string path;
  models::CheckpointInfo info;
  // vae
  models::MusicVae vae{nullptr};
  std::unique_ptr<VaeCodec> codec;  // Score <-> tokens or frames
  // musegan
  models::MuseGan gan{nullptr};
  PianoRollSpec roll_spec;
  // crnngan
  models::CrnnGan rgan{nullptr};

  torch::nn::Module& module() {
    if (vae) return *vae;
    if (gan) return *gan;
    return *rgan;
  }

  int64_t window_bars() const {
    if (vae) return codec->bars();
    if (gan) return gan->config().num_bars;
    return 0;
  }

  // ---- vae ----
  torch::Tensor draw_vae_latent(double truncation) {
    return models::sample_truncated_normal({vae->config().latent_size}, truncation);  // (Z)
  }
  // One window decoded from z (Z): tokens (T) or frames (T, V).
  torch::Tensor decode_vae(const torch::Tensor& z, double temperature, std::mt19937_64& rng) {
    return vae->sample(z.unsqueeze(0), vae->config().sequence_length, temperature, rng)[0];
  }
  torch::Tensor encode_inputs(const std::vector<torch::Tensor>& rows) {  // -> (B, Z) posterior means
    return vae->encode(torch::stack(rows)).first;
  }
  LatentPiece vae_piece(const std::vector<torch::Tensor>& latents, const LatentSampleOptions& options, uint64_t seed,
                        Clock::time_point start) {
    std::mt19937_64 rng(seed);
    std::vector<torch::Tensor> windows;
    for (const auto& z : latents) windows.push_back(decode_vae(z, options.temperature, rng));
    LatentPiece piece;
    piece.score = codec->score_of(torch::cat(windows), options.qpm);
    const double window_quarters = static_cast<double>(latents.size() * window_bars()) * kBarQuarters;
    return finish_piece(std::move(piece), window_quarters, options, start);
  }

  // ---- musegan ----
  int64_t gan_latent_size() const {
    const auto& c = gan->config();
    return c.shared_latent + c.shared_temporal_latent + c.num_tracks * (c.track_latent + c.track_temporal_latent);
  }
  torch::Tensor draw_gan_latent(double truncation) {
    return models::sample_truncated_normal({gan_latent_size()}, truncation);
  }
  models::MuseGanNoise split_gan_latents(const std::vector<torch::Tensor>& latents) {  // each (D) -> batch
    const auto& c = gan->config();
    const torch::Tensor all = torch::stack(latents);  // (B, D)
    const int64_t B = all.size(0);
    models::MuseGanNoise noise;
    int64_t at = 0;
    auto take = [&](int64_t width) {
      torch::Tensor part = all.narrow(1, at, width);
      at += width;
      return part;
    };
    noise.shared = take(c.shared_latent);
    noise.shared_temporal = take(c.shared_temporal_latent);
    noise.track = take(c.num_tracks * c.track_latent).reshape({B, c.num_tracks, c.track_latent});
    noise.track_temporal =
        take(c.num_tracks * c.track_temporal_latent).reshape({B, c.num_tracks, c.track_temporal_latent});
    return noise;
  }
  // Binarised (W, K, N, S, P) windows, concatenated along time into one roll -> Score.
  LatentPiece gan_piece(const std::vector<torch::Tensor>& latents, const LatentSampleOptions& options, uint64_t seed,
                        Clock::time_point start) {
    const auto& c = gan->config();
    const torch::Tensor probabilities = gan->generator->forward(split_gan_latents(latents));  // (W, K, N, S, P)
    torch::Tensor on;
    if (options.binarize == "bernoulli") {
      torch::manual_seed(seed ^ 0xb1a5u);
      on = torch::bernoulli(probabilities).to(torch::kBool);
    } else {
      on = probabilities.gt(options.threshold);
    }
    const int64_t W = static_cast<int64_t>(latents.size()), steps = W * c.num_bars * c.steps_per_bar;
    // (W, K, N, S, P) -> (K, W*N*S, P)
    const torch::Tensor roll_tensor =
        on.permute({1, 0, 2, 3, 4}).reshape({c.num_tracks, steps, c.num_pitches}).to(torch::kUInt8).contiguous();
    PianoRoll roll;
    roll.num_tracks = static_cast<int>(c.num_tracks);
    roll.num_steps = static_cast<int>(steps);
    roll.num_pitches = static_cast<int>(c.num_pitches);
    roll.cells.assign(roll_tensor.data_ptr<uint8_t>(), roll_tensor.data_ptr<uint8_t>() + roll_tensor.numel());
    for (int64_t bar = 0; bar < W * c.num_bars; ++bar)
      roll.bar_starts.push_back(static_cast<int>(bar * c.steps_per_bar));
    LatentPiece piece;
    piece.score = PianoRollEncoding(roll_spec).decode(roll, options.qpm);
    const double window_quarters = static_cast<double>(steps) / roll_spec.steps_per_quarter;
    return finish_piece(std::move(piece), window_quarters, options, start);
  }

  // ---- crnngan ----
  int64_t rgan_events(const LatentSampleOptions& options) const {
    if (options.events > 0) return options.events;
    // Enough events for the bars even if every note were a 16th (then cut at the bars).
    if (options.bars > 0) return static_cast<int64_t>(std::ceil(options.bars * kBarQuarters * 4));
    return 64;
  }
  torch::Tensor draw_rgan_latent(int64_t events, double truncation) {
    return models::sample_truncated_normal({events * rgan->config().noise_size}, truncation);
  }
  LatentPiece rgan_piece(const torch::Tensor& latent, int64_t events, const LatentSampleOptions& options,
                         Clock::time_point start) {
    const torch::Tensor noise = latent.reshape({1, events, rgan->config().noise_size});
    const torch::Tensor features = rgan->generator->forward(noise)[0];  // (T, 3)
    LatentPiece piece;
    piece.score = events_to_score(models::features_to_events(features, rgan->config()), options.bars * kBarQuarters);
    set_tempo(piece.score, options.qpm);
    piece.generation_seconds = seconds_since(start);
    piece.music_seconds = piece.score.end_seconds();
    return piece;
  }
};

LatentGenerator::LatentGenerator(const std::string& checkpoint_or_run) : impl_(std::make_unique<Impl>()) {
  impl_->path = models::resolve_checkpoint_path(checkpoint_or_run);
  impl_->info = models::read_checkpoint_info(impl_->path);
  const std::string& path = impl_->path;
  switch (impl_->info.family) {
    case models::ModelFamily::kSequence:
      throw Error(path + ": holds an autoregressive " + impl_->info.family_name +
                  " model; use `cadenza generate` (sample / interpolate / reconstruct / attribute are for vae, gan "
                  "and rgan models)");
    case models::ModelFamily::kVae: {
      impl_->vae = models::MusicVae(models::VaeConfig::from_json(impl_->info.model_config_json));
      impl_->codec = std::make_unique<VaeCodec>(impl_->vae->config(), impl_->info.encoding);
      break;
    }
    case models::ModelFamily::kMuseGan:
      impl_->gan = models::MuseGan(models::MuseGanConfig::from_json(impl_->info.model_config_json));
      impl_->roll_spec = PianoRollSpec::from_json(impl_->info.encoding);
      break;
    case models::ModelFamily::kCrnnGan:
      impl_->rgan = models::CrnnGan(models::CrnnGanConfig::from_json(impl_->info.model_config_json));
      break;
  }
  models::load_checkpoint_weights(path, impl_->module());
  impl_->module().eval();  // batch norm on running statistics, no dropout
}

LatentGenerator::~LatentGenerator() = default;

const std::string& LatentGenerator::checkpoint_path() const {
  return impl_->path;
}
const std::string& LatentGenerator::family() const {
  return impl_->info.family_name;
}
nlohmann::json LatentGenerator::training_metadata() const {
  return impl_->info.training;
}
int64_t LatentGenerator::window_bars() const {
  return impl_->window_bars();
}

std::string LatentGenerator::describe() const {
  const int64_t parameters = models::count_parameters(impl_->module());
  char size[32];
  std::snprintf(size, sizeof size, "%.2fM parameters", static_cast<double>(parameters) / 1e6);
  std::string kind = impl_->info.family_name;
  if (impl_->vae)
    kind += std::string(" (") + models::vae_decoder_name(impl_->vae->config().decoder) + " decoder, " +
            std::to_string(window_bars()) + " bars" +
            (impl_->codec->frames() ? ", " + std::to_string(impl_->vae->config().vocab_size) + "-key frames" : "") +
            ")";
  if (impl_->gan)
    kind += " (" + std::to_string(window_bars()) + "-bar windows, " + std::to_string(impl_->gan->config().num_tracks) +
            " tracks)";
  return kind + ", " + size + ", " + impl_->info.encoding.value("name", "?") + " encoding";
}

std::vector<LatentPiece> LatentGenerator::sample(int count, const LatentSampleOptions& options) {
  if (count < 1) throw Error("sample: the number of pieces must be >= 1");
  if (options.binarize != "threshold" && options.binarize != "bernoulli")
    throw Error("sample: --binarize must be threshold or bernoulli, got \"" + options.binarize + "\"");
  if (options.windows_per_anchor < 1) throw Error("sample: windows per anchor must be >= 1");
  if (!(options.qpm > 0 && options.qpm <= 1000)) throw Error("sample: qpm must be in (0, 1000]");
  if (options.bars < 0) throw Error("sample: bars must be >= 0");
  torch::NoGradGuard no_grad;
  Impl& m = *impl_;
  std::vector<LatentPiece> pieces;
  for (int i = 0; i < count; ++i) {
    const uint64_t seed = options.seed + static_cast<uint64_t>(i);
    const auto start = Clock::now();
    torch::manual_seed(seed);
    const int64_t bars_per_window = m.window_bars();
    const int64_t windows =
        bars_per_window > 0 && options.bars > 0
            ? std::max<int64_t>(1, static_cast<int64_t>(std::ceil(options.bars / static_cast<double>(bars_per_window))))
            : 1;
    if (m.vae) {
      pieces.push_back(m.vae_piece(
          stitched_latents(windows, options.windows_per_anchor, [&] { return m.draw_vae_latent(options.truncation); }),
          options, seed, start));
    } else if (m.gan) {
      pieces.push_back(m.gan_piece(
          stitched_latents(windows, options.windows_per_anchor, [&] { return m.draw_gan_latent(options.truncation); }),
          options, seed, start));
    } else {
      const int64_t events = m.rgan_events(options);
      pieces.push_back(m.rgan_piece(m.draw_rgan_latent(events, options.truncation), events, options, start));
    }
  }
  return pieces;
}

std::vector<LatentPiece> LatentGenerator::interpolate(const Score* a, const Score* b, int steps, bool spherical,
                                                      const LatentSampleOptions& options) {
  if (steps < 2) throw Error("interpolate: --steps must be >= 2 (the two ends included)");
  torch::NoGradGuard no_grad;
  Impl& m = *impl_;
  torch::Tensor za, zb;
  int64_t events = 0;
  torch::manual_seed(options.seed);
  if (m.vae) {
    if (a == nullptr || b == nullptr) throw Error("interpolate: a vae interpolates between two MIDI files");
    const torch::Tensor z = m.encode_inputs({m.codec->input_of(*a), m.codec->input_of(*b)});
    za = z[0], zb = z[1];
  } else if (m.gan) {
    za = m.draw_gan_latent(options.truncation);
    zb = m.draw_gan_latent(options.truncation);
  } else {
    events = m.rgan_events(options);
    za = m.draw_rgan_latent(events, options.truncation);
    zb = m.draw_rgan_latent(events, options.truncation);
  }
  const torch::Tensor path = models::latent_path(za, zb, steps, spherical);  // (steps, D)
  std::vector<LatentPiece> pieces;
  for (int i = 0; i < steps; ++i) {
    const auto start = Clock::now();
    LatentSampleOptions one = options;
    one.bars = 0;  // one window per step
    if (m.vae) {
      pieces.push_back(m.vae_piece({path[i]}, one, options.seed, start));  // same decoder draws at every step
    } else if (m.gan) {
      pieces.push_back(m.gan_piece({path[i]}, one, options.seed, start));
    } else {
      pieces.push_back(m.rgan_piece(path[i], events, options, start));
    }
  }
  return pieces;
}

Reconstruction LatentGenerator::reconstruct(const Score& input, const LatentSampleOptions& options) {
  Impl& m = *impl_;
  if (!m.vae) throw Error("reconstruct: needs a vae checkpoint; " + m.path + " holds a " + family() + " model");
  torch::NoGradGuard no_grad;
  const torch::Tensor x = m.codec->input_of(input);  // (T) tokens or (T, V) frames
  const torch::Tensor mu = m.encode_inputs({x});     // (1, Z)
  std::mt19937_64 rng(options.seed);
  const torch::Tensor output = m.decode_vae(mu[0], options.temperature, rng);
  Reconstruction result;
  result.steps = x.size(0);
  const torch::Tensor same = m.codec->frames() ? output.eq(x).all(1) : output.eq(x);  // (T)
  result.step_accuracy = same.to(torch::kDouble).mean().item<double>();
  result.input = m.codec->score_of(x, options.qpm);
  result.output = m.codec->score_of(output, options.qpm);
  set_tempo(result.input, options.qpm);
  set_tempo(result.output, options.qpm);
  return result;
}

std::vector<std::string> LatentGenerator::attribute_names() const {
  return melody_attribute_names();
}

LatentPiece LatentGenerator::apply_attribute(const Score& input, const std::string& attribute, double amount,
                                             const std::string& shard_path, const LatentSampleOptions& options,
                                             int64_t max_windows) {
  Impl& m = *impl_;
  if (!m.vae) throw Error("attribute: needs a vae checkpoint; " + m.path + " holds a " + family() + " model");
  melody_attribute(Score{}, attribute, 1);  // rejects an unknown name before any work
  torch::NoGradGuard no_grad;
  const Shard shard(shard_path);
  if (shard.metadata().encoding != m.info.encoding)
    throw Error(shard_path + ": its encoding differs from the model's (" + m.path +
                "); attribute vectors must come "
                "from the data the model was trained on");
  VaeSegments segments(shard, m.vae->config());
  const std::vector<Window> windows =
      spread_windows(segments.windows(Split::kTrain), static_cast<size_t>(std::max<int64_t>(0, max_windows)));
  if (windows.size() < 8) throw Error(shard_path + ": too few training windows for an attribute vector");
  std::vector<std::pair<double, size_t>> values;  // (attribute, row)
  std::vector<torch::Tensor> means;
  const size_t chunk = 256;
  for (size_t first = 0; first < windows.size(); first += chunk) {
    const size_t count = std::min(chunk, windows.size() - first);
    const torch::Tensor x = segments.batch(windows, first, count);  // (B, T[, V])
    means.push_back(m.vae->encode(x).first);
    for (size_t row = 0; row < count; ++row)
      values.emplace_back(melody_attribute(m.codec->score_of(x[static_cast<int64_t>(row)]), attribute,
                                           static_cast<double>(m.window_bars())),
                          first + row);
  }
  const torch::Tensor all = torch::cat(means);  // (W, Z)
  std::sort(values.begin(), values.end());
  const size_t quartile = values.size() / 4;
  std::vector<int64_t> low, high;
  for (size_t i = 0; i < quartile; ++i) {
    low.push_back(static_cast<int64_t>(values[i].second));
    high.push_back(static_cast<int64_t>(values[values.size() - 1 - i].second));
  }
  const torch::Tensor vector =
      all.index_select(0, torch::tensor(high)).mean(0) - all.index_select(0, torch::tensor(low)).mean(0);  // (Z)
  const auto start = Clock::now();
  const torch::Tensor z = m.encode_inputs({m.codec->input_of(input)})[0] + amount * vector;
  LatentSampleOptions one = options;
  one.bars = 0;
  return m.vae_piece({z}, one, options.seed, start);
}

}  // namespace cadenza
