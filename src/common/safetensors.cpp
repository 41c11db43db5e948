#include "common/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"

namespace cadenza::safetensors {

// Tensor bytes are stored little-endian and copied with memcpy; a big-endian port would need byte swaps here.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

constexpr size_t kHeaderLengthBytes = 8;

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4}, {DType::kF64, "F64", 8},   {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
    {DType::kU8, "U8", 1},   {DType::kBool, "BOOL", 1}, {DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2},
};

const DTypeInfo& info_of(DType dtype) {
  for (const auto& info : kDTypes)
    if (info.dtype == dtype) return info;
  throw Error("safetensors: invalid DType value " + std::to_string(static_cast<int>(dtype)));
}

// Element count of a shape, or nullopt when a dimension is negative or the product overflows int64.
std::optional<int64_t> checked_element_count(std::span<const int64_t> shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0 || __builtin_mul_overflow(count, dim, &count)) return std::nullopt;
  }
  return count;
}

std::string shape_text(std::span<const int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

template <typename T>
Tensor tensor_from(DType dtype, std::vector<int64_t> shape, std::span<const T> values) {
  auto count = checked_element_count(shape);
  if (!count || static_cast<uint64_t>(*count) != values.size())
    throw Error("safetensors: " + std::to_string(values.size()) + " values do not fill shape " + shape_text(shape));
  Tensor tensor;
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.data.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(tensor.data.data(), values.data(), tensor.data.size());
  return tensor;
}

template <typename T>
std::vector<T> values_of(const Tensor& tensor, DType expected) {
  if (tensor.dtype != expected)
    throw Error("safetensors: tensor has dtype " + std::string(dtype_name(tensor.dtype)) + ", expected " +
                std::string(dtype_name(expected)));
  if (tensor.data.size() % sizeof(T) != 0)
    throw Error("safetensors: tensor data size " + std::to_string(tensor.data.size()) + " is not a multiple of " +
                std::to_string(sizeof(T)));
  std::vector<T> values(tensor.data.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), tensor.data.data(), tensor.data.size());
  return values;
}

void check_consistent(const std::string& name, const Tensor& tensor) {
  if (name == kMetadataKey) throw Error("safetensors: a tensor may not be named \"__metadata__\"");
  auto count = checked_element_count(tensor.shape);
  if (!count) throw Error("safetensors: tensor '" + name + "' has an invalid shape " + shape_text(tensor.shape));
  uint64_t expected = static_cast<uint64_t>(*count) * dtype_size(tensor.dtype);
  if (expected != tensor.data.size())
    throw Error("safetensors: tensor '" + name + "' has " + std::to_string(tensor.data.size()) + " bytes, but shape " +
                shape_text(tensor.shape) + " of " + std::string(dtype_name(tensor.dtype)) + " needs " +
                std::to_string(expected));
}

// One header entry after validation of its fields, before the offsets are checked against each other.
struct HeaderEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
  int64_t header_offset;  // where the entry's name appears in the file, for error messages
};

class HeaderParser {
 public:
  HeaderParser(const std::string& file_name, std::string_view header_text)
      : file_name_(file_name), header_text_(header_text) {}

