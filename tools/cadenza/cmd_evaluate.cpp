// `cadenza evaluate --checkpoint FILE|RUN_DIR --data SHARD [--split test] [--json]`: held-out NLL, perplexity and
// accuracy (src/train/evaluate.h), beside the unigram baseline every model must beat.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "command.h"
#include "common/error.h"
#include "data/shard.h"
#include "models/checkpoint.h"
#include "models/threading.h"
#include "train/evaluate.h"
#include "train/evaluate_latent.h"

namespace cadenza::cli {

namespace {

struct EvaluateCommandOptions {
  std::string checkpoint;
  std::string data;
  std::string split = "test";
  int64_t window = 1024;
  bool json = false;
  bool baseline = true;
  int threads = 0;
};

nlohmann::json result_json(const train::EvaluationResult& r) {
  return {
      {"nll", r.nll},           {"perplexity", r.perplexity}, {"accuracy", r.accuracy}, {"bits", r.bits_per_element},
      {"elements", r.elements}, {"pieces", r.pieces},         {"seconds", r.seconds}};
}

Split parse_split(const std::string& name) {
  if (name == "train") return Split::kTrain;
  if (name == "valid") return Split::kValid;
  if (name == "test") return Split::kTest;
  throw Error("--split " + name + ": expected train, valid or test");
}

void print_latent(const nlohmann::json& r) {
  const std::string family = r["family"];
  if (family == "vae") {
    const bool frames = r.value("input_kind", "tokens") == "frames";
    std::printf("  ELBO bound %.4f nats/%s (reconstruction %.4f + KL %.1f bits per window) over %lld windows\n",
                r["elbo_per_step"].get<double>(), frames ? "frame" : "token",
                r["reconstruction_per_step"].get<double>(), r["kl_bits"].get<double>(), r["windows"].get<long long>());
    std::printf(
        "  reconstruction accuracy (%s exactly right): teacher-forced %.1f%%, sampled (%s, own outputs) %.1f%%\n",
        frames ? "whole frames" : "tokens", 100 * r["accuracy_teacher_forced"].get<double>(),
        frames ? "keys above 0.5" : "argmax", 100 * r["accuracy_sampled"].get<double>());
    if (frames)
      std::printf("  sampled reconstruction, cells: precision %.1f%%, recall %.1f%%, F1 %.1f%%\n",
                  100 * r["cells_precision_sampled"].get<double>(), 100 * r["cells_recall_sampled"].get<double>(),
                  100 * r["cells_f1_sampled"].get<double>());
    if (r.contains("interpolation")) {
      const auto& i = r["interpolation"];
      for (const char* feature : {"note_density", "mean_pitch"}) {
        if (i[feature].is_null()) continue;
        const auto& f = i[feature];
        std::printf(
            "  interpolation (%lld pairs, %lld steps) %s: mean |change| per step %.3f, endpoints differ by "
            "%.3f, largest jump %.0f%% of the path's total change\n",
            i["pairs"].get<long long>(), i["steps"].get<long long>(), feature,
            f["mean_abs_change_per_step"].get<double>(), f["mean_abs_endpoint_difference"].get<double>(),
            f["largest_jump_share"].is_null() ? 0.0 : 100 * f["largest_jump_share"].get<double>());
      }
    }
    return;
  }
  std::printf("%s\n", r.dump(2).c_str());
}

void run_evaluate(const EvaluateCommandOptions& cli) {
  models::configure_tensor_threads(resolve_threads(cli.threads));
  const Shard shard(cli.data);
  const Split split = parse_split(cli.split);
  const models::CheckpointInfo info = models::read_checkpoint_info(models::resolve_checkpoint_path(cli.checkpoint));
  if (!models::is_sequence_family(info.family)) {
    const nlohmann::json result = train::evaluate_latent_checkpoint(cli.checkpoint, shard, split);
    if (cli.json) {
      std::printf("%s\n", result.dump(2).c_str());
    } else {
      std::printf("%s (%s) on %s, %s split:\n", cli.checkpoint.c_str(), info.family_name.c_str(), cli.data.c_str(),
                  result.value("split", cli.split).c_str());
      print_latent(result);
    }
    return;
  }
  train::EvaluationOptions options;
  options.window = cli.window;
  const train::EvaluationResult model = train::evaluate_checkpoint(cli.checkpoint, shard, split, options);
  std::optional<train::EvaluationResult> unigram;
  if (cli.baseline) unigram = train::evaluate_unigram_baseline(shard, split, options);
  const char* unit = model.frames ? "frame" : "token";
  if (cli.json) {
    nlohmann::json out = {{"checkpoint", cli.checkpoint},
                          {"data", cli.data},
                          {"split", cli.split},
                          {"unit", unit},
                          {"model", result_json(model)}};
    if (unigram) out["unigram_baseline"] = result_json(*unigram);
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%s on %s, %s split: %lld pieces, %lld %ss scored\n", cli.checkpoint.c_str(), cli.data.c_str(),
              cli.split.c_str(), static_cast<long long>(model.pieces), static_cast<long long>(model.elements), unit);
  std::printf("  %-18s %10s %12s %10s\n", "", "NLL", "perplexity", "accuracy");
  std::printf("  %-18s %10.4f %12.3f %10.4f   (nats per %s)\n", "model", model.nll, model.perplexity, model.accuracy,
              unit);
  if (unigram)
    std::printf("  %-18s %10.4f %12.3f %10.4f\n", model.frames ? "key-rate baseline" : "unigram baseline", unigram->nll,
                unigram->perplexity, unigram->accuracy);
  if (model.frames)
    std::printf(
        "  (frame NLL sums the binary cross-entropy of all keys; perplexity is per key; accuracy is "
        "TP / (TP + FP + FN))\n");
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
  command->add_flag("!--no-baseline", options->baseline, "Skip the unigram baseline");
  add_threads_option(command, options->threads);
  command->callback([options] { run_evaluate(*options); });
}

}  // namespace

static const CommandRegistration registration{"evaluate", setup_evaluate};

}  // namespace cadenza::cli
