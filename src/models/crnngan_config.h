// The configuration of a C-RNN-GAN model (src/models/crnngan.h); stored in checkpoints as JSON. libtorch-free; one
// field list (crnngan_config_fields()) reads, writes and lists it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/options.h"

namespace cadenza::models {

struct CrnnGanConfig {
  int64_t noise_size = 32;             // Z per step
  int64_t generator_hidden = 128;      // C of the generator
  int64_t generator_layers = 2;        // L of the generator
  int64_t discriminator_hidden = 128;  // C of each direction of the discriminator
  int64_t discriminator_layers = 2;    // L of the discriminator
  int64_t min_pitch = 36;              // MIDI pitch of feature -1
  int64_t max_pitch = 96;              // MIDI pitch of feature +1
  // Weight of the generator's feature-matching term (Salimans et al. 2016, used by C-RNN-GAN): the squared distance
  // between the means over a batch's events of the discriminator's last-layer features (2C) on real and on generated
  // melodies, added to the adversarial loss. It asks the generator for the data's mix of pitches and rhythms, not
  // one pattern the discriminator happens to pass. 0 = the adversarial loss alone (checkpoints before it).
  double feature_matching = 0.0;

  // {"family": "crnngan", ...every field}. from_json: absent keys take the defaults; an unknown key, a wrong type or
  // a bad value throws cadenza::Error naming the key. validate() throws cadenza::Error naming the field.
  nlohmann::json to_json() const;
  static CrnnGanConfig from_json(const nlohmann::json& json);
  void validate() const;
};

const OptionFields<CrnnGanConfig>& crnngan_config_fields();

// One note of a melody, times in beats.
struct MelodyEvent {
  int pitch = 60;           // MIDI
  double duration = 1.0;    // > 0 for a real note
  double time_shift = 0.0;  // onset minus the previous onset (the first: minus the start)

  bool operator==(const MelodyEvent&) const = default;
};

}  // namespace cadenza::models
