// For the model-layer tests, which link only src/models: an autoregressive model for a config, picking the backbone
// the way the family registry (src/families/registry.cpp) does for the built-in families.
#pragma once

#include <memory>

#include "models/factories.h"

namespace cadenza::testing {

inline std::shared_ptr<models::SequenceModelImpl> test_sequence_model(const models::ModelConfig& config) {
  return config.family == "transformer" ? models::make_transformer_model(config) : models::make_recurrent_model(config);
}

}  // namespace cadenza::testing