  nlohmann::json parse() {
    // Duplicate names would silently shadow each other in a JSON object; the callback sees every top-level key.
    std::vector<std::string> keys;
    auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      if (event == nlohmann::json::parse_event_t::key && depth == 1) keys.push_back(parsed.get<std::string>());
      return true;
    };
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(header_text_, on_event);
    } catch (const nlohmann::json::parse_error& e) {
      int64_t at = static_cast<int64_t>(kHeaderLengthBytes) + static_cast<int64_t>(e.byte > 0 ? e.byte - 1 : 0);
      throw FormatError(file_name_, at, std::string("header is not valid JSON: ") + e.what());
    } catch (const nlohmann::json::exception& e) {
      // Not a syntax error but a value JSON cannot hold, e.g. a number too large for a double (found by
      // fuzz/fuzz_safetensors: it escaped as an "internal error").
      throw FormatError(file_name_, static_cast<int64_t>(kHeaderLengthBytes),
                        std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) fail(0, "header must be a JSON object, found " + std::string(header.type_name()));
    std::sort(keys.begin(), keys.end());
    auto duplicate = std::adjacent_find(keys.begin(), keys.end());
    if (duplicate != keys.end()) fail(offset_of_key(*duplicate), "header names '" + *duplicate + "' more than once");
    return header;
  }

  HeaderEntry entry(const std::string& name, const nlohmann::json& value) const {
    HeaderEntry entry;
    entry.name = name;
    entry.header_offset = offset_of_key(name);
    const std::string where = "tensor '" + name + "': ";
    if (!value.is_object()) fail(entry.header_offset, where + "entry must be a JSON object");
    for (const auto& [key, unused] : value.items()) {
      if (key != "dtype" && key != "shape" && key != "data_offsets")
        fail(entry.header_offset, where + "unexpected field \"" + key + "\"");
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
      if (!value.contains(key)) fail(entry.header_offset, where + "missing field \"" + key + "\"");
    }

    const auto& dtype = value["dtype"];
    if (!dtype.is_string()) fail(entry.header_offset, where + "\"dtype\" must be a string");
    auto parsed_dtype = parse_dtype(dtype.get<std::string>());
    if (!parsed_dtype) fail(entry.header_offset, where + "unknown dtype \"" + dtype.get<std::string>() + "\"");
    entry.dtype = *parsed_dtype;

    const auto& shape = value["shape"];
    if (!shape.is_array()) fail(entry.header_offset, where + "\"shape\" must be an array");
    for (const auto& dim : shape) {
      if (!dim.is_number_unsigned() || dim.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        fail(entry.header_offset, where + "shape dimension " + dim.dump() + " is not a non-negative integer");
      entry.shape.push_back(static_cast<int64_t>(dim.get<uint64_t>()));
    }

    const auto& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail(entry.header_offset,
           where + "\"data_offsets\" must be [begin, end] with non-negative integers, found " + offsets.dump());
    entry.begin = offsets[0].get<uint64_t>();
    entry.end = offsets[1].get<uint64_t>();
    if (entry.begin > entry.end)
      fail(entry.header_offset, where + "data_offsets [" + std::to_string(entry.begin) + ", " +
                                    std::to_string(entry.end) + "] end before they begin");

    auto count = checked_element_count(entry.shape);
    uint64_t expected_bytes = 0;
    if (!count || __builtin_mul_overflow(static_cast<uint64_t>(*count), dtype_size(entry.dtype), &expected_bytes))
      fail(entry.header_offset, where + "shape " + shape_text(entry.shape) + " is too large");
    if (expected_bytes != entry.end - entry.begin)
      fail(entry.header_offset, where + "shape " + shape_text(entry.shape) + " of " +
                                    std::string(dtype_name(entry.dtype)) + " needs " + std::to_string(expected_bytes) +
                                    " bytes, but data_offsets [" + std::to_string(entry.begin) + ", " +
                                    std::to_string(entry.end) + "] hold " + std::to_string(entry.end - entry.begin));
    return entry;
  }

  std::map<std::string, std::string> metadata(const nlohmann::json& value) const {
    int64_t at = offset_of_key(std::string(kMetadataKey));
    if (!value.is_object()) fail(at, "\"__metadata__\" must be an object of strings");
    std::map<std::string, std::string> metadata;
    for (const auto& [key, item] : value.items()) {
      if (!item.is_string())
        fail(at, "\"__metadata__\" value of \"" + key + "\" must be a string, found " + item.dump());
      metadata[key] = item.get<std::string>();
    }
    return metadata;
  }

  [[noreturn]] void fail(int64_t offset, const std::string& problem) const {
    throw FormatError(file_name_, offset, problem);
  }

  // The file offset of a key's first appearance in the header (approximate for names with escapes), else the header
  // start: lets an error point at the offending entry.
  int64_t offset_of_key(const std::string& key) const {
    size_t at = header_text_.find(nlohmann::json(key).dump());
    return static_cast<int64_t>(kHeaderLengthBytes) + static_cast<int64_t>(at == std::string_view::npos ? 0 : at);
  }

 private:
  const std::string& file_name_;
  std::string_view header_text_;
};

}  // namespace

std::string_view dtype_name(DType dtype) {
  return info_of(dtype).name;
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& info : kDTypes)
    if (info.name == name) return info.dtype;
  return std::nullopt;
}

size_t dtype_size(DType dtype) {
  return info_of(dtype).size;
}

int64_t Tensor::element_count() const {
  auto count = checked_element_count(shape);
  if (!count) throw Error("safetensors: invalid shape " + shape_text(shape));
  return *count;
}

Tensor Tensor::from_f32(std::vector<int64_t> shape, std::span<const float> values) {
  return tensor_from(DType::kF32, std::move(shape), values);
}
Tensor Tensor::from_f64(std::vector<int64_t> shape, std::span<const double> values) {
  return tensor_from(DType::kF64, std::move(shape), values);
}
Tensor Tensor::from_i64(std::vector<int64_t> shape, std::span<const int64_t> values) {
  return tensor_from(DType::kI64, std::move(shape), values);
}
std::vector<float> Tensor::to_f32() const {
  return values_of<float>(*this, DType::kF32);
}
std::vector<double> Tensor::to_f64() const {
  return values_of<double>(*this, DType::kF64);
}
std::vector<int64_t> Tensor::to_i64() const {
  return values_of<int64_t>(*this, DType::kI64);
}

