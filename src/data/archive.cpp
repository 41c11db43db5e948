#include "data/archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"

namespace cadenza {

namespace {

constexpr size_t kBlock = 512;                             // tar block size
constexpr size_t kChunk = size_t(1) << 16;                 // I/O chunk size
constexpr uint64_t kMaxMetadataBytes = uint64_t(1) << 20;  // GNU long names, pax headers, link targets

// A whole archive file, read sequentially (tar, gzip) or at offsets (zip).
class InputFile {
 public:
  // open_regular_file: never blocks on a FIFO, and names a directory or device given as an archive.
  explicit InputFile(const std::string& path) : path_(path), fd_(open_regular_file(path, &size_)) {}
  // (size_ is declared before fd_, so that open_regular_file fills it after its own initialization.)
  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }

  // Reads up to n bytes at the current position; returns fewer only at the end of the file.
  size_t read(uint8_t* out, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t got = ::read(fd_.get(), out + done, n - done);
      if (got < 0) {
        if (errno == EINTR) continue;
        throw IoError(path_, "read failed: " + errno_text());
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

  // Reads up to n bytes at offset; returns fewer only at the end of the file.
  size_t read_at(uint64_t offset, uint8_t* out, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t got = ::pread(fd_.get(), out + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        throw IoError(path_, "read failed: " + errno_text());
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

 private:
  std::string path_;
  uint64_t size_ = 0;
  FileDescriptor fd_;
};

// Sequential bytes: the archive file itself, or what a gzip stream decompresses to.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Fills out with up to n bytes; returns fewer only at the end of the stream.
  virtual size_t read(uint8_t* out, size_t n) = 0;
};

class FileStream : public ByteStream {
 public:
  explicit FileStream(InputFile& file) : file_(file) {}
  size_t read(uint8_t* out, size_t n) override { return file_.read(out, n); }

 private:
  InputFile& file_;
};

// gzip decompression (RFC 1952) with zlib. Several concatenated members are one stream, as gzip(1) treats them;
// zero padding after the last member is accepted, anything else after it is an error.
class GzipStream : public ByteStream {
 public:
  explicit GzipStream(InputFile& file) : file_(file), input_(kChunk) {
    std::memset(&z_, 0, sizeof z_);
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw Error("zlib: cannot initialise the gzip decoder");
  }
  ~GzipStream() override { inflateEnd(&z_); }
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  size_t read(uint8_t* out, size_t n) override {
    size_t produced = 0;
    while (produced < n && !finished_) {
      if (z_.avail_in == 0 && !refill()) {
        throw FormatError(file_.path(), static_cast<int64_t>(file_.size()),
                          "truncated gzip data: the file ends in the middle of the compressed stream");
      }
      z_.next_out = out + produced;
      z_.avail_out = static_cast<uInt>(std::min<size_t>(n - produced, UINT32_MAX));
      uInt room = z_.avail_out;
      int rc = inflate(&z_, Z_NO_FLUSH);
      produced += room - z_.avail_out;
      if (rc == Z_STREAM_END) {
        start_next_member_or_finish();
      } else if (rc == Z_BUF_ERROR && z_.avail_in == 0) {
        continue;  // needs more input: refilled at the top of the loop
      } else if (rc != Z_OK) {
        std::string detail = z_.msg != nullptr ? z_.msg : "zlib error " + std::to_string(rc);
        throw FormatError(file_.path(), compressed_offset(), "corrupt gzip data (" + detail + ")");
      }
    }
    return produced;
  }

 private:
  bool refill() {
    size_t got = file_.read(input_.data(), input_.size());
    consumed_ += got;
    z_.next_in = input_.data();
    z_.avail_in = static_cast<uInt>(got);
    return got > 0;
  }

  int64_t compressed_offset() const { return static_cast<int64_t>(consumed_ - z_.avail_in); }

  void start_next_member_or_finish() {
    while (true) {
      if (z_.avail_in == 0 && !refill()) {
        finished_ = true;
        return;
      }
      if (z_.next_in[0] == 0) {  // zero padding (tape blocking) after the last member
        ++z_.next_in;
        --z_.avail_in;
        continue;
      }
      if (z_.next_in[0] == 0x1f) {  // another member: inflateReset keeps the gzip wrapper setting
        inflateReset(&z_);
        return;
      }
      throw FormatError(file_.path(), compressed_offset(), "unexpected data after the end of the gzip stream");
    }
  }

  InputFile& file_;
  z_stream z_;
  std::vector<uint8_t> input_;
  uint64_t consumed_ = 0;
  bool finished_ = false;
};

// Turns an archive entry name into a safe relative path ("a/b/c"), or "" for the root itself ("./").
// Absolute names and ".." components are errors: they are how archives write outside their destination.
std::string safe_relative_path(const std::string& name, const std::string& archive, int64_t offset,
                               const std::string& offset_note) {
  if (name.empty()) throw FormatError(archive, offset, "entry with an empty name" + offset_note);
  if (name.front() == '/') {
    throw FormatError(archive, offset, "unsafe entry '" + name + "': absolute paths are not allowed" + offset_note);
  }
  std::string result;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    std::string_view component(name.data() + start, end - start);
    if (component == "..") {
      throw FormatError(archive, offset,
                        "unsafe entry '" + name + "': '..' would leave the destination directory" + offset_note);
    }
    if (!component.empty() && component != ".") {
      if (!result.empty()) result.push_back('/');
      result.append(component);
    }
    start = end + 1;
  }
  return result;
}

// A symbolic link may only point at something inside the archive: relative, and never above the root.
void check_symlink_target(const std::string& link_path, const std::string& target, const std::string& archive,
                          int64_t offset, const std::string& offset_note) {
  if (!target.empty() && target.front() == '/') {
    throw FormatError(archive, offset,
                      "unsafe symbolic link '" + link_path + "' -> '" + target + "': absolute target" + offset_note);
  }
  int depth = static_cast<int>(std::count(link_path.begin(), link_path.end(), '/'));  // of the link's folder
  size_t start = 0;
  while (start <= target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string::npos) end = target.size();
    std::string_view component(target.data() + start, end - start);
    if (component == "..") {
      if (--depth < 0) {
        throw FormatError(
            archive, offset,
            "unsafe symbolic link '" + link_path + "' -> '" + target + "': points outside the archive" + offset_note);
      }
    } else if (!component.empty() && component != ".") {
      ++depth;
    }
    start = end + 1;
  }
}

void write_all(int fd, const uint8_t* data, size_t size, const std::filesystem::path& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(path.string(), "write failed: " + errno_text());
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// The destination directory: creates what entries describe and enforces the limits.
class OutputTree {
 public:
  OutputTree(std::filesystem::path root, const ExtractLimits& limits, std::string archive)
      : root_(std::move(root)), limits_(limits), archive_(std::move(archive)) {}

  void count_entry(int64_t offset) {
    if (++entries_ > limits_.max_entries) {
      throw FormatError(archive_, offset,
                        "more than " + std::to_string(limits_.max_entries) + " entries (limit for one archive)");
    }
  }

  void reserve_bytes(uint64_t size, const std::string& entry, int64_t offset) {
    if (size > limits_.max_total_bytes || bytes_ > limits_.max_total_bytes - size) {
      throw FormatError(archive_, offset,
                        "entry '" + entry + "' takes the unpacked size over the limit of " +
                            std::to_string(limits_.max_total_bytes) + " bytes");
    }
    bytes_ += size;
  }

  void make_directory(const std::string& relative) {
    if (relative.empty()) return;
    auto path = root_ / relative;
    std::error_code error;
    std::filesystem::create_directories(path, error);
    if (error || !std::filesystem::is_directory(std::filesystem::symlink_status(path))) {
      throw IoError(path.string(), "cannot create directory for archive entry '" + relative + "'" +
                                       (error ? ": " + error.message() : ": a file of that name exists"));
    }
    ++directories_;
  }

  // Creates (or replaces: a later entry of the same name wins, as with tar) a regular file and returns its fd.
  int create_file(const std::string& relative, bool executable) {
    auto path = root_ / relative;
    auto parent = path.parent_path();
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    if (error) throw IoError(parent.string(), "cannot create directory: " + error.message());
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0) {
      if (S_ISDIR(info.st_mode)) {
        throw FormatError(archive_, -1, "entry '" + relative + "' is a file, but an earlier entry made it a directory");
      }
      if (::unlink(path.c_str()) != 0) throw IoError(path.string(), "cannot replace: " + errno_text());
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, executable ? 0755 : 0644);
    if (fd < 0) throw IoError(path.string(), "cannot create: " + errno_text());
    ++files_;
    return fd;
  }

  void finish_file(FileDescriptor& fd, const std::string& relative) {
    if (!fd.close()) throw IoError((root_ / relative).string(), "close failed: " + errno_text());
  }

  // Hard links are unpacked as copies of the earlier regular file they name.
  void copy_file(const std::string& relative, const std::string& target, int64_t offset) {
    auto source = root_ / target;
    struct stat info {};
    if (::lstat(source.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
      throw FormatError(
          archive_, offset,
          "hard link '" + relative + "' -> '" + target + "' does not name an earlier file in the archive");
    }
    reserve_bytes(static_cast<uint64_t>(info.st_size), relative, offset);
    InputFile input(source.string());
    FileDescriptor out(create_file(relative, (info.st_mode & 0111) != 0));
    std::vector<uint8_t> chunk(kChunk);
    while (size_t got = input.read(chunk.data(), chunk.size()))
      write_all(out.get(), chunk.data(), got, root_ / relative);
    finish_file(out, relative);
  }

  void skipped() { ++skipped_; }

  ExtractSummary summary() const {
    ExtractSummary summary;
    summary.content_root = root_;
    summary.files = files_;
    summary.directories = directories_;
    summary.skipped = skipped_;
    summary.bytes = bytes_;
    return summary;
  }

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  ExtractLimits limits_;
  std::string archive_;
  uint64_t entries_ = 0;
  uint64_t files_ = 0;
  uint64_t directories_ = 0;
  uint64_t skipped_ = 0;
  uint64_t bytes_ = 0;
};

// ---- tar ----------------------------------------------------------------------------------------------------

// The tar reader over a ByteStream, tracking the offset for error messages.
class TarInput {
 public:
  TarInput(ByteStream& stream, std::string archive, bool compressed)
      : stream_(stream),
        archive_(std::move(archive)),
        note_(compressed ? " (offset in the decompressed tar stream)" : "") {}

  [[noreturn]] void fail(int64_t offset, const std::string& problem) const {
    throw FormatError(archive_, offset, problem + note_);
  }

  const std::string& archive() const { return archive_; }
  const std::string& note() const { return note_; }
  uint64_t offset() const { return offset_; }

  // Reads up to n bytes; fewer only at the end of the stream.
  size_t read(uint8_t* out, size_t n) {
    size_t got = stream_.read(out, n);
    offset_ += got;
    return got;
  }

  void read_exact(uint8_t* out, size_t n, int64_t entry_offset, const std::string& what) {
    size_t got = read(out, n);
    if (got < n) {
      fail(entry_offset, "truncated archive: " + what + " needs " + std::to_string(n) + " bytes, only " +
                             std::to_string(got) + " remain");
    }
  }

  void skip(uint64_t n, int64_t entry_offset, const std::string& what) {
    std::array<uint8_t, kBlock * 8> scratch;
    while (n > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(n, scratch.size()));
      read_exact(scratch.data(), want, entry_offset, what);
      n -= want;
    }
  }

  // Reads whatever follows the end-of-archive marker, so that a gzip stream is checked to its end (its CRC and
  // length trailer) and truncation or corruption after the marker is still reported.
  void drain() {
    std::array<uint8_t, kChunk> scratch;
    while (read(scratch.data(), scratch.size()) == scratch.size()) {
    }
  }

 private:
  ByteStream& stream_;
  std::string archive_;
  std::string note_;
  uint64_t offset_ = 0;
};

std::string field_string(const uint8_t* header, size_t offset, size_t width) {
  const char* begin = reinterpret_cast<const char*>(header + offset);
  return std::string(begin, strnlen(begin, width));
}

// Numeric header fields: octal digits padded with spaces / NULs, or GNU base-256 (high bit of the first byte).
std::optional<uint64_t> field_number(const uint8_t* header, size_t offset, size_t width) {
  const uint8_t* field = header + offset;
  if (field[0] & 0x80) {
    if (field[0] & 0x40) return std::nullopt;  // negative
    uint64_t value = field[0] & 0x3f;
    for (size_t i = 1; i < width; ++i) {
      if (value >> 56) return std::nullopt;
      value = (value << 8) | field[i];
    }
    return value;
  }
  size_t i = 0;
  while (i < width && (field[i] == ' ' || field[i] == 0)) ++i;
  if (i == width) return 0;
  uint64_t value = 0;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    if (value >> 60) return std::nullopt;
    value = value * 8 + (field[i] - '0');
  }
  for (; i < width; ++i) {
    if (field[i] != ' ' && field[i] != 0) return std::nullopt;
  }
  return value;
}

bool tar_checksum_ok(const uint8_t* header) {
  auto stored = field_number(header, 148, 8);
  if (!stored) return false;
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;  // some old tar implementations summed signed chars
  for (size_t i = 0; i < kBlock; ++i) {
    uint8_t byte = (i >= 148 && i < 156) ? ' ' : header[i];
    unsigned_sum += byte;
    signed_sum += static_cast<int8_t>(byte);
  }
  return *stored == unsigned_sum || static_cast<int64_t>(*stored) == signed_sum;
}

// Overrides from a pax extended header ('x'), for the next entry only.
struct PaxOverrides {
  std::optional<std::string> path;
  std::optional<std::string> link_path;
  std::optional<uint64_t> size;
};

// Records are "LENGTH key=value\n", LENGTH counting the whole record in decimal.
PaxOverrides parse_pax(const std::string& data, const TarInput& input, int64_t offset) {
  PaxOverrides pax;
  size_t position = 0;
  while (position < data.size()) {
    size_t space = data.find(' ', position);
    if (space == std::string::npos || space == position) input.fail(offset, "malformed pax header: no record length");
    uint64_t length = 0;
    for (size_t i = position; i < space; ++i) {
      if (data[i] < '0' || data[i] > '9' || length > data.size()) input.fail(offset, "malformed pax record length");
      length = length * 10 + (data[i] - '0');
    }
    if (length < space - position + 3 || position + length > data.size() || data[position + length - 1] != '\n') {
      input.fail(offset, "malformed pax record (length " + std::to_string(length) + ")");
    }
    std::string record = data.substr(space + 1, position + length - 1 - (space + 1));
    size_t equals = record.find('=');
    if (equals == std::string::npos) input.fail(offset, "malformed pax record: no '='");
    std::string key = record.substr(0, equals);
    std::string value = record.substr(equals + 1);
    if (key == "path") {
      pax.path = value;
    } else if (key == "linkpath") {
      pax.link_path = value;
    } else if (key == "size") {
      uint64_t size = 0;
      if (value.empty() || value.size() > 19) input.fail(offset, "malformed pax size '" + value + "'");
      for (char c : value) {
        if (c < '0' || c > '9') input.fail(offset, "malformed pax size '" + value + "'");
        size = size * 10 + (c - '0');
      }
      pax.size = size;
    }
    position += length;
  }
  return pax;
}

void extract_tar(TarInput& input, OutputTree& tree) {
  std::array<uint8_t, kBlock> header;
  std::optional<std::string> long_name;
  std::optional<std::string> long_link;
  PaxOverrides pax;
  std::vector<uint8_t> chunk(kChunk);

  // Metadata entries ('L', 'K', 'x') carry a string in their data blocks.
  auto read_metadata = [&](uint64_t size, int64_t offset, const char* what) {
    if (size > kMaxMetadataBytes) input.fail(offset, std::string(what) + " of " + std::to_string(size) + " bytes");
    std::string data(static_cast<size_t>(size), '\0');
    input.read_exact(reinterpret_cast<uint8_t*>(data.data()), data.size(), offset, what);
    input.skip((kBlock - size % kBlock) % kBlock, offset, what);
    return data;
  };

  while (true) {
    const auto offset = static_cast<int64_t>(input.offset());
    size_t got = input.read(header.data(), kBlock);
    if (got == 0) input.fail(offset, "truncated archive: it ends without the end-of-archive marker");
    if (got < kBlock) input.fail(offset, "truncated archive: incomplete header block");
    if (std::all_of(header.begin(), header.end(), [](uint8_t b) { return b == 0; })) {
      input.drain();
      return;
    }
    if (!tar_checksum_ok(header.data())) {
      input.fail(offset, offset == 0 ? "not a tar archive (bad header checksum)" : "damaged tar header (bad checksum)");
    }
    auto declared_size = field_number(header.data(), 124, 12);
    auto mode = field_number(header.data(), 100, 8);
    if (!declared_size || !mode) input.fail(offset, "damaged tar header (bad size or mode field)");
    const char type = static_cast<char>(header[156]);

    if (type == 'L' || type == 'K') {
      std::string value = read_metadata(*declared_size, offset, "GNU long name");
      value.resize(strnlen(value.c_str(), value.size()));
      (type == 'L' ? long_name : long_link) = value;
      continue;
    }
    if (type == 'x') {
      pax = parse_pax(read_metadata(*declared_size, offset, "pax extended header"), input, offset);
      continue;
    }
    if (type == 'g') {  // global pax header: GitHub stores the commit id here; nothing we need
      read_metadata(*declared_size, offset, "pax global header");
      continue;
    }

    std::string name = field_string(header.data(), 0, 100);
    // POSIX "ustar\0" + "00" has the name prefix field; GNU's "ustar  \0" uses those bytes for other things.
    constexpr uint8_t kPosixMagic[8] = {'u', 's', 't', 'a', 'r', 0, '0', '0'};
    const bool posix_ustar = std::memcmp(header.data() + 257, kPosixMagic, sizeof kPosixMagic) == 0;
    if (posix_ustar) {
      std::string prefix = field_string(header.data(), 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    if (long_name) name = *long_name;
    if (pax.path) name = *pax.path;
    std::string link = field_string(header.data(), 157, 100);
    if (long_link) link = *long_link;
    if (pax.link_path) link = *pax.link_path;
    const uint64_t size = pax.size ? *pax.size : *declared_size;
    long_name.reset();
    long_link.reset();
    pax = PaxOverrides{};

    tree.count_entry(offset);
    const std::string relative = safe_relative_path(name, input.archive(), offset, input.note());
    const uint64_t padding = (kBlock - size % kBlock) % kBlock;
    switch (type) {
      case '0':
      case '\0':
      case '7': {  // regular file ('7': contiguous file, a regular file everywhere we care about)
        if (relative.empty()) input.fail(offset, "file entry '" + name + "' has no file name");
        tree.reserve_bytes(size, relative, offset);
        FileDescriptor out(tree.create_file(relative, (*mode & 0111) != 0));
        const std::string what = "entry '" + relative + "'";
        for (uint64_t left = size; left > 0;) {
          size_t want = static_cast<size_t>(std::min<uint64_t>(left, chunk.size()));
          input.read_exact(chunk.data(), want, offset, what);
          write_all(out.get(), chunk.data(), want, tree.root() / relative);
          left -= want;
        }
        tree.finish_file(out, relative);
        input.skip(padding, offset, what);
        break;
      }
      case '5':
        tree.make_directory(relative);
        input.skip(size + padding, offset, "directory entry '" + relative + "'");
        break;
      case '1':
        tree.copy_file(relative, safe_relative_path(link, input.archive(), offset, input.note()), offset);
        input.skip(size + padding, offset, "hard link '" + relative + "'");
        break;
      case '2':
        check_symlink_target(relative, link, input.archive(), offset, input.note());
        tree.skipped();
        input.skip(size + padding, offset, "symbolic link '" + relative + "'");
        break;
      case '3':
      case '4':
      case '6':  // character device, block device, FIFO: never part of a data set
        tree.skipped();
        input.skip(size + padding, offset, "special file '" + relative + "'");
        break;
      default:
        input.fail(offset, std::string("unsupported tar entry type '") + (type >= 32 && type < 127 ? type : '?') +
                               "' for '" + name + "'");
    }
  }
}

// ---- zip ----------------------------------------------------------------------------------------------------

uint16_t le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

constexpr uint32_t kZipLocalHeader = 0x04034b50;
constexpr uint32_t kZipCentralHeader = 0x02014b50;
constexpr uint32_t kZipEndOfCentralDirectory = 0x06054b50;

// Decodes one zip member (stored or raw deflate) and hands the bytes to sink in chunks; checks the sizes and the
// CRC-32 against the central directory.
template <typename Sink>
void read_zip_member(InputFile& file, uint64_t data_offset, uint64_t compressed_size, uint64_t size, uint32_t crc,
                     uint16_t method, const std::string& entry, int64_t header_offset, Sink&& sink) {
  const std::string& archive = file.path();
  std::vector<uint8_t> input(kChunk);
  std::vector<uint8_t> output(kChunk);
  uLong actual_crc = crc32(0, nullptr, 0);
  uint64_t produced = 0;
  auto emit = [&](const uint8_t* data, size_t n) {
    produced += n;
    if (produced > size) {
      throw FormatError(archive, header_offset,
                        "entry '" + entry + "' unpacks to more than its declared " + std::to_string(size) + " bytes");
    }
    actual_crc = crc32(actual_crc, data, static_cast<uInt>(n));
    sink(data, n);
  };
  auto read_input = [&](uint64_t position, size_t n) {
    size_t got = file.read_at(position, input.data(), n);
    if (got < n) throw FormatError(archive, static_cast<int64_t>(position), "truncated zip data for '" + entry + "'");
  };

  if (method == 0) {
    if (compressed_size != size) {
      throw FormatError(archive, header_offset, "stored entry '" + entry + "' has different packed and unpacked sizes");
    }
    for (uint64_t done = 0; done < size;) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(size - done, input.size()));
      read_input(data_offset + done, want);
      emit(input.data(), want);
      done += want;
    }
  } else if (method == 8) {
    z_stream z;
    std::memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw Error("zlib: cannot initialise the deflate decoder");
    struct InflateEnd {
      z_stream* z;
      ~InflateEnd() { inflateEnd(z); }
    } guard{&z};
    uint64_t consumed = 0;
    bool ended = false;
    while (!ended) {
      if (z.avail_in == 0) {
        if (consumed == compressed_size) {
          throw FormatError(archive, header_offset, "deflate data of '" + entry + "' ends before its stream does");
        }
        size_t want = static_cast<size_t>(std::min<uint64_t>(compressed_size - consumed, input.size()));
        read_input(data_offset + consumed, want);
        consumed += want;
        z.next_in = input.data();
        z.avail_in = static_cast<uInt>(want);
      }
      z.next_out = output.data();
      z.avail_out = static_cast<uInt>(output.size());
      int rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && z.avail_in == 0)) {
        std::string detail = z.msg != nullptr ? z.msg : "zlib error " + std::to_string(rc);
        throw FormatError(archive, static_cast<int64_t>(data_offset + consumed - z.avail_in),
                          "corrupt deflate data in '" + entry + "' (" + detail + ")");
      }
      emit(output.data(), output.size() - z.avail_out);
      ended = rc == Z_STREAM_END;
    }
  } else {
    throw FormatError(archive, header_offset,
                      "entry '" + entry + "' uses compression method " + std::to_string(method) +
                          " (only stored and deflate are supported)");
  }
  if (produced != size) {
    throw FormatError(archive, header_offset,
                      "entry '" + entry + "' unpacks to " + std::to_string(produced) + " bytes, the directory says " +
                          std::to_string(size));
  }
  if (actual_crc != crc) throw FormatError(archive, header_offset, "CRC-32 mismatch in entry '" + entry + "'");
}

