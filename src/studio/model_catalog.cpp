#include "studio/model_catalog.h"

#include <algorithm>

#include "families/registry.h"
#include "studio/http_error.h"

namespace cadenza::studio {

using nlohmann::json;

ModelCatalog::ModelCatalog(StudioLimits limits, Opener opener) : limits_(limits), opener_(std::move(opener)) {
  if (!opener_) opener_ = [](const std::string& path) { return families::open_sampler(path); };
}

void ModelCatalog::set_models(std::vector<ModelSource> models) {
  std::lock_guard lock(mutex_);
  for (ModelSource& source : models) {
    if (entries_.count(source.id)) continue;
    const std::string id = source.id;
    fixed_ids_.push_back(id);
    order_.push_back(id);
    entries_[id] = Entry{std::move(source), nullptr, "", std::make_shared<std::mutex>()};
  }
}

void ModelCatalog::set_run_models(std::vector<ModelSource> models) {
  std::lock_guard lock(mutex_);
  std::map<std::string, Entry> kept;
  for (const std::string& id : fixed_ids_) kept[id] = std::move(entries_[id]);
  std::vector<std::string> order = fixed_ids_;
  for (ModelSource& source : models) {
    if (kept.count(source.id)) continue;
    auto old = entries_.find(source.id);
    if (old != entries_.end() && old->second.source.path == source.path) {
      kept[source.id] = std::move(old->second);
    } else {
      kept[source.id] = Entry{source, nullptr, "", std::make_shared<std::mutex>()};
    }
    order.push_back(source.id);
  }
  entries_ = std::move(kept);
  order_ = std::move(order);
}

bool ModelCatalog::contains(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return entries_.count(id) > 0;
}

std::shared_ptr<const LoadedModel> ModelCatalog::load(const std::string& id) {
  ModelSource source;
  std::shared_ptr<std::mutex> loading;
  {
    std::lock_guard lock(mutex_);
    auto found = entries_.find(id);
    if (found == entries_.end()) {
      std::string known;
      for (const std::string& name : order_) known += (known.empty() ? "" : ", ") + name;
      throw HttpError(404, "no model \"" + id + "\" (available: " + (known.empty() ? "none" : known) + ")");
    }
    if (found->second.loaded) return found->second.loaded;
    if (!found->second.error.empty()) throw HttpError(500, found->second.error);
    source = found->second.source;
    loading = found->second.loading;
  }
  // One opener per model at a time; others wait for it instead of reading the file again.
  std::lock_guard load_lock(*loading);
  {
    std::lock_guard lock(mutex_);
    auto found = entries_.find(id);
    if (found != entries_.end() && found->second.loaded) return found->second.loaded;
  }
  std::shared_ptr<LoadedModel> loaded;
  std::string error;
  try {
    auto model = std::make_shared<LoadedModel>();
    model->sampler = opener_(source.path);
    model->capabilities = model->sampler->capabilities();
    model->description = model->sampler->describe();
    model->checkpoint = model->sampler->checkpoint_path();
    model->attributes = model->sampler->attribute_names();
    const json training = model->sampler->training_metadata();
    if (training.is_object() && training.contains("config") && training["config"].is_object() &&
        training["config"].contains("data") && training["config"]["data"].is_object())
      model->training_data = training["config"]["data"].value("path", "");
    loaded = std::move(model);
  } catch (const std::exception& e) {
    error = "model \"" + id + "\" cannot be opened: " + e.what();
  }
  std::lock_guard lock(mutex_);
  auto found = entries_.find(id);
  if (found != entries_.end() && found->second.source.path == source.path) {
    found->second.loaded = loaded;
    found->second.error = error;
  }
  if (!loaded) throw HttpError(500, error);
  return loaded;
}

std::vector<std::string> ModelCatalog::load_all_fixed() {
  std::vector<std::string> ids, errors;
  {
    std::lock_guard lock(mutex_);
    ids = fixed_ids_;
  }
  for (const std::string& id : ids) {
    try {
      load(id);
    } catch (const HttpError& e) {
      errors.push_back(e.what());
    }
  }
  return errors;
}

json ModelCatalog::entry_json(const Entry& entry) const {
  json out = {{"id", entry.source.id}, {"origin", entry.source.origin}, {"loaded", entry.loaded != nullptr}};
  if (!entry.error.empty()) out["error"] = entry.error;
  if (entry.loaded) {
    const LoadedModel& model = *entry.loaded;
    out["family"] = model.capabilities.family;
    out["description"] = model.description;
    out["capabilities"] = model.capabilities.to_json();
    out["controls"] = controls_json(model.capabilities, limits_);
    out["attributes"] = model.attributes;
  }
  return out;
}

json ModelCatalog::list() const {
  std::lock_guard lock(mutex_);
  json models = json::array();
  for (const std::string& id : order_) models.push_back(entry_json(entries_.at(id)));
  return models;
}

json ModelCatalog::describe(const std::string& id) {
  load(id);
  std::lock_guard lock(mutex_);
  auto found = entries_.find(id);
  if (found == entries_.end()) throw HttpError(404, "no model \"" + id + "\"");
  return entry_json(found->second);
}

}  // namespace cadenza::studio
