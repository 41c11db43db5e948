#include "models/device.h"

#include <torch/cuda.h>

#include "common/error.h"

namespace cadenza::models {

torch::Device resolve_device(const std::string& spec) {
  const bool available = torch::cuda::is_available();
  const int64_t count = available ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec == "auto") return available ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  int64_t index = 0;
  if (spec.rfind("cuda:", 0) == 0) {
    const std::string digits = spec.substr(5);
    if (digits.empty() || digits.size() > 4 || digits.find_first_not_of("0123456789") != std::string::npos)
      throw Error("--device " + spec + ": expected cuda:N with N a device number");
    index = std::stoll(digits);
  } else if (spec != "cuda") {
    throw Error("--device " + spec + ": expected auto, cpu, cuda or cuda:N");
  }
  if (!available)
    throw Error("--device " + spec +
                ": no CUDA device is available (this libtorch finds none: a CPU-only build such as Debian's, no "
                "NVIDIA driver, or CUDA_VISIBLE_DEVICES hides them); use --device cpu or auto");
  if (index >= count)
    throw Error("--device " + spec + ": there " +
                (count == 1 ? "is 1 CUDA device" : "are " + std::to_string(count) + " CUDA devices") + " (cuda:0" +
                (count > 1 ? " to cuda:" + std::to_string(count - 1) : "") + ")");
  return torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(index));
}

std::string device_text(const torch::Device& device) {
  return device.str();
}

}  // namespace cadenza::models
