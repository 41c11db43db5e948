// Bundled models: models/<name>/model.safetensors with a model card models/<name>/README.md.
// The folder is cadenza::asset_dir("models") (common/assets.h): $CADENZA_MODELS_DIR, else PREFIX/share/cadenza/models
// of an installed cadenza, else the source tree's models/ for executables in the build tree.
#pragma once

#include <string>
#include <vector>

namespace cadenza::cli {

std::string bundled_models_dir();
std::vector<std::string> bundled_model_names();
// The checkpoint of a bundled model; throws cadenza::Error listing the available names when unknown.
std::string bundled_model_path(const std::string& name);

}  // namespace cadenza::cli
