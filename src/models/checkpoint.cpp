// Checkpoint save/load: see checkpoint.h and docs/checkpoint-format.md.
#include "models/checkpoint.h"

#include <filesystem>
#include <map>
#include <unordered_map>

#include "common/error.h"
#include "common/safetensors.h"
#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "models/tensor_io.h"

namespace cadenza::models {
namespace {

constexpr const char* kExpAvg = ".exp_avg";
constexpr const char* kExpAvgSq = ".exp_avg_sq";
constexpr const char* kMaxExpAvgSq = ".max_exp_avg_sq";
constexpr const char* kStep = ".step";

const std::string& required_entry(const safetensors::TensorFile& file, const std::string& path,
                                  const std::string& key) {
  auto it = file.metadata.find(key);
  if (it == file.metadata.end()) {
    throw FormatError(path, -1, "checkpoint metadata has no \"" + key + "\" entry");
  }
  return it->second;
}

nlohmann::json parse_json_entry(const safetensors::TensorFile& file, const std::string& path, const std::string& key) {
  const std::string& text = required_entry(file, path, key);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, -1, "checkpoint metadata \"" + key + "\" is not valid JSON: " + e.what());
  }
}

int parse_format_version(const std::string& text, const std::string& path) {
  int version = 0;
  size_t used = 0;
  try {
    version = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || version < 1) {
    throw FormatError(path, -1, "checkpoint \"format_version\" must be a positive integer, got \"" + text + "\"");
  }
  if (version > kCheckpointFormatVersion) {
    throw FormatError(path, -1,
                      "checkpoint format_version " + text + " is newer than this build of cadenza supports (up to " +
                          std::to_string(kCheckpointFormatVersion) + "); upgrade cadenza to read it");
  }
  return version;
}

// The encoding spec must rebuild the saved vocabulary: a piano-roll spec with no vocabulary, or a token encoding
// whose tokens are exactly the saved ones, in order. (How wide the model's input is, is the family's check:
// check_input_width.)
void check_encoding(const CheckpointInfo& info, const std::string& path) {
  if (!info.encoding.is_object() || !info.encoding.contains("name") || !info.encoding["name"].is_string()) {
    throw FormatError(path, -1, "checkpoint \"encoding\" must be a JSON object with a string \"name\"");
  }
  const std::string name = info.encoding["name"].get<std::string>();
  if (name == "pianoroll") {
    try {
      PianoRollSpec::from_json(info.encoding);
    } catch (const Error& e) {
      throw FormatError(path, -1, std::string("checkpoint \"encoding\" is not a valid piano-roll spec: ") + e.what());
    }
    if (!info.vocabulary.empty()) {
      throw FormatError(path, -1, "a piano-roll checkpoint must have an empty \"vocabulary\"");
    }
    return;
  }
  std::unique_ptr<TokenEncoding> encoding;
  try {
    encoding = make_token_encoding(info.encoding);
  } catch (const Error& e) {
    throw FormatError(path, -1, std::string("checkpoint \"encoding\" spec is rejected: ") + e.what());
  }
  const std::vector<std::string>& expected = encoding->vocabulary().names();
  if (expected != info.vocabulary) {
    std::string detail = "it has " + std::to_string(info.vocabulary.size()) + " tokens, the encoding builds " +
                         std::to_string(expected.size()) + " (a model's vocab_size must be the encoding's)";
    for (size_t i = 0; i < std::min(expected.size(), info.vocabulary.size()); ++i) {
      if (expected[i] != info.vocabulary[i]) {
        detail = "token " + std::to_string(i) + " is \"" + info.vocabulary[i] + "\" in the file but \"" + expected[i] +
                 "\" in the encoding";
        break;
      }
    }
    throw FormatError(path, -1, "checkpoint \"vocabulary\" does not match the encoding \"" + name + "\": " + detail);
  }
}

std::string family_name_of(const nlohmann::json& model_config) {
  if (!model_config.is_object() || !model_config.contains("family") || !model_config["family"].is_string() ||
      model_config["family"].get<std::string>().empty())
    throw Error("model config has no string \"family\"");
  return model_config["family"].get<std::string>();
}

