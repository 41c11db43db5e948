// Checksums and content hashes used by the dataset shard format.
//
// CRC-32 (zlib's polynomial) guards the shard's header, metadata, index and payload against truncation and
// corruption; FNV-1a 64 identifies source files and assigns splits. Neither is cryptographic: they detect
// accidents, not tampering.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cadenza {

// CRC-32 as computed by zlib's crc32() (the one used by gzip and PNG); `previous` chains calls.
uint32_t crc32_of(std::span<const uint8_t> bytes, uint32_t previous = 0);

// 64-bit FNV-1a. Stable across machines and runs (unlike std::hash).
uint64_t fnv1a64(std::span<const uint8_t> bytes);
uint64_t fnv1a64(std::string_view text);

// "fnv1a64:" followed by 16 lowercase hex digits: the content hash recorded for each source file.
std::string content_hash(std::span<const uint8_t> bytes);

}  // namespace cadenza
