// One field list per configuration struct (ModelConfig, TrainOptions, VaeConfig, ...): the same list reads JSON,
// writes JSON, names the keys `cadenza train --set` accepts and shows them in `--print-config`, so the four can
// never disagree. It is the encodings' SpecOptions idea (src/encoding/spec_options.h) lifted to every config.
//
//   const OptionFields<VaeConfig>& fields() {
//     static const OptionFields<VaeConfig> f = OptionFields<VaeConfig>("vae config")
//         .tag("family", "vae")
//         .integer("latent_size", &VaeConfig::latent_size, 1, 4096)
//         .number("dropout", &VaeConfig::dropout, 0.0, 0.99)
//         .choice("decoder", &VaeConfig::decoder, {{"flat", VaeDecoderKind::kFlat}, ...});
//     return f;
//   }
//   VaeConfig config = fields().from_json(json);   // absent keys keep the struct's defaults
//   nlohmann::json json = fields().to_json(config); // every key
//
// Reading rules, the same for every config: the value must be a JSON object; an unknown key, a value of the wrong
// type or outside its range throws cadenza::Error "LABEL: "key" must be ..., got VALUE" (naming the key, the value
// and the allowed range); integers may be written as whole floats (1e3); a tag, when present, must have its value.
// Ranges are also the guard against absurd sizes: each size has an upper bound that keeps one model or batch within
// what a machine can hold, and the message says which.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace cadenza {

namespace option_detail {

// "12", "0.5", "\"text\"", "true": the value as a message shows it (long values cut).
std::string show(const nlohmann::json& value);
// The integer a JSON value holds (an integer, or a float with no fractional part); throws the standard message.
int64_t read_integer(const nlohmann::json& value, const std::string& label, const std::string& key, int64_t low,
                     int64_t high);
double read_number(const nlohmann::json& value, const std::string& label, const std::string& key, double low,
                   double high);
std::string format_number(double value);

}  // namespace option_detail

template <class Config>
class OptionFields {
 public:
  // label starts every message: "model config", "training config", "vae config", ...
  explicit OptionFields(std::string label) : label_(std::move(label)) {}

  const std::string& label() const { return label_; }

  // An integer in [low, high].
  OptionFields&& integer(const char* key, int64_t Config::*field, int64_t low, int64_t high) && {
    add(key, [=, label = label_](const nlohmann::json& value, Config& config) {
          config.*field = option_detail::read_integer(value, label, key, low, high);
        },
        [=](const Config& config) { return nlohmann::json(config.*field); });
    return std::move(*this);
  }
  // An unsigned integer in [0, high] (seeds).
  OptionFields&& unsigned_integer(const char* key, uint64_t Config::*field, int64_t high) && {
    add(key, [=, label = label_](const nlohmann::json& value, Config& config) {
          config.*field = static_cast<uint64_t>(option_detail::read_integer(value, label, key, 0, high));
        },
        [=](const Config& config) { return nlohmann::json(config.*field); });
    return std::move(*this);
  }
  // A finite number in [low, high].
  OptionFields&& number(const char* key, double Config::*field, double low, double high) && {
    add(key, [=, label = label_](const nlohmann::json& value, Config& config) {
          config.*field = option_detail::read_number(value, label, key, low, high);
        },
        [=](const Config& config) { return nlohmann::json(config.*field); });
    return std::move(*this);
  }
  OptionFields&& boolean(const char* key, bool Config::*field) && {
    add(key, [=, label = label_](const nlohmann::json& value, Config& config) {
          if (!value.is_boolean())
            throw Error(label + ": \"" + key + "\" must be true or false, got " + option_detail::show(value));
          config.*field = value.get<bool>();
        },
        [=](const Config& config) { return nlohmann::json(config.*field); });
    return std::move(*this);
  }
  // A string; one of `choices` when they are given.
  OptionFields&& text(const char* key, std::string Config::*field, std::vector<std::string> choices = {}) && {
    add(key, [=, label = label_](const nlohmann::json& value, Config& config) {
          if (!value.is_string())
            throw Error(label + ": \"" + key + "\" must be a string, got " + option_detail::show(value));
          const std::string text = value.get<std::string>();
          if (!choices.empty() && std::find(choices.begin(), choices.end(), text) == choices.end())
            throw Error(label + ": \"" + key + "\" must be " + one_of(choices) + ", got \"" + text + "\"");
          config.*field = text;
        },
        [=](const Config& config) { return nlohmann::json(config.*field); });
    return std::move(*this);
  }
  // A non-empty list of integers, each in [low, high], at most max_count of them.
  OptionFields&& integers(const char* key, std::vector<int64_t> Config::*field, int64_t low, int64_t high,
                          size_t max_count) && {
    add(key, [=, label = label_](const nlohmann::json& value, Config& config) {
          if (!value.is_array() || value.empty() || value.size() > max_count)
            throw Error(label + ": \"" + key + "\" must be a list of 1 to " + std::to_string(max_count) +
                        " integers, got " + option_detail::show(value));
          std::vector<int64_t> list;
          for (size_t i = 0; i < value.size(); ++i)
            list.push_back(
                option_detail::read_integer(value[i], label, std::string(key) + "[" + std::to_string(i) + "]", low,
                                            high));
          config.*field = std::move(list);
        },
        [=](const Config& config) { return nlohmann::json(config.*field); });
    return std::move(*this);
  }
  // An enum written as one of `names`.
  template <class Enum>
  OptionFields&& choice(const char* key, Enum Config::*field, std::vector<std::pair<std::string, Enum>> names) && {
    add(key, [=, label = label_](const nlohmann::json& value, Config& config) {
          std::vector<std::string> spelled;
          for (const auto& [name, unused] : names) spelled.push_back(name);
          if (value.is_string())
            for (const auto& [name, option] : names)
              if (name == value.get<std::string>()) {
                config.*field = option;
                return;
              }
          throw Error(label + ": \"" + key + "\" must be " + one_of(spelled) + ", got " + option_detail::show(value));
        },
        [=](const Config& config) {
          for (const auto& [name, option] : names)
            if (option == config.*field) return nlohmann::json(name);
          return nlohmann::json(nullptr);
        });
    return std::move(*this);
  }
  // A fixed string (e.g. "family": "vae"): always written; when read, it must have exactly this value.
  OptionFields&& tag(const char* key, std::string value) && {
    tags_.insert(key);
    add(key, [=, label = label_](const nlohmann::json& given, Config&) {
          if (!given.is_string() || given.get<std::string>() != value)
            throw Error(label + ": \"" + key + "\" must be \"" + value + "\", got " + option_detail::show(given));
        },
        [=](const Config&) { return nlohmann::json(value); });
    return std::move(*this);
  }
  // A key read and written by hand (for fields that need their own rules).
  OptionFields&& custom(const char* key, std::function<void(const nlohmann::json&, Config&)> read,
                        std::function<nlohmann::json(const Config&)> write) && {
    add(key, std::move(read), std::move(write));
    return std::move(*this);
  }

