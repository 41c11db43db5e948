// `cadenza train`, `evaluate` and `generate` end to end on a small folder of tunes written by the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "common/file_io.h"
#include "common/safetensors.h"
#include "data/sha256.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::run_cadenza;

Score tune(int seed, int length) {
  Score score = make_empty_score(480, 120.0);
  Track track;
  track.name = "tune";
  for (int i = 0; i < length; ++i) track.notes.push_back({60 + (seed * 5 + i * 3) % 12, 90, i * 240, i * 240 + 240});
  score.tracks.push_back(track);
  score.normalize();
  return score;
}

// 40 tunes prepared into a melody shard (60/20/20 split).
struct PreparedTunes {
  testing::TempDir dir;
  std::string shard = dir.file("tunes.cdz");
  PreparedTunes() {
    fs::create_directories(dir.file("tunes"));
    for (int i = 0; i < 40; ++i)
      write_midi_file(tune(i, 24 + i % 9), dir.file("tunes/tune" + std::to_string(i) + ".mid"));
    const auto prepared = run_cadenza("dataset prepare --input " + dir.file("tunes") +
                                      " --encoding melody --split 0.6,0.2,0.2 --out " + shard);
    EXPECT_EQ(prepared.exit_code, 0) << prepared.output;
  }
};

std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

