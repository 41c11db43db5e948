// The NADE head and the two NADE hybrids (src/models/nade.h, rnn_nade.h, transformer_nade.h): conditions, key logits,
// per-frame log-probabilities, the loss, every gradient and three AdamW steps against the PyTorch reference of
// tests/fixtures/make_nade_fixtures.py; the vectorised NADE against a key-by-key loop; normalisation over all 2^K
// frames; step decoding against whole sequences; sampling (seeds, temperature limits, empirical frequencies against
// the exact distribution); configs, checkpoint tensors and input errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/safetensors.h"
#include "models/nade.h"
#include "models/rnn_nade.h"
#include "models/tensor_io.h"
#include "models/transformer_nade.h"
#include "support/test_support.h"

namespace cadenza::models {
namespace {

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// Runs `action` and returns the cadenza::Error message it throws ("" and a test failure when it throws none).
std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no cadenza::Error thrown";
  return "";
}

#define EXPECT_ERROR_MENTIONS(statement, text)                                    \
  do {                                                                            \
    const std::string message_ = error_of([&] { statement; });                    \
    EXPECT_NE(message_.find(text), std::string::npos) << "message: " << message_; \
  } while (0)

std::shared_ptr<NadeSequenceModelImpl> make_nade_model(const nlohmann::json& config) {
  if (config.at("family") == "rnn_nade") return std::make_shared<RnnNadeImpl>(RnnNadeConfig::from_json(config));
  return std::make_shared<TransformerNadeImpl>(TransformerNadeConfig::from_json(config));
}

torch::Tensor random_frames(int64_t B, int64_t T, int64_t K, double density = 0.3) {
  return (torch::rand({B, T, K}) < density).to(torch::kFloat);
}

// Every frame of K keys: (2^K, K), row r has key i on when bit i of r is set.
torch::Tensor all_frames(int64_t K) {
  auto rows = torch::arange(int64_t{1} << K, torch::kLong).unsqueeze(1);   // (2^K, 1)
  auto bits = torch::arange(K, torch::kLong);                              // (K)
  return rows.bitwise_right_shift(bits).bitwise_and(1).to(torch::kFloat);  // (2^K, K)
}

// ---- an independent NADE reference: the definition, one key and one hidden unit at a time, in double -----------

// Walks the keys of one condition (C) in order: at key i, computes l_i from the keys chosen so far, asks choose(i, l_i)
// for v_i and adds v_i w_enc[i] to the hidden activations. Returns the logits.
std::vector<double> naive_walk(NadeImpl& nade, const torch::Tensor& condition,
                               const std::function<double(int64_t, double)>& choose) {
  auto as_double = [](const torch::Tensor& t) { return t.detach().to(torch::kFloat64).contiguous(); };
  auto x = as_double(condition), w_enc = as_double(nade.w_enc), w_dec = as_double(nade.w_dec);
  auto enc_w = as_double(nade.to_b_enc->weight), enc_b = as_double(nade.to_b_enc->bias);
  auto dec_w = as_double(nade.to_b_dec->weight), dec_b = as_double(nade.to_b_dec->bias);
  const int64_t K = nade.num_keys(), U = nade.hidden_size(), C = nade.condition_size();
  auto xa = x.accessor<double, 1>();
  auto we = w_enc.accessor<double, 2>(), wd = w_dec.accessor<double, 2>();
  auto ew = enc_w.accessor<double, 2>();
  auto eb = enc_b.accessor<double, 1>();
  auto dw = dec_w.accessor<double, 2>();
  auto db = dec_b.accessor<double, 1>();
  std::vector<double> a(U);
  for (int64_t u = 0; u < U; ++u) {
    a[u] = eb[u];
    for (int64_t c = 0; c < C; ++c) a[u] += ew[u][c] * xa[c];
  }
  std::vector<double> logits(K);
  for (int64_t i = 0; i < K; ++i) {
    double logit = db[i];
    for (int64_t c = 0; c < C; ++c) logit += dw[i][c] * xa[c];
    for (int64_t u = 0; u < U; ++u) logit += wd[i][u] / (1.0 + std::exp(-a[u]));
    logits[i] = logit;
    const double v = choose(i, logit);
    for (int64_t u = 0; u < U; ++u) a[u] += v * we[i][u];
  }
  return logits;
}

// log p_temperature(frame | condition) = sum_i log sigmoid(+-l_i / temperature), by the walk above.
double naive_log_prob(NadeImpl& nade, const torch::Tensor& condition, const torch::Tensor& frame, double temperature) {
  auto v = frame.to(torch::kFloat64).contiguous();
  auto keys = v.accessor<double, 1>();
  auto logits = naive_walk(nade, condition, [&](int64_t i, double) { return keys[i]; });
  double total = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const double signed_logit = (keys[i] > 0.5 ? 1.0 : -1.0) * logits[i] / temperature;
    total += -std::log1p(std::exp(-signed_logit));
  }
  return total;
}

