// Fine-tuning: a run that starts from the weights of an existing checkpoint instead of fresh ones
// (`cadenza train --init-from CHECKPOINT|RUN|BUNDLED_NAME`; docs/conditioning.md, "Fine-tuning").
//
// The run's config then has a "fine_tune" section besides "model" and "train":
//   {"init_from": what the user named, "checkpoint": the checkpoint file read,
//    "sha256": SHA-256 of that file (filled in when the run starts), "freeze": ["embedding", "layers:0", ...],
//    "frozen_parameters": how many weights (scalars) the freeze holds still (filled in when the run starts)}
// It travels with the config into config.json and into every checkpoint's training metadata, so a fine-tuned
// model says where it came from; a resumed fine-tuning run freezes the same groups again.
//
// What carries over: the model (config and weights). What does not: the optimizer state and the loop state (the
// run starts at step 0 with fresh AdamW moments) and the training options (the fine-tuning preset,
// apply_fine_tune_preset in train_config.h, and the user's --set / --config).
//
// Parameter groups (for freezing) come from the parameters' names, the same way for every family:
//   NAME        every parameter under the top-level module NAME ("embedding", "head", "rnn", "blocks", "encoder",
//               "generator", ...);
//   layers:N    every parameter of layer N of a layer stack: "blocks.N.*" (a numbered top-level list, e.g. the
//               transformer's blocks) or a torch RNN's "*_lN" / "*_lN_reverse" weights (the recurrent families);
//   layers      every parameter that belongs to some layers:N.
// Only parameters are frozen; buffers (batch-norm statistics of the GAN) still follow the data.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/shard.h"
#include "models/checkpoint.h"

namespace cadenza::train {

// Throws cadenza::Error when the shard's encoding or vocabulary differs from the checkpoint's, naming what differs
// (both encoding specs, or both vocabulary sizes, or the first token that differs). `what` names the checkpoint's
// role in the message ("the checkpoint to fine-tune", "the run").
void check_data_matches_checkpoint(const Shard& shard, const models::CheckpointInfo& checkpoint,
                                   const std::string& what);

// The groups a module's parameters fall into (see above), sorted: top-level names, then "layers", "layers:0", ...
std::vector<std::string> parameter_groups(const torch::nn::Module& module);

// Sets requires_grad = false on every parameter of the named groups; returns how many parameter tensors that
// froze. An unknown group throws cadenza::Error listing the valid ones; freezing every parameter throws too.
int64_t freeze_parameter_groups(torch::nn::Module& module, const std::vector<std::string>& groups);

}  // namespace cadenza::train
