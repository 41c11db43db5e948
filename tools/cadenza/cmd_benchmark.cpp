// `cadenza benchmark --data FILE.json --out DIR`: the polyphonic piano-roll benchmark of the literature
// (Boulanger-Lewandowski et al. 2012) on any file in its JSON layout. Prepares the file (one frame per step of the
// file, 88 keys, the file's own train / valid / test split, no padding), trains each chosen family on train with
// early stopping on valid, evaluates the best checkpoint on test, and prints and writes DIR/results.md and
// DIR/results.json: test and valid NLL, parameters and training time per family, the key-rate baseline, and the
// published numbers of an optional --published file beside ours. Nothing here knows a data set by name: labels come
// from the file, presets from its size. `cadenza jsb-table` is the same command with its older option names.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "command.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/output_lock.h"
#include "data/prepare.h"
#include "data/shard.h"
#include "families/registry.h"
#include "models/threading.h"
#include "run_control.h"
#include "score/jsb.h"
#include "train/evaluate.h"
#include "train/train_config.h"
#include "train/trainer.h"
#include "train_progress.h"

namespace cadenza::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kLowestKey = 21, kHighestKey = 108;  // the benchmark's 88 piano keys
constexpr size_t kMaxPublishedBytes = size_t(1) << 20;
// Below this many training frames the "auto" preset is tiny (a file for trying the pipeline), else small: the
// benchmark sets have 13,807 (JSB) to 176,561 (Nottingham) training frames.
constexpr int64_t kTinyPresetBelowFrames = 2000;

struct BenchmarkOptions {
  std::string data;
  std::string out = "benchmark";
  std::string families;  // empty: every autoregressive piano-roll family
  std::string preset = "auto";
  std::string budget = "none";
  bool budget_given = false;
  int64_t steps = 0;
  int64_t patience = 10;
  int64_t eval_window = 2048;
  std::string published;
  std::vector<std::string> settings;
  int64_t seed = 1;
  bool resume = false;
  int threads = 0;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

// A family by its name or alias; "rnn-nade" finds rnn_nade. Only families with an exact frame likelihood can be
// benchmarked.
const models::Family& benchmark_family(const std::string& name) {
  std::string underscored = name;
  std::replace(underscored.begin(), underscored.end(), '-', '_');
  const models::Family* family = nullptr;
  for (const auto& candidate : families::all_families()) {
    if (candidate.name == name || candidate.name == underscored) family = &candidate;
    for (const auto& alias : candidate.aliases)
      if (alias == name) family = &candidate;
  }
  if (family == nullptr) family = &families::find_family(name);  // throws, listing the known names
  if (!family->autoregressive() || !family->data.frames)
    throw Error("--families: " + name +
                " has no exact likelihood of piano-roll frames (the benchmark scores "
                "autoregressive frame models only)");
  return *family;
}

std::vector<std::string> default_families() {
  std::vector<std::string> names;
  for (const auto& family : families::all_families())
    if (family.autoregressive() && family.data.frames) names.push_back(family.name);
  return names;
}

// --- The published numbers: a small JSON file the user gives (docs/benchmark/ has examples) ---------------------

struct PublishedResult {
  std::string model;
  std::string family;  // the Cadenza family it corresponds to, or ""
  double nll = 0;
  std::string source;
};

struct PublishedTable {
  std::string path;
  std::string data;
  std::vector<PublishedResult> results;
};

PublishedTable read_published(const std::string& path) {
  const std::string text = read_file_text(path, kMaxPublishedBytes);
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& error) {
    throw FormatError(path, -1, std::string("invalid JSON: ") + error.what());
  }
  const std::string layout =
      " (expected {\"data\": \"...\", \"results\": [{\"model\", \"nll\", \"source\"[, "
      "\"family\"]}, ...]})";
  if (!root.is_object() || !root.contains("results") || !root["results"].is_array())
    throw FormatError(path, -1, "no \"results\" list" + layout);
  PublishedTable table;
  table.path = path;
  if (root.contains("data")) {
    if (!root["data"].is_string()) throw FormatError(path, -1, "\"data\" must be a string" + layout);
    table.data = root["data"].get<std::string>();
  }
  for (size_t i = 0; i < root["results"].size(); ++i) {
    const json& entry = root["results"][i];
    const std::string where = "results[" + std::to_string(i) + "]";
    if (!entry.is_object()) throw FormatError(path, -1, where + " is not an object" + layout);
    auto text_field = [&](const char* key, bool required) -> std::string {
      if (!entry.contains(key)) {
        if (required) throw FormatError(path, -1, where + " has no \"" + key + "\"" + layout);
        return "";
      }
      if (!entry[key].is_string()) throw FormatError(path, -1, where + ".\"" + key + "\" must be a string");
      return entry[key].get<std::string>();
    };
    PublishedResult result;
    result.model = text_field("model", true);
    result.source = text_field("source", true);
    result.family = text_field("family", false);
    if (!entry.contains("nll") || !entry["nll"].is_number() || !std::isfinite(entry["nll"].get<double>()) ||
        entry["nll"].get<double>() < 0)
      throw FormatError(path, -1, where + ".\"nll\" must be a non-negative number (nats per frame)" + layout);
    result.nll = entry["nll"].get<double>();
    table.results.push_back(std::move(result));
  }
  return table;
}

