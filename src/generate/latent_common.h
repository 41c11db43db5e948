// What the latent families' samplers share (sampler_vae.cpp, sampler_musegan.cpp): pieces longer than one window
// decoded from latents on a smooth path, cutting and timing a decoded piece, and decoding a VAE with the sampling
// draws of sampling.h. Internal to src/generate.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "generate/sampler.h"

namespace cadenza {

using SamplerClock = std::chrono::steady_clock;

// Latents on a smooth path through random anchors: window k sits at (k mod per_anchor) / per_anchor of the way from
// anchor k / per_anchor to the next (slerp), so a stitched piece evolves instead of jumping between windows.
std::vector<torch::Tensor> stitched_latents(int64_t windows, int per_anchor, const std::function<torch::Tensor()>& draw);

// How many windows of `bars_per_window` bars cover `bars` (at least one; bars 0 = one window).
int64_t windows_for(double bars, int64_t bars_per_window);

// A decoded piece of `windows` windows, each window_quarters long, cut at request.bars (4/4 bars) when that is
// shorter, at the request's tempo, with its timings.
SampledPiece finish_window_piece(Score score, double window_quarters, int64_t windows, const SampleRequest& request,
                                 SamplerClock::time_point start);

// "1.23M parameters"
std::string parameter_text(const torch::nn::Module& module);

}  // namespace cadenza
