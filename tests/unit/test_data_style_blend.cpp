// Style vectors for generation (data/style_blend.h): --style NAME or NAME=W,... and --style-path "A@0 -> B@16",
// their values and their errors (checked by message).
#include <gtest/gtest.h>

#include "common/error.h"
#include "data/style_blend.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

const std::vector<std::string> kNames = {"hpps", "jigs", "reels", "waltzes"};

void expect_weights(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << "style " << i;
}

TEST(StyleMixture, OneStyleOrNormalisedWeights) {
  expect_weights(parse_style_mixture("jigs", kNames), {0, 1, 0, 0});
  expect_weights(parse_style_mixture("jigs=0.7,waltzes=0.3", kNames), {0, 0.7, 0, 0.3});
  expect_weights(parse_style_mixture(" jigs = 3 , reels=1 ", kNames), {0, 0.75, 0.25, 0});
  expect_weights(parse_style_mixture("jigs,reels", kNames), {0, 0.5, 0.5, 0});  // no "=W": weight 1
  expect_weights(parse_style_mixture("jigs=0,reels=2", kNames), {0, 0, 1, 0});
  expect_weights(even_style_mixture(4), {0.25, 0.25, 0.25, 0.25});
  EXPECT_EQ(describe_style_vector(parse_style_mixture("jigs=0.7,waltzes=0.3", kNames), kNames),
            "jigs=0.70, waltzes=0.30");
}

TEST(StyleMixture, ErrorsNameTheProblem) {
  EXPECT_THROW_WITH(parse_style_mixture("polkas", kNames), Error,
                    {"unknown style 'polkas'", "the model knows hpps, jigs, reels, waltzes"});
  EXPECT_THROW_WITH(parse_style_mixture("jigs=0.7,Jigs=0.3", kNames), Error, {"unknown style 'Jigs'"});
  EXPECT_THROW_WITH(parse_style_mixture("jigs=0,reels=0", kNames), Error, {"sum to 0"});
  EXPECT_THROW_WITH(parse_style_mixture("jigs=-1,reels=2", kNames), Error,
                    {"weight of 'jigs'", "non-negative number", "'-1'"});
  EXPECT_THROW_WITH(parse_style_mixture("jigs=lots", kNames), Error, {"weight of 'jigs'", "'lots'"});
  EXPECT_THROW_WITH(parse_style_mixture("jigs=", kNames), Error, {"weight of 'jigs'"});
  EXPECT_THROW_WITH(parse_style_mixture("jigs=nan", kNames), Error, {"weight of 'jigs'"});
  EXPECT_THROW_WITH(parse_style_mixture("jigs=1,jigs=2", kNames), Error, {"'jigs' is given twice"});
  EXPECT_THROW_WITH(parse_style_mixture("jigs,,reels", kNames), Error, {"an empty item"});
  EXPECT_THROW_WITH(parse_style_mixture("", kNames), Error, {"an empty item"});
  EXPECT_THROW_WITH(parse_style_mixture("jigs", {}), Error, {"the model has no styles"});
}

TEST(StylePath, InterpolatesByBarAndHoldsOutsideTheAnchors) {
  const StylePath path = parse_style_path("jigs@0 -> waltzes@16", kNames);
  ASSERT_EQ(path.anchors.size(), 2u);
  EXPECT_FALSE(path.constant());
  expect_weights(path.at_bar(0), {0, 1, 0, 0});
  expect_weights(path.at_bar(4), {0, 0.75, 0, 0.25});
  expect_weights(path.at_bar(8), {0, 0.5, 0, 0.5});
  expect_weights(path.at_bar(16), {0, 0, 0, 1});
  expect_weights(path.at_bar(40), {0, 0, 0, 1});

  // Three anchors, mixtures as anchors, a late first anchor (held before it).
  const StylePath three = parse_style_path("reels@4->jigs=0.5,hpps=0.5@8 -> waltzes@10", kNames);
  expect_weights(three.at_bar(0), {0, 0, 1, 0});
  expect_weights(three.at_bar(6), {0.25, 0.25, 0.5, 0});
  expect_weights(three.at_bar(9), {0.25, 0.25, 0, 0.5});
  EXPECT_TRUE(parse_style_path("jigs@0", kNames).constant());
}

TEST(StylePath, ErrorsNameTheAnchor) {
  EXPECT_THROW_WITH(parse_style_path("jigs -> waltzes@16", kNames), Error, {"anchor 1 ('jigs')", "expected STYLE@BAR"});
  EXPECT_THROW_WITH(parse_style_path("jigs@0 -> waltzes@x", kNames), Error,
                    {"anchor 2 ('waltzes@x')", "bar must be a non-negative number", "'x'"});
  EXPECT_THROW_WITH(parse_style_path("jigs@-2", kNames), Error, {"anchor 1", "non-negative"});
  EXPECT_THROW_WITH(parse_style_path("jigs@8 -> waltzes@8", kNames), Error,
                    {"anchor 2", "bars must ascend", "8 does not come after 8"});
  EXPECT_THROW_WITH(parse_style_path("jigs@0 -> polkas@16", kNames), Error,
                    {"anchor 2 ('polkas@16')", "unknown style 'polkas'", "hpps, jigs, reels, waltzes"});
  EXPECT_THROW_WITH(parse_style_path("jigs@0 ->", kNames), Error, {"anchor 2", "expected STYLE@BAR"});
}

}  // namespace
}  // namespace cadenza
