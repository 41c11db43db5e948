// `--device auto|cpu|cuda|cuda:N`: where a command's model, batches and optimizer state live. Checkpoints are always
// written as CPU tensors (models/tensor_io.h) and load onto any device.
#pragma once

#include <torch/types.h>

#include <string>

namespace cadenza::models {

// "auto" = the first CUDA device when this libtorch sees one, else the CPU. Throws cadenza::Error naming the value
// when it is not one of the forms above, and naming what was found when CUDA is asked for but absent (a CPU-only
// libtorch, such as Debian's, finds no CUDA device) or the index is out of range.
torch::Device resolve_device(const std::string& spec);

// "cpu", "cuda:0", ...
std::string device_text(const torch::Device& device);

}  // namespace cadenza::models
