// MusicVAE training: bar-aligned melody windows (tokens) or multi-track piano-roll windows (frames), the negative
// ELBO with MusicVAE's beta schedule and free bits.
#include "train/learner_vae.h"

#include <cmath>
#include <random>

#include "codec/vae_segments.h"
#include "common/error.h"
#include "data/batch.h"
#include "data/windows.h"
#include "encoding/melody.h"
#include "eval/melody_features.h"
#include "models/checkpoint.h"
#include "models/vae.h"
#include "score/operations.h"
#include "train/distributed.h"

namespace cadenza::train {
namespace {

using nlohmann::json;

// The VAE's held-out figures over its windows (melody tokens or roll frames; eval mode, no gradients; restores
// nothing: the caller sets the mode): "elbo_per_step" (reconstruction + KL in nats per step, a token or a frame; z
// drawn from q(z|x) with a fixed seed), "reconstruction_per_step", "kl_bits", "accuracy_teacher_forced" and
// "accuracy_sampled" (steps exactly right, decoded from the posterior mean; sampled = greedy decoding fed its own
// outputs, MusicVAE's reconstruction accuracy), "windows", "input_kind"; frames models add the sampled
// reconstruction's cell precision, recall and F1 ("cells_*_sampled").
// With `parallel` (data-parallel training) each rank measures every world_size-th window and the sums are reduced;
// every window's z draw is the same row of one draw for all the windows, so the figures are one process's.
json vae_window_metrics(models::MusicVaeImpl& model, VaeSegments& segments, const std::vector<Window>& windows,
                        DataParallel* parallel = nullptr);

class VaeLearner final : public Learner {
 public:
  VaeLearner(const json& model_json, const Shard& shard, const TrainOptions& options)
      : options_(options), config_(models::VaeConfig::from_json(model_json)), segments_(shard, config_) {
    train_windows_ = segments_.windows(Split::kTrain);
    if (train_windows_.empty())
      throw Error(shard.path() + ": no training window of " + std::to_string(segments_.codec().bars()) +
                  " bars with a note (are the pieces shorter than the VAE's segment?)");
    valid_windows_ = spread_windows(segments_.windows(Split::kValid), static_cast<size_t>(options.eval_samples));
    torch::manual_seed(options.seed);
    model_ = models::MusicVae(config_);
    model_->train();
    optimizer_ = make_adam(*model_, options);
  }

  torch::nn::Module& module() override { return *model_; }
  json model_config() const override { return config_.to_json(); }
  std::vector<torch::optim::AdamW*> optimizers() override { return {optimizer_.get()}; }
  double elements_per_epoch() const override {
    return static_cast<double>(train_windows_.size()) * static_cast<double>(config_.sequence_length);
  }

  StepOutcome train_step(int64_t step, uint64_t batch_seed, double learning_rate) override {
    set_learning_rate(*optimizer_, learning_rate);
    std::mt19937_64 rng(batch_seed);
    const int64_t batch_size = options_.batch_size;
    std::vector<Window> batch;
    for (int64_t row = 0; row < batch_size; ++row)
      batch.push_back(train_windows_[random_below(rng, train_windows_.size())]);
    // The reparameterisation's epsilon for the whole global batch, first (the loop seeds torch's generator alike on
    // every rank): with several processes each rank keeps its rows [begin, end) of the windows and of epsilon, so N
    // processes compute what one computes.
    const torch::Tensor epsilon = torch::randn({batch_size, config_.latent_size});  // (B, Z)
    const auto [begin, end] =
        parallel_ != nullptr ? parallel_->slice_of(batch_size) : std::pair<int64_t, int64_t>{0, batch_size};
    const int64_t rows_here = end - begin;
    if (parallel_ != nullptr && parallel_->rank() > 0 && config_.dropout > 0)
      // Dropout masks: each rank its own (rank 0 those of a one-process run), as for the other families.
      torch::manual_seed(batch_seed + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(parallel_->rank()));
    const torch::Tensor x = segments_.batch(batch, static_cast<size_t>(begin),
                                            static_cast<size_t>(rows_here));  // (b, T) tokens or (b, T, V) frames
    const models::VaeOutput out = model_->forward(x, epsilon.narrow(0, begin, rows_here));
    const double beta = models::kl_beta(config_, step);
    // Every term is a mean over the rows (the free-bits hinge acts per sequence), so with slices alike in size the
    // global loss is the ranks' mean.
    const models::VaeLoss loss = models::elbo_loss(out.logits, x, out.mu, out.logvar, beta, config_.free_bits);
    std::vector<double> figures{loss.reconstruction.item<double>(), loss.kl_bits.item<double>(),
                                models::step_accuracy(out.logits, x).item<double>()};
    const double value = apply_update(loss.loss, "the negative ELBO", *model_, *optimizer_, options_.clip_norm,
                                      parallel_, static_cast<double>(rows_here), &figures);
    const double length = static_cast<double>(config_.sequence_length);
    return {value, batch_size * config_.sequence_length,
            json{{"reconstruction_per_step", figures[0] / length},
                 {"kl_bits", figures[1]},
                 {"beta", beta},
                 {"accuracy", figures[2]}}};
  }

