// The C-RNN-GAN sampler: see sampler_crnngan.cpp.
#pragma once

#include <memory>

#include "generate/sampler.h"
#include "models/family.h"

namespace cadenza {

std::unique_ptr<Sampler> open_crnngan_sampler(const models::Family& family, const models::CheckpointInfo& checkpoint);

}  // namespace cadenza
