#include "compare_work.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include "common/error.h"
#include "eval/form_metrics.h"
#include "families/registry.h"
#include "midi/midi.h"
#include "models/checkpoint.h"
#include "render/audio.h"
#include "render/pianoroll_image.h"
#include "report/set_evaluation.h"
#include "report/training_log.h"
#include "train/evaluate.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace cadenza::cli {

namespace {

namespace fs = std::filesystem;

bool shard_fits(const models::Family& family, const Shard& shard) {
  return family.fits(shard.is_piano_roll(), shard.is_piano_roll() ? "pianoroll" : shard.metadata().encoding_name(),
                     shard.is_piano_roll() ? shard.roll_spec().num_tracks : 0, nullptr);
}

std::string describe_shard(const Shard& shard) {
  return shard.path() + " (" + (shard.is_piano_roll() ? "piano roll" : shard.metadata().encoding_name()) + ")";
}

bool run_has_checkpoint(const fs::path& run) {
  std::error_code error;
  return fs::exists(run / "checkpoints" / "best.safetensors", error) ||
         fs::exists(run / "checkpoints" / "last.safetensors", error);
}

// A run that ended on its own (steps, budget, early stopping), as opposed to one interrupted or killed.
bool run_finished(const fs::path& run) {
  std::error_code error;
  if (!fs::exists(run / "metrics.jsonl", error)) return false;
  const report::TrainingSummary summary = report::read_training_log((run / "metrics.jsonl").string());
  return !summary.stop_reason.empty() && summary.stop_reason != "interrupted";
}

// An existing checkpoint must hold the model it stands for, made for its shard's encoding.
void check_checkpoint(const ModelPlan& plan, const Shard& shard) {
  const families::Checkpoint checkpoint = families::read_checkpoint(plan.run);
  const models::CheckpointInfo& info = checkpoint.info;
  const std::string& file = info.path;
  if (info.family_name != plan.family)
    throw Error(file + ": holds a " + info.family_name + " model, not " + plan.name +
                (plan.name == plan.family ? "" : " (" + plan.family + ")"));
  const bool roll = info.encoding.is_object() && info.encoding.value("name", "") == kPianoRollEncodingName;
  const bool same_encoding =
      roll ? shard.is_piano_roll() : (!shard.is_piano_roll() && info.vocabulary == shard.metadata().vocabulary);
  if (!same_encoding)
    throw Error(file + ": the " + plan.name + " model was made for another encoding than " + describe_shard(shard) +
                ", the shard it would be compared on");
}

std::string two_digits(size_t number) {
  char text[24];
  std::snprintf(text, sizeof text, "%02zu", number);
  return text;
}

struct Generated {
  Score score;
  double generation_seconds = 0;
  double music_seconds = 0;
};

std::vector<Generated> generate_pieces(const ModelPlan& plan, const CompareSetup& setup) {
  std::vector<Generated> pieces;
  const std::unique_ptr<Sampler> sampler = families::open_sampler(plan.run);
  SampleRequest request;
  request.bars = setup.bars;
  for (int i = 0; i < setup.samples; ++i) {
    if (setup.stop_requested != nullptr && setup.stop_requested->load()) break;
    request.seed = setup.seed + static_cast<uint64_t>(i);
    SampledPiece piece = sampler->sample(request);
    pieces.push_back({std::move(piece.score), piece.generation_seconds, piece.music_seconds});
  }
  return pieces;
}

std::optional<Split> heldout_split(const Shard& shard) {
  if (!shard.pieces_in_split(Split::kTest).empty()) return Split::kTest;
  if (!shard.pieces_in_split(Split::kValid).empty()) return Split::kValid;
  return std::nullopt;
}

// The data the form metrics are read on: one melody per piece.
bool melody_data(const Shard& shard) {
  return !shard.is_piano_roll() && shard.metadata().encoding_name() == "melody";
}

report::Likelihood measure_likelihood(const ModelPlan& plan, const Shard& shard, const ReferenceData& reference,
                                      const CompareSetup& setup, nlohmann::json& details) {
  report::Likelihood likelihood;
  const std::optional<Split> split = heldout_split(shard);
  if (!split) {
    details["likelihood_note"] = "the shard has no valid or test pieces";
    return likelihood;
  }
  likelihood.split = split_name(*split);
  likelihood.unit = shard.is_piano_roll() ? "frame" : "token";
  const families::Checkpoint checkpoint = families::read_checkpoint(plan.run);
  train::EvaluationRequest request;
  request.shard = &shard;
  request.split = *split;
  request.split_name = likelihood.split;
  // The latent families, smaller: the VAE's ELBO bound and its reconstruction; the GANs' sample statistics.
  request.latent.max_windows = 512;
  request.latent.interpolation_pairs = 8;
  request.latent.samples = 64;
  request.latent.seed = setup.seed;
  if (reference.ngram) request.ngram = &*reference.ngram;
  const train::EvaluationReport report = families::evaluate(checkpoint, request);
  details["evaluation"] = report.result;
  if (report.score && report.score_name == "nll") {
    likelihood.kind = report::LikelihoodKind::kNll;
    likelihood.value = *report.score;
    likelihood.window = report.result.value("window", int64_t{0});
    likelihood.training_crop_length = report.result.value("training_crop_length", int64_t{0});
    if (report.result.contains("unigram_baseline")) {
      likelihood.baseline = report.result["unigram_baseline"]["nll"].get<double>();
      details["evaluation"]["unigram_nll"] = likelihood.baseline;
    }
    // Only figures on the very tokens the model was scored on stand beside it.
    const nlohmann::json& ngram = report.result.value("ngram_baseline", nlohmann::json::object());
    if (ngram.value("same_tokens", false) && ngram["nll"].is_number()) {
      likelihood.ngram = ngram["nll"].get<double>();
      likelihood.ngram_order = ngram["order"].get<int>();
      if (ngram.contains("cached") && ngram["cached"]["nll"].is_number()) {
        likelihood.ngram_cached = ngram["cached"]["nll"].get<double>();
        likelihood.ngram_cached_order = ngram["cached"]["order"].get<int>();
      }
    }
  } else if (report.score && report.score_name == "elbo") {
    likelihood.kind = report::LikelihoodKind::kElboBound;
    likelihood.value = *report.score;
  }
  return likelihood;
}

report::TrainingSummary training_summary(const ModelPlan& plan, const models::CheckpointInfo& info) {
  std::error_code error;
  fs::path run(plan.run);
  if (fs::is_directory(run, error) && fs::exists(run / "metrics.jsonl", error))
    return report::read_training_log((run / "metrics.jsonl").string());
  // A bare checkpoint file: what its training metadata says.
  report::TrainingSummary summary;
  if (info.training.is_object() && info.training.contains("loop") && info.training["loop"].is_object()) {
    const auto& loop = info.training["loop"];
    if (loop.contains("step") && loop["step"].is_number_integer()) summary.steps = loop["step"].get<int64_t>();
    if (loop.contains("elapsed_seconds") && loop["elapsed_seconds"].is_number())
      summary.seconds = loop["elapsed_seconds"].get<double>();
  }
  return summary;
}

}  // namespace

