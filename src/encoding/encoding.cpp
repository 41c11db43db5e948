#include "encoding/encoding.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "encoding/factories.h"
#include "encoding/spec_options.h"

namespace cadenza {

Vocabulary::Vocabulary(std::vector<std::string> names) : names_(std::move(names)) {
  for (size_t i = 0; i < names_.size(); ++i) {
    auto [it, inserted] = ids_.emplace(names_[i], static_cast<Token>(i));
    if (!inserted) throw Error("vocabulary has the token name '" + names_[i] + "' twice");
  }
}

const std::string& Vocabulary::name(Token token) const {
  static thread_local std::string invalid;
  if (token >= 0 && token < size()) return names_[token];
  invalid = "<invalid:" + std::to_string(token) + ">";
  return invalid;
}

Token Vocabulary::id(const std::string& name) const {
  auto it = ids_.find(name);
  if (it == ids_.end()) throw Error("unknown token name '" + name + "'");
  return it->second;
}

bool Vocabulary::contains(const std::string& name) const {
  return ids_.count(name) != 0;
}

bool Grammar::is_allowed(Token token) const {
  std::vector<uint8_t> mask;
  allowed(mask);
  return token >= 0 && static_cast<size_t>(token) < mask.size() && mask[token] != 0;
}

std::string TokenEncoding::to_text(std::span<const Token> tokens) const {
  std::string text;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i) text += ' ';
    text += vocabulary().name(tokens[i]);
  }
  return text;
}

std::vector<Token> TokenEncoding::from_text(const std::string& text) const {
  std::istringstream in(text);
  std::vector<Token> tokens;
  std::string word;
  while (in >> word) tokens.push_back(vocabulary().id(word));
  return tokens;
}

ContextValues context_values(std::span<const Token> tokens, size_t i, const StepContext& context, int vocab) {
  ContextValues values;
  values.fill(vocab);
  values[0] = context.position;
  for (int k = 0; k < kLookbackCount; ++k) {
    const int64_t distance = context.lookback_distance[k];
    const int64_t at = static_cast<int64_t>(i) + 1 - distance;
    if (distance > 0 && at >= 0 && static_cast<size_t>(at) < tokens.size())
      values[1 + k] = tokens[static_cast<size_t>(at)];
  }
  if (context.meter >= 0) values[kMeterValue] = context.meter;
  if (context.key >= 0) values[kKeyValue] = context.key;
  values[kBarValue] = context.bar < 0 ? kNoBar : std::min<int64_t>(context.bar, kNoBar - 1);
  return values;
}

int64_t bars_left_value(int bar, int64_t tune_bars) {
  if (bar < 0 || tune_bars < 0) return kBarsLeftUnknown;
  return std::clamp<int64_t>(tune_bars - bar, 0, kBarsLeftHorizon);
}

std::vector<StepContext> TokenEncoding::contexts(std::span<const Token> tokens) const {
  std::vector<StepContext> out(tokens.size());
  if (position_count() == 0) return out;
  auto grammar = this->grammar();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!grammar->is_allowed(tokens[i])) break;
    grammar->push(tokens[i]);
    out[i] = grammar->context();
  }
  return out;
}

bool TokenEncoding::transpose(std::vector<Token>& tokens, int semitones) const {
  if (semitones == 0) return true;
  std::vector<Token> shifted(tokens);
  for (auto& token : shifted) {
    int pitch = token_pitch(token);
    if (pitch < 0) continue;
    Token moved = with_pitch(token, pitch + semitones);
    if (moved < 0) return false;
    token = moved;
  }
  tokens.swap(shifted);
  return true;
}

std::pair<int, int> TokenEncoding::transposition_range(std::span<const Token> tokens) const {
  // Narrow [-127, 127] by probing with_pitch on every pitch token: each probe step only moves a bound inward,
  // so the whole scan is O(tokens + 254), cheap enough to run per batch item during augmentation.
  int lowest = -127, highest = 127;
  for (Token token : tokens) {
    int pitch = token_pitch(token);
    if (pitch < 0) continue;
    while (lowest < 0 && with_pitch(token, pitch + lowest) < 0) ++lowest;
    while (highest > 0 && with_pitch(token, pitch + highest) < 0) --highest;
  }
  return {lowest, highest};
}

std::unique_ptr<TokenEncoding> make_token_encoding(const nlohmann::json& spec) {
  if (!spec.is_object() || !spec.contains("name") || !spec["name"].is_string())
    throw Error("encoding spec must be a JSON object with a \"name\": " + json_for_message(spec));
  const std::string name = spec["name"].get<std::string>();
  if (name == "melody") return make_melody_encoding(spec);
  if (name == "performance") return make_performance_encoding(spec);
  if (name == "remi") return make_remi_encoding(spec);
  throw Error("unknown encoding '" + name + "' (known: melody, performance, remi, pianoroll)");
}

std::vector<std::string> token_encoding_names() {
  return {"melody", "performance", "remi"};
}

}  // namespace cadenza
