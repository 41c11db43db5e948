// The SIGKILL guarantee of `cadenza train`: a run killed at any moment, including while a checkpoint is being
// written, leaves checkpoints/last.safetensors loadable, `--resume` continues from it losing at most one checkpoint
// interval, and the temporary files of interrupted writes do not pile up.
//
// A tiny LSTM saves a checkpoint after every step (checkpoint_every=1) and logs every step, so that a kill at a
// random moment of the loop lands inside a checkpoint write about as often as not; the test kills it a dozen times,
// resuming after each kill, and counts how many kills caught a write in progress (its temporary file was there).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "common/safetensors.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::run_cadenza;
using testing::TempDir;

// Starts `cadenza ARGS...` with its output in `log`; returns its pid (the process itself, not a shell).
pid_t start_cadenza(const std::vector<std::string>& arguments, const std::string& log) {
  std::fflush(nullptr);  // or the child's freopen would write this process's buffered output a second time
  const pid_t child = ::fork();
  if (child == 0) {
    FILE* out = std::freopen(log.c_str(), "w", stdout);
    if (out == nullptr || ::dup2(STDOUT_FILENO, STDERR_FILENO) < 0) _exit(126);
    std::vector<char*> argv;
    std::string binary = CADENZA_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copies = arguments;
    for (auto& argument : copies) argv.push_back(argument.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return child;
}

// The steps of the train records in metrics.jsonl (a line cut by the kill is ignored, as --resume ignores it).
std::vector<int64_t> logged_steps(const std::string& metrics) {
  std::vector<int64_t> steps;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_discarded() && record.value("kind", "") == "train") steps.push_back(record["step"].get<int64_t>());
  }
  return steps;
}

// The step a checkpoint was saved at, reading it as --resume does first (torch-free: safetensors and metadata);
// fails the test when the file does not decode or lacks the loop state.
int64_t checkpoint_step(const std::string& path) {
  const safetensors::TensorFile file = safetensors::read(path);
  const auto training = nlohmann::json::parse(file.metadata.at("training"));
  EXPECT_FALSE(file.tensors.empty());
  return training.at("loop").at("step").get<int64_t>();
}

// Files in the run folder (recursively) whose names mark a temporary file of an atomic write.
std::vector<std::string> temporaries(const std::string& run) {
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(run))
    if (entry.path().filename().string().find(".tmp") != std::string::npos)
      found.push_back(entry.path().lexically_relative(run).string());
  std::sort(found.begin(), found.end());
  return found;
}

// 40 tunes that do not repeat themselves, prepared into a melody shard.
std::string prepare_shard(const TempDir& dir) {
  fs::create_directories(dir.file("tunes"));
  std::mt19937 random(3);
  for (int t = 0; t < 40; ++t) {
    Score score = make_empty_score(480, 120.0);
    Track track;
    int64_t tick = 0;
    for (int i = 0; i < 40; ++i) {
      const int64_t length = 240 * (1 + static_cast<int64_t>(random() % 3));
      track.notes.push_back({57 + static_cast<int>(random() % 20), 90, tick, tick + length});
      tick += length;
    }
    score.tracks.push_back(track);
    score.normalize();
    write_midi_file(score, dir.file("tunes/t" + std::to_string(t) + ".mid"));
  }
  const std::string shard = dir.file("tunes.cdz");
  const auto prepared = run_cadenza("dataset prepare --input " + dir.file("tunes") + " --out " + shard);
  EXPECT_EQ(prepared.exit_code, 0) << prepared.output;
  return shard;
}

