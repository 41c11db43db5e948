// `dataset prepare` throughput on the whole Nottingham top folder (nottingham/MIDI/*.mid, 1,034 files), and the
// cost of drawing training batches with and without augmentation.
//
//   build-*/bench/bench_prepare --benchmark_min_time=1
//
// BM_PrepareNottingham/threads:N times build_dataset() (list the folder, read, parse and encode every file, and
// serialize the shard in memory) at N worker threads; writing the file (write_file_atomic, which fsyncs) is left
// out because it measures the disk. The CLI's summary line reports the whole wall time including the write.
// BM_TokenBatch* draw 32 x 256-token crops from a performance-encoded shard of the same files: plain, with
// transposition (token space), and with time stretch (decode -> scale -> encode per row).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "bench_data.h"
#include "common/file_io.h"
#include "data/batch.h"
#include "data/prepare.h"
#include "data/shard.h"

namespace {

using cadenza::bench::data_dir;

cadenza::PrepareOptions nottingham_options(const std::string& encoding, int threads) {
  cadenza::PrepareOptions options;
  options.inputs = {data_dir() + "/nottingham/MIDI"};
  options.encoding = encoding;
  options.recursive = false;
  options.threads = threads;
  return options;
}

bool have_nottingham(benchmark::State& state) {
  if (std::filesystem::exists(data_dir() + "/nottingham/MIDI")) return true;
  state.SkipWithError("nottingham/MIDI not found under CADENZA_TEST_DATA_DIR");
  return false;
}

void BM_PrepareNottingham(benchmark::State& state, const char* encoding) {
  if (!have_nottingham(state)) return;
  const auto options = nottingham_options(encoding, static_cast<int>(state.range(0)));
  size_t files = 0, tokens = 0;
  for (auto _ : state) {
    auto prepared = cadenza::build_dataset(options);
    files = prepared.result.files_found;
    tokens = prepared.result.total_length;
    benchmark::DoNotOptimize(prepared.shard_bytes.data());
  }
  state.counters["files"] = static_cast<double>(files);
  state.counters["files_per_second"] =
      benchmark::Counter(static_cast<double>(files), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens_per_second"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_PrepareNottingham, melody, "melody")
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_PrepareNottingham, performance, "performance")
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A performance shard of Nottingham, prepared once into a temporary file.
const cadenza::Shard* performance_shard() {
  static std::unique_ptr<cadenza::Shard> shard = []() -> std::unique_ptr<cadenza::Shard> {
    if (!std::filesystem::exists(data_dir() + "/nottingham/MIDI")) return nullptr;
    const std::string path =
        (std::filesystem::temp_directory_path() / "cadenza-bench-prepare-performance.cdz").string();
    cadenza::prepare_dataset(nottingham_options("performance", 0), path);
    auto opened = std::make_unique<cadenza::Shard>(path);
    std::filesystem::remove(path);  // the map stays valid
    return opened;
  }();
  return shard.get();
}

void BM_TokenBatch(benchmark::State& state, int max_transpose, double stretch) {
  if (!have_nottingham(state)) return;
  cadenza::BatchOptions options;
  options.batch_size = 32;
  options.crop_length = 256;
  options.augment.max_transpose = max_transpose;
  options.augment.min_stretch = 1.0 / stretch;
  options.augment.max_stretch = stretch;
  cadenza::TokenBatchSampler sampler(*performance_shard(), cadenza::Split::kTrain, options, 1234);
  for (auto _ : state) {
    auto batch = sampler.next();
    benchmark::DoNotOptimize(batch.tokens.data());
  }
  state.counters["rows_per_second"] = benchmark::Counter(32, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_TokenBatch, plain, 0, 1.0)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TokenBatch, transpose5, 5, 1.0)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TokenBatch, transpose5_stretch5pct, 5, 1.05)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
