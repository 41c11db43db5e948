// `cadenza evaluate` for the latent-variable families (this header is libtorch-free):
//   vae      on the split's bar-aligned melody windows: the ELBO bound, reconstruction cross-entropy, KL (bits), and
//            reconstruction accuracy teacher-forced and sampled (argmax decoding fed its own outputs: MusicVAE's
//            figure); plus interpolation smoothness: for `interpolation_pairs` pairs of windows, the slerp path of
//            `interpolation_steps` latents between their posterior means is decoded (argmax) and the note density
//            (onsets per bar) and mean pitch of each step measured: the mean |change| between neighbouring steps, the
//            largest such change as a share of the whole path's total variation ("largest_jump_share": 1/(steps-1)
//            for perfectly even change, 1 for a single jump), and the endpoints' difference.
//   musegan  `samples` generated 4-bar windows vs the training windows and the split's windows: MuseGAN's metrics,
//            diversity, density, and the mode-collapse flag (train/gan_report.h).
//   crnngan  generated event statistics vs the split's, and the discriminator's accuracy on them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "data/shard.h"

namespace cadenza::train {

struct LatentEvaluationOptions {
  int64_t max_windows = 2048;    // vae: windows scored (spread evenly over the split)
  int interpolation_pairs = 32;  // vae
  int interpolation_steps = 9;   // vae: latents on each path, ends included
  int64_t samples = 256;         // GANs: generated windows
  uint64_t seed = 1;
};

// Throws cadenza::Error for an autoregressive checkpoint (use evaluate_checkpoint) or a shard that does not fit.
nlohmann::json evaluate_latent_checkpoint(const std::string& checkpoint, const Shard& shard, Split split,
                                          const LatentEvaluationOptions& options = {});

}  // namespace cadenza::train
