// THE table of model families. Adding a family: write its own files (docs/HOWTO-add-model.md), include their headers
// below and add its row to kFamilies. Nothing else in the code base names a family.
#include "families/registry.h"

#include <filesystem>

#include "common/error.h"
#include "generate/sampler_crnngan.h"
#include "generate/sampler_musegan.h"
#include "generate/sampler_nade.h"
#include "generate/sampler_sequence.h"
#include "generate/sampler_vae.h"
#include "generate/sampling_defaults.h"
#include "models/crnngan_config.h"
#include "models/factories.h"
#include "models/musegan_config.h"
#include "models/rnn_nade.h"
#include "models/transformer_nade.h"
#include "models/vae_config.h"
#include "train/learner_crnngan.h"
#include "train/learner_musegan.h"
#include "train/learner_nade.h"
#include "train/learner_sequence.h"
#include "train/learner_vae.h"

namespace cadenza::families {
namespace {

using models::Family;
using models::FamilyKind;
using nlohmann::json;

// The autoregressive families share the learner, evaluation and sampler of their kind; the backbone and the preset
// tell them apart.
Family autoregressive(std::string name, std::string summary,
                      std::shared_ptr<models::SequenceModelImpl> (*backbone)(const models::ModelConfig&),
                      json (*preset)(const std::string&, bool)) {
  Family f;
  f.name = std::move(name);
  f.kind = FamilyKind::kAutoregressive;
  f.summary = std::move(summary);
  f.data = {.tokens = true, .melody_only = false, .frames = true, .min_tracks = 1, .needs = "any shard"};
  f.validation_score = "nll";
  f.speed_unit = "tokens/s";
  f.check_model_config = [](const json& model) { models::ModelConfig::from_json(model); };
  f.default_model_config = train::sequence_default_config;
  f.preset = preset;
  f.resolve_model_config = train::resolve_sequence_config;
  f.make_sequence_model = backbone;
  f.make_learner = train::make_sequence_learner;
  f.evaluate = train::evaluate_sequence;
  f.open_sampler = open_sequence_sampler;
  return f;
}

// The NADE hybrids (models/nade.h): autoregressive over piano-roll frames, an exact likelihood per frame.
template <class Impl>
Family nade_family(std::string name, std::string summary) {
  using Config = std::decay_t<decltype(std::declval<const Impl&>().config())>;
  Family f;
  f.name = std::move(name);
  f.kind = FamilyKind::kAutoregressive;
  f.summary = std::move(summary);
  f.data = {.tokens = false, .melody_only = false, .frames = true, .min_tracks = 1, .needs = "a piano-roll shard"};
  f.validation_score = "nll";
  f.loss_description = "training loss (nats per frame)";
  f.speed_unit = "frames/s";
  f.check_model_config = [](const json& model) { Config::from_json(model); };
  f.default_model_config = train::nade_default_config<Impl>;
  f.preset = train::nade_preset<Impl>;
  f.resolve_model_config = train::resolve_nade_config<Impl>;
  f.make_learner = train::make_nade_learner<Impl>;
  f.evaluate = train::evaluate_nade<Impl>;
  f.open_sampler = open_nade_sampler<Impl>;
  return f;
}

std::vector<Family> make_families() {
  std::vector<Family> families;
  families.push_back(
      autoregressive("rnn", "Elman RNN (tanh), autoregressive", models::make_recurrent_model, train::recurrent_preset));
  families.push_back(
      autoregressive("lstm", "LSTM, autoregressive", models::make_recurrent_model, train::recurrent_preset));
  families.push_back(
      autoregressive("gru", "GRU, autoregressive", models::make_recurrent_model, train::recurrent_preset));
  families.push_back(autoregressive("transformer", "decoder-only Transformer with relative attention, autoregressive",
                                    models::make_transformer_model, train::transformer_preset));
  {
    Family f;
    f.name = "vae";
    f.kind = FamilyKind::kLatent;
    f.summary = "MusicVAE: BiLSTM encoder, flat or hierarchical decoder";
    f.data = {.tokens = true,
              .melody_only = true,
              .frames = true,
              .min_tracks = 1,
              .needs = "a melody shard or a piano-roll shard"};
    f.validation_score = "elbo";
    f.loss_description = "training loss (reconstruction + KL)";
    f.speed_unit = "tokens/s";
    f.has_bars = true;
    f.frames_default_bars = 4;  // MusicVAE's multi-track models: 4-bar segments, hierarchical
    f.check_model_config = [](const json& model) { models::VaeConfig::from_json(model); };
    f.default_model_config = train::vae_default_config;
    f.preset = train::vae_preset_config;
    f.apply_bars = train::apply_vae_bars;
    f.resolve_model_config = train::resolve_vae_config;
    f.make_learner = train::make_vae_learner;
    f.evaluate = train::evaluate_vae;
    f.open_sampler = open_vae_sampler;
    families.push_back(f);
  }
  {
    Family f;
    f.name = "musegan";
    f.aliases = {"gan"};
    f.kind = FamilyKind::kLatent;
    f.summary = "MuseGAN: multi-track piano-roll GAN (WGAN-GP)";
    f.data = {.tokens = false,
              .melody_only = false,
              .frames = true,
              .min_tracks = 1,
              .needs = "a piano-roll shard (2+ tracks)"};
    f.loss_description = "critic's Wasserstein estimate";
    f.speed_unit = "frames/s";
    f.has_bars = true;
    f.check_model_config = [](const json& model) { models::MuseGanConfig::from_json(model); };
    f.default_model_config = train::musegan_default_config;
    f.preset = train::musegan_preset_config;
    f.apply_bars = train::apply_musegan_bars;
    f.resolve_model_config = train::resolve_musegan_config;
    f.make_learner = train::make_musegan_learner;
    f.evaluate = train::evaluate_musegan;
    f.open_sampler = open_musegan_sampler;
    families.push_back(f);
  }
  {
    Family f;
    f.name = "crnngan";
    f.aliases = {"rgan"};
    f.kind = FamilyKind::kLatent;
    f.summary = "C-RNN-GAN: recurrent GAN over note events";
    f.data = {.tokens = true, .melody_only = true, .frames = false, .min_tracks = 1, .needs = "a melody shard"};
    f.loss_description = "GAN loss";
    f.speed_unit = "tokens/s";
    f.check_model_config = [](const json& model) { models::CrnnGanConfig::from_json(model); };
    f.default_model_config = train::crnngan_default_config;
    f.preset = train::crnngan_preset_config;
    f.resolve_model_config = train::resolve_crnngan_config;
    f.make_learner = train::make_crnngan_learner;
    f.evaluate = train::evaluate_crnngan;
    f.open_sampler = open_crnngan_sampler;
    families.push_back(f);
  }
  families.push_back(nade_family<models::RnnNadeImpl>(
      "rnn_nade", "RNN-NADE: a recurrent network over piano-roll frames with a NADE over each frame's keys"));
  families.push_back(nade_family<models::TransformerNadeImpl>(
      "transformer_nade", "Transformer-NADE: a Transformer over piano-roll frames with a NADE over each frame's keys"));
  return families;
}

}  // namespace

const std::vector<Family>& all_families() {
  static const std::vector<Family> families = make_families();
  return families;
}

std::string model_names_text() {
  const auto names = model_names();
  std::string text;
  for (size_t i = 0; i < names.size(); ++i) text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return text;
}

const Family& find_family(const std::string& name_or_alias) {
  for (const Family& family : all_families()) {
    if (family.name == name_or_alias) return family;
    for (const auto& alias : family.aliases)
      if (alias == name_or_alias) return family;
  }
  throw Error("unknown model \"" + name_or_alias + "\" (expected " + model_names_text() + ")");
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const Family& family : all_families()) names.push_back(family.aliases.empty() ? family.name : family.aliases[0]);
  return names;
}

