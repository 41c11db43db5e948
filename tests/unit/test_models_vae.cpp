// The MusicVAE model (src/models/vae.h): encoder, both decoders, the loss terms and every gradient against the
// PyTorch reference of tests/fixtures/make_vae_fixtures.py; the step-by-step decoder against teacher forcing;
// sampling; slerp/lerp; config and input errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "common/error.h"
#include "common/safetensors.h"
#include "models/tensor_io.h"
#include "models/vae.h"
#include "support/test_support.h"

namespace cadenza::models {
namespace {

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

VaeConfig small_config(VaeDecoderKind decoder) {
  VaeConfig config;
  config.vocab_size = 9;
  config.embedding_size = 4;
  config.encoder_hidden = 6;
  config.encoder_layers = 2;
  config.latent_size = 5;
  config.decoder = decoder;
  config.decoder_hidden = 7;
  config.decoder_layers = 2;
  config.conductor_hidden = 6;
  config.conductor_layers = 2;
  config.num_segments = 4;
  config.sequence_length = 12;
  return config;
}

VaeConfig frames_config(VaeDecoderKind decoder) {
  VaeConfig config = small_config(decoder);
  config.input_kind = InputKind::kFrames;  // 9 keys per frame
  return config;
}

// (B, T, V) random 0/1 frames with about `density` of the keys on.
torch::Tensor random_frames(int64_t B, int64_t T, int64_t V, double density = 0.3) {
  return (torch::rand({B, T, V}) < density).to(torch::kFloat);
}

// decode_step() over every position with the true previous tokens (or frames): (B, T, V).
torch::Tensor logits_by_steps(MusicVaeImpl& model, const torch::Tensor& z, const torch::Tensor& tokens) {
  auto state = model.initial_decode_state(z, tokens.size(1));
  std::vector<torch::Tensor> logits;
  for (int64_t t = 0; t < tokens.size(1); ++t)
    logits.push_back(model.decode_step(t == 0 ? torch::Tensor() : tokens.select(1, t - 1), state));
  return torch::stack(logits, 1);
}

// ---- the PyTorch reference fixtures ---------------------------------------------------------------------------

class VaeMatchesPyTorch : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    path_ = std::string(CADENZA_SOURCE_DIR) + "/tests/fixtures/models/" + GetParam() + ".safetensors";
    file_ = safetensors::read(path_);
    config_ = VaeConfig::from_json(nlohmann::json::parse(file_.metadata.at("config")));
  }
  torch::Tensor get(const std::string& name) const {
    auto found = file_.tensors.find(name);
    if (found == file_.tensors.end()) throw Error(path_ + ": fixture has no tensor " + name);
    return to_torch(found->second);
  }
  double metadata_number(const std::string& key) const { return std::stod(file_.metadata.at(key)); }

  std::string path_;
  safetensors::TensorFile file_;
  VaeConfig config_;
};

TEST_P(VaeMatchesPyTorch, LatentsLogitsLossTermsAndGradients) {
  auto model = std::make_shared<MusicVaeImpl>(config_);
  load_module_tensors(*model, file_, path_, "model.");
  model->train();  // dropout is 0 in the fixtures
  auto tokens = get("input");

  auto out = model->forward(tokens, get("epsilon"));
  EXPECT_LT(max_abs_diff(out.mu, get("mu")), 1e-5);
  EXPECT_LT(max_abs_diff(out.logvar, get("logvar")), 1e-5);
  EXPECT_LT(max_abs_diff(out.z, get("z")), 1e-5);
  EXPECT_LT(max_abs_diff(out.logits, get("logits")), 1e-5);

  const double beta = metadata_number("beta"), free_bits = metadata_number("free_bits");
  EXPECT_EQ(free_bits, config_.free_bits);
  auto loss = elbo_loss(out.logits, tokens, out.mu, out.logvar, beta, free_bits);
  for (const auto& [name, value] :
       {std::pair{"loss", loss.loss}, std::pair{"reconstruction", loss.reconstruction}, std::pair{"kl", loss.kl},
        std::pair{"kl_bits", loss.kl_bits}, std::pair{"kl_cost", loss.kl_cost}})
    EXPECT_NEAR(value.item<double>(), get(name).item<double>(), 1e-5) << name;
  // The fixture puts free bits between the sequences' KLs: the hinge is active, yet not for every sequence.
  // mean(max(kl - f, 0)) exceeds mean(kl) - f exactly when some sequence is below f, and is below mean(kl) when f > 0.
  EXPECT_GT(free_bits, 0.0);
  EXPECT_GT(loss.kl_cost.item<double>(), 1e-3);
  EXPECT_GT(loss.kl_cost.item<double>(), loss.kl.item<double>() - free_bits * std::log(2.0) + 1e-3);
  EXPECT_LT(loss.kl_cost.item<double>(), loss.kl.item<double>() - 1e-3);

  loss.loss.backward();
  for (const auto& item : model->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    auto expected = get("grad." + item.key());
    EXPECT_LT(max_abs_diff(item.value().grad(), expected), 1e-5) << item.key();
  }
  // Gradients reach the encoder through the latent (not only through the KL term).
  EXPECT_GT(model->encoder->named_parameters()["weight_ih_l0"].grad().abs().max().item<double>(), 1e-4);

  // The step path reproduces the reference logits too.
  EXPECT_LT(max_abs_diff(logits_by_steps(*model, get("z"), tokens), get("logits")), 1e-5);
}

