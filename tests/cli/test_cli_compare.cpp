// `cadenza compare` end to end on a small folder of tunes written by the test: three families (an autoregressive
// LSTM, the VAE and MuseGAN) trained for a few steps, the report's three files, every link in the page, the honest
// ranking in results.json, the reuse of finished runs, and the errors found before any training.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "cli/cli_fixtures.h"
#include "common/file_io.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::run_cadenza;

Score tune(int seed, int bars) {
  return testing::two_track_tune(seed, bars);
}

using Tunes = testing::TwoTrackShards;

std::set<std::string> attribute_values(const std::string& html, const std::string& attribute) {
  std::set<std::string> values;
  const std::regex pattern(attribute + "=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), pattern); it != std::sregex_iterator(); ++it)
    values.insert((*it)[1].str());
  return values;
}

const nlohmann::json* model_named(const nlohmann::json& results, const std::string& name) {
  for (const auto& model : results["models"])
    if (model["name"] == name) return &model;
  return nullptr;
}

TEST(CliCompare, TrainsGeneratesEvaluatesAndWritesTheReport) {
  Tunes data;
  const std::string out = data.dir.file("report");
  const auto compared = run_cadenza("compare --data " + data.melody + " --data " + data.roll +
                                    " --models lstm,vae,gan --steps 20 --preset tiny --samples 2 --bars 4 --threads 1 "
                                    "--out " +
                                    out);
  ASSERT_EQ(compared.exit_code, 0) << compared.output;
  // The progress display names each model and phase.
  for (const char* phase : {"[1/3] lstm: training", "[2/3] vae: training", "[3/3] gan: training",
                            "[1/3] lstm: generating", "[3/3] gan: evaluating"})
    EXPECT_NE(compared.output.find(phase), std::string::npos) << phase << "\n" << compared.output;

  // The three files, and every file the page links to.
  for (const char* name : {"index.html", "report.md", "results.json"})
    ASSERT_TRUE(fs::exists(out + "/" + name)) << name;
  const std::string html = read_file_text(out + "/index.html");
  EXPECT_EQ(html.find("http://"), std::string::npos) << "the page works offline";
  EXPECT_EQ(html.find("https://"), std::string::npos);
  std::set<std::string> links = attribute_values(html, "src");
  for (const auto& href : attribute_values(html, "href")) links.insert(href);
  size_t wav = 0, mid = 0, png = 0;
  for (const auto& link : links) {
    EXPECT_TRUE(fs::exists(out + "/" + link)) << "broken link " << link;
    wav += link.ends_with(".wav"), mid += link.ends_with(".mid"), png += link.ends_with(".png");
  }
  EXPECT_EQ(mid, 6u) << "2 samples x 3 models";
  EXPECT_EQ(wav, 6u);
  EXPECT_EQ(png, 6u);
  EXPECT_NE(html.find("<audio controls"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos) << "charts drawn inline";
  for (const auto& link : links) {
    if (!link.ends_with(".mid")) continue;
    EXPECT_NO_THROW((void)read_midi_file(out + "/" + link)) << "every sample is a valid MIDI file: " << link;
  }

  const std::string md = read_file_text(out + "/report.md");
  EXPECT_NE(md.find("[MIDI](samples/lstm_01.mid)"), std::string::npos);
  EXPECT_NE(md.find("](charts/loss_gan.svg)"), std::string::npos);
  EXPECT_TRUE(fs::exists(out + "/charts/loss_gan.svg"));

  const auto results = nlohmann::json::parse(read_file_text(out + "/results.json"));
  ASSERT_EQ(results["models"].size(), 3u);
  const nlohmann::json* lstm = model_named(results, "lstm");
  const nlohmann::json* vae = model_named(results, "vae");
  const nlohmann::json* gan = model_named(results, "gan");
  ASSERT_TRUE(lstm && vae && gan);
  EXPECT_EQ((*lstm)["data"], data.melody) << "the first shard that fits";
  EXPECT_EQ((*vae)["data"], data.melody);
  EXPECT_EQ((*gan)["data"], data.roll);
  EXPECT_EQ((*gan)["family"], "musegan");
  for (const auto* model : {lstm, vae, gan}) {
    EXPECT_EQ((*model)["training"]["steps"], 20) << (*model)["name"];
    EXPECT_GT((*model)["parameters"].get<int64_t>(), 0);
    EXPECT_EQ((*model)["samples"].size(), 2u);
    EXPECT_GT((*model)["generation"]["real_time_factor"].get<double>(), 0);
    EXPECT_EQ((*model)["metrics"].size(), 15u) << "every musical statistic";
    EXPECT_FALSE((*model)["training"]["train_loss"].empty()) << "the loss curve";
    EXPECT_EQ((*model)["origin"], "trained");
  }
  EXPECT_EQ((*lstm)["likelihood"]["kind"], "nll");
  EXPECT_GT((*lstm)["likelihood"]["value"].get<double>(), 0);
  EXPECT_GT((*lstm)["likelihood"]["unigram_baseline"].get<double>(), 0);
  EXPECT_EQ((*vae)["likelihood"]["kind"], "elbo_bound");
  EXPECT_EQ((*gan)["likelihood"]["kind"], "none");
  EXPECT_TRUE((*gan)["likelihood"]["value"].is_null());

  // The likelihood ranking holds the LSTM only, and says why the other two are not in it.
  const auto& rankings = results["rankings"];
  ASSERT_EQ(rankings.size(), 3u);
  EXPECT_EQ(rankings[0]["id"], "likelihood");
  ASSERT_EQ(rankings[0]["entries"].size(), 1u);
  EXPECT_EQ(rankings[0]["entries"][0]["model"], "lstm");
  EXPECT_EQ(rankings[0]["excluded"].size(), 2u);
  EXPECT_EQ(rankings[1]["id"], "statistics");
  EXPECT_EQ(rankings[1]["entries"].size() + rankings[1]["excluded"].size(), 3u);
  EXPECT_EQ(results["references"].size(), 2u) << "one training set per shard";
  EXPECT_GT(results["references"][0]["training_pieces"].get<int>(), 0);

  // The n-gram baselines beside the LSTM: those of `cadenza baseline` on the same shard and split (test).
  const auto baseline_run = run_cadenza("baseline --data " + data.melody + " --json");
  ASSERT_EQ(baseline_run.exit_code, 0) << baseline_run.output;
  const auto baseline = nlohmann::json::parse(baseline_run.output);
  const auto& likelihood = (*lstm)["likelihood"];
  EXPECT_EQ(likelihood["split"], "test");
  EXPECT_NEAR(likelihood["ngram_baseline"].get<double>(), baseline["nll"].get<double>(), 1e-12);
  EXPECT_EQ(likelihood["ngram_order"], baseline["order"]);
  EXPECT_NEAR(likelihood["ngram_cached_baseline"].get<double>(), baseline["cached"]["nll"].get<double>(), 1e-12);
  EXPECT_EQ(likelihood["ngram_cached_order"], baseline["cached"]["order"]);
  EXPECT_EQ((*lstm)["details"]["evaluation"]["ngram_baseline"]["elements"], baseline["elements"]);
  EXPECT_EQ((*lstm)["details"]["evaluation"]["model"]["elements"], baseline["elements"]) << "the same tokens";
  ASSERT_EQ(rankings[0]["baselines"].size(), 2u) << rankings[0].dump(2);
  EXPECT_NEAR(rankings[0]["baselines"][0]["value"].get<double>(), baseline["nll"].get<double>(), 1e-12);
  EXPECT_NEAR(rankings[0]["baselines"][1]["value"].get<double>(), baseline["cached"]["nll"].get<double>(), 1e-12);
  const std::string plain_label = "Kneser-Ney " + std::to_string(baseline["order"].get<int>()) + "-gram";
  const std::string cached_label =
      "Kneser-Ney " + std::to_string(baseline["cached"]["order"].get<int>()) + "-gram + piece cache";
  EXPECT_NE(md.find("| - | baseline: " + plain_label + " (order chosen on valid) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| - | baseline: " + cached_label), std::string::npos) << md;
  EXPECT_NE(md.find("| " + plain_label + " baseline |"), std::string::npos) << md;
  EXPECT_EQ(likelihood["window"], 1024) << "evaluate's window";
  EXPECT_EQ(likelihood["training_crop_length"],
            (*lstm)["details"]["evaluation"]["training_crop_length"].get<int64_t>());
  EXPECT_GT(likelihood["training_crop_length"].get<int64_t>(), 0);
  EXPECT_NE(html.find("baseline: " + plain_label), std::string::npos);
  EXPECT_TRUE((*gan)["likelihood"]["ngram_baseline"].is_null()) << "no n-gram beside a model without a likelihood";

  // Form metrics of the melody on melody data: the generated tunes beside the real ones, as `cadenza metrics`
  // measures the same files and the same training pieces.
  const std::vector<std::string> form_names = {
      "recurring_2bar_patterns", "self_similarity_4bar", "self_similarity_8bar", "looped_bars",         "notes_in_key",
      "offgrid_onsets",          "odd_sixteenth_onsets", "ends_on_tonic",        "pitch_class_entropy", "pitch_range"};
  ASSERT_EQ((*lstm)["form_metrics"].size(), form_names.size());
  EXPECT_EQ((*vae)["form_metrics"].size(), form_names.size());
  EXPECT_TRUE((*gan)["form_metrics"].empty()) << "piano-roll data: no form metrics";
  EXPECT_EQ(results["references"][0]["heldout_form_metrics"].size(), form_names.size());
  EXPECT_TRUE(results["references"][1]["heldout_form_metrics"].empty());
  EXPECT_NE(md.find("### Form of the melody\n\n| form metric | lstm | training set | held-out | overlap area |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("#### Form of the melody"), std::string::npos) << "the real tunes' own figures";
  EXPECT_NE(html.find("<h3>Form of the melody</h3>"), std::string::npos);
  const auto measured = run_cadenza("metrics " + out + "/samples/lstm_01.mid " + out +
                                    "/samples/lstm_02.mid --bars 4 --json --mean-only --reference-shard " +
                                    data.melody + " --split train");
  ASSERT_EQ(measured.exit_code, 0) << measured.output;
  const auto expected_form = nlohmann::json::parse(measured.output);
  for (size_t i = 0; i < form_names.size(); ++i) {
    const auto& row = (*lstm)["form_metrics"][i];
    EXPECT_EQ(row["name"], form_names[i]);
    const auto& generated = expected_form["form_mean"][form_names[i]];
    const auto& real = expected_form["reference"]["form_mean"][form_names[i]];
    if (generated.is_null())
      EXPECT_TRUE(row["mean"].is_null()) << form_names[i];
    else
      EXPECT_NEAR(row["mean"].get<double>(), generated.get<double>(), 1e-9) << form_names[i];
    if (real.is_null())
      EXPECT_TRUE(row["training_mean"].is_null()) << form_names[i];
    else
      EXPECT_NEAR(row["training_mean"].get<double>(), real.get<double>(), 1e-9) << form_names[i];
    EXPECT_NE(md.find("| " + form_names[i] + " | "), std::string::npos) << form_names[i];
  }

  // A second invocation reuses the finished runs instead of training again.
  const auto again = run_cadenza("compare --data " + data.melody +
                                 " --models lstm --steps 20 --preset tiny "
                                 "--samples 2 --bars 4 --threads 1 --no-audio --out " +
                                 out);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("reusing the finished run"), std::string::npos) << again.output;
  EXPECT_EQ(again.output.find("lstm: training"), std::string::npos) << again.output;
  const auto reused = nlohmann::json::parse(read_file_text(out + "/results.json"));
  ASSERT_EQ(reused["models"].size(), 1u);
  EXPECT_EQ(reused["models"][0]["origin"], "reused");
  EXPECT_EQ(reused["models"][0]["training"]["steps"], 20);
  EXPECT_TRUE(reused["models"][0]["samples"][0]["wav"].is_null()) << "--no-audio";
  EXPECT_FALSE(fs::exists(out + "/samples/lstm_01.wav")) << "stale samples of the same model are removed";
}

TEST(CliCompare, OneFamilyFailingLeavesTheOthersInTheReport) {
  // One-bar tunes: the LSTM trains on them, the VAE (2-bar windows) finds no window to train on.
  testing::TempDir dir;
  fs::create_directories(dir.file("tunes"));
  for (int i = 0; i < 20; ++i) {
    Score short_tune = tune(i, 1);
    short_tune.tracks.resize(1);
    write_midi_file(short_tune, dir.file("tunes/t" + std::to_string(i) + ".mid"));
  }
  const std::string shard = dir.file("short.cdz"), out = dir.file("report");
  const auto prepared = run_cadenza("dataset prepare --input " + dir.file("tunes") +
                                    " --encoding melody --split 0.6,0.2,0.2 --out " + shard);
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  const auto compared = run_cadenza("compare --data " + shard + " --models lstm,vae --steps 10 --preset tiny " +
                                    "--samples 2 --bars 2 --threads 1 --no-audio --out " + out);
  EXPECT_EQ(compared.exit_code, 1) << "the command still fails\n" << compared.output;
  EXPECT_NE(compared.output.find("vae: training failed"), std::string::npos) << compared.output;
  ASSERT_TRUE(fs::exists(out + "/index.html")) << "but the report of the others is written";
  const auto results = nlohmann::json::parse(read_file_text(out + "/results.json"));
  ASSERT_EQ(results["models"].size(), 1u);
  EXPECT_EQ(results["models"][0]["name"], "lstm");
  bool noted = false;
  for (const auto& note : results["notes"]) noted = noted || note.get<std::string>().find("vae") != std::string::npos;
  EXPECT_TRUE(noted) << "the report says what is missing and why";
}

TEST(CliCompare, BadRequestsFailBeforeTraining) {
  Tunes data;
  const std::string out = data.dir.file("report");

  auto result = run_cadenza("compare --data " + data.melody + " --models lstm,lstmm --out " + out);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("lstmm"), std::string::npos) << result.output;

  result = run_cadenza("compare --data " + data.melody + " --models lstm,gan --out " + out);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("model gan needs a piano-roll shard"), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(out + "/runs/lstm")) << "nothing is trained when the request cannot be satisfied";

  // (The vae trains on piano rolls too, as the multi-track VAE; the C-RNN-GAN needs a melody.)
  result = run_cadenza("compare --data " + data.roll + " --models rgan --out " + out);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("model rgan needs a melody shard"), std::string::npos) << result.output;

  const std::string checkpoints = data.dir.file("checkpoints");
  fs::create_directories(checkpoints);
  write_file_atomic(checkpoints + "/lstm.safetensors", std::string_view("not a checkpoint"));
  result =
      run_cadenza("compare --data " + data.melody + " --models lstm --checkpoints " + checkpoints + " --out " + out);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find(checkpoints + "/lstm.safetensors"), std::string::npos) << result.output;

  result = run_cadenza("compare --data " + data.dir.file("missing.cdz") + " --models lstm --out " + out);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("missing.cdz"), std::string::npos) << result.output;

  result = run_cadenza("compare --data " + data.melody + " --models lstm --budget 10x --out " + out);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("--budget 10x"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace cadenza
