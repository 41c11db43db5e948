// Data-parallel training over torch.distributed's c10d (Gloo): N processes compute what one process computes.
// See docs/distributed.md for how to launch it (torchrun, or RANK / WORLD_SIZE / ... set by hand).
//
// The contract (tested in tests/dist): every rank draws the same global batch from the step's seed and trains on its
// slice of the rows (rank r of W takes rows [r*B/W, (r+1)*B/W)); after backward, one flattened all-reduce per
// optimizer step sums weight * gradient over the ranks (weight = the slice's real tokens / frames, the count its
// loss is a mean over), and every rank divides by the summed weight, so the update is the one-process update on the
// whole batch, before clipping. The loss and a few control numbers (stop requests, the time-budget schedule) ride
// in the same buffer, so every rank takes the same decisions without another round trip.
//
// Failure: Gloo's operations time out after `timeout` (not its 30-minute default); a rank that dies closes its
// connections, so the others fail at once. Either way the survivors ask the store which ranks are still there and
// throw a cadenza::Error naming the ones that are not.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace at {
class Tensor;
}
namespace torch::nn {
class Module;
}

namespace cadenza::train {

// What the launcher said, from torchrun's (or a user's) environment variables.
struct DistributedEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;  // TORCHELASTIC_USE_AGENT_STORE: torchrun's agent hosts the store at MASTER_ADDR:PORT
  int restart_count = 0;     // TORCHELASTIC_RESTART_COUNT: keys of one attempt stay apart from an earlier one's
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT and
// TORCHELASTIC_USE_AGENT_STORE through `lookup` (getenv in the CLI). nullopt when WORLD_SIZE is unset or 1 (one
// process). Throws cadenza::Error naming the variable when one is malformed or missing (RANK without WORLD_SIZE,
// RANK outside [0, WORLD_SIZE), a port outside 1..65535, ...).
std::optional<DistributedEnvironment> distributed_environment(const std::function<const char*(const char*)>& lookup);

// Throws cadenza::Error when `world_size` processes cannot split a batch of `rows` evenly. `cadenza train` checks it
// before the ranks connect, so that every rank refuses with this message (a rank that refused after connecting could
// leave the others with only "connection closed by peer").
void check_batch_split(int64_t rows, int world_size);

// One process's membership of the group. Created once per process (a TCPStore, rank 0 its server unless torchrun's
// agent hosts it, and a Gloo process group). Not thread-safe: the training loop's thread alone uses it.
class DataParallel {
 public:
  // Connects to the others; throws cadenza::Error naming MASTER_ADDR:MASTER_PORT when they do not all arrive within
  // `timeout`.
  DataParallel(const DistributedEnvironment& environment, std::chrono::milliseconds timeout);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return environment_.rank; }
  int world_size() const { return environment_.world_size; }
  const DistributedEnvironment& environment() const { return environment_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // The rows [begin, end) of a global batch of `rows` that this rank trains on. Throws cadenza::Error when the world
  // size does not divide `rows` (the batch would not split evenly, and the result would depend on the split).
  std::pair<int64_t, int64_t> slice_of(int64_t rows) const;

  // Rank 0's parameters and buffers to every rank (at the start and after a resume).
  void broadcast_parameters(torch::nn::Module& module);

  // The gradient all-reduce: on entry each parameter's .grad holds this rank's gradient of its mean loss over
  // `weight` elements; on return every rank holds sum_r(weight_r * grad_r) / sum_r(weight_r). `loss` is this rank's
  // mean loss; the return value is the weighted global mean (NaN when any rank's is not finite). The control values
  // set with set_control() are summed alongside and read back with control(). `means`, when given, are more of this
  // rank's means over `weight` elements (a learner's reported figures): they ride in the same buffer and come back
  // as the weighted global means.
  double average_gradients(torch::nn::Module& module, double loss, double weight, std::vector<double>* means = nullptr);

  // Numbers summed over the ranks in the next average_gradients (or all_reduce_sum) call; control() holds the sums
  // from the call that carried them until the next set_control() (a learner that makes several all-reduces in one
  // step, as a GAN does, sends them with its first).
  void set_control(std::vector<double> values) {
    control_in_ = std::move(values);
    control_out_.clear();
  }
  const std::vector<double>& control() const { return control_out_; }

  // `values` summed over the ranks (any shape; float or double), differentiably: the gradient of the result flows
  // back as the sum over the ranks of their gradients, so a statistic of the global batch (synchronised batch norm)
  // trains as in one process. Every rank must call it in the same order, forward and backward.
  at::Tensor sum_over_ranks(const at::Tensor& values);

  // Sums `values` elementwise over the ranks (validation totals, agreement on a stop).
  void all_reduce_sum(std::vector<double>& values);

  // Waits for every rank.
  void barrier();

 private:
  // Runs a collective; on failure finds which ranks are gone and throws cadenza::Error naming them.
  void guarded(const char* what, const std::function<void()>& operation);
  [[noreturn]] void fail(const char* what, const std::string& cause);

  struct Group;
  struct SumOverRanks;  // the autograd function behind sum_over_ranks()
  void all_reduce_in_place(at::Tensor& tensor, const char* what);
  // Fills control_out_ from the summed buffer when this call carried the controls.
  void take_control(const std::vector<double>& summed_controls);
  DistributedEnvironment environment_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Group> group_;
  std::vector<double> control_in_, control_out_;
};

}  // namespace cadenza::train
