#include "models/threading.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <mutex>

#include "models/cpu_allocator.h"

namespace cadenza::models {

std::string configure_tensor_threads(int threads) {
  if (threads < 1) threads = 1;
  install_caching_cpu_allocator();
  // Inter-op threads can be set only once per process, before any parallel work.
  static std::once_flag inter_op_once;
  std::call_once(inter_op_once, [] {
    try {
      at::set_num_interop_threads(1);
    } catch (const std::exception&) {
      // Already started by earlier tensor work in this process: keep what it has.
    }
  });
  torch::set_num_threads(1);
  using SetThreads = void (*)(int);
  auto* set_openblas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set_openblas == nullptr)
    return "reference BLAS (slow: install libopenblas0-pthread), ATen 1 thread";
  set_openblas(threads);
  return "OpenBLAS " + std::to_string(threads) + (threads == 1 ? " thread" : " threads") + ", ATen 1 thread";
}

}  // namespace cadenza::models
