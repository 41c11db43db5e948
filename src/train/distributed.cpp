// Data parallelism over c10d's Gloo process group (see distributed.h for the contract).
#include "train/distributed.h"

#include <torch/torch.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <thread>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "common/error.h"

namespace cadenza::train {
namespace {

int parse_int_variable(const char* name, const char* text, int low, int high) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || value < low || value > high)
    throw Error(std::string("environment variable ") + name + "=\"" + text + "\": expected a whole number in [" +
                std::to_string(low) + ", " + std::to_string(high) + "]");
  return static_cast<int>(value);
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

std::string rank_list(const std::vector<int>& ranks) {
  std::string text;
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (i > 0) text += i + 1 == ranks.size() ? " and " : ", ";
    text += std::to_string(ranks[i]);
  }
  return text;
}

}  // namespace

std::optional<DistributedEnvironment> distributed_environment(const std::function<const char*(const char*)>& lookup) {
  const char* world = lookup("WORLD_SIZE");
  const char* rank = lookup("RANK");
  if (world == nullptr || *world == '\0') {
    if (rank != nullptr && *rank != '\0' && std::string(rank) != "0")
      throw Error(std::string("environment variable RANK=\"") + rank +
                  "\" is set but WORLD_SIZE is not: set both (or launch with torchrun)");
    return std::nullopt;
  }
  DistributedEnvironment environment;
  environment.world_size = parse_int_variable("WORLD_SIZE", world, 1, 65536);
  if (environment.world_size == 1) return std::nullopt;
  if (rank == nullptr || *rank == '\0')
    throw Error("environment variable WORLD_SIZE=" + std::to_string(environment.world_size) +
                " is set but RANK is not: set RANK to this process's number in [0, WORLD_SIZE)");
  environment.rank = parse_int_variable("RANK", rank, 0, environment.world_size - 1);
  const char* local_rank = lookup("LOCAL_RANK");
  environment.local_rank = local_rank && *local_rank
                               ? parse_int_variable("LOCAL_RANK", local_rank, 0, environment.world_size - 1)
                               : environment.rank;
  const char* local_world = lookup("LOCAL_WORLD_SIZE");
  environment.local_world_size = local_world && *local_world
                                     ? parse_int_variable("LOCAL_WORLD_SIZE", local_world, 1, environment.world_size)
                                     : environment.world_size;
  if (const char* address = lookup("MASTER_ADDR"); address && *address) environment.master_addr = address;
  if (const char* port = lookup("MASTER_PORT"); port && *port)
    environment.master_port = parse_int_variable("MASTER_PORT", port, 1, 65535);
  if (const char* agent = lookup("TORCHELASTIC_USE_AGENT_STORE"); agent && *agent) {
    const std::string value = agent;
    if (value != "True" && value != "False" && value != "true" && value != "false" && value != "1" && value != "0")
      throw Error("environment variable TORCHELASTIC_USE_AGENT_STORE=\"" + value + "\": expected True or False");
    environment.agent_store = value == "True" || value == "true" || value == "1";
  }
  if (const char* restarts = lookup("TORCHELASTIC_RESTART_COUNT"); restarts && *restarts)
    environment.restart_count = parse_int_variable("TORCHELASTIC_RESTART_COUNT", restarts, 0, 1 << 30);
  return environment;
}

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

DataParallel::DataParallel(const DistributedEnvironment& environment, std::chrono::milliseconds timeout)
    : environment_(environment), timeout_(timeout), group_(std::make_unique<Group>()) {
  const std::string where = environment.master_addr + ":" + std::to_string(environment.master_port);
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(environment.master_port);
    // torchrun's agent already serves a store there; by hand, rank 0 serves it and waits for the others.
    options.isServer = environment.rank == 0 && !environment.agent_store;
    options.numWorkers = environment.world_size;
    options.waitWorkers = true;  // a client counts itself in; the server waits until all have
    options.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(environment.master_addr, options);
    // As torch.distributed does under torchrun: keys of one restart attempt apart from the agent's own.
    group_->store = c10::make_intrusive<c10d::PrefixStore>(
        "/worker/attempt_" + std::to_string(environment.restart_count) + "/cadenza", tcp);
  } catch (const std::exception& error) {
    throw Error("distributed training: rank " + std::to_string(environment.rank) + " of " +
                std::to_string(environment.world_size) + " could not reach the rendezvous store at " + where +
                " (MASTER_ADDR:MASTER_PORT) within " + std::to_string(timeout.count() / 1000) + " s: " + error.what());
  }
  try {
    // The network interface: GLOO_SOCKET_IFNAME when given (several hosts); loopback when the master is local; else
    // the address this host's name resolves to.
    std::shared_ptr<::gloo::transport::Device> device;
    if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface)
      device = c10d::ProcessGroupGloo::createDeviceForInterface(interface);
    else if (is_loopback(environment.master_addr))
      device = c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    else
      device = c10d::ProcessGroupGloo::createDefaultDevice();
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(device);
    options->threads = 1;  // one collective at a time: the training loop's
    group_->group =
        c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, environment.rank, environment.world_size, options);
  } catch (const std::exception& error) {
    throw Error("distributed training: rank " + std::to_string(environment.rank) + " of " +
                std::to_string(environment.world_size) + " could not connect to the other ranks (store " + where +
                ") within " + std::to_string(timeout.count() / 1000) + " s: " + error.what());
  }
}

