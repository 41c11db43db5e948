#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "common/safetensors.h"
#include "support/test_support.h"

namespace cadenza::safetensors {
namespace {

// A file built by hand: the 8-byte little-endian header length, the header text, then raw data bytes.
std::vector<uint8_t> raw_file(const std::string& header, const std::vector<uint8_t>& data,
                              int64_t length_override = -1) {
  uint64_t length = length_override >= 0 ? static_cast<uint64_t>(length_override) : header.size();
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(length >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

// Decodes bytes that must be rejected; returns the error so the test can check the offset and message.
FormatError expect_rejected(const std::vector<uint8_t>& bytes, const std::string& problem_part) {
  try {
    decode(bytes, "bad.safetensors");
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), "bad.safetensors");
    EXPECT_NE(e.problem().find(problem_part), std::string::npos) << "problem was: " << e.problem();
    EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos);
    return e;
  }
  ADD_FAILURE() << "expected FormatError containing '" << problem_part << "'";
  return FormatError("", -1, "");
}

TensorFile sample_file() {
  TensorFile file;
  std::vector<float> weights = {1.5f, -2.25f, 3.0f, 0.0f, -0.0f, 1e-30f};
  file.tensors["layer.weight"] = Tensor::from_f32({2, 3}, weights);
  std::vector<double> scalar = {3.141592653589793};
  file.tensors["scale"] = Tensor::from_f64({}, scalar);
  std::vector<int64_t> ids = {-1, 0, int64_t(1) << 40};
  file.tensors["ids"] = Tensor::from_i64({3}, ids);
  file.tensors["empty"] = Tensor::from_f32({0, 4}, std::vector<float>{});
  Tensor bytes{DType::kU8, {5}, {1, 2, 3, 250, 255}};
  file.tensors["bytes"] = bytes;
  file.tensors["mask"] = Tensor{DType::kBool, {2}, {0, 1}};
  file.tensors["half"] = Tensor{DType::kF16, {2}, {0x00, 0x3c, 0x00, 0xc0}};  // 1.0, -2.0
  file.tensors["brain"] = Tensor{DType::kBF16, {1}, {0x80, 0x3f}};            // 1.0
  file.tensors["counts"] = Tensor{DType::kI32, {1}, {7, 0, 0, 0}};
  file.metadata["format"] = "pt";
  file.metadata["note"] = "unicode ♩ and \"quotes\"";
  return file;
}

TEST(CommonSafetensors, DTypeNamesAndSizesRoundTrip) {
  for (DType dtype :
       {DType::kF32, DType::kF64, DType::kI64, DType::kI32, DType::kU8, DType::kBool, DType::kF16, DType::kBF16}) {
    auto parsed = parse_dtype(dtype_name(dtype));
    ASSERT_TRUE(parsed.has_value()) << dtype_name(dtype);
    EXPECT_EQ(*parsed, dtype);
  }
  EXPECT_EQ(dtype_size(DType::kF32), 4u);
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_EQ(dtype_size(DType::kI64), 8u);
  EXPECT_FALSE(parse_dtype("F8_E4M3").has_value());
  EXPECT_FALSE(parse_dtype("f32").has_value());
}

TEST(CommonSafetensors, EncodeDecodeRoundTripsEveryDtypeScalarAndEmptyTensor) {
  TensorFile file = sample_file();
  TensorFile decoded = decode(encode(file), "memory");
  EXPECT_EQ(decoded, file);
  EXPECT_EQ(decoded.tensors.at("layer.weight").to_f32(), file.tensors.at("layer.weight").to_f32());
  EXPECT_EQ(decoded.tensors.at("scale").to_f64()[0], 3.141592653589793);
  EXPECT_EQ(decoded.tensors.at("ids").to_i64()[2], int64_t(1) << 40);
  EXPECT_EQ(decoded.tensors.at("scale").element_count(), 1);
  EXPECT_EQ(decoded.tensors.at("empty").element_count(), 0);
  EXPECT_THROW_WITH(decoded.tensors.at("ids").to_f32(), Error, {"dtype I64", "expected F32"});
}

TEST(CommonSafetensors, LayoutFollowsTheReferenceImplementation) {
  TensorFile file;
  file.tensors["b"] = Tensor::from_f32({2}, std::vector<float>{1.0f, 2.0f});
  file.tensors["a"] = Tensor{DType::kU8, {3}, {9, 8, 7}};
  file.metadata["format"] = "pt";
  std::vector<uint8_t> bytes = encode(file);

  uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i) header_length |= uint64_t(bytes[i]) << (8 * i);
  EXPECT_EQ(header_length % 8, 0u) << "header padded so that the data starts 8-byte aligned";
  std::string header(bytes.begin() + 8, bytes.begin() + 8 + header_length);
  // Metadata first, then names sorted, offsets contiguous in that order; padding is trailing spaces.
  std::string expected = R"({"__metadata__":{"format":"pt"},"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}})";
  ASSERT_GE(header.size(), expected.size());
  EXPECT_EQ(header.substr(0, expected.size()), expected);
  EXPECT_EQ(header.find_first_not_of(' ', expected.size()), std::string::npos);
  EXPECT_LT(header.size() - expected.size(), 8u);
  ASSERT_EQ(bytes.size(), 8 + header_length + 11);
  EXPECT_EQ(bytes[8 + header_length], 9);  // "a" first
  float second = 0;
  std::memcpy(&second, bytes.data() + 8 + header_length + 3 + 4, 4);
  EXPECT_EQ(second, 2.0f);
}