json preset_config(const std::string& preset, const std::string& family_name, bool frames) {
  const Family& family = find_family(family_name);
  json config = family.preset(preset, frames);
  config["model"]["family"] = family.name;
  return config;
}

std::vector<std::string> model_keys(const Family& family) {
  std::vector<std::string> keys;
  const json defaults = family.default_model_config();
  for (const auto& [key, unused] : defaults.items())
    if (key != "family") keys.push_back(key);
  return keys;
}

std::vector<std::string> data_keys() {
  return {"vocab_size", "input_kind", "num_tracks", "num_pitches", "min_pitch", "max_pitch", "family"};
}

Checkpoint read_checkpoint(const std::string& checkpoint_or_run) {
  Checkpoint checkpoint;
  checkpoint.info = models::read_checkpoint_info(models::resolve_checkpoint_path(checkpoint_or_run));
  const std::string& path = checkpoint.info.path;
  try {
    checkpoint.family = &find_family(checkpoint.info.family_name);
  } catch (const Error&) {
    throw FormatError(path, -1,
                      "holds a model of family \"" + checkpoint.info.family_name +
                          "\", which this build does not know (it knows " + model_names_text() + ")");
  }
  try {
    checkpoint.family->check_model_config(checkpoint.info.model_config_json);
  } catch (const FormatError&) {
    throw;
  } catch (const std::exception& e) {
    throw FormatError(path, -1, std::string("checkpoint \"model_config\" is invalid: ") + e.what());
  }
  return checkpoint;
}

std::unique_ptr<Sampler> open_sampler(const std::string& checkpoint_or_run) {
  const Checkpoint checkpoint = read_checkpoint(checkpoint_or_run);
  // Sampling defaults beside a checkpoint (generate/sampling_defaults.h) are read by the token samplers; beside any
  // other model they would be ignored without a word, so they are refused.
  const std::string defaults = sampling_defaults_path(checkpoint.info.path);
  if (checkpoint.family->open_sampler != open_sequence_sampler && std::filesystem::exists(defaults))
    throw FormatError(defaults, -1,
                      "sampling defaults apply to the token models (rnn, lstm, gru, transformer); " +
                          checkpoint.info.path + " holds a " + checkpoint.family->name +
                          " model: remove the file and give its settings as options");
  try {
    return checkpoint.family->open_sampler(*checkpoint.family, checkpoint.info);
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(checkpoint.info.path, -1, e.what());
  }
}

models::LoadedCheckpoint load_sequence_checkpoint(const std::string& checkpoint_or_run) {
  const Checkpoint checkpoint = read_checkpoint(checkpoint_or_run);
  if (!checkpoint.family->autoregressive())
    throw FormatError(checkpoint.info.path, -1,
                      "holds a " + checkpoint.family->name + " model, not an autoregressive one");
  return models::load_checkpoint(checkpoint.info.path, checkpoint.family->make_sequence_model);
}

std::shared_ptr<models::SequenceModelImpl> make_sequence_model(const models::ModelConfig& config) {
  const Family& family = find_family(config.family);
  if (!family.autoregressive()) throw Error("model config: \"" + config.family + "\" is not an autoregressive family");
  return family.make_sequence_model(config);
}

train::EvaluationReport evaluate(const Checkpoint& checkpoint, train::EvaluationRequest request) {
  request.checkpoint = &checkpoint.info;
  return checkpoint.family->evaluate(*checkpoint.family, request);
}

}  // namespace cadenza::families
