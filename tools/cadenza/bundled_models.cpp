#include "bundled_models.h"

#include <algorithm>
#include <filesystem>

#include "common/assets.h"
#include "common/error.h"

namespace cadenza::cli {

namespace fs = std::filesystem;

std::string bundled_models_dir() {
  return asset_dir("models");
}

std::vector<std::string> bundled_model_names() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(bundled_models_dir(), error))
    if (fs::exists(entry.path() / "model.safetensors")) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string bundled_model_path(const std::string& name) {
  const fs::path path = fs::path(bundled_models_dir()) / name / "model.safetensors";
  if (name.find('/') == std::string::npos && fs::exists(path)) return path.string();
  std::string available;
  for (const auto& known : bundled_model_names()) available += (available.empty() ? "" : ", ") + known;
  throw Error("no bundled model named \"" + name + "\" in " + bundled_models_dir() +
              (available.empty() ? " (none are installed)" : " (available: " + available + ")"));
}

}  // namespace cadenza::cli
