// MusicVAE's learner, presets, `--bars` and evaluation: see learner_vae.cpp.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "train/evaluate.h"
#include "train/learner.h"

namespace cadenza::train {

nlohmann::json vae_default_config();
nlohmann::json vae_preset_config(const std::string& preset, bool frames);
void apply_vae_bars(nlohmann::json& config, int64_t bars, const Shard& shard);
nlohmann::json resolve_vae_config(const models::Family& family, const nlohmann::json& model, const Shard& shard);
std::unique_ptr<Learner> make_vae_learner(const models::Family& family, const nlohmann::json& model, const Shard& shard,
                                          const TrainOptions& options);
EvaluationReport evaluate_vae(const models::Family& family, const EvaluationRequest& request);

}  // namespace cadenza::train