std::vector<ModelPlan> plan_models(const std::vector<std::string>& names,
                                   const std::vector<std::unique_ptr<Shard>>& shards, const CompareSetup& setup) {
  std::vector<ModelPlan> plans;
  for (const auto& name : names) {
    ModelPlan plan;
    plan.name = name;
    const models::Family& family = families::find_family(name);
    plan.family = family.name;
    plan.autoregressive = family.autoregressive();
    bool found = false;
    for (size_t i = 0; i < shards.size() && !found; ++i)
      if (shard_fits(family, *shards[i])) plan.shard = i, found = true;
    if (!found) {
      std::string given;
      for (const auto& shard : shards) given += (given.empty() ? "" : ", ") + describe_shard(*shard);
      throw Error("model " + name + " needs " + family.data.needs + "; none of the --data shards fits: " + given);
    }

    std::error_code error;
    std::string existing;
    if (!setup.checkpoints.empty())
      for (const fs::path& candidate :
           {fs::path(setup.checkpoints) / name, fs::path(setup.checkpoints) / (name + ".safetensors")})
        if (existing.empty() && fs::exists(candidate, error)) existing = candidate.string();
    const fs::path run = fs::path(setup.out) / "runs" / name;
    if (!existing.empty()) {
      plan.run = existing, plan.origin = "checkpoint";
    } else if (!setup.retrain && run_has_checkpoint(run)) {
      plan.run = run.string();
      if (run_finished(run))
        plan.origin = "reused";
      else
        plan.origin = "resumed", plan.train = true, plan.resume = true;
    } else {
      plan.run = run.string(), plan.origin = "trained", plan.train = true;
    }
    if (plan.origin == "checkpoint" || plan.origin == "reused") check_checkpoint(plan, *shards[plan.shard]);
    plans.push_back(std::move(plan));
  }
  return plans;
}