void extract_zip(InputFile& file, OutputTree& tree) {
  const std::string& archive = file.path();
  constexpr size_t kEndRecord = 22;
  if (file.size() < kEndRecord) throw FormatError(archive, 0, "too short to be a zip archive");

  // The end-of-central-directory record is the last thing in the file, followed by a comment of up to 64 KiB.
  const uint64_t tail_size = std::min<uint64_t>(file.size(), kEndRecord + 0xffff);
  const uint64_t tail_start = file.size() - tail_size;
  std::vector<uint8_t> tail(static_cast<size_t>(tail_size));
  if (file.read_at(tail_start, tail.data(), tail.size()) != tail.size()) throw IoError(archive, "short read");
  std::optional<size_t> end_record;
  for (size_t i = tail.size() - kEndRecord + 1; i-- > 0;) {
    if (le32(&tail[i]) == kZipEndOfCentralDirectory) {
      end_record = i;
      break;
    }
  }
  if (!end_record) throw FormatError(archive, -1, "no zip end-of-central-directory record (truncated or not a zip)");
  const uint8_t* end = &tail[*end_record];
  const auto end_offset = static_cast<int64_t>(tail_start + *end_record);
  const uint16_t disk = le16(end + 4);
  const uint16_t directory_disk = le16(end + 6);
  const uint16_t entry_count = le16(end + 10);
  const uint32_t directory_size = le32(end + 12);
  const uint32_t directory_offset = le32(end + 16);
  if (disk != 0 || directory_disk != 0) throw FormatError(archive, end_offset, "multi-volume zip is not supported");
  if (entry_count == 0xffff || directory_size == 0xffffffff || directory_offset == 0xffffffff) {
    throw FormatError(archive, end_offset, "zip64 archives are not supported");
  }
  if (uint64_t(directory_offset) + directory_size > static_cast<uint64_t>(end_offset)) {
    throw FormatError(archive, end_offset, "the central directory lies outside the file (truncated archive?)");
  }
  std::vector<uint8_t> directory(directory_size);
  if (file.read_at(directory_offset, directory.data(), directory.size()) != directory.size()) {
    throw IoError(archive, "short read");
  }

  size_t position = 0;
  for (uint32_t index = 0; index < entry_count; ++index) {
    const auto header_offset = static_cast<int64_t>(directory_offset + position);
    if (position + 46 > directory.size() || le32(&directory[position]) != kZipCentralHeader) {
      throw FormatError(archive, header_offset, "damaged zip central directory (entry " + std::to_string(index) + ")");
    }
    const uint8_t* h = &directory[position];
    const uint16_t made_by = le16(h + 4);
    const uint16_t flags = le16(h + 8);
    const uint16_t method = le16(h + 10);
    const uint32_t crc = le32(h + 16);
    const uint32_t compressed_size = le32(h + 20);
    const uint32_t size = le32(h + 24);
    const uint16_t name_length = le16(h + 28);
    const uint16_t extra_length = le16(h + 30);
    const uint16_t comment_length = le16(h + 32);
    const uint32_t external_attributes = le32(h + 38);
    const uint32_t local_offset = le32(h + 42);
    if (position + 46 + name_length + extra_length + comment_length > directory.size()) {
      throw FormatError(archive, header_offset, "damaged zip central directory (entry runs past its end)");
    }
    const std::string name(reinterpret_cast<const char*>(h + 46), name_length);
    position += 46 + name_length + extra_length + comment_length;

    tree.count_entry(header_offset);
    if (flags & 1) throw FormatError(archive, header_offset, "entry '" + name + "' is encrypted");
    if (compressed_size == 0xffffffff || size == 0xffffffff || local_offset == 0xffffffff) {
      throw FormatError(archive, header_offset, "zip64 entries are not supported ('" + name + "')");
    }
    const std::string relative = safe_relative_path(name, archive, header_offset, "");
    const bool unix_attributes = (made_by >> 8) == 3;
    const uint32_t unix_mode = external_attributes >> 16;
    if (!name.empty() && name.back() == '/') {
      tree.make_directory(relative);
      continue;
    }
    if (relative.empty()) throw FormatError(archive, header_offset, "file entry '" + name + "' has no file name");

    std::array<uint8_t, 30> local;
    if (file.read_at(local_offset, local.data(), local.size()) != local.size() ||
        le32(local.data()) != kZipLocalHeader) {
      throw FormatError(archive, local_offset, "missing local header for '" + name + "'");
    }
    const uint64_t data_offset = uint64_t(local_offset) + 30 + le16(&local[26]) + le16(&local[28]);
    if (data_offset + compressed_size > directory_offset) {
      throw FormatError(archive, local_offset, "data of '" + name + "' overlaps the central directory");
    }

    if (unix_attributes && S_ISLNK(unix_mode)) {
      if (size > kMaxMetadataBytes) throw FormatError(archive, header_offset, "symbolic link target too long");
      std::string target;
      read_zip_member(file, data_offset, compressed_size, size, crc, method, name, header_offset,
                      [&](const uint8_t* data, size_t n) { target.append(reinterpret_cast<const char*>(data), n); });
      check_symlink_target(relative, target, archive, header_offset, "");
      tree.skipped();
      continue;
    }
    if (unix_attributes && unix_mode != 0 && !S_ISREG(unix_mode)) {  // devices, FIFOs, sockets
      tree.skipped();
      continue;
    }
    tree.reserve_bytes(size, relative, header_offset);
    FileDescriptor out(tree.create_file(relative, unix_attributes && (unix_mode & 0111) != 0));
    const auto out_path = tree.root() / relative;
    read_zip_member(file, data_offset, compressed_size, size, crc, method, name, header_offset,
                    [&](const uint8_t* data, size_t n) { write_all(out.get(), data, n, out_path); });
    tree.finish_file(out, relative);
  }
}

}  // namespace

