// ModelConfig's field list, JSON and checks.
#include "models/model_config.h"

#include <algorithm>

#include "encoding/encoding.h"  // kLookbackCount

namespace cadenza::models {

std::string input_kind_name(InputKind kind) {
  return kind == InputKind::kTokens ? "tokens" : "frames";
}

const OptionFields<ModelConfig>& model_config_fields() {
  static const OptionFields<ModelConfig> fields =
      OptionFields<ModelConfig>("model config")
          .text("family", &ModelConfig::family)
          .choice("input_kind", &ModelConfig::input_kind,
                  {{"tokens", InputKind::kTokens}, {"frames", InputKind::kFrames}})
          .integer("vocab_size", &ModelConfig::vocab_size, 0, int64_t{1} << 20)
          .integer("embedding_size", &ModelConfig::embedding_size, 0, 16384)
          .integer("hidden_size", &ModelConfig::hidden_size, 1, 16384)
          .integer("num_layers", &ModelConfig::num_layers, 1, 128)
          .number("dropout", &ModelConfig::dropout, 0.0, 0.99)
          .boolean("residual", &ModelConfig::residual)
          .integer("num_heads", &ModelConfig::num_heads, 1, 256)
          .integer("feedforward_size", &ModelConfig::feedforward_size, 0, 65536)
          .integer("max_sequence_length", &ModelConfig::max_sequence_length, 1, int64_t{1} << 20)
          .boolean("relative_attention", &ModelConfig::relative_attention)
          .integer("max_relative_distance", &ModelConfig::max_relative_distance, 0, int64_t{1} << 20)
          .integer("context_positions", &ModelConfig::context_positions, -1, 4096)
          .integer("context_lookback", &ModelConfig::context_lookback, -1, kLookbackCount)
          .boolean("context_header", &ModelConfig::context_header)
          .boolean("context_phrase", &ModelConfig::context_phrase)
          .boolean("context_bars_left", &ModelConfig::context_bars_left)
          .integer("attention_length", &ModelConfig::attention_length, 0, 4096)
          .boolean("chord_conditioning", &ModelConfig::chord_conditioning)
          .boolean("style_conditioning", &ModelConfig::style_conditioning)
          .custom(
              "style_names",
              [](const nlohmann::json& value, ModelConfig& config) {
                if (!value.is_array())
                  throw Error("model config: \"style_names\" must be a list of style names, got " + value.dump());
                std::vector<std::string> names;
                for (const auto& name : value) {
                  if (!name.is_string())
                    throw Error("model config: \"style_names\" must be a list of style names, got " + value.dump());
                  names.push_back(name.get<std::string>());
                }
                config.style_names = std::move(names);
              },
              [](const ModelConfig& config) { return nlohmann::json(config.style_names); });
  return fields;
}

nlohmann::json ModelConfig::to_json() const {
  return model_config_fields().to_json(*this);
}

ModelConfig ModelConfig::from_json(const nlohmann::json& json) {
  ModelConfig config = model_config_fields().from_json(json);
  config.validate();
  return config;
}

double ModelConfig::approximate_parameters() const {
  const double V = static_cast<double>(vocab_size), C = static_cast<double>(hidden_size),
               E = static_cast<double>(embedding_size > 0 ? embedding_size : hidden_size),
               F = static_cast<double>(feedforward_size > 0 ? feedforward_size : 4 * hidden_size),
               L = static_cast<double>(num_layers);
  // The larger of an LSTM layer (4 gates over [input, hidden]) and a Transformer block (4 C^2 attention, 2 C F MLP),
  // plus the input layer and the head.
  const double layer = std::max(4 * C * (std::max(E, C) + C + 2), 4 * C * C + 2 * C * F);
  return V * E + L * layer + C * V + V;
}

void ModelConfig::validate() const {
  model_config_fields().check(*this);
  if (vocab_size <= 0)
    throw Error("model config: \"vocab_size\" must be set (the data decides it), got " + std::to_string(vocab_size));
  if (family.empty()) throw Error("model config: \"family\" must name a model family");
  if ((context_positions > 0 || context_lookback > 0 || context_header || context_phrase || context_bars_left) &&
      input_kind != InputKind::kTokens)
    throw Error(
        "model config: \"context_positions\", \"context_lookback\", \"context_header\", \"context_phrase\" and "
        "\"context_bars_left\" are for token models");
  if (chord_conditioning && input_kind != InputKind::kTokens)
    throw Error("model config: \"chord_conditioning\" is for token models");
  if (style_conditioning && input_kind != InputKind::kTokens)
    throw Error("model config: \"style_conditioning\" is for token models");
  if (!style_conditioning && !style_names.empty())
    throw Error("model config: \"style_names\" is set, but \"style_conditioning\" is false");
  for (size_t i = 0; i < style_names.size(); ++i) {
    if (style_names[i].empty()) throw Error("model config: \"style_names\" has an empty name");
    if (i > 0 && !(style_names[i - 1] < style_names[i]))
      throw Error("model config: \"style_names\" must be sorted and distinct ('" + style_names[i - 1] + "' before '" +
                  style_names[i] + "')");
  }
  check_memory_estimate(4.0 * approximate_parameters(), "model config: a " + family + " model with hidden_size " +
                                                            std::to_string(hidden_size) + ", num_layers " +
                                                            std::to_string(num_layers) + " and vocab_size " +
                                                            std::to_string(vocab_size));
}

}  // namespace cadenza::models
