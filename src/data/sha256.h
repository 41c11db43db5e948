// SHA-256 (FIPS 180-4), used to verify downloaded archives and the files unpacked from them.
//
// A plain portable implementation: the data sets we verify are tens of megabytes, which it hashes in well under
// a second, so there is no reason to pull in OpenSSL for it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cadenza {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental hasher: update() any number of times, then finish() once.
class Sha256 {
 public:
  Sha256();
  void update(std::span<const uint8_t> bytes);
  void update(std::string_view text);
  // Pads, returns the digest and resets the hasher so that it can be reused.
  Sha256Digest finish();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_{};
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// Lower-case hex of a digest (64 characters).
std::string to_hex(const Sha256Digest& digest);
// True when text is exactly 64 hex digits (either case).
bool is_sha256_hex(std::string_view text);

std::string sha256_hex(std::span<const uint8_t> bytes);
std::string sha256_hex(std::string_view text);
// Streams the file through the hasher (constant memory). Throws IoError if it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace cadenza
