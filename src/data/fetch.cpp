#include "data/fetch.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "data/sha256.h"

namespace cadenza {

namespace fs = std::filesystem;

namespace {

std::string human_bytes(uint64_t bytes) {
  char text[32];
  if (bytes < 1024) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < (uint64_t(1) << 20)) {
    std::snprintf(text, sizeof text, "%.1f KiB", bytes / 1024.0);
  } else {
    std::snprintf(text, sizeof text, "%.1f MiB", bytes / (1024.0 * 1024.0));
  }
  return text;
}

// ---- download -------------------------------------------------------------------------------------------------

void initialise_curl() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw Error("libcurl: global initialisation failed");
  });
}

struct DownloadState {
  int fd = -1;
  std::string path;
  Sha256 hasher;
  uint64_t bytes = 0;
  uint64_t max_bytes = 0;
  bool too_large = false;
  std::string write_error;
  bool show_progress = false;
  bool progress_printed = false;
  std::chrono::steady_clock::time_point last_progress{};
};

size_t on_download_data(char* data, size_t size, size_t count, void* user) {
  auto& state = *static_cast<DownloadState*>(user);
  const size_t n = size * count;
  if (state.bytes + n > state.max_bytes) {
    state.too_large = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  for (size_t done = 0; done < n;) {
    ssize_t written = ::write(state.fd, data + done, n - done);
    if (written < 0) {
      if (errno == EINTR) continue;
      state.write_error = errno_text();
      return 0;
    }
    done += static_cast<size_t>(written);
  }
  state.hasher.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), n));
  state.bytes += n;
  return n;
}

int on_download_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto& state = *static_cast<DownloadState*>(user);
  if (!state.show_progress) return 0;
  auto time = std::chrono::steady_clock::now();
  if (time - state.last_progress < std::chrono::milliseconds(200)) return 0;
  state.last_progress = time;
  std::string line = "\r  downloaded " + human_bytes(static_cast<uint64_t>(now));
  if (total > 0) line += " of " + human_bytes(static_cast<uint64_t>(total));
  std::fprintf(stderr, "%s   ", line.c_str());
  std::fflush(stderr);
  state.progress_printed = true;
  return 0;
}

class CurlHandle {
 public:
  CurlHandle() : handle_(curl_easy_init()) {
    if (handle_ == nullptr) throw Error("libcurl: cannot create a transfer handle");
  }
  ~CurlHandle() { curl_easy_cleanup(handle_); }
  CurlHandle(const CurlHandle&) = delete;
  CurlHandle& operator=(const CurlHandle&) = delete;
  CURL* get() const { return handle_; }

 private:
  CURL* handle_;
};

// ---- sources ------------------------------------------------------------------------------------------------

enum class SourceKind { kUrl, kArchiveFile, kDirectory };

struct Source {
  SourceKind kind;
  std::string location;  // URL or local path
};

bool starts_with_ignoring_case(const std::string& text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

std::string percent_decode(const std::string& text, const std::string& url) {
  std::string decoded;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      throw Error("malformed percent escape in URL '" + url + "'");
    }
    decoded.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
    i += 2;
  }
  return decoded;
}

