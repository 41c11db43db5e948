// The configuration of a MuseGAN model (src/models/musegan.h); stored in checkpoints as JSON. libtorch-free; one
// field list (musegan_config_fields()) reads, writes and lists it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/options.h"

namespace cadenza::models {

struct MuseGanConfig {
  int64_t num_tracks = 2;               // K (Nottingham: melody + chords; JSB: 4 voices)
  int64_t num_bars = 4;                 // N
  int64_t steps_per_bar = 16;           // S; divisible by 2^(channels - 1) of generator and critic
  int64_t num_pitches = 72;             // P (e.g. 72 = 6 octaves, or 88 piano keys)
  int64_t pitch_stride = 12;            // R: pitch blocks of the generator's last / the critic's first layer
  int64_t shared_latent = 32;           // Zs
  int64_t shared_temporal_latent = 32;  // Zst (per-bar latents are as wide as the input)
  int64_t track_latent = 32;            // Zp
  int64_t track_temporal_latent = 32;   // Zpt
  int64_t temporal_hidden = 128;        // H: hidden width of the temporal generators
  std::vector<int64_t> generator_channels = {128, 64, 32};  // C_0..C_{G-1}: G-1 step-doubling layers
  std::vector<int64_t> critic_channels = {32, 64, 128};     // D_0..D_{M-1}: M-1 step-halving layers

  int64_t bar_input_size() const;  // D = Zs + Zst + Zp + Zpt
  int64_t pitch_blocks() const;    // O = P / R
  int64_t pitch_kernel() const;    // W = P - (O-1) R

  // {"family": "musegan", ...every field}. from_json: absent keys take the defaults; an unknown key, a wrong type or
  // a bad value throws cadenza::Error naming the key. validate() throws cadenza::Error naming the field.
  nlohmann::json to_json() const;
  static MuseGanConfig from_json(const nlohmann::json& json);
  void validate() const;
};

const OptionFields<MuseGanConfig>& musegan_config_fields();

}  // namespace cadenza::models