// A NADE with strong dependencies between keys, so that the joint distribution is far from the product of marginals.
Nade correlated_nade(int64_t K, int64_t U, int64_t C, uint64_t seed) {
  torch::manual_seed(seed);
  Nade nade(K, U, C);
  torch::NoGradGuard no_grad;
  nade->w_enc.mul_(6.0);
  nade->w_dec.mul_(3.0);
  return nade;
}

// ---- the PyTorch reference fixtures ---------------------------------------------------------------------------

class NadeMatchesPyTorch : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    path_ = std::string(CADENZA_SOURCE_DIR) + "/tests/fixtures/models/" + GetParam() + ".safetensors";
    file_ = safetensors::read(path_);
    config_ = nlohmann::json::parse(file_.metadata.at("config"));
  }
  torch::Tensor get(const std::string& name) const {
    auto found = file_.tensors.find(name);
    if (found == file_.tensors.end()) throw Error(path_ + ": fixture has no tensor " + name);
    return to_torch(found->second);
  }
  double metadata_number(const std::string& key) const { return std::stod(file_.metadata.at(key)); }

  std::string path_;
  safetensors::TensorFile file_;
  nlohmann::json config_;
};

TEST_P(NadeMatchesPyTorch, LogProbsLossGradientsStepsAndAdamW) {
  auto model = make_nade_model(config_);
  load_module_tensors(*model, file_, path_, "model.");  // strict: every parameter present by name, with its shape
  model->train();                                       // dropout is 0 in the fixtures
  auto frames = get("input"), frame_mask = get("frame_mask");
  const int64_t B = frames.size(0), T = frames.size(1);

  auto conditions = model->conditions(frames);
  EXPECT_LT(max_abs_diff(conditions, get("conditions")), 1e-5);
  auto key_logits = model->nade->key_logits(conditions.narrow(1, 0, T - 1), frames.narrow(1, 1, T - 1));
  EXPECT_LT(max_abs_diff(key_logits, get("key_logits")), 1e-5);
  auto log_prob = model->log_prob(frames);
  EXPECT_LT(max_abs_diff(log_prob, get("log_prob")), 1e-5);
  auto loss = mean_frame_nll(log_prob, frame_mask);
  EXPECT_NEAR(loss.item<double>(), get("loss").item<double>(), 1e-5);
  loss.backward();
  for (const auto& item : model->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_LT(max_abs_diff(item.value().grad(), get("grad." + item.key())), 1e-5) << item.key();
  }

  {  // step decoding reproduces the reference conditions and per-frame log-probabilities
    model->eval();
    auto state = model->initial_state(B);
    for (int64_t t = 0; t + 1 < T; ++t) {
      auto condition = model->step(frames.select(1, t), *state);  // conditions frame t + 1
      EXPECT_LT(max_abs_diff(condition, get("conditions").select(1, t)), 1e-5) << t;
      EXPECT_LT(max_abs_diff(model->frame_log_prob(condition, frames.select(1, t + 1)), get("log_prob").select(1, t)),
                1e-5)
          << t;
    }
    model->train();
  }

  const double clip_norm = metadata_number("clip_norm");
  EXPECT_GT(get("grad_norm").item<double>(), clip_norm) << "fixture should exercise clipping";
  torch::optim::AdamW optimizer(
      model->parameters(),
      torch::optim::AdamWOptions(metadata_number("adamw_lr")).weight_decay(metadata_number("adamw_weight_decay")));
  auto reference_losses = get("adamw.losses");
  ASSERT_EQ(reference_losses.numel(), std::stoll(file_.metadata.at("adamw_steps")));
  for (int64_t i = 0; i < reference_losses.numel(); ++i) {
    optimizer.zero_grad();
    auto step_loss = mean_frame_nll(model->log_prob(frames), frame_mask);
    step_loss.backward();
    const double norm = torch::nn::utils::clip_grad_norm_(model->parameters(), clip_norm);
    if (i == 0) {
      EXPECT_NEAR(norm, get("grad_norm").item<double>(), 1e-5);
    }
    optimizer.step();
    EXPECT_NEAR(step_loss.item<double>(), reference_losses[i].item<double>(), 1e-5) << "AdamW step " << i;
  }
  // As in test_models_transformer.cpp: the key part of attention.qkv.bias has a zero gradient up to round-off (the
  // softmax ignores a constant added to a row of scores), which Adam turns into steps of ~lr of arbitrary sign.
  for (const auto& item : model->named_parameters()) {
    auto ours = item.value(), reference = get("adamw.model." + item.key());
    if (item.key().ends_with("attention.qkv.bias")) {
      const int64_t C = ours.size(0) / 3;
      EXPECT_LT(get("grad." + item.key()).narrow(0, C, C).abs().max().item<double>(), 1e-6) << item.key();
      ours = torch::cat({ours.narrow(0, 0, C), ours.narrow(0, 2 * C, C)});
      reference = torch::cat({reference.narrow(0, 0, C), reference.narrow(0, 2 * C, C)});
    }
    EXPECT_LT(max_abs_diff(ours, reference), 1e-5) << item.key();
  }
}

