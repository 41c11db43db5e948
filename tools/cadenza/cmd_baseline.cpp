// `cadenza baseline --data SHARD [--split test] [--max-order N] [--json]`: the likelihood a neural model must beat,
// from an interpolated Kneser-Ney n-gram (order chosen on the valid split) and the same n-gram with a cache of the
// tokens already heard in the piece (src/eval/ngram.h), scored with the protocol of `cadenza evaluate`. Torch-free.
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "command.h"
#include "common/error.h"
#include "data/shard.h"
#include "data/split.h"
#include "eval/ngram.h"

namespace cadenza::cli {

namespace {

struct BaselineCommandOptions {
  std::string data;
  std::string split = "test";
  int max_order = 10;
  int order = 0;
  int64_t window = 1024;
  int max_cache_context = 64;
  bool cache = true;
  bool json = false;
};

void run_baseline(const BaselineCommandOptions& cli) {
  const Shard shard(cli.data);
  eval::NgramBaselineOptions options;
  options.split = parse_split(cli.split);
  options.max_order = cli.max_order;
  options.order = cli.order;
  options.window = cli.window;
  options.max_cache_context = cli.max_cache_context;
  options.cache = cli.cache;
  const eval::NgramBaseline b = eval::fit_ngram_baseline(shard, options);
  if (cli.json) {
    nlohmann::json out = eval::to_json(b);
    out["data"] = cli.data;
    out["window"] = cli.window;
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%s, %s split: %lld pieces, %lld tokens scored (windows of %lld tokens, as `cadenza evaluate`)\n",
              cli.data.c_str(), b.split.c_str(), static_cast<long long>(b.pieces), static_cast<long long>(b.elements),
              static_cast<long long>(cli.window));
  std::printf("  estimated on %lld train-split tokens (%zu distinct n-grams); fitted and scored in %.1f s\n",
              static_cast<long long>(b.train_tokens), b.ngrams, b.seconds);
  if (!b.valid_by_order.empty()) {
    std::printf("  valid NLL by order (nats/token):");
    for (const auto& score : b.valid_by_order) std::printf(" %d:%.4f", score.order, score.valid_nll);
    std::printf("\n");
  }
  std::printf("  %-36s %10s %10s %12s %10s\n", "", "NLL", "bits", "perplexity", "valid NLL");
  auto row = [](const std::string& label, double nll, double bits, double valid) {
    char valid_text[32] = "-";
    if (std::isfinite(valid)) std::snprintf(valid_text, sizeof valid_text, "%.4f", valid);
    std::printf("  %-36s %10.4f %10.4f %12.3f %10s\n", label.c_str(), nll, bits, std::exp(nll), valid_text);
  };
  row("Kneser-Ney " + std::to_string(b.order) + "-gram", b.nll, b.bits, b.valid_nll);
  if (std::isfinite(b.nll_cached)) {
    row("Kneser-Ney " + std::to_string(b.cached_order) + "-gram + piece cache", b.nll_cached, b.bits_cached,
        b.valid_nll_cached);
    std::printf("  cache: contexts of %d..%d tokens, concentration %g (chosen on valid)\n", b.cache.min_context,
                b.cache.max_context, b.cache.concentration);
  }
  std::printf("  (nats per token; every token of a piece but the first, as `cadenza evaluate` scores a model)\n");
}

void setup_baseline(CLI::App& parent) {
  auto options = std::make_shared<BaselineCommandOptions>();
  auto* command = parent.add_subcommand(
      "baseline",
      "Likelihood baselines for a token shard: an interpolated Kneser-Ney n-gram (order chosen on the valid split) "
      "and the same with a within-piece cache, scored as `cadenza evaluate` scores a model; see docs/baselines.md");
  command->add_option("--data", options->data, "Token shard (piano-roll shards are not supported)")->required();
  command->add_option("--split", options->split, "Split to score: train, valid or test")->capture_default_str();
  command->add_option("--max-order", options->max_order, "Orders 1..N are tried on the valid split")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command->add_option("--order", options->order, "Use this order instead of choosing one (0 = choose)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  command->add_option("--window", options->window, "Longest window scored at once, as in `cadenza evaluate`")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 40))
      ->capture_default_str();
  command
      ->add_option("--max-cache-context", options->max_cache_context,
                   "Longest context the cache matches in the piece's history")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  command->add_flag("!--no-cache", options->cache, "Skip the cached model");
  command->add_flag("--json", options->json, "Print JSON (NaN as null)");
  command->callback([options] { run_baseline(*options); });
}

}  // namespace

static const CommandRegistration registration{"baseline", setup_baseline};

}  // namespace cadenza::cli
