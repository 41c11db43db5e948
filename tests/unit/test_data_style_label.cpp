// Style labels from folders and file names (data/style_label.h).
#include <gtest/gtest.h>

#include "common/error.h"
#include "data/style_label.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

TEST(DataStyleLabel, FolderRuleTakesTheInnermostFolder) {
  const StyleRule rule = StyleRule::parse("folder");
  EXPECT_EQ(rule.to_string(), "folder");
  EXPECT_EQ(style_for_path(rule, "jigs/jigs12.mid"), "jigs");
  EXPECT_EQ(style_for_path(rule, "irish/reels/a.mid"), "reels");
  EXPECT_EQ(style_for_path(rule, "a.mid"), std::nullopt);
}

TEST(DataStyleLabel, NameRuleTakesTheFirstGroupOrTheMatch) {
  const StyleRule nottingham = StyleRule::parse("name:^(reels|[a-z]+)");
  EXPECT_EQ(nottingham.to_string(), "name:^(reels|[a-z]+)");
  EXPECT_EQ(style_for_path(nottingham, "reelsa-c12.mid"), "reels");
  EXPECT_EQ(style_for_path(nottingham, "jigs300.mid"), "jigs");
  EXPECT_EQ(style_for_path(nottingham, "sub/hpps4.mid"), "hpps");  // the file's name, not its folder
  EXPECT_EQ(style_for_path(nottingham, "12.mid"), std::nullopt);
  const StyleRule whole = StyleRule::parse("name:waltz");
  EXPECT_EQ(style_for_path(whole, "old_waltz_3.mid"), "waltz");
  EXPECT_EQ(style_for_path(whole, "jig.mid"), std::nullopt);
  // An optional group that did not take part falls back to the whole match.
  EXPECT_EQ(style_for_path(StyleRule::parse("name:[a-z]+(X)?"), "abc1.mid"), "abc");
}

TEST(DataStyleLabel, BadRulesAndNamesAreNamed) {
  EXPECT_THROW_WITH(StyleRule::parse("file"), Error, {"style rule 'file'", "expected 'folder' or 'name:REGEX'"});
  EXPECT_THROW_WITH(StyleRule::parse("name:"), Error, {"style rule 'name:'"});
  EXPECT_THROW_WITH(StyleRule::parse("name:(ab"), Error, {"style rule 'name:(ab'", "does not compile"});
  EXPECT_THROW_WITH(check_style_name("jigs=1"), Error, {"style name 'jigs=1'", "character '='"});
  EXPECT_THROW_WITH(check_style_name(""), Error, {"style name ''", "1 to 64"});
  EXPECT_THROW_WITH(style_for_path(StyleRule::parse("folder"), "my jigs/a.mid"), Error,
                    {"style name 'my jigs'", "character ' '"});
  check_style_name("reels_A-c.2");
}

}  // namespace
}  // namespace cadenza
