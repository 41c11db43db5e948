#include "train/evaluate_baselines.h"

#include <cmath>
#include <cstdio>
#include <optional>

#include "common/error.h"
#include "eval/ngram.h"

namespace cadenza::train {

int64_t training_crop_length(const nlohmann::json& training) {
  if (!training.is_object() || !training.contains("config")) return 0;
  const nlohmann::json& config = training["config"];
  if (!config.is_object() || !config.contains("train") || !config["train"].is_object()) return 0;
  const nlohmann::json& train = config["train"];
  if (!train.contains("crop_length") || !train["crop_length"].is_number_integer()) return 0;
  return train["crop_length"].get<int64_t>();
}

std::string evaluation_context_text(int64_t window, int64_t crop_length, const char* unit) {
  std::string text = "in windows of " + std::to_string(window) + " " + unit + "s";
  if (crop_length > 0) text += "; trained on crops of " + std::to_string(crop_length) + " " + unit + "s";
  return text;
}

void append_ngram_baselines(const EvaluationRequest& request, const EvaluationResult& model, int label_width,
                            EvaluationReport& report) {
  std::optional<eval::NgramBaseline> fitted;
  const eval::NgramBaseline* baseline = request.ngram;
  std::string& text = report.text;
  char line[512];
  if (baseline == nullptr) {
    eval::NgramBaselineOptions options;
    options.split = request.split;
    options.window = request.window;
    try {
      fitted = eval::fit_ngram_baseline(*request.shard, options);
      baseline = &*fitted;
    } catch (const Error& error) {
      // The model's figures stand without them; say why they are missing.
      report.result["ngram_baseline"] = {{"error", error.what()}};
      text += std::string("  n-gram baselines not measured: ") + error.what() + "\n";
      return;
    }
  }
  const bool same_tokens = baseline->elements == model.elements;
  nlohmann::json json = eval::to_json(*baseline);
  json["window"] = request.window;
  json["same_tokens"] = same_tokens;
  json["model_elements"] = model.elements;
  report.result["ngram_baseline"] = json;

  auto row = [&](const std::string& label, double nll) {
    std::snprintf(line, sizeof line, "  %-*s %10.4f %12.3f %10s\n", label_width, label.c_str(), nll, std::exp(nll),
                  "-");
    text += line;
  };
  row("Kneser-Ney " + std::to_string(baseline->order) + "-gram", baseline->nll);
  if (std::isfinite(baseline->nll_cached))
    row("Kneser-Ney " + std::to_string(baseline->cached_order) + "-gram + piece cache", baseline->nll_cached);
  if (same_tokens)
    std::snprintf(line, sizeof line,
                  "  (n-grams: estimated on the train split, order and cache chosen on valid, scored on the same %lld "
                  "tokens as the model, as `cadenza baseline`)\n",
                  static_cast<long long>(baseline->elements));
  else
    std::snprintf(line, sizeof line,
                  "  (n-grams scored %lld tokens, the model %lld: not the same tokens, the figures are not "
                  "comparable)\n",
                  static_cast<long long>(baseline->elements), static_cast<long long>(model.elements));
  text += line;
}

}  // namespace cadenza::train
