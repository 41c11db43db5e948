// What every learner shares: the optimizer helpers, the finite-loss check, and the dispatch to a family's own
// learner through its registry row.
#include "train/learner.h"

#include <cmath>

#include "codec/batches.h"
#include "common/error.h"
#include "models/torch_compat.h"
#include "train/distributed.h"

namespace cadenza::train {

using nlohmann::json;

void check_finite_loss(double value, const std::string& what) {
  if (!std::isfinite(value)) throw NonFiniteLoss(value, what);
}

double apply_update(const torch::Tensor& loss, const std::string& what, torch::nn::Module& module,
                    torch::optim::Optimizer& optimizer, double clip_norm, DataParallel* parallel, double weight,
                    std::vector<double>* means) {
  // Under --precision bf16 the forward pass ran in autocast; the backward pass follows its dtypes by itself, and the
  // clipping and the update work on the fp32 weights and gradients.
  models::AutocastPause fp32_update;
  if (parallel != nullptr) {
    // Every rank must reach the all-reduce, so the finite check comes after it, on the global loss.
    models::zero_gradients(optimizer);
    loss.backward();
    const double value = parallel->average_gradients(module, loss.item<double>(), weight, means);
    check_finite_loss(value, what);
    if (clip_norm > 0) torch::nn::utils::clip_grad_norm_(module.parameters(), clip_norm);
    optimizer.step();
    return value;
  }
  const double value = loss.item<double>();  // CPU: no sync cost; needed to stop before a bad update
  check_finite_loss(value, what);
  models::zero_gradients(optimizer);
  loss.backward();
  if (clip_norm > 0) torch::nn::utils::clip_grad_norm_(module.parameters(), clip_norm);
  optimizer.step();
  return value;
}

codec::TensorBatch rows_of_this_rank(const codec::TensorBatch& batch, const DataParallel& parallel) {
  const auto [begin, end] = parallel.slice_of(batch.input.size(0));
  const auto rows = [&](const torch::Tensor& t) { return t.defined() ? t.narrow(0, begin, end - begin) : t; };
  codec::TensorBatch slice;
  slice.input = rows(batch.input);
  slice.targets = rows(batch.targets);
  slice.frame_mask = rows(batch.frame_mask);
  slice.context = rows(batch.context);
  return slice;
}

codec::TensorBatch on_device(const codec::TensorBatch& batch, const torch::Device& device) {
  if (device.is_cpu()) return batch;
  const auto move = [&](const torch::Tensor& t) { return t.defined() ? t.to(device, /*non_blocking=*/true) : t; };
  codec::TensorBatch moved = batch;
  moved.input = move(batch.input);
  moved.targets = move(batch.targets);
  moved.frame_mask = move(batch.frame_mask);
  moved.context = move(batch.context);
  return moved;
}

double scored_elements(const codec::TensorBatch& batch, bool frames, int64_t pad_id) {
  const torch::Tensor& steps = frames ? batch.input : batch.targets;  // (b, T[, V])
  const int64_t T = steps.size(1);
  if (T < 2) return 0;
  if (!frames) return (batch.targets.narrow(1, 1, T - 1) != pad_id).sum().item<double>();
  if (!batch.frame_mask.defined()) return static_cast<double>(steps.size(0) * (T - 1));
  return batch.frame_mask.narrow(1, 1, T - 1).sum().item<double>();
}

std::unique_ptr<torch::optim::AdamW> make_adam(torch::nn::Module& module, const TrainOptions& options) {
  return std::make_unique<torch::optim::AdamW>(module.parameters(), torch::optim::AdamWOptions(options.learning_rate)
                                                                        .betas({options.beta1, options.beta2})
                                                                        .weight_decay(options.weight_decay));
}

void set_learning_rate(torch::optim::AdamW& optimizer, double learning_rate) {
  for (auto& group : optimizer.param_groups())
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(learning_rate);
}

std::string family_name_of(const json& model_config) {
  if (!model_config.is_object() || !model_config.contains("family") || !model_config["family"].is_string())
    throw Error("model config has no string \"family\"");
  return model_config["family"].get<std::string>();
}

json resolve_model_config(const json& model, const Shard& shard, FamilyLookup families) {
  const models::Family& family = families(family_name_of(model));
  std::string why;
  if (!family.fits(shard.is_piano_roll(), shard.is_piano_roll() ? "pianoroll" : shard.metadata().encoding_name(),
                   shard.is_piano_roll() ? shard.roll_spec().num_tracks : 0, &why))
    throw Error(shard.path() + ": " + why);
  return family.resolve_model_config(family, model, shard);
}

std::unique_ptr<Learner> make_learner(const json& config, const Shard& shard, const TrainOptions& options,
                                      FamilyLookup families) {
  const json& model = config.at("model");
  const models::Family& family = families(family_name_of(model));
  return family.make_learner(family, model, shard, options);
}

}  // namespace cadenza::train
