// ModelConfig <-> JSON, the family dispatch of make_sequence_model(), and count_parameters().
#include <set>

#include "common/error.h"
#include "models/factories.h"
#include "models/sequence_model.h"

namespace cadenza::models {
namespace {

const std::set<std::string> kFamilies = {"rnn", "lstm", "gru", "transformer"};

std::string input_kind_name(InputKind kind) {
  return kind == InputKind::kTokens ? "tokens" : "frames";
}

// The checks every family shares; family constructors check what only they use.
void validate_common(const ModelConfig& config) {
  auto fail = [](const std::string& problem) { throw Error("model config: " + problem); };
  if (!kFamilies.count(config.family))
    fail("unknown family \"" + config.family + "\" (expected rnn, lstm, gru or transformer)");
  if (config.vocab_size <= 0) fail("vocab_size must be positive, got " + std::to_string(config.vocab_size));
  if (config.hidden_size <= 0) fail("hidden_size must be positive, got " + std::to_string(config.hidden_size));
  if (config.embedding_size < 0) fail("embedding_size must be >= 0, got " + std::to_string(config.embedding_size));
  if (config.num_layers <= 0) fail("num_layers must be positive, got " + std::to_string(config.num_layers));
  if (!(config.dropout >= 0.0 && config.dropout < 1.0))
    fail("dropout must be in [0, 1), got " + std::to_string(config.dropout));
  if (config.num_heads <= 0) fail("num_heads must be positive, got " + std::to_string(config.num_heads));
  if (config.feedforward_size < 0)
    fail("feedforward_size must be >= 0, got " + std::to_string(config.feedforward_size));
  if (config.max_sequence_length <= 0)
    fail("max_sequence_length must be positive, got " + std::to_string(config.max_sequence_length));
  if (config.max_relative_distance < 0)
    fail("max_relative_distance must be >= 0, got " + std::to_string(config.max_relative_distance));
}

}  // namespace

nlohmann::json ModelConfig::to_json() const {
  return {
      {"family", family},
      {"input_kind", input_kind_name(input_kind)},
      {"vocab_size", vocab_size},
      {"embedding_size", embedding_size},
      {"hidden_size", hidden_size},
      {"num_layers", num_layers},
      {"dropout", dropout},
      {"residual", residual},
      {"num_heads", num_heads},
      {"feedforward_size", feedforward_size},
      {"max_sequence_length", max_sequence_length},
      {"relative_attention", relative_attention},
      {"max_relative_distance", max_relative_distance},
  };
}

ModelConfig ModelConfig::from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw Error("model config: expected a JSON object, got " + std::string(json.type_name()));
  ModelConfig config;
  std::set<std::string> known;
  // Each reader takes an absent key as the default, and rejects a present key of the wrong type.
  auto read_int = [&](const char* key, int64_t& field) {
    known.insert(key);
    if (!json.contains(key)) return;
    const auto& value = json[key];
    if (!value.is_number_integer()) throw Error(std::string("model config: \"") + key + "\" must be an integer");
    field = value.get<int64_t>();
  };
  auto read_bool = [&](const char* key, bool& field) {
    known.insert(key);
    if (!json.contains(key)) return;
    if (!json[key].is_boolean()) throw Error(std::string("model config: \"") + key + "\" must be true or false");
    field = json[key].get<bool>();
  };
  auto read_string = [&](const char* key, std::string& field) {
    known.insert(key);
    if (!json.contains(key)) return;
    if (!json[key].is_string()) throw Error(std::string("model config: \"") + key + "\" must be a string");
    field = json[key].get<std::string>();
  };

  read_string("family", config.family);
  std::string kind = input_kind_name(config.input_kind);
  read_string("input_kind", kind);
  if (kind == "tokens") {
    config.input_kind = InputKind::kTokens;
  } else if (kind == "frames") {
    config.input_kind = InputKind::kFrames;
  } else {
    throw Error("model config: \"input_kind\" must be \"tokens\" or \"frames\", got \"" + kind + "\"");
  }
  read_int("vocab_size", config.vocab_size);
  read_int("embedding_size", config.embedding_size);
  read_int("hidden_size", config.hidden_size);
  read_int("num_layers", config.num_layers);
  known.insert("dropout");
  if (json.contains("dropout")) {
    if (!json["dropout"].is_number()) throw Error("model config: \"dropout\" must be a number");
    config.dropout = json["dropout"].get<double>();
  }
  read_bool("residual", config.residual);
  read_int("num_heads", config.num_heads);
  read_int("feedforward_size", config.feedforward_size);
  read_int("max_sequence_length", config.max_sequence_length);
  read_bool("relative_attention", config.relative_attention);
  read_int("max_relative_distance", config.max_relative_distance);

  for (const auto& [key, unused] : json.items()) {
    if (!known.count(key)) throw Error("model config: unknown key \"" + key + "\"");
  }
  validate_common(config);
  return config;
}

std::shared_ptr<SequenceModelImpl> make_sequence_model(const ModelConfig& config) {
  validate_common(config);
  if (config.family == "transformer") return make_transformer_model(config);
  return make_recurrent_model(config);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.parameters(/*recurse=*/true)) {
    if (parameter.requires_grad()) count += parameter.numel();
  }
  return count;
}

}  // namespace cadenza::models
