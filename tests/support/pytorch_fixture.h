// Base of the tests that compare a model family with its PyTorch reference: loads one fixture file written by
// tests/fixtures/make_*_fixtures.py (weights under "model.", the input, expected tensors, and metadata with the
// model config, the loss kind and the optimizer settings). Header-only: it needs libtorch, the support library
// does not link it.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "common/safetensors.h"
#include "models/losses.h"
#include "models/sequence_model.h"
#include "models/tensor_io.h"

namespace cadenza::testing {

// Parameter: the fixture's base name in tests/fixtures/models/.
class PyTorchFixtureTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    path_ = std::string(CADENZA_SOURCE_DIR) + "/tests/fixtures/models/" + GetParam() + ".safetensors";
    file_ = safetensors::read(path_);
    config_ = models::ModelConfig::from_json(nlohmann::json::parse(file_.metadata.at("config")));
  }
  torch::Tensor get(const std::string& name) const {
    auto found = file_.tensors.find(name);
    if (found == file_.tensors.end()) throw Error(path_ + ": fixture has no tensor " + name);
    return models::to_torch(found->second);
  }
  double metadata_number(const std::string& key) const { return std::stod(file_.metadata.at(key)); }
  // The loss the fixture was made with, on the fixture's input.
  torch::Tensor loss_of(const torch::Tensor& logits) const {
    if (file_.metadata.at("loss") == "token_cross_entropy")
      return models::token_cross_entropy(logits, get("input"), std::stoll(file_.metadata.at("pad_id")));
    return models::frame_nll(logits, get("input"), get("frame_mask"));
  }

  std::string path_;
  safetensors::TensorFile file_;
  models::ModelConfig config_;
};

}  // namespace cadenza::testing
