// The MusicVAE sampler: see sampler_vae.cpp.
#pragma once

#include <memory>

#include "generate/sampler.h"
#include "models/family.h"

namespace cadenza {

std::unique_ptr<Sampler> open_vae_sampler(const models::Family& family, const models::CheckpointInfo& checkpoint);

}  // namespace cadenza