TEST_P(VaeMatchesPyTorch, EveryTensorOfTheModelIsInTheFixture) {
  // load_module_tensors is all-or-nothing; here the names are listed so that a renamed attribute is obvious.
  auto model = std::make_shared<MusicVaeImpl>(config_);
  for (const auto& item : model->named_parameters()) {
    ASSERT_NO_THROW(get("model." + item.key())) << item.key();
    EXPECT_EQ(get("model." + item.key()).sizes(), item.value().sizes()) << item.key();
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VaeMatchesPyTorch,
                         ::testing::Values("vae_flat", "vae_hierarchical", "vae_frames_flat",
                                           "vae_frames_hierarchical"));

// ---- step-by-step decoding against teacher forcing ------------------------------------------------------------

class VaeStepMatchesTeacherForcing : public ::testing::TestWithParam<VaeDecoderKind> {};

TEST_P(VaeStepMatchesTeacherForcing, AtBatchOneAndThree) {
  torch::manual_seed(21);
  VaeConfig config = small_config(GetParam());
  config.dropout = 0.3;  // eval(): no dropout in either path
  auto model = std::make_shared<MusicVaeImpl>(config);
  model->eval();
  for (int64_t B : {1, 3}) {
    auto tokens = torch::randint(config.vocab_size, {B, 12}, torch::kLong);
    auto z = torch::randn({B, config.latent_size});
    torch::Tensor whole;
    {
      torch::NoGradGuard no_grad;
      whole = model->decode_teacher_forced(z, tokens);  // (B, T, V)
    }
    EXPECT_EQ(whole.sizes(), torch::IntArrayRef({B, 12, config.vocab_size}));
    EXPECT_LT(max_abs_diff(whole, logits_by_steps(*model, z, tokens)), 1e-5) << "B=" << B;
    EXPECT_GT(whole.abs().max().item<double>(), 1e-3);
  }
}

INSTANTIATE_TEST_SUITE_P(BothDecoders, VaeStepMatchesTeacherForcing,
                         ::testing::Values(VaeDecoderKind::kFlat, VaeDecoderKind::kHierarchical),
                         [](const ::testing::TestParamInfo<VaeDecoderKind>& info) {
                           return vae_decoder_name(info.param);
                         });

TEST(ModelsVae, LogitsDependOnTheLatentAndOnlyOnEarlierTokens) {
  for (auto kind : {VaeDecoderKind::kFlat, VaeDecoderKind::kHierarchical}) {
    torch::manual_seed(22);
    VaeConfig config = small_config(kind);
    auto model = std::make_shared<MusicVaeImpl>(config);
    torch::NoGradGuard no_grad;
    auto tokens = torch::randint(config.vocab_size, {2, 12}, torch::kLong);
    auto z = torch::randn({2, config.latent_size});
    auto logits = model->decode_teacher_forced(z, tokens);
    // Changing token 7 changes the logits from position 8 on, never before (teacher forcing is causal).
    auto changed = tokens.clone();
    changed[0][7] = (changed[0][7].item<int64_t>() + 1) % config.vocab_size;
    auto other = model->decode_teacher_forced(z, changed);
    EXPECT_LT(max_abs_diff(logits.narrow(1, 0, 8), other.narrow(1, 0, 8)), 1e-7) << vae_decoder_name(kind);
    EXPECT_GT(max_abs_diff(logits[0][8], other[0][8]), 1e-6) << vae_decoder_name(kind);
    // Another latent changes the very first logits (the decoder is conditioned on z).
    EXPECT_GT(max_abs_diff(logits.select(1, 0), model->decode_teacher_forced(z + 1.0, tokens).select(1, 0)), 1e-4);
  }
}

// ---- sampling ----------------------------------------------------------------------------------------------

TEST(ModelsVae, GreedySamplingFollowsTheArgmaxOfItsOwnTeacherForcedLogits) {
  for (auto kind : {VaeDecoderKind::kFlat, VaeDecoderKind::kHierarchical}) {
    torch::manual_seed(23);
    auto model = std::make_shared<MusicVaeImpl>(small_config(kind));
    auto z = torch::randn({3, 5});
    auto tokens = model->decode_greedy(z, 12);
    ASSERT_EQ(tokens.sizes(), torch::IntArrayRef({3, 12}));
    EXPECT_EQ(tokens.scalar_type(), torch::kLong);
    torch::NoGradGuard no_grad;
    auto logits = model->decode_teacher_forced(z, tokens);
    EXPECT_TRUE(torch::equal(logits.argmax(-1), tokens)) << vae_decoder_name(kind);
    EXPECT_EQ(step_accuracy(logits, tokens).item<double>(), 1.0);
  }
}

TEST(ModelsVae, DecodeFeedsEachChoiceBackAndChecksIt) {
  torch::manual_seed(24);
  auto model = std::make_shared<MusicVaeImpl>(small_config(VaeDecoderKind::kFlat));
  auto z = torch::randn({4, 5});
  // A chooser that picks token (step mod 9) for every row: the output is exactly those choices, and the logits it
  // sees are those teacher forcing gives for the same inputs.
  std::vector<torch::Tensor> seen;
  auto tokens = model->decode(z, 16, [&](const torch::Tensor& logits, int64_t step) {
    seen.push_back(logits.clone());
    return torch::full({4}, step % 9, torch::kLong);
  });
  ASSERT_EQ(tokens.sizes(), torch::IntArrayRef({4, 16}));
  for (int64_t t = 0; t < 16; ++t) EXPECT_EQ(tokens[0][t].item<int64_t>(), t % 9);
  torch::NoGradGuard no_grad;
  auto forced = model->decode_teacher_forced(z, tokens).to(torch::kFloat64);  // (4, 16, 9)
  for (int64_t t = 0; t < 16; ++t) EXPECT_LT(max_abs_diff(forced.select(1, t), seen[t]), 1e-5) << "step " << t;
  // A chooser returning the wrong kind of step, or a length of 0, are errors that say what is wrong.
  EXPECT_THROW_WITH(model->decode(z, 16,
                                  [](const torch::Tensor&, int64_t) {
                                    return torch::zeros({4, 9});
                                  }),
                    Error, {"step chooser returned [4, 9] float", "tokens model"});
  EXPECT_THROW_WITH(model->decode_greedy(z, 0), Error, {"decode", "length must be positive", "got 0"});
}

// ---- the loss ---------------------------------------------------------------------------------------------------

TEST(ModelsVaeLoss, TermsByHandAndTheFreeBitsHinge) {
  torch::manual_seed(25);
  auto logits = torch::randn({2, 3, 4});
  auto tokens = torch::tensor({{0, 3, 1}, {2, 2, 0}}, torch::kLong);
  auto mu = torch::tensor({{0.5, -1.0}, {0.0, 0.1}});
  auto logvar = torch::tensor({{0.2, -0.3}, {0.0, 0.0}});
  auto log_probs = torch::log_softmax(logits, -1);
  double reconstruction = 0;
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 3; ++t) reconstruction -= log_probs[b][t][tokens[b][t].item<int64_t>()].item<double>();
  reconstruction /= 2;  // summed over T, averaged over B
  // KL of N(mu, exp(logvar)) from N(0, 1), per sequence.
  double kl0 = 0.5 * (std::exp(0.2) + 0.25 - 1 - 0.2 + std::exp(-0.3) + 1.0 - 1 + 0.3);
  double kl1 = 0.5 * 0.01;
  auto at = [&](double beta, double free_bits) { return elbo_loss(logits, tokens, mu, logvar, beta, free_bits); };

  auto plain = at(0.5, 0.0);
  EXPECT_NEAR(plain.reconstruction.item<double>(), reconstruction, 1e-5);
  EXPECT_NEAR(plain.kl.item<double>(), (kl0 + kl1) / 2, 1e-6);
  EXPECT_NEAR(plain.kl_bits.item<double>(), (kl0 + kl1) / 2 / std::log(2.0), 1e-6);
  EXPECT_NEAR(plain.kl_cost.item<double>(), (kl0 + kl1) / 2, 1e-6);
  EXPECT_NEAR(plain.loss.item<double>(), reconstruction + 0.5 * (kl0 + kl1) / 2, 1e-5);
  // Free bits between the two KLs: only sequence 0 pays, and only above the allowance.
  const double free_bits = 0.1;  // 0.069 nats: above kl1 = 0.005, below kl0
  ASSERT_GT(kl0, free_bits * std::log(2.0));
  auto hinged = at(0.5, free_bits);
  EXPECT_NEAR(hinged.kl_cost.item<double>(), (kl0 - free_bits * std::log(2.0)) / 2, 1e-6);
  EXPECT_NEAR(hinged.kl.item<double>(), plain.kl.item<double>(), 1e-7);  // reported KL is before free bits
  // Enough free bits switch the KL term off altogether (and its gradient with it).
  auto mu_leaf = mu.clone().requires_grad_(true);
  auto off = elbo_loss(logits, tokens, mu_leaf, logvar, 1.0, 100.0);
  EXPECT_EQ(off.kl_cost.item<double>(), 0.0);
  EXPECT_NEAR(off.loss.item<double>(), reconstruction, 1e-5);
  off.loss.backward();
  EXPECT_EQ(mu_leaf.grad().abs().max().item<double>(), 0.0);

  EXPECT_THROW_WITH(at(-1.0, 0.0), Error, {"beta must be finite and >= 0", "got -1"});
  EXPECT_THROW_WITH(at(1.0, -0.5), Error, {"free_bits must be finite and >= 0", "got -0.5"});
  EXPECT_THROW_WITH(elbo_loss(logits, tokens.narrow(1, 0, 2), mu, logvar, 1.0, 0.0), Error,
                    {"targets and logits differ in shape", "targets [2, 2]"});
  EXPECT_THROW_WITH(elbo_loss(logits, tokens, mu, logvar.narrow(1, 0, 1), 1.0, 0.0), Error,
                    {"mu and logvar must both be (B, Z)", "logvar [2, 1]"});
  EXPECT_THROW_WITH(elbo_loss(logits, tokens + 4, mu, logvar, 1.0, 0.0), Error,
                    {"token ids must be in [0, 4)", "found 4..7"});
}