Source classify_source(const std::string& from) {
  if (starts_with_ignoring_case(from, "http://") || starts_with_ignoring_case(from, "https://")) {
    return {SourceKind::kUrl, from};
  }
  std::string path = from;
  if (starts_with_ignoring_case(from, "file://")) {
    // file:///abs/path or file://localhost/abs/path; handled here so that a file:// URL may name a directory.
    std::string rest = from.substr(7);
    if (starts_with_ignoring_case(rest, "localhost/")) rest = rest.substr(9);
    if (rest.empty() || rest.front() != '/') {
      throw Error("file URL '" + from + "' must name an absolute path (file:///path/to/archive.tar.gz)");
    }
    path = percent_decode(rest, from);
  } else if (from.find("://") != std::string::npos) {
    throw Error("unsupported URL '" + from + "' (use http://, https:// or file://, or give a local path)");
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw IoError(path, "cannot use as a data set source: " + errno_text());
  if (S_ISDIR(info.st_mode)) return {SourceKind::kDirectory, path};
  if (S_ISREG(info.st_mode)) return {SourceKind::kArchiveFile, path};
  throw IoError(path, "is neither a directory nor an archive file");
}

// ---- cache folder helpers -----------------------------------------------------------------------------------

// An exclusive flock on CACHE/.<name>.lock, held for the whole fetch.
class CacheLock {
 public:
  CacheLock(const fs::path& path, const std::function<void(const std::string&)>& log) : path_(path.string()) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError(path_, "cannot create lock file: " + errno_text());
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    if (errno != EWOULDBLOCK) fail();
    if (log) log("waiting for another fetch of the same data set to finish (" + path_ + ")");
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) fail();
    }
  }
  ~CacheLock() { ::close(fd_); }  // closing releases the lock
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;

 private:
  [[noreturn]] void fail() {
    std::string why = errno_text();
    ::close(fd_);
    throw IoError(path_, "cannot lock: " + why);
  }
  std::string path_;
  int fd_ = -1;
};

// A temporary folder removed (with everything in it) when the fetch ends, successfully or not.
class StagingFolder {
 public:
  StagingFolder(const fs::path& cache, const std::string& name) {
    std::string pattern = (cache / (".tmp-" + name + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw IoError(pattern, "cannot create temporary folder: " + errno_text());
    path_ = pattern;
  }
  ~StagingFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  StagingFolder(const StagingFolder&) = delete;
  StagingFolder& operator=(const StagingFolder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Temporary folders of this data set left by fetches that were killed. Only called with the lock held, so no
// other fetch of the same data set is using them.
void remove_stale_staging_folders(const fs::path& cache, const std::string& name) {
  // Exactly ".tmp-<name>-" + mkdtemp's six characters, so that another data set whose name merely starts with
  // <name>- (and which has its own lock) never loses its work folder.
  const std::string prefix = ".tmp-" + name + "-";
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(cache, error)) {
    const std::string file_name = entry.path().filename().string();
    if (file_name.size() == prefix.size() + 6 && file_name.rfind(prefix, 0) == 0) {
      std::error_code ignored;
      fs::remove_all(entry.path(), ignored);
    }
  }
}

void make_directories(const fs::path& path) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) throw IoError(path.string(), "cannot create directory: " + error.message());
}

// Copies a regular file with mode 0644 (the source may be read-only, as a shared data folder often is).
void copy_plain_file(const fs::path& from, const fs::path& to) {
  auto bytes = read_file_bytes(from.string());
  int fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(to.string(), "cannot create: " + errno_text());
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string why = errno_text();
      ::close(fd);
      throw IoError(to.string(), "write failed: " + why);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) throw IoError(to.string(), "close failed: " + errno_text());
}

void rename_or_throw(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw IoError(to.string(), "cannot move " + from.string() + " here: " + errno_text());
  }
}

// Puts `fresh` at `target`. An existing target is swapped out atomically (RENAME_EXCHANGE) when the file system
// supports it; the old copy ends up at `fresh`'s path, inside the staging folder that is removed afterwards.
void swap_into_place(const fs::path& fresh, const fs::path& target, const fs::path& staging) {
  struct stat info {};
  if (::lstat(target.c_str(), &info) != 0) {
    rename_or_throw(fresh, target);
    return;
  }
  if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS) {
    throw IoError(target.string(), "cannot replace with the new copy: " + errno_text());
  }
  rename_or_throw(target, staging / "previous");
  rename_or_throw(fresh, target);
}

