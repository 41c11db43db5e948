// What a training run is: the model to build and how to train it. Stored in the run folder (config.json) and in
// every checkpoint's "training" metadata, so a run can be resumed and reproduced.
//
// A run's configuration is assembled in layers, each overriding the one before:
//   1. the preset (tiny | small | base) of the model family (its registry row) for the data's input kind;
//   2. --config FILE: a JSON object {"model": {...ModelConfig keys...}, "train": {...TrainOptions keys...}};
//   3. --set key=value, where key is a ModelConfig or TrainOptions key (e.g. hidden_size=512, learning_rate=3e-4),
//      optionally qualified as model.key / train.key; the value is parsed as JSON when it parses (numbers, true),
//      else taken as a string.
// Unknown keys and ill-typed values are errors naming the key. The data decides vocab_size and input_kind.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/options.h"

namespace cadenza::train {

struct TrainOptions {
  // Optimisation: AdamW with decoupled weight decay, linear warm-up then the schedule, global-norm clipping.
  double learning_rate = 1e-3;
  double min_learning_rate = 1e-5;  // the cosine schedule's floor
  std::string schedule = "cosine";  // cosine | inverse_sqrt | constant
  int64_t warmup_steps = 200;
  double weight_decay = 0.01;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double clip_norm = 1.0;  // 0 = no clipping
  // Data
  int64_t batch_size = 32;
  int64_t crop_length = 256;      // tokens / frames per training row (random crops of longer pieces)
  double start_crop_share = 0.0;  // token models: share of crops that start at the tune's beginning (data/batch.h)
  double end_crop_share = 0.0;    // token models: share of crops that end at the tune's end (data/batch.h)
  // Token models: those START / END crops draw every tune alike (not by length), and with a style power p > 0 a tune
  // of a style with n training tunes with weight n^-p, so that small styles' openings are learned (data/batch.h).
  bool edge_crops_by_tune = false;
  double edge_crop_style_power = 0.0;
  // Models with context_bars_left: share of training rows told no length ("unknown"), so that the model writes tunes
  // of no planned length too (and evaluation, which plans none, scores what it learned there).
  double bars_left_unknown_share = 0.5;
  // Token models that read lookbacks: share of training rows whose lookbacks (1, 2, 4 and 8 bars back) all read
  // "none", so that a chord- or style-conditioned model learns to lean on its conditions there (0 = never).
  double lookback_hidden_share = 0.0;
  // Chord-conditioned models: share of training rows whose chords all read "no chord", so that the model also writes
  // without chords (generate without --chords), from its style (0 = never).
  double chords_hidden_share = 0.0;
  // Token models with a tune header (melody structure): the loss weight of the END token's targets and of the
  // header's METER and KEY tokens (1 = as every token). Each is one token in hundreds; a weight w counts it as w.
  double end_loss_weight = 1.0;
  double header_loss_weight = 1.0;
  int64_t max_transpose = 0;  // augmentation: random transposition within +-semitones (0 = off)
  double min_stretch = 1.0;   // augmentation: time stretch range (token shards only; 1, 1 = off)
  double max_stretch = 1.0;
  // Length of the run: whichever comes first. time_budget_seconds = 0 means no time limit.
  int64_t steps = 2000;
  double time_budget_seconds = 0;
  // Validation and checkpoints
  int64_t eval_every = 200;        // steps between validation passes (also at the end)
  int64_t eval_window = 1024;      // pieces are scored in windows of at most this many tokens/frames
  int64_t max_eval_pieces = 0;     // validation uses at most this many pieces (0 = the whole split)
  int64_t checkpoint_every = 500;  // steps between "last" checkpoints (also at each validation and the end)
  int64_t patience = 0;            // stop after this many validations without improvement (0 = never)
  int64_t log_every = 20;          // steps between log lines / metric records
  uint64_t seed = 1;
  // Latent-variable families
  int64_t critic_steps = 5;        // musegan: critic updates per generator update (WGAN-GP)
  double gradient_penalty = 10.0;  // musegan: weight of the WGAN-GP gradient penalty
  int64_t eval_samples = 256;      // vae: validation windows; GANs: samples generated at each validation

  nlohmann::json to_json() const;
  // Every key optional; unknown keys, wrong types and values out of range throw cadenza::Error naming the key.
  static TrainOptions from_json(const nlohmann::json& json);
  void validate() const;  // the field ranges and the checks across fields (max_stretch >= min_stretch)
};

std::vector<std::string> preset_names();  // tiny, small, base
// Throws cadenza::Error naming the preset when it is not one of preset_names().
void check_preset_name(const std::string& preset);
const OptionFields<TrainOptions>& train_options_fields();

// Applies `overrides` ({"model": {...}, "train": {...}}) onto `config` key by key. Throws on unknown sections.
void merge_config(nlohmann::json& config, const nlohmann::json& overrides, const std::string& source);
// Applies one "key=value" (see the header comment). model_keys: the keys of the family's model config (from the
// family registry); data_keys: those the data decides, which cannot be set. Throws naming an unknown key.
void apply_setting(nlohmann::json& config, const std::string& setting, const std::vector<std::string>& model_keys,
                   const std::vector<std::string>& data_keys);

// The fine-tuning preset (`train --init-from`), applied to a preset's "train" section before --config and --set:
// a tenth of its learning_rate and min_learning_rate, and a quarter of its warmup_steps.
void apply_fine_tune_preset(nlohmann::json& train);
inline constexpr double kFineTuneLearningRateFactor = 0.1;
inline constexpr int64_t kFineTuneWarmupDivisor = 4;

// "embedding,layers:0" -> {"embedding", "layers:0"} (spaces around names ignored); an empty name throws
// cadenza::Error quoting the text.
std::vector<std::string> parse_group_list(const std::string& text);

}  // namespace cadenza::train
