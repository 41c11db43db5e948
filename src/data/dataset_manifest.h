// Manifests: the list of files a data set consists of, each with its size and SHA-256.
//
// GitHub's repository archives are not guaranteed to be byte-for-byte stable, so we cannot pin the archive we
// download. We pin what it unpacks to instead: a manifest of every file we install (see docs/datasets.md and
// scripts/make_dataset_manifest.py, which generates the committed tables in src/data/manifests/).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace cadenza {

struct ManifestEntry {
  std::string path;  // relative, '/'-separated, no "." or ".." components
  uint64_t size = 0;
  std::string sha256;  // lower-case hex
};

struct ManifestMismatch {
  std::string path;
  std::string problem;  // "missing", "not a regular file", "size 10 bytes, expected 12", "SHA-256 ... expected ..."
};

struct ManifestReport {
  std::vector<ManifestMismatch> mismatches;  // in manifest order
  bool stopped_early = false;                // gave up after max_mismatches: there may be more
  uint64_t files_checked = 0;

  bool ok() const { return mismatches.empty(); }
  // "3 files do not match the manifest: a (missing); b (size ...); ..." listing at most `listed` of them.
  std::string describe(size_t listed = 5) const;
};

// Checks that root/<path> is a regular file (not a symbolic link) of the right size and SHA-256 for every entry.
// Files not in the manifest are ignored. Stops after max_mismatches mismatches, so that a wrong folder fails fast.
// Throws Error on an unsafe manifest path (absolute, or with "." / ".." components).
ManifestReport verify_manifest(const std::filesystem::path& root, std::span<const ManifestEntry> manifest,
                               size_t max_mismatches = 20);

uint64_t manifest_total_bytes(std::span<const ManifestEntry> manifest);

}  // namespace cadenza
