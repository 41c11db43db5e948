// The configuration of a MusicVAE model (src/models/vae.h): everything needed to rebuild it, plus its KL control;
// stored in checkpoints as JSON. libtorch-free; one field list (vae_config_fields()) reads, writes and lists it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/options.h"
#include "models/model_config.h"  // InputKind

namespace cadenza::models {

enum class VaeDecoderKind { kFlat, kHierarchical };

struct VaeConfig {
  InputKind input_kind = InputKind::kTokens;       // "tokens" | "frames" in JSON
  int64_t vocab_size = 0;                          // V: tokens, or keys per frame (required)
  int64_t embedding_size = 64;                     // E
  int64_t encoder_hidden = 256;                    // He, per direction
  int64_t encoder_layers = 1;                      // Le
  int64_t latent_size = 256;                       // Z
  VaeDecoderKind decoder = VaeDecoderKind::kFlat;  // "flat" | "hierarchical" in JSON
  int64_t decoder_hidden = 256;                    // Hd
  int64_t decoder_layers = 2;                      // Ld
  int64_t conductor_hidden = 256;                  // Hc (hierarchical only)
  int64_t conductor_layers = 2;                    // Lc (hierarchical only)
  int64_t num_segments = 2;      // K: bars of the hierarchical decoder; sequence lengths must be multiples of it
  int64_t sequence_length = 32;  // T the model is trained and sampled at (2 bars of 16 steps)
  double free_bits = 0.0;        // KL per sequence below this many bits is not penalised (MusicVAE's free bits)
  double max_beta = 0.5;         // the KL weight rises to this (kl_beta())
  double beta_rate = 0.99999;    // ... as max_beta * (1 - beta_rate^step)
  double dropout = 0.0;          // between stacked LSTM layers, training only

  nlohmann::json to_json() const;  // includes "family": "vae"
  // Absent keys take the defaults; "family", if present, must be "vae". Throws cadenza::Error naming the key on an
  // unknown key, a wrong type or a bad value (validate()).
  static VaeConfig from_json(const nlohmann::json& json);
  // Throws cadenza::Error naming the field and the value.
  void validate() const;
  double approximate_parameters() const;
};

const OptionFields<VaeConfig>& vae_config_fields();

std::string vae_decoder_name(VaeDecoderKind kind);          // "flat" | "hierarchical"
VaeDecoderKind parse_vae_decoder(const std::string& name);  // throws cadenza::Error for anything else

// MusicVAE's KL weight schedule: max_beta * (1 - beta_rate^step), rising from 0 to max_beta.
double kl_beta(const VaeConfig& config, int64_t step);

}  // namespace cadenza::models
