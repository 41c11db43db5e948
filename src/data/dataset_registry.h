// The data sets `cadenza dataset fetch` knows: where to download them, their licence and their manifest.
#pragma once

#include <string>
#include <vector>

#include "data/dataset_manifest.h"

namespace cadenza {

struct DatasetSpec {
  std::string name;         // "nottingham": also the folder name in the cache
  std::string description;  // one line
  std::string default_url;  // archive downloaded when no --from is given
  std::string homepage;
  std::string licence;
  std::vector<ManifestEntry> manifest;  // every file that is installed, sorted by path
};

// nottingham, jsb-chorales (in that order).
const std::vector<DatasetSpec>& dataset_registry();
std::vector<std::string> dataset_names();
// Throws Error naming the known data sets when name is not one of them.
const DatasetSpec& find_dataset(const std::string& name);

}  // namespace cadenza