// --- Preparation -----------------------------------------------------------------------------------------------

struct PreparedData {
  std::string shard_path;
  std::string label;  // the input file's name
  std::string skipped_note;
};

// The benchmark's shard: one frame per step of the file (its resolution, read from its name as `dataset prepare`
// reads it), 88 keys, every voice on one roll, each piece exactly as long as in the file.
PreparedData prepare_shard(const BenchmarkOptions& cli) {
  PreparedData prepared;
  prepared.label = fs::path(cli.data).filename().string();
  if (cli.data.size() > 4 && cli.data.substr(cli.data.size() - 4) == ".cdz") {
    const Shard shard(cli.data, false);
    const auto& spec = shard.metadata().encoding;
    if (!shard.is_piano_roll() || spec.value("lowest_pitch", 0) != kLowestKey ||
        spec.value("highest_pitch", 0) != kHighestKey || spec.value("num_tracks", 0) != 1)
      throw Error(cli.data +
                  ": the benchmark needs a piano-roll shard with 88 keys (21..108) on one track "
                  "(merge_all_tracks=true); give the JSON file to have it prepared");
    if (!shard.metadata().sources.empty()) prepared.label = shard.metadata().sources.front().path;
    prepared.shard_path = cli.data;
    return prepared;
  }
  if (!fs::is_regular_file(cli.data)) throw Error("--data " + cli.data + ": no such file");
  PrepareOptions options;
  options.inputs = {cli.data};
  options.encoding = "pianoroll";
  options.settings = {{"steps_per_quarter", jsb_steps_per_quarter_from_name(cli.data)},
                      {"merge_all_tracks", true},
                      {"lowest_pitch", kLowestKey},
                      {"highest_pitch", kHighestKey}};
  options.threads = resolve_threads(cli.threads);
  prepared.shard_path = (fs::path(cli.out) / (fs::path(cli.data).stem().string() + ".cdz")).string();
  PrepareResult result;
  try {
    result = prepare_dataset(options, prepared.shard_path);
  } catch (const Error& e) {
    throw Error(cli.data + ": cannot be prepared: " + e.what());
  }
  for (const auto& skipped : result.skipped)
    if (skipped.path == prepared.label || skipped.path.rfind(prepared.label + "#", 0) == 0) {
      // Silent pieces have no notes to score; they are left out and said so.
      prepared.skipped_note += (prepared.skipped_note.empty() ? "" : ", ") + skipped.path + " (" + skipped.reason + ")";
    }
  std::printf("prepared %zu pieces of %s into %s\n", result.pieces, prepared.label.c_str(),
              prepared.shard_path.c_str());
  if (!prepared.skipped_note.empty()) std::printf("left out: %s\n", prepared.skipped_note.c_str());
  std::fflush(stdout);
  return prepared;
}

int64_t split_frames(const Shard& shard, Split split) {
  int64_t frames = 0;
  for (size_t piece : shard.pieces_in_split(split)) frames += static_cast<int64_t>(shard.piece(piece).length);
  return frames;
}

std::string format_count(int64_t count) {
  std::string digits = std::to_string(count), text;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) text += ',';
    text += digits[i];
  }
  return text;
}

std::string format_nll(const json& value) {
  if (!value.is_number()) return "–";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value.get<double>());
  return text;
}

// --- One family: train (or reuse the finished run), then score its best checkpoint ---------------------------------