std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string lower_case(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

DownloadResult download_url(const std::string& url, const std::string& destination_path,
                            const DownloadOptions& options) {
  initialise_curl();
  DownloadState state;
  state.path = destination_path;
  state.max_bytes = options.max_bytes;
  state.show_progress = options.show_progress;
  state.fd = ::open(destination_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (state.fd < 0) throw IoError(destination_path, "cannot create: " + errno_text());

  CurlHandle curl;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");  // a server may not redirect to file://
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(handle, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, options.low_speed_bytes_per_second);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, options.low_speed_seconds);
  curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "cadenza/0.1 (dataset fetch)");
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_download_data);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, on_download_progress);
  curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &state);

  CURLcode rc = curl_easy_perform(handle);
  if (state.progress_printed) std::fprintf(stderr, "\n");
  bool closed = ::close(state.fd) == 0;
  std::string close_error = closed ? "" : errno_text();

  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  char* effective = nullptr;
  curl_easy_getinfo(handle, CURLINFO_EFFECTIVE_URL, &effective);
  DownloadResult result;
  result.final_url = effective != nullptr ? effective : url;
  std::string via = result.final_url != url ? " (redirected to " + result.final_url + ")" : "";

  auto failure = [&](const std::string& problem) {
    ::unlink(destination_path.c_str());
    return IoError(url, problem);
  };
  if (rc == CURLE_HTTP_RETURNED_ERROR) {
    throw failure("download failed: the server answered HTTP " + std::to_string(status) + via);
  }
  if (state.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    throw failure("download failed: larger than the limit of " + std::to_string(options.max_bytes) + " bytes");
  }
  if (!state.write_error.empty()) {
    ::unlink(destination_path.c_str());
    throw IoError(destination_path, "write failed: " + state.write_error);
  }
  if (rc != CURLE_OK) {
    std::string detail = error_buffer[0] != 0 ? error_buffer : curl_easy_strerror(rc);
    std::string kind = rc == CURLE_OPERATION_TIMEDOUT ? "timed out"
                       : rc == CURLE_PARTIAL_FILE     ? "the connection closed before the whole file arrived"
                                                      : curl_easy_strerror(rc);
    throw failure("download failed: " + kind + " (" + detail + ")" + via);
  }
  if (!closed) {
    ::unlink(destination_path.c_str());
    throw IoError(destination_path, "close failed: " + close_error);
  }
  result.bytes = state.bytes;
  result.sha256 = to_hex(state.hasher.finish());
  return result;
}

std::string default_dataset_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    return (fs::path(xdg) / "cadenza" / "datasets").string();
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home) {
    return (fs::path(home) / ".cache" / "cadenza" / "datasets").string();
  }
  throw Error("no cache folder: neither XDG_CACHE_HOME nor HOME is set (use --cache DIR)");
}