TEST(CliKill, KilledTrainingAlwaysLeavesALoadableCheckpointAndResumes) {
  TempDir dir;
  const std::string shard = prepare_shard(dir);
  const std::string run = dir.file("run");
  const std::string last = run + "/checkpoints/last.safetensors";
  const std::string metrics = run + "/metrics.jsonl";
  const std::vector<std::string> fresh = {"train",
                                          "--model",
                                          "lstm",
                                          "--preset",
                                          "tiny",
                                          "--data",
                                          shard,
                                          "--out",
                                          run,
                                          "--steps",
                                          "100000",
                                          "--threads",
                                          "1",
                                          "--set",
                                          "checkpoint_every=1",
                                          "--set",
                                          "log_every=1",
                                          "--set",
                                          "eval_every=100000"};
  const std::vector<std::string> resume = {"train", "--model", "lstm", "--preset", "tiny",      "--data",
                                           shard,   "--out",   run,    "--resume", "--threads", "1"};

  std::mt19937 random(2024);
  int kills_during_a_write = 0, kills = 0;
  int64_t previous_checkpoint = -1;
  // Even rounds kill at a random moment of the loop; odd ones as soon as a checkpoint write is seen under way (its
  // temporary file exists), after a random few hundred microseconds. A few more rounds of the second kind follow
  // if no kill has caught a write yet.
  constexpr int kRounds = 12, kMaxRounds = 24;
  for (int round = 0; round < kRounds || (kills_during_a_write == 0 && round < kMaxRounds); ++round) {
    const bool resuming = fs::exists(last);
    const std::string log = dir.file("round" + std::to_string(round) + ".log");
    const pid_t child = start_cadenza(resuming ? resume : fresh, log);
    ASSERT_GT(child, 0);
    // Wait until the loop runs (libtorch and the shard load first), then kill at a random moment of it.
    const auto started = std::chrono::steady_clock::now();
    int status = 0;
    bool exited = false;
    while (true) {
      const std::vector<int64_t> steps = logged_steps(metrics);
      if (!steps.empty() && steps.back() > previous_checkpoint + 1) break;
      if (::waitpid(child, &status, WNOHANG) == child) {
        exited = true;
        break;
      }
      ASSERT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(120)) << read_file_text(log);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_FALSE(exited) << "round " << round << " ended by itself:\n" << read_file_text(log);
    if (round % 2 == 0 && round < kRounds) {
      std::this_thread::sleep_for(std::chrono::milliseconds(random() % 250));
    } else {
      const auto watching = std::chrono::steady_clock::now();
      while (!fs::exists(last + ".tmp") && std::chrono::steady_clock::now() - watching < std::chrono::seconds(10)) {
      }
      std::this_thread::sleep_for(std::chrono::microseconds(random() % 500));
    }
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ++kills;

    // At most one temporary file per target (the one the kill interrupted), never the old PATH.tmp.PID.N.
    const auto left = temporaries(run);
    for (const auto& name : left)
      EXPECT_TRUE(name == "checkpoints/last.safetensors.tmp" || name == "checkpoints/best.safetensors.tmp" ||
                  name == "metrics.jsonl.tmp" || name == "config.json.tmp")
          << name;
    if (std::find(left.begin(), left.end(), "checkpoints/last.safetensors.tmp") != left.end()) ++kills_during_a_write;

    // The last checkpoint loads and is at most one interval (one step) behind the last step the run logged.
    ASSERT_TRUE(fs::exists(last)) << "round " << round << ": no checkpoint after steps were logged";
    const int64_t saved = checkpoint_step(last);
    const std::vector<int64_t> steps = logged_steps(metrics);
    ASSERT_FALSE(steps.empty());
    EXPECT_GE(saved, steps.back() - 1) << "round " << round << ": more than one checkpoint interval lost";
    EXPECT_GE(saved, previous_checkpoint) << "round " << round << ": the checkpoint went backwards";
    previous_checkpoint = saved;
  }
  std::printf("%d of %d kills interrupted a checkpoint write\n", kills_during_a_write, kills);
  EXPECT_GE(kills_during_a_write, 1) << "no kill landed inside a checkpoint write: the test did not test that";

  // A last session, stopped cleanly with SIGINT, continues from the checkpoint and leaves no temporary file.
  const std::string log = dir.file("final.log");
  const pid_t child = start_cadenza(resume, log);
  const auto started = std::chrono::steady_clock::now();
  while (true) {
    const std::vector<int64_t> steps = logged_steps(metrics);
    if (!steps.empty() && steps.back() > previous_checkpoint + 2) break;
    ASSERT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(120)) << read_file_text(log);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(child, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << read_file_text(log);
  EXPECT_EQ(WEXITSTATUS(status), 130) << "an interrupted run exits 130\n" << read_file_text(log);
  EXPECT_GT(checkpoint_step(last), previous_checkpoint);
  EXPECT_EQ(temporaries(run), std::vector<std::string>{});
  // The log reads as one run: every step once, in order, up to the last checkpoint.
  const std::vector<int64_t> steps = logged_steps(metrics);
  for (size_t i = 0; i < steps.size(); ++i) ASSERT_EQ(steps[i], static_cast<int64_t>(i + 1)) << "metrics line " << i;

  const auto evaluated = run_cadenza("evaluate --checkpoint " + last + " --data " + shard + " --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  const auto result = nlohmann::json::parse(evaluated.output.substr(evaluated.output.find('{')));
  EXPECT_TRUE(std::isfinite(result["model"]["nll"].get<double>()));
}

}  // namespace
}  // namespace cadenza
