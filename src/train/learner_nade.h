// The learner, presets and evaluation of the NADE hybrids (RNN-NADE, Transformer-NADE: models/nade.h): a backbone
// over piano-roll frames whose output at t conditions a NADE over the keys of frame t + 1, trained and scored by the
// exact frame log-likelihood. Impl is models::RnnNadeImpl or models::TransformerNadeImpl.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "train/evaluate.h"
#include "train/learner.h"

namespace cadenza::models {
class RnnNadeImpl;
class TransformerNadeImpl;
}  // namespace cadenza::models

namespace cadenza::train {

template <class Impl>
nlohmann::json nade_default_config();
template <class Impl>
nlohmann::json nade_preset(const std::string& preset, bool frames);
template <class Impl>
nlohmann::json resolve_nade_config(const models::Family& family, const nlohmann::json& model, const Shard& shard);
template <class Impl>
std::unique_ptr<Learner> make_nade_learner(const models::Family& family, const nlohmann::json& model,
                                           const Shard& shard, const TrainOptions& options);
template <class Impl>
EvaluationReport evaluate_nade(const models::Family& family, const EvaluationRequest& request);

}  // namespace cadenza::train
