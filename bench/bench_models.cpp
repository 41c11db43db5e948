// Training throughput and generation latency of the four model families (rnn, lstm, gru, transformer) at the
// "small" token-model shape, the C++ half of the comparison with PyTorch (bench/bench_models_pytorch.py, run both
// with bench/compare_models.sh):
//
//   vocabulary 90 (Nottingham melody), hidden 256, dropout 0.1;
//   recurrent: 2 layers; transformer: 4 layers, 4 heads, feed-forward 1024, relative attention.
//
//   BM_TrainStep/<family>     one training step on a (32, 256) batch of tokens: forward, token_cross_entropy,
//                             backward, clip_grad_norm_(1.0), AdamW step. Counter tokens_per_s = 32 * 256 tokens
//                             per step.
//   BM_GenerateToken/<family> batch-1 step() + sampling (sample_token, temperature 1) after a 256-token prefix.
//                             Each iteration starts from a copy of the primed state and generates 512 tokens, so
//                             the transformer's KV cache grows from 256 to 768 positions as it would in a real
//                             run; recurrent state costs the same at any position. Counters tokens_per_s,
//                             s_per_token, and realtime_factor = seconds of music generated per second.
//
// Memory: the caching CPU allocator the cadenza commands install (models/cpu_allocator.h); CADENZA_CPU_ALLOCATOR=system
// runs the same benchmarks on libtorch's own allocator, for the A/B (the choice is in the output context).
//
// Threads, as in docs/threading.md and the same in the Python script: ATen intra-op and inter-op threads = 1,
// OpenBLAS threads as the environment gives them (OPENBLAS_NUM_THREADS); the count OpenBLAS really uses is in the
// output context. Tokens are uniform random ids (a fixed seed): the cost of these models does not depend on the
// token values, and the benchmark then needs no data set.
//
//   OPENBLAS_NUM_THREADS=2 build-*/bench/bench_models --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <torch/torch.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "families/registry.h"
#include "generate/sampling.h"
#include "models/cpu_allocator.h"
#include "models/losses.h"
#include "models/recurrent.h"
#include "models/sequence_model.h"
#include "models/transformer.h"

namespace {

namespace models = cadenza::models;
namespace families = cadenza::families;

constexpr int64_t kVocabSize = 90;  // the Nottingham melody encoding's vocabulary
constexpr int64_t kBatchSize = 32;
constexpr int64_t kCropLength = 256;
constexpr int64_t kPrefixLength = 256;
constexpr int64_t kTokensPerIteration = 512;
// Real-time factor assumption: the melody encoding has one token per 16th-note step; at 120 quarter notes per
// minute a 16th lasts 0.125 s. (Note-on/note-off encodings hold more tokens per second of music.)
constexpr double kSecondsOfMusicPerToken = 0.125;
constexpr const char* kRealtimeLabel = "realtime_factor at 0.125 s/token (melody: 16th-note steps, 120 qpm)";
constexpr double kClipNorm = 1.0;
constexpr double kLearningRate = 1e-3;
constexpr double kWeightDecay = 0.01;

const char* const kFamilies[] = {"rnn", "lstm", "gru", "transformer"};

models::ModelConfig small_config(const std::string& family) {
  models::ModelConfig config;
  config.family = family;
  config.input_kind = models::InputKind::kTokens;
  config.vocab_size = kVocabSize;
  config.hidden_size = 256;
  config.dropout = 0.1;
  if (family == "transformer") {
    config.num_layers = 4;
    config.num_heads = 4;
    config.feedforward_size = 1024;
    config.relative_attention = true;
  } else {
    config.num_layers = 2;
  }
  return config;
}

std::shared_ptr<models::SequenceModelImpl> make_model(const std::string& family, benchmark::State& state) {
  torch::manual_seed(0);
  auto model = families::make_sequence_model(small_config(family));
  state.counters["parameters"] = static_cast<double>(models::count_parameters(*model));
  return model;
}

void BM_TrainStep(benchmark::State& state, const std::string& family) {
  auto model = make_model(family, state);
  model->train();
  torch::optim::AdamW optimizer(model->parameters(),
                                torch::optim::AdamWOptions(kLearningRate).weight_decay(kWeightDecay));
  const auto tokens = torch::randint(kVocabSize, {kBatchSize, kCropLength}, torch::kLong);  // (B, T)
  auto train_step = [&] {
    optimizer.zero_grad();
    auto loss = models::token_cross_entropy(model->forward(tokens), tokens);
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), kClipNorm);
    optimizer.step();
    return loss.item<float>();
  };
  // Untimed warm-up: the first step allocates AdamW's moments and the allocator's buffers. A step of the
  // transformer takes seconds, so the measured run may be a single iteration, which must not be a cold one.
  train_step();
  for (auto _ : state) benchmark::DoNotOptimize(train_step());
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(kBatchSize * kCropLength), benchmark::Counter::kIsIterationInvariantRate);
}

