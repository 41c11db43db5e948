// What the GAN learners report about generated samples at each validation, beside the same figures for real
// training windows: the numbers that show whether the generator's output looks like the data and whether it has
// collapsed onto a few outputs (mode collapse).
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "models/musegan.h"

namespace cadenza::train {

// Mean pairwise normalised Hamming distance between the rows of a (B, ...) binary tensor: the fraction of cells in
// which two samples differ, divided by the fraction of cells on in either (a Jaccard distance, so sparse rolls are
// not "similar" merely because both are mostly silent). 0 = every sample identical. B >= 2.
double mean_pairwise_jaccard_distance(const torch::Tensor& binary);

// generated and reference: (B, K, N, S, P) bool piano rolls. Returns {"generated": {...}, "training": {...}} with,
// per set: "diversity" (mean_pairwise_jaccard_distance), "density" (fraction of cells on, per track), and MuseGAN's
// metrics per track (empty-bar rate, used pitch classes per bar, qualified-note rate) and tonal distance between
// tracks (src/eval/musegan_metrics.h); plus "mode_collapse": true when the generated diversity is below a quarter of
// the training windows' (a threshold of ours, reported with both numbers).
// lowest_pitch: MIDI pitch of pitch index 0; a note qualifies (QN) from an eighth note (steps_per_quarter / 2 steps).
nlohmann::json gan_sample_report(const torch::Tensor& generated, const torch::Tensor& reference,
                                 const models::MuseGanConfig& config, int lowest_pitch, int steps_per_quarter);

}  // namespace cadenza::train
