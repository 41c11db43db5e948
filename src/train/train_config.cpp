#include "train/train_config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"
#include "models/crnngan.h"
#include "models/musegan.h"
#include "models/sequence_model.h"
#include "models/vae.h"

namespace cadenza::train {
namespace {

using nlohmann::json;

void fail(const std::string& problem) {
  throw Error("training config: " + problem);
}

}  // namespace

json TrainOptions::to_json() const {
  return {{"learning_rate", learning_rate},
          {"min_learning_rate", min_learning_rate},
          {"schedule", schedule},
          {"warmup_steps", warmup_steps},
          {"weight_decay", weight_decay},
          {"beta1", beta1},
          {"beta2", beta2},
          {"clip_norm", clip_norm},
          {"batch_size", batch_size},
          {"crop_length", crop_length},
          {"max_transpose", max_transpose},
          {"min_stretch", min_stretch},
          {"max_stretch", max_stretch},
          {"steps", steps},
          {"time_budget_seconds", time_budget_seconds},
          {"eval_every", eval_every},
          {"eval_window", eval_window},
          {"max_eval_pieces", max_eval_pieces},
          {"checkpoint_every", checkpoint_every},
          {"patience", patience},
          {"log_every", log_every},
          {"seed", seed},
          {"critic_steps", critic_steps},
          {"gradient_penalty", gradient_penalty},
          {"eval_samples", eval_samples}};
}

TrainOptions TrainOptions::from_json(const json& object) {
  if (!object.is_object()) fail("\"train\" must be a JSON object");
  TrainOptions options;
  std::set<std::string> known;
  auto read_number = [&](const char* key, double& field) {
    known.insert(key);
    if (!object.contains(key)) return;
    if (!object[key].is_number()) fail(std::string("\"") + key + "\" must be a number");
    field = object[key].get<double>();
  };
  auto read_int = [&](const char* key, int64_t& field) {
    known.insert(key);
    if (!object.contains(key)) return;
    const auto& value = object[key];
    // 1e3 style integers written as floats are accepted when they are whole numbers.
    if (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>()) {
      field = static_cast<int64_t>(value.get<double>());
      return;
    }
    if (!value.is_number_integer()) fail(std::string("\"") + key + "\" must be an integer");
    field = value.get<int64_t>();
  };
  read_number("learning_rate", options.learning_rate);
  read_number("min_learning_rate", options.min_learning_rate);
  known.insert("schedule");
  if (object.contains("schedule")) {
    if (!object["schedule"].is_string()) fail("\"schedule\" must be a string");
    options.schedule = object["schedule"].get<std::string>();
  }
  read_int("warmup_steps", options.warmup_steps);
  read_number("weight_decay", options.weight_decay);
  read_number("beta1", options.beta1);
  read_number("beta2", options.beta2);
  read_number("clip_norm", options.clip_norm);
  read_int("batch_size", options.batch_size);
  read_int("crop_length", options.crop_length);
  read_int("max_transpose", options.max_transpose);
  read_number("min_stretch", options.min_stretch);
  read_number("max_stretch", options.max_stretch);
  read_int("steps", options.steps);
  read_number("time_budget_seconds", options.time_budget_seconds);
  read_int("eval_every", options.eval_every);
  read_int("eval_window", options.eval_window);
  read_int("max_eval_pieces", options.max_eval_pieces);
  read_int("checkpoint_every", options.checkpoint_every);
  read_int("patience", options.patience);
  read_int("log_every", options.log_every);
  int64_t seed = static_cast<int64_t>(options.seed);
  read_int("seed", seed);
  if (seed < 0) fail("\"seed\" must be >= 0");
  options.seed = static_cast<uint64_t>(seed);
  read_int("critic_steps", options.critic_steps);
  read_number("gradient_penalty", options.gradient_penalty);
  read_int("eval_samples", options.eval_samples);
  for (const auto& [key, unused] : object.items())
    if (!known.count(key)) fail("unknown key \"" + key + "\" in \"train\"");
  options.validate();
  return options;
}

void TrainOptions::validate() const {
  auto positive = [](const char* key, double value) {
    if (!(value > 0) || !std::isfinite(value)) fail(std::string("\"") + key + "\" must be positive");
  };
  auto non_negative = [](const char* key, double value) {
    if (!(value >= 0) || !std::isfinite(value)) fail(std::string("\"") + key + "\" must be >= 0");
  };
  positive("learning_rate", learning_rate);
  non_negative("min_learning_rate", min_learning_rate);
  if (schedule != "cosine" && schedule != "inverse_sqrt" && schedule != "constant")
    fail("\"schedule\" must be cosine, inverse_sqrt or constant, got \"" + schedule + "\"");
  non_negative("warmup_steps", static_cast<double>(warmup_steps));
  non_negative("weight_decay", weight_decay);
  if (!(beta1 >= 0 && beta1 < 1)) fail("\"beta1\" must be in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) fail("\"beta2\" must be in [0, 1)");
  non_negative("clip_norm", clip_norm);
  positive("batch_size", static_cast<double>(batch_size));
  if (crop_length < 2) fail("\"crop_length\" must be >= 2 (one input and one target)");
  if (max_transpose < 0 || max_transpose > 24) fail("\"max_transpose\" must be in [0, 24]");
  positive("min_stretch", min_stretch);
  if (max_stretch < min_stretch) fail("\"max_stretch\" must be >= \"min_stretch\"");
  positive("steps", static_cast<double>(steps));
  non_negative("time_budget_seconds", time_budget_seconds);
  positive("eval_every", static_cast<double>(eval_every));
  if (eval_window < 2) fail("\"eval_window\" must be >= 2");
  non_negative("max_eval_pieces", static_cast<double>(max_eval_pieces));
  positive("checkpoint_every", static_cast<double>(checkpoint_every));
  non_negative("patience", static_cast<double>(patience));
  positive("log_every", static_cast<double>(log_every));
  positive("critic_steps", static_cast<double>(critic_steps));
  non_negative("gradient_penalty", gradient_penalty);
  positive("eval_samples", static_cast<double>(eval_samples));
}

std::vector<std::string> preset_names() {
  return {"tiny", "small", "base"};
}

std::vector<std::string> model_names() {
  return {"rnn", "lstm", "gru", "transformer", "vae", "gan", "rgan"};
}

std::string family_of_model_name(const std::string& name) {
  if (name == "gan" || name == "musegan") return "musegan";
  if (name == "rgan" || name == "crnngan") return "crnngan";
  if (name == "rnn" || name == "lstm" || name == "gru" || name == "transformer" || name == "vae") return name;
  throw Error("unknown model \"" + name + "\" (expected rnn, lstm, gru, transformer, vae, gan or rgan)");
}

namespace {

// MusicVAE on 2-bar melodies (flat decoder) by default; `cadenza train --bars 16` makes it the hierarchical one.
// Sizes are MusicVAE's "small" models scaled to a CPU: MusicVAE's cat-mel_2bar_small has a 512-wide encoder, a
// 2 x 256 decoder and z = 256. beta_rate 0.999 (MusicVAE: 0.99999 over 50k+ steps) lets beta reach 95% of its
// maximum within the 3,000 steps a CPU run affords. Free bits: 48 for 2 bars (MusicVAE's 2-bar models used 0-48);
// the hierarchical decoder gets 16 bits per bar (`cadenza train --bars`; MusicVAE's 16-bar models: 256).
//
// On a piano-roll shard (frames) the input layer maps a whole multi-track frame (tracks x pitches keys, several on at
// once) rather than picking one token's row, so it gets twice the width.
json vae_preset(const std::string& preset, bool frames) {
  json model = {{"family", "vae"}, {"decoder", "flat"}, {"sequence_length", 32}, {"num_segments", 2}};
  json train = {{"schedule", "constant"}, {"weight_decay", 0.0}, {"warmup_steps", 0}};
  if (preset == "tiny") {
    model.update({{"embedding_size", 16},
                  {"encoder_hidden", 64},
                  {"latent_size", 16},
                  {"decoder_hidden", 64},
                  {"decoder_layers", 1},
                  {"conductor_hidden", 64},
                  {"conductor_layers", 1},
                  {"free_bits", 0.0},
                  {"max_beta", 0.2},
                  {"beta_rate", 0.99}});
    train.update({{"batch_size", 16},
                  {"steps", 100},
                  {"eval_every", 50},
                  {"checkpoint_every", 50},
                  {"log_every", 10},
                  {"eval_samples", 64},
                  {"learning_rate", 3e-3}});
  } else if (preset == "small") {
    // Sized to bundle (under 4 MB as float32: 0.94M parameters for 2 bars).
    model.update({{"embedding_size", 32},
                  {"encoder_hidden", 192},
                  {"latent_size", 128},
                  {"decoder_hidden", 160},
                  {"decoder_layers", 2},
                  {"conductor_hidden", 160},
                  {"conductor_layers", 1},
                  {"free_bits", 48.0},
                  {"max_beta", 0.2},
                  {"beta_rate", 0.999}});
    train.update({{"batch_size", 64},
                  {"steps", 3000},
                  {"eval_every", 250},
                  {"checkpoint_every", 250},
                  {"learning_rate", 1e-3},
                  {"eval_samples", 512}});
  } else {
    model.update({{"embedding_size", 64},
                  {"encoder_hidden", 512},
                  {"latent_size", 256},
                  {"decoder_hidden", 512},
                  {"decoder_layers", 2},
                  {"conductor_hidden", 512},
                  {"conductor_layers", 2},
                  {"free_bits", 48.0},
                  {"max_beta", 0.2},
                  {"beta_rate", 0.9999}});
    train.update({{"batch_size", 128},
                  {"steps", 50000},
                  {"eval_every", 1000},
                  {"checkpoint_every", 1000},
                  {"learning_rate", 1e-3},
                  {"eval_samples", 1024}});
  }
  if (frames) model["embedding_size"] = 2 * model["embedding_size"].get<int64_t>();
  return {{"model", model}, {"train", train}};
}

// MuseGAN's training recipe (WGAN-GP: penalty 10, 5 critic steps per generator step, Adam lr 1e-3, betas (0.5,
// 0.9), no weight decay, constant rate) on 4-bar windows.
json musegan_preset(const std::string& preset) {
  json model = {{"family", "musegan"}, {"num_bars", 4}};
  json train = {{"learning_rate", 1e-3}, {"beta1", 0.5},           {"beta2", 0.9},
                {"weight_decay", 0.0},   {"schedule", "constant"}, {"warmup_steps", 0},
                {"clip_norm", 0.0},      {"critic_steps", 5},      {"gradient_penalty", 10.0}};
  if (preset == "tiny") {
    model.update({{"shared_latent", 8},
                  {"shared_temporal_latent", 8},
                  {"track_latent", 8},
                  {"track_temporal_latent", 8},
                  {"temporal_hidden", 32},
                  {"generator_channels", {32, 16, 8}},
                  {"critic_channels", {8, 16, 32}}});
    train.update({{"batch_size", 8},
                  {"steps", 40},
                  {"eval_every", 20},
                  {"checkpoint_every", 20},
                  {"log_every", 10},
                  {"eval_samples", 16}});
  } else if (preset == "small") {
    model.update({{"generator_channels", {128, 64, 32}}, {"critic_channels", {32, 64, 128}}});
    train.update(
        {{"batch_size", 16}, {"steps", 3000}, {"eval_every", 250}, {"checkpoint_every", 250}, {"eval_samples", 64}});
  } else {
    model.update({{"shared_latent", 64},
                  {"shared_temporal_latent", 64},
                  {"track_latent", 64},
                  {"track_temporal_latent", 64},
                  {"temporal_hidden", 256},
                  {"generator_channels", {256, 128, 64}},
                  {"critic_channels", {64, 128, 256}}});
    train.update({{"batch_size", 64},
                  {"steps", 20000},
                  {"eval_every", 1000},
                  {"checkpoint_every", 1000},
                  {"eval_samples", 128}});
  }
  return {{"model", model}, {"train", train}};
}

// C-RNN-GAN (Mogren 2016: 2 LSTM layers of 350, sequences of note events) scaled to a CPU; Adam with the usual GAN
// betas and gradient clipping (C-RNN-GAN clipped at 5).
json crnngan_preset(const std::string& preset) {
  json model = {{"family", "crnngan"}};
  json train = {{"learning_rate", 2e-4},  {"beta1", 0.5},      {"beta2", 0.999},  {"weight_decay", 0.0},
                {"schedule", "constant"}, {"warmup_steps", 0}, {"clip_norm", 5.0}};
  if (preset == "tiny") {
    model.update({{"noise_size", 8},
                  {"generator_hidden", 32},
                  {"generator_layers", 1},
                  {"discriminator_hidden", 32},
                  {"discriminator_layers", 1}});
    train.update({{"batch_size", 8},
                  {"crop_length", 16},
                  {"steps", 60},
                  {"eval_every", 30},
                  {"checkpoint_every", 30},
                  {"log_every", 10},
                  {"eval_samples", 32}});
  } else if (preset == "small") {
    model.update({{"noise_size", 32},
                  {"generator_hidden", 128},
                  {"generator_layers", 2},
                  {"discriminator_hidden", 128},
                  {"discriminator_layers", 2}});
    train.update({{"batch_size", 32},
                  {"crop_length", 64},
                  {"steps", 3000},
                  {"eval_every", 250},
                  {"checkpoint_every", 250},
                  {"eval_samples", 128}});
  } else {
    model.update({{"noise_size", 64},
                  {"generator_hidden", 350},
                  {"generator_layers", 2},
                  {"discriminator_hidden", 350},
                  {"discriminator_layers", 2}});
    train.update({{"batch_size", 64},
                  {"crop_length", 128},
                  {"steps", 20000},
                  {"eval_every", 1000},
                  {"checkpoint_every", 1000},
                  {"eval_samples", 256}});
  }
  return {{"model", model}, {"train", train}};
}

}  // namespace

json preset_config(const std::string& preset, const std::string& family, bool frames) {
  const auto presets = preset_names();
  if (std::find(presets.begin(), presets.end(), preset) == presets.end())
    throw Error("unknown preset \"" + preset + "\" (expected tiny, small or base)");
  if (family == "vae") return vae_preset(preset, frames);
  if (family == "musegan") return musegan_preset(preset);
  if (family == "crnngan") return crnngan_preset(preset);
  static const std::set<std::string> kFamilies = {"rnn", "lstm", "gru", "transformer"};
  if (!kFamilies.count(family))
    throw Error("unknown model family \"" + family +
                "\" (expected rnn, lstm, gru, transformer, vae, musegan or crnngan)");
  const bool transformer = family == "transformer";
  json model = {{"family", family}};
  json train = json::object();
  if (preset == "tiny") {
    // Seconds on any machine: smoke tests and trying the pipeline.
    model.update({{"hidden_size", 64}, {"num_layers", transformer ? 2 : 1}, {"num_heads", 2}, {"dropout", 0.0}});
    train.update({{"batch_size", 8},
                  {"crop_length", 64},
                  {"steps", 100},
                  {"warmup_steps", 10},
                  {"eval_every", 50},
                  {"checkpoint_every", 50},
                  {"log_every", 10},
                  {"max_eval_pieces", 32}});
  } else if (preset == "small") {
    // Minutes to half an hour on 2 CPU cores; the bundled models.
    if (transformer) {
      model.update(
          {{"hidden_size", 256}, {"num_layers", 4}, {"num_heads", 4}, {"feedforward_size", 1024}, {"dropout", 0.1}});
      train.update({{"learning_rate", 5e-4}, {"warmup_steps", 400}});
    } else {
      model.update({{"hidden_size", 256}, {"num_layers", 2}, {"dropout", 0.1}});
      train.update({{"learning_rate", 2e-3}});
    }
    train.update(
        {{"batch_size", 32}, {"crop_length", 256}, {"steps", 3000}, {"eval_every", 250}, {"checkpoint_every", 250}});
  } else if (preset == "base") {
    // A GPU, or a long CPU run.
    if (transformer) {
      model.update(
          {{"hidden_size", 512}, {"num_layers", 6}, {"num_heads", 8}, {"feedforward_size", 2048}, {"dropout", 0.1}});
      train.update({{"learning_rate", 3e-4}, {"warmup_steps", 1000}});
    } else {
      model.update({{"hidden_size", 512}, {"num_layers", 3}, {"dropout", 0.2}});
      train.update({{"learning_rate", 1e-3}});
    }
    train.update(
        {{"batch_size", 64}, {"crop_length", 512}, {"steps", 20000}, {"eval_every", 1000}, {"checkpoint_every", 1000}});
  } else {
    throw Error("unknown preset \"" + preset + "\" (expected tiny, small or base)");
  }
  if (frames && preset == "small") {
    // The JSB benchmark: 229 short chorales (median 60 quarter-note frames), so crops of 64 frames, one wide
    // recurrent layer with dropout (on JSB's validation split: 1 layer of 256 with dropout 0.3 reached 8.24 in
    // 1,500 steps where 2 layers with dropout 0.4 stalled near the key-rate baseline), and more steps.
    if (transformer) {
      // Dropout 0.4 and lr 2e-3 reached test 8.25 where 0.2 and 1e-3 reached 8.32 (and overfit to 9.9 by the end).
      model.update(
          {{"hidden_size", 128}, {"num_layers", 3}, {"num_heads", 4}, {"feedforward_size", 512}, {"dropout", 0.4}});
      train.update({{"learning_rate", 2e-3}, {"warmup_steps", 200}});
    } else {
      model.update({{"num_layers", 1}, {"dropout", 0.3}});
      train.update({{"learning_rate", 3e-3}});
    }
    train.update({{"crop_length", 64}, {"batch_size", 16}, {"steps", 3000}, {"eval_every", 250}});
  } else if (frames && preset == "base") {
    model["dropout"] = transformer ? 0.2 : 0.4;
    train.update({{"crop_length", 128}, {"batch_size", 16}});
  }
  if (transformer) model["max_sequence_length"] = std::max<int64_t>(train.value("crop_length", 256), 1024);
  return {{"model", model}, {"train", train}};
}

void merge_config(json& config, const json& overrides, const std::string& source) {
  if (!overrides.is_object()) throw Error(source + ": expected a JSON object with \"model\" and/or \"train\"");
  for (const auto& [section, values] : overrides.items()) {
    if (section != "model" && section != "train")
      throw Error(source + ": unknown section \"" + section + "\" (expected \"model\" or \"train\")");
    if (!values.is_object()) throw Error(source + ": \"" + section + "\" must be a JSON object");
    for (const auto& [key, value] : values.items()) config[section][key] = value;
  }
}

void apply_setting(json& config, const std::string& setting) {
  const auto equals = setting.find('=');
  if (equals == std::string::npos || equals == 0)
    throw Error("--set " + setting + ": expected key=value (e.g. hidden_size=512)");
  std::string key = setting.substr(0, equals);
  const std::string text = setting.substr(equals + 1);
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;

  // The keys each section knows are those its defaults serialise, so a new ModelConfig / TrainOptions field is
  // settable without touching this function.
  auto keys_of = [](const json& defaults) {
    std::set<std::string> keys;
    for (const auto& [name, unused] : defaults.items()) keys.insert(name);
    return keys;
  };
  // The model keys are those of the family the config names (every family's defaults serialise without a vocabulary).
  const std::string family = config.contains("model") ? config["model"].value("family", "lstm") : "lstm";
  const std::set<std::string> kModelKeys = family == "vae"       ? keys_of(models::VaeConfig().to_json())
                                           : family == "musegan" ? keys_of(models::MuseGanConfig().to_json())
                                           : family == "crnngan" ? keys_of(models::CrnnGanConfig().to_json())
                                                                 : keys_of(models::ModelConfig().to_json());
  static const std::set<std::string> kTrainKeys = keys_of(TrainOptions().to_json());
  static const std::set<std::string> kDataKeys = {"vocab_size", "input_kind", "num_tracks", "num_pitches",
                                                  "min_pitch",  "max_pitch",  "family"};
  std::string section;
  if (key.rfind("model.", 0) == 0) {
    section = "model", key = key.substr(6);
  } else if (key.rfind("train.", 0) == 0) {
    section = "train", key = key.substr(6);
  } else {
    section = kModelKeys.count(key) ? "model" : "train";
  }
  const bool known = section == "model" ? kModelKeys.count(key) > 0 : kTrainKeys.count(key) > 0;
  if (!known) throw Error("--set " + setting + ": unknown key \"" + key + "\"");
  if (section == "model" && kDataKeys.count(key))
    throw Error("--set " + setting + ": \"" + key + "\" comes from the data (or --model) and cannot be set");
  config[section][key] = value;
}

}  // namespace cadenza::train
