// Encode / decode throughput of every encoding on the Nottingham tunes (nottingham/MIDI/*.mid, melody + chords),
// preloaded as Scores (read_midi_file) so that only the encoding is timed. One iteration handles every file once.
// Counters: files_per_second, and tokens_per_second (token encodings) or cells_per_second (piano roll). The
// baselines in the same run put the figures in proportion: parsing the same files' MIDI bytes, and a plain
// deep copy of every Score (the least any pass over the notes costs).
//
//   build-*/bench/bench_encoding --benchmark_min_time=0.5
//
// Melody and performance are built by name through make_token_encoding(), with default specs; a file an
// encoding refuses (a melody too wide for its range) is left out of that encoding's runs and counted in
// "refused".
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "bench_data.h"
#include "common/error.h"
#include "common/file_io.h"
#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "midi/midi.h"

namespace {

struct Corpus {
  std::vector<std::string> paths;
  std::vector<std::vector<uint8_t>> files;
  std::vector<cadenza::Score> scores;
  int64_t total_notes = 0;
};

const Corpus& corpus() {
  static const Corpus loaded = [] {
    Corpus corpus;
    corpus.paths = cadenza::bench::nottingham_midi_paths(/*recursive=*/false);
    for (const auto& path : corpus.paths) {
      corpus.files.push_back(cadenza::read_file_bytes(path));
      corpus.scores.push_back(cadenza::read_midi_file(path));
      corpus.total_notes += static_cast<int64_t>(corpus.scores.back().note_count());
    }
    return corpus;
  }();
  return loaded;
}

bool skip_without_data(benchmark::State& state) {
  if (!corpus().scores.empty()) return false;
  state.SkipWithError("nottingham/MIDI not found under CADENZA_TEST_DATA_DIR");
  return true;
}

void set_rates(benchmark::State& state, size_t files, int64_t items, const char* item_name) {
  const double iterations = static_cast<double>(state.iterations());
  state.counters["files_per_second"] = benchmark::Counter(iterations * files, benchmark::Counter::kIsRate);
  state.counters[item_name] = benchmark::Counter(iterations * items, benchmark::Counter::kIsRate);
  state.counters["files"] = static_cast<double>(files);
}

// ---- baselines ---------------------------------------------------------------------------------------------

void BM_BaselineMidiParse(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const auto& data = corpus();
  for (auto _ : state)
    for (size_t i = 0; i < data.files.size(); ++i) {
      cadenza::Score score = cadenza::read_midi(data.files[i], data.paths[i]);
      benchmark::DoNotOptimize(score.tracks.data());
    }
  set_rates(state, data.files.size(), data.total_notes, "notes_per_second");
}
BENCHMARK(BM_BaselineMidiParse)->Unit(benchmark::kMillisecond);

void BM_BaselineCopyScores(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const auto& data = corpus();
  for (auto _ : state)
    for (const auto& score : data.scores) {
      cadenza::Score copy = score;
      benchmark::DoNotOptimize(copy.tracks.data());
    }
  set_rates(state, data.scores.size(), data.total_notes, "notes_per_second");
}
BENCHMARK(BM_BaselineCopyScores)->Unit(benchmark::kMillisecond);

// ---- token encodings ---------------------------------------------------------------------------------------

const char* const kTokenEncodings[] = {"melody", "performance", "remi"};

// An encoding with the scores it accepts and their tokens, built once per encoding name.
struct TokenCase {
  std::unique_ptr<cadenza::TokenEncoding> encoding;
  std::string error;  // why the encoding could not be built
  std::vector<const cadenza::Score*> scores;
  std::vector<std::vector<cadenza::Token>> tokens;
  int64_t total_tokens = 0;
  int refused = 0;
};

const TokenCase& token_case(int index) {
  static std::vector<std::unique_ptr<TokenCase>> cases(std::size(kTokenEncodings));
  auto& slot = cases[index];
  if (!slot) {
    slot = std::make_unique<TokenCase>();
    try {
      slot->encoding = cadenza::make_token_encoding({{"name", kTokenEncodings[index]}});
    } catch (const cadenza::Error& error) {
      slot->error = error.what();
      return *slot;
    }
    for (const auto& score : corpus().scores) {
      try {
        slot->tokens.push_back(slot->encoding->encode(score));
      } catch (const cadenza::Error&) {
        ++slot->refused;
        continue;
      }
      slot->scores.push_back(&score);
      slot->total_tokens += static_cast<int64_t>(slot->tokens.back().size());
    }
  }
  return *slot;
}

bool skip_token_case(benchmark::State& state, const TokenCase& token) {
  state.SetLabel(kTokenEncodings[state.range(0)]);
  if (!token.error.empty()) {
    state.SkipWithError(token.error.c_str());
    return true;
  }
  return false;
}

void BM_EncodeTokens(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const TokenCase& token = token_case(static_cast<int>(state.range(0)));
  if (skip_token_case(state, token)) return;
  for (auto _ : state)
    for (const cadenza::Score* score : token.scores) {
      auto tokens = token.encoding->encode(*score);
      benchmark::DoNotOptimize(tokens.data());
    }
  set_rates(state, token.scores.size(), token.total_tokens, "tokens_per_second");
  state.counters["refused"] = token.refused;
}
BENCHMARK(BM_EncodeTokens)->DenseRange(0, std::size(kTokenEncodings) - 1)->Unit(benchmark::kMillisecond);

void BM_DecodeTokens(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const TokenCase& token = token_case(static_cast<int>(state.range(0)));
  if (skip_token_case(state, token)) return;
  for (auto _ : state)
    for (const auto& tokens : token.tokens) {
      cadenza::Score score = token.encoding->decode(tokens);
      benchmark::DoNotOptimize(score.tracks.data());
    }
  set_rates(state, token.tokens.size(), token.total_tokens, "tokens_per_second");
}
BENCHMARK(BM_DecodeTokens)->DenseRange(0, std::size(kTokenEncodings) - 1)->Unit(benchmark::kMillisecond);

// ---- piano roll --------------------------------------------------------------------------------------------

// 12 steps per quarter (the tunes hold triplets), 88 keys, melody and chords in two tracks.
const cadenza::PianoRollEncoding& roll_encoding() {
  static const cadenza::PianoRollEncoding encoding(
      {.steps_per_quarter = 12, .lowest_pitch = 21, .highest_pitch = 108, .num_tracks = 2});
  return encoding;
}

struct RollCase {
  std::vector<cadenza::PianoRoll> rolls;
  int64_t total_cells = 0;
};

const RollCase& roll_case() {
  static const RollCase rolls = [] {
    RollCase result;
    for (const auto& score : corpus().scores) {
      result.rolls.push_back(roll_encoding().encode(score));
      result.total_cells += static_cast<int64_t>(result.rolls.back().cells.size());
    }
    return result;
  }();
  return rolls;
}

void BM_EncodePianoRoll(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const auto& data = corpus();
  const RollCase& rolls = roll_case();
  for (auto _ : state)
    for (const auto& score : data.scores) {
      cadenza::PianoRoll roll = roll_encoding().encode(score);
      benchmark::DoNotOptimize(roll.cells.data());
    }
  set_rates(state, data.scores.size(), rolls.total_cells, "cells_per_second");
}
BENCHMARK(BM_EncodePianoRoll)->Unit(benchmark::kMillisecond);

void BM_DecodePianoRoll(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const RollCase& rolls = roll_case();
  for (auto _ : state)
    for (const auto& roll : rolls.rolls) {
      cadenza::Score score = roll_encoding().decode(roll);
      benchmark::DoNotOptimize(score.tracks.data());
    }
  set_rates(state, rolls.rolls.size(), rolls.total_cells, "cells_per_second");
}
BENCHMARK(BM_DecodePianoRoll)->Unit(benchmark::kMillisecond);

void BM_PackPianoRollBits(benchmark::State& state) {
  if (skip_without_data(state)) return;
  const RollCase& rolls = roll_case();
  for (auto _ : state)
    for (const auto& roll : rolls.rolls) {
      auto bits = cadenza::pack_bits(roll);
      benchmark::DoNotOptimize(bits.data());
    }
  set_rates(state, rolls.rolls.size(), rolls.total_cells, "cells_per_second");
}
BENCHMARK(BM_PackPianoRollBits)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