json benchmark_family_row(const std::string& requested, const BenchmarkOptions& cli, const std::string& preset,
                          double budget_seconds, const Shard& shard) {
  const models::Family& family = benchmark_family(requested);
  const std::string run_dir = (fs::path(cli.out) / family.name).string();
  const std::string row_path = (fs::path(run_dir) / "benchmark-row.json").string();
  json row;
  if (cli.resume && fs::is_regular_file(row_path) &&
      fs::is_regular_file(fs::path(run_dir) / "checkpoints" / "best.safetensors")) {
    try {
      row = json::parse(read_file_text(row_path, kMaxPublishedBytes));
    } catch (const json::exception& error) {
      throw FormatError(row_path, -1, std::string("invalid JSON: ") + error.what());
    }
    std::printf("%s: reusing the finished run %s\n", family.name.c_str(), run_dir.c_str());
    std::fflush(stdout);
  } else {
    json config = families::preset_config(preset, family.name, /*frames=*/true);
    for (const auto& setting : cli.settings)
      train::apply_setting(config, setting, families::model_keys(family), families::data_keys());
    if (budget_seconds > 0) {
      config["train"]["time_budget_seconds"] = budget_seconds;
      // A time budget alone means "as many steps as fit".
      config["train"]["steps"] = cli.steps > 0 ? cli.steps : int64_t{1000000000};
    } else if (cli.steps > 0) {
      config["train"]["steps"] = cli.steps;
    }
    if (cli.patience > 0) config["train"]["patience"] = cli.patience;
    config["train"]["seed"] = cli.seed;
    train::TrainRequest request;
    request.data_path = shard.path();
    request.run_dir = run_dir;
    request.config = train::resolve_config(config, shard.path(), families::find_family);
    request.overwrite = true;
    TrainProgressDisplay display(family.name, stderr_is_terminal());
    const train::TrainResult trained =
        train::run_training(request, families::find_family, [&](const train::TrainProgress& p) { display(p); });
    display.finish();
    std::printf("%s: %lld steps in %s (%s)\n", family.name.c_str(), static_cast<long long>(trained.steps),
                format_duration(trained.seconds).c_str(), trained.stop_reason.c_str());
    std::fflush(stdout);
    row = {{"family", family.name},
           {"run", run_dir},
           {"preset", preset},
           {"parameters", trained.parameters},
           {"train_seconds", trained.seconds},
           {"steps", trained.steps},
           {"stop_reason", trained.stop_reason}};
    const std::string text = row.dump(2) + "\n";
    write_file_atomic(row_path, std::vector<uint8_t>(text.begin(), text.end()));
  }
  const families::Checkpoint checkpoint = families::read_checkpoint(run_dir);  // best.safetensors
  // A model with learned absolute positions reads at most max_sequence_length frames at once.
  int64_t window = cli.eval_window;
  const json& model_config = checkpoint.info.model_config_json;
  if (model_config.contains("max_sequence_length") && model_config["max_sequence_length"].is_number_integer())
    window = std::clamp<int64_t>(model_config["max_sequence_length"].get<int64_t>(), 2, window);
  row["eval_window"] = window;
  for (Split split : {Split::kTest, Split::kValid}) {
    train::EvaluationRequest request;
    request.shard = &shard;
    request.split = split;
    request.split_name = split_name(split);
    request.window = window;
    request.baselines = false;
    const train::EvaluationReport report = families::evaluate(checkpoint, request);
    if (!report.score) throw Error(family.name + ": the evaluation gave no NLL");
    const std::string prefix = split == Split::kTest ? "test" : "valid";
    row[prefix + "_nll"] = *report.score;
    row[prefix + "_frames"] = report.result["model"].value("elements", int64_t{0});
    if (split == Split::kTest) row["test_accuracy"] = report.result["model"].value("accuracy", 0.0);
  }
  row["checkpoint"] = checkpoint.info.path;
  return row;
}

// --- The table ---------------------------------------------------------------------------------------------------

std::string published_for(const PublishedTable* published, const std::string& family) {
  if (published == nullptr) return "";
  std::string text;
  for (const auto& result : published->results)
    if (!result.family.empty() && result.family == family) {
      char entry[64];
      std::snprintf(entry, sizeof entry, "%.2f", result.nll);
      text += (text.empty() ? "" : "; ") + std::string(entry) + " (" + result.model + ", " + result.source + ")";
    }
  return text.empty() ? "–" : text;
}

