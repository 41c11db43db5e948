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

struct CheckpointInfo {
  ModelConfig model_config;
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

// Reads and validates the metadata (format, version, model config, encoding spec, vocabulary consistency). The
// whole file is parsed as safetensors, so truncation is detected, but no model is built.
CheckpointInfo read_checkpoint_info(const std::string& path);

struct LoadedCheckpoint {
  CheckpointInfo info;
  std::shared_ptr<SequenceModelImpl> model;  // on `device`, in eval() mode
};

// read_checkpoint_info + make_sequence_model + strict weight load (missing, extra or mis-shaped tensors throw
// FormatError naming the file).
LoadedCheckpoint load_checkpoint(const std::string& path, torch::Device device = torch::kCPU);

// Puts the AdamW state saved with the checkpoint into `optimizer`, whose parameters must be those of `model`
// (the optimizer was built over model.parameters()). Throws FormatError when the file has no optimizer state or
// a parameter's state is missing or mis-shaped. Hyper-parameters (lr, betas, ...) are not stored: they come from
// the optimizer as constructed.
void restore_optimizer_state(const std::string& path, torch::optim::AdamW& optimizer, SequenceModelImpl& model);

// A checkpoint file as is; a run folder: RUN/checkpoints/best.safetensors if present, else
// RUN/checkpoints/last.safetensors. Throws cadenza::Error when neither exists (or the path does not exist).
std::string resolve_checkpoint_path(const std::string& file_or_run_dir);

}  // namespace cadenza::models
