#include "data/dataset_registry.h"

#include <cstdint>
#include <span>

#include "common/error.h"

namespace cadenza {

namespace {

// The generated tables hold string literals; they become ManifestEntry values once, on first use.
struct RawManifestEntry {
  const char* path;
  uint64_t size;
  const char* sha256;
};

constexpr RawManifestEntry kNottinghamManifest[] = {
#include "data/manifests/nottingham.inc"
};

constexpr RawManifestEntry kJsbChoralesManifest[] = {
#include "data/manifests/jsb-chorales.inc"
};

std::vector<ManifestEntry> to_manifest(std::span<const RawManifestEntry> raw) {
  std::vector<ManifestEntry> manifest;
  manifest.reserve(raw.size());
  for (const auto& entry : raw) manifest.push_back({entry.path, entry.size, entry.sha256});
  return manifest;
}

std::vector<DatasetSpec> make_registry() {
  std::vector<DatasetSpec> registry;
  registry.push_back({
      "nottingham",
      "Nottingham Music Database, cleaned by Jukedeck: 1,034 folk tunes as ABC and MIDI (melody + chords)",
      "https://github.com/jukedeck/nottingham-dataset/archive/refs/heads/master.tar.gz",
      "https://github.com/jukedeck/nottingham-dataset",
      "GPL-3.0 (LICENSE.md in the data set)",
      to_manifest(kNottinghamManifest),
  });
  registry.push_back({
      "jsb-chorales",
      "JSB Chorales (Boulanger-Lewandowski 2012 split, 229/76/77) as JSON piano rolls at quarter, 8th and 16th "
      "resolution, plus the SATB-separated 16th version",
      "https://github.com/czhuang/JSB-Chorales-dataset/archive/refs/heads/master.tar.gz",
      "https://github.com/czhuang/JSB-Chorales-dataset",
      "not stated in the repository (Bach's chorales are public domain; cite Boulanger-Lewandowski et al. 2012)",
      to_manifest(kJsbChoralesManifest),
  });
  return registry;
}

}  // namespace

const std::vector<DatasetSpec>& dataset_registry() {
  static const std::vector<DatasetSpec> registry = make_registry();
  return registry;
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const auto& spec : dataset_registry()) names.push_back(spec.name);
  return names;
}

const DatasetSpec& find_dataset(const std::string& name) {
  std::string known;
  for (const auto& spec : dataset_registry()) {
    if (spec.name == name) return spec;
    known += (known.empty() ? "" : ", ") + spec.name;
  }
  throw Error("unknown data set '" + name + "' (known: " + known + ")");
}

}  // namespace cadenza
