#include "report/ranking.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cadenza::report {

namespace {

const MetricComparison* find_metric(const std::vector<MetricComparison>& metrics, const std::string& name) {
  for (const auto& metric : metrics)
    if (metric.name == name) return &metric;
  return nullptr;
}

// Sorts best first (stable: equal figures keep the order of --models) and ranks.
void sort_and_rank(std::vector<RankEntry>& entries, bool higher_is_better) {
  std::stable_sort(entries.begin(), entries.end(), [&](const RankEntry& a, const RankEntry& b) {
    return higher_is_better ? a.value > b.value : a.value < b.value;
  });
  assign_ranks(entries);
}

std::string short_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string shard_name(const Comparison& comparison, size_t reference) {
  return reference < comparison.references.size() ? comparison.references[reference].shard
                                                  : "shard " + std::to_string(reference);
}

// Why a model that is not autoregressive has no place in a likelihood ranking.
Exclusion likelihood_exclusion(const ModelReport& model) {
  if (model.likelihood.kind == LikelihoodKind::kElboBound) {
    std::string figure = std::isfinite(model.likelihood.value) ? " (" + short_number(model.likelihood.value) + ")" : "";
    return {model.name,
            "its ELBO" + figure +
                " is an upper bound on its NLL, measured on bar-aligned windows, not an NLL: not comparable"};
  }
  if (model.score_name == "elbo") return {model.name, "its ELBO bound was not measured"};
  return {model.name, "a GAN defines no likelihood"};
}

std::vector<Ranking> likelihood_rankings(const Comparison& comparison) {
  // One ranking per shard, in the order in which the shards' first autoregressive model appears.
  std::vector<size_t> shards;
  for (const auto& model : comparison.models)
    if (model.autoregressive && std::find(shards.begin(), shards.end(), model.reference) == shards.end())
      shards.push_back(model.reference);

  std::vector<Ranking> rankings;
  for (size_t shard : shards) {
    Ranking ranking;
    ranking.id = "likelihood";
    ranking.title = "Held-out likelihood on " + shard_name(comparison, shard);
    ranking.higher_is_better = false;
    std::string unit, split;
    for (const auto& model : comparison.models) {
      if (!model.autoregressive || model.reference != shard) continue;
      const Likelihood& likelihood = model.likelihood;
      if (likelihood.kind != LikelihoodKind::kNll || !std::isfinite(likelihood.value)) {
        ranking.excluded.push_back({model.name, "its NLL was not measured"});
        continue;
      }
      ranking.entries.push_back({model.name, likelihood.value, 0});
      if (unit.empty()) unit = likelihood.unit;
      if (split.empty()) split = likelihood.split;
      if (!std::isfinite(ranking.reference_value)) ranking.reference_value = likelihood.baseline;
      // The n-grams are fitted once per shard: every model of the shard carries the same figures.
      if (ranking.baselines.empty() && std::isfinite(likelihood.ngram)) {
        ranking.baselines.push_back(
            {"Kneser-Ney " + std::to_string(likelihood.ngram_order) + "-gram (order chosen on valid)",
             likelihood.ngram});
        if (std::isfinite(likelihood.ngram_cached))
          ranking.baselines.push_back({"Kneser-Ney " + std::to_string(likelihood.ngram_cached_order) +
                                           "-gram + piece cache (the tokens already heard in the piece)",
                                       likelihood.ngram_cached});
      }
    }
    if (unit.empty()) unit = "element";
    if (split.empty()) split = "test";
    ranking.figure = "NLL in nats per " + unit + " on the " + split +
                     " split, every element predicted from its piece's own start (lower is better)";
    ranking.reference_label = "unigram baseline: each " + unit + " predicted from its training frequency";
    ranking.note = "Only autoregressive models trained on the same shard are ranked by likelihood.";
    sort_and_rank(ranking.entries, false);
    rankings.push_back(std::move(ranking));
  }

  // The other models go with the ranking of their own shard, else with the first one; without any autoregressive
  // model there is one ranking that only says why nobody is in it.
  if (rankings.empty()) {
    bool any_other = false;
    for (const auto& model : comparison.models) any_other = any_other || !model.autoregressive;
    if (!any_other) return rankings;
    Ranking ranking;
    ranking.id = "likelihood";
    ranking.title = "Held-out likelihood";
    ranking.figure = "NLL in nats per element on the test split (lower is better)";
    ranking.note = "No autoregressive model in this comparison: no model has an exact likelihood to rank.";
    rankings.push_back(std::move(ranking));
  }
  for (const auto& model : comparison.models) {
    if (model.autoregressive) continue;
    Ranking* home = &rankings.front();
    for (size_t i = 0; i < shards.size(); ++i)
      if (shards[i] == model.reference) home = &rankings[i];
    home->excluded.push_back(likelihood_exclusion(model));
  }
  return rankings;
}

Ranking statistics_ranking(const Comparison& comparison) {
  Ranking ranking;
  ranking.id = "statistics";
  ranking.title = "Closeness to the training set's musical statistics";
  ranking.higher_is_better = true;
  std::vector<const ModelReport*> ranked;
  for (const auto& model : comparison.models) {
    if (model.samples.empty()) {
      ranking.excluded.push_back({model.name, "no generated pieces"});
      continue;
    }
    ranked.push_back(&model);
  }
  ranking.statistics = common_statistics(ranked);
  for (const ModelReport* model : ranked) {
    const double value = mean_overlap(model->metrics, ranking.statistics);
    if (std::isfinite(value))
      ranking.entries.push_back({model->name, value, 0});
    else
      ranking.excluded.push_back({model->name, "no statistic is defined for every model"});
  }
  ranking.figure = "mean over " + std::to_string(ranking.statistics.size()) +
                   " musical statistics of the overlap area between the distribution over the generated pieces and "
                   "over the training pieces (1 = indistinguishable; higher is better)";
  // The held-out pieces of the shards the ranked models were judged on, over the same statistics: the ceiling.
  double sum = 0;
  int count = 0;
  std::vector<size_t> seen;
  for (const ModelReport* model : ranked) {
    if (model->reference >= comparison.references.size() ||
        std::find(seen.begin(), seen.end(), model->reference) != seen.end())
      continue;
    seen.push_back(model->reference);
    const double value = mean_overlap(comparison.references[model->reference].heldout_metrics, ranking.statistics);
    if (std::isfinite(value)) sum += value, ++count;
  }
  if (count > 0) {
    ranking.reference_value = sum / count;
    ranking.reference_label = count == 1 ? "held-out pieces vs the training pieces (real vs real)"
                                         : "held-out pieces vs the training pieces (real vs real), mean over " +
                                               std::to_string(count) + " shards";
  }
  ranking.note =
      "Each model is compared with the training pieces of the shard it was trained on, cut to the generated length. "
      "Statistics undefined for any model, or constant over a training set (which its models match by "
      "construction, e.g. the polyphony of a melody shard), are left out for all.";
  sort_and_rank(ranking.entries, true);
  return ranking;
}

Ranking originality_ranking(const Comparison& comparison) {
  Ranking ranking;
  ranking.id = "originality";
  ranking.title = "Originality: " + std::to_string(kRankingNgram) + "-grams copied from training";
  ranking.higher_is_better = false;
  ranking.figure = "mean share of the generated pieces' " + std::to_string(kRankingNgram) +
                   "-note melody n-grams (intervals and rhythm) found verbatim in the training set (lower is better)";
  double sum = 0;
  int count = 0;
  std::vector<size_t> seen;
  for (const auto& model : comparison.models) {
    const double share = model.originality.mean_share(kRankingNgram);
    if (!std::isfinite(share)) {
      ranking.excluded.push_back(
          {model.name, model.samples.empty() ? "no generated pieces"
                                             : "no generated piece has " + std::to_string(kRankingNgram) + " notes"});
      continue;
    }
    ranking.entries.push_back({model.name, share, 0});
    if (model.reference < comparison.references.size() &&
        std::find(seen.begin(), seen.end(), model.reference) == seen.end()) {
      seen.push_back(model.reference);
      const double baseline = comparison.references[model.reference].heldout_originality.mean_share(kRankingNgram);
      if (std::isfinite(baseline)) sum += baseline, ++count;
    }
  }
  if (count > 0) {
    ranking.reference_value = sum / count;
    ranking.reference_label = "held-out pieces against the training set: the accidental overlap of real, unseen music" +
                              std::string(count > 1 ? " (mean over shards)" : "");
  }
  ranking.note =
      "Measures copying only: a model above the held-out share reproduces its training data more than new music "
      "does; one far below may just not sound like the style (random notes copy nothing). Read it with the "
      "statistics ranking.";
  sort_and_rank(ranking.entries, false);
  return ranking;
}

}  // namespace

