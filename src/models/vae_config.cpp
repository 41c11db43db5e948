// VaeConfig's field list, JSON and checks.
#include "models/vae_config.h"

#include <cmath>

namespace cadenza::models {

std::string vae_decoder_name(VaeDecoderKind kind) {
  return kind == VaeDecoderKind::kFlat ? "flat" : "hierarchical";
}

VaeDecoderKind parse_vae_decoder(const std::string& name) {
  if (name == "flat") return VaeDecoderKind::kFlat;
  if (name == "hierarchical") return VaeDecoderKind::kHierarchical;
  throw Error("vae config: \"decoder\" must be \"flat\" or \"hierarchical\", got \"" + name + "\"");
}

const OptionFields<VaeConfig>& vae_config_fields() {
  static const OptionFields<VaeConfig> fields =
      OptionFields<VaeConfig>("vae config")
          .tag("family", "vae")
          .choice("input_kind", &VaeConfig::input_kind,
                  {{"tokens", InputKind::kTokens}, {"frames", InputKind::kFrames}})
          .integer("vocab_size", &VaeConfig::vocab_size, 0, int64_t{1} << 20)
          .integer("embedding_size", &VaeConfig::embedding_size, 1, 16384)
          .integer("encoder_hidden", &VaeConfig::encoder_hidden, 1, 16384)
          .integer("encoder_layers", &VaeConfig::encoder_layers, 1, 64)
          .integer("latent_size", &VaeConfig::latent_size, 1, 16384)
          .choice("decoder", &VaeConfig::decoder,
                  {{"flat", VaeDecoderKind::kFlat}, {"hierarchical", VaeDecoderKind::kHierarchical}})
          .integer("decoder_hidden", &VaeConfig::decoder_hidden, 1, 16384)
          .integer("decoder_layers", &VaeConfig::decoder_layers, 1, 64)
          .integer("conductor_hidden", &VaeConfig::conductor_hidden, 1, 16384)
          .integer("conductor_layers", &VaeConfig::conductor_layers, 1, 64)
          .integer("num_segments", &VaeConfig::num_segments, 1, 4096)
          .integer("sequence_length", &VaeConfig::sequence_length, 1, int64_t{1} << 16)
          .number("free_bits", &VaeConfig::free_bits, 0.0, 1e6)
          .number("max_beta", &VaeConfig::max_beta, 0.0, 1e6)
          .number("beta_rate", &VaeConfig::beta_rate, 0.0, 1.0)
          .number("dropout", &VaeConfig::dropout, 0.0, 0.99);
  return fields;
}

nlohmann::json VaeConfig::to_json() const {
  return vae_config_fields().to_json(*this);
}

VaeConfig VaeConfig::from_json(const nlohmann::json& json) {
  VaeConfig config = vae_config_fields().from_json(json);
  config.validate();
  return config;
}

double VaeConfig::approximate_parameters() const {
  const double V = static_cast<double>(vocab_size), E = static_cast<double>(embedding_size),
               He = static_cast<double>(encoder_hidden), Z = static_cast<double>(latent_size),
               Hd = static_cast<double>(decoder_hidden), Hc = static_cast<double>(conductor_hidden);
  const double encoder = 2.0 * static_cast<double>(encoder_layers) * 4 * He * (std::max(E, 2 * He) + He + 2);
  const double conductor = static_cast<double>(conductor_layers) * 4 * Hc * (std::max(Z, Hc) + Hc + 2) + Z * 2 * Hc *
                                                                                                           static_cast<double>(conductor_layers);
  const double decoder_input = E + std::max(Z, Hc);
  const double decoder_stack = static_cast<double>(decoder_layers) * 4 * Hd * (std::max(decoder_input, Hd) + Hd + 2);
  return V * E + encoder + 2 * He * 2 * Z + conductor + std::max(Z, Hc) * 2 * Hd * static_cast<double>(decoder_layers) +
         decoder_stack + Hd * V + V;
}

void VaeConfig::validate() const {
  vae_config_fields().check(*this);
  auto fail = [](const std::string& problem) { throw Error("vae config: " + problem); };
  if (vocab_size <= 0) fail("\"vocab_size\" must be set (the data decides it), got " + std::to_string(vocab_size));
  if (decoder == VaeDecoderKind::kHierarchical && sequence_length % num_segments != 0)
    fail("sequence_length " + std::to_string(sequence_length) + " must be a multiple of num_segments " +
         std::to_string(num_segments) + " (the hierarchical decoder splits it into equal segments)");
  check_memory_estimate(4.0 * approximate_parameters(),
                        "vae config: encoder_hidden " + std::to_string(encoder_hidden) + ", decoder_hidden " +
                            std::to_string(decoder_hidden) + ", latent_size " + std::to_string(latent_size));
}

double kl_beta(const VaeConfig& config, int64_t step) {
  if (step < 0) throw Error("kl_beta: step must be >= 0, got " + std::to_string(step));
  return config.max_beta * (1.0 - std::pow(config.beta_rate, static_cast<double>(step)));
}

}  // namespace cadenza::models
