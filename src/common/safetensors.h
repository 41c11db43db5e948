// The safetensors file format: a set of named tensors (dtype + shape + raw little-endian bytes) and string metadata.
//
// Layout (https://github.com/huggingface/safetensors, "Format"):
//   bytes [0, 8)        N, the header length, an unsigned 64-bit little-endian integer;
//   bytes [8, 8 + N)    a UTF-8 JSON object: {"NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]},
//                       ..., "__metadata__": {"KEY": "VALUE", ...}}  (metadata optional, strings only);
//   bytes [8 + N, EOF)  the data buffer; a tensor's bytes are buffer[BEGIN, END), row-major, little-endian.
//
// This layer is libtorch-free: a tensor is just its dtype, shape and bytes. src/models/tensor_io.h converts to and
// from torch::Tensor. Usage:
//
//   safetensors::TensorFile file;
//   file.tensors["weight"] = safetensors::Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6});
//   file.metadata["format"] = "pt";
//   safetensors::write(path, file);              // atomic; names sorted
//   auto loaded = safetensors::read(path);       // validates everything, throws FormatError on any problem
//   std::vector<float> w = loaded.tensors.at("weight").to_f32();
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cadenza::safetensors {

// The dtypes Cadenza reads and writes (a subset of the format's: the others are rejected as unknown).
enum class DType { kF32, kF64, kI64, kI32, kU8, kBool, kF16, kBF16 };

// "F32", "F64", "I64", "I32", "U8", "BOOL", "F16", "BF16".
std::string_view dtype_name(DType dtype);
// The inverse of dtype_name; nullopt for any other string.
std::optional<DType> parse_dtype(std::string_view name);
// Bytes per element: 4, 8, 8, 4, 1, 1, 2, 2.
size_t dtype_size(DType dtype);

struct Tensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // empty = a scalar (one element)
  std::vector<uint8_t> data;   // element_count() * dtype_size(dtype) bytes, row-major, little-endian

  // Product of shape (1 for a scalar).
  int64_t element_count() const;

  // Convenience constructors and accessors for the common dtypes. from_* throw cadenza::Error when the number of
  // values does not match the shape; to_* throw cadenza::Error when the dtype differs.
  static Tensor from_f32(std::vector<int64_t> shape, std::span<const float> values);
  static Tensor from_f64(std::vector<int64_t> shape, std::span<const double> values);
  static Tensor from_i64(std::vector<int64_t> shape, std::span<const int64_t> values);
  std::vector<float> to_f32() const;
  std::vector<double> to_f64() const;
  std::vector<int64_t> to_i64() const;

  bool operator==(const Tensor&) const = default;
};

struct TensorFile {
  std::map<std::string, Tensor> tensors;        // sorted by name
  std::map<std::string, std::string> metadata;  // the "__metadata__" object; omitted from the file when empty

  bool operator==(const TensorFile&) const = default;
};

// The header's name for the metadata object; no tensor may have this name.
inline constexpr std::string_view kMetadataKey = "__metadata__";

// Largest header accepted by the reader (the reference implementation's limit is 100 MB).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// Serialises to the safetensors layout: "__metadata__" first, then the tensors in name order with contiguous
// data offsets in the same order; the JSON header is padded with spaces to a multiple of 8 bytes (as the reference
// implementation does) so the data buffer starts 8-byte aligned. Throws cadenza::Error on an inconsistent tensor
// (data size != element_count * dtype_size, a negative dimension) or a tensor named "__metadata__".
std::vector<uint8_t> encode(const TensorFile& file);

// Parses and validates a whole file held in memory. `file_name` is used in errors only. Throws
// FormatError(file_name, byte_offset, problem) on any violation: file shorter than 8 bytes, header length past the
// end of the file or above kMaxHeaderBytes, header not a JSON object (or duplicate names), an entry that is not
// {"dtype", "shape", "data_offsets"} with the right types, unknown dtype, offsets that are out of range, leave a gap,
// overlap, or do not cover the data buffer exactly, or a byte length != element count * dtype size.
TensorFile decode(std::span<const uint8_t> bytes, const std::string& file_name);

// encode() then write_file_atomic(). Throws IoError when the file cannot be written.
void write(const std::string& path, const TensorFile& file);
// Reads and decode()s a file. Throws IoError when it cannot be read, FormatError when it is malformed.
TensorFile read(const std::string& path);

}  // namespace cadenza::safetensors
