// The few libtorch calls whose names or defaults differ between Debian's libtorch 1.13 (the CPU build Cadenza is
// developed and tested with) and a PyTorch 2.x with CUDA (`scripts/build.sh` with CADENZA_TORCH_PREFIX), and the
// mixed-precision switch built on them. Everything version-dependent lives here; the rest of the code calls these.
//
//   1.13                                   2.4 and later
//   at::autocast::set_enabled(bool)        at::autocast::set_autocast_enabled(at::kCUDA, bool)
//   at::autocast::set_cpu_enabled(bool)    at::autocast::set_autocast_enabled(at::kCPU, bool)
//   set_autocast_{gpu,cpu}_dtype(dtype)    at::autocast::set_autocast_dtype(device_type, dtype)
//   Optimizer::zero_grad(): zeroes         Optimizer::zero_grad(set_to_none = true): drops the gradients, so that
//                                          AdamW skips a parameter without a gradient (no decay, no moment update)
//   c10::Allocator::allocate(n) const       2.3 and later: allocate(n) non-const, and copy_data() to implement
//                                          (CADENZA_ALLOCATOR_ALLOCATE / CADENZA_ALLOCATOR_HAS_COPY_DATA below)
// (2.0 to 2.3 have both autocast spellings; the old ones are used there.)
#pragma once

#include <torch/types.h>
#include <torch/version.h>

#include <string>

// How a c10::Allocator subclass declares allocate(), and whether it must implement copy_data() (models/cpu_allocator.cpp).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define CADENZA_ALLOCATOR_ALLOCATE(n) allocate(size_t n)
#define CADENZA_ALLOCATOR_HAS_COPY_DATA 1
#else
#define CADENZA_ALLOCATOR_ALLOCATE(n) allocate(size_t n) const
#define CADENZA_ALLOCATOR_HAS_COPY_DATA 0
#endif

namespace torch::optim {
class Optimizer;
}

namespace cadenza::models {

// `--precision`: fp32 everywhere, or bf16 autocast for the training step's forward pass (weights, gradients,
// optimizer state and losses stay fp32: the loss functions run in fp32 under autocast).
enum class Precision { kFp32, kBf16 };

// "fp32" / "bf16"; throws cadenza::Error naming the value otherwise.
Precision parse_precision(const std::string& text);
const char* precision_name(Precision precision);

// Mixed precision for the scope on `device` (CPU or CUDA): bf16 autocast when `precision` is bf16, nothing for
// fp32. Restores the previous state on exit and, leaving the outermost scope, drops autocast's cache of bf16 copies
// of the weights (which the next optimizer step makes stale), as torch.autocast does.
class AutocastScope {
 public:
  AutocastScope(const torch::Device& device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

// Autocast off for the scope (the backward pass and the optimizer step run as the forward pass's dtypes say, with
// fp32 weights), restored on exit.
class AutocastPause {
 public:
  AutocastPause();
  ~AutocastPause();
  AutocastPause(const AutocastPause&) = delete;
  AutocastPause& operator=(const AutocastPause&) = delete;

 private:
  bool cpu_ = false;
  bool cuda_ = false;
};

// Whether autocast is on for the device type (CPU or CUDA) in this thread.
bool autocast_enabled(bool cuda);

// Zeroes every gradient the optimizer holds, keeping the tensors (1.13's behaviour, asked for explicitly on 2.x):
// the flattened all-reduce and AdamW then see the same thing on every version.
void zero_gradients(torch::optim::Optimizer& optimizer);

}  // namespace cadenza::models
