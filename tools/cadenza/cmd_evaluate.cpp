// `cadenza evaluate --checkpoint FILE|RUN_DIR --data SHARD [--split test] [--json] [--repeat-probe [--repeat-bars 8]]`:
// the held-out figures of a model of any family, as its family defines them (autoregressive: NLL, perplexity and
// accuracy beside the context-free baseline and, on token data, the Kneser-Ney n-gram and the n-gram with a piece cache
// of `cadenza baseline`, on the same tokens; vae: ELBO bound, reconstruction, interpolation smoothness; gan / rgan:
// sample statistics).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "command.h"
#include "common/error.h"
#include "data/shard.h"
#include "families/registry.h"
#include "models/threading.h"

namespace cadenza::cli {

namespace {

struct EvaluateCommandOptions {
  std::string checkpoint;
  std::string data;
  std::string split = "test";
  int64_t window = 1024;
  bool json = false;
  bool baseline = true;
  bool repeat_probe = false;
  int repeat_bars = 8;
  int threads = 0;
  std::string device = "auto";
};

Split parse_split(const std::string& name) {
  if (name == "train") return Split::kTrain;
  if (name == "valid") return Split::kValid;
  if (name == "test") return Split::kTest;
  throw Error("--split " + name + ": expected train, valid or test");
}

void run_evaluate(const EvaluateCommandOptions& cli) {
  models::configure_tensor_threads(resolve_threads(cli.threads));
  if (cli.window < 2 || cli.window > (1 << 20))
    throw Error("--window must be in [2, 1048576], got " + std::to_string(cli.window));
  const Shard shard(cli.data);
  const families::Checkpoint checkpoint = families::read_checkpoint(cli.checkpoint);
  train::EvaluationRequest request;
  request.shard = &shard;
  request.split = parse_split(cli.split);
  request.split_name = cli.split;
  request.window = cli.window;
  request.baselines = cli.baseline;
  request.device = cli.device;
  if (cli.repeat_probe) {
    if (cli.repeat_bars < 1 || cli.repeat_bars > 1024)
      throw Error("--repeat-bars must be in [1, 1024], got " + std::to_string(cli.repeat_bars));
    if (!checkpoint.family->autoregressive())
      throw Error("--repeat-probe: " + checkpoint.info.path + " holds a " + checkpoint.family->name +
                  " model; the probe scores autoregressive token models");
    request.repeat_probe_bars = cli.repeat_bars;
  }
  const train::EvaluationReport report = families::evaluate(checkpoint, request);
  if (cli.json) {
    std::printf("%s\n", report.result.dump(2).c_str());
  } else {
    std::fputs(report.text.c_str(), stdout);
  }
}

void setup_evaluate(CLI::App& parent) {
  auto options = std::make_shared<EvaluateCommandOptions>();
  auto* command = parent.add_subcommand("evaluate",
                                        "Held-out NLL, perplexity and accuracy of a model on a shard (vae: ELBO, "
                                        "reconstruction, interpolation smoothness; gan / rgan: sample statistics)");
  command->add_option("--checkpoint", options->checkpoint, "Checkpoint file, or a run folder (its best checkpoint)")
      ->required();
  command->add_option("--data", options->data, "Shard file prepared with the model's encoding")->required();
  command->add_option("--split", options->split, "train, valid or test")->capture_default_str();
  command->add_option("--window", options->window, "Longest window scored at once (longer pieces are cut)")
      ->capture_default_str();
  command->add_flag("--json", options->json, "Print JSON");
  command->add_flag("!--no-baseline", options->baseline,
                    "Skip the baselines (context-free, and the n-grams on token data)");
  command->add_flag("--repeat-probe", options->repeat_probe,
                    "Also score each piece's first bars played twice: NLL on the 1st and the 2nd copy and their "
                    "ratio, beside the n-grams' (melody shards)");
  command->add_option("--repeat-bars", options->repeat_bars, "Bars of the phrase the repeat probe plays twice")
      ->capture_default_str();
  add_threads_option(command, options->threads);
  command
      ->add_option("--device", options->device,
                   "auto, cpu, cuda or cuda:N (auto: the first CUDA device when there is one and the family takes "
                   "a device, else the CPU)")
      ->capture_default_str();
  command->callback([options] { run_evaluate(*options); });
}

}  // namespace

static const CommandRegistration registration{"evaluate", setup_evaluate};

}  // namespace cadenza::cli
