#include "encoding/spec_options.h"

#include <cmath>
#include <cstdio>

#include "common/error.h"

namespace cadenza {

SpecOptions::SpecOptions(const nlohmann::json& spec, std::string label, std::string name,
                         std::initializer_list<const char*> known_options)
    : spec_(spec), label_(std::move(label)) {
  if (!spec_.is_object()) throw Error(label_ + ": spec must be a JSON object, got " + json_for_message(spec_));
  for (auto item = spec_.begin(); item != spec_.end(); ++item) {
    bool known = item.key() == "name";
    for (const char* option : known_options) known = known || item.key() == option;
    if (!known) throw Error(label_ + ": unknown option '" + item.key() + "'");
  }
  if (spec_.contains("name") && spec_["name"] != name)
    throw Error(label_ + ": spec names encoding " + json_for_message(spec_["name"]));
}

int SpecOptions::integer(const char* key, int fallback, int low, int high) const {
  if (!spec_.contains(key)) return fallback;
  const auto& value = spec_[key];
  if (!value.is_number_integer())
    throw Error(label_ + ": option '" + key + "' must be an integer, got " + json_for_message(value));
  // nlohmann stores non-negative literals as unsigned: compare each kind in its own type.
  const bool in_range = value.is_number_unsigned()
                            ? (high >= 0 && value.get<uint64_t>() <= static_cast<uint64_t>(high) &&
                               (low <= 0 || value.get<uint64_t>() >= static_cast<uint64_t>(low)))
                            : (value.get<int64_t>() >= low && value.get<int64_t>() <= high);
  if (!in_range)
    throw Error(label_ + ": option '" + key + "' = " + json_for_message(value) + " is outside " + std::to_string(low) +
                ".." + std::to_string(high));
  return value.get<int>();
}

double SpecOptions::number(const char* key, double fallback, double low, double high) const {
  if (!spec_.contains(key)) return fallback;
  const auto& value = spec_[key];
  if (!value.is_number() || !std::isfinite(value.get<double>()))
    throw Error(label_ + ": option '" + key + "' must be a number, got " + json_for_message(value));
  const double number = value.get<double>();
  if (!(number >= low && number <= high)) {
    char range[96];
    std::snprintf(range, sizeof range, " is outside %g..%g", low, high);
    throw Error(label_ + ": option '" + key + "' = " + json_for_message(value) + range);
  }
  return number;
}

bool SpecOptions::boolean(const char* key, bool fallback) const {
  if (!spec_.contains(key)) return fallback;
  const auto& value = spec_[key];
  if (!value.is_boolean())
    throw Error(label_ + ": option '" + key + "' must be true or false, got " + json_for_message(value));
  return value.get<bool>();
}

std::string SpecOptions::string(const char* key, const std::string& fallback) const {
  if (!spec_.contains(key)) return fallback;
  const auto& value = spec_[key];
  if (!value.is_string())
    throw Error(label_ + ": option '" + key + "' must be a string, got " + json_for_message(value));
  return value.get<std::string>();
}

std::string json_for_message(const nlohmann::json& value, size_t max_chars) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > max_chars) {
    size_t cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
    text = text.substr(0, cut) + "...";
  }
  return text;
}

std::string in_source(const Score& score) {
  return score.source.empty() ? "" : " in '" + score.source + "'";
}

}  // namespace cadenza