TEST(ModelsVaeLoss, TokenAccuracyCountsArgmaxHits) {
  auto logits = torch::zeros({1, 4, 3});
  logits[0][0][1] = 1;
  logits[0][1][2] = 1;
  logits[0][2][0] = 1;
  logits[0][3][0] = 1;
  auto tokens = torch::tensor({{1, 2, 1, 1}}, torch::kLong);
  EXPECT_DOUBLE_EQ(step_accuracy(logits, tokens).item<double>(), 0.5);
  EXPECT_THROW_WITH(step_accuracy(logits, tokens.narrow(1, 0, 3)), Error,
                    {"step_accuracy", "[1, 4, 3] float", "[1, 3] long"});
}

TEST(ModelsVaeLoss, BetaScheduleRisesToMaxBeta) {
  VaeConfig config;
  config.max_beta = 0.2;
  config.beta_rate = 0.99;
  EXPECT_EQ(kl_beta(config, 0), 0.0);
  EXPECT_NEAR(kl_beta(config, 1), 0.2 * 0.01, 1e-12);
  EXPECT_NEAR(kl_beta(config, 100), 0.2 * (1 - std::pow(0.99, 100)), 1e-12);
  EXPECT_LT(kl_beta(config, 100), kl_beta(config, 200));
  EXPECT_NEAR(kl_beta(config, 100000), 0.2, 1e-9);
  EXPECT_THROW_WITH(kl_beta(config, -1), Error, {"kl_beta", "step must be >= 0", "got -1"});
}

