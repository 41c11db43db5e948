#include "models/torch_compat.h"

#include <ATen/autocast_mode.h>
#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include "common/error.h"

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define CADENZA_AUTOCAST_BY_DEVICE_TYPE 1
#else
#define CADENZA_AUTOCAST_BY_DEVICE_TYPE 0
#endif

namespace cadenza::models {

namespace {

bool is_enabled(bool cuda) {
#if CADENZA_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_enabled(bool cuda, bool enabled) {
#if CADENZA_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, enabled);
#else
  if (cuda)
    at::autocast::set_enabled(enabled);
  else
    at::autocast::set_cpu_enabled(enabled);
#endif
}

at::ScalarType get_dtype(bool cuda) {
#if CADENZA_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_dtype(bool cuda, at::ScalarType dtype) {
#if CADENZA_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
#else
  if (cuda)
    at::autocast::set_autocast_gpu_dtype(dtype);
  else
    at::autocast::set_autocast_cpu_dtype(dtype);
#endif
}

}  // namespace

Precision parse_precision(const std::string& text) {
  if (text == "fp32") return Precision::kFp32;
  if (text == "bf16") return Precision::kBf16;
  throw Error("--precision " + text + ": expected fp32 or bf16");
}

const char* precision_name(Precision precision) {
  return precision == Precision::kBf16 ? "bf16" : "fp32";
}

bool autocast_enabled(bool cuda) {
  return is_enabled(cuda);
}

AutocastScope::AutocastScope(const torch::Device& device, Precision precision) {
  if (precision == Precision::kFp32) return;
  if (!device.is_cpu() && !device.is_cuda())
    throw Error("--precision bf16: autocast works on the CPU and CUDA only, not on " + device.str());
  active_ = true;
  cuda_ = device.is_cuda();
  was_enabled_ = is_enabled(cuda_);
  previous_dtype_ = get_dtype(cuda_);
  set_dtype(cuda_, at::kBFloat16);
  set_enabled(cuda_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The cache holds bf16 copies of the weights made in this step; the optimizer is about to change the weights.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_enabled(cuda_, was_enabled_);
  set_dtype(cuda_, previous_dtype_);
}

AutocastPause::AutocastPause() : cpu_(is_enabled(false)), cuda_(is_enabled(true)) {
  if (cpu_) set_enabled(false, false);
  if (cuda_) set_enabled(true, false);
}

AutocastPause::~AutocastPause() {
  if (cpu_) set_enabled(false, true);
  if (cuda_) set_enabled(true, true);
}

void zero_gradients(torch::optim::Optimizer& optimizer) {
#if TORCH_VERSION_MAJOR >= 2
  optimizer.zero_grad(/*set_to_none=*/false);
#else
  optimizer.zero_grad();
#endif
}

}  // namespace cadenza::models