CheckpointInfo info_from_file(const safetensors::TensorFile& file, const std::string& path) {
  auto format = file.metadata.find("cadenza_format");
  if (format == file.metadata.end()) {
    throw FormatError(path, -1, "not a cadenza checkpoint (safetensors metadata has no \"cadenza_format\" entry)");
  }
  if (format->second != kCheckpointFormat) {
    throw FormatError(path, -1,
                      "not a cadenza checkpoint (\"cadenza_format\" is \"" + format->second + "\", expected \"" +
                          kCheckpointFormat + "\")");
  }
  CheckpointInfo info;
  info.path = path;
  info.format_version = parse_format_version(required_entry(file, path, "format_version"), path);
  info.model_config_json = parse_json_entry(file, path, "model_config");
  try {
    info.family_name = family_name_of(info.model_config_json);
  } catch (const Error& e) {
    throw FormatError(path, -1, std::string("checkpoint \"model_config\" is invalid: ") + e.what());
  }
  info.encoding = parse_json_entry(file, path, "encoding");
  nlohmann::json vocabulary = parse_json_entry(file, path, "vocabulary");
  if (!vocabulary.is_array()) {
    throw FormatError(path, -1, "checkpoint \"vocabulary\" must be a JSON array of token names");
  }
  for (const auto& token : vocabulary) {
    if (!token.is_string()) {
      throw FormatError(path, -1, "checkpoint \"vocabulary\" must hold only strings, found " + token.dump());
    }
    info.vocabulary.push_back(token.get<std::string>());
  }
  info.training = parse_json_entry(file, path, "training");
  if (!info.training.is_object()) {
    throw FormatError(path, -1, "checkpoint \"training\" must be a JSON object");
  }
  auto created_by = file.metadata.find("created_by");
  if (created_by != file.metadata.end()) info.created_by = created_by->second;
  for (const auto& [name, tensor] : file.tensors) {
    if (name.rfind(kOptimizerPrefix, 0) == 0) {
      info.has_optimizer_state = true;
      break;
    }
  }
  check_encoding(info, path);
  return info;
}

safetensors::TensorFile read_checkpoint_file(const std::string& path) {
  return safetensors::read(path);
}

// libtorch keys an optimizer's per-parameter state by the printed address of the parameter's TensorImpl.
std::string optimizer_state_key(const torch::Tensor& parameter) {
  return c10::guts::to_string(parameter.unsafeGetTensorImpl());
}

// Parameter name for each parameter of the model, by optimizer state key.
std::unordered_map<std::string, std::string> parameter_names(const torch::nn::Module& module) {
  std::unordered_map<std::string, std::string> names;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    names[optimizer_state_key(item.value())] = item.key();
  }
  return names;
}

}  // namespace

void check_input_width(const CheckpointInfo& info, InputKind kind, int64_t width) {
  const std::string name = info.encoding.value("name", "");
  if (kind == InputKind::kFrames) {
    if (name != "pianoroll")
      throw FormatError(info.path, -1, "a frame model needs a piano-roll encoding, not \"" + name + "\"");
    const PianoRollSpec spec = PianoRollSpec::from_json(info.encoding);
    const int64_t keys = static_cast<int64_t>(spec.num_pitches()) * spec.num_tracks;
    if (keys != width)
      throw FormatError(info.path, -1,
                        "the model reads frames of " + std::to_string(width) + " keys but the piano-roll encoding has " +
                            std::to_string(keys) + " (" + std::to_string(spec.num_tracks) + " tracks x " +
                            std::to_string(spec.num_pitches()) + " pitches)");
    return;
  }
  if (name == "pianoroll") throw FormatError(info.path, -1, "a token model cannot have a piano-roll encoding");
  if (static_cast<int64_t>(info.vocabulary.size()) != width)
    throw FormatError(info.path, -1,
                      "checkpoint \"vocabulary\" has " + std::to_string(info.vocabulary.size()) +
                          " tokens but the model's vocab_size is " + std::to_string(width));
}

