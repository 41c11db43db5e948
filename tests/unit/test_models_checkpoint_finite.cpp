// A checkpoint whose weights hold NaN or infinity is refused where the weights are loaded, naming the file and the
// tensor, instead of evaluating to "NLL nan" or generating nothing.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "common/error.h"
#include "common/safetensors.h"
#include "encoding/encoding.h"
#include "models/checkpoint.h"
#include "support/sequence_models.h"
#include "support/test_support.h"

namespace cadenza::models {
namespace {

// A tiny LSTM checkpoint of the melody encoding.
std::string save_tiny_lstm(const testing::TempDir& dir) {
  auto encoding = make_token_encoding({{"name", "melody"}});
  ModelConfig config;
  config.family = "lstm";
  config.input_kind = InputKind::kTokens;
  config.vocab_size = encoding->vocabulary().size();
  config.embedding_size = 6;
  config.hidden_size = 8;
  config.num_layers = 1;
  torch::manual_seed(3);
  auto model = testing::test_sequence_model(config);
  const std::string path = dir.file("model.safetensors");
  save_checkpoint(path, *model, encoding->spec(), encoding->vocabulary().names(), {{"step", 1}});
  return path;
}

// Overwrites element `index` of tensor `name` (F32) with `value`.
void poison(const std::string& path, const std::string& name, size_t index, float value) {
  auto file = safetensors::read(path);
  auto& tensor = file.tensors.at(name);
  ASSERT_EQ(tensor.dtype, safetensors::DType::kF32);
  ASSERT_LT(index * 4, tensor.data.size());
  std::memcpy(tensor.data.data() + index * 4, &value, 4);
  safetensors::write(path, file);
}

std::string load_error(const std::string& path) {
  try {
    load_checkpoint(path, testing::test_sequence_model);
  } catch (const FormatError& error) {
    return error.what();
  }
  return "(loaded)";
}

std::string weights_error(const std::string& path, torch::nn::Module& module) {
  try {
    load_checkpoint_weights(path, module);
  } catch (const FormatError& error) {
    return error.what();
  }
  return "(loaded)";
}

TEST(ModelsCheckpointFinite, NanOrInfinityInAWeightIsRefusedNamingFileAndTensor) {
  testing::TempDir dir;
  const std::string path = save_tiny_lstm(dir);
  ASSERT_EQ(load_error(path), "(loaded)");
  const auto names = safetensors::read(path).tensors;
  ASSERT_TRUE(names.count("head.weight")) << "tensor names changed; pick another";
  const int64_t head_elements = names.at("head.weight").element_count();

  poison(path, "head.weight", 5, std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(load_error(path), path + ": weight tensor \"head.weight\" holds NaN (element 5 of " +
                                  std::to_string(head_elements) +
                                  "): the model is not usable (did its training diverge?)");

  poison(path, "head.weight", 5, 0.5f);
  poison(path, "head.weight", 0, -std::numeric_limits<float>::infinity());
  EXPECT_EQ(load_error(path), path + ": weight tensor \"head.weight\" holds -inf (element 0 of " +
                                  std::to_string(head_elements) +
                                  "): the model is not usable (did its training diverge?)");

  // The same check guards the path that loads into a module the caller built (latent families, --resume).
  const auto info = read_checkpoint_info(path);
  auto module = testing::test_sequence_model(ModelConfig::from_json(info.model_config_json));
  EXPECT_EQ(weights_error(path, *module), load_error(path));
  poison(path, "head.weight", 0, std::numeric_limits<float>::max());  // large but finite: fine
  EXPECT_EQ(weights_error(path, *module), "(loaded)");
  EXPECT_EQ(load_error(path), "(loaded)");
}

}  // namespace
}  // namespace cadenza::models