bool train_model(const ModelPlan& plan, const Shard& shard, const CompareSetup& setup, CompareProgress& progress,
                 size_t index) {
  train::TrainRequest request;
  request.data_path = shard.path();
  request.run_dir = plan.run;
  request.resume = plan.resume;
  request.overwrite = !plan.resume;
  if (!plan.resume) {
    nlohmann::json config = families::preset_config(setup.preset, plan.family, shard.is_piano_roll());
    if (setup.budget_seconds > 0) {
      config["train"]["time_budget_seconds"] = setup.budget_seconds;
      // A time budget alone means "as many steps as fit": lift the preset's step count.
      config["train"]["steps"] = setup.steps > 0 ? setup.steps : int64_t{1000000000};
    } else if (setup.steps > 0) {
      config["train"]["steps"] = setup.steps;
    }
    config["train"]["seed"] = setup.seed;
    config["model"]["family"] = plan.family;
    request.config = train::resolve_config(config, shard.path(), families::find_family);
  }
  progress.phase(index, plan.name, "training",
                 (plan.resume ? "resuming " : "") + plan.family + " on " + shard.path() + " -> " + plan.run);
  const train::TrainResult result = train::run_training(
      request, families::find_family, [&](const train::TrainProgress& p) { progress.training(p); },
      setup.stop_requested);
  return result.stop_reason == "interrupted";
}

ReferenceData build_reference(const Shard& shard, int bars, bool ngram) {
  ReferenceData data;
  report::ReferenceSet& summary = data.summary;
  summary.shard = shard.path();
  summary.encoding = shard.is_piano_roll() ? "pianoroll" : shard.metadata().encoding_name();

  const Split train_split[] = {Split::kTrain};
  const std::vector<Score> training = decode_shard_pieces(shard, train_split);
  if (training.empty()) throw Error(shard.path() + ": the train split is empty: nothing to compare the models with");
  const Shard* shards[] = {&shard};
  data.index = std::make_unique<OriginalityIndex>(OriginalityOptions{comparison_grid(shards), {8, 16}});
  std::vector<Score> training_cut;
  training_cut.reserve(training.size());
  for (const Score& score : training) {
    data.index->add(score, score.source);
    training_cut.push_back(report::first_bars(score, bars));
    data.training_metrics.push_back(eval::compute_all(training_cut.back()));
  }
  summary.training_pieces = training.size();
  summary.training_pitch_classes = report::pitch_class_histogram(training_cut);
  const bool melody = melody_data(shard);
  if (melody)
    for (const Score& score : training_cut) data.training_form.push_back(eval::compute_form_metrics(score));

  const Split heldout_splits[] = {Split::kValid, Split::kTest};
  std::vector<Score> heldout = decode_shard_pieces(shard, heldout_splits);
  std::vector<eval::MetricSet> heldout_metrics;
  std::vector<OriginalityReport> heldout_reports;
  std::vector<eval::MetricSet> heldout_form;
  for (Score& score : heldout) {
    score = report::first_bars(score, bars);
    heldout_metrics.push_back(eval::compute_all(score));
    if (melody) heldout_form.push_back(eval::compute_form_metrics(score));
    heldout_reports.push_back(data.index->check(score));
  }
  summary.heldout_pieces = heldout.size();
  summary.heldout_metrics = report::compare_metric_sets(heldout_metrics, data.training_metrics);
  summary.heldout_originality = report::originality_figures(heldout_reports);
  summary.heldout_pitch_classes = report::pitch_class_histogram(heldout);
  if (melody) summary.heldout_form_metrics = report::compare_metric_sets(heldout_form, data.training_form);

  // The n-grams on the split measure_likelihood() scores, at evaluate's default window (the request's).
  if (!ngram || shard.is_piano_roll()) return data;
  const std::optional<Split> split = heldout_split(shard);
  if (!split) {
    data.ngram_note = "the shard has no valid or test pieces";
    return data;
  }
  eval::NgramBaselineOptions options;
  options.split = *split;
  options.window = train::EvaluationRequest{}.window;
  try {
    data.ngram = eval::fit_ngram_baseline(shard, options);
  } catch (const Error& error) {
    data.ngram_note = error.what();  // each token model's evaluation says so again
  }
  return data;
}

