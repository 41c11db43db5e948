// fuzz-areas: common
//
// libFuzzer target for the safetensors reader (src/common/safetensors.h), the container of every checkpoint. Any
// input must either decode or throw FormatError with an offset inside the input; a decoded file must encode and
// decode back to the same tensors and metadata (the writer accepts whatever the reader accepts), and encoding
// must be deterministic.
//
// Seeds: CADENZA_FUZZ_WRITE_SEEDS=DIR makes the binary write a few valid files there and exit (scripts/fuzz.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "common/safetensors.h"

namespace {

namespace st = cadenza::safetensors;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_safetensors: %s\n", what.c_str());
  std::abort();
}

void write_seeds(const std::string& dir) {
  st::TensorFile small;
  std::vector<float> weights = {1.5f, -2.0f, 0.0f, 3.25f, 1e-3f, -7.0f};
  small.tensors["layer.weight"] = st::Tensor::from_f32({2, 3}, weights);
  std::vector<int64_t> step = {42};
  small.tensors["optimizer.layer.weight.step"] = st::Tensor::from_i64({}, step);
  small.tensors["mask"] = st::Tensor{st::DType::kBool, {2}, {0, 1}};
  small.tensors["half"] = st::Tensor{st::DType::kF16, {2}, {0x00, 0x3c, 0x00, 0xc0}};
  small.tensors["empty"] = st::Tensor::from_f32({0, 4}, std::vector<float>{});
  small.metadata["cadenza_format"] = "checkpoint";
  small.metadata["model_config"] = R"({"family": "lstm", "hidden_size": 8})";
  st::write(dir + "/checkpoint-like.safetensors", small);
  st::TensorFile bare;
  std::vector<double> scalar = {3.5};
  bare.tensors["x"] = st::Tensor::from_f64({}, scalar);
  st::write(dir + "/scalar.safetensors", bare);
  st::write(dir + "/empty.safetensors", st::TensorFile{});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("CADENZA_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  st::TensorFile file;
  try {
    file = st::decode(bytes, "fuzz.safetensors");
  } catch (const cadenza::FormatError& error) {
    if (error.offset() > static_cast<int64_t>(size)) fail("error offset past the input: " + std::string(error.what()));
    if (error.file() != "fuzz.safetensors") fail("error does not name the file: " + std::string(error.what()));
    return 0;
  }
  std::vector<uint8_t> encoded;
  try {
    encoded = st::encode(file);
  } catch (const cadenza::Error& error) {
    fail(std::string("a decoded file does not encode: ") + error.what());
  }
  st::TensorFile again;
  try {
    again = st::decode(encoded, "re-encoded");
  } catch (const cadenza::Error& error) {
    fail(std::string("an encoded file does not decode: ") + error.what());
  }
  if (!(again == file)) fail("decode(encode(file)) differs from file");
  if (st::encode(again) != encoded) fail("encoding is not deterministic");
  for (const auto& [name, tensor] : file.tensors)
    if (tensor.data.size() != static_cast<size_t>(tensor.element_count()) * st::dtype_size(tensor.dtype))
      fail("tensor " + name + " has a byte length that does not match its shape");
  return 0;
}
