// The per-family constructors behind make_sequence_model() (sequence_model.h). Each validates the parts of the
// config its family uses and throws cadenza::Error on a bad value.
#pragma once

#include <memory>

#include "models/sequence_model.h"

namespace cadenza::models {

// family "rnn", "lstm" or "gru".
std::shared_ptr<SequenceModelImpl> make_recurrent_model(const ModelConfig& config);
// family "transformer" (src/models/transformer.h).
std::shared_ptr<SequenceModelImpl> make_transformer_model(const ModelConfig& config);

}  // namespace cadenza::models