// " lstm 2048, transformer 1024": the window each family was scored with.
std::string windows_text(const json& results) {
  std::string text;
  for (const auto& row : results["models"])
    if (row.contains("eval_window"))
      text += (text.empty() ? " " : ", ") + row["family"].get<std::string>() + " " +
              std::to_string(row["eval_window"].get<int64_t>());
  return text;
}

std::string make_markdown(const json& results, const PublishedTable* published) {
  std::ostringstream md;
  const json& data = results["data"];
  md << "# Polyphonic benchmark on " << data["label"].get<std::string>()
     << ": frame-level NLL (nats per frame, lower is better)\n\n";
  md << "Data: " << data["label"].get<std::string>() << ", train " << data["pieces"]["train"].get<int64_t>()
     << " / valid " << data["pieces"]["valid"].get<int64_t>() << " / test " << data["pieces"]["test"].get<int64_t>()
     << " pieces, " << format_count(data["scored_frames"]["test"].get<int64_t>()) << " test frames scored ("
     << format_count(data["frames"]["train"].get<int64_t>()) << " training frames). Preset "
     << results["preset"].get<std::string>() << ", budget " << results["budget"].get<std::string>() << ".\n\n";
  md << "| model | test NLL | valid NLL | parameters | train time | steps | stopped by |"
     << (published ? " published (same family) |" : "") << "\n"
     << "| --- | ---: | ---: | ---: | ---: | ---: | --- |" << (published ? " --- |" : "") << "\n";
  for (const auto& row : results["models"]) {
    const std::string family = row["family"];
    if (row.contains("error")) {
      md << "| " << family << " | failed: " << row["error"].get<std::string>() << " | | | | | |"
         << (published ? " |" : "") << "\n";
      continue;
    }
    md << "| " << family << " | " << format_nll(row["test_nll"]) << " | " << format_nll(row["valid_nll"]) << " | "
       << format_count(row["parameters"].get<int64_t>()) << " | " << format_duration(row["train_seconds"].get<double>())
       << " | " << format_count(row["steps"].get<int64_t>()) << " | " << row["stop_reason"].get<std::string>() << " |";
    if (published) md << " " << published_for(published, family) << " |";
    md << "\n";
  }
  md << "| key-rate baseline (train key frequencies) | " << format_nll(results["key_rate_baseline"]["test_nll"])
     << " | " << format_nll(results["key_rate_baseline"]["valid_nll"]) << " | 88 | | | |" << (published ? " |" : "")
     << "\n";
  if (published) {
    md << "\nPublished test NLLs (from " << fs::path(published->path).filename().string()
       << (published->data.empty() ? "" : ": " + published->data) << "):\n\n"
       << "| model | test NLL | source |\n| --- | ---: | --- |\n";
    for (const auto& result : published->results) {
      char nll[32];
      std::snprintf(nll, sizeof nll, "%.2f", result.nll);
      md << "| " << result.model << " | " << nll << " | " << result.source << " |\n";
    }
  }
  md << "\nProtocol: one frame per step of the file (" << data["steps_per_quarter"].get<int>()
     << " per quarter note as read), 88 keys (MIDI 21..108), each piece exactly as long as in the file (no padding "
        "frames). NLL is the binary cross-entropy summed over the 88 keys, averaged over every predicted frame of the "
        "split (frame-weighted; the first frame of each piece is not scored); pieces longer than "
     << results["eval_window"].get<int64_t>()
     << " frames (or the model's max_sequence_length when shorter:" << windows_text(results)
     << ") are scored in windows overlapping by one frame. Each model is trained on train only; the checkpoint "
        "is the one with the best validation NLL"
     << (results["patience"].get<int64_t>() > 0
             ? " (training stops after " + std::to_string(results["patience"].get<int64_t>()) +
                   " validations without improvement)"
             : "")
     << ". Train time is wall time on this machine, validation included.\n";
  if (data.contains("left_out")) md << "Left out at preparation: " << data["left_out"].get<std::string>() << ".\n";
  return md.str();
}

void write_text_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, std::vector<uint8_t>(text.begin(), text.end()));
}

