// The sampler of the autoregressive families (rnn, lstm, gru, transformer and any family of that kind): see
// sampler_sequence.cpp.
#pragma once

#include <memory>

#include "generate/sampler.h"
#include "models/family.h"

namespace cadenza {

std::unique_ptr<Sampler> open_sequence_sampler(const models::Family& family, const models::CheckpointInfo& checkpoint);

}  // namespace cadenza
