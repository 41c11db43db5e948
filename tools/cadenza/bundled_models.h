// Bundled models: models/<name>/model.safetensors with a model card models/<name>/README.md.
// Looked up in $CADENZA_MODELS_DIR, then the source tree's models/ (where the binary was built).
#pragma once

#include <string>
#include <vector>

namespace cadenza::cli {

std::string bundled_models_dir();
std::vector<std::string> bundled_model_names();
// The checkpoint of a bundled model; throws cadenza::Error listing the available names when unknown.
std::string bundled_model_path(const std::string& name);

}  // namespace cadenza::cli