TEST(ModelsVae, AFewAdamStepsLearnToReconstructATinyBatch) {
  torch::manual_seed(26);
  VaeConfig config = small_config(VaeDecoderKind::kHierarchical);
  auto model = std::make_shared<MusicVaeImpl>(config);
  auto tokens = torch::randint(config.vocab_size, {2, 12}, torch::kLong);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(3e-2));
  double first = 0, last = 0;
  for (int step = 0; step < 80; ++step) {
    optimizer.zero_grad();
    auto out = model->forward(tokens);
    auto loss = elbo_loss(out.logits, tokens, out.mu, out.logvar, 0.01, 0.0);
    loss.loss.backward();
    optimizer.step();
    (step == 0 ? first : last) = loss.reconstruction.item<double>();
  }
  EXPECT_LT(last, 0.3 * first);
  torch::NoGradGuard no_grad;
  auto [mu, logvar] = model->encode(tokens);
  EXPECT_GT(step_accuracy(model->decode_teacher_forced(mu, tokens), tokens).item<double>(), 0.9);
}

// ---- interpolation ---------------------------------------------------------------------------------------------

TEST(ModelsVaeInterpolation, SlerpEndpointsUnitNormAndEvenAngles) {
  torch::manual_seed(27);
  auto a = torch::randn({16});
  auto b = torch::randn({16});
  EXPECT_LT(max_abs_diff(slerp(a, b, 0.0), a), 1e-6);
  EXPECT_LT(max_abs_diff(slerp(a, b, 1.0), b), 1e-6);
  EXPECT_LT(max_abs_diff(lerp(a, b, 0.25), a * 0.75 + b * 0.25), 1e-6);

  auto ua = a / a.norm(), ub = b / b.norm();
  const double omega = std::acos((ua * ub).sum().item<double>());
  for (double t : {0.1, 0.25, 0.5, 0.9}) {
    auto p = slerp(ua, ub, t);
    EXPECT_NEAR(p.norm().item<double>(), 1.0, 1e-6) << t;  // stays on the unit sphere; lerp does not
    EXPECT_LT(lerp(ua, ub, t).norm().item<double>(), 1.0 - 1e-3) << t;
    EXPECT_NEAR(std::acos(std::clamp((p * ua).sum().item<double>(), -1.0, 1.0)), t * omega, 1e-5) << t;
  }

  // Rows are interpolated independently.
  auto batch_a = torch::stack({ua, ub}), batch_b = torch::stack({ub, ua});
  auto rows = slerp(batch_a, batch_b, 0.3);
  EXPECT_LT(max_abs_diff(rows[0], slerp(ua, ub, 0.3)), 1e-6);
  EXPECT_LT(max_abs_diff(rows[1], slerp(ub, ua, 0.3)), 1e-6);

  auto path = latent_path(ua, ub, 5, true);
  ASSERT_EQ(path.sizes(), torch::IntArrayRef({5, 16}));
  EXPECT_LT(max_abs_diff(path[0], ua), 1e-6);
  EXPECT_LT(max_abs_diff(path[4], ub), 1e-6);
  EXPECT_LT(max_abs_diff(path[2], slerp(ua, ub, 0.5)), 1e-6);
  EXPECT_LT(max_abs_diff(latent_path(a, b, 3, false)[1], (a + b) / 2), 1e-6);
}

