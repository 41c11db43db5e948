// The sampler of the NADE hybrids (RNN-NADE, Transformer-NADE): see sampler_nade.cpp. Impl is models::RnnNadeImpl or
// models::TransformerNadeImpl.
#pragma once

#include <memory>

#include "generate/sampler.h"
#include "models/family.h"

namespace cadenza {

template <class Impl>
std::unique_ptr<Sampler> open_nade_sampler(const models::Family& family, const models::CheckpointInfo& checkpoint);

}  // namespace cadenza
