#include "data/checksum.h"

#include <zlib.h>

#include <cstdio>
#include <limits>

namespace cadenza {

uint32_t crc32_of(std::span<const uint8_t> bytes, uint32_t previous) {
  // zlib takes a uInt length; feed huge spans in pieces.
  uLong crc = previous;
  const uint8_t* data = bytes.data();
  size_t left = bytes.size();
  constexpr size_t kChunk = size_t(1) << 30;
  while (left > 0) {
    size_t n = left < kChunk ? left : kChunk;
    crc = ::crc32(crc, data, static_cast<uInt>(n));
    data += n;
    left -= n;
  }
  return static_cast<uint32_t>(crc);
}

uint64_t fnv1a64(std::span<const uint8_t> bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (uint8_t byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

uint64_t fnv1a64(std::string_view text) {
  return fnv1a64(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::string content_hash(std::span<const uint8_t> bytes) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(bytes)));
  return std::string("fnv1a64:") + hex;
}

}  // namespace cadenza
