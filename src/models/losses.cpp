#include "models/losses.h"

#include <sstream>
#include <string>

#include "common/error.h"

namespace cadenza::models {
namespace {

std::string shape_of(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

void check_logits(const torch::Tensor& logits, const torch::Tensor& targets, const char* what) {
  if (!logits.defined() || logits.dim() != 3 || !targets.defined() || targets.dim() < 2 ||
      targets.size(0) != logits.size(0) || targets.size(1) != logits.size(1))
    throw Error(std::string(what) + ": logits must be (B, T, V) and targets (B, T" +
                (targets.defined() && targets.dim() == 3 ? ", V)" : ")") + " with the same B and T");
}

// Sum of `values` over positions where `mask` is true, divided by their count (0 for none).
torch::Tensor masked_mean(const torch::Tensor& values, const torch::Tensor& mask) {
  auto weights = mask.to(values.scalar_type());  // (B, T-1)
  auto count = weights.sum().clamp_min(1.0);     // scalar
  return (values * weights).sum() / count;       // scalar
}

// Each predicted position's cross-entropy against its next token, and which positions are real (not padding).
struct TargetLosses {
  torch::Tensor losses;   // (B*(T-1)) nats
  torch::Tensor targets;  // (B*(T-1)) the target ids, padding replaced by 0
  torch::Tensor real;     // (B*(T-1)) bool
};

// Needs T >= 2.
TargetLosses target_losses(const torch::Tensor& logits, const torch::Tensor& tokens, int64_t pad_id) {
  const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
  auto predicted = logits.narrow(1, 0, T - 1).reshape({B * (T - 1), V});  // (B*(T-1), V)
  auto targets = tokens.narrow(1, 1, T - 1).reshape({B * (T - 1)});       // (B*(T-1))
  auto real = targets != pad_id;                                          // (B*(T-1))
  // Padded targets are replaced by a valid id so the gather stays in range; their loss is masked out.
  auto safe_targets = targets.masked_fill(real.logical_not(), 0);
  auto losses = torch::nn::functional::cross_entropy(
      predicted, safe_targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));  // (N)
  return {losses, safe_targets, real};
}

void check_tokens(const torch::Tensor& logits, const torch::Tensor& tokens, const char* what) {
  check_logits(logits, tokens, what);
  if (tokens.dim() != 2 || tokens.scalar_type() != torch::kLong)
    throw Error(std::string(what) + ": tokens must be (B, T) int64");
}

}  // namespace

torch::Tensor token_cross_entropy(const torch::Tensor& logits, const torch::Tensor& tokens, int64_t pad_id) {
  check_tokens(logits, tokens, "token_cross_entropy");
  if (logits.size(1) < 2) return logits.sum() * 0.0;  // nothing to predict; keeps the graph connected
  const TargetLosses scored = target_losses(logits, tokens, pad_id);
  return masked_mean(scored.losses, scored.real);
}

torch::Tensor weighted_token_cross_entropy(const torch::Tensor& logits, const torch::Tensor& tokens, int64_t pad_id,
                                           const torch::Tensor& target_weights) {
  check_tokens(logits, tokens, "weighted_token_cross_entropy");
  const int64_t V = logits.size(2);
  if (!target_weights.defined() || target_weights.dim() != 1 || target_weights.size(0) != V)
    throw Error("weighted_token_cross_entropy: target_weights must be (V) = (" + std::to_string(V) + "), got " +
                shape_of(target_weights));
  if (logits.size(1) < 2) return logits.sum() * 0.0;
  const TargetLosses scored = target_losses(logits, tokens, pad_id);
  auto weights = target_weights.to(scored.losses.device(), scored.losses.scalar_type())
                     .index_select(0, scored.targets);  // (B*(T-1))
  return masked_mean(scored.losses * weights, scored.real);
}

torch::Tensor frame_nll(const torch::Tensor& logits, const torch::Tensor& frames, const torch::Tensor& frame_mask) {
  check_logits(logits, frames, "frame_nll");
  if (frames.dim() != 3 || frames.size(2) != logits.size(2))
    throw Error("frame_nll: frames must be (B, T, V) like the logits, got logits " + shape_of(logits) + " and frames " +
                shape_of(frames));
  const int64_t B = logits.size(0), T = logits.size(1);
  if (frame_mask.defined() && (frame_mask.dim() != 2 || frame_mask.size(0) != B || frame_mask.size(1) != T))
    throw Error("frame_nll: frame_mask must be (B, T)");
  if (T < 2) return logits.sum() * 0.0;
  auto predicted = logits.narrow(1, 0, T - 1);                         // (B, T-1, V)
  auto targets = frames.narrow(1, 1, T - 1).to(logits.scalar_type());  // (B, T-1, V)
  auto per_frame =
      torch::binary_cross_entropy_with_logits(predicted, targets, {}, {}, at::Reduction::None).sum(-1);  // (B, T-1)
  auto real = frame_mask.defined() ? frame_mask.narrow(1, 1, T - 1).to(torch::kBool)
                                   : torch::ones({B, T - 1}, torch::dtype(torch::kBool).device(logits.device()));
  return masked_mean(per_frame, real);
}

}  // namespace cadenza::models
