// A minimal PNG encoder over zlib (no libpng): 8-bit truecolour, no interlace, filter type 0 on every row.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace cadenza {

// Encodes `height` rows of `width` pixels with `channels` bytes each (3 = RGB, 4 = RGBA), row-major, no padding.
// Throws Error for a size that does not match or does not fit PNG's limits.
std::vector<uint8_t> encode_png(int width, int height, int channels, std::span<const uint8_t> pixels);

}  // namespace cadenza
