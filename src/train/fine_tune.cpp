#include "train/fine_tune.h"

#include <algorithm>
#include <optional>
#include <regex>
#include <set>

#include "common/error.h"

namespace cadenza::train {
namespace {

// The groups one parameter belongs to: its top-level module, and "layers:N" when it belongs to layer N of a stack.
std::vector<std::string> groups_of(const std::string& name) {
  const size_t dot = name.find('.');
  std::vector<std::string> groups{name.substr(0, dot)};
  std::optional<std::string> layer;
  if (dot != std::string::npos) {
    // "blocks.3.attention.qkv.weight": a numbered list right under the top-level module.
    const size_t next = name.find('.', dot + 1);
    const std::string second = name.substr(dot + 1, next == std::string::npos ? std::string::npos : next - dot - 1);
    if (next != std::string::npos && !second.empty() &&
        std::all_of(second.begin(), second.end(), [](char c) { return c >= '0' && c <= '9'; }))
      layer = second;
  }
  if (!layer) {
    // "rnn.weight_ih_l1", "encoder.bias_hh_l0_reverse": the layer of a torch RNN / LSTM / GRU.
    static const std::regex rnn_layer(R"(_l([0-9]+)(_reverse)?$)");
    std::smatch match;
    if (std::regex_search(name, match, rnn_layer)) layer = match[1].str();
  }
  if (layer) groups.push_back("layers:" + std::to_string(std::stoll(*layer)));
  return groups;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

// What `dataset prepare` needs to make data in the checkpoint's encoding: "--encoding NAME" when the names differ,
// else "--set KEY=VALUE" for each setting the checkpoint has and the data lacks or has otherwise, and "without
// --set KEY" for a setting only the data has (a spec writes some settings only when they are on).
std::string prepare_hint(const nlohmann::json& data, const nlohmann::json& checkpoint) {
  if (!data.is_object() || !checkpoint.is_object()) return "";
  if (data.value("name", "") != checkpoint.value("name", ""))
    return ": dataset prepare --encoding " + checkpoint.value("name", std::string("?"));
  std::vector<std::string> parts;
  for (const auto& [key, value] : checkpoint.items()) {
    if (key == "name" || (data.contains(key) && data[key] == value)) continue;
    parts.push_back("--set " + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump()));
  }
  for (const auto& [key, value] : data.items())
    if (!checkpoint.contains(key)) parts.push_back("without --set " + key);
  if (parts.empty()) return "";
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : " ") + part;
  return ": dataset prepare ... " + text;
}

}  // namespace

void check_data_matches_checkpoint(const Shard& shard, const models::CheckpointInfo& checkpoint,
                                   const std::string& what) {
  const std::string where = shard.path() + " does not match " + what + " (" + checkpoint.path + "): ";
  const nlohmann::json& data_encoding = shard.metadata().encoding;
  const std::vector<std::string>& data_vocabulary = shard.metadata().vocabulary;
  if (data_encoding != checkpoint.encoding) {
    const std::string sizes = shard.is_piano_roll() || checkpoint.vocabulary.empty()
                                  ? ""
                                  : "; vocabulary " + std::to_string(data_vocabulary.size()) + " vs " +
                                        std::to_string(checkpoint.vocabulary.size()) + " tokens";
    throw Error(where + "encoding " + data_encoding.dump() + " vs " + checkpoint.encoding.dump() + sizes +
                " (data vs checkpoint; prepare the data with the checkpoint's encoding settings" +
                prepare_hint(data_encoding, checkpoint.encoding) + ")");
  }
  if (shard.is_piano_roll()) return;
  if (data_vocabulary.size() != checkpoint.vocabulary.size())
    throw Error(where + "vocabulary " + std::to_string(data_vocabulary.size()) + " vs " +
                std::to_string(checkpoint.vocabulary.size()) + " tokens (data vs checkpoint)");
  for (size_t i = 0; i < data_vocabulary.size(); ++i)
    if (data_vocabulary[i] != checkpoint.vocabulary[i])
      throw Error(where + "token " + std::to_string(i) + " is \"" + data_vocabulary[i] + "\" in the data but \"" +
                  checkpoint.vocabulary[i] + "\" in the checkpoint");
}

std::vector<std::string> parameter_groups(const torch::nn::Module& module) {
  std::set<std::string> names;
  std::set<int64_t> layers;
  for (const auto& parameter : module.named_parameters(/*recurse=*/true)) {
    for (const auto& group : groups_of(parameter.key())) {
      if (group.rfind("layers:", 0) == 0)
        layers.insert(std::stoll(group.substr(7)));
      else
        names.insert(group);
    }
  }
  std::vector<std::string> groups(names.begin(), names.end());
  if (!layers.empty()) groups.push_back("layers");
  for (const int64_t layer : layers) groups.push_back("layers:" + std::to_string(layer));
  return groups;
}

int64_t freeze_parameter_groups(torch::nn::Module& module, const std::vector<std::string>& groups) {
  const std::vector<std::string> valid = parameter_groups(module);
  for (const auto& group : groups)
    if (std::find(valid.begin(), valid.end(), group) == valid.end())
      throw Error("--freeze: unknown parameter group \"" + group + "\" for this model (valid: " + quoted_list(valid) +
                  ")");
  int64_t frozen = 0, total = 0;
  for (auto& parameter : module.named_parameters(/*recurse=*/true)) {
    ++total;
    const std::vector<std::string> of = groups_of(parameter.key());
    const bool in_layer = of.size() > 1;
    const bool chosen = std::any_of(groups.begin(), groups.end(), [&](const std::string& group) {
      return std::find(of.begin(), of.end(), group) != of.end() || (group == "layers" && in_layer);
    });
    if (!chosen) continue;
    parameter.value().set_requires_grad(false);
    ++frozen;
  }
  if (frozen == total)
    throw Error("--freeze " + quoted_list(groups) + " freezes every parameter of the model; nothing would train");
  return frozen;
}

}  // namespace cadenza::train
