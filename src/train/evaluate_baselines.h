// The n-gram baselines beside a token model's held-out NLL in `cadenza evaluate` (and so in `compare` and the model
// cards, which read evaluate's result): the interpolated Kneser-Ney n-gram and the same with a piece cache
// (eval/ngram.h), estimated on the train split, order and cache chosen on valid, scored on the same split, window
// and tokens as the model. Torch-free.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "data/shard.h"
#include "train/evaluate.h"

namespace cadenza::train {

// The longest crop the model was trained on, from the checkpoint's training metadata ("config" -> "train" ->
// "crop_length"); 0 when it does not say.
int64_t training_crop_length(const nlohmann::json& training);

// The context the model was evaluated at, for the header line: "in windows of W tokens" and, when the training
// crops are known (crop_length > 0), "; trained on crops of C tokens". `unit` is "token" or "frame".
std::string evaluation_context_text(int64_t window, int64_t crop_length, const char* unit);

// Writes the n-gram baselines into report.result["ngram_baseline"] (eval::to_json plus "same_tokens" and
// "model_elements") and appends their rows to report.text, labels padded to `label_width`. Uses request.ngram when
// given, else fits them on request.shard with request.split and request.window. When they cannot be fitted (no
// valid piece to choose the order on, ...) the result holds {"error": why} and the text says why: the model's own
// figures still stand. `model` is the model's result on the same request.
void append_ngram_baselines(const EvaluationRequest& request, const EvaluationResult& model, int label_width,
                            EvaluationReport& report);

}  // namespace cadenza::train
