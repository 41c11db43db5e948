// The models the studio offers: the bundled ones, checkpoints named on the command line and the best checkpoints of
// the training runs under --runs. Each is opened at most once (families::open_sampler) and kept: the sampler, its
// capabilities and its description. Clients name models by id only, never by path, so nothing outside the
// configured files can be opened.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "generate/sampler.h"
#include "studio/request_options.h"

namespace cadenza::studio {

struct ModelSource {
  std::string id;      // "nottingham-lstm", "run:lstm-small", "my-model"
  std::string path;    // checkpoint file or run folder
  std::string origin;  // "bundled" | "checkpoint" | "run"
};

struct LoadedModel {
  std::shared_ptr<Sampler> sampler;  // used only on the job worker thread
  SamplerCapabilities capabilities;
  std::string description;
  std::string checkpoint;               // the file actually read
  std::vector<std::string> attributes;  // attribute_names()
  std::string training_data;            // the shard named in its training metadata ("" when none)
};

class ModelCatalog {
 public:
  using Opener = std::function<std::unique_ptr<Sampler>(const std::string& path)>;
  // The default opener is families::open_sampler.
  explicit ModelCatalog(StudioLimits limits, Opener opener = nullptr);

  // The fixed models (bundled and --checkpoint), and the runs' models (replaced at each scan of --runs; a model
  // already opened for the same id and file stays open). Ids are unique: a later duplicate is dropped.
  void set_models(std::vector<ModelSource> models);
  void set_run_models(std::vector<ModelSource> models);

  // Opens the model once. HttpError 404 for an unknown id, 500 naming the file when it cannot be opened (the error
  // is remembered: later calls fail the same way without reading the file again).
  std::shared_ptr<const LoadedModel> load(const std::string& id);
  // Opens every fixed model (at start-up). Returns the errors, one line per model that failed.
  std::vector<std::string> load_all_fixed();

  // [{"id", "origin", "loaded", "error"?, + describe() fields when loaded}], fixed models first.
  nlohmann::json list() const;
  // {"id", "origin", "family", "description", "capabilities", "controls", "attributes"}; loads the model.
  nlohmann::json describe(const std::string& id);
  bool contains(const std::string& id) const;

 private:
  struct Entry {
    ModelSource source;
    std::shared_ptr<const LoadedModel> loaded;
    std::string error;
    std::shared_ptr<std::mutex> loading = std::make_shared<std::mutex>();
  };
  nlohmann::json entry_json(const Entry& entry) const;  // under mutex_

  StudioLimits limits_;
  Opener opener_;
  mutable std::mutex mutex_;
  std::vector<std::string> order_;
  std::map<std::string, Entry> entries_;
  std::vector<std::string> fixed_ids_;
};

}  // namespace cadenza::studio