void assign_ranks(std::vector<RankEntry>& entries) {
  for (size_t i = 0; i < entries.size(); ++i)
    entries[i].rank =
        (i > 0 && entries[i].value == entries[i - 1].value) ? entries[i - 1].rank : static_cast<int>(i) + 1;
}

double mean_overlap(const std::vector<MetricComparison>& metrics, const std::vector<std::string>& names) {
  if (names.empty()) return kNotMeasured;
  double sum = 0;
  for (const auto& name : names) {
    const MetricComparison* metric = find_metric(metrics, name);
    if (metric == nullptr || !std::isfinite(metric->overlap_area)) return kNotMeasured;
    sum += metric->overlap_area;
  }
  return sum / static_cast<double>(names.size());
}

std::vector<std::string> common_statistics(const std::vector<const ModelReport*>& models) {
  std::vector<std::string> names;
  if (models.empty()) return names;
  for (const auto& metric : models.front()->metrics) {
    bool everywhere = true;
    for (const ModelReport* model : models) {
      const MetricComparison* found = find_metric(model->metrics, metric.name);
      everywhere = everywhere && found != nullptr && std::isfinite(found->overlap_area) && !found->reference_constant;
    }
    if (everywhere) names.push_back(metric.name);
  }
  return names;
}

std::vector<Ranking> rank_models(const Comparison& comparison) {
  std::vector<Ranking> rankings;
  if (comparison.models.empty()) return rankings;
  rankings = likelihood_rankings(comparison);
  rankings.push_back(statistics_ranking(comparison));
  rankings.push_back(originality_ranking(comparison));
  return rankings;
}

nlohmann::json ranking_json(const Ranking& ranking) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& entry : ranking.entries)
    entries.push_back({{"rank", entry.rank}, {"model", entry.model}, {"value", number_or_null(entry.value)}});
  nlohmann::json excluded = nlohmann::json::array();
  for (const auto& exclusion : ranking.excluded)
    excluded.push_back({{"model", exclusion.model}, {"reason", exclusion.reason}});
  nlohmann::json json = {{"id", ranking.id},         {"title", ranking.title},
                         {"figure", ranking.figure}, {"higher_is_better", ranking.higher_is_better},
                         {"entries", entries},       {"excluded", excluded},
                         {"note", ranking.note}};
  if (std::isfinite(ranking.reference_value))
    json["reference"] = {{"value", ranking.reference_value}, {"label", ranking.reference_label}};
  if (ranking.id == "statistics") json["statistics"] = ranking.statistics;
  if (!ranking.baselines.empty()) {
    json["baselines"] = nlohmann::json::array();
    for (const auto& baseline : ranking.baselines)
      json["baselines"].push_back({{"label", baseline.label}, {"value", number_or_null(baseline.value)}});
  }
  return json;
}

}  // namespace cadenza::report
