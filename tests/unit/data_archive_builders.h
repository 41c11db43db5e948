// Test helpers that build tar, gzip and zip archives in memory, written from the format specifications rather
// than with the code under test, so the archive reader is checked against an independent writer.
// Used by test_data_archive.cpp, test_data_fetch.cpp and tests/cli/test_cli_dataset_fetch.cpp.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cadenza::testing {

struct TarMember {
  TarMember(std::string name, std::string content = "", char type = '0', std::string link = "", unsigned mode = 0644)
      : name(std::move(name)), content(std::move(content)), type(type), link(std::move(link)), mode(mode) {}
  std::string name;
  std::string content;
  char type;         // '0' file, '5' directory, '2' symlink, '1' hard link
  std::string link;  // target of a link
  unsigned mode;
};

enum class LongNames { kGnu, kPax };

inline void put_octal(std::string& block, size_t offset, size_t width, uint64_t value) {
  std::string digits(width - 1, '0');
  for (size_t i = width - 1; i-- > 0; value >>= 3) digits[i] = static_cast<char>('0' + (value & 7));
  block.replace(offset, width - 1, digits);
  block[offset + width - 1] = '\0';
}

// One 512-byte ustar header ("ustar\0" "00" magic), checksum filled in.
inline std::string tar_header(const std::string& name, uint64_t size, char type, const std::string& link,
                              unsigned mode) {
  std::string block(512, '\0');
  block.replace(0, std::min<size_t>(name.size(), 100), name.substr(0, 100));
  put_octal(block, 100, 8, mode);
  put_octal(block, 108, 8, 1000);
  put_octal(block, 116, 8, 1000);
  put_octal(block, 124, 12, size);
  put_octal(block, 136, 12, 1700000000);
  block[156] = type;
  block.replace(157, std::min<size_t>(link.size(), 100), link.substr(0, 100));
  block.replace(257, 8, std::string("ustar") + '\0' + "00");  // POSIX ustar magic and version
  block.replace(265, 4, "user");
  block.replace(297, 5, "group");
  block.replace(148, 8, "        ");
  unsigned sum = 0;
  for (unsigned char c : block) sum += c;
  put_octal(block, 148, 7, sum);  // six digits, NUL, then the space already there
  return block;
}

inline void pad_to_block(std::string& tar) {
  tar.append((512 - tar.size() % 512) % 512, '\0');
}

// A pax "LENGTH key=value\n" record; LENGTH counts itself.
inline std::string pax_record(const std::string& key, const std::string& value) {
  size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t length = body + 1;
  while (std::to_string(length).size() + body != length) ++length;
  return std::to_string(length) + " " + key + "=" + value + "\n";
}

inline std::string make_tar(const std::vector<TarMember>& members, LongNames long_names = LongNames::kGnu,
                            bool end_marker = true) {
  std::string tar;
  for (const auto& member : members) {
    if (member.name.size() > 100) {
      if (long_names == LongNames::kGnu) {
        std::string data = member.name + '\0';
        tar += tar_header("././@LongLink", data.size(), 'L', "", 0644);
        tar += data;
      } else {
        std::string data = pax_record("path", member.name);
        tar += tar_header("PaxHeaders/long", data.size(), 'x', "", 0644);
        tar += data;
      }
      pad_to_block(tar);
    }
    tar += tar_header(member.name, member.content.size(), member.type, member.link, member.mode);
    tar += member.content;
    pad_to_block(tar);
  }
  if (end_marker) tar.append(1024, '\0');
  return tar;
}

inline std::string gzip_bytes(const std::string& data, int level = 1) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

inline std::string raw_deflate(const std::string& data) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

struct ZipMember {
  ZipMember(std::string name, std::string content, bool deflate = true, bool data_descriptor = false,
            uint32_t unix_mode = 0100644, bool corrupt_crc = false)
      : name(std::move(name)),
        content(std::move(content)),
        deflate(deflate),
        data_descriptor(data_descriptor),
        unix_mode(unix_mode),
        corrupt_crc(corrupt_crc) {}
  std::string name;
  std::string content;
  bool deflate;
  bool data_descriptor;  // sizes and CRC after the data, zeros in the local header (as streaming writers do)
  uint32_t unix_mode;
  bool corrupt_crc;
};

