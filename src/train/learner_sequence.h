// The learner, presets and evaluation of the autoregressive families (the registry's rows rnn, lstm, gru,
// transformer, and any family of that kind): next-element cross-entropy on random crops, NLL on held-out pieces.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
// The training loss weight of each token of the shard's vocabulary: options.end_loss_weight for END,
// options.header_loss_weight for the tune header's METER_* and KEY_* tokens, 1 for the rest. Empty when both weights
// are 1 (the plain loss). Throws cadenza::Error naming the option when the shard's tokens have no tune header.
std::vector<float> token_loss_weights(const Shard& shard, const TrainOptions& options);
// Held-out NLL, perplexity and accuracy beside the context-free baseline.
EvaluationReport evaluate_sequence(const models::Family& family, const EvaluationRequest& request);

}  // namespace cadenza::train
