#include "common/xml_text.h"

#include <cstdint>

namespace cadenza {

std::string xml_text(std::string_view raw) {
  std::string out;
  const auto* s = reinterpret_cast<const unsigned char*>(raw.data());
  const size_t n = raw.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&apos;";
          break;
        default:
          out += (c < 0x20 || c == 0x7F) ? '?' : static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // Length of a well-formed UTF-8 sequence starting here (0 if not well formed).
    size_t length = 0;
    uint32_t code = 0;
    if (c >= 0xC2 && c <= 0xDF)
      length = 2, code = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
      length = 3, code = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
      length = 4, code = c & 0x07;
    bool valid = length > 0 && i + length <= n;
    for (size_t k = 1; valid && k < length; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) valid = false;
      code = (code << 6) | (s[i + k] & 0x3F);
    }
    if (valid) {
      const uint32_t minimum = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
      valid = code >= minimum && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF) && code != 0xFFFE &&
              code != 0xFFFF;
    }
    if (valid) {
      out.append(raw, i, length);
      i += length;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

}  // namespace cadenza
