// The comparison report from hand-made results: the honest ranking (what is ranked, what is excluded and why),
// the HTML page (self-contained, every link relative), the Markdown twin and results.json.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "report/comparison.h"
#include "report/ranking.h"
#include "report/report_writer.h"
#include "support/test_support.h"

namespace cadenza::report {
namespace {

// ---- hand-made comparisons: no training, no generation, every figure chosen by the test ----

inline MetricComparison metric(const std::string& name, double overlap, double mean = 1.0, double training = 1.0) {
  MetricComparison comparison;
  comparison.name = name;
  comparison.mean = mean;
  comparison.reference_mean = training;
  comparison.overlap_area = overlap;
  comparison.pieces = 4;
  comparison.reference_pieces = 10;
  return comparison;
}

inline OriginalityFigures originality(double share8, double longest = 5) {
  OriginalityFigures figures;
  figures.pieces = 4;
  figures.mean_longest_notes = longest;
  figures.max_longest_notes = longest + 2;
  figures.mean_longest_bars = longest / 4;
  figures.shares = {{8, share8, share8, 4}, {16, share8 / 2, share8 / 2, 4}};
  return figures;
}

inline ModelReport model(const std::string& name, const std::string& family, bool autoregressive, size_t reference) {
  ModelReport report;
  report.name = name;
  report.family = family;
  report.autoregressive = autoregressive;
  report.reference = reference;
  report.run = "runs/" + name;
  report.origin = "trained";
  report.parameters = 123456;
  report.training.seconds = 600;
  report.training.steps = 1000;
  report.training.stop_reason = "time budget";
  report.training.elements_per_second = 5000;
  report.training.train_loss = {{20, 3.0, 10}, {40, 2.5, 20}, {60, 2.2, 30}};
  for (int i = 0; i < 2; ++i) {
    SampleFiles sample;
    sample.midi = "samples/" + name + "_0" + std::to_string(i + 1) + ".mid";
    sample.wav = "samples/" + name + "_0" + std::to_string(i + 1) + ".wav";
    sample.png = "samples/" + name + "_0" + std::to_string(i + 1) + ".png";
    sample.music_seconds = 8;
    sample.generation_seconds = 0.5;
    sample.notes = 30;
    report.samples.push_back(sample);
  }
  report.music_seconds = 16;
  report.generation_seconds = 1;
  report.pitch_classes = {0.2, 0, 0.2, 0, 0.2, 0.1, 0, 0.2, 0, 0.1, 0, 0};
  return report;
}

// Melody shard 0 with lstm, gru (autoregressive), vae; piano-roll shard 1 with gan.
inline Comparison four_models() {
  Comparison comparison;
  comparison.settings["models"] = "lstm,gru,vae,gan";
  comparison.settings["budget"] = "10m per model";
  ReferenceSet melody;
  melody.shard = "melody.cdz";
  melody.encoding = "melody";
  melody.training_pieces = 10;
  melody.heldout_pieces = 6;
  melody.heldout_metrics = {metric("pitch_range", 0.9), metric("pitch_in_key_rate", 0.8), metric("note_density", 0.9)};
  melody.heldout_originality = originality(0.30);
  melody.training_pitch_classes = {0.25, 0, 0.15, 0, 0.2, 0.1, 0, 0.2, 0, 0.1, 0, 0};
  ReferenceSet roll = melody;
  roll.shard = "roll.cdz";
  roll.encoding = "pianoroll";
  roll.heldout_originality = originality(0.20);
  comparison.references = {melody, roll};

  ModelReport lstm = model("lstm", "lstm", true, 0);
  lstm.likelihood = {LikelihoodKind::kNll, 1.10, "token", "test", 2.5};
  lstm.training.valid_name = "nll";
  lstm.training.valid = {{50, 1.5, 25}, {100, 1.2, 50}};
  lstm.metrics = {metric("pitch_range", 0.7), metric("pitch_in_key_rate", 0.2), metric("note_density", 0.5)};
  lstm.originality = originality(0.40);

  ModelReport gru = model("gru", "gru", true, 0);
  gru.likelihood = {LikelihoodKind::kNll, 0.95, "token", "test", 2.5};
  gru.metrics = {metric("pitch_range", 0.6), metric("pitch_in_key_rate", 0.99), metric("note_density", 0.4)};
  gru.originality = originality(0.10);

  // The VAE's ELBO is lower than both NLLs: it must still not be ranked among them.
  ModelReport vae = model("vae", "vae", false, 0);
  vae.likelihood = {LikelihoodKind::kElboBound, 0.50, "token", "test", kNotMeasured};
  vae.training.valid_name = "elbo_per_step";
  vae.metrics = {metric("pitch_range", 0.9), metric("pitch_in_key_rate", kNotMeasured), metric("note_density", 0.8)};
  vae.originality = originality(0.25);

  ModelReport gan = model("gan", "musegan", false, 1);
  gan.metrics = {metric("pitch_range", 0.3), metric("pitch_in_key_rate", 0.9), metric("note_density", 0.2)};
  gan.originality = originality(kNotMeasured);

  // Polyphony is 1 in every melody training piece: the melody models match it by construction (overlap 1). Averaged
  // in, it would only add the same 1 to them and hide how far the GAN is from its own (varied) training polyphony.
  for (ModelReport* melody_model : {&lstm, &gru, &vae}) {
    melody_model->metrics.push_back(metric("polyphony", 1.0));
    melody_model->metrics.back().reference_constant = true;
  }
  gan.metrics.push_back(metric("polyphony", 0.1));

  comparison.models = {lstm, gru, vae, gan};
  return comparison;
}

// A frame-level transformer on the piano-roll shard: its NLL is per frame, not per token.
ModelReport testing_model_on_roll() {
  ModelReport transformer = model("transformer", "transformer", true, 1);
  transformer.likelihood = {LikelihoodKind::kNll, 0.3, "frame", "test", 4.0};
  transformer.metrics = {metric("pitch_range", 0.5), metric("pitch_in_key_rate", 0.5), metric("note_density", 0.5)};
  transformer.originality = originality(0.2);
  return transformer;
}

const Ranking& find_ranking(const std::vector<Ranking>& rankings, const std::string& id) {
  for (const auto& ranking : rankings)
    if (ranking.id == id) return ranking;
  throw std::runtime_error("no ranking " + id);
}

std::vector<std::string> ranked_models(const Ranking& ranking) {
  std::vector<std::string> names;
  for (const auto& entry : ranking.entries) names.push_back(entry.model);
  return names;
}

const Exclusion* exclusion_of(const Ranking& ranking, const std::string& model) {
  for (const auto& exclusion : ranking.excluded)
    if (exclusion.model == model) return &exclusion;
  return nullptr;
}

// ---- ranking ----

TEST(ReportRanking, LikelihoodRanksOnlyAutoregressiveModelsOfOneShard) {
  const std::vector<Ranking> rankings = rank_models(four_models());
  const Ranking& likelihood = find_ranking(rankings, "likelihood");
  EXPECT_EQ(ranked_models(likelihood), (std::vector<std::string>{"gru", "lstm"})) << "lower NLL first";
  EXPECT_FALSE(likelihood.higher_is_better);
  EXPECT_EQ(likelihood.entries[0].rank, 1);
  EXPECT_EQ(likelihood.entries[1].rank, 2);
  EXPECT_DOUBLE_EQ(likelihood.entries[0].value, 0.95);
  EXPECT_DOUBLE_EQ(likelihood.reference_value, 2.5) << "the unigram baseline is shown beside them";
  EXPECT_NE(likelihood.title.find("melody.cdz"), std::string::npos) << likelihood.title;

  // The VAE's ELBO (0.5) is lower than both NLLs but a bound: excluded with the reason, not ranked first.
  const Exclusion* vae = exclusion_of(likelihood, "vae");
  ASSERT_NE(vae, nullptr);
  EXPECT_NE(vae->reason.find("upper bound"), std::string::npos) << vae->reason;
  const Exclusion* gan = exclusion_of(likelihood, "gan");
  ASSERT_NE(gan, nullptr);
  EXPECT_NE(gan->reason.find("no likelihood"), std::string::npos) << gan->reason;
}

TEST(ReportRanking, EachShardGetsItsOwnLikelihoodRanking) {
  Comparison comparison = four_models();
  ModelReport frames = testing_model_on_roll();
  comparison.models.push_back(frames);
  const std::vector<Ranking> rankings = rank_models(comparison);
  std::vector<const Ranking*> likelihood;
  for (const auto& ranking : rankings)
    if (ranking.id == "likelihood") likelihood.push_back(&ranking);
  ASSERT_EQ(likelihood.size(), 2u);
  EXPECT_EQ(ranked_models(*likelihood[0]), (std::vector<std::string>{"gru", "lstm"}));
  EXPECT_EQ(ranked_models(*likelihood[1]), (std::vector<std::string>{"transformer"}))
      << "an NLL per frame is not compared with NLLs per token";
  EXPECT_NE(likelihood[1]->figure.find("frame"), std::string::npos) << likelihood[1]->figure;
  EXPECT_NE(exclusion_of(*likelihood[1], "gan"), nullptr) << "the GAN is listed with its own shard";
}

// The n-grams of a token shard: fitted once, so every token model of the shard carries the same figures.
Comparison with_ngrams_and_form() {
  Comparison comparison = four_models();
  for (ModelReport& m : comparison.models) {
    if (m.name != "lstm" && m.name != "gru") continue;
    m.likelihood.ngram = 1.06, m.likelihood.ngram_order = 7;
    m.likelihood.ngram_cached = 0.49, m.likelihood.ngram_cached_order = 8;
    m.likelihood.window = 1024, m.likelihood.training_crop_length = 256;
  }
  comparison.models[0].form_metrics = {metric("recurring_2bar_patterns", 0.3, 0.05, 0.61),
                                       metric("notes_in_key", 0.4, 0.86, 0.97)};
  comparison.references[0].heldout_form_metrics = {metric("recurring_2bar_patterns", 0.9, 0.58, 0.61),
                                                   metric("notes_in_key", 0.9, 0.96, 0.97)};
  comparison.models.push_back(testing_model_on_roll());  // frames: no n-gram
  return comparison;
}

TEST(ReportRanking, NgramBaselinesAreListedUnderTheLikelihoodRankingOfTheirShard) {
  const Comparison comparison = with_ngrams_and_form();
  const std::vector<Ranking> rankings = rank_models(comparison);
  std::vector<const Ranking*> likelihood;
  for (const auto& ranking : rankings)
    if (ranking.id == "likelihood") likelihood.push_back(&ranking);
  ASSERT_EQ(likelihood.size(), 2u);
  ASSERT_EQ(likelihood[0]->baselines.size(), 2u);
  EXPECT_EQ(likelihood[0]->baselines[0].label, "Kneser-Ney 7-gram (order chosen on valid)");
  EXPECT_DOUBLE_EQ(likelihood[0]->baselines[0].value, 1.06);
  EXPECT_NE(likelihood[0]->baselines[1].label.find("Kneser-Ney 8-gram + piece cache"), std::string::npos);
  EXPECT_DOUBLE_EQ(likelihood[0]->baselines[1].value, 0.49);
  EXPECT_EQ(ranked_models(*likelihood[0]), (std::vector<std::string>{"gru", "lstm"})) << "baselines are not ranked";
  EXPECT_TRUE(likelihood[1]->baselines.empty()) << "the frame model's shard has no n-gram";

  const std::string md = render_markdown(comparison, rankings);
  EXPECT_NE(md.find("| - | baseline: Kneser-Ney 7-gram (order chosen on valid) | 1.06 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| Kneser-Ney 7-gram baseline | 1.06 (same tokens) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| held-out likelihood | 0.95 nats per token, test split, windows of 1024 tokens (trained on crops "
                    "of 256) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| Kneser-Ney 8-gram + piece cache baseline | 0.49 (same tokens) |"), std::string::npos) << md;
  const nlohmann::ordered_json json = results_json(comparison, rankings);
  EXPECT_DOUBLE_EQ(json["models"][0]["likelihood"]["ngram_baseline"].get<double>(), 1.06);
  EXPECT_EQ(json["models"][0]["likelihood"]["ngram_cached_order"], 8);
  EXPECT_TRUE(json["models"][2]["likelihood"]["ngram_baseline"].is_null()) << "the vae has none";
  EXPECT_EQ(json["rankings"][0]["baselines"].size(), 2u);
}

TEST(ReportPages, FormMetricsStandBesideTheTrainingAndHeldOutTunes) {
  const Comparison comparison = with_ngrams_and_form();
  const std::vector<Ranking> rankings = rank_models(comparison);
  const std::string md = render_markdown(comparison, rankings);
  EXPECT_NE(md.find("### Form of the melody\n\n| form metric | lstm | training set | held-out | overlap area |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| recurring_2bar_patterns | 0.05 | 0.61 | 0.58 | 0.3 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| notes_in_key | 0.86 | 0.97 | 0.96 | 0.4 |"), std::string::npos) << md;
  EXPECT_NE(md.find("#### Form of the melody"), std::string::npos) << "the real tunes' own table";
  EXPECT_EQ(md.find("## gru (gru)"), std::string::npos);
  const size_t gru = md.find("## gru\n");
  ASSERT_NE(gru, std::string::npos);
  EXPECT_EQ(md.substr(gru, md.find("## vae") - gru).find("Form of the melody"), std::string::npos)
      << "no table for a model without form metrics";
  const std::string html = render_html(comparison, rankings);
  EXPECT_NE(html.find("<h3>Form of the melody</h3>"), std::string::npos);
  const nlohmann::ordered_json json = results_json(comparison, rankings);
  EXPECT_EQ(json["models"][0]["form_metrics"].size(), 2u);
  EXPECT_EQ(json["references"][0]["heldout_form_metrics"][0]["name"], "recurring_2bar_patterns");
}

TEST(ReportRanking, StatisticsUseOnlyStatisticsDefinedForEveryModel) {
  const std::vector<Ranking> rankings = rank_models(four_models());
  const Ranking& statistics = find_ranking(rankings, "statistics");
  EXPECT_TRUE(statistics.higher_is_better);
  // pitch_in_key_rate is undefined for the VAE, so nobody is averaged over it (gru would otherwise win with 0.99), and
  // polyphony is constant over the melody training set, so it is left out too.
  EXPECT_EQ(statistics.statistics, (std::vector<std::string>{"pitch_range", "note_density"}));
  EXPECT_EQ(ranked_models(statistics), (std::vector<std::string>{"vae", "lstm", "gru", "gan"}));
  EXPECT_NEAR(statistics.entries[0].value, (0.9 + 0.8) / 2, 1e-12);
  EXPECT_NEAR(statistics.entries[1].value, (0.7 + 0.5) / 2, 1e-12);
  EXPECT_NEAR(statistics.reference_value, 0.9, 1e-12) << "held-out pieces over the same two statistics";
  EXPECT_NE(statistics.figure.find("2 musical statistics"), std::string::npos) << statistics.figure;
}

TEST(ReportRanking, OriginalityRanksCopyingAndShowsTheHeldOutBaseline) {
  const std::vector<Ranking> rankings = rank_models(four_models());
  const Ranking& originality = find_ranking(rankings, "originality");
  EXPECT_FALSE(originality.higher_is_better);
  EXPECT_EQ(ranked_models(originality), (std::vector<std::string>{"gru", "vae", "lstm"}));
  ASSERT_NE(exclusion_of(originality, "gan"), nullptr) << "no 8-note n-gram: not ranked";
  // Baseline: mean of the held-out shares of the shards of the ranked models (only the melody shard here).
  EXPECT_NEAR(originality.reference_value, 0.30, 1e-12);
  EXPECT_NE(originality.note.find("copy nothing"), std::string::npos) << "the caveat is stated";
}

TEST(ReportRanking, TiesShareARankAndModelsWithoutSamplesAreExcluded) {
  std::vector<RankEntry> entries = {{"a", 1.0, 0}, {"b", 2.0, 0}, {"c", 2.0, 0}, {"d", 3.0, 0}};
  assign_ranks(entries);
  EXPECT_EQ(entries[0].rank, 1);
  EXPECT_EQ(entries[1].rank, 2);
  EXPECT_EQ(entries[2].rank, 2);
  EXPECT_EQ(entries[3].rank, 4);

  Comparison comparison = four_models();
  comparison.models[1].samples.clear();  // gru generated nothing
  const std::vector<Ranking> rankings = rank_models(comparison);
  const Ranking& statistics = find_ranking(rankings, "statistics");
  const std::vector<std::string> ranked = ranked_models(statistics);
  EXPECT_EQ(std::count(ranked.begin(), ranked.end(), "gru"), 0);
  ASSERT_NE(exclusion_of(statistics, "gru"), nullptr);
  // Without the gru, pitch_in_key_rate is still undefined for the vae: the set of statistics is unchanged.
  EXPECT_EQ(statistics.statistics.size(), 2u);
}

TEST(ReportRanking, MeanOverlapIsUndefinedWhenAStatisticIsMissing) {
  const std::vector<MetricComparison> metrics = {metric("a", 0.2), metric("b", 0.4), metric("c", kNotMeasured)};
  EXPECT_NEAR(mean_overlap(metrics, {"a", "b"}), 0.3, 1e-12);
  EXPECT_TRUE(std::isnan(mean_overlap(metrics, {"a", "c"})));
  EXPECT_TRUE(std::isnan(mean_overlap(metrics, {"a", "missing"})));
  EXPECT_TRUE(std::isnan(mean_overlap(metrics, {})));
  EXPECT_TRUE(rank_models(Comparison{}).empty());
}

// ---- pages ----

std::vector<std::string> attribute_values(const std::string& html, const std::string& attribute) {
  std::vector<std::string> values;
  const std::regex pattern(attribute + "=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), pattern); it != std::sregex_iterator(); ++it)
    values.push_back((*it)[1].str());
  return values;
}

TEST(ReportPages, HtmlIsSelfContainedWithRelativeLinks) {
  const Comparison comparison = four_models();
  const std::string html = render_html(comparison, rank_models(comparison));
  EXPECT_EQ(html.find("http://"), std::string::npos) << "no remote asset, not even a namespace URL";
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos) << "CSS is inline";
  EXPECT_NE(html.find("<style>"), std::string::npos);
  for (const std::string attribute : {"src", "href"})
    for (const std::string& value : attribute_values(html, attribute)) {
      EXPECT_EQ(value.find("//"), std::string::npos) << value;
      EXPECT_NE(value.front(), '/') << "relative: " << value;
    }
  // Every sample: a piano roll picture, an audio player and a MIDI download.
  for (const auto& model : comparison.models)
    for (const auto& sample : model.samples) {
      EXPECT_NE(html.find("<img src=\"" + sample.png + "\""), std::string::npos) << sample.png;
      EXPECT_NE(html.find("<audio controls preload=\"none\" src=\"" + sample.wav + "\""), std::string::npos);
      EXPECT_NE(html.find("<a href=\"" + sample.midi + "\""), std::string::npos) << sample.midi;
    }
  // Loss curves and pitch-class histograms are inline SVG drawn by us: one per model, plus the validation chart.
  size_t charts = 0;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++charts;
  EXPECT_EQ(charts, 2 * comparison.models.size() + 1);
}

TEST(ReportPages, TablesCarryTheMeasuredFigures) {
  const Comparison comparison = four_models();
  const std::vector<Ranking> rankings = rank_models(comparison);
  for (const std::string& page : {render_html(comparison, rankings), render_markdown(comparison, rankings)}) {
    EXPECT_NE(page.find("123.5k"), std::string::npos) << "parameters";
    EXPECT_NE(page.find("10m00s, 1000 steps (time budget)"), std::string::npos) << "training time";
    EXPECT_NE(page.find("5000 tokens/s"), std::string::npos) << "training speed";
    EXPECT_NE(page.find("0.95"), std::string::npos) << "the gru's NLL";
    EXPECT_NE(page.find("ELBO bound"), std::string::npos);
    EXPECT_NE(page.find("16× real time"), std::string::npos) << "16 s of music in 1 s";
    EXPECT_NE(page.find("40.0%"), std::string::npos) << "the lstm's 8-gram share";
    EXPECT_NE(page.find("real vs real"), std::string::npos) << "the held-out baseline row";
    EXPECT_NE(page.find("pitch_in_key_rate"), std::string::npos);
    EXPECT_NE(page.find("n/a"), std::string::npos) << "undefined figures are shown as such";
    EXPECT_EQ(page.find("nan"), std::string::npos) << "never a raw NaN";
  }
}

TEST(ReportPages, MarkdownUsesRelativeLinksAndEscapesCells) {
  Comparison comparison = four_models();
  comparison.settings["command"] = "cadenza compare --models a|b";
  const std::string md = render_markdown(comparison, rank_models(comparison));
  EXPECT_NE(md.find("[MIDI](samples/lstm_01.mid)"), std::string::npos);
  EXPECT_NE(md.find("[WAV](samples/lstm_01.wav)"), std::string::npos);
  EXPECT_NE(md.find("![piano roll](samples/lstm_01.png)"), std::string::npos);
  EXPECT_NE(md.find("](charts/loss_lstm.svg)"), std::string::npos);
  EXPECT_NE(md.find("a\\|b"), std::string::npos) << "a | inside a cell would split the table";
  EXPECT_EQ(md.find("http"), std::string::npos);
}

TEST(ReportPages, ResultsJsonHoldsEverythingWithNullForUndefined) {
  const Comparison comparison = four_models();
  const nlohmann::ordered_json json = results_json(comparison, rank_models(comparison));
  ASSERT_EQ(json["models"].size(), 4u);
  const auto& lstm = json["models"][0];
  EXPECT_EQ(lstm["name"], "lstm");
  EXPECT_EQ(lstm["likelihood"]["kind"], "nll");
  EXPECT_DOUBLE_EQ(lstm["likelihood"]["value"].get<double>(), 1.10);
  EXPECT_EQ(lstm["training"]["train_loss"].size(), 3u);
  EXPECT_EQ(lstm["samples"].size(), 2u);
  EXPECT_EQ(lstm["samples"][0]["midi"], "samples/lstm_01.mid");
  EXPECT_TRUE(json["models"][2]["metrics"][1]["overlap_area"].is_null()) << "NaN becomes null";
  EXPECT_TRUE(json["models"][3]["likelihood"]["value"].is_null());
  EXPECT_EQ(json["models"][3]["likelihood"]["kind"], "none");
  EXPECT_EQ(json["rankings"].size(), 3u);
  EXPECT_EQ(json["rankings"][0]["entries"][0]["model"], "gru");
  EXPECT_EQ(json["references"].size(), 2u);
  // The text round-trips through a JSON parser (no NaN token).
  EXPECT_FALSE(nlohmann::json::parse(json.dump(), nullptr, false).is_discarded());
}

TEST(ReportPages, WriteReportWritesThePagesAndCharts) {
  cadenza::testing::TempDir dir;
  const std::string folder = dir.file("report");
  write_report(folder, four_models());
  for (const char* name : {"index.html", "report.md", "results.json", "charts/loss_lstm.svg",
                           "charts/pitch_classes_gan.svg", "charts/validation_nll.svg"})
    EXPECT_TRUE(std::filesystem::exists(folder + "/" + name)) << name;
  const std::string svg = read_file_text(folder + "/charts/loss_lstm.svg");
  EXPECT_EQ(svg.rfind("<svg xmlns=", 0), 0u) << "standalone SVG files keep their namespace";
  const auto parsed = nlohmann::json::parse(read_file_text(folder + "/results.json"));
  EXPECT_EQ(parsed["models"].size(), 4u);
  // No temporary file is left behind by the atomic writes.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder))
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
}

TEST(ReportPages, WriteReportNamesTheFolderItCannotCreate) {
  cadenza::testing::TempDir dir;
  write_file_atomic(dir.file("file"), std::string_view("x"));
  try {
    write_report(dir.file("file") + "/report", four_models());
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_NE(std::string(error.what()).find(dir.file("file")), std::string::npos) << error.what();
  }
}

TEST(ReportPages, NumberFormats) {
  EXPECT_EQ(format_number(kNotMeasured), "n/a");
  EXPECT_EQ(format_number(1.23456), "1.23");
  EXPECT_EQ(format_number(123456.7), "123457");
  EXPECT_EQ(format_number(5000), "5000") << "no exponent for thousands";
  EXPECT_EQ(format_percent(0.1234), "12.3%");
  EXPECT_EQ(format_percent(kNotMeasured), "n/a");
  EXPECT_EQ(format_count(-1), "n/a");
  EXPECT_EQ(format_count(812), "812");
  EXPECT_EQ(format_count(45123), "45.1k");
  EXPECT_EQ(format_count(2345678), "2.35M");
}

}  // namespace
}  // namespace cadenza::report