DataParallel::~DataParallel() = default;

void check_batch_split(int64_t rows, int world_size) {
  if (world_size < 1 || rows % world_size != 0)
    throw Error("distributed training: batch_size " + std::to_string(rows) + " does not divide evenly among " +
                std::to_string(world_size) + " processes (use a batch_size that is a multiple of " +
                std::to_string(world_size) + ", or another number of processes)");
}

std::pair<int64_t, int64_t> DataParallel::slice_of(int64_t rows) const {
  const int64_t world = world_size();
  check_batch_split(rows, world_size());  // the same check cadenza train makes before connecting
  const int64_t per_rank = rows / world;
  return {per_rank * rank(), per_rank * (rank() + 1)};
}

void DataParallel::fail(const char* what, const std::string& cause) {
  // Which ranks are still here? Every survivor leaves its mark in the store and looks for the others' for a few
  // seconds; the ranks without one died or hang. (When rank 0 served the store and died, the store is gone too.)
  std::vector<int> silent;
  bool store_answered = true;
  try {
    group_->store->setTimeout(std::chrono::seconds(5));
    group_->store->set("failed/" + std::to_string(rank()), std::vector<uint8_t>{1});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      silent.clear();
      for (int r = 0; r < world_size(); ++r)
        if (!group_->store->check({"failed/" + std::to_string(r)})) silent.push_back(r);
      if (silent.empty() || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  } catch (const std::exception&) {
    store_answered = false;
  }
  std::string who;
  if (!store_answered)
    who = "rank 0 is gone (it served the rendezvous store, which no longer answers)";
  else if (!silent.empty())
    who = std::string(silent.size() == 1 ? "rank " : "ranks ") + rank_list(silent) +
          (silent.size() == 1 ? " is" : " are") + " gone (died or hangs)";
  else
    who = "every rank is still there; the collective itself failed";
  throw Error("distributed training: " + std::string(what) + " failed on rank " + std::to_string(rank()) + " of " +
              std::to_string(world_size()) + ": " + who + " [" + cause + "]");
}

void DataParallel::guarded(const char* what, const std::function<void()>& operation) {
  std::string cause;
  try {
    operation();
    return;
  } catch (const std::exception& error) {
    cause = error.what();
  }
  // Gloo's messages run to many lines (a C++ backtrace): its first line is the cause.
  if (const size_t end = cause.find('\n'); end != std::string::npos) cause.resize(end);
  fail(what, cause);
}

void DataParallel::broadcast_parameters(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (const auto& parameter : module.parameters()) tensors.push_back(parameter);
  for (const auto& buffer : module.buffers()) tensors.push_back(buffer);
  guarded("broadcasting rank 0's weights", [&] {
    for (auto& tensor : tensors) {
      std::vector<torch::Tensor> one{tensor.detach()};
      c10d::BroadcastOptions options;
      options.rootRank = 0;
      group_->group->broadcast(one, options)->wait(timeout_);
    }
  });
}

double DataParallel::average_gradients(torch::nn::Module& module, double loss, double weight,
                                       std::vector<double>* means) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parameters;
  for (const auto& parameter : module.parameters())
    if (parameter.requires_grad()) parameters.push_back(parameter);
  // One flat buffer: weight * gradient of every trainable parameter, then weight, weight * loss, weight * each of
  // `means`, and the controls.
  std::vector<torch::Tensor> pieces;
  pieces.reserve(parameters.size() + 1);
  for (const auto& parameter : parameters) {
    const torch::Tensor& grad = parameter.grad();
    pieces.push_back(grad.defined() ? (grad.detach().flatten().to(torch::kFloat) * weight)
                                    : torch::zeros({parameter.numel()}, parameter.options().dtype(torch::kFloat)));
  }
  std::vector<float> tail{static_cast<float>(weight), std::isfinite(loss) ? static_cast<float>(loss * weight) : NAN};
  const size_t mean_count = means != nullptr ? means->size() : 0;
  for (size_t i = 0; i < mean_count; ++i) tail.push_back(static_cast<float>((*means)[i] * weight));
  for (double value : control_in_) tail.push_back(static_cast<float>(value));
  // On the parameters' device (Gloo reduces CUDA tensors through the host).
  const torch::Device device = parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
  pieces.push_back(torch::tensor(tail, torch::kFloat).to(device));
  torch::Tensor flat = torch::cat(pieces);  // (total parameters + 2 + means + controls)
  all_reduce_in_place(flat, "the gradient all-reduce");
  const int64_t tail_start = flat.numel() - static_cast<int64_t>(tail.size());
  const auto summed_tail = flat.narrow(0, tail_start, static_cast<int64_t>(tail.size())).to(torch::kDouble).cpu();
  const double total_weight = summed_tail[0].item<double>();
  const double weighted_loss = summed_tail[1].item<double>();
  // No real element anywhere: the mean loss was 0 on every rank, and so is the gradient.
  const double scale = total_weight > 0 ? 1.0 / total_weight : 0.0;
  for (size_t i = 0; i < mean_count; ++i) (*means)[i] = summed_tail[static_cast<int64_t>(2 + i)].item<double>() * scale;
  std::vector<double> controls;
  for (size_t i = 0; i < control_in_.size(); ++i)
    controls.push_back(summed_tail[static_cast<int64_t>(2 + mean_count + i)].item<double>());
  take_control(controls);
  int64_t offset = 0;
  for (auto& parameter : parameters) {
    const int64_t count = parameter.numel();
    torch::Tensor averaged = flat.narrow(0, offset, count).view(parameter.sizes()) * scale;
    if (!parameter.grad().defined()) parameter.mutable_grad() = torch::zeros_like(parameter);
    parameter.mutable_grad().copy_(averaged);
    offset += count;
  }
  return total_weight > 0 ? weighted_loss / total_weight : 0.0;
}

