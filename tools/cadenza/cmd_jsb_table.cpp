// `cadenza jsb-table --input jsb-chorales-quarter.json --out DIR`: the polyphonic benchmark of the literature.
// Prepares JSB Chorales (Boulanger-Lewandowski 2012 split, quarter-note frames, 88 keys), trains each family on
// the train split with validation-based checkpoint selection, evaluates the best checkpoint on the test split and
// prints our frame NLL beside the published ones. Writes DIR/results.json and DIR/results.md.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "command.h"
#include "families/registry.h"
#include "common/error.h"
#include "common/file_io.h"
#include "data/prepare.h"
#include "data/shard.h"
#include "models/threading.h"
#include "train/evaluate.h"
#include "train/train_config.h"
#include "train/trainer.h"
#include "train_progress.h"

namespace cadenza::cli {

namespace {

namespace fs = std::filesystem;

struct JsbTableOptions {
  std::string input;
  std::string out = "jsb-table";
  std::string families = "rnn,lstm,gru,transformer";
  std::string preset = "small";
  int64_t steps = 0;
  std::vector<std::string> settings;
  int64_t seed = 1;
  bool resume = false;
  int threads = 0;
};

// Published test-set frame NLLs on JSB Chorales (quarter-note frames, 88 keys).
struct Published {
  const char* family;
  const char* bai_2018;    // Bai, Kolter & Koltun 2018, Table 1
  const char* chung_2014;  // Chung et al. 2014
};
constexpr Published kPublished[] = {
    {"rnn", "8.91", "9.10 (tanh)"}, {"lstm", "8.45", "8.67"}, {"gru", "8.43", "8.54"}, {"transformer", "-", "-"}};
constexpr const char* kTcnReference = "8.10";

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

std::string prepare_shard(const JsbTableOptions& cli) {
  if (cli.input.size() > 4 && cli.input.substr(cli.input.size() - 4) == ".cdz") {
    const Shard shard(cli.input, false);
    const auto& spec = shard.metadata().encoding;
    if (!shard.is_piano_roll() || spec.value("steps_per_quarter", 0) != 1 || spec.value("lowest_pitch", 0) != 21 ||
        spec.value("highest_pitch", 0) != 108 || spec.value("num_tracks", 0) != 1)
      throw Error(cli.input + ": the JSB benchmark needs a piano-roll shard with steps_per_quarter=1, 88 keys "
                              "(21..108) and merge_all_tracks=true; give the JSON file to have it prepared");
    return cli.input;
  }
  PrepareOptions options;
  options.inputs = {cli.input};
  options.encoding = "pianoroll";
  options.settings = {{"steps_per_quarter", 1}, {"merge_all_tracks", true}, {"lowest_pitch", 21},
                      {"highest_pitch", 108}};
  options.threads = resolve_threads(cli.threads);
  const std::string shard_path = (fs::path(cli.out) / "jsb_quarter.cdz").string();
  const PrepareResult result = prepare_dataset(options, shard_path);
  std::printf("prepared %zu chorales into %s\n", result.pieces, shard_path.c_str());
  return shard_path;
}

void run_jsb_table(const JsbTableOptions& cli) {
  const std::string threads = models::configure_tensor_threads(resolve_threads(cli.threads));
  fs::create_directories(cli.out);
  const std::string shard_path = prepare_shard(cli);
  const Shard shard(shard_path);
  for (Split split : {Split::kTrain, Split::kValid, Split::kTest})
    if (shard.pieces_in_split(split).empty())
      throw Error(shard_path + ": the " + std::string(split_name(split)) +
                  " split is empty; the JSB file must carry the train/valid/test split");
  std::printf("JSB Chorales: train %zu, valid %zu, test %zu chorales (%s)\n",
              shard.pieces_in_split(Split::kTrain).size(), shard.pieces_in_split(Split::kValid).size(),
              shard.pieces_in_split(Split::kTest).size(), threads.c_str());

  const train::EvaluationResult baseline = train::evaluate_unigram_baseline(shard, Split::kTest);
  nlohmann::json results = {{"data", shard_path},
                            {"preset", cli.preset},
                            {"key_rate_baseline_test_nll", baseline.nll},
                            {"models", nlohmann::json::array()}};
  for (const std::string& family : split_list(cli.families)) {
    nlohmann::json config = families::preset_config(cli.preset, family, /*frames=*/true);
    for (const auto& setting : cli.settings)
      train::apply_setting(config, setting, families::model_keys(families::find_family(family)), families::data_keys());
    if (cli.steps > 0) config["train"]["steps"] = cli.steps;
    config["train"]["seed"] = cli.seed;
    train::TrainRequest request;
    request.data_path = shard_path;
    request.run_dir = (fs::path(cli.out) / family).string();
    const bool finished = fs::exists(fs::path(request.run_dir) / "checkpoints" / "best.safetensors") &&
                          fs::exists(fs::path(request.run_dir) / "metrics.jsonl") && cli.resume;
    if (!finished) {
      request.config = train::resolve_config(config, shard_path, families::find_family);
      request.overwrite = true;
      TrainProgressDisplay display(family, stderr_is_terminal());
      const auto trained =
          train::run_training(request, families::find_family, [&](const train::TrainProgress& p) { display(p); });
      display.finish();
      std::printf("%s: %lld steps in %s\n", family.c_str(), static_cast<long long>(trained.steps),
                  format_duration(trained.seconds).c_str());
    }
    const models::LoadedCheckpoint loaded = families::load_sequence_checkpoint(request.run_dir);
    const train::EvaluationResult test = train::evaluate_model(*loaded.model, shard, Split::kTest);
    const train::EvaluationResult valid = train::evaluate_model(*loaded.model, shard, Split::kValid);
    results["models"].push_back({{"family", family},
                                 {"run", request.run_dir},
                                 {"test_nll", test.nll},
                                 {"valid_nll", valid.nll},
                                 {"test_accuracy", test.accuracy},
                                 {"test_frames", test.elements}});
  }

  std::ostringstream table;
  table << "| model | ours: test NLL | valid NLL | frame accuracy | Bai et al. 2018 | Chung et al. 2014 |\n"
        << "| --- | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& model : results["models"]) {
    const std::string family = model["family"];
    const Published* published = nullptr;
    for (const auto& entry : kPublished)
      if (family == entry.family) published = &entry;
    char row[256];
    std::snprintf(row, sizeof row, "| %s | %.2f | %.2f | %.3f | %s | %s |\n", family.c_str(),
                  model["test_nll"].get<double>(), model["valid_nll"].get<double>(),
                  model["test_accuracy"].get<double>(), published ? published->bai_2018 : "-",
                  published ? published->chung_2014 : "-");
    table << row;
  }
  char footer[256];
  std::snprintf(footer, sizeof footer, "| TCN (Bai et al. 2018) | | | | %s | |\n| key-rate baseline (ours) | %.2f | | | | |\n",
                kTcnReference, baseline.nll);
  table << footer;
  const std::string markdown =
      "# JSB Chorales, frame-level test NLL (nats per frame, lower is better)\n\n" + table.str() +
      "\nQuarter-note frames, 88 keys, binary cross-entropy summed over keys, averaged over every predicted frame of "
      "the 77 test chorales (the first frame of each is not scored). Checkpoint chosen by validation NLL.\n";
  std::printf("\n%s", markdown.c_str());
  const std::string json_text = results.dump(2) + "\n";
  write_file_atomic((fs::path(cli.out) / "results.json").string(),
                    std::vector<uint8_t>(json_text.begin(), json_text.end()));
  write_file_atomic((fs::path(cli.out) / "results.md").string(), std::vector<uint8_t>(markdown.begin(), markdown.end()));
  std::printf("\nwrote %s/results.md and results.json\n", cli.out.c_str());
}

void setup_jsb_table(CLI::App& parent) {
  auto options = std::make_shared<JsbTableOptions>();
  auto* command = parent.add_subcommand(
      "jsb-table", "Train and evaluate each family on JSB Chorales and print the table beside published NLLs");
  command->add_option("--input", options->input,
                      "jsb-chorales-quarter.json (from `cadenza dataset fetch jsb`), or a shard prepared from it")
      ->required();
  command->add_option("--out", options->out, "Folder for the shard, the runs and results.{md,json}")
      ->capture_default_str();
  command->add_option("--families", options->families, "Comma-separated families")->capture_default_str();
  command->add_option("--preset", options->preset, "Training preset")->capture_default_str();
  command->add_option("--steps", options->steps, "Training steps per family (default: the preset's)");
  command->add_option("--set", options->settings, "key=value applied to every family's config (see train)");
  command->add_option("--seed", options->seed, "Seed")->capture_default_str();
  command->add_flag("--resume", options->resume, "Reuse finished runs in --out instead of training again");
  add_threads_option(command, options->threads);
  command->callback([options] { run_jsb_table(*options); });
}

}  // namespace

static const CommandRegistration registration{"jsb-table", setup_jsb_table};

}  // namespace cadenza::cli
