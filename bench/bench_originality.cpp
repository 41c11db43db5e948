// The originality index on Nottingham (nottingham/MIDI/*.mid, melody track, melody encoding): how long building
// the index over the train split and checking 100 pieces take.
//
//   build-*/bench/bench_originality --benchmark_min_time=1
//
// The shard is prepared once, outside the timings (as `cadenza dataset prepare ... --encoding melody
// --track-index 0` would). The 100 checked pieces are the shard's first 100 held-out (valid + test) tunes, which
// have the length of real tunes and partial overlap with training, so the matching walks the automaton as a
// generated piece would.
//   BM_IndexFromShard          decode every train piece from the shard, reduce it and add it to the index
//   BM_IndexFromScores         the same from Scores decoded beforehand: the reduction and the automaton alone
//   BM_Check100                check 100 pieces against an index built beforehand
//   BM_IndexAndCheck100        all that `cadenza originality --data SHARD PIECES...` does after reading its
//                              files: index from the shard, then check 100 pieces
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "bench_data.h"
#include "data/prepare.h"
#include "data/shard.h"
#include "eval/originality.h"

namespace {

using cadenza::bench::data_dir;

struct Nottingham {
  std::unique_ptr<cadenza::Shard> shard;
  int grid = 0;
  std::vector<cadenza::Score> train;
  std::vector<cadenza::Score> checked;  // 100 held-out tunes
};

const Nottingham* nottingham() {
  static std::unique_ptr<Nottingham> data = []() -> std::unique_ptr<Nottingham> {
    if (!std::filesystem::exists(data_dir() + "/nottingham/MIDI")) return nullptr;
    cadenza::PrepareOptions options;
    options.inputs = {data_dir() + "/nottingham/MIDI"};
    options.encoding = "melody";
    options.track_index = 0;
    options.recursive = false;
    options.threads = 0;
    const std::string path = (std::filesystem::temp_directory_path() / "cadenza-bench-originality-melody.cdz").string();
    cadenza::prepare_dataset(options, path);
    auto loaded = std::make_unique<Nottingham>();
    loaded->shard = std::make_unique<cadenza::Shard>(path);
    std::filesystem::remove(path);  // the map stays valid
    const cadenza::Shard* shards[] = {loaded->shard.get()};
    loaded->grid = cadenza::comparison_grid(shards);
    const cadenza::Split train[] = {cadenza::Split::kTrain};
    const cadenza::Split held_out[] = {cadenza::Split::kValid, cadenza::Split::kTest};
    loaded->train = cadenza::decode_shard_pieces(*loaded->shard, train);
    loaded->checked = cadenza::decode_shard_pieces(*loaded->shard, held_out);
    if (loaded->checked.size() > 100) loaded->checked.resize(100);
    return loaded;
  }();
  return data.get();
}

const Nottingham* require_nottingham(benchmark::State& state) {
  const Nottingham* data = nottingham();
  if (data == nullptr) state.SkipWithError("nottingham/MIDI not found under CADENZA_TEST_DATA_DIR");
  return data;
}

cadenza::OriginalityOptions options_for(const Nottingham& data) {
  return {data.grid, {8, 16}};
}

void BM_IndexFromShard(benchmark::State& state) {
  const Nottingham* data = require_nottingham(state);
  if (data == nullptr) return;
  size_t notes = 0;
  for (auto _ : state) {
    cadenza::OriginalityIndex index(options_for(*data));
    cadenza::add_training_pieces(index, *data->shard);
    notes = index.num_notes();
    benchmark::DoNotOptimize(notes);
  }
  state.counters["pieces"] = static_cast<double>(data->train.size());
  state.counters["notes"] = static_cast<double>(notes);
}
BENCHMARK(BM_IndexFromShard)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_IndexFromScores(benchmark::State& state) {
  const Nottingham* data = require_nottingham(state);
  if (data == nullptr) return;
  for (auto _ : state) {
    cadenza::OriginalityIndex index(options_for(*data));
    for (const auto& score : data->train) index.add(score, score.source);
    benchmark::DoNotOptimize(index.num_notes());
  }
}
BENCHMARK(BM_IndexFromScores)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Check100(benchmark::State& state) {
  const Nottingham* data = require_nottingham(state);
  if (data == nullptr) return;
  cadenza::OriginalityIndex index(options_for(*data));
  cadenza::add_training_pieces(index, *data->shard);
  size_t notes = 0;
  for (auto _ : state) {
    notes = 0;
    for (const auto& score : data->checked) notes += index.check(score).notes;
    benchmark::DoNotOptimize(notes);
  }
  state.counters["pieces"] = static_cast<double>(data->checked.size());
  state.counters["notes_per_second"] =
      benchmark::Counter(static_cast<double>(notes), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Check100)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_IndexAndCheck100(benchmark::State& state) {
  const Nottingham* data = require_nottingham(state);
  if (data == nullptr) return;
  for (auto _ : state) {
    cadenza::OriginalityIndex index(options_for(*data));
    cadenza::add_training_pieces(index, *data->shard);
    size_t copied = 0;
    for (const auto& score : data->checked) copied += index.check(score).longest.notes;
    benchmark::DoNotOptimize(copied);
  }
}
BENCHMARK(BM_IndexAndCheck100)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