void DataParallel::take_control(const std::vector<double>& summed_controls) {
  if (control_in_.empty()) return;  // an all-reduce after the step's first: control_out_ keeps what that one brought
  control_out_ = summed_controls;
  control_in_.clear();
}

void DataParallel::all_reduce_in_place(torch::Tensor& tensor, const char* what) {
  guarded(what, [&] {
    std::vector<torch::Tensor> one{tensor};
    group_->group->allreduce(one)->wait(timeout_);
  });
}

void DataParallel::all_reduce_sum(std::vector<double>& values) {
  std::vector<double> with_control = values;
  with_control.insert(with_control.end(), control_in_.begin(), control_in_.end());
  torch::Tensor tensor = torch::tensor(with_control, torch::kDouble);
  all_reduce_in_place(tensor, "an all-reduce");
  for (size_t i = 0; i < values.size(); ++i) values[i] = tensor[static_cast<int64_t>(i)].item<double>();
  std::vector<double> controls;
  for (size_t i = 0; i < control_in_.size(); ++i)
    controls.push_back(tensor[static_cast<int64_t>(values.size() + i)].item<double>());
  take_control(controls);
}

// The all-reduce's adjoint is itself: d(sum_r x_r)/d x_k = I for every k, so rank k's input receives the sum over the
// ranks of the gradients that reached the output.
struct DataParallel::SumOverRanks : torch::autograd::Function<SumOverRanks> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& values,
                               int64_t parallel_address) {
    context->saved_data["parallel"] = parallel_address;
    auto* parallel = reinterpret_cast<DataParallel*>(parallel_address);
    torch::Tensor summed = values.detach().contiguous().clone();
    parallel->all_reduce_in_place(summed, "the batch-statistics all-reduce");
    return summed;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list gradients) {
    auto* parallel = reinterpret_cast<DataParallel*>(context->saved_data["parallel"].toInt());
    torch::Tensor summed = gradients[0].contiguous().clone();
    parallel->all_reduce_in_place(summed, "the batch-statistics gradient all-reduce");
    return {summed, torch::Tensor()};
  }
};

torch::Tensor DataParallel::sum_over_ranks(const torch::Tensor& values) {
  return SumOverRanks::apply(values, reinterpret_cast<int64_t>(this));
}

void DataParallel::barrier() {
  std::vector<double> nothing{0.0};
  all_reduce_sum(nothing);  // a barrier that fails like every other collective (and within the same timeout)
}

}  // namespace cadenza::train
