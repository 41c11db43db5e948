// The GAN models: MuseGAN-style hybrid generator + WGAN-GP critic (musegan.h) and the C-RNN-GAN-style recurrent GAN
// (crnngan.h), against the PyTorch reference fixtures of tests/fixtures/make_gan_fixtures.py (outputs, scores,
// penalty, losses, every gradient), plus their structure, configs and errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/safetensors.h"
#include "models/crnngan.h"
#include "models/musegan.h"
#include "models/tensor_io.h"

namespace cadenza::models {
namespace {

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// Expects `call` to throw cadenza::Error whose message contains `needle`.
void expect_error(const std::function<void()>& call, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one mentioning \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// One fixture file of make_gan_fixtures.py.
class GanFixture {
 public:
  explicit GanFixture(const std::string& name)
      : path_(std::string(CADENZA_SOURCE_DIR) + "/tests/fixtures/models/" + name + ".safetensors"),
        file_(safetensors::read(path_)),
        config_(nlohmann::json::parse(file_.metadata.at("config"))) {}

  torch::Tensor get(const std::string& name) const {
    auto found = file_.tensors.find(name);
    if (found == file_.tensors.end()) throw Error(path_ + ": fixture has no tensor " + name);
    return to_torch(found->second);
  }
  const std::string& path() const { return path_; }
  const safetensors::TensorFile& file() const { return file_; }
  const nlohmann::json& config() const { return config_; }

 private:
  std::string path_;
  safetensors::TensorFile file_;
  nlohmann::json config_;
};

// d loss / d p for every parameter of `module`, compared with the fixture's `prefix` + NAME (zeros where the loss
// does not depend on a parameter): within 1e-5, and within 0.1% of the gradient's largest entry, because some of
// these gradients are themselves only 1e-4 in size (the generator's, seen through a freshly initialised critic).
void expect_gradients(const torch::Tensor& loss, torch::nn::Module& module, const GanFixture& fixture,
                      const std::string& prefix) {
  auto named = module.named_parameters();
  std::vector<torch::Tensor> params;
  for (const auto& item : named) params.push_back(item.value());
  auto grads = torch::autograd::grad({loss}, params, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  size_t i = 0;
  for (const auto& item : named) {
    auto grad = grads[i].defined() ? grads[i] : torch::zeros_like(params[i]);
    auto expected = fixture.get(prefix + item.key());
    const double difference = max_abs_diff(grad, expected), size = expected.abs().max().item<double>();
    EXPECT_LT(difference, 1e-5) << prefix << item.key();
    EXPECT_LE(difference, 1e-3 * size + 1e-8) << prefix << item.key() << ": largest entry " << size;
    ++i;
  }
  EXPECT_GT(i, 0u);
}

// ---- MuseGAN: the PyTorch reference ---------------------------------------------------------------------------

struct LoadedMuseGan {
  GanFixture fixture{"musegan"};
  MuseGanConfig config = MuseGanConfig::from_json(fixture.config());
  MuseGan model{config};
  MuseGanNoise noise;

  LoadedMuseGan() {
    load_module_tensors(*model, fixture.file(), fixture.path(), "model.");
    noise = {fixture.get("noise.shared"), fixture.get("noise.shared_temporal"), fixture.get("noise.track"),
             fixture.get("noise.track_temporal")};
  }
};

TEST(MuseGanMatchesPyTorch, GeneratorOutputsInTrainingAndEvalMode) {
  LoadedMuseGan loaded;
  auto& generator = loaded.model->generator;
  generator->train();
  auto logits = generator->logits(loaded.noise);
  EXPECT_EQ(logits.sizes(), torch::IntArrayRef({3, 2, 2, 4, 10}));
  EXPECT_LT(max_abs_diff(logits, loaded.fixture.get("fake_logits")), 1e-5);
  // Batch norm updated its running statistics exactly as PyTorch's did in that one forward.
  for (const auto& item : generator->named_buffers())
    EXPECT_LT(max_abs_diff(item.value(), loaded.fixture.get("after_forward.generator." + item.key())), 1e-5)
        << item.key();
  EXPECT_LT(max_abs_diff(torch::sigmoid(logits), loaded.fixture.get("fake")), 1e-5);
  // (A second training-mode forward would move the running statistics again, so the next check comes first.)

  generator->eval();  // running statistics instead of batch statistics
  torch::NoGradGuard no_grad;
  auto eval_fake = generator->forward(loaded.noise);
  EXPECT_LT(max_abs_diff(eval_fake, loaded.fixture.get("eval_fake")), 1e-5);
  EXPECT_LT(max_abs_diff(torch::sigmoid(generator->logits(loaded.noise)), eval_fake), 1e-7);
  EXPECT_GT(max_abs_diff(eval_fake, loaded.fixture.get("fake")), 1e-3) << "eval mode should differ from training";
}

TEST(MuseGanMatchesPyTorch, CriticScoresPenaltyLossesAndGradients) {
  LoadedMuseGan loaded;
  auto& critic = loaded.model->critic;
  auto& generator = loaded.model->generator;
  generator->train();
  auto fake = generator->forward(loaded.noise);
  auto real = loaded.fixture.get("real");

  auto real_scores = critic->forward(real);
  auto fake_scores = critic->forward(fake.detach());
  EXPECT_LT(max_abs_diff(real_scores, loaded.fixture.get("real_scores")), 1e-5);
  EXPECT_LT(max_abs_diff(fake_scores, loaded.fixture.get("fake_scores")), 1e-5);
  auto wasserstein = wgan_critic_loss(real_scores, fake_scores);
  EXPECT_NEAR(wasserstein.item<double>(), loaded.fixture.get("wasserstein").item<double>(), 1e-5);

  const double weight = std::stod(loaded.fixture.file().metadata.at("gp_weight"));
  auto penalty = gradient_penalty(*critic, real, fake, loaded.fixture.get("alpha"), weight);
  EXPECT_NEAR(penalty.item<double>(), loaded.fixture.get("gradient_penalty").item<double>(), 1e-5);
  expect_gradients(penalty, *critic, loaded.fixture, "grad_penalty.critic.");

  auto total = wasserstein + penalty;
  EXPECT_NEAR(total.item<double>(), loaded.fixture.get("critic_loss").item<double>(), 1e-5);
  expect_gradients(total, *critic, loaded.fixture, "grad_critic.critic.");

  auto generator_loss = wgan_generator_loss(critic->forward(fake));
  EXPECT_NEAR(generator_loss.item<double>(), loaded.fixture.get("generator_loss").item<double>(), 1e-5);
  expect_gradients(generator_loss, *generator, loaded.fixture, "grad_generator.generator.");
}

// ---- MuseGAN: shapes and structure ----------------------------------------------------------------------------

MuseGanConfig small_musegan_config() {
  MuseGanConfig config;
  config.num_tracks = 3;
  config.num_bars = 4;
  config.steps_per_bar = 16;
  config.num_pitches = 88;
  config.shared_latent = 4;
  config.shared_temporal_latent = 3;
  config.track_latent = 4;
  config.track_temporal_latent = 3;
  config.temporal_hidden = 8;
  config.generator_channels = {8, 6, 4};
  config.critic_channels = {4, 6, 8};
  return config;
}

// The data-parallel batch norm (statistics summed over the processes by a reducer) against torch's own batch_norm:
// with one process (the identity as reducer) the output, the gradients of input, weight and bias, and the running
// statistics are torch's. And with the batch split in two halves whose sums are added, each half is normalised with
// the whole batch's statistics, as torch normalises the whole batch.
double largest_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

TEST(MuseGan, SyncedBatchNormIsTorchsBatchNorm) {
  torch::manual_seed(7);
  for (int dims : {2, 4}) {
    SCOPED_TRACE(dims);
    const torch::Tensor x = dims == 2 ? torch::randn({6, 5}) * 3 + 1 : torch::randn({4, 3, 5, 2}) * 2 - 1;
    const torch::Tensor upstream = torch::randn_like(x);
    const auto run = [&](auto make) {
      auto reference = make(), synced = make();
      {
        torch::NoGradGuard no_grad;
        reference->weight.uniform_(0.5, 1.5);
        reference->bias.uniform_(-0.5, 0.5);
        synced->weight.copy_(reference->weight);
        synced->bias.copy_(reference->bias);
      }
      const torch::Tensor a = x.clone().requires_grad_(true), b = x.clone().requires_grad_(true);
      const torch::Tensor expected = reference->forward(a);
      const torch::Tensor got = synced_batch_norm(*synced, b, [](const torch::Tensor& t) { return t; });
      (expected * upstream).sum().backward();
      (got * upstream).sum().backward();
      EXPECT_LT(largest_difference(expected, got), 1e-5);
      EXPECT_LT(largest_difference(a.grad(), b.grad()), 1e-5);
      EXPECT_LT(largest_difference(reference->weight.grad(), synced->weight.grad()), 1e-5);
      EXPECT_LT(largest_difference(reference->bias.grad(), synced->bias.grad()), 1e-5);
      EXPECT_LT(largest_difference(reference->running_mean, synced->running_mean), 1e-6);
      EXPECT_LT(largest_difference(reference->running_var, synced->running_var), 1e-6);
      EXPECT_EQ(largest_difference(synced->num_batches_tracked, torch::ones({}, torch::kLong)), 0);

      // Two halves, each seeing the other's sums (no gradient through them here): each half's output is the
      // whole batch's output rows.
      const int64_t half = x.size(0) / 2;
      const auto local_sums = [&](const torch::Tensor& part) {
        std::vector<int64_t> reduced{0};
        for (int64_t d = 2; d < part.dim(); ++d) reduced.push_back(d);
        const torch::Tensor p = part.to(torch::kDouble);
        return torch::cat({p.sum(reduced), (p * p).sum(reduced),
                           torch::full({1}, static_cast<double>(part.numel() / part.size(1)), p.options())});
      };
      for (int64_t part = 0; part < 2; ++part) {
        const torch::Tensor other = local_sums(x.narrow(0, (1 - part) * half, half)).detach();
        const torch::Tensor output = synced_batch_norm(*synced, x.narrow(0, part * half, half),
                                                       [&](const torch::Tensor& t) { return t + other; });
        EXPECT_LT(largest_difference(output, expected.narrow(0, part * half, half)), 1e-5);
      }
    };
    if (dims == 2)
      run([] { return torch::nn::BatchNorm1d(5); });
    else
      run([] { return torch::nn::BatchNorm2d(3); });
  }
}

TEST(MuseGan, ShapesForDefaultAndPianoConfigs) {
  torch::manual_seed(1);
  MuseGanConfig piano = small_musegan_config();
  EXPECT_EQ(piano.pitch_blocks(), 7);   // 88 / 12
  EXPECT_EQ(piano.pitch_kernel(), 16);  // blocks of 12 that paint 16 pitches: 6*12 + 16 = 88
  for (const MuseGanConfig& config : {MuseGanConfig(), piano}) {
    MuseGan model(config);
    model->eval();
    torch::NoGradGuard no_grad;
    auto noise = sample_musegan_noise(config, 2);
    auto rolls = model->generator->forward(noise);
    EXPECT_EQ(rolls.sizes(),
              torch::IntArrayRef({2, config.num_tracks, config.num_bars, config.steps_per_bar, config.num_pitches}));
    EXPECT_GE(rolls.min().item<double>(), 0.0);
    EXPECT_LE(rolls.max().item<double>(), 1.0);
    EXPECT_GT(rolls.std().item<double>(), 1e-4) << "outputs should vary";
    auto scores = model->critic->forward(rolls);
    EXPECT_EQ(scores.sizes(), torch::IntArrayRef({2}));
  }
}

TEST(MuseGan, HybridDesignSharesAndSeparatesTheRightNoise) {
  torch::manual_seed(2);
  MuseGanConfig config = small_musegan_config();
  MuseGanGenerator generator(config);
  generator->eval();  // running statistics: each piece independent of the rest of the batch
  torch::NoGradGuard no_grad;
  auto base = sample_musegan_noise(config, 1);
  auto output = generator->logits(base);  // (1, K, N, S, P)
  auto track_changed = [&](const MuseGanNoise& noise, int64_t k) {
    return max_abs_diff(generator->logits(noise).select(1, k), output.select(1, k)) > 1e-6;
  };
  auto bar_changed = [&](const MuseGanNoise& noise, int64_t bar) {
    return max_abs_diff(generator->logits(noise).select(2, bar), output.select(2, bar)) > 1e-6;
  };

  MuseGanNoise other_track = base;  // track 1's private noise: only track 1 changes
  other_track.track = base.track.clone();
  other_track.track[0][1].add_(1.0);
  EXPECT_FALSE(track_changed(other_track, 0));
  EXPECT_TRUE(track_changed(other_track, 1));
  EXPECT_FALSE(track_changed(other_track, 2));

  MuseGanNoise other_temporal = base;  // track 2's temporal noise: only track 2 changes
  other_temporal.track_temporal = base.track_temporal.clone();
  other_temporal.track_temporal[0][2].add_(1.0);
  EXPECT_FALSE(track_changed(other_temporal, 0));
  EXPECT_TRUE(track_changed(other_temporal, 2));

  for (auto part : {&MuseGanNoise::shared, &MuseGanNoise::shared_temporal}) {  // shared noise: every track
    MuseGanNoise other_shared = base;
    other_shared.*part = (base.*part) + 1.0;
    for (int64_t k = 0; k < config.num_tracks; ++k) EXPECT_TRUE(track_changed(other_shared, k)) << k;
  }

  // Without temporal latents nothing tells the bars apart: every bar of a track is the same.
  MuseGanConfig timeless = config;
  timeless.shared_temporal_latent = timeless.track_temporal_latent = 0;
  MuseGanGenerator static_generator(timeless);
  static_generator->eval();
  auto bars = static_generator->logits(sample_musegan_noise(timeless, 1));
  EXPECT_LT(max_abs_diff(bars.select(2, 0), bars.select(2, 3)), 1e-6);
  // With them, the bars differ, and the shared temporal noise moves every bar.
  EXPECT_GT(max_abs_diff(output.select(2, 0), output.select(2, 3)), 1e-4);
  MuseGanNoise other_shared_temporal = base;
  other_shared_temporal.shared_temporal = base.shared_temporal + 1.0;
  for (int64_t bar = 0; bar < config.num_bars; ++bar) EXPECT_TRUE(bar_changed(other_shared_temporal, bar)) << bar;
}

TEST(MuseGan, JammingAndComposerFlavoursBuildWithoutTheUnusedModules) {
  torch::manual_seed(3);
  MuseGanConfig jamming = small_musegan_config();  // private noise only
  jamming.shared_latent = jamming.shared_temporal_latent = 0;
  MuseGanGenerator jam(jamming);
  auto names = jam->named_parameters().keys();
  for (const auto& name : names) EXPECT_NE(name.rfind("shared_temporal.", 0), 0u) << name;
  EXPECT_NE(std::find(names.begin(), names.end(), "track_temporal.2.output.weight"), names.end());
  jam->train();
  EXPECT_EQ(jam->forward(sample_musegan_noise(jamming, 2)).size(1), 3);

  MuseGanConfig composer = small_musegan_config();  // shared noise only
  composer.track_latent = composer.track_temporal_latent = 0;
  MuseGanGenerator comp(composer);
  auto composer_names = comp->named_parameters().keys();
  for (const auto& name : composer_names) EXPECT_NE(name.rfind("track_temporal.", 0), 0u) << name;
  EXPECT_EQ(comp->bar_generators[0]->named_parameters()["project.weight"].size(1), 7);  // D = 4 + 3
  EXPECT_EQ(comp->forward(sample_musegan_noise(composer, 2)).size(2), 4);
}

TEST(MuseGan, BadInputsAreClearErrors) {
  torch::manual_seed(4);
  MuseGanConfig config = small_musegan_config();
  MuseGan model(config);
  auto noise = sample_musegan_noise(config, 2);
  MuseGanNoise wrong_track = noise;
  wrong_track.track = torch::zeros({2, 2, config.track_latent});  // 2 tracks instead of 3
  expect_error([&] { model->generator->forward(wrong_track); }, "noise.track");
  MuseGanNoise wrong_batch = noise;
  wrong_batch.shared_temporal = torch::zeros({3, config.shared_temporal_latent});
  expect_error([&] { model->generator->forward(wrong_batch); }, "noise.shared_temporal");
  MuseGanNoise missing = noise;
  missing.shared = torch::Tensor();
  expect_error([&] { model->generator->forward(missing); }, "noise.shared");
  model->train();
  expect_error([&] { model->generator->forward(sample_musegan_noise(config, 1)); }, "at least 2");

  expect_error([&] { model->critic->forward(torch::zeros({2, 3, 4, 16, 72})); }, "(B, K, N, S, P)");
  expect_error([&] { model->critic->forward(torch::zeros({3, 4, 16, 88})); }, "(B, K, N, S, P)");
  expect_error([&] { model->critic->forward(torch::zeros({2, 3, 4, 16, 88}, torch::kLong)); }, "float");

  expect_error([&] { sample_musegan_noise(config, 0); }, "batch size");
  expect_error([&] { sample_musegan_noise(config, 2, -1.0); }, "truncation");
}

TEST(MuseGan, TruncatedNoiseStaysInsideAndHasTheTruncatedNormalSpread) {
  torch::manual_seed(5);
  auto z = sample_truncated_normal({20000}, 1.0);
  EXPECT_LE(z.abs().max().item<double>(), 1.0);
  // The standard normal truncated to [-1, 1] has variance 1 - 2 phi(1) / (2 Phi(1) - 1) = 0.2911 (std 0.5396);
  // clamping instead of truncating would give about 0.80.
  EXPECT_NEAR(z.std().item<double>(), 0.5396, 0.02);
  EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.02);
  EXPECT_NEAR(sample_truncated_normal({20000}, 0.0).std().item<double>(), 1.0, 0.03);  // 0 = untruncated
  EXPECT_LE(sample_truncated_normal({1000}, 0.01).abs().max().item<double>(), 0.01);   // tiny truncations work
  EXPECT_TRUE(sample_truncated_normal({1000}, 9.0).isfinite().all().item<bool>());     // erfinv near 1 stays finite
  torch::manual_seed(6);
  auto first = sample_musegan_noise(small_musegan_config(), 2, 0.5);
  torch::manual_seed(6);
  auto again = sample_musegan_noise(small_musegan_config(), 2, 0.5);
  EXPECT_TRUE(torch::equal(first.track_temporal, again.track_temporal));
  EXPECT_EQ(first.track.sizes(), torch::IntArrayRef({2, 3, 4}));
}

// ---- MuseGAN: losses by hand ----------------------------------------------------------------------------------

TEST(MuseGanLosses, WassersteinLossesByHand) {
  auto real = torch::tensor({1.0, 2.0, 3.0});
  auto fake = torch::tensor({-1.0, 0.5});
  EXPECT_NEAR(wgan_critic_loss(real, fake).item<double>(), -0.25 - 2.0, 1e-6);
  EXPECT_NEAR(wgan_generator_loss(fake).item<double>(), 0.25, 1e-6);
  expect_error([&] { wgan_critic_loss(torch::zeros({2, 1}), fake); }, "(B)");
  expect_error([&] { wgan_generator_loss(torch::zeros({0})); }, "(B)");
}

TEST(MuseGanLosses, GradientPenaltyOfLinearAndQuadraticCritics) {
  torch::manual_seed(7);
  auto real = torch::rand({4, 2, 3});
  auto fake = torch::rand({4, 2, 3});
  auto alpha = torch::tensor({0.0, 0.25, 0.5, 1.0});

  // A linear critic f(x) = <w, x> has gradient w everywhere: penalty = weight (|w| - 1)^2, and its gradient with
  // respect to w is 2 weight (|w| - 1) w / |w| (which needs the double backward through create_graph).
  auto w = torch::randn({2, 3}).requires_grad_(true);
  auto linear = [&](const torch::Tensor& x) { return (x * w).sum({1, 2}); };
  auto penalty = gradient_penalty(linear, real, fake, alpha, 10.0);
  const double norm = w.norm().item<double>();
  EXPECT_NEAR(penalty.item<double>(), 10.0 * (norm - 1) * (norm - 1), 1e-4);
  penalty.backward();
  EXPECT_LT(max_abs_diff(w.grad(), 2 * 10.0 * (norm - 1) * w.detach() / norm), 1e-4);

  // A unit-norm linear critic is 1-Lipschitz with gradient norm exactly 1: no penalty.
  auto unit = (w.detach() / norm);
  auto unit_critic = [&](const torch::Tensor& x) { return (x * unit).sum({1, 2}); };
  EXPECT_NEAR(gradient_penalty(unit_critic, real, fake, alpha, 10.0).item<double>(), 0.0, 1e-8);

  // f(x) = |x|^2 / 2 has gradient x: the norms are those of the interpolated points, so alpha must be applied per
  // example as alpha * real + (1 - alpha) * fake.
  auto quadratic = [](const torch::Tensor& x) { return x.pow(2).sum({1, 2}) / 2; };
  double expected = 0;
  for (int b = 0; b < 4; ++b) {
    const double a = alpha[b].item<double>();
    const double n = (a * real[b] + (1 - a) * fake[b]).norm().item<double>();
    expected += (n - 1) * (n - 1) / 4;
  }
  EXPECT_NEAR(gradient_penalty(quadratic, real, fake, alpha, 2.0).item<double>(), 2.0 * expected, 1e-5);

  // Inside a no-grad scope the penalty is still computed, and real / fake never receive gradients.
  {
    torch::NoGradGuard no_grad;
    EXPECT_NEAR(gradient_penalty(quadratic, real, fake, alpha, 2.0).item<double>(), 2.0 * expected, 1e-5);
  }
  auto fake_leaf = fake.clone().requires_grad_(true);
  gradient_penalty(quadratic, real, fake_leaf, alpha, 2.0).backward();
  EXPECT_FALSE(fake_leaf.grad().defined());

  expect_error([&] { gradient_penalty(quadratic, real, fake, torch::tensor({0.5, 0.5}), 10.0); }, "alpha");
  expect_error([&] { gradient_penalty(quadratic, real, fake, torch::tensor({0.5, 0.5, 0.5, 1.5}), 10.0); }, "[0, 1]");
  expect_error([&] { gradient_penalty(quadratic, real, fake.narrow(2, 0, 2), alpha, 10.0); }, "one shape");
  expect_error([&] { gradient_penalty(quadratic, real, fake, alpha, -1.0); }, "weight");
  auto scalar_critic = [](const torch::Tensor& x) { return x.sum(); };
  expect_error([&] { gradient_penalty(scalar_critic, real, fake, alpha, 10.0); }, "critic must return");
}

// ---- MuseGAN: config --------------------------------------------------------------------------------------------

TEST(MuseGanConfigJson, RoundTripsEveryField) {
  MuseGanConfig config = small_musegan_config();
  config.pitch_stride = 11;
  auto json = config.to_json();
  EXPECT_EQ(json["family"], "musegan");
  auto back = MuseGanConfig::from_json(nlohmann::json::parse(json.dump()));
  EXPECT_EQ(back.to_json(), json);
  EXPECT_EQ(back.critic_channels, (std::vector<int64_t>{4, 6, 8}));
  auto defaults = MuseGanConfig::from_json(nlohmann::json::object());
  EXPECT_EQ(defaults.to_json(), MuseGanConfig().to_json());
  EXPECT_EQ(defaults.num_bars, 4);
}

TEST(MuseGanConfigJson, RejectsBadValuesNamingTheKey) {
  auto with = [](const std::string& key, nlohmann::json value) {
    nlohmann::json json = MuseGanConfig().to_json();
    json[key] = std::move(value);
    return json;
  };
  auto rejects = [](const nlohmann::json& json, const std::string& needle) {
    expect_error([&] { MuseGanConfig::from_json(json); }, needle);
  };
  rejects(nlohmann::json::array(), "JSON object");
  rejects(with("family", "lstm"), "family");
  rejects(with("num_trakcs", 2), "num_trakcs");
  rejects(with("num_tracks", 0), "num_tracks");
  rejects(with("num_bars", "4"), "num_bars");
  rejects(with("steps_per_bar", 2.5), "steps_per_bar");
  rejects(with("steps_per_bar", 10), "divisible by 4");  // two doubling layers need a multiple of 4
  rejects(with("num_pitches", -1), "num_pitches");
  rejects(with("pitch_stride", 100), "pitch_stride");
  rejects(with("track_latent", -2), "track_latent");
  rejects(with("temporal_hidden", 0), "temporal_hidden");
  rejects(with("generator_channels", nlohmann::json::array()), "generator_channels");
  rejects(with("generator_channels", {8, 0}), "generator_channels");
  rejects(with("critic_channels", 8), "critic_channels");
  rejects(with("critic_channels", {8, "x"}), "critic_channels");
  rejects(with("critic_channels", {8, 8, 8, 8, 8, 8}), "divisible by 32");
  nlohmann::json no_latents = MuseGanConfig().to_json();
  for (const char* key : {"shared_latent", "shared_temporal_latent", "track_latent", "track_temporal_latent"})
    no_latents[key] = 0;
  rejects(no_latents, "all 0");

  MuseGanConfig bad = small_musegan_config();
  bad.steps_per_bar = 6;  // not divisible by 4
  expect_error([&] { MuseGan model(bad); }, "steps_per_bar");
  expect_error([&] { MuseGanCritic critic(bad); }, "steps_per_bar");
}

// ---- C-RNN-GAN: the PyTorch reference -------------------------------------------------------------------------

TEST(CrnnGanMatchesPyTorch, OutputsLogitsLossesAndGradients) {
  GanFixture fixture("crnngan");
  CrnnGan model(CrnnGanConfig::from_json(fixture.config()));
  load_module_tensors(*model, fixture.file(), fixture.path(), "model.");
  auto fake = model->generator->forward(fixture.get("noise"));
  EXPECT_LT(max_abs_diff(fake, fixture.get("fake")), 1e-5);

  auto real_logits = model->discriminator->forward(fixture.get("real"));
  auto fake_logits = model->discriminator->forward(fake.detach());
  EXPECT_LT(max_abs_diff(real_logits, fixture.get("real_logits")), 1e-5);
  EXPECT_LT(max_abs_diff(fake_logits, fixture.get("fake_logits")), 1e-5);
  auto d_loss = crnngan_discriminator_loss(real_logits, fake_logits);
  EXPECT_NEAR(d_loss.item<double>(), fixture.get("discriminator_loss").item<double>(), 1e-5);
  expect_gradients(d_loss, *model->discriminator, fixture, "grad_discriminator.discriminator.");

  auto g_loss = crnngan_generator_loss(model->discriminator->forward(fake));
  EXPECT_NEAR(g_loss.item<double>(), fixture.get("generator_loss").item<double>(), 1e-5);
  expect_gradients(g_loss, *model->generator, fixture, "grad_generator.generator.");

  // Feature matching, as the learner adds it: the real features without gradient, the generated ones with.
  torch::Tensor real_hidden;
  {
    torch::NoGradGuard no_grad;
    real_hidden = model->discriminator->hidden_features(fixture.get("real"));
  }
  auto fake_hidden = model->discriminator->hidden_features(fake);
  EXPECT_LT(max_abs_diff(model->discriminator->logits(fake_hidden), model->discriminator->forward(fake)), 1e-6);
  auto fm = crnngan_feature_matching_loss(real_hidden, fake_hidden);
  EXPECT_NEAR(fm.item<double>(), fixture.get("feature_matching_loss").item<double>(), 1e-6);
  const double fm_weight = std::stod(fixture.file().metadata.at("fm_weight"));
  expect_gradients(crnngan_generator_loss(model->discriminator->logits(fake_hidden)) + fm_weight * fm,
                   *model->generator, fixture, "grad_generator_fm.generator.");
}

// ---- C-RNN-GAN: structure -------------------------------------------------------------------------------------

CrnnGanConfig small_crnngan_config() {
  CrnnGanConfig config;
  config.noise_size = 4;
  config.generator_hidden = 6;
  config.discriminator_hidden = 5;
  return config;
}

TEST(CrnnGan, GeneratorIsCausalAndItsFeaturesAreValid) {
  torch::manual_seed(8);
  CrnnGanConfig config = small_crnngan_config();
  CrnnGenerator generator(config);
  torch::NoGradGuard no_grad;
  auto noise = sample_crnngan_noise(config, 3, 8);
  EXPECT_EQ(noise.sizes(), torch::IntArrayRef({3, 8, 4}));
  auto features = generator->forward(noise);
  ASSERT_EQ(features.sizes(), torch::IntArrayRef({3, 8, 3}));
  EXPECT_LE(features.select(2, 0).abs().max().item<double>(), 1.0);
  EXPECT_GE(features.narrow(2, 1, 2).min().item<double>(), 0.0);

  auto changed = noise.clone();
  changed.select(1, 5).add_(1.0);
  auto after = generator->forward(changed);
  EXPECT_EQ(max_abs_diff(after.narrow(1, 0, 5), features.narrow(1, 0, 5)), 0.0) << "steps before 5 saw no change";
  EXPECT_GT(max_abs_diff(after.select(1, 5), features.select(1, 5)), 1e-6);
  EXPECT_GT(max_abs_diff(after.select(1, 7), features.select(1, 7)), 1e-6) << "later steps feel it through the state";
}

TEST(CrnnGan, DiscriminatorSeesBothDirections) {
  torch::manual_seed(9);
  CrnnDiscriminator discriminator(small_crnngan_config());
  torch::NoGradGuard no_grad;
  auto features = torch::rand({2, 6, 3});
  auto logits = discriminator->forward(features);
  ASSERT_EQ(logits.sizes(), torch::IntArrayRef({2, 6}));
  auto changed = features.clone();
  changed[0][5][0].fill_(-1.0);  // the last event of the first melody
  auto after = discriminator->forward(changed);
  EXPECT_GT(std::abs((after[0][0] - logits[0][0]).item<double>()), 1e-7) << "the first step's logit sees the future";
  EXPECT_LT(max_abs_diff(after[1], logits[1]), 1e-7) << "melodies of a batch are independent";
  auto names = discriminator->named_parameters().keys();
  EXPECT_NE(std::find(names.begin(), names.end(), "rnn.weight_hh_l1_reverse"), names.end());
}

TEST(CrnnGan, EventsRoundTripThroughFeatures) {
  CrnnGanConfig config;  // pitches 36..96
  std::vector<MelodyEvent> melody = {{36, 1.0, 0.0}, {60, 0.5, 1.0}, {64, 0.5, 0.0}, {96, 2.0, 1.5}};
  auto features = events_to_features(melody, config);
  ASSERT_EQ(features.sizes(), torch::IntArrayRef({4, 3}));
  EXPECT_FLOAT_EQ(features[0][0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(features[3][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(features[1][0].item<float>(), 2.0f * 24 / 60 - 1);
  EXPECT_EQ(features_to_events(features, config), melody);

  // Decoding rounds pitches and clamps what a raw tensor could hold.
  auto raw = torch::tensor({{2.0, -1.0, 0.25}, {2.0 * 24.4 / 60 - 1, 1.0, -3.0}});
  auto events = features_to_events(raw, config);
  EXPECT_EQ(events[0], (MelodyEvent{96, 0.0, 0.25}));
  EXPECT_EQ(events[1].pitch, 60);
  EXPECT_EQ(events[1].time_shift, 0.0);

  expect_error([&] { events_to_features({{30, 1.0, 0.0}}, config); }, "event 0: pitch 30");
  expect_error([&] { events_to_features({{60, 1.0, 0.0}, {60, -1.0, 0.0}}, config); }, "event 1: duration");
  expect_error([&] { events_to_features({{60, 1.0, NAN}}, config); }, "time_shift");
  expect_error([&] { events_to_features({}, config); }, "at least one event");
  expect_error([&] { features_to_events(torch::zeros({4, 2}), config); }, "(T, 3)");
}

TEST(CrnnGan, LossesByHandAndBadInputs) {
  auto zeros = torch::zeros({2, 3});
  EXPECT_NEAR(crnngan_discriminator_loss(zeros, zeros).item<double>(), 2 * std::log(2.0), 1e-6);
  EXPECT_NEAR(crnngan_generator_loss(zeros).item<double>(), std::log(2.0), 1e-6);
  // BCE(x, 1) = log(1 + e^-x), BCE(x, 0) = log(1 + e^x).
  auto real = torch::tensor({2.0, -1.0});
  auto fake = torch::tensor({0.5});
  const double expected = (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(1.0))) / 2 + std::log1p(std::exp(0.5));
  EXPECT_NEAR(crnngan_discriminator_loss(real, fake).item<double>(), expected, 1e-6);
  EXPECT_NEAR(crnngan_generator_loss(fake).item<double>(), std::log1p(std::exp(-0.5)), 1e-6);
  expect_error([&] { crnngan_generator_loss(torch::zeros({0})); }, "non-empty");
  // Feature matching by hand: means over rows and steps (1, 2 | 3, 4 -> 2, 3; 0, 0 -> 0, 0): (4 + 9) / 2.
  const auto real_hidden = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({2, 1, 2});
  EXPECT_NEAR(crnngan_feature_matching_loss(real_hidden, torch::zeros({1, 3, 2})).item<double>(), 6.5, 1e-6);
  EXPECT_NEAR(crnngan_feature_matching_loss(real_hidden, real_hidden.flip(0)).item<double>(), 0.0, 1e-9);
  expect_error(
      [&] {
        crnngan_feature_matching_loss(real_hidden, torch::zeros({1, 3, 5}));
      },
      "[2, 1, 2] float and [1, 3, 5] float");

  CrnnGan model(small_crnngan_config());
  expect_error([&] { model->generator->forward(torch::zeros({2, 5, 3})); }, "noise must be float (B, T, 4)");
  expect_error([&] { model->generator->forward(torch::zeros({2, 0, 4})); }, "noise");
  expect_error([&] { model->discriminator->forward(torch::zeros({2, 5})); }, "(B, T, 3)");
  expect_error([&] { sample_crnngan_noise(small_crnngan_config(), 1, 0); }, "number of events");
}

TEST(CrnnGanConfigJson, RoundTripsAndRejectsBadValues) {
  CrnnGanConfig config = small_crnngan_config();
  config.min_pitch = 40;
  auto json = config.to_json();
  EXPECT_EQ(json["family"], "crnngan");
  EXPECT_EQ(CrnnGanConfig::from_json(nlohmann::json::parse(json.dump())).to_json(), json);
  auto with = [&](const std::string& key, nlohmann::json value) {
    nlohmann::json changed = json;
    changed[key] = std::move(value);
    return changed;
  };
  auto rejects = [](const nlohmann::json& bad, const std::string& needle) {
    expect_error([&] { CrnnGanConfig::from_json(bad); }, needle);
  };
  rejects(with("family", "musegan"), "family");
  rejects(with("noise_size", 0), "noise_size");
  rejects(with("generator_layers", true), "generator_layers");
  rejects(with("discriminator_hidden", -4), "discriminator_hidden");
  rejects(with("min_pitch", 96), "min_pitch");
  rejects(with("max_pitch", 128), "max_pitch");
  rejects(with("hidden", 4), "unknown key \"hidden\"");
  rejects(with("feature_matching", -1), "feature_matching");
  // A checkpoint's config from before feature matching: the adversarial loss alone.
  nlohmann::json old = json;
  old.erase("feature_matching");
  EXPECT_EQ(CrnnGanConfig::from_json(old).feature_matching, 0.0);
  CrnnGanConfig bad = small_crnngan_config();
  bad.generator_layers = 0;
  expect_error([&] { CrnnGan model(bad); }, "generator_layers");
}

}  // namespace
}  // namespace cadenza::models
