// The learner, presets and evaluation of the autoregressive families (the registry's rows rnn, lstm, gru,
// transformer, and any family of that kind): next-element cross-entropy on random crops, NLL on held-out pieces.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "train/evaluate.h"
#include "train/learner.h"

namespace cadenza::train {

nlohmann::json recurrent_preset(const std::string& preset, bool frames);
nlohmann::json transformer_preset(const std::string& preset, bool frames);
// Every ModelConfig key with its default.
nlohmann::json sequence_default_config();
nlohmann::json resolve_sequence_config(const models::Family& family, const nlohmann::json& model, const Shard& shard);
std::unique_ptr<Learner> make_sequence_learner(const models::Family& family, const nlohmann::json& model,
                                               const Shard& shard, const TrainOptions& options);
// Held-out NLL, perplexity and accuracy beside the context-free baseline.
EvaluationReport evaluate_sequence(const models::Family& family, const EvaluationRequest& request);

}  // namespace cadenza::train