TEST(ModelsVaeInterpolation, SlerpFallsBackToLerpWhenParallel) {
  auto a = torch::tensor({1.0f, 2.0f, -0.5f});
  for (const auto& b : {a * 3.0, a * -2.0, a * (1.0 + 1e-9), torch::zeros({3})}) {
    for (double t : {0.0, 0.3, 1.0}) {
      auto p = slerp(a, b, t);
      EXPECT_TRUE(torch::isfinite(p).all().item<bool>()) << b << " t=" << t;
      EXPECT_LT(max_abs_diff(p, lerp(a, b, t)), 1e-6) << b << " t=" << t;
    }
  }
  EXPECT_THROW_WITH(slerp(a, torch::zeros({4}), 0.5), Error, {"slerp", "same shape", "[3] float and [4] float"});
  EXPECT_THROW_WITH(lerp(torch::zeros({2, 3, 4}), torch::zeros({2, 3, 4}), 0.5), Error,
                    {"lerp", "(Z) or (B, Z)", "[2, 3, 4] float"});
  EXPECT_THROW_WITH(latent_path(a, a, 1, true), Error, {"latent_path", "steps must be at least 2", "got 1"});
}

// ---- config and errors -----------------------------------------------------------------------------------------

TEST(ModelsVaeConfig, JsonRoundTripsEveryField) {
  VaeConfig config = small_config(VaeDecoderKind::kHierarchical);
  config.free_bits = 48.0;
  config.max_beta = 0.2;
  config.beta_rate = 0.999;
  config.dropout = 0.1;
  auto json = config.to_json();
  EXPECT_EQ(json["family"], "vae");
  EXPECT_EQ(json["decoder"], "hierarchical");
  auto back = VaeConfig::from_json(nlohmann::json::parse(json.dump()));
  EXPECT_EQ(back.to_json(), json);
  EXPECT_EQ(back.decoder, VaeDecoderKind::kHierarchical);
  EXPECT_EQ(back.free_bits, 48.0);
  auto minimal = VaeConfig::from_json({{"vocab_size", 5}});
  EXPECT_EQ(minimal.latent_size, 256);
  EXPECT_EQ(minimal.decoder, VaeDecoderKind::kFlat);
}

TEST(ModelsVaeConfig, BadConfigsAreErrorsNamingTheKey) {
  const nlohmann::json good = small_config(VaeDecoderKind::kHierarchical).to_json();
  auto rejects = [&](const std::string& key, nlohmann::json value, const std::string& expect_in_message) {
    nlohmann::json json = good;
    json[key] = std::move(value);
    try {
      VaeConfig::from_json(json);
      ADD_FAILURE() << "accepted " << json.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expect_in_message), std::string::npos) << e.what();
    }
  };
  rejects("latent_sise", 3, "latent_sise");
  rejects("family", "lstm", "family");
  rejects("decoder", "deep", "decoder");
  rejects("latent_size", 0, "latent_size");
  rejects("latent_size", 2.5, "latent_size");
  rejects("encoder_layers", -1, "encoder_layers");
  rejects("vocab_size", 0, "vocab_size");
  rejects("num_segments", 5, "multiple of num_segments");  // 12 steps do not split into 5 bars
  rejects("free_bits", -1.0, "free_bits");
  rejects("free_bits", "many", "free_bits");
  rejects("beta_rate", 1.5, "beta_rate");
  rejects("dropout", 1.0, "dropout");
  EXPECT_THROW_WITH(VaeConfig::from_json(nlohmann::json::array()), Error,
                    {"vae config", "expected a JSON object", "got []"});
  EXPECT_THROW_WITH(VaeConfig::from_json({{"embedding_size", 3}}), Error,
                    {"\"vocab_size\" must be set", "got 0"});  // vocab_size is required

  VaeConfig flat = small_config(VaeDecoderKind::kFlat);
  flat.num_segments = 5;  // unused by the flat decoder: fine
  EXPECT_NO_THROW(MusicVaeImpl{flat});
  VaeConfig bad = small_config(VaeDecoderKind::kHierarchical);
  bad.conductor_hidden = 0;
  EXPECT_THROW_WITH(MusicVaeImpl{bad}, Error, {"\"conductor_hidden\"", "[1, 16384]", "got 0"});
  EXPECT_THROW_WITH(parse_vae_decoder("conductor"), Error,
                    {"\"decoder\"", "\"flat\" or \"hierarchical\"", "got \"conductor\""});
}