TEST(CliTrain, TrainEvaluateGenerateEndToEnd) {
  PreparedTunes data;
  const std::string run = data.dir.file("run");
  const auto trained = run_cadenza("train --model lstm --preset tiny --data " + data.shard + " --out " + run +
                                   " --steps 30 --set eval_every=15 --set log_every=5 --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("best validation NLL"), std::string::npos) << trained.output;
  EXPECT_TRUE(fs::exists(run + "/config.json"));
  EXPECT_TRUE(fs::exists(run + "/checkpoints/best.safetensors"));
  EXPECT_TRUE(fs::exists(run + "/checkpoints/last.safetensors"));
  const auto metrics = read_metrics(run + "/metrics.jsonl");
  int train_records = 0, valid_records = 0;
  for (const auto& record : metrics) {
    train_records += record["kind"] == "train";
    valid_records += record["kind"] == "valid";
  }
  EXPECT_EQ(train_records, 6);
  EXPECT_EQ(valid_records, 2);
  EXPECT_EQ(metrics.back()["kind"], "end");

  const auto evaluated = run_cadenza("evaluate --checkpoint " + run + " --data " + data.shard + " --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  const auto result = nlohmann::json::parse(evaluated.output.substr(evaluated.output.find('{')));
  EXPECT_GT(result["model"]["elements"].get<int64_t>(), 0);
  EXPECT_GT(result["model"]["nll"].get<double>(), 0.0);
  EXPECT_NEAR(result["model"]["perplexity"].get<double>(), std::exp(result["model"]["nll"].get<double>()), 1e-6);
  EXPECT_TRUE(result.contains("unigram_baseline"));

  const std::string out = data.dir.file("samples");
  const auto generated =
      run_cadenza("generate --checkpoint " + run + " --out " + out + " -n 2 --bars 4 --seed 7 --top-p 0.95");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  for (const char* name : {"sample_001.mid", "sample_002.mid"}) {
    const Score score = read_midi_file(out + "/" + name);
    EXPECT_GT(score.note_count(), 0u) << name;
    EXPECT_LE(score.end_tick(), 4 * 4 * score.ticks_per_quarter) << name << ": longer than the 4 bars asked for";
  }
  // Same seed, same piece.
  const auto again = run_cadenza("generate --checkpoint " + run + " --out " + data.dir.file("again") +
                                 " -n 1 --bars 4 --seed 7 --top-p 0.95");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(read_file_bytes(out + "/sample_001.mid"), read_file_bytes(data.dir.file("again/sample_001.mid")));
  // Beam search and a token primer.
  const auto beam = run_cadenza("generate --checkpoint " + run + " --out " + data.dir.file("beam") +
                                " --steps 24 --beam-size 3 --branch-factor 2 --primer-tokens \"NOTE_ON_60\"");
  ASSERT_EQ(beam.exit_code, 0) << beam.output;
  EXPECT_GT(read_midi_file(data.dir.file("beam/sample_001.mid")).note_count(), 0u);
}

// A shell script that runs a command in the background, waits until the run's metrics.jsonl holds more "train"
// records than when it started (the run has made progress: on a loaded machine loading libtorch alone takes seconds,
// so a fixed delay can interrupt a run before its first step), then sends it SIGINT and exits with its status.
std::string write_interrupt_script(const testing::TempDir& dir, const std::string& metrics) {
  const std::string path = dir.file("interrupt_after_progress.sh");
  std::ofstream(path) << "set -m\n"  // job control: a background job's SIGINT is not ignored
                      << "count() { local n; n=$(grep -c '\"kind\":\"train\"' '" << metrics
                      << "' 2>/dev/null); echo \"${n:-0}\"; }\n"
                      << "before=$(count)\n"
                      << "\"$@\" &\n"
                      << "pid=$!\n"
                      << "for i in $(seq 1 3000); do\n"
                      << "  [ \"$(count)\" -gt \"$before\" ] && break\n"
                      << "  kill -0 $pid 2>/dev/null || break\n"
                      << "  sleep 0.1\n"
                      << "done\n"
                      << "kill -INT $pid 2>/dev/null\n"
                      << "wait $pid\n";
  return path;
}

TEST(CliTrain, InterruptSavesAndResumeContinues) {
  PreparedTunes data;
  const std::string run = data.dir.file("run");
  // SIGINT once the run has logged a step, in a run far too long to finish by then; the same again for the resumed
  // run (once it has logged a step past the first run's).
  const std::string interrupt = "bash " + write_interrupt_script(data.dir, run + "/metrics.jsonl") + " " +
                                std::string(CADENZA_BINARY) + " train ";
  const std::string args = "--model gru --preset tiny --data " + data.shard + " --out " + run;
  const auto interrupted =
      testing::run_command(interrupt + args + " --steps 1000000 --set checkpoint_every=1000000 --threads 1");
  ASSERT_EQ(interrupted.exit_code, 130) << interrupted.output;
  EXPECT_NE(interrupted.output.find("(interrupted)"), std::string::npos) << interrupted.output;
  EXPECT_NE(interrupted.output.find("--resume"), std::string::npos) << interrupted.output;
  ASSERT_TRUE(fs::exists(run + "/checkpoints/last.safetensors"));
  const int64_t first_steps = read_metrics(run + "/metrics.jsonl").back()["step"].get<int64_t>();
  EXPECT_GT(first_steps, 0);

  // Starting again without --resume is refused; --resume with new settings is refused too.
  const auto again = run_cadenza("train " + args);
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
  const auto changed = run_cadenza("train " + args + " --resume --steps 5");
  EXPECT_NE(changed.exit_code, 0);

  const auto resumed = testing::run_command(interrupt + args + " --resume --threads 1");
  ASSERT_EQ(resumed.exit_code, 130) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
  const auto metrics = read_metrics(run + "/metrics.jsonl");
  EXPECT_GT(metrics.back()["step"].get<int64_t>(), first_steps) << "the resumed run made no progress";
  // The log reads as one run: train records strictly increase in step.
  int64_t previous = 0;
  for (const auto& record : metrics) {
    if (record["kind"] != "train") continue;
    EXPECT_GT(record["step"].get<int64_t>(), previous);
    previous = record["step"].get<int64_t>();
  }
}

// A piano-roll JSON in the benchmark's layout under a name the command has never seen: 3 pieces per split of
// 9..15 frames (never a whole 4/4 bar, one ending on a rest), 4-note chords and a moving voice.
nlohmann::json etudes_json() {
  std::mt19937 rng(7);
  nlohmann::json root = nlohmann::json::object();
  for (const char* split : {"train", "valid", "test"}) {
    nlohmann::json pieces = nlohmann::json::array();
    for (int p = 0; p < 3; ++p) {
      nlohmann::json piece = nlohmann::json::array();
      const int length = 9 + static_cast<int>(rng() % 7);
      for (int t = 0; t < length; ++t) {
        const int root_pitch = 48 + static_cast<int>(rng() % 12);
        piece.push_back({root_pitch, root_pitch + 4, root_pitch + 7, 64 + (t * 5 + p) % 12});
      }
      if (p == 1) piece.push_back(nlohmann::json::array());  // a trailing rest: a real frame, scored
      pieces.push_back(piece);
    }
    root[split] = pieces;
  }
  return root;
}

// The key-rate baseline computed here from the JSON itself: per-key rates over every training frame, clamped to
// [1e-6, 1 - 1e-6], scored on every test frame but the first of each piece, summed over 88 keys, frame-weighted.
double naive_key_rate_nll(const nlohmann::json& root, int64_t& scored) {
  std::vector<double> on(88, 0.0);
  double frames = 0;
  for (const auto& piece : root["train"])
    for (const auto& frame : piece) {
      frames += 1;
      for (int pitch : std::set<int>(frame.begin(), frame.end())) on[pitch - 21] += 1;
    }
  double nll = 0;
  scored = 0;
  for (const auto& piece : root["test"])
    for (size_t t = 1; t < piece.size(); ++t) {
      const std::set<int> sounding(piece[t].begin(), piece[t].end());
      for (int k = 0; k < 88; ++k) {
        const double p = std::clamp(on[k] / frames, 1e-6, 1 - 1e-6);
        nll -= sounding.count(k + 21) ? std::log(p) : std::log1p(-p);
      }
      ++scored;
    }
  return nll / static_cast<double>(scored);
}

TEST(CliTrain, BenchmarkRunsOnAnUnseenPianoRollFile) {
  testing::TempDir dir;
  const nlohmann::json etudes = etudes_json();
  const std::string etudes_text = etudes.dump();
  write_file_atomic(dir.file("etudes-tiny.json"), std::vector<uint8_t>(etudes_text.begin(), etudes_text.end()));
  const nlohmann::json published = {
      {"data", "made-up etudes"},
      {"results",
       {{{"model", "LSTM (made up)"}, {"family", "lstm"}, {"nll", 3.21}, {"source", "Nobody 2026, Table 9"}},
        {{"model", "TCN (made up)"}, {"nll", 2.5}, {"source", "Somebody 2025"}}}}};
  const std::string published_text = published.dump();
  write_file_atomic(dir.file("published.json"), std::vector<uint8_t>(published_text.begin(), published_text.end()));

  const auto result = run_cadenza("benchmark --data " + dir.file("etudes-tiny.json") +
                                  " --families lstm,rnn-nade --steps 20 --threads 1 --published " +
                                  dir.file("published.json") + " --out " + dir.file("bench"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::ifstream in(dir.file("bench/results.json"));
  const nlohmann::json results = nlohmann::json::parse(in);
  int64_t expected_scored = 0;
  bool partial_bar = false;  // padding to whole 4/4 bars would add frames to such a piece
  for (const auto& piece : etudes["test"]) {
    expected_scored += static_cast<int64_t>(piece.size()) - 1;
    partial_bar = partial_bar || piece.size() % 4 != 0;
  }
  ASSERT_TRUE(partial_bar) << "the test data must be able to tell padded from real frames";
  int64_t naive_scored = 0;
  const double naive_baseline = naive_key_rate_nll(etudes, naive_scored);
  ASSERT_EQ(naive_scored, expected_scored);

  // Labels from the file, sizes from the file: nothing of JSB.
  EXPECT_EQ(results["data"]["label"], "etudes-tiny.json");
  EXPECT_EQ(results["data"]["pieces"], nlohmann::json({{"train", 3}, {"valid", 3}, {"test", 3}}));
  EXPECT_EQ(results["preset"], "tiny");  // 3 short pieces of training data
  // Exactly the real frames are scored: no padding to a whole bar, the trailing rest kept.
  EXPECT_EQ(results["data"]["scored_frames"]["test"], expected_scored);
  EXPECT_NEAR(results["key_rate_baseline"]["test_nll"].get<double>(), naive_baseline, 1e-6);
  ASSERT_EQ(results["models"].size(), 2u);
  EXPECT_EQ(results["models"][0]["family"], "lstm");
  EXPECT_EQ(results["models"][1]["family"], "rnn_nade");
  for (const auto& row : results["models"]) {
    EXPECT_EQ(row["test_frames"], expected_scored) << row.dump();
    EXPECT_TRUE(std::isfinite(row["test_nll"].get<double>()) && row["test_nll"].get<double>() > 0) << row.dump();
    EXPECT_GT(row["parameters"].get<int64_t>(), 0);
    EXPECT_EQ(row["steps"], 20);
    EXPECT_GT(row["train_seconds"].get<double>(), 0.0);
  }

  std::ifstream md_in(dir.file("bench/results.md"));
  const std::string markdown((std::istreambuf_iterator<char>(md_in)), std::istreambuf_iterator<char>());
  for (const std::string& expected :
       {std::string("# Polyphonic benchmark on etudes-tiny.json"), std::string("train 3 / valid 3 / test 3 pieces"),
        std::to_string(expected_scored) + " test frames scored", std::string("| lstm | "), std::string("| rnn_nade | "),
        std::string("3.21 (LSTM (made up), Nobody 2026, Table 9)"),
        std::string("| TCN (made up) | 2.50 | Somebody 2025 |"), std::string("key-rate baseline")})
    EXPECT_NE(markdown.find(expected), std::string::npos) << expected << "\n" << markdown;
  EXPECT_EQ(markdown.find("chorale"), std::string::npos) << markdown;
  EXPECT_NE(result.output.find("3.21 (LSTM (made up)"), std::string::npos) << "the table is printed too";

  // `jsb-table` is the same command under its first name.
  const auto alias = run_cadenza("jsb-table --input " + dir.file("etudes-tiny.json") +
                                 " --families gru --steps 5 --threads 1 --out " + dir.file("alias"));
  ASSERT_EQ(alias.exit_code, 0) << alias.output;
  std::ifstream alias_in(dir.file("alias/results.json"));
  const nlohmann::json alias_results = nlohmann::json::parse(alias_in);
  ASSERT_EQ(alias_results["models"].size(), 1u);
  EXPECT_EQ(alias_results["models"][0]["test_frames"], expected_scored);
}

TEST(CliTrain, BenchmarkRefusesBadFilesClearly) {
  testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    write_file_atomic(dir.file(name), std::vector<uint8_t>(text.begin(), text.end()));
    return dir.file(name);
  };
  const std::string truncated = write("broken-set.json", R"({"train": [[[60, 64]]], "valid": [[[6)");
  auto result = run_cadenza("benchmark --data " + truncated + " --families lstm --steps 2 --out " + dir.file("o1"));
  EXPECT_CLI_ERROR(result, {"broken-set.json", "invalid JSON"});
  const std::string bad_pitch =
      write("bad-pitch.json", R"({"train": [[[60, "C4"]]], "valid": [[[60]]], "test": [[[60]]]})");
  result = run_cadenza("benchmark --data " + bad_pitch + " --families lstm --steps 2 --out " + dir.file("o2"));
  EXPECT_CLI_ERROR(result, {"bad-pitch.json", "split 'train' piece 0 step 0", "expected a pitch number"});
  const std::string no_valid = write("no-valid.json", R"({"train": [[[60], [62]]], "test": [[[60], [64]]]})");
  result = run_cadenza("benchmark --data " + no_valid + " --families lstm --steps 2 --out " + dir.file("o3"));
  EXPECT_CLI_ERROR(result, {"no-valid.json", "valid split is empty"});
  const std::string good =
      write("good.json", R"({"train": [[[60], [62]]], "valid": [[[60], [64]]], "test": [[[60], [64]]]})");
  const std::string published = write("published.json", R"({"results": [{"model": "LSTM", "source": "x"}]})");
  result = run_cadenza("benchmark --data " + good + " --families lstm --steps 2 --published " + published + " --out " +
                       dir.file("o4"));
  EXPECT_CLI_ERROR(result, {"published.json", "results[0]", "nll"});
  result = run_cadenza("benchmark --data " + good + " --families vae --steps 2 --out " + dir.file("o5"));
  EXPECT_CLI_ERROR(result, {"vae", "exact likelihood"});
}

TEST(CliTrain, BadInputsGetClearErrors) {
  PreparedTunes data;
  auto result =
      run_cadenza("train --model lstm --data " + data.dir.file("missing.cdz") + " --out " + data.dir.file("r"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("missing.cdz"), std::string::npos) << result.output;
  result =
      run_cadenza("train --model lstm --data " + data.shard + " --out " + data.dir.file("r") + " --set hiden_size=3");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("hiden_size"), std::string::npos) << result.output;
  // A checkpoint that is not one.
  write_file_atomic(data.dir.file("fake.safetensors"), std::vector<uint8_t>{1, 2, 3});
  result = run_cadenza("generate --checkpoint " + data.dir.file("fake.safetensors") + " --out " + data.dir.file("o"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("fake.safetensors"), std::string::npos) << result.output;
  result = run_cadenza("generate --model no-such-model --out " + data.dir.file("o"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("no-such-model"), std::string::npos) << result.output;
}

// `--device`: the CPU works by name and by auto (this CI has no GPU), a CUDA device that is not there and a
// malformed value are refused naming the value, before any work. (The CUDA runs themselves need a GPU machine.)
TEST(CliTrain, DeviceOptionCpuRunsAndAbsentCudaIsRefused) {
  PreparedTunes data;
  const std::string common = "--model lstm --preset tiny --steps 2 --threads 1 --data " + data.shard;
  const auto on_cpu = run_cadenza("train " + common + " --device cpu --out " + data.dir.file("cpu"));
  ASSERT_EQ(on_cpu.exit_code, 0) << on_cpu.output;
  const auto evaluated = run_cadenza("evaluate --checkpoint " + data.dir.file("cpu") + " --data " + data.shard +
                                     " --device cpu --no-baseline --threads 1");
  EXPECT_EQ(evaluated.exit_code, 0) << evaluated.output;
  EXPECT_CLI_ERROR(run_cadenza("train " + common + " --device gpu --out " + data.dir.file("gpu")),
                   {"--device gpu", "expected auto, cpu, cuda or cuda:N"});
  EXPECT_CLI_ERROR(run_cadenza("train " + common + " --device cuda:x --out " + data.dir.file("x")),
                   {"--device cuda:x", "cuda:N"});
  EXPECT_FALSE(fs::exists(data.dir.file("gpu"))) << "a refused run must not leave a run folder";
  // generate / sample: --device too; the families that generate on the CPU only say so whatever the machine has.
  const auto generated = run_cadenza("generate --checkpoint " + data.dir.file("cpu") + " --out " +
                                     data.dir.file("samples") + " -n 1 --bars 1 --device cpu");
  EXPECT_EQ(generated.exit_code, 0) << generated.output;
  EXPECT_CLI_ERROR(
      run_cadenza("generate --checkpoint " + data.dir.file("cpu") + " --out " + data.dir.file("s2") + " --device tpu"),
      {"--device tpu", "expected auto, cpu, cuda or cuda:N"});
  EXPECT_CLI_ERROR(run_cadenza("sample --model nottingham-gan --out " + data.dir.file("s3") + " --device cuda:0"),
                   {"--device cuda:0", "gan", "generates on the CPU only"});
  const auto probe = run_cadenza("train " + common + " --device cuda --out " + data.dir.file("cuda"));
  if (probe.exit_code == 0) GTEST_SKIP() << "SKIPPED the absent-CUDA refusal: this machine has a CUDA device";
  EXPECT_CLI_ERROR(probe, {"--device cuda", "no CUDA device is available", "--device cpu or auto"});
  EXPECT_CLI_ERROR(
      run_cadenza("evaluate --checkpoint " + data.dir.file("cpu") + " --data " + data.shard + " --device cuda:1"),
      {"--device cuda:1", "no CUDA device is available"});
}

// ---- fine-tuning: train --init-from

// The weights of a checkpoint by tensor name (optimizer state left out), as raw bytes for bit-exact comparison.
std::map<std::string, std::vector<uint8_t>> weight_bytes(const std::string& path) {
  std::map<std::string, std::vector<uint8_t>> weights;
  for (const auto& [name, tensor] : safetensors::read(path).tensors)
    if (name.rfind("optimizer.", 0) != 0) weights[name] = tensor.data;
  return weights;
}

nlohmann::json evaluate_json(const std::string& arguments) {
  const auto evaluated = run_cadenza("evaluate " + arguments + " --json --threads 1");
  EXPECT_EQ(evaluated.exit_code, 0) << evaluated.output;
  return nlohmann::json::parse(evaluated.output.substr(evaluated.output.find('{')));
}

TEST(CliTrain, PrecisionBf16TrainsCloseToFp32WithFp32WeightsAndABadValueIsRefused) {
  // CPU autocast runs the same bf16 code path as CUDA's: the forward pass in bf16, weights and checkpoint in fp32.
  PreparedTunes data;
  const std::string common = "--model transformer --preset tiny --steps 6 --threads 1 --data " + data.shard;
  const auto fp32 = run_cadenza("train " + common + " --out " + data.dir.file("fp32"));
  ASSERT_EQ(fp32.exit_code, 0) << fp32.output;
  const auto bf16 = run_cadenza("train " + common + " --precision bf16 --out " + data.dir.file("bf16"));
  ASSERT_EQ(bf16.exit_code, 0) << bf16.output;
  EXPECT_NE(bf16.output.find("bf16 autocast"), std::string::npos) << bf16.output;
  const auto checkpoint = safetensors::read(data.dir.file("bf16") + "/checkpoints/last.safetensors");
  ASSERT_FALSE(checkpoint.tensors.empty());
  for (const auto& [name, tensor] : checkpoint.tensors) {
    EXPECT_NE(tensor.dtype, safetensors::DType::kBF16) << name;
    EXPECT_NE(tensor.dtype, safetensors::DType::kF16) << name;
  }
  // Validation runs in fp32 on both; the bf16 run's weights took 6 slightly different steps.
  const std::string shard = " --data " + data.shard + " --no-baseline";
  const double nll_fp32 = evaluate_json("--checkpoint " + data.dir.file("fp32") + shard)["model"]["nll"];
  const double nll_bf16 = evaluate_json("--checkpoint " + data.dir.file("bf16") + shard)["model"]["nll"];
  EXPECT_NEAR(nll_bf16, nll_fp32, 0.02 * nll_fp32);
  EXPECT_NE(weight_bytes(data.dir.file("bf16") + "/checkpoints/last.safetensors"),
            weight_bytes(data.dir.file("fp32") + "/checkpoints/last.safetensors"))
      << "--precision bf16 changed nothing: autocast was not on";
  EXPECT_CLI_ERROR(run_cadenza("train " + common + " --precision fp16 --out " + data.dir.file("fp16")),
                   {"--precision fp16", "expected fp32 or bf16"});
  EXPECT_FALSE(fs::exists(data.dir.file("fp16"))) << "a refused run must not leave a run folder";
}

TEST(CliTrain, InitFromStartsFromTheSourceWeights) {
  PreparedTunes data;
  const std::string source = data.dir.file("source");
  const auto trained = run_cadenza("train --model lstm --preset tiny --data " + data.shard + " --out " + source +
                                   " --steps 20 --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const double source_valid =
      evaluate_json("--checkpoint " + source + " --data " + data.shard + " --split valid --no-baseline")["model"]["nll"]
          .get<double>();

  // One step at a vanishing learning rate: the validation after it scores (to ~1e-12) the weights the run started
  // from. They must be the source's; a run from fresh weights with the same settings scores far from them.
  const std::string still =
      " --steps 1 --set learning_rate=1e-12 --set min_learning_rate=0 --set weight_decay=0 "
      "--set eval_every=1 --set log_every=1 --set max_eval_pieces=0 --set eval_window=1024 "
      "--threads 1";
  const std::string tuned = data.dir.file("tuned");
  // The source's sampling defaults (generation.json beside its checkpoint) come with it.
  write_file_atomic(source + "/checkpoints/generation.json", std::string(R"({"temperature": 0.85})"));
  const auto fine_tuned =
      run_cadenza("train --init-from " + source + " --data " + data.shard + " --out " + tuned + still);
  ASSERT_EQ(fine_tuned.exit_code, 0) << fine_tuned.output;
  EXPECT_NE(fine_tuned.output.find("fine-tuning lstm from " + source), std::string::npos) << fine_tuned.output;
  EXPECT_NE(fine_tuned.output.find("sampling defaults: temperature 0.85, from " + source), std::string::npos)
      << fine_tuned.output;
  EXPECT_EQ(read_file_text(tuned + "/checkpoints/generation.json"), R"({"temperature": 0.85})");
  const auto metrics = read_metrics(tuned + "/metrics.jsonl");
  ASSERT_GE(metrics.size(), 2u);
  EXPECT_EQ(metrics[0]["step"], 1) << "a fine-tuning run starts at step 0";
  EXPECT_EQ(metrics[1]["kind"], "valid");
  EXPECT_NEAR(metrics[1]["nll"].get<double>(), source_valid, 1e-6);
  const auto fresh =
      run_cadenza("train --model lstm --preset tiny --data " + data.shard + " --out " + data.dir.file("fresh") + still);
  ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_FALSE(fs::exists(data.dir.file("fresh") + "/checkpoints/generation.json")) << "a new model has no defaults";
  EXPECT_GT(std::abs(read_metrics(data.dir.file("fresh") + "/metrics.jsonl")[1]["nll"].get<double>() - source_valid),
            0.05);

  // Provenance: the run config (and so every checkpoint) names the source, its file and its checksum; the model is
  // the source's; the training options are the fine-tuning preset's unless set.
  const auto config = nlohmann::json::parse(read_file_text(tuned + "/config.json"));
  const std::string source_file = source + "/checkpoints/best.safetensors";
  EXPECT_EQ(config["fine_tune"]["init_from"], source);
  EXPECT_EQ(config["fine_tune"]["checkpoint"], source_file);
  EXPECT_EQ(config["fine_tune"]["sha256"], sha256_file_hex(source_file));
  const auto source_config = nlohmann::json::parse(read_file_text(source + "/config.json"));
  EXPECT_EQ(config["model"], source_config["model"]);
  const auto stored =
      nlohmann::json::parse(safetensors::read(tuned + "/checkpoints/best.safetensors").metadata.at("training"));
  EXPECT_EQ(stored["config"]["fine_tune"]["sha256"], sha256_file_hex(source_file));
  const auto preset = run_cadenza("train --init-from " + source + " --data " + data.shard + " --out " +
                                  data.dir.file("p") + " --print-config");
  ASSERT_EQ(preset.exit_code, 0) << preset.output;
  const auto printed = nlohmann::json::parse(preset.output.substr(preset.output.find('{')));
  // The default preset (small) of the lstm trains at 2e-3 with 200 warm-up steps: a tenth and a quarter of them.
  EXPECT_DOUBLE_EQ(printed["train"]["learning_rate"].get<double>(), 2e-4);
  EXPECT_EQ(printed["train"]["warmup_steps"], 50);
  EXPECT_EQ(printed["fine_tune"]["freeze"], nlohmann::json::array());
}

TEST(CliTrain, FrozenGroupsKeepTheirWeights) {
  PreparedTunes data;
  for (const std::string family : {"lstm", "transformer"}) {
    SCOPED_TRACE(family);
    const std::string source = data.dir.file(family + "_source");
    const auto trained = run_cadenza("train --model " + family + " --preset tiny --set num_layers=2 --data " +
                                     data.shard + " --out " + source + " --steps 5 --threads 1");
    ASSERT_EQ(trained.exit_code, 0) << trained.output;
    const std::string tuned = data.dir.file(family + "_tuned");
    const auto fine_tuned =
        run_cadenza("train --init-from " + source + " --freeze embedding,layers:0 --data " + data.shard + " --out " +
                    tuned + " --steps 5 --set learning_rate=1e-2 --set warmup_steps=0 --threads 1");
    ASSERT_EQ(fine_tuned.exit_code, 0) << fine_tuned.output;
    const auto before = weight_bytes(source + "/checkpoints/best.safetensors");
    const auto after = weight_bytes(tuned + "/checkpoints/last.safetensors");
    ASSERT_EQ(before.size(), after.size());
    int frozen = 0, trained_tensors = 0;
    for (const auto& [name, bytes] : before) {
      const bool layer0 = name.find("_l0") != std::string::npos || name.rfind("blocks.0.", 0) == 0;
      if (name.rfind("embedding.", 0) == 0 || layer0) {
        EXPECT_EQ(after.at(name), bytes) << name << " is frozen but changed";
        ++frozen;
      } else if (name.find("weight") != std::string::npos) {
        EXPECT_NE(after.at(name), bytes) << name << " is not frozen but did not train";
        ++trained_tensors;
      }
    }
    EXPECT_GE(frozen, 3);
    EXPECT_GE(trained_tensors, 2);
    const auto config = nlohmann::json::parse(read_file_text(tuned + "/config.json"));
    EXPECT_EQ(config["fine_tune"]["freeze"], (nlohmann::json{"embedding", "layers:0"}));
    EXPECT_GT(config["fine_tune"]["frozen_parameters"].get<int64_t>(), 0);
  }
}

TEST(CliTrain, InitFromRefusesWhatDoesNotFit) {
  PreparedTunes data;
  const std::string source = data.dir.file("source");
  const auto trained = run_cadenza("train --model lstm --preset tiny --data " + data.shard + " --out " + source +
                                   " --steps 2 --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const std::string base = "train --init-from " + source + " --data " + data.shard + " --out " + data.dir.file("r");
  // Data in another vocabulary: both encodings and both vocabulary sizes are named.
  const std::string wider = data.dir.file("wider.cdz");
  const auto prepared = run_cadenza("dataset prepare --input " + data.dir.file("tunes") +
                                    " --encoding melody --set min_pitch=36 --out " + wider);
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  const int64_t source_vocabulary =
      nlohmann::json::parse(read_file_text(source + "/config.json"))["model"]["vocab_size"].get<int64_t>();
  auto result = run_cadenza("train --init-from " + source + " --data " + wider + " --out " + data.dir.file("r"));
  EXPECT_CLI_ERROR(result, {"wider.cdz", "does not match", "\"min_pitch\":36", "\"min_pitch\":48",
                            "vocabulary " + std::to_string(source_vocabulary + 12) + " vs " +
                                std::to_string(source_vocabulary) + " tokens",
                            "dataset prepare ... --set min_pitch=48)"});
  result = run_cadenza(base + " --freeze embedding,decoder --steps 1");
  EXPECT_CLI_ERROR(result, {"unknown parameter group \"decoder\"", "(valid: embedding, head, rnn, layers, layers:0)"});
  result = run_cadenza(base + " --freeze embedding,head,rnn --steps 1");
  EXPECT_CLI_ERROR(result, {"freezes every parameter"});
  result = run_cadenza(base + " --model gru");
  EXPECT_CLI_ERROR(result, {"--model gru conflicts with --init-from", "lstm"});
  result = run_cadenza(base + " --set hidden_size=32");
  EXPECT_CLI_ERROR(result, {"--set hidden_size=32", "takes the model from"});
  result = run_cadenza("train --data " + data.shard + " --out " + source + " --resume --init-from " + source);
  EXPECT_CLI_ERROR(result, {"--resume", "--init-from"});
  result = run_cadenza("train --data " + data.shard + " --out " + data.dir.file("r") + " --freeze embedding");
  EXPECT_CLI_ERROR(result, {"--freeze needs --init-from"});
  result = run_cadenza("train --init-from no-such-model --data " + data.shard + " --out " + data.dir.file("r"));
  EXPECT_CLI_ERROR(result, {"--init-from no-such-model", "no bundled model named \"no-such-model\""});
  result = run_cadenza("train --init-from " + data.dir.file("nothing/here") + " --data " + data.shard + " --out " +
                       data.dir.file("r"));
  EXPECT_CLI_ERROR(result, {"nothing/here", "no such checkpoint file or run folder"});
}

TEST(CliTrain, InitFromABundledModelByName) {
  PreparedTunes data;
  // The bundled Nottingham lstm reads whole tunes moved to C major / A minor (the melody encoding with
  // structure=true and one_key=true): the test tunes are prepared the same way.
  const std::string shard = data.dir.file("whole_tunes.cdz");
  const auto prepared = run_cadenza("dataset prepare --input " + data.dir.file("tunes") +
                                    " --encoding melody --set structure=true --set one_key=true --split 0.6,0.2,0.2"
                                    " --out " +
                                    shard);
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  const auto printed = run_cadenza("train --init-from nottingham-lstm --data " + shard + " --out " +
                                   data.dir.file("r") + " --print-config");
  ASSERT_EQ(printed.exit_code, 0) << printed.output;
  // Whole tunes in their own keys do not fit it: the error says what to prepare them with.
  const std::string own_keys = data.dir.file("own_keys.cdz");
  ASSERT_EQ(run_cadenza("dataset prepare --input " + data.dir.file("tunes") +
                        " --encoding melody --set structure=true --split 0.6,0.2,0.2 --out " + own_keys)
                .exit_code,
            0);
  EXPECT_CLI_ERROR(
      run_cadenza("train --init-from nottingham-lstm --data " + own_keys + " --out " + data.dir.file("r2")),
      {"own_keys.cdz does not match the checkpoint to fine-tune", "dataset prepare ... --set one_key=true)"});
  const auto config = nlohmann::json::parse(printed.output.substr(printed.output.find('{')));
  EXPECT_EQ(config["model"]["family"], "lstm");
  EXPECT_EQ(config["model"]["hidden_size"], 192);
  EXPECT_NE(config["fine_tune"]["checkpoint"].get<std::string>().find("nottingham-lstm/model.safetensors"),
            std::string::npos);
}
}  // namespace
}  // namespace cadenza
