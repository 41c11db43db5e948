// The honest ranking of a comparison: each ranking compares only what is comparable and says which figure it uses.
//
//   likelihood   test NLL per element, lower is better: only autoregressive models, and only those trained on the
//                same shard (one ranking per shard). The VAE's ELBO is an upper bound on its NLL measured on
//                windows, and GANs have no likelihood: both are listed as excluded with the reason.
//   statistics   mean overlap area between the generated pieces' and the training pieces' distributions of the
//                musical statistics, higher is better, for every model. The mean runs over the statistics that are
//                defined for every ranked model (a statistic that is undefined for one model, e.g. pitch_in_key_rate
//                for pieces without a key signature, is left out for all, so that every model is averaged over the
//                same statistics) and that vary over the training pieces (a constant one, such as the polyphony of a
//                melody shard, is matched by construction and would only add the same 1 to everybody); the held-out
//                pieces' figure over the same statistics is the ceiling.
//   originality  mean share of the generated pieces' 8-note n-grams that occur verbatim in training, lower is
//                better, for every model with such n-grams, beside the held-out pieces' share (the accidental
//                overlap of real, unseen music). Copying only: noise copies nothing, so read it with "statistics".
//
// Ties share a rank (1, 2, 2, 4). NaN figures are never ranked: such a model is listed as excluded.
#pragma once

#include <string>
#include <vector>

#include "report/comparison.h"

namespace cadenza::report {

// The n-gram length the originality ranking uses.
inline constexpr int kRankingNgram = 8;

struct RankEntry {
  std::string model;
  double value = 0;
  int rank = 0;
};

struct Exclusion {
  std::string model;
  std::string reason;
};

struct Ranking {
  std::string id;      // "likelihood", "statistics", "originality"
  std::string title;   // "Test NLL (melody.cdz)"
  std::string figure;  // what the value is, in words
  bool higher_is_better = false;
  std::vector<RankEntry> entries;  // best first
  std::vector<Exclusion> excluded;
  double reference_value = kNotMeasured;  // the held-out ("real vs real") figure where there is one
  std::string reference_label;            // what reference_value is
  // likelihood: further baselines on the same shard, split and tokens (the n-grams of token data), listed under
  // the entries, not ranked.
  struct Baseline {
    std::string label;
    double value = kNotMeasured;
  };
  std::vector<Baseline> baselines;
  std::vector<std::string> statistics;  // statistics: the metric names averaged
  std::string note;                     // caveats
};

// Competition ranks (1, 2, 2, 4) of entries already sorted best first; equal values share a rank.
void assign_ranks(std::vector<RankEntry>& entries);

// The mean of the overlap areas of the named statistics (NaN when a name is missing or its overlap is NaN, or
// names is empty).
double mean_overlap(const std::vector<MetricComparison>& metrics, const std::vector<std::string>& names);

// The statistics whose overlap area is defined for every listed model and whose reference values are not constant
// for any of them, in the order of the first model's metrics.
std::vector<std::string> common_statistics(const std::vector<const ModelReport*>& models);

// All rankings of a comparison: likelihood (one per shard that has autoregressive models), statistics,
// originality. A comparison without models gives no rankings.
std::vector<Ranking> rank_models(const Comparison& comparison);

nlohmann::json ranking_json(const Ranking& ranking);

}  // namespace cadenza::report
