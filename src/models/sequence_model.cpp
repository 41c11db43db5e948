#include "models/sequence_model.h"

namespace cadenza::models {

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.parameters(/*recurse=*/true)) {
    if (parameter.requires_grad()) count += parameter.numel();
  }
  return count;
}

void SequenceModelImpl::register_context(int64_t width) {
  if (config_.context_positions > 0)
    bar_position = register_module("bar_position", torch::nn::Embedding(config_.context_positions, width));
  if (config_.context_lookback > 0) {
    lookback = register_module("lookback", torch::nn::ModuleList());
    for (int64_t k = 0; k < config_.context_lookback; ++k) {
      lookback_list_.push_back(torch::nn::Embedding(config_.vocab_size + 1, width));  // + 1: "no such token"
      lookback->push_back(lookback_list_.back());
    }
  }
}

torch::Tensor SequenceModelImpl::embed_context(const torch::Tensor& context, int64_t batch, int64_t steps,
                                               bool one_step) {
  const std::string who = config_.family + " model";
  if (!context.defined()) throw Error(who + ": it reads a step context (bar position, lookback), but none was given");
  const bool shape_ok = one_step ? context.dim() == 2 && context.size(0) == batch
                                 : context.dim() == 3 && context.size(0) == batch && context.size(1) == steps;
  if (!shape_ok || context.size(-1) != 3 || context.scalar_type() != torch::kLong)
    throw Error(who + ": the step context must be int64 of shape " + (one_step ? "(B, 3)" : "(B, T, 3)") +
                " for the input it goes with");
  auto check = [&](const torch::Tensor& column, int64_t limit, const char* what) {
    if (column.numel() == 0) return;
    auto [low, high] = torch::aminmax(column);
    if (low.item<int64_t>() < 0 || high.item<int64_t>() >= limit)
      throw Error(who + ": step context " + what + " must be in [0, " + std::to_string(limit) + "), found " +
                  std::to_string(low.item<int64_t>()) + ".." + std::to_string(high.item<int64_t>()));
  };
  torch::Tensor sum;
  if (bar_position) {
    const torch::Tensor positions = context.select(-1, 0);
    check(positions, config_.context_positions, "positions");
    sum = bar_position->forward(positions);  // (B, T, E) or (B, E)
  }
  for (size_t k = 0; k < lookback_list_.size(); ++k) {
    const torch::Tensor tokens = context.select(-1, 1 + static_cast<int64_t>(k));
    check(tokens, config_.vocab_size + 1, k == 0 ? "lookback tokens (1 bar)" : "lookback tokens (2 bars)");
    const torch::Tensor embedded = lookback_list_[k]->forward(tokens);
    sum = sum.defined() ? sum + embedded : embedded;
  }
  return sum;
}

}  // namespace cadenza::models
