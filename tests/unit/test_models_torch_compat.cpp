// models/torch_compat.h: --precision, bf16 autocast scopes on the CPU (the same code path as CUDA's, through the
// device type), pausing autocast for the update, and zeroing gradients as 1.13 does.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "models/torch_compat.h"
#include "support/test_support.h"

namespace cadenza::models {
namespace {

TEST(ModelsTorchCompat, ParsesPrecisionAndNamesABadOne) {
  EXPECT_EQ(parse_precision("fp32"), Precision::kFp32);
  EXPECT_EQ(parse_precision("bf16"), Precision::kBf16);
  EXPECT_STREQ(precision_name(Precision::kBf16), "bf16");
  EXPECT_STREQ(precision_name(Precision::kFp32), "fp32");
  EXPECT_THROW_WITH(parse_precision("fp16"), Error, {"--precision fp16", "expected fp32 or bf16"});
}

TEST(ModelsTorchCompat, Bf16ScopeCastsMatmulsKeepsLossesFp32AndRestores) {
  torch::manual_seed(3);
  torch::nn::Linear linear(8, 5);
  const torch::Tensor x = torch::randn({4, 8});
  const torch::Tensor targets = torch::tensor({0, 1, 2, 3}, torch::kLong);
  const torch::Tensor reference = linear(x);
  ASSERT_FALSE(autocast_enabled(/*cuda=*/false));
  {
    const AutocastScope scope(torch::kCPU, Precision::kBf16);
    EXPECT_TRUE(autocast_enabled(false));
    const torch::Tensor logits = linear(x);
    EXPECT_EQ(logits.scalar_type(), torch::kBFloat16);
    // bf16 keeps 8 bits of mantissa: close to the fp32 result, not equal to it.
    EXPECT_LT((logits.to(torch::kFloat) - reference).abs().max().item<double>(), 0.05);
    EXPECT_GT((logits.to(torch::kFloat) - reference).abs().max().item<double>(), 0.0);
    const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, targets);
    EXPECT_EQ(loss.scalar_type(), torch::kFloat);  // losses stay fp32
    {
      const AutocastScope nested(torch::kCPU, Precision::kBf16);
      EXPECT_TRUE(autocast_enabled(false));
    }
    EXPECT_TRUE(autocast_enabled(false));  // the nested scope restored the outer one's state
    {
      const AutocastPause pause;
      EXPECT_FALSE(autocast_enabled(false));
      EXPECT_EQ(linear(x).scalar_type(), torch::kFloat);
    }
    EXPECT_TRUE(autocast_enabled(false));
  }
  EXPECT_FALSE(autocast_enabled(false));
  EXPECT_EQ(linear(x).scalar_type(), torch::kFloat);
  {
    const AutocastScope fp32(torch::kCPU, Precision::kFp32);  // does nothing
    EXPECT_FALSE(autocast_enabled(false));
  }
}

TEST(ModelsTorchCompat, Bf16StepTrainsFp32WeightsWithFreshCasts) {
  // The autocast cache must not serve the pre-update bf16 copy of a weight in the next step.
  torch::manual_seed(4);
  torch::nn::Linear linear(6, 3);
  torch::optim::SGD optimizer(linear->parameters(), torch::optim::SGDOptions(0.5));
  const torch::Tensor x = torch::randn({5, 6});
  const torch::Tensor targets = torch::tensor({0, 1, 2, 0, 1}, torch::kLong);
  std::vector<double> losses;
  for (int step = 0; step < 3; ++step) {
    torch::Tensor loss;
    {
      const AutocastScope scope(torch::kCPU, Precision::kBf16);
      loss = torch::nn::functional::cross_entropy(linear(x), targets);
    }
    zero_gradients(optimizer);
    loss.backward();
    EXPECT_EQ(linear->weight.grad().scalar_type(), torch::kFloat);
    optimizer.step();
    losses.push_back(loss.item<double>());
  }
  EXPECT_EQ(linear->weight.scalar_type(), torch::kFloat);
  EXPECT_LT(losses[2], losses[1]);
  EXPECT_LT(losses[1], losses[0]);
}

TEST(ModelsTorchCompat, ZeroGradientsKeepsZeroTensors) {
  torch::nn::Linear linear(2, 2);
  torch::optim::SGD optimizer(linear->parameters(), torch::optim::SGDOptions(0.1));
  linear(torch::ones({1, 2})).sum().backward();
  ASSERT_TRUE(linear->weight.grad().defined());
  zero_gradients(optimizer);
  ASSERT_TRUE(linear->weight.grad().defined());  // 2.x's default would drop it
  EXPECT_EQ(linear->weight.grad().abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace cadenza::models
