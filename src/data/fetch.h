// Downloading data sets and installing them, verified, into the local cache (`cadenza dataset fetch`).
//
// fetch_dataset() installs CACHE/<name>/ atomically:
//   1. take an exclusive lock (CACHE/.<name>.lock) so that two fetches of one data set never interleave, and
//      remove temporary folders left by fetches that were killed;
//   2. if CACHE/<name>/ already matches the manifest (and force is off), stop: "already present, verified";
//   3. download (or open) the archive inside CACHE/.tmp-<name>-XXXXXX/, check --sha256 if given, unpack it there
//      (a directory source is copied there instead) and verify every manifest file's size and SHA-256;
//   4. move exactly the manifest files (nothing else from the archive) into a fresh folder, add a provenance
//      file (.cadenza-fetch.json) and swap that folder into place with one rename (an older or damaged copy is
//      replaced; with RENAME_EXCHANGE readers never see a missing folder).
// Any failure leaves CACHE/<name>/ as it was and removes the temporary folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "data/archive.h"
#include "data/dataset_registry.h"

namespace cadenza {

struct DownloadOptions {
  uint64_t max_bytes = uint64_t(1) << 30;  // refuse larger downloads (the data sets are ~10 MB)
  long connect_timeout_seconds = 30;
  long low_speed_bytes_per_second = 1024;  // give up when the transfer is slower than this ...
  long low_speed_seconds = 60;             // ... for this many seconds
  bool show_progress = false;              // a "\r" progress line on stderr (for terminals)
};

struct DownloadResult {
  uint64_t bytes = 0;
  std::string sha256;     // of the downloaded bytes
  std::string final_url;  // after redirects
};

// Downloads url (http://, https:// or file://) to destination_path with libcurl, following http(s) redirects.
// Throws IoError naming the URL on an HTTP status >= 400 ("HTTP 404"), a time-out, a download over max_bytes, a
// connection that closes early or any other transfer error; the partial file is removed.
DownloadResult download_url(const std::string& url, const std::string& destination_path,
                            const DownloadOptions& options = {});

// $XDG_CACHE_HOME/cadenza/datasets, else $HOME/.cache/cadenza/datasets. Throws Error when neither is set.
std::string default_dataset_cache_dir();

struct FetchOptions {
  // Where to get the data set: "" for the registry URL, an http(s):// or file:// URL of an archive, a local
  // archive (.tar.gz, .tgz, .tar, .zip: recognised by content) or a local directory holding the files.
  std::string source;
  std::string cache_dir;       // "" for default_dataset_cache_dir()
  std::string archive_sha256;  // if set (64 hex digits), the archive must have exactly this SHA-256
  bool force = false;          // fetch again even when a verified copy is installed
  DownloadOptions download;
  ExtractLimits extract;
  std::function<void(const std::string&)> log;  // one-line messages for people (stderr in the CLI); may be empty
};

struct FetchResult {
  std::filesystem::path path;  // CACHE/<name>, absolute
  bool already_present = false;
  uint64_t files = 0;
  uint64_t bytes = 0;
  std::string archive_sha256;  // of the archive used; "" for a directory source or when already present
};

// Throws Error (IoError, FormatError) on any failure, naming the source and, for a manifest mismatch, the files.
FetchResult fetch_dataset(const DatasetSpec& spec, const FetchOptions& options);

}  // namespace cadenza
