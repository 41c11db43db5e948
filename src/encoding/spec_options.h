// Reading an encoding's options from its JSON spec, with one set of checks and messages for every encoding:
// the spec must be an object, name only known options, carry the right "name", and give values of the right
// type within range. Every failure is a cadenza::Error that starts with the encoding's label.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "score/score.h"

namespace cadenza {

class SpecOptions {
 public:
  // label: how messages name the encoding ("melody encoding"); name: the value "name" must have if present.
  SpecOptions(const nlohmann::json& spec, std::string label, std::string name,
              std::initializer_list<const char*> known_options);

  int integer(const char* key, int fallback, int low, int high) const;
  double number(const char* key, double fallback, double low, double high) const;
  bool boolean(const char* key, bool fallback) const;
  std::string string(const char* key, const std::string& fallback) const;

 private:
  const nlohmann::json& spec_;
  std::string label_;
};

// A JSON value as error messages quote it: compact, invalid UTF-8 replaced by U+FFFD (a value given with --set may
// hold any bytes, and nlohmann's dump() throws on them), cut to max_chars with "..." so a huge value stays readable.
std::string json_for_message(const nlohmann::json& value, size_t max_chars = 80);

// " in 'FILE'" when the score knows its source file, "" otherwise: for encoders' error messages.
std::string in_source(const Score& score);

}  // namespace cadenza
