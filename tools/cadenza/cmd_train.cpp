// `cadenza train --model FAMILY --data SHARD --out RUN_DIR ...`: train any model family on a prepared shard.
// The loop is src/train/trainer.h; presets and --set are src/train/train_config.h.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bundled_models.h"
#include "command.h"
#include "common/error.h"
#include "common/file_io.h"
#include "data/shard.h"
#include "families/registry.h"
#include "generate/sampling_defaults.h"
#include "models/device.h"
#include "models/threading.h"
#include "models/torch_compat.h"
#include "run_control.h"
#include "train/distributed.h"
#include "train/train_config.h"
#include "train/trainer.h"
#include "train_progress.h"

namespace cadenza::cli {

namespace {

struct TrainCommandOptions {
  std::string model = "lstm";
  bool model_given = false;
  std::string init_from;  // a checkpoint, a run folder or a bundled model's name
  std::string freeze;     // parameter groups, comma-separated
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
  std::string device = "auto";
  std::string precision = "fp32";
};

void apply_length_options(const TrainCommandOptions& cli, nlohmann::json& config);

// A fine-tuned model samples like the model it started from until its maker says otherwise: the source's sampling
// defaults (generation.json beside its checkpoint, generate/sampling_defaults.h) are copied beside the run's
// checkpoints, unless the run already has its own.
void copy_sampling_defaults(const nlohmann::json& fine_tune, const std::string& run_checkpoint) {
  const std::string source_checkpoint = fine_tune.at("checkpoint").get<std::string>();
  const SamplingDefaults defaults = read_sampling_defaults(source_checkpoint);  // a malformed file stops here, named
  const std::string target = sampling_defaults_path(run_checkpoint);
  if (defaults.source.empty() || std::filesystem::exists(target)) return;
  write_file_atomic(target, read_file_text(defaults.source));
  std::printf("sampling defaults: temperature %g, from %s (%s; edit or delete it to change them)\n",
              defaults.temperature.value_or(1.0), defaults.source.c_str(), target.c_str());
}

// --init-from's source: an existing file or run folder, else the name of a bundled model (as `generate --model`).
std::string init_from_checkpoint(const std::string& source) {
  std::error_code error;
  if (std::filesystem::exists(source, error)) return models::resolve_checkpoint_path(source);
  if (source.find('/') != std::string::npos)
    throw Error("--init-from " + source + ": no such checkpoint file or run folder");
  try {
    return bundled_model_path(source);
  } catch (const Error& e) {
    throw Error("--init-from " + source + ": not a checkpoint file or run folder, and " + e.what());
  }
}

// A fine-tuning run's config: the model section is the checkpoint's; the training section is the preset's for that
// family scaled by the fine-tuning preset, then --config's "train" and --set (which may not touch the model).
nlohmann::json build_fine_tune_config(const TrainCommandOptions& cli, const Shard& shard) {
  const std::string checkpoint = init_from_checkpoint(cli.init_from);
  const families::Checkpoint source = families::read_checkpoint(checkpoint);
  const models::Family& family = *source.family;
  if (cli.model_given && families::find_family(cli.model).name != family.name)
    throw Error("--model " + cli.model + " conflicts with --init-from " + cli.init_from + ", a " + family.name +
                " model: a fine-tuning run takes its model from the checkpoint (leave --model out)");
  if (cli.bars != 0)
    throw Error("--bars cannot be combined with --init-from: the segment length is part of the checkpoint's model");
  nlohmann::json config = families::preset_config(cli.preset, family.name, shard.is_piano_roll());
  config["model"] = source.info.model_config_json;
  train::apply_fine_tune_preset(config["train"]);
  const nlohmann::json model_before = config["model"];
  const std::string refusal = ": --init-from takes the model from " + checkpoint +
                              "; its settings cannot change (train from scratch for another model)";
  if (!cli.config_file.empty()) {
    const auto bytes = read_file_bytes(cli.config_file);
    const auto parsed = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (parsed.is_discarded()) throw FormatError(cli.config_file, -1, "is not valid JSON");
    if (parsed.is_object() && parsed.contains("model"))
      throw Error(cli.config_file + ": has a \"model\" section" + refusal);
    train::merge_config(config, parsed, cli.config_file);
  }
  for (const auto& setting : cli.settings) {
    train::apply_setting(config, setting, families::model_keys(family), families::data_keys());
    if (config["model"] != model_before) throw Error("--set " + setting + refusal);
  }
  nlohmann::json fine_tune = {{"init_from", cli.init_from}, {"checkpoint", checkpoint}};
  fine_tune["freeze"] = cli.freeze.empty() ? std::vector<std::string>{} : train::parse_group_list(cli.freeze);
  config["fine_tune"] = fine_tune;
  apply_length_options(cli, config);
  return config;
}

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
  apply_length_options(cli, config);
  config["model"]["family"] = family.name;
  return config;
}

// --steps, --time-budget and --seed, over whatever the preset, --config and --set said.
void apply_length_options(const TrainCommandOptions& cli, nlohmann::json& config) {
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
  // Several processes on a host with GPUs: each its own (cuda:LOCAL_RANK), as torchrun's users expect.
  request.device = environment && cli.device == "auto" && models::resolve_device("auto").is_cuda()
                       ? "cuda:" + std::to_string(environment->local_rank)
                       : cli.device;
  const torch::Device device = models::resolve_device(request.device);  // a bad --device fails before any work
  request.precision = models::precision_name(models::parse_precision(cli.precision));  // and a bad --precision
  request.overwrite = cli.overwrite;
  std::string family_name = cli.model;
  if (!cli.resume) {
    if (!cli.freeze.empty() && cli.init_from.empty())
      throw Error("--freeze needs --init-from: it keeps groups of a pretrained model's weights as they are");
    const Shard shard(cli.data, /*verify_payload=*/false);
    nlohmann::json config = cli.init_from.empty() ? build_config(cli, shard) : build_fine_tune_config(cli, shard);
    request.config = train::resolve_config(config, cli.data, families::find_family);
    family_name = request.config["model"]["family"].get<std::string>();
    if (cli.print_config) {
      std::printf("%s\n", request.config.dump(2).c_str());
      return;
    }
  } else if (!cli.init_from.empty() || !cli.freeze.empty()) {
    throw Error(
        "--resume continues a run from its own last checkpoint; it cannot be combined with --init-from or --freeze "
        "(a resumed fine-tuning run keeps its source and frozen groups)");
  } else if (!cli.settings.empty() || !cli.config_file.empty() || cli.steps_given || !cli.time_budget.empty()) {
    throw Error(
        "--resume continues the run exactly as configured; --set, --config, --steps and --time-budget "
        "cannot be combined with it");
  }
  if (!cli.init_from.empty())
    std::fprintf(stderr, "fine-tuning %s from %s (%s); learning rate %g, warm-up %lld steps%s\n", family_name.c_str(),
                 cli.init_from.c_str(), request.config["fine_tune"]["checkpoint"].get<std::string>().c_str(),
                 request.config["train"]["learning_rate"].get<double>(),
                 static_cast<long long>(request.config["train"]["warmup_steps"].get<int64_t>()),
                 cli.freeze.empty() ? "" : (", frozen: " + cli.freeze).c_str());
  std::unique_ptr<train::DataParallel> parallel;
  if (environment) {
    if (!(cli.distributed_timeout_seconds >= 1 && cli.distributed_timeout_seconds <= 86400))
      throw Error("--distributed-timeout must be in [1, 86400] seconds");
    // Before the ranks connect: every rank refuses a batch it cannot split with the same message.
    if (request.config.contains("train") && request.config["train"].contains("batch_size"))
      train::check_batch_split(request.config["train"]["batch_size"].get<int64_t>(), environment->world_size);
    parallel = std::make_unique<train::DataParallel>(
        *environment, std::chrono::milliseconds(static_cast<int64_t>(cli.distributed_timeout_seconds * 1000)));
    request.parallel = parallel.get();
  }
  const std::string processes =
      environment ? ", rank " + std::to_string(environment->rank) + " of " + std::to_string(environment->world_size)
                  : "";
  std::fprintf(stderr, "%s %s on %s -> %s (%s%s)\n", cli.resume ? "resuming" : "training", family_name.c_str(),
               cli.data.c_str(), cli.out.c_str(),
               (device.is_cpu() ? threads : models::device_text(device) + ", " + threads).c_str(),
               (processes + (request.precision == "fp32" ? "" : ", " + request.precision + " autocast")).c_str());

  // Rank 0 reports for all; the other ranks say only what goes wrong.
  TrainProgressDisplay display(family_name, lead && stderr_is_terminal());
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
  if (request.config.contains("fine_tune") && !result.last_checkpoint.empty())
    copy_sampling_defaults(request.config["fine_tune"], result.last_checkpoint);
  if (result.stop_reason == "interrupted") {
    std::printf("continue with: cadenza train --model %s --data %s --out %s --resume\n", family_name.c_str(),
                cli.data.c_str(), cli.out.c_str());
    // The conventional status of a process stopped by SIGINT, so scripts see that the run did not finish.
    std::fflush(stdout);
    std::exit(130);
  }
}

void setup_train(CLI::App& parent) {
  auto options = std::make_shared<TrainCommandOptions>();
  auto* command = parent.add_subcommand("train", "Train a model on a prepared shard (`cadenza dataset prepare`)");
  auto* model =
      command
          ->add_option("--model", options->model,
                       "Model family: " + families::model_names_text() + " (with --init-from: the checkpoint's)")
          ->check(CLI::IsMember(families::model_names()))
          ->capture_default_str();
  command
      ->add_option("--data", options->data,
                   "Shard file (.cdz) to train on; its valid split is used for "
                   "validation")
      ->required();
  command->add_option("--out", options->out, "Run folder: config.json, metrics.jsonl, checkpoints/")->required();
  command->add_option("--init-from", options->init_from,
                      "Fine-tune: start from the weights of a checkpoint file, a run folder or a bundled model "
                      "(e.g. nottingham-lstm). The model config is the checkpoint's (--model/--bars/model keys of "
                      "--set are refused); the data must have its encoding and vocabulary; fresh optimizer, step 0; "
                      "the preset's training options with the fine-tuning preset (learning_rate and "
                      "min_learning_rate x0.1, warmup_steps /4) unless --set/--config give them");
  command->add_option("--freeze", options->freeze,
                      "With --init-from: parameter groups that keep their weights, comma-separated, e.g. "
                      "embedding,layers:0 (groups: each top-level module name, layers, layers:N; an unknown name "
                      "lists the model's groups)");
  command
      ->add_option("--preset", options->preset,
                   "Model and training sizes: tiny, small or base (with --init-from: the training sizes only)")
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
      ->add_option(
          "--device", options->device,
          "auto, cpu, cuda or cuda:N: where the model, batches and optimizer live (auto: the first CUDA device "
          "when there is one and the family takes a device, else the CPU; checkpoints are always written "
          "as CPU tensors)")
      ->capture_default_str();
  command
      ->add_option("--precision", options->precision,
                   "fp32, or bf16: the training step's forward pass in bfloat16 autocast (on CUDA; on the CPU too, "
                   "fast only where the CPU has bf16 instructions); weights, gradients, optimizer state, losses, "
                   "validation and checkpoints stay fp32")
      ->capture_default_str();
  command
      ->add_option("--distributed-timeout", options->distributed_timeout_seconds,
                   "With several processes (torchrun, docs/distributed.md): seconds a rank waits for the others "
                   "before it gives up naming the ones that are gone")
      ->capture_default_str();
  command->callback([options, steps, model] {
    options->steps_given = steps->count() > 0;
    options->model_given = model->count() > 0;
    run_train(*options);
  });
}

}  // namespace

static const CommandRegistration registration{"train", setup_train};

}  // namespace cadenza::cli
