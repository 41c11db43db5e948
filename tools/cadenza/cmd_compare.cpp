// `cadenza compare --data SHARD [--data SHARD ...] --models rnn,lstm,gru,transformer,vae,gan --out REPORT_DIR`: trains
// every model family under the same budget and seed (or takes existing checkpoints), generates the same number of
// pieces from each, evaluates them against the training and held-out data, and writes REPORT_DIR/index.html,
// report.md and results.json (src/report). docs/compare.md says what each figure means and how the ranking works.
//
// Layout of REPORT_DIR: runs/<model>/ (training runs: a second invocation reuses finished ones and resumes
// interrupted ones), samples/<model>_NN.{mid,wav,png}, charts/*.svg, index.html, report.md, results.json.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <system_error>
#include <vector>

#include "command.h"
#include "common/error.h"
#include "common/output_lock.h"
#include "compare_progress.h"
#include "compare_work.h"
#include "data/shard.h"
#include "families/registry.h"
#include "models/threading.h"
#include "render/audio.h"
#include "report/report_writer.h"
#include "run_control.h"
#include "train/train_config.h"
#include "train_progress.h"

namespace cadenza::cli {

namespace {

namespace fs = std::filesystem;

struct CompareCliOptions {
  std::vector<std::string> data;
  std::string models = "rnn,lstm,gru,transformer,vae,gan";
  std::string budget = "10m";
  int64_t steps = 0;
  std::string preset = "small";
  int64_t seed = 1;
  std::string checkpoints;
  int samples = 8;
  int bars = 16;
  std::string out;
  int threads = 0;
  bool audio = true;
  bool retrain = false;
};

// "lstm, gru,vae" -> {"lstm", "gru", "vae"}; unknown and repeated names are errors naming them.
std::vector<std::string> parse_model_list(const std::string& list) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string name = list.substr(start, end - start);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    start = end + 1;
    if (name.empty()) continue;
    try {
      (void)families::find_family(name);
    } catch (const Error& error) {
      throw Error(std::string("--models: ") + error.what());
    }
    if (std::find(names.begin(), names.end(), name) != names.end())
      throw Error("--models: \"" + name + "\" is listed twice");
    names.push_back(name);
  }
  if (names.empty()) throw Error("--models: no model named (e.g. --models lstm,vae,gan)");
  return names;
}

// Sample files of these models left by an earlier comparison (with more --samples) would be listed nowhere but
// linger: remove exactly those names, nothing else in the folder.
void remove_old_samples(const std::string& folder, const std::vector<std::string>& models) {
  std::error_code error;
  if (!fs::is_directory(folder, error)) return;
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    for (const auto& model : models) {
      static const std::regex pattern("_[0-9]+\\.(mid|wav|png)");
      if (name.rfind(model + "_", 0) == 0 && std::regex_match(name.substr(model.size()), pattern))
        stale.push_back(entry.path());
    }
  }
  for (const auto& path : stale) fs::remove(path, error);
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &parts);
  return text;
}

void print_rankings(const std::vector<report::Ranking>& rankings) {
  for (const auto& ranking : rankings) {
    std::printf("%s: %s\n", ranking.title.c_str(), ranking.figure.c_str());
    for (const auto& entry : ranking.entries)
      std::printf("  %d. %-12s %s\n", entry.rank, entry.model.c_str(),
                  ranking.id == "originality" ? report::format_percent(entry.value).c_str()
                                              : report::format_number(entry.value, 4).c_str());
    if (std::isfinite(ranking.reference_value))
      std::printf("     %-12s %s (%s)\n", "reference",
                  ranking.id == "originality" ? report::format_percent(ranking.reference_value).c_str()
                                              : report::format_number(ranking.reference_value, 4).c_str(),
                  ranking.reference_label.c_str());
    for (const auto& exclusion : ranking.excluded)
      std::printf("     not ranked: %s: %s\n", exclusion.model.c_str(), exclusion.reason.c_str());
  }
}

[[noreturn]] void exit_interrupted(const CompareCliOptions& cli) {
  std::fflush(stderr);
  std::printf(
      "interrupted: finished and interrupted runs are kept in %s/runs; run the same command again to "
      "continue where it stopped\n",
      cli.out.c_str());
  std::fflush(stdout);
  std::exit(130);  // the conventional status of a process stopped by SIGINT
}

