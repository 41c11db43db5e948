// C-RNN-GAN's learner, presets and evaluation: see learner_crnngan.cpp.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "train/evaluate.h"
#include "train/learner.h"

namespace cadenza::train {

nlohmann::json crnngan_default_config();
nlohmann::json crnngan_preset_config(const std::string& preset, bool frames);
nlohmann::json resolve_crnngan_config(const models::Family& family, const nlohmann::json& model, const Shard& shard);
std::unique_ptr<Learner> make_crnngan_learner(const models::Family& family, const nlohmann::json& model,
                                              const Shard& shard, const TrainOptions& options);
EvaluationReport evaluate_crnngan(const models::Family& family, const EvaluationRequest& request);

}  // namespace cadenza::train