void run_benchmark(const BenchmarkOptions& cli) {
  if (cli.data.empty()) throw Error("--data: name the piano-roll JSON file (or a shard prepared from it)");
  if (cli.eval_window < 2) throw Error("--eval-window must be at least 2 frames");
  if (cli.patience < 0) throw Error("--patience must be 0 (never stop early) or more");
  const double budget_seconds =
      (cli.steps > 0 && !cli.budget_given) ? 0.0 : parse_duration(cli.budget, "--budget", /*allow_none=*/true);
  // Everything that can be wrong with the request is found before any training starts.
  const std::vector<std::string> family_names = cli.families.empty() ? default_families() : split_list(cli.families);
  if (family_names.empty()) throw Error("--families: name at least one family");
  for (const auto& name : family_names) benchmark_family(name);
  std::optional<PublishedTable> published;
  if (!cli.published.empty()) published = read_published(cli.published);
  if (cli.preset != "auto") train::check_preset_name(cli.preset);

  std::error_code error;
  fs::create_directories(cli.out, error);
  if (error) throw IoError(cli.out, "cannot create the output folder: " + error.message());
  const OutputLock lock(cli.out, "benchmark");
  const std::string threads = models::configure_tensor_threads(resolve_threads(cli.threads));
  const PreparedData prepared = prepare_shard(cli);
  const Shard shard(prepared.shard_path);
  for (Split split : {Split::kTrain, Split::kValid, Split::kTest})
    if (shard.pieces_in_split(split).empty())
      throw Error(cli.data + ": the " + std::string(split_name(split)) +
                  " split is empty; the file must carry its own \"train\", \"valid\" and \"test\" pieces");
  const int64_t train_frames = split_frames(shard, Split::kTrain);
  const std::string preset =
      cli.preset != "auto" ? cli.preset : (train_frames < kTinyPresetBelowFrames ? "tiny" : "small");
  const std::string budget_text = budget_seconds > 0 ? format_duration(budget_seconds) + " per family"
                                  : cli.steps > 0    ? std::to_string(cli.steps) + " steps per family"
                                                     : "the preset's steps";
  std::printf("%s: train %zu, valid %zu, test %zu pieces (%s training frames); preset %s, %s (%s)\n",
              prepared.label.c_str(), shard.pieces_in_split(Split::kTrain).size(),
              shard.pieces_in_split(Split::kValid).size(), shard.pieces_in_split(Split::kTest).size(),
              format_count(train_frames).c_str(), preset.c_str(), budget_text.c_str(), threads.c_str());

  train::EvaluationOptions baseline_options;
  baseline_options.window = cli.eval_window;
  const train::EvaluationResult baseline_test = train::evaluate_unigram_baseline(shard, Split::kTest, baseline_options);
  const train::EvaluationResult baseline_valid =
      train::evaluate_unigram_baseline(shard, Split::kValid, baseline_options);
  std::printf("key-rate baseline: test %.4f, valid %.4f nats per frame (%lld test frames scored)\n", baseline_test.nll,
              baseline_valid.nll, static_cast<long long>(baseline_test.elements));
  std::fflush(stdout);

  json data = {{"file", cli.data},
               {"label", prepared.label},
               {"shard", prepared.shard_path},
               {"steps_per_quarter", shard.roll_spec().steps_per_quarter},
               {"pieces",
                {{"train", shard.pieces_in_split(Split::kTrain).size()},
                 {"valid", shard.pieces_in_split(Split::kValid).size()},
                 {"test", shard.pieces_in_split(Split::kTest).size()}}},
               {"frames",
                {{"train", train_frames},
                 {"valid", split_frames(shard, Split::kValid)},
                 {"test", split_frames(shard, Split::kTest)}}},
               {"scored_frames", {{"valid", baseline_valid.elements}, {"test", baseline_test.elements}}}};
  if (!prepared.skipped_note.empty()) data["left_out"] = prepared.skipped_note;
  json results = {{"data", data},
                  {"preset", preset},
                  {"budget", budget_text},
                  {"patience", cli.patience},
                  {"eval_window", cli.eval_window},
                  {"seed", cli.seed},
                  {"unit", "nats per frame, summed over 88 keys, frame-weighted, first frame of each piece not scored"},
                  {"key_rate_baseline", {{"test_nll", baseline_test.nll}, {"valid_nll", baseline_valid.nll}}},
                  {"models", json::array()}};
  if (published) {
    json entries = json::array();
    for (const auto& r : published->results)
      entries.push_back({{"model", r.model}, {"family", r.family}, {"nll", r.nll}, {"source", r.source}});
    results["published"] = {{"file", published->path}, {"data", published->data}, {"results", entries}};
  }

  // One family failing (a diverging loss, ...) must not cost the others their runs: it is reported in its row and the
  // command fails at the end.
  std::vector<std::string> failures;
  for (const std::string& name : family_names) {
    try {
      results["models"].push_back(benchmark_family_row(name, cli, preset, budget_seconds, shard));
    } catch (const Error& e) {
      std::fprintf(stderr, "cadenza: %s failed: %s\n", name.c_str(), e.what());
      results["models"].push_back({{"family", name}, {"error", e.what()}});
      failures.push_back(name);
    }
  }

  const std::string markdown = make_markdown(results, published ? &*published : nullptr);
  std::printf("\n%s", markdown.c_str());
  write_text_atomic((fs::path(cli.out) / "results.json").string(), results.dump(2) + "\n");
  write_text_atomic((fs::path(cli.out) / "results.md").string(), markdown);
  std::printf("\nwrote %s/results.md and results.json\n", cli.out.c_str());
  if (!failures.empty()) {
    std::string names;
    for (const auto& name : failures) names += (names.empty() ? "" : ", ") + name;
    throw Error("benchmark: " + names + " failed (see their rows in " + cli.out + "/results.md)");
  }
}

