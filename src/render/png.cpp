#include "render/png.h"

#include <zlib.h>

#include <algorithm>
#include <string>

#include "common/error.h"

namespace cadenza {

namespace {

void put_u32_be(std::vector<uint8_t>& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

// length, type, data, CRC-32 of type + data.
void put_chunk(std::vector<uint8_t>& out, const char type[4], std::span<const uint8_t> data) {
  put_u32_be(out, static_cast<uint32_t>(data.size()));
  const size_t type_at = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib's crc32 takes uInt lengths: feed large chunks piecewise.
  const uint8_t* p = out.data() + type_at;
  size_t remaining = 4 + data.size();
  while (remaining > 0) {
    const uInt piece = static_cast<uInt>(std::min<size_t>(remaining, 1u << 30));
    crc = crc32(crc, p, piece);
    p += piece;
    remaining -= piece;
  }
  put_u32_be(out, static_cast<uint32_t>(crc));
}

}  // namespace

std::vector<uint8_t> encode_png(int width, int height, int channels, std::span<const uint8_t> pixels) {
  if (width <= 0 || height <= 0)
    throw Error("png: image of " + std::to_string(width) + "x" + std::to_string(height) + " pixels has no area");
  if (channels != 3 && channels != 4)
    throw Error("png: only RGB and RGBA pixels (3 or 4 channels) are supported, not " + std::to_string(channels) +
                " channels");
  const size_t row_bytes = static_cast<size_t>(width) * static_cast<size_t>(channels);
  if (pixels.size() != row_bytes * static_cast<size_t>(height))
    throw Error("png: " + std::to_string(pixels.size()) + " bytes of pixels for a " + std::to_string(width) + "x" +
                std::to_string(height) + " image");

  // Scanlines: a filter-type byte (0 = None) before every row.
  std::vector<uint8_t> raw;
  raw.reserve((row_bytes + 1) * static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);
    const uint8_t* row = pixels.data() + row_bytes * static_cast<size_t>(y);
    raw.insert(raw.end(), row, row + row_bytes);
  }
  uLongf compressed_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> compressed(compressed_size);
  if (compress2(compressed.data(), &compressed_size, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK)
    throw Error("png: zlib compression failed");
  compressed.resize(compressed_size);
  if (compressed.size() > 0x7FFFFFFFu) throw Error("png: compressed image is larger than one PNG chunk allows");

  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> header;
  put_u32_be(header, static_cast<uint32_t>(width));
  put_u32_be(header, static_cast<uint32_t>(height));
  header.push_back(8);                      // bit depth
  header.push_back(channels == 3 ? 2 : 6);  // colour type: truecolour (with alpha)
  header.push_back(0);                      // compression: deflate
  header.push_back(0);                      // filter method 0
  header.push_back(0);                      // no interlace
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", compressed);
  put_chunk(png, "IEND", {});
  return png;
}

}  // namespace cadenza