TEST(ModelsVae, BadInputsAreClearErrors) {
  torch::manual_seed(28);
  auto model = std::make_shared<MusicVaeImpl>(small_config(VaeDecoderKind::kHierarchical));
  try {
    model->encode(torch::full({1, 4}, 9, torch::kLong));
    ADD_FAILURE() << "token 9 of a vocabulary of 9 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[0, 9)"), std::string::npos) << e.what();
  }
  EXPECT_THROW_WITH(model->encode(torch::zeros({1, 4}, torch::kFloat)), Error,
                    {"encode", "tokens must be int64", "[1, 4] float"});
  EXPECT_THROW_WITH(model->encode(torch::zeros({4}, torch::kLong)), Error,
                    {"expects tokens of shape (B, T)", "[4] long"});
  EXPECT_THROW_WITH(model->encode(torch::zeros({1, 0}, torch::kLong)), Error, {"empty input", "[1, 0]"});
  auto z = torch::randn({2, 5});
  auto tokens = torch::zeros({2, 12}, torch::kLong);
  EXPECT_THROW_WITH(model->decode_teacher_forced(z, torch::zeros({2, 10}, torch::kLong)), Error,
                    {"multiple of num_segments 4", "T = 10"});  // 10 % 4 != 0
  EXPECT_THROW_WITH(model->decode_teacher_forced(torch::randn({2, 4}), tokens), Error,
                    {"latents of shape (B, 5)", "got [2, 4]"});  // Z is 5
  EXPECT_THROW_WITH(model->decode_teacher_forced(torch::randn({3, 5}), tokens), Error,
                    {"3 latents for 2 sequences"});  // B differs
  EXPECT_THROW_WITH(model->forward(tokens, torch::randn({2, 4})), Error,
                    {"epsilon must be shaped like mu [2, 5]", "got [2, 4]"});  // epsilon shape
  EXPECT_THROW_WITH(model->initial_decode_state(z, 10), Error,
                    {"initial_decode_state", "multiple of num_segments 4", "got 10"});

  auto state = model->initial_decode_state(z, 4);
  EXPECT_THROW_WITH(model->decode_step(torch::zeros({2}, torch::kLong), state), Error,
                    {"step 0 has no previous step", "undefined tensor"});  // nothing precedes step 0
  model->decode_step(torch::Tensor(), state);
  EXPECT_THROW_WITH(model->decode_step(torch::Tensor(), state), Error,
                    {"previous must be (2) int64", "got undefined"});  // step 1 needs a token
  EXPECT_THROW_WITH(model->decode_step(torch::zeros({3}, torch::kLong), state), Error,
                    {"previous must be (2) int64", "got [3]"});  // batch of 2
  EXPECT_THROW_WITH(model->decode_step(torch::full({2}, 9, torch::kLong), state), Error,
                    {"token ids must be in [0, 9)", "found 9..9"});
  for (int i = 1; i < 4; ++i) model->decode_step(torch::zeros({2}, torch::kLong), state);
  EXPECT_THROW_WITH(model->decode_step(torch::zeros({2}, torch::kLong), state), Error,
                    {"all 4 steps", "decoded"});  // all 4 steps decoded
  VaeDecodeState blank;
  EXPECT_THROW_WITH(model->decode_step(torch::Tensor(), blank), Error, {"not made by initial_decode_state()"});
}

TEST(ModelsVae, ParameterNamesAreThePyTorchAttributeNames) {
  auto flat = std::make_shared<MusicVaeImpl>(small_config(VaeDecoderKind::kFlat));
  auto names = flat->named_parameters().keys();
  EXPECT_EQ(names.front(), "embedding.weight");
  EXPECT_EQ(names.back(), "head.bias");
  auto params = flat->named_parameters();
  EXPECT_TRUE(params.contains("encoder.weight_ih_l1_reverse"));
  EXPECT_EQ(params["to_latent.weight"].sizes(), torch::IntArrayRef({10, 12}));     // 2Z x 2He
  EXPECT_EQ(params["decoder_init.weight"].sizes(), torch::IntArrayRef({28, 5}));   // 2 Ld Hd x Z
  EXPECT_EQ(params["decoder.weight_ih_l0"].sizes(), torch::IntArrayRef({28, 9}));  // 4Hd x (E + Z)
  EXPECT_FALSE(params.contains("conductor.weight_ih_l0"));

  auto hierarchical = std::make_shared<MusicVaeImpl>(small_config(VaeDecoderKind::kHierarchical));
  auto h_params = hierarchical->named_parameters();
  EXPECT_EQ(h_params["conductor_init.weight"].sizes(), torch::IntArrayRef({24, 5}));  // 2 Lc Hc x Z
  EXPECT_EQ(h_params["conductor.weight_ih_l1"].sizes(), torch::IntArrayRef({24, 6}));
  EXPECT_EQ(h_params["decoder_init.weight"].sizes(), torch::IntArrayRef({28, 6}));    // from e_k
  EXPECT_EQ(h_params["decoder.weight_ih_l0"].sizes(), torch::IntArrayRef({28, 10}));  // 4Hd x (E + Hc)
}

// ---- frames (multi-track piano roll) --------------------------------------------------------------------------