report::ModelReport evaluate_model(const ModelPlan& plan, const Shard& shard, const ReferenceData& reference,
                                   const CompareSetup& setup, CompareProgress& progress, size_t index) {
  report::ModelReport model;
  model.name = plan.name;
  model.family = plan.family;
  model.autoregressive = plan.autoregressive;
  const models::Family& family = families::find_family(plan.family);
  model.score_name = family.validation_score;
  model.loss_description = family.loss_description;
  model.speed_unit = family.speed_unit;
  model.run = plan.run;
  model.origin = plan.origin;
  const models::CheckpointInfo info = models::read_checkpoint_info(models::resolve_checkpoint_path(plan.run));
  model.training = training_summary(plan, info);
  model.parameters = model.training.parameters;
  if (info.training.is_object() && info.training.contains("parameters") &&
      info.training["parameters"].is_number_integer())
    model.parameters = info.training["parameters"].get<int64_t>();

  progress.phase(index, plan.name, "evaluating",
                 family.validation_score == "nll"    ? "held-out NLL"
                 : family.validation_score == "elbo" ? "ELBO bound"
                                                     : "sample statistics");
  model.likelihood = measure_likelihood(plan, shard, reference, setup, model.details);

  progress.phase(index, plan.name, "generating",
                 std::to_string(setup.samples) + " pieces of " + std::to_string(setup.bars) + " bars");
  std::vector<Generated> pieces = generate_pieces(plan, setup);

  progress.phase(index, plan.name, "writing samples",
                 setup.audio ? "MIDI, piano rolls and audio" : "MIDI and piano rolls");
  std::vector<eval::MetricSet> metrics;
  std::vector<eval::MetricSet> form;
  std::vector<Score> cut;
  std::vector<OriginalityReport> originality;
  RenderOptions audio;
  audio.sample_rate = 22050;  // half of CD rate: a report with dozens of samples stays small, and it is plenty for GM
  for (size_t i = 0; i < pieces.size(); ++i) {
    Generated& piece = pieces[i];
    const std::string stem = "samples/" + plan.name + "_" + two_digits(i + 1);
    piece.score.source = stem + ".mid";
    report::SampleFiles files;
    files.midi = stem + ".mid";
    write_midi_file(piece.score, (fs::path(setup.out) / files.midi).string());
    files.png = stem + ".png";
    render_piano_roll_png(piece.score, (fs::path(setup.out) / files.png).string());
    if (setup.audio) {
      files.wav = stem + ".wav";
      render_wav(piece.score, (fs::path(setup.out) / files.wav).string(), audio);
    }
    files.notes = piece.score.note_count();
    files.music_seconds = piece.music_seconds;
    files.generation_seconds = piece.generation_seconds;
    model.samples.push_back(files);
    model.music_seconds += piece.music_seconds;
    model.generation_seconds += piece.generation_seconds;

    cut.push_back(report::first_bars(piece.score, setup.bars));
    metrics.push_back(eval::compute_all(cut.back()));
    if (!reference.training_form.empty()) form.push_back(eval::compute_form_metrics(cut.back()));
    originality.push_back(reference.index->check(piece.score));
  }
  progress.phase(index, plan.name, "evaluating", "statistics and originality of the samples");
  model.metrics = report::compare_metric_sets(metrics, reference.training_metrics);
  if (!reference.training_form.empty()) model.form_metrics = report::compare_metric_sets(form, reference.training_form);
  model.pitch_classes = report::pitch_class_histogram(cut);
  model.originality = report::originality_figures(originality);
  return model;
}

}  // namespace cadenza::cli
