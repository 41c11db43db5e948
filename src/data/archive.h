// Unpacking the archives data sets are published in: tar, gzip-compressed tar and zip.
//
// Supported:
//   - tar: POSIX ustar (with the 155-byte name prefix), GNU long names and long link names ('L' / 'K' entries),
//     pax extended headers ('x': path, linkpath, size; 'g' global headers are read and ignored). Regular files,
//     directories, hard links (unpacked as copies of the earlier file). Devices and FIFOs are skipped.
//   - gzip around a tar (zlib, several concatenated members allowed), decompressed as a stream: memory use
//     does not depend on the archive size.
//   - zip: central directory + local headers, methods "stored" and "deflate", data descriptors, CRC-32 checked.
//     Zip64 and encrypted entries are rejected with a clear error.
//
// Safety: every entry name is checked before anything is written. Absolute names, names with a ".." component
// and symbolic links whose target is absolute or climbs out of the archive are errors (FormatError naming the
// archive, the offset and the entry), and nothing is ever written outside the destination. Symbolic links that
// stay inside are accepted but NOT created: no data set we fetch needs them, and without links on disk no later
// write or read can be redirected through one. File modes are not copied (files 0644, or 0755 when the archive
// marks them executable; directories 0755), so a read-only entry cannot block its own extraction or clean-up.
// Unpacked bytes and entry counts are capped (ExtractLimits) against decompression bombs.
//
// Damaged input (bad checksums, truncated data, a missing end-of-archive marker, corrupt compressed data) throws
// FormatError; files already written stay in the destination, which callers unpack into a temporary directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace cadenza {

enum class ArchiveFormat { kUnknown, kTar, kTarGzip, kZip };

const char* archive_format_name(ArchiveFormat format);

// Recognises the format from the file's first bytes (gzip and zip magic numbers, the tar header checksum), not
// from its name. Throws IoError if the file cannot be read.
ArchiveFormat detect_archive_format(const std::string& path);

struct ExtractLimits {
  uint64_t max_total_bytes = uint64_t(4) << 30;  // sum of unpacked file sizes
  uint64_t max_entries = 1'000'000;
};

struct ExtractSummary {
  ArchiveFormat format = ArchiveFormat::kUnknown;
  // Where the content is: the destination, or destination/<folder> when everything in the archive sits in one
  // top-level folder, as in the archives GitHub serves ("nottingham-dataset-master/...").
  std::filesystem::path content_root;
  std::string stripped_folder;  // that folder's name, or "" when nothing was stripped
  uint64_t files = 0;           // regular files written (hard links included)
  uint64_t directories = 0;
  uint64_t skipped = 0;  // symbolic links, devices, FIFOs
  uint64_t bytes = 0;    // bytes written
};

// Unpacks the archive at archive_path (format detected from its content) into destination, which is created if
// missing. Throws FormatError on a damaged or unsafe archive, IoError on a file system failure.
ExtractSummary extract_archive(const std::string& archive_path, const std::filesystem::path& destination,
                               const ExtractLimits& limits = {});

}  // namespace cadenza