// A deep copy of a primed decoding state, so that every iteration generates from the same position.
std::unique_ptr<models::DecodeState> copy_state(const models::DecodeState& state) {
  if (const auto* recurrent = dynamic_cast<const models::RecurrentDecodeState*>(&state)) {
    auto copy = std::make_unique<models::RecurrentDecodeState>();
    for (const auto& h : recurrent->h) copy->h.push_back(h.clone());
    for (const auto& c : recurrent->c) copy->c.push_back(c.clone());
    return copy;
  }
  const auto& transformer = dynamic_cast<const models::TransformerDecodeState&>(state);
  auto copy = std::make_unique<models::TransformerDecodeState>();
  copy->batch_size = transformer.batch_size;
  copy->length = transformer.length;
  for (const auto& keys : transformer.keys) copy->keys.push_back(keys.clone());
  for (const auto& values : transformer.values) copy->values.push_back(values.clone());
  return copy;
}

void BM_GenerateToken(benchmark::State& state, const std::string& family) {
  auto model = make_model(family, state);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto prefix = torch::randint(kVocabSize, {kPrefixLength}, torch::kLong);
  const cadenza::SamplingOptions sampling;  // temperature 1, no top-k / top-p
  std::mt19937_64 rng(0);

  // Prime once, token by token through step() as generate_tokens() does (untimed).
  auto primed = model->initial_state(1);
  torch::Tensor logits;
  for (int64_t t = 0; t < kPrefixLength; ++t) logits = model->step(prefix.narrow(0, t, 1), *primed);  // (1, V)
  const torch::Tensor primed_logits = logits;

  for (auto _ : state) {
    state.PauseTiming();
    auto decode_state = copy_state(*primed);
    logits = primed_logits;
    state.ResumeTiming();
    for (int64_t i = 0; i < kTokensPerIteration; ++i) {
      const torch::Tensor row = logits.contiguous();
      const int token =
          cadenza::sample_token(row.data_ptr<float>(), static_cast<int>(kVocabSize), nullptr, sampling, rng);
      logits = model->step(torch::full({1}, token, torch::kLong), *decode_state);
    }
    benchmark::DoNotOptimize(logits.data_ptr<float>());
  }
  const double tokens = static_cast<double>(kTokensPerIteration);
  state.counters["tokens_per_s"] = benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["s_per_token"] =
      benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["realtime_factor"] =
      benchmark::Counter(tokens * kSecondsOfMusicPerToken, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(kRealtimeLabel);
}

// The thread count OpenBLAS uses, asked from the library itself (libblas.so.3 is OpenBLAS on the reference
// machine); -1 when the BLAS in the process is not OpenBLAS.
int openblas_threads() {
  using GetThreads = int (*)();
  auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get != nullptr ? get() : -1;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("cpu_allocator", models::install_caching_cpu_allocator());
  torch::set_num_threads(1);
  torch::set_num_interop_threads(1);
  const char* env_threads = std::getenv("OPENBLAS_NUM_THREADS");
  benchmark::AddCustomContext("openblas_threads", std::to_string(openblas_threads()));
  benchmark::AddCustomContext("OPENBLAS_NUM_THREADS", env_threads != nullptr ? env_threads : "(unset)");
  benchmark::AddCustomContext("aten_threads", std::to_string(torch::get_num_threads()));
  for (const char* family : kFamilies) {
    benchmark::RegisterBenchmark((std::string("BM_TrainStep/") + family).c_str(), BM_TrainStep, std::string(family))
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  for (const char* family : kFamilies) {
    benchmark::RegisterBenchmark((std::string("BM_GenerateToken/") + family).c_str(), BM_GenerateToken,
                                 std::string(family))
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
