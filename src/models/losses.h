// Training losses of the two input kinds. Dimension letters: see the legend in sequence_model.h.
//
// Both score next-element prediction: logits[:, t] predicts element t + 1, so the last position's logits and the
// first element are never scored (there is nothing to predict the first element from).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace cadenza::models {

// Token models: softmax cross-entropy (natural log), averaged over the predicted positions whose target is not
// `pad_id` (pass -1 when nothing is padded).
//   logits (B, T, V), tokens (B, T) int64 -> scalar. 0 when every target is padding.
torch::Tensor token_cross_entropy(const torch::Tensor& logits, const torch::Tensor& tokens, int64_t pad_id = -1);

// The same with a weight per target token: each scored position's loss is multiplied by target_weights[target],
// and the sum is still divided by the number of scored positions (not by the weights' sum), so that tokens of weight
// 1 keep their gradient's scale and a rare token of weight w counts as w of them (training options
// end_loss_weight / header_loss_weight). With every weight 1 it equals token_cross_entropy().
//   logits (B, T, V), tokens (B, T) int64, target_weights (V) float -> scalar.
torch::Tensor weighted_token_cross_entropy(const torch::Tensor& logits, const torch::Tensor& tokens, int64_t pad_id,
                                           const torch::Tensor& target_weights);

// Piano-roll models: the negative log-likelihood of each target frame under independent Bernoulli keys (binary
// cross-entropy summed over the V keys), averaged over the predicted frames that are real (not padding).
//   logits (B, T, V), frames (B, T, V) in {0, 1}, frame_mask (B, T) bool, true = a real frame (undefined = all real)
//   -> scalar, nats per frame. 0 when no target frame is real.
torch::Tensor frame_nll(const torch::Tensor& logits, const torch::Tensor& frames,
                        const torch::Tensor& frame_mask = torch::Tensor());

}  // namespace cadenza::models
