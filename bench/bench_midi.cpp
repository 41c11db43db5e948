// MIDI reader / writer throughput on the Nottingham files (all of nottingham/MIDI, melody/ and chords/).
// Files are preloaded into memory; one iteration handles every file once. The baselines in the same run (a
// byte scan + copy of the same bytes, and reading the files from the page cache) put the figures in proportion.
//
//   build-*/bench/bench_midi --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "bench_data.h"
#include "common/file_io.h"
#include "midi/midi.h"

namespace {

struct Corpus {
  std::vector<std::string> paths;
  std::vector<std::vector<uint8_t>> files;
  std::vector<cadenza::Score> scores;
  int64_t total_bytes = 0;
  int64_t total_written_bytes = 0;
};

const Corpus& corpus() {
  static const Corpus loaded = [] {
    Corpus corpus;
    corpus.paths = cadenza::bench::nottingham_midi_paths(/*recursive=*/true);
    for (const auto& path : corpus.paths) {
      corpus.files.push_back(cadenza::read_file_bytes(path));
      corpus.total_bytes += static_cast<int64_t>(corpus.files.back().size());
      corpus.scores.push_back(cadenza::read_midi(corpus.files.back(), path));
      corpus.total_written_bytes += static_cast<int64_t>(cadenza::write_midi(corpus.scores.back()).size());
    }
    return corpus;
  }();
  return loaded;
}

bool skip_without_data(benchmark::State& state) {
  if (!corpus().files.empty()) return false;
  state.SkipWithError("nottingham/MIDI not found under CADENZA_TEST_DATA_DIR");
  return true;
}

void set_counters(benchmark::State& state, int64_t bytes_per_iteration) {
  const auto& data = corpus();
  state.SetBytesProcessed(state.iterations() * bytes_per_iteration);
  state.counters["files_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations() * data.files.size()), benchmark::Counter::kIsRate);
  state.counters["files"] = static_cast<double>(data.files.size());
}

// Parse every preloaded file into a Score (seconds included).
void BM_MidiParse(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const auto& data = corpus();
  for (auto _ : state) {
    for (size_t i = 0; i < data.files.size(); ++i) {
      cadenza::Score score = cadenza::read_midi(data.files[i], data.paths[i]);
      benchmark::DoNotOptimize(score.tracks.data());
    }
  }
  set_counters(state, data.total_bytes);
}
BENCHMARK(BM_MidiParse)->Unit(benchmark::kMillisecond);

// Serialize every parsed Score back to SMF bytes; bytes/s counts the bytes written.
void BM_MidiWrite(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const auto& data = corpus();
  for (auto _ : state) {
    for (const auto& score : data.scores) {
      std::vector<uint8_t> bytes = cadenza::write_midi(score);
      benchmark::DoNotOptimize(bytes.data());
    }
  }
  set_counters(state, data.total_written_bytes);
}
BENCHMARK(BM_MidiWrite)->Unit(benchmark::kMillisecond);

// Baseline: touch every byte once (a sum) and copy it, roughly the least any parser must do.
void BM_BaselineScanAndCopy(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const auto& data = corpus();
  std::vector<uint8_t> buffer;
  for (auto _ : state) {
    uint64_t sum = 0;
    for (const auto& file : data.files) {
      buffer.resize(file.size());
      std::memcpy(buffer.data(), file.data(), file.size());
      for (uint8_t byte : buffer) sum += byte;
      benchmark::DoNotOptimize(buffer.data());
    }
    benchmark::DoNotOptimize(sum);
  }
  set_counters(state, data.total_bytes);
}
BENCHMARK(BM_BaselineScanAndCopy)->Unit(benchmark::kMillisecond);

// Baseline: read every file from the (warm) page cache, as read_midi_file does before parsing.
void BM_BaselineReadFiles(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const auto& data = corpus();
  for (auto _ : state) {
    for (const auto& path : data.paths) {
      std::vector<uint8_t> bytes = cadenza::read_file_bytes(path);
      benchmark::DoNotOptimize(bytes.data());
    }
  }
  set_counters(state, data.total_bytes);
}
BENCHMARK(BM_BaselineReadFiles)->Unit(benchmark::kMillisecond);

// End to end: read_midi_file (open + read + parse) for every file.
void BM_MidiReadFile(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const auto& data = corpus();
  for (auto _ : state) {
    for (const auto& path : data.paths) {
      cadenza::Score score = cadenza::read_midi_file(path);
      benchmark::DoNotOptimize(score.tracks.data());
    }
  }
  set_counters(state, data.total_bytes);
}
BENCHMARK(BM_MidiReadFile)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