const char* archive_format_name(ArchiveFormat format) {
  switch (format) {
    case ArchiveFormat::kTar:
      return "tar";
    case ArchiveFormat::kTarGzip:
      return "tar.gz";
    case ArchiveFormat::kZip:
      return "zip";
    case ArchiveFormat::kUnknown:
      break;
  }
  return "unknown";
}

ArchiveFormat detect_archive_format(const std::string& path) {
  InputFile file(path);
  std::array<uint8_t, kBlock> head{};
  size_t got = file.read(head.data(), head.size());
  if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b) return ArchiveFormat::kTarGzip;
  if (got >= 4 && head[0] == 'P' && head[1] == 'K' &&
      ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
    return ArchiveFormat::kZip;
  }
  if (got == kBlock && tar_checksum_ok(head.data())) return ArchiveFormat::kTar;
  return ArchiveFormat::kUnknown;
}

ExtractSummary extract_archive(const std::string& archive_path, const std::filesystem::path& destination,
                               const ExtractLimits& limits) {
  const ArchiveFormat format = detect_archive_format(archive_path);
  if (format == ArchiveFormat::kUnknown) {
    throw FormatError(archive_path, 0, "not a tar, tar.gz or zip archive (unrecognised first bytes)");
  }
  std::error_code error;
  std::filesystem::create_directories(destination, error);
  if (error) throw IoError(destination.string(), "cannot create directory: " + error.message());

  InputFile file(archive_path);
  OutputTree tree(destination, limits, archive_path);
  if (format == ArchiveFormat::kZip) {
    extract_zip(file, tree);
  } else if (format == ArchiveFormat::kTarGzip) {
    GzipStream stream(file);
    TarInput input(stream, archive_path, true);
    extract_tar(input, tree);
  } else {
    FileStream stream(file);
    TarInput input(stream, archive_path, false);
    extract_tar(input, tree);
  }

  ExtractSummary summary = tree.summary();
  summary.format = format;
  // One top-level folder and nothing else: that folder is the content (GitHub's "<repo>-<branch>/").
  std::vector<std::filesystem::directory_entry> top;
  for (const auto& entry : std::filesystem::directory_iterator(destination)) {
    top.push_back(entry);
    if (top.size() > 1) break;
  }
  if (top.size() == 1 && top[0].is_directory() && !top[0].is_symlink()) {
    summary.content_root = top[0].path();
    summary.stripped_folder = top[0].path().filename().string();
  }
  return summary;
}

}  // namespace cadenza
