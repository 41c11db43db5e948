// torch::Tensor <-> safetensors (src/common/safetensors.h), and whole modules saved/loaded by parameter name.
//
// Names are exactly those of named_parameters() and named_buffers() (recursive, dot-separated): the PyTorch
// attribute names, e.g. "embedding.weight", "rnn.weight_ih_l0", "head.bias". A PyTorch state_dict written with
// tests/fixtures/safetensors_writer.py loads here, and our files load in PyTorch (scripts/read_safetensors.py).
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

#include "common/safetensors.h"

namespace cadenza::models {

// A contiguous CPU copy of the bytes. Throws cadenza::Error for a dtype safetensors.h does not support.
safetensors::Tensor to_safetensors(const torch::Tensor& tensor);
// A new CPU tensor owning a copy of the bytes.
torch::Tensor to_torch(const safetensors::Tensor& tensor);

// Every parameter and buffer of `module`, named as above, each prefixed with `prefix` (e.g. "model.").
std::map<std::string, safetensors::Tensor> module_tensors(const torch::nn::Module& module,
                                                          const std::string& prefix = "");

// Copies the tensors named `prefix` + NAME in `file` into the module's parameters and buffers (on their device).
// All or nothing: throws FormatError(source, -1, problem) before changing anything when a parameter or buffer
// has no tensor, a tensor under `prefix` matches nothing in the module, or a dtype or shape differs; the message
// lists the offending names with both shapes. `source` names the file in errors. Tensors outside `prefix` are
// ignored, so one file can hold a model next to other things (optimizer state, test data).
void load_module_tensors(torch::nn::Module& module, const safetensors::TensorFile& file, const std::string& source,
                         const std::string& prefix = "");

// Writes every parameter and buffer of `module` (and `metadata`) to `path` atomically.
void save_module_safetensors(const torch::nn::Module& module, const std::string& path,
                             const std::map<std::string, std::string>& metadata = {});
// Reads `path` (which must hold exactly the module's tensors, see load_module_tensors) into `module` and returns
// the file's metadata. Throws IoError / FormatError.
std::map<std::string, std::string> load_module_safetensors(torch::nn::Module& module, const std::string& path);

}  // namespace cadenza::models