void run_compare(const CompareCliOptions& cli, bool budget_given) {
  if (cli.data.empty()) throw Error("--data: name at least one prepared shard");
  if (cli.samples < 1) throw Error("--samples must be at least 1");
  if (cli.bars < 1) throw Error("--bars must be at least 1");
  const std::vector<std::string> model_names = parse_model_list(cli.models);
  // With --steps alone the runs are bounded by steps; a --budget given with it bounds them too (whichever first).
  const double budget_seconds =
      (cli.steps > 0 && !budget_given) ? 0.0 : parse_duration(cli.budget, "--budget", /*allow_none=*/true);
  if (!cli.checkpoints.empty() && !fs::is_directory(cli.checkpoints))
    throw Error("--checkpoints " + cli.checkpoints + ": no such folder");
  if (cli.audio) {
    const std::string soundfont = resolve_soundfont({});
    if (!fs::exists(soundfont))
      throw Error("no SoundFont at " + soundfont +
                  " to render the samples' audio: install fluid-soundfont-gm, set "
                  "CADENZA_SOUNDFONT, or pass --no-audio");
  }

  // Everything that can be wrong with the request is found before any training starts.
  std::vector<std::unique_ptr<Shard>> shards;
  for (const auto& path : cli.data) shards.push_back(std::make_unique<Shard>(path));
  CompareSetup setup;
  setup.out = cli.out;
  setup.preset = cli.preset;
  setup.steps = cli.steps;
  setup.budget_seconds = budget_seconds;
  setup.seed = static_cast<uint64_t>(cli.seed);
  setup.samples = cli.samples;
  setup.bars = cli.bars;
  setup.audio = cli.audio;
  setup.checkpoints = cli.checkpoints;
  setup.retrain = cli.retrain;
  setup.stop_requested = &stop_requested();
  std::vector<ModelPlan> plans = plan_models(model_names, shards, setup);

  const OutputLock lock(cli.out, "compare");  // each run folder under it is locked by its training too
  std::error_code error;
  fs::create_directories(fs::path(cli.out) / "runs", error);
  if (!error) fs::create_directories(fs::path(cli.out) / "samples", error);
  if (error) throw IoError(cli.out, "cannot create the report folder: " + error.message());
  remove_old_samples((fs::path(cli.out) / "samples").string(), model_names);

  const std::string threads = models::configure_tensor_threads(resolve_threads(cli.threads));
  size_t to_train = 0;
  for (const auto& plan : plans) to_train += plan.train ? 1 : 0;
  const std::string each = budget_seconds > 0 ? ", " + format_duration(budget_seconds) + " each" : "";
  std::fprintf(stderr, "comparing %zu models (%zu to train%s) on %zu shard(s) -> %s (%s)\n", plans.size(), to_train,
               each.c_str(), shards.size(), cli.out.c_str(), threads.c_str());
  CompareProgress progress(plans.size(), to_train, budget_seconds, stderr_is_terminal());
  const InterruptGuard interrupt_guard;

  // 1. Training, all models first: the long part, under one budget each.
  std::vector<std::string> failures;
  for (size_t i = 0; i < plans.size(); ++i) {
    ModelPlan& plan = plans[i];
    if (!plan.train) {
      progress.message("[" + std::to_string(i + 1) + "/" + std::to_string(plans.size()) + "] " + plan.name + ": " +
                       (plan.origin == "reused" ? "reusing the finished run " : "using the checkpoint ") + plan.run);
      continue;
    }
    // One family failing (a diverging loss, ...) must not cost the others an hour of training: it is reported and
    // left out, and the command still fails at the end.
    bool stopped = false;
    try {
      stopped = train_model(plan, *shards[plan.shard], setup, progress, i);
    } catch (const Error& error) {
      plan.failed = true;
      failures.push_back(plan.name + ": training failed: " + error.what());
    }
    progress.training_done();
    if (plan.failed)
      progress.message("[" + std::to_string(i + 1) + "/" + std::to_string(plans.size()) + "] " + failures.back());
    if (stopped) exit_interrupted(cli);
  }

  // 2. The reference sets (training and held-out pieces of each shard in use), then each model's evaluation.
  report::Comparison comparison;
  std::vector<ReferenceData> references;
  std::vector<size_t> reference_of_shard(shards.size(), SIZE_MAX);
  for (const auto& plan : plans) {
    if (plan.failed || reference_of_shard[plan.shard] != SIZE_MAX) continue;
    // The n-gram baselines stand beside the likelihood of autoregressive models only.
    bool likelihood = false;
    for (const auto& other : plans)
      likelihood = likelihood || (!other.failed && other.shard == plan.shard && other.autoregressive);
    const bool ngram = likelihood && !shards[plan.shard]->is_piano_roll();
    progress.message("reference: training and held-out pieces of " + shards[plan.shard]->path() +
                     (ngram ? "; n-gram baselines" : ""));
    reference_of_shard[plan.shard] = references.size();
    references.push_back(build_reference(*shards[plan.shard], cli.bars, ngram));
    comparison.references.push_back(references.back().summary);
  }
  for (size_t i = 0; i < plans.size(); ++i) {
    const ModelPlan& plan = plans[i];
    if (plan.failed) continue;
    const size_t reference = reference_of_shard[plan.shard];
    try {
      report::ModelReport model = evaluate_model(plan, *shards[plan.shard], references[reference], setup, progress, i);
      model.reference = reference;
      comparison.models.push_back(std::move(model));
    } catch (const Error& error) {
      failures.push_back(plan.name + ": evaluation failed: " + error.what());
      progress.message("[" + std::to_string(i + 1) + "/" + std::to_string(plans.size()) + "] " + failures.back());
    }
    if (stop_requested().load()) exit_interrupted(cli);
  }

  // 3. The report.
  comparison.settings["created"] = utc_timestamp();
  comparison.settings["models"] = cli.models;
  std::string data;
  for (const auto& path : cli.data) data += (data.empty() ? "" : ", ") + path;
  comparison.settings["data"] = data;
  comparison.settings["training budget per model"] =
      budget_seconds > 0 ? format_duration(budget_seconds) + " of wall time (validation included)" : "none";
  comparison.settings["training steps per model"] = cli.steps > 0        ? std::to_string(cli.steps)
                                                    : budget_seconds > 0 ? "as many as the budget allows"
                                                                         : "the preset's";
  comparison.settings["preset"] = cli.preset;
  comparison.settings["seed"] = cli.seed;
  comparison.settings["samples per model"] = cli.samples;
  comparison.settings["bars per sample"] = cli.bars;
  comparison.settings["threads"] = threads;
  comparison.settings["audio"] = cli.audio ? "WAV through FluidSynth (" + resolve_soundfont({}) + ")" : "off";
  for (const auto& plan : plans) {
    if (plan.origin == "reused")
      comparison.notes.push_back(plan.name + ": reused the finished run " + plan.run +
                                 " from an earlier invocation (--retrain trains it again).");
    else if (plan.origin == "checkpoint")
      comparison.notes.push_back(plan.name + ": evaluated the existing checkpoint " + plan.run + ", not trained here.");
  }
  for (const auto& failure : failures) comparison.notes.push_back("Not in this report: " + failure);
  if (budget_seconds > 0)
    comparison.notes.push_back(
        "Runs bounded by a time budget depend on this machine's speed: they are not "
        "bit-reproducible, unlike runs bounded by --steps.");
  progress.message("writing the report");
  report::write_report(cli.out, comparison);
  progress.finish();

  print_rankings(report::rank_models(comparison));
  std::printf("report: %s/index.html (also report.md and results.json)\n", cli.out.c_str());
  std::printf(
      "training runs: %s/runs/<model>; the same command again reuses the finished ones (--retrain to train "
      "again)\n",
      cli.out.c_str());
  if (!failures.empty()) {
    std::string what;
    for (const auto& failure : failures) what += (what.empty() ? "" : "; ") + failure;
    throw Error(std::to_string(failures.size()) + " model(s) left out of the report: " + what);
  }
}