void save_model_checkpoint(const std::string& path, const torch::nn::Module& module, const nlohmann::json& model_config,
                           const nlohmann::json& encoding_spec, const std::vector<std::string>& vocabulary,
                           const nlohmann::json& training, const std::vector<const torch::optim::AdamW*>& optimizers) {
  if (!training.is_object()) {
    throw Error("save_checkpoint " + path + ": \"training\" must be a JSON object, got " + training.dump());
  }
  CheckpointInfo info;
  info.model_config_json = model_config;
  info.encoding = encoding_spec;
  info.vocabulary = vocabulary;
  info.training = training;
  try {
    info.family_name = family_name_of(model_config);
    check_encoding(info, path);  // never write a checkpoint that read_checkpoint_info would reject
  } catch (const FormatError& e) {
    throw Error("save_checkpoint " + path + ": " + e.problem());
  }

  safetensors::TensorFile file;
  file.tensors = module_tensors(module);
  const auto names = parameter_names(module);
  for (const torch::optim::AdamW* optimizer : optimizers) {
    for (const auto& [key, state] : optimizer->state()) {
      auto name = names.find(key);
      if (name == names.end()) {
        throw Error("save_checkpoint " + path +
                    ": the optimizer holds state for a tensor that is not a parameter "
                    "of the model");
      }
      const auto& adam = static_cast<const torch::optim::AdamWParamState&>(*state);
      const std::string prefix = std::string(kOptimizerPrefix) + name->second;
      if (file.tensors.count(prefix + kExpAvg))
        throw Error("save_checkpoint " + path + ": two optimizers hold state for \"" + name->second + "\"");
      file.tensors[prefix + kExpAvg] = to_safetensors(adam.exp_avg());
      file.tensors[prefix + kExpAvgSq] = to_safetensors(adam.exp_avg_sq());
      if (adam.max_exp_avg_sq().defined()) {
        file.tensors[prefix + kMaxExpAvgSq] = to_safetensors(adam.max_exp_avg_sq());
      }
      const int64_t step = adam.step();
      file.tensors[prefix + kStep] = safetensors::Tensor::from_i64({}, std::span<const int64_t>(&step, 1));
    }
  }
  file.metadata["cadenza_format"] = kCheckpointFormat;
  file.metadata["format_version"] = std::to_string(kCheckpointFormatVersion);
  file.metadata["model_config"] = model_config.dump();
  file.metadata["encoding"] = encoding_spec.dump();
  file.metadata["vocabulary"] = nlohmann::json(vocabulary).dump();
  file.metadata["training"] = training.dump();
  file.metadata["created_by"] = kCheckpointCreatedBy;
  safetensors::write(path, file);
}

void save_checkpoint(const std::string& path, const SequenceModelImpl& model, const nlohmann::json& encoding_spec,
                     const std::vector<std::string>& vocabulary, const nlohmann::json& training,
                     const torch::optim::AdamW* optimizer) {
  std::vector<const torch::optim::AdamW*> optimizers;
  if (optimizer != nullptr) optimizers.push_back(optimizer);
  save_model_checkpoint(path, model, model.config().to_json(), encoding_spec, vocabulary, training, optimizers);
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  return info_from_file(read_checkpoint_file(path), path);
}

LoadedCheckpoint load_checkpoint(const std::string& path, SequenceModelFactory make_model, torch::Device device) {
  const safetensors::TensorFile file = read_checkpoint_file(path);
  LoadedCheckpoint loaded;
  loaded.info = info_from_file(file, path);
  try {
    loaded.model_config = ModelConfig::from_json(loaded.info.model_config_json);
  } catch (const Error& e) {
    throw FormatError(path, -1, std::string("checkpoint \"model_config\" is invalid: ") + e.what());
  }
  try {
    check_input_width(loaded.info, loaded.model_config.input_kind, loaded.model_config.vocab_size);
    loaded.model = make_model(loaded.model_config);
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(path, -1, std::string("cannot build the model of the checkpoint: ") + e.what());
  }
  // Optimizer tensors live under their own prefix; every other tensor must be a model weight (strict).
  safetensors::TensorFile weights;
  for (const auto& [name, tensor] : file.tensors) {
    if (name.rfind(kOptimizerPrefix, 0) != 0) weights.tensors.emplace(name, tensor);
  }
  load_module_tensors(*loaded.model, weights, path);
  loaded.model->to(device);
  loaded.model->eval();
  return loaded;
}