TEST(CommonSafetensors, WriteIsReadableAndReplacesTheFileAtomically) {
  testing::TempDir dir;
  std::string path = dir.file("model.safetensors");
  write(path, sample_file());
  EXPECT_EQ(read(path), sample_file());
  TensorFile smaller;
  smaller.tensors["x"] = Tensor::from_f32({1}, std::vector<float>{4.0f});
  write(path, smaller);
  EXPECT_EQ(read(path), smaller);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u) << "no temporary files left behind";
}

TEST(CommonSafetensors, IoErrorsNameTheFile) {
  testing::TempDir dir;
  EXPECT_THROW_WITH(read(dir.file("missing.safetensors")), IoError, {dir.file("missing.safetensors"), "cannot open"});
  EXPECT_THROW_WITH(write(dir.file("no/such/dir/x.safetensors"), sample_file()), IoError,
                    {dir.file("no/such/dir/x.safetensors"), "cannot create"});
}

TEST(CommonSafetensors, EncodeRejectsInconsistentTensors) {
  TensorFile file;
  file.tensors["w"] = Tensor{DType::kF32, {2, 2}, std::vector<uint8_t>(12)};
  EXPECT_THROW_WITH(encode(file), Error, {"tensor 'w'", "12 bytes", "[2, 2]", "F32", "needs 16"});
  file.tensors["w"] = Tensor{DType::kF32, {-1}, {}};
  EXPECT_THROW_WITH(encode(file), Error, {"tensor 'w'", "invalid shape [-1]"});
  file.tensors.clear();
  file.tensors["__metadata__"] = Tensor::from_f32({1}, std::vector<float>{1.0f});
  EXPECT_THROW_WITH(encode(file), Error, {"may not be named \"__metadata__\""});
  EXPECT_THROW_WITH(Tensor::from_f32({3}, std::vector<float>{1.0f}), Error, {"1 values", "shape [3]"});
}

TEST(CommonSafetensors, RejectsFileShorterThanTheLengthField) {
  auto e = expect_rejected({1, 0, 0}, "too short");
  EXPECT_EQ(e.offset(), 0);
}

TEST(CommonSafetensors, RejectsHeaderLengthPastEndOfFile) {
  auto bytes = raw_file("{}", {}, 100);
  auto e = expect_rejected(bytes, "runs past the end of the file");
  EXPECT_EQ(e.offset(), 0);
}

TEST(CommonSafetensors, RejectsHugeHeaderLength) {
  expect_rejected(raw_file("{}", {}, int64_t(kMaxHeaderBytes) + 1), "exceeds the limit");
  expect_rejected(raw_file("{}", {}, int64_t(1) << 62), "exceeds the limit");
}

TEST(CommonSafetensors, RejectsInvalidJsonWithOffsetIntoHeader) {
  auto e = expect_rejected(raw_file(R"({"a": {"dtype": )", {}), "not valid JSON");
  EXPECT_GE(e.offset(), 8);
  expect_rejected(raw_file("{\"\xff\": 1}", {}), "not valid JSON");  // invalid UTF-8
}

TEST(CommonSafetensors, RejectsHeaderThatIsNotAnObject) {
  expect_rejected(raw_file("[1, 2]  ", {}), "must be a JSON object");
}

TEST(CommonSafetensors, RejectsDuplicateNames) {
  auto e = expect_rejected(
      raw_file(
          R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
          {1, 2}),
      "more than once");
  EXPECT_EQ(e.offset(), 8 + 1);  // the first "w"
}

