// CrnnGanConfig's field list, JSON and checks.
#include "models/crnngan_config.h"

namespace cadenza::models {

const OptionFields<CrnnGanConfig>& crnngan_config_fields() {
  static const OptionFields<CrnnGanConfig> fields =
      OptionFields<CrnnGanConfig>("crnngan config")
          .tag("family", "crnngan")
          .integer("noise_size", &CrnnGanConfig::noise_size, 1, 16384)
          .integer("generator_hidden", &CrnnGanConfig::generator_hidden, 1, 16384)
          .integer("generator_layers", &CrnnGanConfig::generator_layers, 1, 64)
          .integer("discriminator_hidden", &CrnnGanConfig::discriminator_hidden, 1, 16384)
          .integer("discriminator_layers", &CrnnGanConfig::discriminator_layers, 1, 64)
          .integer("min_pitch", &CrnnGanConfig::min_pitch, 0, 127)
          .integer("max_pitch", &CrnnGanConfig::max_pitch, 0, 127)
          .number("feature_matching", &CrnnGanConfig::feature_matching, 0.0, 1e6);
  return fields;
}

nlohmann::json CrnnGanConfig::to_json() const {
  return crnngan_config_fields().to_json(*this);
}

CrnnGanConfig CrnnGanConfig::from_json(const nlohmann::json& json) {
  CrnnGanConfig config = crnngan_config_fields().from_json(json);
  config.validate();
  return config;
}

void CrnnGanConfig::validate() const {
  crnngan_config_fields().check(*this);
  if (min_pitch >= max_pitch)
    throw Error("crnngan config: min_pitch and max_pitch must satisfy 0 <= min_pitch < max_pitch <= 127, got " +
                std::to_string(min_pitch) + " and " + std::to_string(max_pitch));
  auto lstm = [](double input, double hidden, double layers, double directions) {
    return directions * layers * 4 * hidden * (std::max(input, directions * hidden) + hidden + 2);
  };
  const double parameters =
      lstm(static_cast<double>(noise_size + 3), static_cast<double>(generator_hidden),
           static_cast<double>(generator_layers), 1) +
      lstm(3, static_cast<double>(discriminator_hidden), static_cast<double>(discriminator_layers), 2);
  check_memory_estimate(4.0 * parameters, "crnngan config: generator_hidden " + std::to_string(generator_hidden) +
                                              " and discriminator_hidden " + std::to_string(discriminator_hidden));
}

}  // namespace cadenza::models
