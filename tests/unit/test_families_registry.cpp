// The family registry: every row is complete and consistent, names and aliases resolve, unknown names are refused
// with the list of known ones. A new family's row is checked here without a test of its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/error.h"
#include "families/registry.h"
#include "support/test_support.h"
#include "train/train_config.h"

namespace cadenza::families {
namespace {

TEST(FamiliesRegistry, EveryRowHasItsEntryPointsAndConsistentPresets) {
  std::set<std::string> names;
  for (const models::Family& family : all_families()) {
    SCOPED_TRACE(family.name);
    EXPECT_TRUE(names.insert(family.name).second) << "listed twice";
    for (const auto& alias : family.aliases) EXPECT_TRUE(names.insert(alias).second) << "alias " << alias;
    EXPECT_FALSE(family.summary.empty());
    EXPECT_TRUE(family.data.tokens || family.data.frames);
    EXPECT_FALSE(family.data.needs.empty());
    ASSERT_NE(family.check_model_config, nullptr);
    ASSERT_NE(family.default_model_config, nullptr);
    ASSERT_NE(family.preset, nullptr);
    ASSERT_NE(family.resolve_model_config, nullptr);
    ASSERT_NE(family.make_learner, nullptr);
    ASSERT_NE(family.evaluate, nullptr);
    ASSERT_NE(family.open_sampler, nullptr);
    if (family.make_sequence_model != nullptr) {
      EXPECT_TRUE(family.autoregressive()) << "a SequenceModelImpl is an autoregressive model";
    }
    EXPECT_EQ(family.has_bars, family.apply_bars != nullptr);
    // The default config is a valid config of the family once the data's keys are there, and names it.
    const nlohmann::json defaults = family.default_model_config();
    EXPECT_EQ(defaults.value("family", family.name), family.name);
    // Every preset of every data kind the family takes gives model keys the family knows and valid training keys.
    const std::vector<std::string> keys = model_keys(family);
    for (const auto& preset : train::preset_names()) {
      for (bool frames : {false, true}) {
        if (frames ? !family.data.frames : !family.data.tokens) continue;
        const nlohmann::json config = preset_config(preset, family.name, frames);
        EXPECT_EQ(config["model"]["family"], family.name);
        for (const auto& [key, unused] : config["model"].items()) {
          if (key != "family") {
            EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << preset << ": " << key;
          }
        }
        EXPECT_NO_THROW(train::TrainOptions::from_json(config["train"])) << preset;
      }
    }
  }
}

TEST(FamiliesRegistry, NamesAndAliasesResolveAndUnknownNamesAreRefused) {
  EXPECT_EQ(find_family("lstm").name, "lstm");
  EXPECT_EQ(find_family("gan").name, "musegan");
  EXPECT_EQ(find_family("musegan").name, "musegan");
  EXPECT_EQ(find_family("rgan").name, "crnngan");
  EXPECT_THROW_WITH(find_family("mamba"), Error, {"mamba", "lstm", "transformer", "vae", "gan"});
  // `--model` accepts one short name per family.
  const auto names = model_names();
  EXPECT_EQ(names.size(), all_families().size());
  for (const auto& name : names) EXPECT_NO_THROW(find_family(name)) << name;
}

TEST(FamiliesRegistry, SetKeysAreTheFamilysConfigKeys) {
  nlohmann::json config = preset_config("tiny", "vae", false);
  train::apply_setting(config, "latent_size=8", model_keys(find_family("vae")), data_keys());
  EXPECT_EQ(config["model"]["latent_size"], 8);
  EXPECT_THROW_WITH(train::apply_setting(config, "num_heads=2", model_keys(find_family("vae")), data_keys()), Error,
                    {"num_heads", "unknown key"});
  EXPECT_THROW_WITH(train::apply_setting(config, "vocab_size=3", model_keys(find_family("vae")), data_keys()), Error,
                    {"vocab_size", "comes from the data"});
}

}  // namespace
}  // namespace cadenza::families