TEST_P(NadeMatchesPyTorch, PaddedFramesDoNotChangeTheLoss) {
  auto model = make_nade_model(config_);
  load_module_tensors(*model, file_, path_, "model.");
  auto frames = get("input").clone(), frame_mask = get("frame_mask");
  const int64_t T = frames.size(1);
  ASSERT_FALSE(frame_mask[1][T - 1].item<bool>()) << "the fixture's second piece ends with a padding frame";
  frames[1][T - 1].fill_(1.0);  // whatever the padding holds
  EXPECT_NEAR(mean_frame_nll(model->log_prob(frames), frame_mask).item<double>(), get("loss").item<double>(), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, NadeMatchesPyTorch,
                         ::testing::Values("rnn_nade_lstm", "rnn_nade_gru", "transformer_nade",
                                           "transformer_nade_absolute"));

TEST(ModelsNade, ParameterNamesAreThePyTorchAttributeNames) {
  RnnNadeConfig config;
  config.vocab_size = 12;
  config.embedding_size = 6;
  config.hidden_size = 8;
  config.num_layers = 1;
  config.nade_hidden = 5;
  RnnNade model(config);
  const std::vector<std::string> expected = {
      "input_projection.weight", "input_projection.bias", "rnn.weight_ih_l0",     "rnn.weight_hh_l0",
      "rnn.bias_ih_l0",          "rnn.bias_hh_l0",        "nade.w_enc",           "nade.w_dec",
      "nade.to_b_enc.weight",    "nade.to_b_enc.bias",    "nade.to_b_dec.weight", "nade.to_b_dec.bias"};
  EXPECT_EQ(model->named_parameters().keys(), expected);
  EXPECT_EQ(model->named_parameters()["nade.w_enc"].sizes(), torch::IntArrayRef({12, 5}));
  EXPECT_EQ(model->named_parameters()["nade.to_b_enc.weight"].sizes(), torch::IntArrayRef({5, 8}));
  EXPECT_EQ(model->named_parameters()["nade.to_b_dec.weight"].sizes(), torch::IntArrayRef({12, 8}));
  EXPECT_EQ(model->named_parameters()["rnn.weight_ih_l0"].sizes(), torch::IntArrayRef({32, 6}));  // LSTM: 4 gates

  TransformerNadeConfig transformer_config;
  transformer_config.vocab_size = 12;
  transformer_config.hidden_size = 16;
  transformer_config.num_layers = 2;
  transformer_config.num_heads = 2;
  TransformerNade transformer(transformer_config);
  auto names = transformer->named_parameters().keys();
  for (const char* name : {"input_projection.weight", "blocks.1.attention.relative_keys", "blocks.0.mlp.proj.bias",
                           "ln_f.weight", "nade.w_dec"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  for (const auto& name : names) EXPECT_EQ(name.rfind("head.", 0), std::string::npos) << "the head is dropped";
}

// ---- the NADE: vectorised scoring against the key-by-key definition, normalisation -----------------------------

TEST(ModelsNade, VectorisedKeyLogitsEqualTheKeyByKeyDefinition) {
  torch::manual_seed(11);
  Nade nade(10, 7, 5);
  auto conditions = torch::randn({3, 4, 5});  // two leading dimensions
  auto frames = random_frames(3, 4, 10, 0.4);
  auto logits = nade->key_logits(conditions, frames);  // (3, 4, 10)
  ASSERT_EQ(logits.sizes(), torch::IntArrayRef({3, 4, 10}));
  double worst = 0.0;
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t t = 0; t < 4; ++t) {
      auto keys = frames[b][t].contiguous();
      auto reference = naive_walk(*nade, conditions[b][t], [&](int64_t i, double) { return keys[i].item<double>(); });
      for (int64_t i = 0; i < 10; ++i) worst = std::max(worst, std::abs(logits[b][t][i].item<double>() - reference[i]));
      EXPECT_NEAR(nade->log_prob(conditions[b][t], keys).item<double>(),
                  naive_log_prob(*nade, conditions[b][t], keys, 1.0), 1e-5);
    }
  }
  EXPECT_LT(worst, 1e-5);
  // A key's logit depends only on the keys before it: flipping the last key changes no logit.
  auto flipped = frames.clone();
  flipped.select(-1, 9).fill_(1.0).sub_(frames.select(-1, 9));
  EXPECT_EQ(max_abs_diff(nade->key_logits(conditions, flipped), logits), 0.0);
}

TEST(ModelsNade, HandWrittenBackwardEqualsAutogradThroughTheKeyByKeyLoop) {
  torch::manual_seed(13);
  const int64_t K = 9;
  Nade nade(K, 6, 5);
  nade->to(torch::kFloat64);
  auto frames = random_frames(2, 3, K, 0.4).to(torch::kFloat64);
  auto upstream = torch::randn({2, 3}, torch::kFloat64);  // a non-uniform gradient into the log-probabilities
  auto gradients = [&](const std::function<torch::Tensor(const torch::Tensor&)>& log_prob) {
    torch::manual_seed(99);
    auto conditions = torch::randn({2, 3, 5}, torch::kFloat64).requires_grad_();
    nade->zero_grad();
    (log_prob(conditions) * upstream).sum().backward();
    std::map<std::string, torch::Tensor> out{{"conditions", conditions.grad().clone()}};
    for (const auto& item : nade->named_parameters()) out[item.key()] = item.value().grad().clone();
    return out;
  };
  auto ours = gradients([&](const torch::Tensor& x) { return nade->log_prob(x, frames); });
  auto reference = gradients([&](const torch::Tensor& x) {  // the definition in plain torch ops, through autograd
    auto a = nade->to_b_enc(x);
    auto b_dec = nade->to_b_dec(x);
    std::vector<torch::Tensor> logits;
    for (int64_t i = 0; i < K; ++i) {
      logits.push_back(b_dec.select(-1, i) + (torch::sigmoid(a) * nade->w_dec[i]).sum(-1));
      a = a + frames.select(-1, i).unsqueeze(-1) * nade->w_enc[i];
    }
    return -torch::binary_cross_entropy_with_logits(torch::stack(logits, -1), frames, {}, {}, at::Reduction::None)
                .sum(-1);
  });
  for (const auto& [name, gradient] : reference) {
    EXPECT_GT(gradient.abs().max().item<double>(), 1e-6) << name << ": a gradient worth comparing";
    EXPECT_LT(max_abs_diff(ours.at(name), gradient), 1e-10) << name;
  }
  // w_enc[K-1] feeds no key: its gradient is exactly 0, not round-off (which Adam would turn into a step).
  EXPECT_EQ(ours.at("w_enc")[K - 1].abs().max().item<double>(), 0.0);
}

TEST(ModelsNade, ProbabilitiesOfAllTwoToTheKFramesSumToOne) {
  for (int64_t K : {1, 2, 5, 8, 10}) {
    torch::manual_seed(100 + K);
    Nade nade(K, 6, 4);
    auto frames = all_frames(K);  // (2^K, K)
    const int64_t count = frames.size(0);
    auto conditions = torch::randn({3, 4}) * 2.0;
    for (int64_t r = 0; r < 3; ++r) {
      auto condition = conditions[r].expand({count, 4});
      auto log_p = nade->log_prob(condition, frames);  // (2^K)
      EXPECT_NEAR(torch::logsumexp(log_p, 0).exp().item<double>(), 1.0, 1e-5) << "K=" << K;
    }
    nade->to(torch::kFloat64);  // in double the sum is exact to round-off
    auto log_p = nade->log_prob(conditions[0].to(torch::kFloat64).expand({count, 4}), frames.to(torch::kFloat64));
    EXPECT_NEAR(torch::logsumexp(log_p, 0).exp().item<double>(), 1.0, 1e-12) << "K=" << K;
  }
}

TEST(ModelsNade, HybridsNextFrameDistributionsSumToOne) {
  const int64_t K = 8;
  RnnNadeConfig rnn;
  rnn.vocab_size = K;
  rnn.hidden_size = 10;
  rnn.nade_hidden = 6;
  TransformerNadeConfig transformer;
  transformer.vocab_size = K;
  transformer.hidden_size = 8;
  transformer.num_layers = 2;
  transformer.num_heads = 2;
  transformer.nade_hidden = 6;
  torch::manual_seed(5);
  for (std::shared_ptr<NadeSequenceModelImpl> model :
       {std::shared_ptr<NadeSequenceModelImpl>(std::make_shared<RnnNadeImpl>(rnn)),
        std::shared_ptr<NadeSequenceModelImpl>(std::make_shared<TransformerNadeImpl>(transformer))}) {
    model->eval();
    torch::NoGradGuard no_grad;
    auto frames = random_frames(1, 5, K);
    auto conditions = model->conditions(frames)[0];  // (5, C)
    auto everything = all_frames(K);
    for (int64_t t = 0; t < 5; ++t) {
      auto log_p = model->frame_log_prob(conditions[t].expand({everything.size(0), conditions.size(1)}), everything);
      EXPECT_NEAR(torch::logsumexp(log_p, 0).exp().item<double>(), 1.0, 1e-5) << t;
    }
  }
}

// ---- step decoding against whole sequences --------------------------------------------------------------------

class NadeStepMatchesSequence : public ::testing::TestWithParam<std::string> {
 protected:
  static nlohmann::json config_of(const std::string& name) {
    if (name == "lstm" || name == "gru" || name == "rnn")
      return {{"family", "rnn_nade"}, {"cell", name},    {"vocab_size", 12}, {"embedding_size", 7},
              {"hidden_size", 9},     {"num_layers", 3}, {"nade_hidden", 5}};
    return {{"family", "transformer_nade"},
            {"vocab_size", 12},
            {"hidden_size", 16},
            {"num_layers", 2},
            {"num_heads", 4},
            {"max_sequence_length", 80},
            {"relative_attention", name == "transformer"},
            {"max_relative_distance", 20},  // < T: distances clip
            {"nade_hidden", 5}};
  }
};

TEST_P(NadeStepMatchesSequence, ConditionsAndLogProbsAtBatchOneAndThree) {
  torch::manual_seed(21);
  auto model = make_nade_model(config_of(GetParam()));
  model->eval();
  const int64_t T = 70;  // past the KV cache's first capacity (64), so the cache grows once
  for (int64_t B : {1, 3}) {
    auto frames = random_frames(B, T, 12);
    torch::Tensor whole, log_prob;
    {
      torch::NoGradGuard no_grad;
      whole = model->conditions(frames);   // (B, T, C)
      log_prob = model->log_prob(frames);  // (B, T-1)
    }
    auto state = model->initial_state(B);
    std::vector<torch::Tensor> stepped, stepped_log_prob;
    for (int64_t t = 0; t < T; ++t) {
      stepped.push_back(model->step(frames.select(1, t), *state));
      if (t + 1 < T) stepped_log_prob.push_back(model->frame_log_prob(stepped.back(), frames.select(1, t + 1)));
    }
    EXPECT_LT(max_abs_diff(torch::stack(stepped, 1), whole), 1e-5) << GetParam() << " B=" << B;
    EXPECT_LT(max_abs_diff(torch::stack(stepped_log_prob, 1), log_prob), 1e-4) << GetParam() << " B=" << B;
    EXPECT_GT(whole.abs().max().item<double>(), 1e-3) << "conditions should not be trivially zero";
  }
}

INSTANTIATE_TEST_SUITE_P(Backbones, NadeStepMatchesSequence,
                         ::testing::Values("lstm", "gru", "rnn", "transformer", "transformer_absolute"));

TEST(ModelsNade, RnnNadeConditionsInChunksMatchOnePass) {
  torch::manual_seed(4);
  RnnNadeConfig config;
  config.vocab_size = 12;
  config.hidden_size = 9;
  config.nade_hidden = 5;
  RnnNade model(config);
  auto frames = random_frames(2, 11, 12);
  auto whole = model->conditions(frames);
  auto state = model->initial_state(2);
  auto& recurrent = static_cast<RecurrentDecodeState&>(*state);
  auto first = model->conditions(frames.narrow(1, 0, 4), recurrent);
  recurrent.detach();
  auto second = model->conditions(frames.narrow(1, 4, 7), recurrent);
  EXPECT_LT(max_abs_diff(torch::cat({first, second}, 1), whole), 1e-5);
}

TEST(ModelsNade, DropoutIsActiveOnlyInTraining) {
  RnnNadeConfig config;
  config.vocab_size = 12;
  config.hidden_size = 9;
  config.nade_hidden = 5;
  config.dropout = 0.5;
  torch::manual_seed(8);
  RnnNade model(config);
  auto frames = random_frames(2, 6, 12);
  model->train();
  EXPECT_GT(max_abs_diff(model->log_prob(frames), model->log_prob(frames)), 1e-4);
  model->eval();
  EXPECT_EQ(max_abs_diff(model->log_prob(frames), model->log_prob(frames)), 0.0);
}

// ---- sampling -------------------------------------------------------------------------------------------------

TEST(ModelsNade, SamplingIsDeterministicPerSeed) {
  auto nade = correlated_nade(12, 8, 4, 3);
  auto conditions = torch::randn({64, 4});
  std::mt19937_64 a(42), b(42), c(43);
  auto first = nade->sample(conditions, 1.0, a);
  ASSERT_EQ(first.sizes(), torch::IntArrayRef({64, 12}));
  EXPECT_TRUE(first.equal(nade->sample(conditions, 1.0, b)));
  EXPECT_FALSE(first.equal(nade->sample(conditions, 1.0, c)));
  EXPECT_TRUE((first.eq(0) | first.eq(1)).all().item<bool>());
  // The rng overload is the uniforms overload fed N x K draws in row-major order.
  std::mt19937_64 d(42);
  auto uniforms = torch::empty({64, 12}, torch::kFloat64);
  for (int64_t r = 0; r < 64; ++r)
    for (int64_t k = 0; k < 12; ++k) uniforms[r][k] = static_cast<double>(d() >> 11) * 0x1.0p-53;
  EXPECT_TRUE(first.equal(nade->sample(conditions, 1.0, uniforms)));
}

TEST(ModelsNade, TemperatureZeroIsTheGreedyReferenceAndTinyTemperaturesTendToIt) {
  auto nade = correlated_nade(12, 8, 4, 9);
  auto conditions = torch::randn({20, 4});
  std::mt19937_64 rng(1);
  const auto untouched = rng;
  auto greedy = nade->sample(conditions, 0.0, rng);
  EXPECT_TRUE(rng == untouched) << "temperature 0 draws nothing";
  for (int64_t r = 0; r < 20; ++r) {
    auto reference = torch::zeros({12});
    naive_walk(*nade, conditions[r], [&](int64_t i, double logit) {
      reference[i] = logit > 0.0 ? 1.0 : 0.0;
      return reference[i].item<double>();
    });
    EXPECT_TRUE(greedy[r].equal(reference)) << "row " << r;
  }
  // The sample's own keys are greedy given the keys before them.
  EXPECT_TRUE(greedy.equal(nade->key_logits(conditions, greedy).gt(0.0).to(torch::kFloat)));
  std::mt19937_64 cold(7);
  EXPECT_TRUE(nade->sample(conditions, 1e-6, cold).equal(greedy));
  // Not every row is the same frame: the greedy decisions depend on the condition.
  EXPECT_GT((greedy - greedy[0]).abs().sum().item<double>(), 0.0);
}

TEST(ModelsNade, HugeTemperaturesTendToFairCoins) {
  auto nade = correlated_nade(12, 8, 4, 10);
  auto conditions = torch::randn({1, 4}).expand({4000, 4});
  std::mt19937_64 rng(5);
  auto frames = nade->sample(conditions, 1e6, rng);
  auto per_key = frames.mean(0);  // (K), each from 4000 draws: standard error 0.008
  EXPECT_LT((per_key - 0.5).abs().max().item<double>(), 0.04) << per_key;
  std::mt19937_64 again(5);
  auto at_one = nade->sample(conditions, 1.0, again);
  EXPECT_GT((at_one.mean(0) - 0.5).abs().max().item<double>(), 0.2) << "at temperature 1 the keys are far from fair";
}

// Pearson's chi-square of the observed frame counts against the probabilities of all 2^K frames.
double chi_square(const torch::Tensor& counts, const torch::Tensor& probabilities, int64_t draws) {
  auto expected = probabilities.to(torch::kFloat64) * static_cast<double>(draws);
  return ((counts.to(torch::kFloat64) - expected).pow(2) / expected).sum().item<double>();
}

// Histogram of sampled frames (N, K) over the 2^K frames, indexed as all_frames() orders them.
torch::Tensor frame_counts(const torch::Tensor& frames) {
  const int64_t K = frames.size(1);
  auto weights = torch::pow(2.0, torch::arange(K, torch::kFloat64));  // bit i = key i
  auto index = frames.to(torch::kFloat64).matmul(weights).round().to(torch::kLong);
  return torch::bincount(index, {}, int64_t{1} << K);
}

TEST(ModelsNade, EmpiricalFrequenciesMatchTheExactDistribution) {
  const int64_t K = 4, draws = 40000;  // 16 frames, 15 degrees of freedom
  auto nade = correlated_nade(K, 6, 3, 17);
  auto condition = torch::randn({1, 3});
  auto everything = all_frames(K);
  torch::Tensor exact;
  {
    torch::NoGradGuard no_grad;
    exact = nade->log_prob(condition.expand({16, 3}), everything).exp().to(torch::kFloat64);  // (16)
  }
  ASSERT_NEAR(exact.sum().item<double>(), 1.0, 1e-5);
  ASSERT_GT(exact.min().item<double>(), 1e-3) << "every frame should be seen in the draws (chi-square validity)";

  std::mt19937_64 rng(2024);
  auto counts = frame_counts(nade->sample(condition.expand({draws, 3}), 1.0, rng));
  // chi-square with 15 degrees of freedom exceeds 42.6 with probability 1e-4.
  EXPECT_LT(chi_square(counts, exact, draws), 42.6);

  // The test has power: the same draws are far from the product of the exact marginals (keys independent), which is
  // what a sampler that forgot the keys already drawn would produce.
  auto marginals = (exact.unsqueeze(1) * everything.to(torch::kFloat64)).sum(0);  // (K) p(v_i = 1)
  auto independent =
      (everything.to(torch::kFloat64) * marginals + (1 - everything.to(torch::kFloat64)) * (1 - marginals))
          .prod(1);  // (16)
  EXPECT_GT(chi_square(counts, independent, draws), 1000.0);

  // At temperature 0.5 the draws follow prod_i sigmoid(+-l_i / 0.5), computed by the key-by-key reference.
  auto tempered = torch::empty({16}, torch::kFloat64);
  for (int64_t r = 0; r < 16; ++r) tempered[r] = std::exp(naive_log_prob(*nade, condition[0], everything[r], 0.5));
  ASSERT_NEAR(tempered.sum().item<double>(), 1.0, 1e-9);
  ASSERT_GT(tempered.min().item<double>(), 1e-4);
  auto tempered_counts = frame_counts(nade->sample(condition.expand({draws, 3}), 0.5, rng));
  // Frames below 5 expected draws are merged into one cell so that the chi-square approximation holds.
  auto sparse = tempered * static_cast<double>(draws) < 5.0;
  const int64_t merged = sparse.sum().item<int64_t>();
  auto observed = tempered_counts.index({sparse.logical_not()}).to(torch::kFloat64);
  auto probabilities = tempered.index({sparse.logical_not()});
  if (merged > 0) {
    observed = torch::cat({observed, tempered_counts.index({sparse}).sum().to(torch::kFloat64).unsqueeze(0)});
    probabilities = torch::cat({probabilities, tempered.index({sparse}).sum().unsqueeze(0)});
  }
  // At most 15 degrees of freedom: the same 1e-4 bound is conservative.
  EXPECT_LT(chi_square(observed, probabilities, draws), 42.6) << merged << " frames merged";
}

// ---- the loss, configs, checkpoint tensors and input errors ---------------------------------------------------

TEST(ModelsNade, MeanFrameNllCountsOnlyRealFramesAfterTheFirst) {
  auto log_probs = torch::tensor({{-1.0, -2.0, -3.0}, {-4.0, -5.0, -6.0}});  // (B=2, T-1=3)
  auto mask = torch::tensor({{true, true, true, true}, {true, true, false, false}});
  EXPECT_NEAR(mean_frame_nll(log_probs, mask).item<double>(), (1.0 + 2.0 + 3.0 + 4.0) / 4.0, 1e-6);
  EXPECT_NEAR(mean_frame_nll(log_probs).item<double>(), 21.0 / 6.0, 1e-6);
  EXPECT_ERROR_MENTIONS(mean_frame_nll(log_probs, mask.narrow(1, 0, 3)), "frame_mask must be (B, T)");
}

TEST(ModelsNade, ConfigsRoundTripAndBadKeysAreNamed) {
  RnnNadeConfig rnn;
  rnn.cell = RecurrentFamily::kGru;
  rnn.vocab_size = 88;
  rnn.embedding_size = 40;
  rnn.hidden_size = 300;
  rnn.num_layers = 1;
  rnn.nade_hidden = 150;
  rnn.dropout = 0.25;
  auto json = rnn.to_json();
  EXPECT_EQ(json.at("family"), "rnn_nade");
  EXPECT_EQ(json.at("cell"), "gru");
  EXPECT_EQ(RnnNadeConfig::from_json(json).to_json(), json);
  EXPECT_EQ(RnnNadeConfig::from_json({{"family", "rnn_nade"}}).to_json(), RnnNadeConfig().to_json());  // defaults

  TransformerNadeConfig transformer;
  transformer.hidden_size = 64;
  transformer.num_heads = 8;
  transformer.relative_attention = false;
  transformer.max_relative_distance = 7;
  transformer.nade_hidden = 32;
  auto transformer_json = transformer.to_json();
  EXPECT_EQ(transformer_json.at("family"), "transformer_nade");
  EXPECT_EQ(TransformerNadeConfig::from_json(transformer_json).to_json(), transformer_json);

  auto with = [](nlohmann::json json, const std::string& key, const nlohmann::json& value) {
    json[key] = value;
    return json;
  };
  EXPECT_ERROR_MENTIONS(RnnNadeConfig::from_json(with(json, "hiden_size", 3)), "unknown key \"hiden_size\"");
  EXPECT_ERROR_MENTIONS(RnnNadeConfig::from_json(with(json, "hidden_size", "big")),
                        "\"hidden_size\" must be an integer");
  EXPECT_ERROR_MENTIONS(RnnNadeConfig::from_json(with(json, "nade_hidden", 0)), "\"nade_hidden\" must be an integer in [1,");
  EXPECT_ERROR_MENTIONS(RnnNadeConfig::from_json(with(json, "cell", "mamba")), "\"cell\" must be");
  EXPECT_ERROR_MENTIONS(RnnNadeConfig::from_json(with(json, "dropout", 1.0)), "\"dropout\" must be a number in [0, 0.99]");
  EXPECT_ERROR_MENTIONS(RnnNadeConfig::from_json(with(json, "family", "lstm")), "\"family\" must be \"rnn_nade\"");
  EXPECT_ERROR_MENTIONS(RnnNadeConfig::from_json(nlohmann::json::array()), "expected a JSON object");
  EXPECT_ERROR_MENTIONS(TransformerNadeConfig::from_json(with(transformer_json, "num_heads", 5)),
                        "\"num_heads\" (5) must divide \"hidden_size\" (64)");
  EXPECT_ERROR_MENTIONS(TransformerNadeConfig::from_json(with(transformer_json, "relative_attention", 1)),
                        "\"relative_attention\" must be true or false");
  EXPECT_ERROR_MENTIONS(TransformerNadeConfig::from_json(with(transformer_json, "max_relative_distance", -1)),
                        "\"max_relative_distance\" must be an integer in [0,");
  EXPECT_ERROR_MENTIONS(TransformerNadeConfig::from_json(with(transformer_json, "residual", true)),
                        "unknown key \"residual\"");
}

TEST(ModelsNade, ACheckpointTensorOfTheWrongShapeIsNamed) {
  RnnNadeConfig config;
  config.vocab_size = 12;
  config.hidden_size = 8;
  config.nade_hidden = 5;
  RnnNade model(config);
  testing::TempDir dir;
  const std::string path = dir.file("rnn_nade.safetensors");
  save_module_safetensors(*model, path);
  RnnNade reloaded(config);
  load_module_safetensors(*reloaded, path);
  EXPECT_TRUE(reloaded->nade->w_dec.equal(model->nade->w_dec));

  safetensors::TensorFile file;
  file.tensors = module_tensors(*model);
  file.tensors["nade.w_dec"] = to_safetensors(torch::zeros({12, 6}));  // U is 5
  EXPECT_ERROR_MENTIONS(load_module_tensors(*reloaded, file, path), "nade.w_dec");
  EXPECT_TRUE(reloaded->nade->w_dec.equal(model->nade->w_dec)) << "all or nothing";

  config.nade_hidden = 6;  // a model of another size: w_enc, w_dec and to_b_enc differ
  RnnNade other(config);
  EXPECT_ERROR_MENTIONS(load_module_safetensors(*other, path), "nade.w_enc");
}

TEST(ModelsNade, BadInputsAreClearErrors) {
  torch::manual_seed(2);
  RnnNadeConfig config;
  config.vocab_size = 12;
  config.hidden_size = 8;
  config.nade_hidden = 5;
  RnnNade model(config);
  EXPECT_ERROR_MENTIONS(model->log_prob(torch::full({1, 4, 12}, 0.5)), "frame keys must be 0 or 1");
  EXPECT_ERROR_MENTIONS(model->log_prob(torch::zeros({1, 4, 11})), "(B, T, 12)");
  EXPECT_ERROR_MENTIONS(model->log_prob(torch::zeros({1, 1, 12})), "at least 2 frames");
  EXPECT_ERROR_MENTIONS(model->log_prob(torch::zeros({1, 4, 12}, torch::kLong)), "floating point or bool");
  EXPECT_NO_THROW(model->log_prob(torch::zeros({1, 4, 12}, torch::kBool)));
  auto state = model->initial_state(2);
  EXPECT_ERROR_MENTIONS(model->step(torch::zeros({3, 12}), *state), "batch of 3");
  DecodeState foreign;
  EXPECT_ERROR_MENTIONS(model->step(torch::zeros({2, 12}), foreign), "initial_state()");
  EXPECT_ERROR_MENTIONS(model->step(torch::zeros({2, 1, 12}), *state), "(B, 12)");

  auto nade = model->nade;
  std::mt19937_64 rng(1);
  EXPECT_ERROR_MENTIONS(nade->sample(torch::zeros({2, 8}), -1.0, rng), "temperature");
  EXPECT_ERROR_MENTIONS(nade->sample(torch::zeros({2, 8}), NAN, rng), "temperature");
  EXPECT_ERROR_MENTIONS(nade->sample(torch::zeros({2, 7}), 1.0, rng), "(..., 8)");
  EXPECT_ERROR_MENTIONS(nade->sample(torch::zeros({2, 8}), 1.0, torch::rand({2, 11})), "uniforms must be (2, 12)");
  EXPECT_ERROR_MENTIONS(nade->sample(torch::full({2, 8}, NAN), 1.0, rng), "non-finite logits");
  EXPECT_ERROR_MENTIONS(nade->log_prob(torch::zeros({2, 8}), torch::zeros({3, 12})), "leading dimensions");
  EXPECT_ERROR_MENTIONS(Nade(12, 0, 8), "must be positive");

  TransformerNadeConfig absolute;
  absolute.vocab_size = 12;
  absolute.hidden_size = 8;
  absolute.num_layers = 1;
  absolute.num_heads = 2;
  absolute.max_sequence_length = 5;
  absolute.relative_attention = false;
  TransformerNade transformer(absolute);
  EXPECT_ERROR_MENTIONS(transformer->log_prob(torch::zeros({1, 6, 12})), "exceed max_sequence_length 5");
  auto cache = transformer->initial_state(1);
  for (int t = 0; t < 5; ++t) transformer->step(torch::zeros({1, 12}), *cache);
  EXPECT_ERROR_MENTIONS(transformer->step(torch::zeros({1, 12}), *cache), "past max_sequence_length 5");
  EXPECT_ERROR_MENTIONS(transformer->step(torch::zeros({1, 12}), *model->initial_state(1)), "initial_state()");
}

}  // namespace
}  // namespace cadenza::models