TEST(ModelsVaeFrames, StepByStepReproducesTeacherForcingForBothDecoders) {
  for (auto kind : {VaeDecoderKind::kFlat, VaeDecoderKind::kHierarchical}) {
    torch::manual_seed(31);
    VaeConfig config = frames_config(kind);
    config.dropout = 0.3;  // eval(): no dropout in either path
    auto model = std::make_shared<MusicVaeImpl>(config);
    model->eval();
    for (int64_t B : {1, 3}) {
      auto frames = random_frames(B, 12, config.vocab_size);
      auto z = torch::randn({B, config.latent_size});
      torch::Tensor whole;
      {
        torch::NoGradGuard no_grad;
        whole = model->decode_teacher_forced(z, frames);  // (B, T, V)
      }
      EXPECT_EQ(whole.sizes(), torch::IntArrayRef({B, 12, config.vocab_size}));
      EXPECT_LT(max_abs_diff(whole, logits_by_steps(*model, z, frames)), 1e-5) << vae_decoder_name(kind) << " B=" << B;
    }
  }
}

TEST(ModelsVaeFrames, LogitsDependOnlyOnEarlierFrames) {
  torch::manual_seed(32);
  auto model = std::make_shared<MusicVaeImpl>(frames_config(VaeDecoderKind::kHierarchical));
  torch::NoGradGuard no_grad;
  auto frames = random_frames(2, 12, 9);
  auto z = torch::randn({2, 5});
  auto logits = model->decode_teacher_forced(z, frames);
  auto changed = frames.clone();
  changed[0][5][3] = 1.0 - changed[0][5][3].item<float>();  // flip one key of frame 5
  auto other = model->decode_teacher_forced(z, changed);
  EXPECT_LT(max_abs_diff(logits.narrow(1, 0, 6), other.narrow(1, 0, 6)), 1e-7);
  EXPECT_GT(max_abs_diff(logits[0][6], other[0][6]), 1e-6);
  // The encoder sees the whole window: the latent moves too.
  EXPECT_GT(max_abs_diff(model->encode(frames).first, model->encode(changed).first), 1e-6);
}

TEST(ModelsVaeFrames, ThresholdDecodingFollowsItsOwnTeacherForcedLogits) {
  for (auto kind : {VaeDecoderKind::kFlat, VaeDecoderKind::kHierarchical}) {
    torch::manual_seed(33);
    auto model = std::make_shared<MusicVaeImpl>(frames_config(kind));
    auto z = torch::randn({3, 5});
    auto frames = model->decode_greedy(z, 12);
    ASSERT_EQ(frames.sizes(), torch::IntArrayRef({3, 12, 9}));
    EXPECT_EQ(frames.scalar_type(), torch::kFloat);
    torch::NoGradGuard no_grad;
    auto logits = model->decode_teacher_forced(z, frames);
    EXPECT_TRUE(torch::equal(logits.gt(0).to(torch::kFloat), frames)) << vae_decoder_name(kind);
    EXPECT_EQ(step_accuracy(logits, frames).item<double>(), 1.0);
  }
  torch::manual_seed(34);
  auto model = std::make_shared<MusicVaeImpl>(frames_config(VaeDecoderKind::kFlat));
  auto z = torch::randn({4, 5});
  // A frames model's chooser must return (B, V) frames; tokens are refused.
  EXPECT_THROW_WITH(model->decode(z, 16, [](const torch::Tensor&, int64_t) { return torch::zeros({4}, torch::kLong); }),
                    Error, {"step chooser returned [4] long", "frames model"});
}

TEST(ModelsVaeFrames, LossIsTheBernoulliNllSummedOverKeysAndSteps) {
  torch::manual_seed(35);
  auto logits = torch::randn({2, 3, 4});
  auto frames = torch::tensor({0.f, 1.f, 0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 1.f, 1.f, 1.f, 0.f,  // sequence 0
                               1.f, 0.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 1.f})
                    .reshape({2, 3, 4});
  auto mu = torch::zeros({2, 2});
  auto logvar = torch::zeros({2, 2});
  double reconstruction = 0;
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 3; ++t)
      for (int v = 0; v < 4; ++v) {
        const double p = 1.0 / (1.0 + std::exp(-logits[b][t][v].item<double>()));
        reconstruction -= frames[b][t][v].item<float>() > 0.5 ? std::log(p) : std::log(1.0 - p);
      }
  reconstruction /= 2;  // summed over T and keys, averaged over B
  auto loss = elbo_loss(logits, frames, mu, logvar, 0.5, 0.0);
  EXPECT_NEAR(loss.reconstruction.item<double>(), reconstruction, 1e-5);
  EXPECT_NEAR(loss.kl.item<double>(), 0.0, 1e-7);
  EXPECT_NEAR(loss.loss.item<double>(), reconstruction, 1e-5);
  EXPECT_THROW_WITH(elbo_loss(logits, frames * 0.5, mu, logvar, 1.0, 0.0), Error,
                    {"frames must be 0 or 1"});  // not 0/1
  EXPECT_THROW_WITH(elbo_loss(logits, frames.narrow(2, 0, 3), mu, logvar, 1.0, 0.0), Error,
                    {"targets and logits differ in shape", "targets [2, 3, 3]"});  // 3 keys, not 4
  EXPECT_THROW_WITH(elbo_loss(logits, frames.to(torch::kLong), mu, logvar, 1.0, 0.0), Error,
                    {"(B, T) int64 tokens or (B, T, V) float frames", "targets [2, 3, 4] long"});
}