TEST(CommonSafetensors, RejectsMalformedEntries) {
  expect_rejected(raw_file(R"({"w": 3})", {}), "entry must be a JSON object");
  expect_rejected(raw_file(R"({"w":{"dtype":"U8","shape":[1]}})", {1}), "missing field \"data_offsets\"");
  expect_rejected(raw_file(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", {1}), "missing field \"shape\"");
  expect_rejected(raw_file(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":0}})", {1}),
                  "unexpected field \"extra\"");
  expect_rejected(raw_file(R"({"w":{"dtype":7,"shape":[1],"data_offsets":[0,1]}})", {1}), "\"dtype\" must be");
  expect_rejected(raw_file(R"({"w":{"dtype":"U8","shape":1,"data_offsets":[0,1]}})", {1}), "\"shape\" must be");
}

TEST(CommonSafetensors, RejectsUnknownDtype) {
  auto e = expect_rejected(raw_file(R"({"w":{"dtype":"F8_E5M2","shape":[1],"data_offsets":[0,1]}})", {1}),
                           "unknown dtype \"F8_E5M2\"");
  EXPECT_EQ(e.offset(), 8 + 1);
  EXPECT_NE(e.problem().find("tensor 'w'"), std::string::npos);
}

TEST(CommonSafetensors, RejectsBadShapeDimensions) {
  expect_rejected(raw_file(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", {1}), "not a non-negative");
  expect_rejected(raw_file(R"({"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", {1}), "not a non-negative");
  expect_rejected(raw_file(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
                           std::vector<uint8_t>(8)),
                  "too large");
}

TEST(CommonSafetensors, RejectsBadDataOffsets) {
  expect_rejected(raw_file(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", {1}), "\"data_offsets\" must be");
  expect_rejected(raw_file(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,-1]}})", {1}),
                  "\"data_offsets\" must be");
  expect_rejected(raw_file(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}})", {1}), "end before they begin");
}

TEST(CommonSafetensors, RejectsShapeThatDoesNotMatchByteLength) {
  auto e = expect_rejected(
      raw_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", std::vector<uint8_t>(12)),
      "needs 16 bytes");
  EXPECT_NE(e.problem().find("hold 12"), std::string::npos);
}

TEST(CommonSafetensors, RejectsOffsetsPastTheDataBuffer) {
  auto e = expect_rejected(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", {1, 2, 3, 4}),
                           "run past the end of the 4-byte data buffer");
  EXPECT_EQ(e.offset(), 8 + 1);
}

TEST(CommonSafetensors, RejectsOverlappingTensors) {
  std::string header =
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})";
  auto e = expect_rejected(raw_file(header, {1, 2, 3}), "overlaps tensor 'a'");
  EXPECT_EQ(e.offset(), int64_t(8 + header.size() + 1));
}

TEST(CommonSafetensors, RejectsGapBetweenTensors) {
  std::string header =
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}})";
  auto e = expect_rejected(raw_file(header, {1, 2, 3}), "gap of 1 bytes");
  EXPECT_EQ(e.offset(), int64_t(8 + header.size() + 1));
}

TEST(CommonSafetensors, RejectsTrailingBytesThatBelongToNoTensor) {
  std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  auto e = expect_rejected(raw_file(header, {1, 2, 3}), "2 bytes at the end");
  EXPECT_EQ(e.offset(), int64_t(8 + header.size() + 1));
}

TEST(CommonSafetensors, RejectsNonStringMetadata) {
  expect_rejected(raw_file(R"({"__metadata__":{"epochs":3}})", {}), "must be a string");
  expect_rejected(raw_file(R"({"__metadata__":[1]})", {}), "object of strings");
}

TEST(CommonSafetensors, AcceptsEntriesInAnyOrderAndEmptyHeader) {
  // The reference writer orders data by dtype, not name: a reader must accept any order of entries.
  std::string header =
      R"({"z":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})";
  TensorFile file = decode(raw_file(header, {5, 6, 7}), "x");
  EXPECT_EQ(file.tensors.at("z").data, std::vector<uint8_t>({5}));
  EXPECT_EQ(file.tensors.at("a").data, std::vector<uint8_t>({6, 7}));
  EXPECT_TRUE(decode(raw_file("{}      ", {}), "x").tensors.empty());
}

TEST(CommonSafetensors, EveryTruncationOfAValidFileIsRejected) {
  std::vector<uint8_t> bytes = encode(sample_file());
  for (size_t length = 0; length < bytes.size(); ++length) {
    std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + length);
    EXPECT_THROW_WITH(decode(truncated, "cut.safetensors"), FormatError,
                      {"cut.safetensors: byte ", length < 8 ? "too short" : "truncated file?"})
        << "length " << length;
  }
  // And any single flipped byte either decodes to a consistent file or is rejected, never crashes.
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::vector<uint8_t> mutated = bytes;
    mutated[at] ^= 0x5a;
    try {
      TensorFile file = decode(mutated, "flip.safetensors");
      for (const auto& [name, tensor] : file.tensors)
        EXPECT_EQ(tensor.data.size(), size_t(tensor.element_count()) * dtype_size(tensor.dtype));
    } catch (const FormatError&) {
    }
  }
}

}  // namespace
}  // namespace cadenza::safetensors