FetchResult fetch_dataset(const DatasetSpec& spec, const FetchOptions& options) {
  auto log = [&](const std::string& message) {
    if (options.log) options.log(spec.name + ": " + message);
  };
  if (spec.name.empty() || spec.name.find('/') != std::string::npos || spec.name.front() == '.') {
    throw Error("invalid data set name '" + spec.name + "'");
  }
  if (spec.manifest.empty()) throw Error("data set '" + spec.name + "' has an empty manifest");
  const std::string pinned_sha256 = lower_case(options.archive_sha256);
  if (!pinned_sha256.empty() && !is_sha256_hex(pinned_sha256)) {
    throw Error("--sha256 '" + options.archive_sha256 + "' is not a SHA-256 (64 hex digits)");
  }
  const std::string from = options.source.empty() ? spec.default_url : options.source;
  const Source source = classify_source(from);
  if (source.kind == SourceKind::kDirectory && !pinned_sha256.empty()) {
    throw Error("--sha256 pins an archive, but " + source.location + " is a directory");
  }

  fs::path cache = options.cache_dir.empty() ? fs::path(default_dataset_cache_dir()) : fs::path(options.cache_dir);
  make_directories(cache);
  cache = fs::absolute(cache).lexically_normal();  // the printed path must work from any directory
  const fs::path target = cache / spec.name;
  FetchResult result;
  result.path = target;
  result.files = spec.manifest.size();
  result.bytes = manifest_total_bytes(spec.manifest);

  CacheLock lock(cache / ("." + spec.name + ".lock"), options.log);
  remove_stale_staging_folders(cache, spec.name);

  if (!options.force && fs::exists(fs::symlink_status(target))) {
    ManifestReport installed = verify_manifest(target, spec.manifest, 1);
    if (installed.ok()) {
      log("already present, verified (" + std::to_string(result.files) + " files) in " + target.string());
      result.already_present = true;
      return result;
    }
    log("the copy in " + target.string() + " is incomplete or modified (" + installed.describe(1) +
        "); fetching it again");
  }

  StagingFolder staging(cache, spec.name);
  fs::path content_root;
  if (source.kind == SourceKind::kDirectory) {
    log("copying from " + source.location);
    content_root = staging.path() / "unpacked";
    for (const auto& entry : spec.manifest) {
      fs::path from_file = fs::path(source.location) / entry.path;
      if (!fs::is_regular_file(from_file)) continue;  // reported as missing by the verification below
      make_directories((content_root / entry.path).parent_path());
      copy_plain_file(from_file, content_root / entry.path);
    }
  } else {
    std::string archive = source.location;
    if (source.kind == SourceKind::kUrl) {
      log("downloading " + source.location);
      archive = (staging.path() / "download").string();
      DownloadResult download = download_url(source.location, archive, options.download);
      result.archive_sha256 = download.sha256;
      log("downloaded " + human_bytes(download.bytes) + ", SHA-256 " + download.sha256);
    } else {
      result.archive_sha256 = sha256_file_hex(archive);
    }
    if (!pinned_sha256.empty() && result.archive_sha256 != pinned_sha256) {
      throw Error(source.location + ": archive SHA-256 is " + result.archive_sha256 + ", but --sha256 expects " +
                  pinned_sha256 + "; nothing was installed");
    }
    const fs::path unpacked_folder = staging.path() / "unpacked";
    ExtractSummary unpacked = extract_archive(archive, unpacked_folder, options.extract);
    content_root = unpacked.content_root;
    // A data set whose files all live in one folder ("MIDI/...") looks like a GitHub archive's top-level folder
    // when archived without one: keep the unstripped root if that is where the manifest's files are.
    const std::string& probe = spec.manifest.front().path;
    if (!fs::exists(content_root / probe) && fs::exists(unpacked_folder / probe)) {
      content_root = unpacked_folder;
      unpacked.stripped_folder.clear();
    }
    log("unpacked " + std::to_string(unpacked.files) + " files (" + archive_format_name(unpacked.format) + ")" +
        (unpacked.stripped_folder.empty() ? "" : " from " + unpacked.stripped_folder + "/"));
  }

  ManifestReport report = verify_manifest(content_root, spec.manifest);
  if (!report.ok()) throw Error(source.location + ": " + report.describe() + "; nothing was installed");
  log("verified " + std::to_string(result.files) + " files (" + human_bytes(result.bytes) + ") against the manifest");

  // Only the manifest's files are installed: whatever else the archive holds stays behind and is deleted.
  const fs::path fresh = staging.path() / "dataset";
  make_directories(fresh);
  for (const auto& entry : spec.manifest) {
    make_directories((fresh / entry.path).parent_path());
    rename_or_throw(content_root / entry.path, fresh / entry.path);
  }
  nlohmann::json provenance = {
      {"dataset", spec.name},          {"source", source.location},     {"archive_sha256", result.archive_sha256},
      {"files", spec.manifest.size()}, {"bytes", result.bytes},         {"licence", spec.licence},
      {"homepage", spec.homepage},     {"fetched_at", utc_timestamp()},
  };
  // URLs and paths may hold bytes that are not UTF-8: replaced rather than failing the fetch at its last step.
  write_file_atomic((fresh / ".cadenza-fetch.json").string(),
                    provenance.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  swap_into_place(fresh, target, staging.path());
  log("installed in " + target.string());
  return result;
}

}  // namespace cadenza