TEST(ModelsVaeFrames, StepAccuracyCountsWholeFrames) {
  auto logits = torch::full({1, 3, 2}, -1.0);
  logits[0][0][0] = 1;  // frame 0 predicted {key 0}
  logits[0][1][1] = 1;  // frame 1 predicted {key 1}
  auto frames = torch::tensor({1.f, 0.f, 1.f, 1.f, 0.f, 0.f}).reshape({1, 3, 2});
  // Frame 0 right, frame 1 misses key 0 (one of two keys right is still a wrong frame), frame 2 right (silence).
  EXPECT_DOUBLE_EQ(step_accuracy(logits, frames).item<double>(), 2.0 / 3.0);
  EXPECT_THROW_WITH(step_accuracy(logits, frames.narrow(2, 0, 1)), Error, {"step_accuracy", "[1, 3, 1] float"});
}

TEST(ModelsVaeFrames, AFewAdamStepsLearnToReconstructATinyBatch) {
  torch::manual_seed(36);
  VaeConfig config = frames_config(VaeDecoderKind::kHierarchical);
  // Wider than small_config: a 4-wide projection of 9-key frames learns very slowly (so does PyTorch's).
  config.embedding_size = 8;
  config.encoder_hidden = config.decoder_hidden = config.conductor_hidden = 16;
  auto model = std::make_shared<MusicVaeImpl>(config);
  // Two windows shaped like music: a held chord under a moving line, and a line alone.
  auto frames = torch::zeros({2, 12, config.vocab_size});
  for (int64_t t = 0; t < 12; ++t) {
    frames[0][t][0] = frames[0][t][4] = 1;  // the held "chord"
    frames[0][t][5 + t % 4] = 1;            // a rising line
    frames[1][t][8 - (t / 3) % 5] = 1;      // a falling line, 3 steps per note
  }
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-2));
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    optimizer.zero_grad();
    auto out = model->forward(frames);
    auto loss = elbo_loss(out.logits, frames, out.mu, out.logvar, 0.01, 0.0);
    loss.loss.backward();
    optimizer.step();
    (step == 0 ? first : last) = loss.reconstruction.item<double>();
  }
  EXPECT_LT(last, 0.15 * first);
  torch::NoGradGuard no_grad;
  model->eval();
  auto mu = model->encode(frames).first;
  EXPECT_GT(model->decode_greedy(mu, 12).eq(frames).all(2).to(torch::kDouble).mean().item<double>(), 0.9);
}

TEST(ModelsVaeFrames, BadFramesAndTheInputLayerNames) {
  torch::manual_seed(37);
  auto model = std::make_shared<MusicVaeImpl>(frames_config(VaeDecoderKind::kFlat));
  try {
    model->encode(torch::full({1, 4, 9}, 0.5));
    ADD_FAILURE() << "a frame key of 0.5 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("0 or 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW_WITH(model->encode(torch::zeros({1, 4, 8})), Error,
                    {"frames of shape (B, T, 9)", "[1, 4, 8]"});  // 8 keys, not 9
  EXPECT_THROW_WITH(model->encode(torch::zeros({1, 4}, torch::kLong)), Error,
                    {"frames of shape (B, T, 9)", "[1, 4] long"});  // tokens into a frames model
  EXPECT_THROW_WITH(model->encode(torch::zeros({1, 4, 9}, torch::kLong)), Error,
                    {"frames must be floating point", "[1, 4, 9] long"});
  auto state = model->initial_decode_state(torch::randn({2, 5}), 4);
  model->decode_step(torch::Tensor(), state);
  EXPECT_THROW_WITH(model->decode_step(torch::zeros({2}, torch::kLong), state), Error,
                    {"previous must be (2, 9) float frames", "got [2] long"});  // a token, not a frame
  EXPECT_THROW_WITH(model->decode_step(torch::zeros({2, 8}), state), Error,
                    {"previous must be (2, 9) float frames", "got [2, 8] float"});
  EXPECT_NO_THROW(model->decode_step(torch::zeros({2, 9}), state));

  auto params = model->named_parameters();
  EXPECT_EQ(params.keys().front(), "input_projection.weight");
  EXPECT_EQ(params["input_projection.weight"].sizes(), torch::IntArrayRef({4, 9}));  // E x V
  EXPECT_FALSE(params.contains("embedding.weight"));
  auto json = frames_config(VaeDecoderKind::kFlat).to_json();
  EXPECT_EQ(json["input_kind"], "frames");
  EXPECT_EQ(VaeConfig::from_json(json).input_kind, InputKind::kFrames);
  json["input_kind"] = "rolls";
  EXPECT_THROW_WITH(VaeConfig::from_json(json), Error, {"\"input_kind\"", "\"tokens\" or \"frames\"", "got \"rolls\""});
}

}  // namespace
}  // namespace cadenza::models