void load_checkpoint_weights(const std::string& path, torch::nn::Module& module) {
  const safetensors::TensorFile file = read_checkpoint_file(path);
  info_from_file(file, path);
  safetensors::TensorFile weights;
  for (const auto& [name, tensor] : file.tensors) {
    if (name.rfind(kOptimizerPrefix, 0) != 0) weights.tensors.emplace(name, tensor);
  }
  load_module_tensors(module, weights, path);
}

void restore_optimizer_state(const std::string& path, torch::optim::AdamW& optimizer, torch::nn::Module& model) {
  const safetensors::TensorFile file = read_checkpoint_file(path);
  info_from_file(file, path);  // validates that it is a checkpoint at all
  const auto names = parameter_names(model);
  // Build every state first, install afterwards: all or nothing.
  std::vector<std::pair<std::string, std::unique_ptr<torch::optim::AdamWParamState>>> states;
  bool any = false;
  for (const auto& group : optimizer.param_groups()) {
    for (const auto& parameter : group.params()) {
      auto name = names.find(optimizer_state_key(parameter));
      if (name == names.end()) {
        throw Error("restore_optimizer_state " + path + ": the optimizer has a parameter that is not in the model");
      }
      const std::string prefix = std::string(kOptimizerPrefix) + name->second;
      auto exp_avg = file.tensors.find(prefix + kExpAvg);
      auto exp_avg_sq = file.tensors.find(prefix + kExpAvgSq);
      auto step = file.tensors.find(prefix + kStep);
      const bool has_any =
          exp_avg != file.tensors.end() || exp_avg_sq != file.tensors.end() || step != file.tensors.end();
      if (!has_any) continue;  // a parameter that had no gradient yet has no state, as in PyTorch
      if (exp_avg == file.tensors.end() || exp_avg_sq == file.tensors.end() || step == file.tensors.end()) {
        throw FormatError(path, -1, "optimizer state of \"" + name->second + "\" is incomplete");
      }
      auto to_parameter = [&](const safetensors::Tensor& tensor, const char* what) {
        torch::Tensor value = to_torch(tensor);
        if (value.sizes() != parameter.sizes() || value.scalar_type() != parameter.scalar_type()) {
          throw FormatError(path, -1,
                            "optimizer state \"" + prefix + what + "\" has shape " + c10::str(value.sizes()) +
                                " but the parameter has " + c10::str(parameter.sizes()));
        }
        return value.to(parameter.device());
      };
      if (step->second.dtype != safetensors::DType::kI64 || step->second.element_count() != 1) {
        throw FormatError(path, -1, "optimizer state \"" + prefix + kStep + "\" must be one I64");
      }
      auto state = std::make_unique<torch::optim::AdamWParamState>();
      state->step(step->second.to_i64()[0]);
      state->exp_avg(to_parameter(exp_avg->second, kExpAvg));
      state->exp_avg_sq(to_parameter(exp_avg_sq->second, kExpAvgSq));
      auto max_sq = file.tensors.find(prefix + kMaxExpAvgSq);
      if (max_sq != file.tensors.end()) state->max_exp_avg_sq(to_parameter(max_sq->second, kMaxExpAvgSq));
      states.emplace_back(optimizer_state_key(parameter), std::move(state));
      any = true;
    }
  }
  if (!any) {
    throw FormatError(path, -1, "checkpoint has no optimizer state for the model's parameters (saved without one?)");
  }
  auto& target = optimizer.state();
  target.clear();
  for (auto& [key, state] : states) target[key] = std::move(state);
}

std::string resolve_checkpoint_path(const std::string& file_or_run_dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path path(file_or_run_dir);
  if (fs::is_regular_file(path, error)) return file_or_run_dir;
  if (!fs::is_directory(path, error)) {
    throw Error(file_or_run_dir + ": no such checkpoint file or run folder");
  }
  for (const char* name : {"best.safetensors", "last.safetensors"}) {
    const fs::path candidate = path / "checkpoints" / name;
    if (fs::is_regular_file(candidate, error)) return candidate.string();
  }
  throw Error(file_or_run_dir + ": run folder has no checkpoints/best.safetensors or checkpoints/last.safetensors");
}

}  // namespace cadenza::models
