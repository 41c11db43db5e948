// Data-parallel training (src/train/distributed.h, docs/distributed.md) end to end: `cadenza train` in two processes
// over Gloo on loopback computes what one process computes, stops together, resumes with another number of
// processes, names a rank that hangs, refuses what it cannot split, and runs under torchrun.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_fixtures.h"
#include "common/safetensors.h"
#include "support/shell_quote.h"
#include "support/test_support.h"

extern char** environ;

namespace cadenza::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A TCP port that was free a moment ago (the store binds it right after).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One process started with a shell line (its output in `log`); `pid` is cadenza's own (the shell execs it).
struct Process {
  pid_t pid = -1;
  std::string log;
  int status = -1;
  bool finished = false;

  Process(const std::string& line, std::string log_path) : log(std::move(log_path)) {
    const std::string script = "exec " + line + " > " + shell_quote(log) + " 2>&1";
    const char* argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
    EXPECT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  }
  // Waits up to `limit`; true when the process ended.
  bool wait_for(std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!finished) {
      const pid_t done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid) finished = true;
      if (finished || Clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return finished;
  }
  int exit_code() const { return finished && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
  std::string output() const { return read_text(log); }
  // Waits until the log holds `text` (true) or the process ended / the limit passed (false).
  bool wait_for_output(const std::string& text, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (output().find(text) != std::string::npos) return true;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        finished = true;
        return output().find(text) != std::string::npos;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  ~Process() {
    if (!finished && pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
  }
};

// `cadenza ARGS` as rank r of `world` (what torchrun would set), its output in DIR/rank_r.log.
std::unique_ptr<Process> start_rank(int rank, int world, int port, const std::string& arguments,
                                    const std::string& dir) {
  const std::string line = "env RANK=" + std::to_string(rank) + " WORLD_SIZE=" + std::to_string(world) +
                           " LOCAL_RANK=" + std::to_string(rank) + " LOCAL_WORLD_SIZE=" + std::to_string(world) +
                           " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " " +
                           shell_quote(CADENZA_BINARY) + " " + arguments;
  return std::make_unique<Process>(line, dir + "/rank_" + std::to_string(rank) + ".log");
}

// Runs `cadenza ARGS` in `world` processes and waits for all; returns their exit codes (and fails on a hang).
std::vector<int> run_ranks(int world, const std::string& arguments, const std::string& dir,
                           std::vector<std::string>* outputs = nullptr) {
  const int port = free_port();
  std::vector<std::unique_ptr<Process>> ranks;
  for (int r = 0; r < world; ++r) ranks.push_back(start_rank(r, world, port, arguments, dir));
  std::vector<int> codes;
  for (auto& rank : ranks) {
    EXPECT_TRUE(rank->wait_for(std::chrono::seconds(240))) << "a rank did not finish: " << rank->output();
    codes.push_back(rank->exit_code());
    if (outputs) outputs->push_back(rank->output());
  }
  return codes;
}

// Largest absolute difference over every tensor two checkpoints share (weights and optimizer state); fails when
// their tensor names differ.
double max_difference(const std::string& a_path, const std::string& b_path) {
  const auto a = safetensors::read(a_path), b = safetensors::read(b_path);
  EXPECT_EQ(a.tensors.size(), b.tensors.size());
  double worst = 0;
  for (const auto& [name, tensor] : a.tensors) {
    if (tensor.dtype != safetensors::DType::kF32) continue;
    const auto other = b.tensors.find(name);
    if (other == b.tensors.end()) {
      ADD_FAILURE() << name << " is in " << a_path << " but not in " << b_path;
      continue;
    }
    const std::vector<float> x = tensor.to_f32(), y = other->second.to_f32();
    EXPECT_EQ(x.size(), y.size()) << name;
    for (size_t i = 0; i < std::min(x.size(), y.size()); ++i)
      worst = std::max(worst, static_cast<double>(std::fabs(x[i] - y[i])));
  }
  return worst;
}

// After one optimizer step Adam's first moment is (1 - beta1) * gradient, so a checkpoint written then holds the
// gradient of each parameter: two runs took the same step when their moments agree to float rounding (1e-5 of the
// tensor's largest, plus 1e-9 for tensors whose gradient is pure rounding, such as a bias just before a batch norm,
// which the normalisation cancels). Their weights then agree to 1e-5 wherever the gradient is not tiny: Adam's first
// update is lr * g / (|g| + 1e-8), so where |g| is below 1e-6 it turns rounding in g into a visible part of lr (and
// a WGAN's critic at initialisation has many such elements); those are only held within 2.5 lr. Returns the number
// of elements held to 1e-5.
int64_t expect_same_first_step(const std::string& a_path, const std::string& b_path, double beta1,
                               double learning_rate) {
  const auto a = safetensors::read(a_path), b = safetensors::read(b_path);
  EXPECT_EQ(a.tensors.size(), b.tensors.size());
  int64_t checked = 0;
  for (const auto& [name, tensor] : a.tensors) {
    if (tensor.dtype != safetensors::DType::kF32) continue;
    const auto other = b.tensors.find(name);
    if (other == b.tensors.end()) {
      ADD_FAILURE() << name << " is in " << a_path << " but not in " << b_path;
      continue;
    }
    const std::vector<float> x = tensor.to_f32(), y = other->second.to_f32();
    if (x.size() != y.size()) {
      ADD_FAILURE() << name << ": " << x.size() << " vs " << y.size() << " elements";
      continue;
    }
    if (name.rfind("optimizer.", 0) == 0) {
      const std::string suffix = ".exp_avg";  // (exp_avg_sq holds g^2: the same check, squared)
      if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      double largest = 0, worst = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        largest = std::max(largest, static_cast<double>(std::fabs(x[i])));
        worst = std::max(worst, static_cast<double>(std::fabs(x[i] - y[i])));
      }
      EXPECT_LE(worst, 1e-5 * largest + 1e-9) << name << " (the gradient) differs; its largest element is " << largest;
      continue;
    }
    const auto first_moment = a.tensors.find("optimizer." + name + ".exp_avg");
    std::vector<float> moment;  // buffers (batch-norm running statistics) have none: always held to 1e-5
    if (first_moment != a.tensors.end()) moment = first_moment->second.to_f32();
    for (size_t i = 0; i < x.size(); ++i) {
      const double difference = std::fabs(x[i] - y[i]);
      const bool tiny_gradient = !moment.empty() && std::fabs(moment[i]) / (1 - beta1) < 1e-6;
      if (!tiny_gradient) {
        ++checked;
        if (difference >= 1e-5) {
          ADD_FAILURE() << name << "[" << i << "] differs by " << difference;
          break;
        }
      } else if (difference > 2.5 * learning_rate) {
        ADD_FAILURE() << name << "[" << i << "] (gradient below 1e-6) differs by " << difference;
        break;
      }
    }
  }
  return checked;
}

class DataParallel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { shards_ = new TwoTrackShards(); }
  static void TearDownTestSuite() {
    delete shards_;
    shards_ = nullptr;
  }
  static TwoTrackShards* shards_;
  TempDir dir_;

  // A small deterministic run: no dropout (each rank draws its own masks), validation every 4 steps. Crops of 160
  // tokens are longer than many of the tunes, so the two ranks' halves of a batch hold different numbers of real
  // tokens: averaging their gradients without weighting by those counts fails the equality below.
  static std::string train_arguments(const std::string& family, const std::string& out, int steps) {
    // The NADE hybrids read piano-roll frames, the others the melody tokens.
    const std::string& data = family.find("nade") != std::string::npos ? shards_->roll : shards_->melody;
    return "train --model " + family + " --preset tiny --data " + shell_quote(data) + " --out " + shell_quote(out) +
           " --steps " + std::to_string(steps) +
           " --set dropout=0 --set batch_size=8 --set eval_every=4 --set log_every=2 --set checkpoint_every=4 "
           "--set crop_length=160 "
           "--threads 1";
  }
};
TwoTrackShards* DataParallel::shards_ = nullptr;

TEST_F(DataParallel, TwoProcessesComputeWhatOneComputes) {
  for (const std::string family : {"lstm", "transformer", "rnn_nade"}) {
    SCOPED_TRACE(family);
    const std::string one = dir_.file(family + "-one"), two = dir_.file(family + "-two");
    const auto single = run_cadenza(train_arguments(family, one, 8));
    ASSERT_EQ(single.exit_code, 0) << single.output;
    std::vector<std::string> outputs;
    const auto codes = run_ranks(2, train_arguments(family, two, 8), dir_.path().string(), &outputs);
    ASSERT_EQ(codes, (std::vector<int>{0, 0})) << outputs[0] << "\n---\n" << outputs[1];
    // Weights and Adam's moments after 8 steps: the same to float rounding (the sums run in another order).
    const double weights = max_difference(one + "/checkpoints/last.safetensors", two + "/checkpoints/last.safetensors");
    EXPECT_LT(weights, 1e-5);
    EXPECT_LT(max_difference(one + "/checkpoints/best.safetensors", two + "/checkpoints/best.safetensors"), 1e-5);
    // Rank 0 reports the run; rank 1 says only where it stands.
    EXPECT_NE(outputs[0].find("rank 0 of 2"), std::string::npos) << outputs[0];
    EXPECT_NE(outputs[0].find("stopped after step 8"), std::string::npos) << outputs[0];
    EXPECT_NE(outputs[1].find("rank 1 of 2"), std::string::npos) << outputs[1];
    EXPECT_EQ(outputs[1].find("stopped after step"), std::string::npos) << outputs[1];
    // The sharded validation gives what one process measures.
    const auto valid_nll = [](const std::string& run) {
      std::ifstream in(run + "/metrics.jsonl");
      std::string line, last;
      while (std::getline(in, line))
        if (line.find("\"kind\":\"valid\"") != std::string::npos) last = line;
      const auto at = last.find("\"nll\":");
      return at == std::string::npos ? -1.0 : std::stod(last.substr(at + 6));
    };
    EXPECT_GT(valid_nll(one), 0);
    EXPECT_NEAR(valid_nll(one), valid_nll(two), 1e-5);
  }
}

// The latent families draw their random numbers (the VAE's epsilon, the GANs' noise and penalty mixing) for the
// whole global batch on every rank and keep their rows; MuseGAN's generator takes its batch-norm statistics over the
// global batch. A few steps of tiny models, batch 8: rank 1's half of the rows differs from rank 0's, so a rank that
// used its own noise, its own batch statistics, or skipped one of a GAN's all-reduces would drift away from the
// one-process run at the first step (checked by hand: per-rank seeds, per-slice batch norm, and an unsynchronised
// generator step each fail this test).
TEST_F(DataParallel, LatentFamiliesInTwoProcessesComputeWhatOneComputes) {
  struct Case {
    std::string name, arguments;
    bool scored;                   // validation has a score (the VAE's ELBO), sharded over the ranks
    std::string extra;             // a figure of the family's training records, reduced over the ranks
    bool first_step_only = false;  // compare the gradients of one step (expect_same_first_step), not K steps' weights
  };
  const std::string common = " --set batch_size=8 --set log_every=1 --threads 1";
  const std::vector<Case> cases = {
      // The bundled model's kind: 2 bars of melody tokens, flat decoder.
      {"vae",
       "--model vae --preset tiny --data " + shell_quote(shards_->melody) +
           " --steps 6 --set eval_every=3 --set checkpoint_every=3 --set free_bits=4" + common,
       true, "kl_bits"},
      // The hierarchical decoder (4 bars, a conductor step per bar).
      {"vae-4bars",
       "--model vae --preset tiny --bars 4 --data " + shell_quote(shards_->melody) +
           " --steps 4 --set eval_every=2 --set checkpoint_every=2" + common,
       true, "reconstruction_per_step"},
      // Multi-track piano-roll frames.
      {"vae-frames",
       "--model vae --preset tiny --data " + shell_quote(shards_->roll) +
           " --steps 4 --set eval_every=2 --set checkpoint_every=2" + common,
       true, "reconstruction_per_step"},
      // A critic step and a generator step, each synchronised, batch norm in the generator. One step: a WGAN's
      // first Adam steps turn the rounding in near-zero gradients into differences of lr's size, which the next
      // steps spread (see expect_same_first_step), so after several steps one and two processes differ by ~1e-3
      // (as two one-process runs would after a rounding-level change) however exact the synchronisation is.
      {"musegan",
       "--model gan --preset tiny --data " + shell_quote(shards_->roll) +
           " --steps 1 --set critic_steps=1 --set eval_every=1 --set checkpoint_every=1 --set eval_samples=4" + common,
       false, "gradient_penalty", true},
      {"crnngan",
       "--model rgan --preset tiny --data " + shell_quote(shards_->melody) +
           " --steps 6 --set eval_every=3 --set checkpoint_every=3" + common,
       false, "discriminator_accuracy"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string one = dir_.file(c.name + "-one"), two = dir_.file(c.name + "-two");
    const auto single = run_cadenza("train " + c.arguments + " --out " + shell_quote(one));
    ASSERT_EQ(single.exit_code, 0) << single.output;
    std::vector<std::string> outputs;
    const auto codes =
        run_ranks(2, "train " + c.arguments + " --out " + shell_quote(two), dir_.path().string(), &outputs);
    ASSERT_EQ(codes, (std::vector<int>{0, 0})) << outputs[0] << "\n---\n" << outputs[1];
    EXPECT_NE(outputs[1].find("rank 1 of 2"), std::string::npos) << outputs[1];
    if (c.first_step_only) {
      // MuseGAN's preset: Adam betas (0.5, 0.9), lr 1e-3. Most of the elements must be compared at 1e-5.
      const int64_t checked = expect_same_first_step(one + "/checkpoints/last.safetensors",
                                                     two + "/checkpoints/last.safetensors", 0.5, 1e-3);
      EXPECT_GT(checked, 10000);
    } else {
      // Weights, batch-norm running statistics and Adam's moments: the same to float rounding.
      EXPECT_LT(max_difference(one + "/checkpoints/last.safetensors", two + "/checkpoints/last.safetensors"), 1e-5);
    }
    // The figures in metrics.jsonl are the global batch's: the last training record's loss and the last
    // validation's score agree with one process.
    const auto last_number = [](const std::string& run, const std::string& kind, const std::string& key) {
      std::ifstream in(run + "/metrics.jsonl");
      std::string line, last;
      while (std::getline(in, line))
        if (line.find("\"kind\":\"" + kind + "\"") != std::string::npos) last = line;
      const auto at = last.find("\"" + key + "\":");
      return at == std::string::npos ? NAN : std::stod(last.substr(at + key.size() + 3));
    };
    const double loss_one = last_number(one, "train", "loss"), loss_two = last_number(two, "train", "loss");
    EXPECT_TRUE(std::isfinite(loss_one)) << read_text(one + "/metrics.jsonl");
    EXPECT_NEAR(loss_one, loss_two, 1e-4 * std::max(1.0, std::fabs(loss_one)));
    const double extra_one = last_number(one, "train", c.extra);
    EXPECT_TRUE(std::isfinite(extra_one)) << c.extra << ": " << read_text(one + "/metrics.jsonl");
    EXPECT_NEAR(extra_one, last_number(two, "train", c.extra), 1e-4 * std::max(1.0, std::fabs(extra_one))) << c.extra;
    if (c.scored) {
      const double elbo_one = last_number(one, "valid", "elbo_per_step");
      EXPECT_GT(elbo_one, 0) << read_text(one + "/metrics.jsonl");
      EXPECT_NEAR(elbo_one, last_number(two, "valid", "elbo_per_step"), 1e-5);
      EXPECT_LT(max_difference(one + "/checkpoints/best.safetensors", two + "/checkpoints/best.safetensors"), 1e-5);
    }
  }
}

TEST_F(DataParallel, OneRanksCtrlCStopsBothAndTheRunResumesInOneProcess) {
  const std::string straight = dir_.file("straight"), split = dir_.file("split");
  // Small enough that 400 steps take seconds, long enough that the run is still going when the signal comes.
  const std::string small =
      " --set hidden_size=16 --set crop_length=24 --set eval_every=100 --set "
      "checkpoint_every=100 --set log_every=1";
  const auto single = run_cadenza(train_arguments("lstm", straight, 400) + small);
  ASSERT_EQ(single.exit_code, 0) << single.output;

  const int port = free_port();
  auto rank0 = start_rank(0, 2, port, train_arguments("lstm", split, 400) + small, dir_.path().string());
  auto rank1 = start_rank(1, 2, port, train_arguments("lstm", split, 400) + small, dir_.path().string());
  ASSERT_TRUE(rank0->wait_for_output("step 3/400", std::chrono::seconds(120))) << rank0->output();
  ::kill(rank1->pid, SIGINT);  // Ctrl-C on rank 1 only: rank 0 must learn of it and stop at the same step
  ASSERT_TRUE(rank0->wait_for(std::chrono::seconds(60))) << rank0->output();
  ASSERT_TRUE(rank1->wait_for(std::chrono::seconds(60))) << rank1->output();
  EXPECT_EQ(rank0->exit_code(), 130) << rank0->output();
  EXPECT_EQ(rank1->exit_code(), 130) << rank1->output();
  const std::string said = rank0->output();
  const auto at = said.find("stopped after step ");
  ASSERT_NE(at, std::string::npos) << said;
  const int stopped = std::stoi(said.substr(at + 19));
  EXPECT_NE(said.find("(interrupted)"), std::string::npos) << said;
  ASSERT_LT(stopped, 400) << "the run ended before the interrupt arrived: the test proves nothing";

  // Resumed in one process (another number of processes), it ends where the straight run ended.
  const auto resumed = run_cadenza("train --model lstm --data " + shell_quote(shards_->melody) + " --out " +
                                   shell_quote(split) + " --resume --threads 1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("stopped after step 400"), std::string::npos) << resumed.output;
  EXPECT_LT(max_difference(straight + "/checkpoints/last.safetensors", split + "/checkpoints/last.safetensors"), 1e-4);
}

TEST_F(DataParallel, AHungRankIsNamedWithinTheTimeout) {
  const std::string run = dir_.file("hung");
  const int port = free_port();
  const std::string arguments = train_arguments("lstm", run, 100000) +
                                " --set hidden_size=16 --set crop_length=24 --set log_every=1 --set eval_every=1000 "
                                "--set checkpoint_every=5 --distributed-timeout 5";
  auto rank0 = start_rank(0, 2, port, arguments, dir_.path().string());
  auto rank1 = start_rank(1, 2, port, arguments, dir_.path().string());
  ASSERT_TRUE(rank0->wait_for_output("step 12/", std::chrono::seconds(120))) << rank0->output();
  ::kill(rank1->pid, SIGSTOP);  // rank 1 hangs (stopped, its sockets still open)
  const auto stopped_at = Clock::now();
  ASSERT_TRUE(rank0->wait_for(std::chrono::seconds(60))) << "rank 0 still waits a minute later: " << rank0->output();
  const double waited = std::chrono::duration<double>(Clock::now() - stopped_at).count();
  ::kill(rank1->pid, SIGKILL);
  rank1->wait_for(std::chrono::seconds(10));
  EXPECT_LT(waited, 30.0);
  EXPECT_GE(waited, 4.0);  // it waited for the timeout, not less
  EXPECT_CLI_ERROR_CODE("rank 0 of a hung pair", rank0->exit_code(), rank0->output(), 1,
                        {"distributed training", "rank 0 of 2", "rank 1 is gone (died or hangs)"});
  // What rank 0 wrote last is a whole checkpoint.
  EXPECT_NO_THROW(safetensors::read(run + "/checkpoints/last.safetensors"));
}

TEST_F(DataParallel, RefusesWhatItCannotSplit) {
  {
    std::vector<std::string> outputs;
    const auto codes = run_ranks(2, train_arguments("lstm", dir_.file("odd"), 2) + " --set batch_size=7",
                                 dir_.path().string(), &outputs);
    for (int r = 0; r < 2; ++r)
      EXPECT_CLI_ERROR_CODE("batch 7 in 2 processes", codes[r], outputs[r], 1,
                            {"batch_size 7", "does not divide evenly among 2 processes"});
  }
  {
    std::vector<std::string> outputs;
    const auto codes = run_ranks(2,
                                 "train --model rgan --preset tiny --data " + shell_quote(shards_->melody) + " --out " +
                                     shell_quote(dir_.file("fm")) +
                                     " --steps 2 --set feature_matching=10 --set batch_size=8 --threads 1",
                                 dir_.path().string(), &outputs);
    for (int r = 0; r < 2; ++r)
      EXPECT_CLI_ERROR_CODE("rgan with feature matching in 2 processes", codes[r], outputs[r], 1,
                            {"feature_matching 10", "one process only", "WORLD_SIZE is 2"});
  }
  const auto bad_rank = run_command("env RANK=2 WORLD_SIZE=2 " + shell_quote(CADENZA_BINARY) + " " +
                                    train_arguments("lstm", dir_.file("bad"), 2));
  EXPECT_CLI_ERROR(bad_rank, {"RANK=\"2\"", "[0, 1]"});
  const auto no_world = run_command("env -u WORLD_SIZE RANK=1 " + shell_quote(CADENZA_BINARY) + " " +
                                    train_arguments("lstm", dir_.file("bad"), 2));
  EXPECT_CLI_ERROR(no_world, {"RANK=\"1\"", "WORLD_SIZE is not"});
}

// torchrun as docs/distributed.md spells it (Debian's 1.13: underscore flags; Python 3.11 needs the redirects).
TEST_F(DataParallel, TorchrunLaunchesTwoRanks) {
  const std::string torchrun = "/usr/bin/torchrun";
  if (!std::filesystem::exists(torchrun)) GTEST_SKIP() << "SKIPPED: " << torchrun << " is absent (python3-torch)";
  const std::string one = dir_.file("one"), two = dir_.file("torchrun");
  ASSERT_EQ(run_cadenza(train_arguments("lstm", one, 4)).exit_code, 0);
  const auto launched = run_command(torchrun + " --nproc_per_node=2 --master_port=" + std::to_string(free_port()) +
                                    " --redirects 9:1 --tee 9:1 --no_python " + shell_quote(CADENZA_BINARY) + " " +
                                    train_arguments("lstm", two, 4));
  ASSERT_EQ(launched.exit_code, 0) << launched.output;
  EXPECT_NE(launched.output.find("rank 1 of 2"), std::string::npos) << launched.output;
  EXPECT_LT(max_difference(one + "/checkpoints/last.safetensors", two + "/checkpoints/last.safetensors"), 1e-5);
}

}  // namespace
}  // namespace cadenza::testing
