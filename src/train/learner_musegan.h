// MuseGAN's learner, presets, `--bars` and evaluation: see learner_musegan.cpp.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "train/evaluate.h"
#include "train/learner.h"

namespace cadenza::train {

nlohmann::json musegan_default_config();
nlohmann::json musegan_preset_config(const std::string& preset, bool frames);
void apply_musegan_bars(nlohmann::json& config, int64_t bars, const Shard& shard);
nlohmann::json resolve_musegan_config(const models::Family& family, const nlohmann::json& model, const Shard& shard);
std::unique_ptr<Learner> make_musegan_learner(const models::Family& family, const nlohmann::json& model,
                                              const Shard& shard, const TrainOptions& options);
EvaluationReport evaluate_musegan(const models::Family& family, const EvaluationRequest& request);

}  // namespace cadenza::train
