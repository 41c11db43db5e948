// The constructors of the autoregressive backbones in src/models (the family registry, src/families/registry.cpp,
// picks one per family). Each validates the parts of the config its backbone uses and throws cadenza::Error on a bad
// value.
#pragma once

#include <memory>

#include "models/sequence_model.h"

namespace cadenza::models {

// Recurrent backbones (src/models/recurrent.h): config.family picks the cell.
std::shared_ptr<SequenceModelImpl> make_recurrent_model(const ModelConfig& config);
// The decoder-only Transformer (src/models/transformer.h).
std::shared_ptr<SequenceModelImpl> make_transformer_model(const ModelConfig& config);

}  // namespace cadenza::models