  bool supports_data_parallel() const override { return true; }
  bool draws_for_the_global_batch() const override { return true; }

  std::optional<ValidationOutcome> validate(int64_t /*step*/) override {
    if (valid_windows_.empty()) return std::nullopt;
    model_->eval();
    ValidationOutcome outcome;
    outcome.record = vae_window_metrics(*model_, segments_, valid_windows_, parallel_);
    model_->train();
    outcome.score = outcome.record["elbo_per_step"].get<double>();
    outcome.score_name = "elbo";
    return outcome;
  }

 private:
  TrainOptions options_;
  models::VaeConfig config_;
  VaeSegments segments_;
  models::MusicVae model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<Window> train_windows_, valid_windows_;
};

json vae_window_metrics(models::MusicVaeImpl& model, VaeSegments& segments, const std::vector<Window>& windows,
                        DataParallel* parallel) {
  if (windows.empty()) throw Error("vae: no window to evaluate on");
  torch::NoGradGuard no_grad;
  torch::manual_seed(0x5a11d);  // the ELBO's z draws: the same at every validation (the loop reseeds each step)
  const int64_t length = model.config().sequence_length;
  // Window i's epsilon is row i, whichever rank measures it.
  const torch::Tensor epsilon = torch::randn({static_cast<int64_t>(windows.size()), model.config().latent_size});
  std::vector<Window> mine;
  std::vector<int64_t> my_rows;
  const size_t first_row = parallel != nullptr ? static_cast<size_t>(parallel->rank()) : 0;
  const size_t stride = parallel != nullptr ? static_cast<size_t>(parallel->world_size()) : 1;
  for (size_t i = first_row; i < windows.size(); i += stride) {
    mine.push_back(windows[i]);
    my_rows.push_back(static_cast<int64_t>(i));
  }
  const torch::Tensor my_epsilon = epsilon.index_select(0, torch::tensor(my_rows, torch::kLong));  // (n, Z)
  const bool frames = segments.codec().frames();
  double elbo_sum = 0, reconstruction_sum = 0, kl_bits_sum = 0, forced_correct = 0, sampled_correct = 0;
  double true_on = 0, sampled_on = 0, both_on = 0;  // frames: cells on in the input, the reconstruction, both
  const size_t chunk = 128;
  for (size_t first = 0; first < mine.size(); first += chunk) {
    const size_t count = std::min(chunk, mine.size() - first);
    const torch::Tensor x = segments.batch(mine, first, count);  // (B, T) or (B, T, V)
    const models::VaeOutput sampled =
        model.forward(x, my_epsilon.narrow(0, static_cast<int64_t>(first), static_cast<int64_t>(count)));  // z ~ q(z|x)
    const models::VaeLoss loss = models::elbo_loss(sampled.logits, x, sampled.mu, sampled.logvar, 1.0, 0.0);
    const double rows = static_cast<double>(count);
    elbo_sum += (loss.reconstruction.item<double>() + loss.kl.item<double>()) * rows;
    reconstruction_sum += loss.reconstruction.item<double>() * rows;
    kl_bits_sum += loss.kl_bits.item<double>() * rows;
    // Reconstruction from the posterior mean: teacher-forced, and decoded greedily from the model's own outputs.
    const torch::Tensor forced = model.decode_teacher_forced(sampled.mu, x);
    forced_correct += models::step_accuracy(forced, x).item<double>() * rows;
    const torch::Tensor greedy = model.decode_greedy(sampled.mu, length);
    if (frames) {
      sampled_correct += greedy.eq(x).all(2).to(torch::kDouble).mean().item<double>() * rows;
      true_on += x.sum().item<double>();
      sampled_on += greedy.sum().item<double>();
      both_on += (greedy * x).sum().item<double>();
    } else {
      sampled_correct += greedy.eq(x).to(torch::kDouble).mean().item<double>() * rows;
    }
  }
  if (parallel != nullptr) {
    std::vector<double> sums{elbo_sum, reconstruction_sum, kl_bits_sum, forced_correct, sampled_correct,
                             true_on,  sampled_on,         both_on};
    parallel->all_reduce_sum(sums);
    elbo_sum = sums[0], reconstruction_sum = sums[1], kl_bits_sum = sums[2], forced_correct = sums[3];
    sampled_correct = sums[4], true_on = sums[5], sampled_on = sums[6], both_on = sums[7];
  }
  const double n = static_cast<double>(windows.size()), t = static_cast<double>(length);
  json record = {{"elbo_per_step", elbo_sum / n / t},
                 {"reconstruction_per_step", reconstruction_sum / n / t},
                 {"kl_bits", kl_bits_sum / n},
                 {"accuracy_teacher_forced", forced_correct / n},
                 {"accuracy_sampled", sampled_correct / n},
                 {"windows", windows.size()},
                 {"input_kind", frames ? "frames" : "tokens"}};
  if (frames) {
    // Cell-level agreement of the sampled reconstruction: a frame with one wrong key of many fails the accuracy.
    const double precision = sampled_on > 0 ? both_on / sampled_on : 0, recall = true_on > 0 ? both_on / true_on : 0;
    record["cells_precision_sampled"] = precision;
    record["cells_recall_sampled"] = recall;
    record["cells_f1_sampled"] = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
  }
  return record;
}

}  // namespace

MelodySpec melody_spec_of(const Shard& shard, const char* family) {
  if (shard.is_piano_roll() || shard.metadata().encoding_name() != "melody")
    throw Error(shard.path() + ": the " + std::string(family) +
                " family trains on melody-encoded shards (`cadenza "
                "dataset prepare --encoding melody`), this one holds \"" +
                shard.metadata().encoding_name() + "\"");
  return MelodySpec::from_json(shard.metadata().encoding);
}

json resolve_vae_config(const models::Family& /*family*/, const json& model, const Shard& shard) {
  json resolved = model;
  if (shard.is_piano_roll()) {
    const PianoRollSpec spec = shard.roll_spec();
    resolved["input_kind"] = "frames";
    resolved["vocab_size"] = static_cast<int64_t>(spec.num_tracks) * spec.num_pitches();
  } else {
    melody_spec_of(shard, "vae");  // a clear error for any other token encoding
    resolved["input_kind"] = "tokens";
    resolved["vocab_size"] = shard.vocabulary_size();
  }
  const models::VaeConfig config = models::VaeConfig::from_json(resolved);
  VaeCodec(config, shard.metadata().encoding);  // checks the segment is whole bars of the shard's grid
  return config.to_json();
}

std::unique_ptr<Learner> make_vae_learner(const models::Family& /*family*/, const json& model, const Shard& shard,
                                          const TrainOptions& options) {
  return std::make_unique<VaeLearner>(model, shard, options);
}

namespace {

// Mean |step-to-step change|, largest change / total variation, and last - first of a series.
json smoothness(const std::vector<std::vector<double>>& paths) {
  double mean_change = 0, jump_share = 0, endpoint = 0;
  int64_t changes = 0, counted = 0;
  for (const auto& values : paths) {
    double total = 0, largest = 0;
    for (size_t i = 1; i < values.size(); ++i) {
      const double change = std::abs(values[i] - values[i - 1]);
      mean_change += change, ++changes, total += change, largest = std::max(largest, change);
    }
    endpoint += std::abs(values.back() - values.front());
    if (total > 0) jump_share += largest / total, ++counted;
  }
  return {{"mean_abs_change_per_step", mean_change / std::max<int64_t>(1, changes)},
          {"largest_jump_share", counted > 0 ? json(jump_share / counted) : json(nullptr)},
          {"mean_abs_endpoint_difference", endpoint / static_cast<double>(paths.size())}};
}

json vae_evaluation(const models::CheckpointInfo& info, const Shard& shard, Split split,
                    const LatentEvaluationOptions& options) {
  models::MusicVae model(models::VaeConfig::from_json(info.model_config_json));
  models::load_checkpoint_weights(info.path, *model);
  model->eval();
  VaeSegments segments(shard, model->config());
  const int64_t length = model->config().sequence_length;
  const std::vector<Window> all = segments.windows(split);
  const std::vector<Window> windows = spread_windows(all, static_cast<size_t>(options.max_windows));
  json result = vae_window_metrics(*model, segments, windows);
  result["windows_in_split"] = all.size();

  // Interpolation smoothness between random pairs of the split's windows.
  torch::NoGradGuard no_grad;
  std::mt19937_64 rng(options.seed);
  std::vector<std::vector<double>> densities, pitches;
  const double bars = static_cast<double>(segments.codec().bars());
  for (int pair = 0; pair < options.interpolation_pairs && windows.size() >= 2; ++pair) {
    const std::vector<Window> ends = {windows[rng() % windows.size()], windows[rng() % windows.size()]};
    const torch::Tensor mu = model->encode(segments.batch(ends)).first;  // (2, Z)
    const torch::Tensor path = models::latent_path(mu[0], mu[1], options.interpolation_steps, true);
    const torch::Tensor decoded = model->decode_greedy(path, length);  // (steps, T[, V]), argmax / threshold
    std::vector<double> density, pitch;
    for (int64_t step = 0; step < decoded.size(0); ++step) {
      const Score score = segments.codec().score_of(decoded[step]);
      density.push_back(melody_attribute(score, "note_density", bars));
      const double mean_pitch = melody_attribute(score, "mean_pitch", bars);
      if (std::isfinite(mean_pitch)) pitch.push_back(mean_pitch);
    }
    densities.push_back(density);
    if (pitch.size() >= 2) pitches.push_back(pitch);
  }
  if (!densities.empty()) {
    result["interpolation"] = {{"pairs", densities.size()},
                               {"steps", options.interpolation_steps},
                               {"note_density", smoothness(densities)},
                               {"mean_pitch", pitches.empty() ? json(nullptr) : smoothness(pitches)}};
  }
  return result;
}

// The printed form of vae_evaluation().
std::string vae_evaluation_text(const json& r) {
  std::string text;
  char line[320];
  const bool frames = r.value("input_kind", "tokens") == "frames";
  std::snprintf(line, sizeof line,
                "  ELBO bound %.4f nats/%s (reconstruction %.4f + KL %.1f bits per window) over %lld windows\n",
                r["elbo_per_step"].get<double>(), frames ? "frame" : "token",
                r["reconstruction_per_step"].get<double>(), r["kl_bits"].get<double>(), r["windows"].get<long long>());
  text += line;
  std::snprintf(
      line, sizeof line,
      "  reconstruction accuracy (%s exactly right): teacher-forced %.1f%%, sampled (%s, own outputs) %.1f%%\n",
      frames ? "whole frames" : "tokens", 100 * r["accuracy_teacher_forced"].get<double>(),
      frames ? "keys above 0.5" : "argmax", 100 * r["accuracy_sampled"].get<double>());
  text += line;
  if (frames) {
    std::snprintf(line, sizeof line, "  sampled reconstruction, cells: precision %.1f%%, recall %.1f%%, F1 %.1f%%\n",
                  100 * r["cells_precision_sampled"].get<double>(), 100 * r["cells_recall_sampled"].get<double>(),
                  100 * r["cells_f1_sampled"].get<double>());
    text += line;
  }
  if (r.contains("interpolation")) {
    const auto& i = r["interpolation"];
    for (const char* feature : {"note_density", "mean_pitch"}) {
      if (i[feature].is_null()) continue;
      const auto& f = i[feature];
      std::snprintf(line, sizeof line,
                    "  interpolation (%lld pairs, %lld steps) %s: mean |change| per step %.3f, endpoints differ by "
                    "%.3f, largest jump %.0f%% of the path's total change\n",
                    i["pairs"].get<long long>(), i["steps"].get<long long>(), feature,
                    f["mean_abs_change_per_step"].get<double>(), f["mean_abs_endpoint_difference"].get<double>(),
                    f["largest_jump_share"].is_null() ? 0.0 : 100 * f["largest_jump_share"].get<double>());
      text += line;
    }
  }
  return text;
}

// MusicVAE on 2-bar melodies (flat decoder) by default; `cadenza train --bars 16` makes it the hierarchical one.
// Sizes are MusicVAE's "small" models scaled to a CPU: MusicVAE's cat-mel_2bar_small has a 512-wide encoder, a
// 2 x 256 decoder and z = 256. beta_rate 0.999 (MusicVAE: 0.99999 over 50k+ steps) lets beta reach 95% of its
// maximum within the 3,000 steps a CPU run affords. Free bits: 48 for 2 bars (MusicVAE's 2-bar models used 0-48);
// the hierarchical decoder gets 16 bits per bar (`cadenza train --bars`; MusicVAE's 16-bar models: 256).
//
// On a piano-roll shard (frames) the input layer maps a whole multi-track frame (tracks x pitches keys, several on at
// once) rather than picking one token's row, so it gets twice the width.
json vae_preset(const std::string& preset, bool frames) {
  check_preset_name(preset);
  json model = {{"family", "vae"}, {"decoder", "flat"}, {"sequence_length", 32}, {"num_segments", 2}};
  json train = {{"schedule", "constant"}, {"weight_decay", 0.0}, {"warmup_steps", 0}};
  if (preset == "tiny") {
    model.update({{"embedding_size", 16},
                  {"encoder_hidden", 64},
                  {"latent_size", 16},
                  {"decoder_hidden", 64},
                  {"decoder_layers", 1},
                  {"conductor_hidden", 64},
                  {"conductor_layers", 1},
                  {"free_bits", 0.0},
                  {"max_beta", 0.2},
                  {"beta_rate", 0.99}});
    train.update({{"batch_size", 16},
                  {"steps", 100},
                  {"eval_every", 50},
                  {"checkpoint_every", 50},
                  {"log_every", 10},
                  {"eval_samples", 64},
                  {"learning_rate", 3e-3}});
  } else if (preset == "small") {
    // Sized to bundle (under 4 MB as float32: 0.94M parameters for 2 bars).
    model.update({{"embedding_size", 32},
                  {"encoder_hidden", 192},
                  {"latent_size", 128},
                  {"decoder_hidden", 160},
                  {"decoder_layers", 2},
                  {"conductor_hidden", 160},
                  {"conductor_layers", 1},
                  {"free_bits", 48.0},
                  {"max_beta", 0.2},
                  {"beta_rate", 0.999}});
    train.update({{"batch_size", 64},
                  {"steps", 3000},
                  {"eval_every", 250},
                  {"checkpoint_every", 250},
                  {"learning_rate", 1e-3},
                  {"eval_samples", 512}});
  } else {
    model.update({{"embedding_size", 64},
                  {"encoder_hidden", 512},
                  {"latent_size", 256},
                  {"decoder_hidden", 512},
                  {"decoder_layers", 2},
                  {"conductor_hidden", 512},
                  {"conductor_layers", 2},
                  {"free_bits", 48.0},
                  {"max_beta", 0.2},
                  {"beta_rate", 0.9999}});
    train.update({{"batch_size", 128},
                  {"steps", 50000},
                  {"eval_every", 1000},
                  {"checkpoint_every", 1000},
                  {"learning_rate", 1e-3},
                  {"eval_samples", 1024}});
  }
  if (frames) model["embedding_size"] = 2 * model["embedding_size"].get<int64_t>();
  return {{"model", model}, {"train", train}};
}

}  // namespace

json vae_default_config() {
  return models::VaeConfig().to_json();
}

json vae_preset_config(const std::string& preset, bool frames) {
  return vae_preset(preset, frames);
}

// --bars N: the VAE's sequence_length becomes N bars of the shard's steps, and from 4 bars on its decoder is
// MusicVAE's hierarchical one, one conductor step per bar (applied before --config and --set, which may still choose
// another decoder).
void apply_vae_bars(json& config, int64_t bars, const Shard& shard) {
  // Melody and piano-roll specs both name their grid "steps_per_quarter".
  const int64_t bar_steps = steps_per_bar(4, 4, shard.metadata().encoding.value("steps_per_quarter", 4));
  config["model"]["sequence_length"] = bars * bar_steps;
  config["model"]["decoder"] = bars >= 4 ? "hierarchical" : "flat";
  config["model"]["num_segments"] = bars >= 4 ? bars : 2;
  if (bars >= 4) config["model"]["free_bits"] = 16.0 * static_cast<double>(bars);  // MusicVAE: 256 for 16 bars
}

EvaluationReport evaluate_vae(const models::Family& family, const EvaluationRequest& request) {
  require_cpu_device(request, family.name);
  check_same_encoding(*request.checkpoint, *request.shard);
  EvaluationReport report;
  report.result = vae_evaluation(*request.checkpoint, *request.shard, request.split, request.latent);
  report.result["family"] = family.name;
  report.result["checkpoint"] = request.checkpoint->path;
  report.result["split"] = request.split_name;
  report.text = request.checkpoint->path + " (" + family.name + ") on " + request.shard->path() + ", " +
                request.split_name + " split:\n" + vae_evaluation_text(report.result);
  report.score = report.result["elbo_per_step"].get<double>();
  report.score_name = "elbo";
  return report;
}

}  // namespace cadenza::train
