// The self-contained checkpoint: ONE safetensors file holding a model, how to rebuild it, and how it was trained.
//
// Layout (docs/checkpoint-format.md has the full description):
//   tensors      the model's parameters and buffers under their PyTorch names (module_tensors, tensor_io.h);
//                optionally AdamW state under "optimizer.NAME.exp_avg", "optimizer.NAME.exp_avg_sq",
//                "optimizer.NAME.step" (NAME = the parameter's name), so that training resumes exactly;
//   __metadata__ "cadenza_format" = "cadenza-checkpoint", "format_version" = "1", "model_config" (ModelConfig JSON),
//                "encoding" (spec JSON: a token encoding's spec(), or {"name": "pianoroll", ...}),
//                "vocabulary" (JSON array of token names; [] for piano-roll models), "training" (JSON object),
//                "created_by" = "cadenza 0.1.0".
//
// Usage:
//   save_checkpoint(path, *model, encoding->spec(), encoding->vocabulary().names(), {{"step", 100}}, &optimizer);
//   CheckpointInfo info = read_checkpoint_info(path);          // metadata only, no weights
//   LoadedCheckpoint loaded = load_checkpoint(path);           // model rebuilt and weights loaded strictly
//   restore_optimizer_state(path, optimizer, *model);          // for --resume
//
// Every error names the file: cadenza::IoError when it cannot be read, cadenza::FormatError otherwise.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/sequence_model.h"

namespace cadenza::models {

inline constexpr const char* kCheckpointFormat = "cadenza-checkpoint";
inline constexpr int kCheckpointFormatVersion = 1;
inline constexpr const char* kCheckpointCreatedBy = "cadenza 0.1.0";
// Tensor-name prefix of the optimizer state.
inline constexpr const char* kOptimizerPrefix = "optimizer.";

// What a checkpoint holds besides its weights. Which family it is, and whether its config is valid for that family, is
// the family registry's business (src/families/registry.h: read_checkpoint), not this file's: here the family is
// only a name.
struct CheckpointInfo {
  std::string family_name;              // model_config["family"] (a non-empty string)
  nlohmann::json model_config_json;     // as stored; validated by the family's from_json
  nlohmann::json encoding;              // the spec; {"name": "pianoroll", ...} for frame models
  std::vector<std::string> vocabulary;  // token names; empty for piano-roll models
  nlohmann::json training;              // whatever the caller saved (an object)
  int format_version = kCheckpointFormatVersion;
  std::string created_by;
  bool has_optimizer_state = false;
  std::string path;
};

// Writes the checkpoint atomically (safetensors::write -> write_file_atomic). `training` must be a JSON object;
// `vocabulary` must have model.config().vocab_size names for a token model and be empty for a frame model.
// Throws cadenza::Error on inconsistent arguments (before writing anything), IoError when writing fails.
void save_checkpoint(const std::string& path, const SequenceModelImpl& model, const nlohmann::json& encoding_spec,
                     const std::vector<std::string>& vocabulary, const nlohmann::json& training,
                     const torch::optim::AdamW* optimizer = nullptr);

// Reads and validates the metadata (format, version, a model config naming a family, an encoding spec that rebuilds
// the saved vocabulary). The whole file is parsed as safetensors, so truncation is detected, but no model is built
// and the config is not checked against its family (src/families/registry.h read_checkpoint does that).
CheckpointInfo read_checkpoint_info(const std::string& path);

// The family's part of the consistency check: the model's input is `kind` with `width` elements per step, which
// must be the size of the saved vocabulary (tokens) or tracks x pitches of the piano-roll spec (frames). Throws
// FormatError naming the file and both numbers.
void check_input_width(const CheckpointInfo& info, InputKind kind, int64_t width);

struct LoadedCheckpoint {
  CheckpointInfo info;
  ModelConfig model_config;
  std::shared_ptr<SequenceModelImpl> model;  // on `device`, in eval() mode
};
using SequenceModelFactory = std::shared_ptr<SequenceModelImpl> (*)(const ModelConfig& config);

// Any family: writes `module`'s tensors, the family's config JSON (with "family"), the encoding spec, vocabulary and
// training metadata, and the AdamW state of each optimizer (their parameter sets must be disjoint parameters of
// `module`, e.g. a GAN's generator and critic optimizers). The same checks as save_checkpoint.
void save_model_checkpoint(const std::string& path, const torch::nn::Module& module, const nlohmann::json& model_config,
                           const nlohmann::json& encoding_spec, const std::vector<std::string>& vocabulary,
                           const nlohmann::json& training, const std::vector<const torch::optim::AdamW*>& optimizers);

// Loads the checkpoint's weights into `module` (built from info.model_config_json by the caller) strictly: missing,
// extra or mis-shaped tensors throw FormatError naming the file. Optimizer tensors are ignored.
void load_checkpoint_weights(const std::string& path, torch::nn::Module& module);

// An autoregressive checkpoint: read_checkpoint_info + ModelConfig::from_json + make_model + strict weight load
// (missing, extra or mis-shaped tensors throw FormatError naming the file). The registry's load_sequence_checkpoint
// (src/families/registry.h) picks make_model from the stored family.
LoadedCheckpoint load_checkpoint(const std::string& path, SequenceModelFactory make_model,
                                 torch::Device device = torch::kCPU);

// Puts the AdamW state saved with the checkpoint into `optimizer`, whose parameters must be those of `model`
// (the optimizer was built over model.parameters()). Throws FormatError when the file has no optimizer state or
// a parameter's state is missing or mis-shaped. Hyper-parameters (lr, betas, ...) are not stored: they come from
// the optimizer as constructed.
void restore_optimizer_state(const std::string& path, torch::optim::AdamW& optimizer, torch::nn::Module& model);

// A checkpoint file as is; a run folder: RUN/checkpoints/best.safetensors if present, else
// RUN/checkpoints/last.safetensors. Throws cadenza::Error when neither exists (or the path does not exist).
std::string resolve_checkpoint_path(const std::string& file_or_run_dir);

}  // namespace cadenza::models