// The options both spellings share.
void add_shared_options(CLI::App* command, BenchmarkOptions& options) {
  command->add_option("--out,-o", options.out, "Folder for the shard, the runs and results.{md,json}")
      ->capture_default_str();
  command
      ->add_option("--preset", options.preset,
                   "Model and training sizes: tiny, small, base, or auto (tiny below " +
                       std::to_string(kTinyPresetBelowFrames) + " training frames, else small)")
      ->capture_default_str();
  command->add_option("--steps", options.steps, "Training steps per family (with --budget: whichever comes first)");
  command
      ->add_option("--patience", options.patience,
                   "Stop a run after this many validations without improvement (0: never)")
      ->capture_default_str();
  command
      ->add_option("--eval-window", options.eval_window,
                   "Longest window scored at once; longer pieces are scored in windows overlapping by one frame")
      ->capture_default_str();
  command->add_option("--published", options.published,
                      "JSON of published test NLLs to print beside ours (examples in docs/benchmark/)");
  command->add_option("--set", options.settings, "key=value applied to every family's config (see train)");
  command->add_option("--seed", options.seed, "Seed")->capture_default_str();
  command->add_flag("--resume", options.resume, "Reuse finished runs in --out instead of training again");
  add_threads_option(command, options.threads);
}

void setup_benchmark(CLI::App& parent) {
  auto options = std::make_shared<BenchmarkOptions>();
  auto* command = parent.add_subcommand(
      "benchmark",
      "Train and evaluate families on a polyphonic piano-roll JSON (train/valid/test) and print the NLL table");
  command
      ->add_option("--data,-d", options->data,
                   "Piano-roll JSON {\"train\", \"valid\", \"test\"} (JSB, Nottingham, Piano-midi.de, ...), or a "
                   "shard prepared from it")
      ->required();
  command->add_option("--families", options->families,
                      "Comma-separated families (default: every autoregressive piano-roll family)");
  auto* budget = command->add_option("--budget", options->budget,
                                     "Training wall time per family: 600, 10m, 1.5h or none (with --steps: "
                                     "whichever comes first)");
  add_shared_options(command, *options);
  command->callback([options, budget] {
    options->budget_given = budget->count() > 0;
    run_benchmark(*options);
  });
}

// `jsb-table`: the command's first name, kept for the commands written with it.
void setup_jsb_table(CLI::App& parent) {
  auto options = std::make_shared<BenchmarkOptions>();
  options->out = "jsb-table";
  options->families = "rnn,lstm,gru,transformer";
  auto* command = parent.add_subcommand(
      "jsb-table", "The benchmark command under its first name: `cadenza benchmark` with --input for --data");
  command->add_option("--input", options->data, "jsb-chorales-quarter.json, or a shard prepared from it")->required();
  command->add_option("--families", options->families, "Comma-separated families")->capture_default_str();
  auto* budget = command->add_option("--budget", options->budget, "Training wall time per family (as benchmark)");
  add_shared_options(command, *options);
  command->callback([options, budget] {
    options->budget_given = budget->count() > 0;
    run_benchmark(*options);
  });
}

}  // namespace

static const CommandRegistration benchmark_registration{"benchmark", setup_benchmark};
static const CommandRegistration jsb_table_registration{"jsb-table", setup_jsb_table};

}  // namespace cadenza::cli