inline void put16(std::string& out, uint32_t value) {
  out.push_back(static_cast<char>(value & 0xff));
  out.push_back(static_cast<char>((value >> 8) & 0xff));
}
inline void put32(std::string& out, uint32_t value) {
  put16(out, value & 0xffff);
  put16(out, value >> 16);
}

// PKWARE APPNOTE 4.3: local headers + data (+ descriptors), central directory, end record.
inline std::string make_zip(const std::vector<ZipMember>& members) {
  std::string zip;
  std::string directory;
  for (const auto& member : members) {
    const bool is_directory = !member.name.empty() && member.name.back() == '/';
    std::string data = member.deflate && !is_directory ? raw_deflate(member.content) : member.content;
    uint32_t crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(member.content.data()), static_cast<uInt>(member.content.size())));
    if (member.corrupt_crc) crc ^= 1;
    const uint16_t method = member.deflate && !is_directory ? 8 : 0;
    const uint16_t flags = member.data_descriptor ? 8 : 0;
    const uint32_t offset = static_cast<uint32_t>(zip.size());
    put32(zip, 0x04034b50);
    put16(zip, 20);
    put16(zip, flags);
    put16(zip, method);
    put16(zip, 0);
    put16(zip, 0);
    put32(zip, member.data_descriptor ? 0 : crc);
    put32(zip, member.data_descriptor ? 0 : static_cast<uint32_t>(data.size()));
    put32(zip, member.data_descriptor ? 0 : static_cast<uint32_t>(member.content.size()));
    put16(zip, static_cast<uint32_t>(member.name.size()));
    put16(zip, 0);
    zip += member.name;
    zip += data;
    if (member.data_descriptor) {
      put32(zip, 0x08074b50);
      put32(zip, crc);
      put32(zip, static_cast<uint32_t>(data.size()));
      put32(zip, static_cast<uint32_t>(member.content.size()));
    }
    put32(directory, 0x02014b50);
    put16(directory, (3 << 8) | 20);  // made by: Unix
    put16(directory, 20);
    put16(directory, flags);
    put16(directory, method);
    put16(directory, 0);
    put16(directory, 0);
    put32(directory, crc);
    put32(directory, static_cast<uint32_t>(data.size()));
    put32(directory, static_cast<uint32_t>(member.content.size()));
    put16(directory, static_cast<uint32_t>(member.name.size()));
    put16(directory, 0);
    put16(directory, 0);
    put16(directory, 0);
    put16(directory, 0);
    put32(directory, (is_directory ? 040755u : member.unix_mode) << 16);
    put32(directory, offset);
    directory += member.name;
  }
  const uint32_t directory_offset = static_cast<uint32_t>(zip.size());
  zip += directory;
  put32(zip, 0x06054b50);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, static_cast<uint32_t>(members.size()));
  put16(zip, static_cast<uint32_t>(members.size()));
  put32(zip, static_cast<uint32_t>(directory.size()));
  put32(zip, directory_offset);
  put16(zip, 0);
  return zip;
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The members of a tar of every file under root, inside a top-level folder `top` as GitHub's archives have;
// `edit` may change a file's content (by relative path) on the way, to build tampered archives.
inline std::vector<TarMember> tar_members_of_directory(
    const std::filesystem::path& root, const std::string& top,
    const std::function<void(const std::string& relative, std::string& content)>& edit = {}) {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  std::vector<TarMember> members{{top + "/", "", '5', "", 0755}};
  for (const auto& path : paths) {
    const std::string relative = std::filesystem::relative(path, root).generic_string();
    if (std::filesystem::is_directory(path)) {
      members.push_back({top + "/" + relative + "/", "", '5', "", 0755});
    } else {
      std::string content = read_bytes(path);
      if (edit) edit(relative, content);
      members.push_back({top + "/" + relative, std::move(content), '0', "", 0644});
    }
  }
  return members;
}

}  // namespace cadenza::testing
