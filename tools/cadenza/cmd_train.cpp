// `cadenza train --model FAMILY --data SHARD --out RUN_DIR ...`: train any model family on a prepared shard.
// The loop is src/train/trainer.h; presets and --set are src/train/train_config.h.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "command.h"
#include "common/error.h"
#include "common/file_io.h"
#include "data/shard.h"
#include "families/registry.h"
#include "models/threading.h"
#include "run_control.h"
#include "train/distributed.h"
#include "train/train_config.h"
#include "train/trainer.h"
#include "train_progress.h"

namespace cadenza::cli {

namespace {

struct TrainCommandOptions {
  std::string model = "lstm";
  std::string data;
  std::string out;
  std::string preset = "small";
  std::string config_file;
  std::vector<std::string> settings;
  int64_t steps = 0;
  bool steps_given = false;
  int64_t bars = 0;
  std::string time_budget;
  bool resume = false;
  bool overwrite = false;
  int64_t seed = -1;
  int threads = 0;
  bool print_config = false;
  double distributed_timeout_seconds = 300;
};

nlohmann::json build_config(const TrainCommandOptions& cli, const Shard& shard) {
  const models::Family& family = families::find_family(cli.model);
  nlohmann::json config = families::preset_config(cli.preset, family.name, shard.is_piano_roll());
  // --bars sets the segment length of the families that have one; some default to a length of their own on piano
  // rolls (the multi-track VAE: 4 bars, as MusicVAE's). Applied before --config and --set, which may refine it.
  if (cli.bars != 0) {
    if (!family.has_bars) throw Error("--bars applies to models with a segment length in bars, not to " + cli.model);
    if (cli.bars < 1 || cli.bars > 1024) throw Error("--bars must be in [1, 1024], got " + std::to_string(cli.bars));
    family.apply_bars(config, cli.bars, shard);
  } else if (family.frames_default_bars > 0 && shard.is_piano_roll()) {
    family.apply_bars(config, family.frames_default_bars, shard);
  }
  if (!cli.config_file.empty()) {
    const auto bytes = read_file_bytes(cli.config_file);
    const auto parsed = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (parsed.is_discarded()) throw FormatError(cli.config_file, -1, "is not valid JSON");
    train::merge_config(config, parsed, cli.config_file);
  }
  for (const auto& setting : cli.settings)
    train::apply_setting(config, setting, families::model_keys(family), families::data_keys());
  if (cli.steps_given) {
    if (cli.steps < 1) throw Error("--steps must be a positive number of steps, got " + std::to_string(cli.steps));
    config["train"]["steps"] = cli.steps;
  }
  if (!cli.time_budget.empty()) {
    config["train"]["time_budget_seconds"] = parse_duration(cli.time_budget, "--time-budget");
    // A time budget alone means "as many steps as fit": lift the preset's step count.
    if (!cli.steps_given) config["train"]["steps"] = 1000000000;
  }
  if (cli.seed >= 0) config["train"]["seed"] = cli.seed;
  config["model"]["family"] = family.name;
  return config;
}

void run_train(const TrainCommandOptions& cli) {
  // From the start: a Ctrl-C while the data and model load still ends the run cleanly at its first step.
  InterruptGuard interrupt_guard;
  // Launched by torchrun (or with RANK / WORLD_SIZE / ... set by hand): one of several processes (docs/distributed.md).
  std::optional<train::DistributedEnvironment> environment =
      train::distributed_environment([](const char* name) { return std::getenv(name); });
  if (environment && cli.print_config) environment.reset();
  // The cores are shared by the processes of this host: cores / local world size threads each, unless --threads.
  int thread_count = resolve_threads(cli.threads);
  if (environment && cli.threads <= 0) thread_count = std::max(1, thread_count / environment->local_world_size);
  const std::string threads = models::configure_tensor_threads(thread_count);
  const bool lead = !environment || environment->rank == 0;
  train::TrainRequest request;
  request.data_path = cli.data;
  request.run_dir = cli.out;
  request.resume = cli.resume;
  request.overwrite = cli.overwrite;
  if (!cli.resume) {
    const Shard shard(cli.data, /*verify_payload=*/false);
    request.config = train::resolve_config(build_config(cli, shard), cli.data, families::find_family);
    if (cli.print_config) {
      std::printf("%s\n", request.config.dump(2).c_str());
      return;
    }
  } else if (!cli.settings.empty() || !cli.config_file.empty() || cli.steps_given || !cli.time_budget.empty()) {
    throw Error(
        "--resume continues the run exactly as configured; --set, --config, --steps and --time-budget "
        "cannot be combined with it");
  }
  std::unique_ptr<train::DataParallel> parallel;
  if (environment) {
    if (!(cli.distributed_timeout_seconds >= 1 && cli.distributed_timeout_seconds <= 86400))
      throw Error("--distributed-timeout must be in [1, 86400] seconds");
    parallel = std::make_unique<train::DataParallel>(
        *environment, std::chrono::milliseconds(static_cast<int64_t>(cli.distributed_timeout_seconds * 1000)));
    request.parallel = parallel.get();
  }
  const std::string processes =
      environment ? ", rank " + std::to_string(environment->rank) + " of " + std::to_string(environment->world_size)
                  : "";
  std::fprintf(stderr, "%s %s on %s -> %s (%s%s)\n", cli.resume ? "resuming" : "training", cli.model.c_str(),
               cli.data.c_str(), cli.out.c_str(), threads.c_str(), processes.c_str());

  // Rank 0 reports for all; the other ranks say only what goes wrong.
  TrainProgressDisplay display(cli.model, lead && stderr_is_terminal());
  train::TrainResult result;
  try {
    train::ProgressCallback progress;
    if (lead) progress = [&](const train::TrainProgress& p) { display(p); };
    result = train::run_training(request, families::find_family, progress, &stop_requested());
  } catch (...) {
    display.finish();
    throw;
  }
  display.finish();
  if (!lead) {
    if (result.stop_reason == "interrupted") {
      std::fflush(stdout);
      std::exit(130);
    }
    return;
  }
  std::printf("stopped after step %lld (%s) in %s; %lld parameters\n", static_cast<long long>(result.steps),
              result.stop_reason.c_str(), format_duration(result.seconds).c_str(),
              static_cast<long long>(result.parameters));
  if (result.best_valid_score)
    std::printf("best validation %s %.4f\n", result.valid_score_name == "elbo" ? "ELBO bound (nats per step)" : "NLL",
                *result.best_valid_score);
  if (!result.best_checkpoint.empty()) std::printf("best checkpoint: %s\n", result.best_checkpoint.c_str());
  std::printf("last checkpoint: %s\n", result.last_checkpoint.c_str());
  if (result.stop_reason == "interrupted") {
    std::printf("continue with: cadenza train --model %s --data %s --out %s --resume\n", cli.model.c_str(),
                cli.data.c_str(), cli.out.c_str());
    // The conventional status of a process stopped by SIGINT, so scripts see that the run did not finish.
    std::fflush(stdout);
    std::exit(130);
  }
}

void setup_train(CLI::App& parent) {
  auto options = std::make_shared<TrainCommandOptions>();
  auto* command = parent.add_subcommand("train", "Train a model on a prepared shard (`cadenza dataset prepare`)");
  command->add_option("--model", options->model, "Model family: " + families::model_names_text())
      ->check(CLI::IsMember(families::model_names()))
      ->capture_default_str();
  command
      ->add_option("--data", options->data,
                   "Shard file (.cdz) to train on; its valid split is used for "
                   "validation")
      ->required();
  command->add_option("--out", options->out, "Run folder: config.json, metrics.jsonl, checkpoints/")->required();
  command->add_option("--preset", options->preset, "Model and training sizes: tiny, small or base")
      ->check(CLI::IsMember(train::preset_names()))
      ->capture_default_str();
  command->add_option("--config", options->config_file,
                      "JSON file {\"model\": {...}, \"train\": {...}} applied over the preset");
  command->add_option("--set", options->settings,
                      "key=value applied last, e.g. --set hidden_size=512 --set learning_rate=3e-4 (see --print-config "
                      "for every key)");
  auto* steps = command->add_option("--steps", options->steps, "Training steps (overrides the preset)");
  command->add_option(
      "--bars", options->bars,
      "vae / gan: segment length in bars (vae: 2 = flat decoder, 4 or more = hierarchical; vae default: 2 on a "
      "melody shard, 4 on a piano-roll shard)");
  command->add_option("--time-budget", options->time_budget,
                      "Stop after this much training time, e.g. 600, 10m, 1.5h; the schedule is fitted to it");
  command->add_option("--seed", options->seed, "Seed for initialisation, batches and dropout (default: preset's, 1)");
  command->add_flag("--resume", options->resume, "Continue the run in --out from its last checkpoint, exactly");
  command->add_flag("--overwrite", options->overwrite, "Start again even if --out holds a run");
  command->add_flag("--print-config", options->print_config, "Print the resolved configuration and exit");
  add_threads_option(command, options->threads);
  command
      ->add_option("--distributed-timeout", options->distributed_timeout_seconds,
                   "With several processes (torchrun, docs/distributed.md): seconds a rank waits for the others "
                   "before it gives up naming the ones that are gone")
      ->capture_default_str();
  command->callback([options, steps] {
    options->steps_given = steps->count() > 0;
    run_train(*options);
  });
}

}  // namespace

static const CommandRegistration registration{"train", setup_train};

}  // namespace cadenza::cli
