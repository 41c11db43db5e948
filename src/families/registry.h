// The model family registry: one row per family (registry.cpp), and the lookups every command uses instead of
// switching on family names. A family is its own files (model, config, learner, sampler; docs/HOWTO-add-model.md) plus
// its row here.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "generate/sampler.h"
#include "models/checkpoint.h"
#include "models/family.h"
#include "train/evaluate.h"

namespace cadenza::families {

// Every registered family, in the order `--help` lists them.
const std::vector<models::Family>& all_families();
// A family by name or alias (what `--model` accepts); throws cadenza::Error listing the known names.
const models::Family& find_family(const std::string& name_or_alias);
// The names `train --model` accepts: each family's short name (an alias where it has one, "gan" for musegan).
std::vector<std::string> model_names();
// "rnn, lstm, ... or rgan"
std::string model_names_text();

// {"model": {...}, "train": {...}} of a preset for a family (by name or alias) on token or piano-roll data.
nlohmann::json preset_config(const std::string& preset, const std::string& family, bool frames);
// The model keys `--set` may change for a family, and those the data decides (never set by hand).
std::vector<std::string> model_keys(const models::Family& family);
std::vector<std::string> data_keys();

// A checkpoint file or run folder, read and checked against its family: an unknown family or a config its family
// rejects is a FormatError naming the file.
struct Checkpoint {
  models::CheckpointInfo info;
  const models::Family* family = nullptr;
};
Checkpoint read_checkpoint(const std::string& checkpoint_or_run);

// The sampler of a checkpoint (file or run folder) for generate / sample / interpolate / reconstruct / attribute.
std::unique_ptr<Sampler> open_sampler(const std::string& checkpoint_or_run);

// An autoregressive checkpoint with its model built (for tests, benchmarks and tools that need the model itself).
models::LoadedCheckpoint load_sequence_checkpoint(const std::string& checkpoint_or_run);
// A fresh autoregressive model for a config (its family's backbone).
std::shared_ptr<models::SequenceModelImpl> make_sequence_model(const models::ModelConfig& config);

// `cadenza evaluate`: the checkpoint's family evaluates it on the request's shard split.
train::EvaluationReport evaluate(const Checkpoint& checkpoint, train::EvaluationRequest request);

}  // namespace cadenza::families