void setup_compare(CLI::App& parent) {
  auto options = std::make_shared<CompareCliOptions>();
  auto* command = parent.add_subcommand(
      "compare",
      "Train several model families under one budget and seed, generate from each, evaluate against the training "
      "and held-out data, and write an HTML / Markdown / JSON report that ranks them (see docs/compare.md)");
  command
      ->add_option("--data,-d", options->data,
                   "A prepared shard; repeat for several. Each model takes the first that fits (gan: a piano roll, "
                   "rgan: a melody shard, vae: either, the autoregressive models any)")
      ->required()
      ->allow_extra_args(false);
  command->add_option("--models", options->models, "Comma-separated, of: " + families::model_names_text())
      ->capture_default_str();
  auto* budget = command
                     ->add_option("--budget", options->budget,
                                  "Training wall time per model, e.g. 600, 10m, 1.5h, or none; with --steps alone "
                                  "the runs are bounded by steps")
                     ->capture_default_str();
  command->add_option("--steps", options->steps, "Training steps per model (with --budget: whichever comes first)");
  command->add_option("--preset", options->preset, "Model and training sizes: tiny, small or base")
      ->check(CLI::IsMember(train::preset_names()))
      ->capture_default_str();
  command->add_option("--seed", options->seed, "Seed of every run and of the generated pieces")->capture_default_str();
  command->add_option("--checkpoints", options->checkpoints,
                      "Folder with DIR/<model>/ run folders or DIR/<model>.safetensors files to evaluate instead of "
                      "training; models without one are trained");
  command->add_option("--samples", options->samples, "Pieces generated per model")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  command->add_option("--bars", options->bars, "Length of each generated piece in 4/4 bars")
      ->check(CLI::Range(1, 512))
      ->capture_default_str();
  command->add_option("--out,-o", options->out, "Report folder: index.html, report.md, results.json, runs/, samples/")
      ->required();
  command->add_flag("!--no-audio", options->audio, "Do not render WAV files of the samples");
  command->add_flag("--retrain", options->retrain, "Train again even where OUT/runs/<model> holds a finished run");
  add_threads_option(command, options->threads);
  command->callback([options, budget] { run_compare(*options, budget->count() > 0); });
}

}  // namespace

static const CommandRegistration registration{"compare", setup_compare};

}  // namespace cadenza::cli