std::vector<uint8_t> encode(const TensorFile& file) {
  // ordered_json keeps insertion order: metadata first, then names in std::map (sorted) order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!file.metadata.empty()) {
    nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
    for (const auto& [key, value] : file.metadata) metadata[key] = value;
    header[std::string(kMetadataKey)] = std::move(metadata);
  }
  uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    check_consistent(name, tensor);
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = std::string(dtype_name(tensor.dtype));
    entry["shape"] = tensor.shape;
    entry["data_offsets"] = {offset, offset + tensor.data.size()};
    header[name] = std::move(entry);
    offset += tensor.data.size();
  }
  // Invalid UTF-8 in a name or metadata throws from dump(); report it as our error type.
  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("safetensors: cannot encode header: ") + e.what());
  }
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::vector<uint8_t> bytes;
  bytes.reserve(kHeaderLengthBytes + header_text.size() + offset);
  uint64_t header_length = header_text.size();
  for (size_t i = 0; i < kHeaderLengthBytes; ++i) bytes.push_back(static_cast<uint8_t>(header_length >> (8 * i)));
  bytes.insert(bytes.end(), header_text.begin(), header_text.end());
  for (const auto& [name, tensor] : file.tensors) bytes.insert(bytes.end(), tensor.data.begin(), tensor.data.end());
  return bytes;
}

TensorFile decode(std::span<const uint8_t> bytes, const std::string& file_name) {
  if (bytes.size() < kHeaderLengthBytes)
    throw FormatError(file_name, 0,
                      "file is " + std::to_string(bytes.size()) + " bytes, too short for the 8-byte header length");
  uint64_t header_length = 0;
  for (size_t i = 0; i < kHeaderLengthBytes; ++i) header_length |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  if (header_length > kMaxHeaderBytes)
    throw FormatError(file_name, 0,
                      "header length " + std::to_string(header_length) + " exceeds the limit of " +
                          std::to_string(kMaxHeaderBytes) + " bytes");
  if (header_length > bytes.size() - kHeaderLengthBytes)
    throw FormatError(file_name, 0,
                      "header length " + std::to_string(header_length) + " runs past the end of the file (" +
                          std::to_string(bytes.size()) + " bytes): truncated file?");

  std::string_view header_text(reinterpret_cast<const char*>(bytes.data()) + kHeaderLengthBytes, header_length);
  HeaderParser parser(file_name, header_text);
  nlohmann::json header = parser.parse();

  const uint64_t data_start = kHeaderLengthBytes + header_length;
  const uint64_t data_size = bytes.size() - data_start;
  TensorFile file;
  std::vector<HeaderEntry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      file.metadata = parser.metadata(value);
      continue;
    }
    entries.push_back(parser.entry(name, value));
    const HeaderEntry& entry = entries.back();
    if (entry.end > data_size)
      parser.fail(entry.header_offset, "tensor '" + name + "': data_offsets [" + std::to_string(entry.begin) + ", " +
                                           std::to_string(entry.end) + "] run past the end of the " +
                                           std::to_string(data_size) + "-byte data buffer: truncated file?");
  }

  // The tensors must tile the data buffer exactly: no gaps, no overlaps, no trailing bytes.
  std::sort(entries.begin(), entries.end(), [](const HeaderEntry& a, const HeaderEntry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  uint64_t covered = 0;
  const HeaderEntry* previous = nullptr;
  for (const auto& entry : entries) {
    int64_t at = static_cast<int64_t>(data_start + entry.begin);
    if (entry.begin < covered)
      throw FormatError(file_name, at,
                        "tensor '" + entry.name + "' (data_offsets [" + std::to_string(entry.begin) + ", " +
                            std::to_string(entry.end) + "]) overlaps tensor '" + previous->name + "' (ending at " +
                            std::to_string(covered) + ")");
    if (entry.begin > covered)
      throw FormatError(file_name, static_cast<int64_t>(data_start + covered),
                        "gap of " + std::to_string(entry.begin - covered) +
                            " bytes in the data buffer before tensor '" + entry.name + "'");
    covered = entry.end;
    previous = &entry;
  }
  if (covered != data_size)
    throw FormatError(file_name, static_cast<int64_t>(data_start + covered),
                      std::to_string(data_size - covered) + " bytes at the end of the data buffer belong to no tensor");

  for (auto& entry : entries) {
    Tensor tensor;
    tensor.dtype = entry.dtype;
    tensor.shape = std::move(entry.shape);
    const uint8_t* begin = bytes.data() + data_start + entry.begin;
    tensor.data.assign(begin, begin + (entry.end - entry.begin));
    file.tensors.emplace(entry.name, std::move(tensor));
  }
  return file;
}

void write(const std::string& path, const TensorFile& file) {
  auto bytes = encode(file);
  write_file_atomic(path, std::span<const uint8_t>(bytes));
}

TensorFile read(const std::string& path) {
  MappedFile mapped(path);
  return decode(mapped.bytes(), path);
}

}  // namespace cadenza::safetensors