  // Applies the keys present in `json` onto `config`; throws on an unknown key or a bad value (see the header).
  void read(const nlohmann::json& json, Config& config) const {
    if (!json.is_object()) throw Error(label_ + ": expected a JSON object, got " + option_detail::show(json));
    for (const auto& [key, value] : json.items()) {
      const Field* field = find(key);
      if (field == nullptr) throw Error(label_ + ": unknown key \"" + key + "\"" + suggestion(key));
      field->read(value, config);
    }
  }
  Config from_json(const nlohmann::json& json) const {
    Config config;
    read(json, config);
    return config;
  }
  // Checks every field of `config` against its type and range (for configs built in code, not read from JSON).
  void check(const Config& config) const {
    Config copy = config;
    read(to_json(config), copy);
  }
  // Every key, in the order of the list.
  nlohmann::json to_json(const Config& config) const {
    nlohmann::json json = nlohmann::json::object();
    for (const auto& field : fields_) json[field.key] = field.write(config);
    return json;
  }
  // The keys a user may set (tags excluded).
  std::vector<std::string> keys() const {
    std::vector<std::string> keys;
    for (const auto& field : fields_)
      if (!tags_.count(field.key)) keys.push_back(field.key);
    return keys;
  }
  bool has(const std::string& key) const { return find(key) != nullptr && !tags_.count(key); }

 private:
  struct Field {
    std::string key;
    std::function<void(const nlohmann::json&, Config&)> read;
    std::function<nlohmann::json(const Config&)> write;
  };

  void add(const char* key, std::function<void(const nlohmann::json&, Config&)> read,
           std::function<nlohmann::json(const Config&)> write) {
    if (find(key) != nullptr) throw Error(label_ + ": key \"" + key + "\" is listed twice (a bug)");
    fields_.push_back({key, std::move(read), std::move(write)});
  }
  const Field* find(const std::string& key) const {
    for (const auto& field : fields_)
      if (field.key == key) return &field;
    return nullptr;
  }
  static std::string one_of(const std::vector<std::string>& choices) {
    std::string text;
    for (size_t i = 0; i < choices.size(); ++i)
      text += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + ("\"" + choices[i] + "\"");
    return text;
  }
  // " (did you mean \"hidden_size\"?)" for a near miss, else "".
  std::string suggestion(const std::string& key) const;

  std::string label_;
  std::vector<Field> fields_;
  std::set<std::string> tags_;
};

namespace option_detail {
// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(const std::string& a, const std::string& b);
}  // namespace option_detail

template <class Config>
std::string OptionFields<Config>::suggestion(const std::string& key) const {
  std::string best;
  size_t best_distance = 3;  // suggest only near misses
  for (const auto& field : fields_) {
    const size_t distance = option_detail::edit_distance(key, field.key);
    if (distance < best_distance) best = field.key, best_distance = distance;
  }
  return best.empty() ? "" : " (did you mean \"" + best + "\"?)";
}

// Physical memory of this machine in bytes (0 when unknown).
uint64_t physical_memory_bytes();

// Throws cadenza::Error "WHAT needs about X GB, more than half of this machine's Y GB of memory (LIMIT)" when
// `bytes` exceeds half the physical memory; `what` names the options and values that imply it.
void check_memory_estimate(double bytes, const std::string& what);

}  // namespace cadenza
