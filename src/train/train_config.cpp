#include "train/train_config.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "common/error.h"

namespace cadenza::train {

using nlohmann::json;

const OptionFields<TrainOptions>& train_options_fields() {
  using T = TrainOptions;
  static const OptionFields<TrainOptions> fields =
      OptionFields<TrainOptions>("training config")
          .number("learning_rate", &T::learning_rate, 1e-12, 1e30)
          .number("min_learning_rate", &T::min_learning_rate, 0.0, 100.0)
          .text("schedule", &T::schedule, {"cosine", "inverse_sqrt", "constant"})
          .integer("warmup_steps", &T::warmup_steps, 0, int64_t{1} << 40)
          .number("weight_decay", &T::weight_decay, 0.0, 100.0)
          .number("beta1", &T::beta1, 0.0, 0.999999)
          .number("beta2", &T::beta2, 0.0, 0.999999)
          .number("clip_norm", &T::clip_norm, 0.0, 1e9)
          .integer("batch_size", &T::batch_size, 1, 65536)
          .integer("crop_length", &T::crop_length, 2, int64_t{1} << 20)
          .number("start_crop_share", &T::start_crop_share, 0.0, 1.0)
          .number("end_crop_share", &T::end_crop_share, 0.0, 1.0)
          .boolean("edge_crops_by_tune", &T::edge_crops_by_tune)
          .number("edge_crop_style_power", &T::edge_crop_style_power, 0.0, 1.0)
          .number("bars_left_unknown_share", &T::bars_left_unknown_share, 0.0, 1.0)
          .number("lookback_hidden_share", &T::lookback_hidden_share, 0.0, 1.0)
          .number("chords_hidden_share", &T::chords_hidden_share, 0.0, 1.0)
          .number("end_loss_weight", &T::end_loss_weight, 0.0, 1000.0)
          .number("header_loss_weight", &T::header_loss_weight, 0.0, 1000.0)
          .integer("max_transpose", &T::max_transpose, 0, 24)
          .number("min_stretch", &T::min_stretch, 0.01, 100.0)
          .number("max_stretch", &T::max_stretch, 0.01, 100.0)
          .integer("steps", &T::steps, 1, int64_t{1} << 40)
          .number("time_budget_seconds", &T::time_budget_seconds, 0.0, 1e9)
          .integer("eval_every", &T::eval_every, 1, int64_t{1} << 40)
          .integer("eval_window", &T::eval_window, 2, int64_t{1} << 20)
          .integer("max_eval_pieces", &T::max_eval_pieces, 0, int64_t{1} << 40)
          .integer("checkpoint_every", &T::checkpoint_every, 1, int64_t{1} << 40)
          .integer("patience", &T::patience, 0, int64_t{1} << 40)
          .integer("log_every", &T::log_every, 1, int64_t{1} << 40)
          .unsigned_integer("seed", &T::seed, std::numeric_limits<int64_t>::max())
          .integer("critic_steps", &T::critic_steps, 1, 1000)
          .number("gradient_penalty", &T::gradient_penalty, 0.0, 1e6)
          .integer("eval_samples", &T::eval_samples, 1, int64_t{1} << 20);
  return fields;
}

json TrainOptions::to_json() const {
  return train_options_fields().to_json(*this);
}

TrainOptions TrainOptions::from_json(const json& object) {
  if (!object.is_object()) throw Error("training config: \"train\" must be a JSON object");
  TrainOptions options = train_options_fields().from_json(object);
  options.validate();
  return options;
}

void TrainOptions::validate() const {
  train_options_fields().check(*this);
  if (max_stretch < min_stretch)
    throw Error("training config: \"max_stretch\" (" + std::to_string(max_stretch) + ") must be >= \"min_stretch\" (" +
                std::to_string(min_stretch) + ")");
}

std::vector<std::string> preset_names() {
  return {"tiny", "small", "base"};
}

void check_preset_name(const std::string& preset) {
  const auto names = preset_names();
  if (std::find(names.begin(), names.end(), preset) == names.end())
    throw Error("unknown preset \"" + preset + "\" (expected tiny, small or base)");
}

void merge_config(json& config, const json& overrides, const std::string& source) {
  if (!overrides.is_object()) throw Error(source + ": expected a JSON object with \"model\" and/or \"train\"");
  for (const auto& [section, values] : overrides.items()) {
    if (section != "model" && section != "train")
      throw Error(source + ": unknown section \"" + section + "\" (expected \"model\" or \"train\")");
    if (!values.is_object()) throw Error(source + ": \"" + section + "\" must be a JSON object");
    for (const auto& [key, value] : values.items()) config[section][key] = value;
  }
}

void apply_setting(json& config, const std::string& setting, const std::vector<std::string>& model_keys,
                   const std::vector<std::string>& data_keys) {
  const auto equals = setting.find('=');
  if (equals == std::string::npos || equals == 0)
    throw Error("--set " + setting + ": expected key=value (e.g. hidden_size=512)");
  std::string key = setting.substr(0, equals);
  const std::string text = setting.substr(equals + 1);
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;

  auto has = [](const std::vector<std::string>& keys, const std::string& key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  };
  std::string section;
  if (key.rfind("model.", 0) == 0) {
    section = "model", key = key.substr(6);
  } else if (key.rfind("train.", 0) == 0) {
    section = "train", key = key.substr(6);
  } else {
    section = has(model_keys, key) ? "model" : "train";
  }
  const bool known = section == "model" ? has(model_keys, key) : train_options_fields().has(key);
  if (!known) throw Error("--set " + setting + ": unknown key \"" + key + "\"");
  if (section == "model" && has(data_keys, key))
    throw Error("--set " + setting + ": \"" + key + "\" comes from the data (or --model) and cannot be set");
  config[section][key] = value;
}

void apply_fine_tune_preset(json& train) {
  const TrainOptions defaults;
  const double learning_rate = train.value("learning_rate", defaults.learning_rate);
  const double min_learning_rate = train.value("min_learning_rate", defaults.min_learning_rate);
  const int64_t warmup_steps = train.value("warmup_steps", defaults.warmup_steps);
  train["learning_rate"] = learning_rate * kFineTuneLearningRateFactor;
  train["min_learning_rate"] = min_learning_rate * kFineTuneLearningRateFactor;
  train["warmup_steps"] = warmup_steps / kFineTuneWarmupDivisor;
}

std::vector<std::string> parse_group_list(const std::string& text) {
  std::vector<std::string> names;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t first = name.find_first_not_of(' ');
    const size_t last = name.find_last_not_of(' ');
    name = first == std::string::npos ? "" : name.substr(first, last - first + 1);
    if (name.empty()) throw Error("--freeze \"" + text + "\": expected group names separated by commas");
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

}  // namespace cadenza::train
