#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/error.h"
#include "data/sha256.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

// Expected digests from the NIST examples (FIPS 180-4 / SHA256.pdf, "Cryptographic Algorithm Validation").
constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* k448Bits = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr const char* k896Bits = "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1";
constexpr const char* kMillionA = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(DataSha256, NistVectors) {
  EXPECT_EQ(sha256_hex(std::string_view("")), kEmpty);
  EXPECT_EQ(sha256_hex(std::string_view("abc")), kAbc);
  EXPECT_EQ(sha256_hex(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")), k448Bits);
  EXPECT_EQ(
      sha256_hex(std::string_view("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnop"
                                  "qklmnopqrlmnopqrsmnopqrstnopqrstu")),
      k896Bits);
  EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')), kMillionA);
}

TEST(DataSha256, IncrementalUpdatesInAnyChunkingMatchOneShot) {
  const std::string million(1'000'000, 'a');
  // Chunk sizes around the 64-byte block and the 56-byte padding boundary exercise the buffering paths.
  for (size_t chunk : {1, 3, 55, 56, 63, 64, 65, 4096, 999'999}) {
    Sha256 hasher;
    for (size_t at = 0; at < million.size(); at += chunk) {
      hasher.update(std::string_view(million).substr(at, chunk));
    }
    EXPECT_EQ(to_hex(hasher.finish()), kMillionA) << "chunk size " << chunk;
  }
}

TEST(DataSha256, PaddingBoundaryLengthsDifferAndFinishResets) {
  // Lengths 55, 56 and 64 need one or two padding blocks; all digests must differ and be reproducible.
  std::set<std::string> digests;
  for (size_t length : {0, 55, 56, 57, 63, 64, 65, 119, 120}) {
    Sha256 hasher;
    hasher.update(std::string(length, 'x'));
    std::string first = to_hex(hasher.finish());
    hasher.update(std::string(length, 'x'));  // finish() reset the hasher: same input, same digest
    EXPECT_EQ(to_hex(hasher.finish()), first) << length;
    digests.insert(first);
  }
  EXPECT_EQ(digests.size(), 9u);
}

TEST(DataSha256, FileHashMatchesMemoryHashAndMissingFileIsIoError) {
  testing::TempDir dir;
  std::string content;
  for (int i = 0; i < 200'000; ++i) content.push_back(static_cast<char>(i * 7 + (i >> 8)));
  {
    FILE* file = std::fopen(dir.file("data.bin").c_str(), "wb");
    ASSERT_NE(file, nullptr);
    std::fwrite(content.data(), 1, content.size(), file);
    std::fclose(file);
  }
  EXPECT_EQ(sha256_file_hex(dir.file("data.bin")), sha256_hex(content));
  try {
    sha256_file_hex(dir.file("absent.bin"));
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_NE(std::string(error.what()).find("absent.bin"), std::string::npos) << error.what();
  }
}

TEST(DataSha256, HexValidation) {
  EXPECT_TRUE(is_sha256_hex(kAbc));
  EXPECT_TRUE(is_sha256_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  EXPECT_FALSE(is_sha256_hex(std::string(kAbc).substr(1)));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a') + "g"));
  EXPECT_FALSE(is_sha256_hex(""));
}

}  // namespace
}  // namespace cadenza
