#include "models/tensor_io.h"

#include <cstring>
#include <set>
#include <sstream>

#include "common/error.h"

namespace cadenza::models {
namespace {

struct DTypePair {
  torch::ScalarType torch_type;
  safetensors::DType file_type;
};

constexpr DTypePair kDTypes[] = {
    {torch::kFloat32, safetensors::DType::kF32}, {torch::kFloat64, safetensors::DType::kF64},
    {torch::kInt64, safetensors::DType::kI64},   {torch::kInt32, safetensors::DType::kI32},
    {torch::kUInt8, safetensors::DType::kU8},    {torch::kBool, safetensors::DType::kBool},
    {torch::kFloat16, safetensors::DType::kF16}, {torch::kBFloat16, safetensors::DType::kBF16},
};

safetensors::DType file_dtype(torch::ScalarType type) {
  for (const auto& pair : kDTypes)
    if (pair.torch_type == type) return pair.file_type;
  throw Error(std::string("safetensors: cannot store torch dtype ") + c10::toString(type));
}

torch::ScalarType torch_dtype(safetensors::DType type) {
  for (const auto& pair : kDTypes)
    if (pair.file_type == type) return pair.torch_type;
  throw Error("safetensors: no torch dtype for " + std::string(safetensors::dtype_name(type)));
}

std::string shape_text(c10::IntArrayRef shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

// Parameters then buffers, by their full dotted names.
std::vector<std::pair<std::string, torch::Tensor>> named_tensors(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) tensors.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) tensors.emplace_back(item.key(), item.value());
  return tensors;
}

// "a, b, c" with at most 10 names, then "and N more".
std::string name_list(const std::vector<std::string>& names) {
  std::string text;
  for (size_t i = 0; i < names.size() && i < 10; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > 10) text += " and " + std::to_string(names.size() - 10) + " more";
  return text;
}

}  // namespace

safetensors::Tensor to_safetensors(const torch::Tensor& tensor) {
  safetensors::Tensor out;
  out.dtype = file_dtype(tensor.scalar_type());
  auto cpu = tensor.detach().to(torch::kCPU).contiguous();
  out.shape.assign(cpu.sizes().begin(), cpu.sizes().end());
  out.data.resize(static_cast<size_t>(cpu.numel()) * cpu.element_size());
  if (!out.data.empty()) std::memcpy(out.data.data(), cpu.data_ptr(), out.data.size());
  return out;
}

torch::Tensor to_torch(const safetensors::Tensor& tensor) {
  auto result = torch::empty(tensor.shape, torch::dtype(torch_dtype(tensor.dtype)));
  const size_t bytes = static_cast<size_t>(result.numel()) * result.element_size();
  if (bytes != tensor.data.size())
    throw Error("safetensors: tensor of shape " + shape_text(tensor.shape) + " has " +
                std::to_string(tensor.data.size()) + " bytes, expected " + std::to_string(bytes));
  if (bytes > 0) std::memcpy(result.data_ptr(), tensor.data.data(), bytes);
  return result;
}

std::map<std::string, safetensors::Tensor> module_tensors(const torch::nn::Module& module, const std::string& prefix) {
  std::map<std::string, safetensors::Tensor> tensors;
  for (const auto& [name, tensor] : named_tensors(module)) tensors[prefix + name] = to_safetensors(tensor);
  return tensors;
}

void load_module_tensors(torch::nn::Module& module, const safetensors::TensorFile& file, const std::string& source,
                         const std::string& prefix) {
  auto targets = named_tensors(module);
  std::vector<std::string> missing, mismatched;
  std::set<std::string> expected;
  for (const auto& [name, target] : targets) {
    expected.insert(prefix + name);
    auto found = file.tensors.find(prefix + name);
    if (found == file.tensors.end()) {
      missing.push_back(prefix + name);
      continue;
    }
    const auto& stored = found->second;
    if (stored.shape != std::vector<int64_t>(target.sizes().begin(), target.sizes().end()) ||
        torch_dtype(stored.dtype) != target.scalar_type())
      mismatched.push_back(prefix + name + " (file " + std::string(safetensors::dtype_name(stored.dtype)) + " " +
                           shape_text(stored.shape) + ", model " + c10::toString(target.scalar_type()) + " " +
                           shape_text(target.sizes()) + ")");
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, unused] : file.tensors) {
    if (name.compare(0, prefix.size(), prefix) == 0 && !expected.count(name)) unexpected.push_back(name);
  }
  std::string problem;
  auto add = [&](const std::string& what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    problem += (problem.empty() ? "" : "; ") + what + " (" + std::to_string(names.size()) + "): " + name_list(names);
  };
  add("missing tensors the model needs", missing);
  add("tensors that match nothing in the model", unexpected);
  add("dtype or shape differs", mismatched);
  if (!problem.empty()) throw FormatError(source, -1, "checkpoint does not fit the model: " + problem);

  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) target.copy_(to_torch(file.tensors.at(prefix + name)));
}

void save_module_safetensors(const torch::nn::Module& module, const std::string& path,
                             const std::map<std::string, std::string>& metadata) {
  safetensors::TensorFile file;
  file.tensors = module_tensors(module);
  file.metadata = metadata;
  safetensors::write(path, file);
}

std::map<std::string, std::string> load_module_safetensors(torch::nn::Module& module, const std::string& path) {
  auto file = safetensors::read(path);
  load_module_tensors(module, file, path);
  return file.metadata;
}

}  // namespace cadenza::models
