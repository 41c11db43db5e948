// MuseGanConfig's field list, JSON and checks.
#include "models/musegan_config.h"

namespace cadenza::models {
namespace {

std::string join(const std::vector<int64_t>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + std::to_string(values[i]);
  return text + "]";
}

// More step-doubling layers than this would need more than 2^20 steps per bar: surely a typo.
constexpr size_t kMaxChannelLayers = 21;

}  // namespace

int64_t MuseGanConfig::bar_input_size() const {
  return shared_latent + shared_temporal_latent + track_latent + track_temporal_latent;
}

int64_t MuseGanConfig::pitch_blocks() const {
  return num_pitches / pitch_stride;
}

int64_t MuseGanConfig::pitch_kernel() const {
  return num_pitches - (pitch_blocks() - 1) * pitch_stride;
}

const OptionFields<MuseGanConfig>& musegan_config_fields() {
  static const OptionFields<MuseGanConfig> fields =
      OptionFields<MuseGanConfig>("musegan config")
          .tag("family", "musegan")
          .integer("num_tracks", &MuseGanConfig::num_tracks, 1, 64)
          .integer("num_bars", &MuseGanConfig::num_bars, 1, 256)
          .integer("steps_per_bar", &MuseGanConfig::steps_per_bar, 1, 1024)
          .integer("num_pitches", &MuseGanConfig::num_pitches, 1, 128)
          .integer("pitch_stride", &MuseGanConfig::pitch_stride, 1, 128)
          .integer("shared_latent", &MuseGanConfig::shared_latent, 0, 4096)
          .integer("shared_temporal_latent", &MuseGanConfig::shared_temporal_latent, 0, 4096)
          .integer("track_latent", &MuseGanConfig::track_latent, 0, 4096)
          .integer("track_temporal_latent", &MuseGanConfig::track_temporal_latent, 0, 4096)
          .integer("temporal_hidden", &MuseGanConfig::temporal_hidden, 1, 16384)
          .integers("generator_channels", &MuseGanConfig::generator_channels, 1, 4096, kMaxChannelLayers)
          .integers("critic_channels", &MuseGanConfig::critic_channels, 1, 4096, kMaxChannelLayers);
  return fields;
}

nlohmann::json MuseGanConfig::to_json() const {
  return musegan_config_fields().to_json(*this);
}

MuseGanConfig MuseGanConfig::from_json(const nlohmann::json& json) {
  MuseGanConfig config = musegan_config_fields().from_json(json);
  config.validate();
  return config;
}

void MuseGanConfig::validate() const {
  musegan_config_fields().check(*this);
  auto fail = [](const std::string& problem) { throw Error("musegan config: " + problem); };
  if (pitch_stride > num_pitches)
    fail("pitch_stride (" + std::to_string(pitch_stride) + ") must not exceed num_pitches (" +
         std::to_string(num_pitches) + ")");
  if (shared_latent < 0 || shared_temporal_latent < 0 || track_latent < 0 || track_temporal_latent < 0)
    fail("the latent sizes must be >= 0");
  if (bar_input_size() == 0) fail("the four latent sizes are all 0: the generator would have no input");
  auto check_channels = [&](const char* key, const std::vector<int64_t>& channels, const char* what) {
    if (channels.empty()) fail(std::string(key) + " must not be empty");
    if (channels.size() > kMaxChannelLayers)
      fail(std::string(key) + " has " + std::to_string(channels.size()) + " entries, at most " +
           std::to_string(kMaxChannelLayers) + " allowed");
    for (int64_t width : channels)
      if (width <= 0) fail(std::string(key) + " must all be positive, got " + join(channels));
    const int64_t factor = int64_t{1} << (channels.size() - 1);
    if (steps_per_bar % factor != 0)
      fail(std::string(key) + " " + join(channels) + " has " + std::to_string(channels.size() - 1) + " layers that " +
           what + " the steps, so steps_per_bar must be divisible by " + std::to_string(factor) + ", got " +
           std::to_string(steps_per_bar));
  };
  check_channels("generator_channels", generator_channels, "double");
  check_channels("critic_channels", critic_channels, "halve");
  // Parameters: per track, the bar generator's projection and transposed convolutions; the critic's 3-D convolutions.
  double parameters = 0;
  const double D = static_cast<double>(bar_input_size()), S = static_cast<double>(steps_per_bar);
  for (size_t j = 0; j < generator_channels.size(); ++j) {
    const double c = static_cast<double>(generator_channels[j]);
    parameters += (j == 0 ? D * c * S : 4 * c * static_cast<double>(generator_channels[j - 1])) +
                  c * c * static_cast<double>(num_pitches);
  }
  parameters *= static_cast<double>(num_tracks);
  for (size_t j = 0; j < critic_channels.size(); ++j) {
    const double c = static_cast<double>(critic_channels[j]);
    parameters += 4 * c * (j == 0 ? static_cast<double>(num_tracks * num_pitches) : static_cast<double>(critic_channels[j - 1])) +
                  c * c * static_cast<double>(num_bars);
  }
  check_memory_estimate(4.0 * parameters, "musegan config: generator_channels " + join(generator_channels) +
                                              " and critic_channels " + join(critic_channels));
}

}  // namespace cadenza::models
