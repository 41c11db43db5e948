// What a model family is, as one row of the family registry (src/families/registry.cpp): its names, its kind, the
// data it trains on, what the reports say about it, and the entry points that its own files implement in each
// stage (config and presets, model, learner, evaluation, sampler). Train, generate, evaluate, compare and the
// reports look a family's capabilities up here instead of switching on its name; after the registry, only a
// family's own files name it. docs/HOWTO-add-model.md is the recipe.
//
// This header is libtorch-free: the entry points are declared with forward declarations of the types they use.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cadenza {
class Shard;
class Sampler;
namespace train {
class Learner;
struct TrainOptions;
struct EvaluationRequest;
struct EvaluationReport;
}  // namespace train
namespace models {
class SequenceModelImpl;
struct ModelConfig;
struct CheckpointInfo;
}  // namespace models
}  // namespace cadenza

namespace cadenza::models {

enum class FamilyKind {
  kAutoregressive,  // p(x) one element at a time (SequenceModelImpl): likelihood, primers, beam search
  kLatent,          // a latent variable decoded into a window of music (VAE, GANs): sample, interpolate, ...
};

// The shards a family can train on.
struct FamilyData {
  bool tokens = false;       // token shards (any encoding, unless melody_only)
  bool melody_only = false;  // token shards must use the melody encoding
  bool frames = false;       // piano-roll shards
  int min_tracks = 1;        // piano-roll shards need at least this many tracks
  std::string needs;         // what to tell a user whose shard does not fit: "a melody shard or a piano-roll shard"
};

struct Family {
  // ---- identity
  std::string name;                  // model_config["family"] in checkpoints, run configs and reports
  std::vector<std::string> aliases;  // other names `--model` accepts ("gan" for musegan)
  FamilyKind kind = FamilyKind::kAutoregressive;
  std::string summary;  // one line for `--help` and reports
  FamilyData data;

  // ---- what training and the reports say about it
  std::string validation_score;  // "nll" | "elbo": chooses checkpoints/best; "" = no score (final weights are best)
  std::string loss_description;  // the training loss in words, for reports ("GAN loss", ...)
  std::string speed_unit;        // training throughput unit in reports ("tokens/s", "frames/s", ...)
  bool has_bars = false;         // `train --bars N` sets its segment length (apply_bars)
  int64_t frames_default_bars = 0;  // --bars applied when none is given on a piano-roll shard (0: the preset's)

  // ---- entry points, each implemented in the family's own files
  // Throws cadenza::Error naming the key when a stored model config is not valid for this family.
  void (*check_model_config)(const nlohmann::json& model_config) = nullptr;
  // Every model key with its default (the keys `--set` knows and `--print-config` shows); no data-decided values.
  nlohmann::json (*default_model_config)() = nullptr;
  // {"model": {...}, "train": {...}} for preset tiny | small | base on token (frames = false) or piano-roll data.
  nlohmann::json (*preset)(const std::string& preset, bool frames) = nullptr;
  // `train --bars N` on `shard`: sets the segment length keys in config["model"]. Only when has_bars.
  void (*apply_bars)(nlohmann::json& config, int64_t bars, const Shard& shard) = nullptr;
  // The keys the data decides (vocabulary size, tracks, ...) filled in, every key validated (errors name the key).
  nlohmann::json (*resolve_model_config)(const Family& family, const nlohmann::json& model, const Shard& shard) =
      nullptr;
  // Autoregressive families: the model for a config (its own validation).
  std::shared_ptr<SequenceModelImpl> (*make_sequence_model)(const ModelConfig& config) = nullptr;
  // The learner (model, optimizers, data, one step, validation) with fresh weights.
  std::unique_ptr<train::Learner> (*make_learner)(const Family& family, const nlohmann::json& model_config,
                                                  const Shard& shard, const train::TrainOptions& options) = nullptr;
  // `cadenza evaluate`: held-out figures of a checkpoint on a shard split.
  train::EvaluationReport (*evaluate)(const Family& family, const train::EvaluationRequest& request) = nullptr;
  // The sampler of a checkpoint of this family (generate, continue, interpolate, ...).
  std::unique_ptr<Sampler> (*open_sampler)(const Family& family, const CheckpointInfo& checkpoint) = nullptr;

  bool autoregressive() const { return kind == FamilyKind::kAutoregressive; }
  // Whether the family can train on a shard of this kind (and says why not in `why`).
  bool fits(bool piano_roll, const std::string& encoding_name, int tracks, std::string* why) const;
};

}  // namespace cadenza::models
