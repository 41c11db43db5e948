// What `cadenza compare` measured: one record per model and one per training set, the input of the report writers
// (report_writer.h) and of the ranking (ranking.h). Plain data, torch-free: the CLI fills it from training runs,
// generated pieces and the shards; the unit tests fill it by hand.
//
// Every figure that may be undefined is a double holding NaN when it is (a GAN has no likelihood, a metric needs
// two pieces with a defined value, ...); the writers print NaN as "n/a" and JSON writes it as null.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cadenza::report {

inline constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();

// One point of a loss curve.
struct CurvePoint {
  double step = 0;
  double value = 0;
  double elapsed_seconds = 0;
};

// What a run's metrics.jsonl says about training (training_log.h reads it).
struct TrainingSummary {
  std::vector<CurvePoint> train_loss;         // "train" records: step, loss
  std::vector<CurvePoint> valid;              // "valid" records that carry valid_name
  std::string valid_name;                     // "nll" (autoregressive), "elbo_per_step" (vae), "" (none)
  double elements_per_second = kNotMeasured;  // training tokens (frames) per second, see training_log.h
  double seconds = kNotMeasured;              // training wall time (all sessions of the run)
  int64_t steps = 0;
  std::string stop_reason;  // "steps", "time budget", ... ("" when the run has no end record)
  int64_t parameters = -1;  // -1: unknown
};

// A figure of one musical statistic (eval::metric_names()) over a set of pieces beside the same figure over the
// reference set (the training pieces).
struct MetricComparison {
  std::string name;
  double mean = kNotMeasured;            // over the pieces with a defined value
  double reference_mean = kNotMeasured;  // over the reference pieces with a defined value
  // Overlap area of the two value distributions (Gaussian KDE, Scott's bandwidth; eval::compare_densities):
  // 1 = the same distribution, 0 = disjoint. NaN when either set has fewer than two defined values.
  double overlap_area = kNotMeasured;
  double kl_divergence = kNotMeasured;  // KL(set || reference), nats; NaN as overlap_area
  size_t pieces = 0;                    // pieces with a defined value
  size_t reference_pieces = 0;
  // Every reference piece has the same value (e.g. polyphony 1 in a melody shard): every model trained on that data
  // matches it by construction, so the ranking leaves such a statistic out (ranking.h).
  bool reference_constant = false;
  // Yang & Lerch's relative evaluation: OA between the reference's intra-set distances and the inter-set
  // distances (results.json only). NaN when undefined.
  double intra_inter_overlap = kNotMeasured;
};

// The memorization figures of a set of pieces against a training set (eval/originality.h).
struct OriginalityFigures {
  struct Share {
    int n = 0;
    double mean = kNotMeasured;    // mean over pieces of the share of their n-grams found in training
    double pooled = kNotMeasured;  // all found / all n-grams
    size_t pieces = 0;             // pieces with at least one n-gram
  };
  size_t pieces = 0;
  double mean_longest_notes = kNotMeasured;  // longest verbatim span, in notes
  double max_longest_notes = kNotMeasured;
  double mean_longest_bars = kNotMeasured;
  std::vector<Share> shares;  // one per n-gram size
  // The mean share for n-grams of n notes, NaN when not measured.
  double mean_share(int n) const;
};

// How a model scores the held-out data. Autoregressive models: the exact NLL; the VAE: its ELBO, an upper bound on
// its NLL measured on bar-aligned windows; GANs: none.
enum class LikelihoodKind { kNone, kNll, kElboBound };
const char* likelihood_kind_name(LikelihoodKind kind);  // "none", "nll", "elbo_bound"

struct Likelihood {
  LikelihoodKind kind = LikelihoodKind::kNone;
  double value = kNotMeasured;     // nats per element
  std::string unit;                // "token" or "frame"
  std::string split;               // the split scored ("test", or "valid" when the shard has no test pieces)
  double baseline = kNotMeasured;  // the unigram (key-rate) baseline on the same shard and split (kNll only)
  // Token data (kNll only): the interpolated Kneser-Ney n-gram and the same with a piece cache (eval/ngram.h),
  // fitted once per shard and scored on the same tokens as the model; NaN when not measured (or not on the same
  // tokens). The orders were chosen on the valid split.
  int64_t window = 0;                // kNll: the longest window scored at once (0: not known)
  int64_t training_crop_length = 0;  // kNll: the crops the model was trained on (0: not known)
  double ngram = kNotMeasured;
  int ngram_order = 0;
  double ngram_cached = kNotMeasured;
  int ngram_cached_order = 0;
};

struct SampleFiles {
  std::string midi;  // paths relative to the report folder ("samples/lstm_01.mid"); "" when not written
  std::string wav;
  std::string png;
  double music_seconds = 0;
  double generation_seconds = 0;
  size_t notes = 0;
};

struct ModelReport {
  std::string name;    // as given to --models: "lstm", "gan", ...
  std::string family;  // "lstm", "musegan", ...
  bool autoregressive = false;
  // From the family's registry row (src/families/registry.cpp): what the report says about its numbers.
  std::string score_name;        // "nll" | "elbo" | "" (no likelihood)
  std::string loss_description;  // "" = "training loss (nats per <unit>)"
  std::string speed_unit;        // training throughput unit; "" = per likelihood unit
  size_t reference = 0;          // index into Comparison::references: the shard it was trained and judged on
  std::string run;               // the run folder or checkpoint used
  std::string origin;            // "trained", "reused", "checkpoint"
  int64_t parameters = -1;
  TrainingSummary training;
  Likelihood likelihood;
  std::vector<MetricComparison> metrics;  // generated pieces vs the reference's training pieces
  // Melody data: the form metrics of the generated pieces' melody (eval/form_metrics.h) vs the training pieces';
  // empty for other data.
  std::vector<MetricComparison> form_metrics;
  OriginalityFigures originality;          // generated pieces vs the reference's training pieces
  std::array<double, 12> pitch_classes{};  // share of generated (non-drum) notes per pitch class, C first
  double generation_seconds = 0;           // all samples
  double music_seconds = 0;                // all samples
  std::vector<SampleFiles> samples;
  nlohmann::json details = nlohmann::json::object();  // anything else measured (results.json only)

  // Seconds of music generated per second of wall time; NaN without samples.
  double real_time_factor() const;
};

// A training set and its held-out pieces: the "real vs real" row every model is read against.
struct ReferenceSet {
  std::string shard;     // path as given
  std::string encoding;  // "melody", "pianoroll", ...
  size_t training_pieces = 0;
  size_t heldout_pieces = 0;
  std::vector<MetricComparison> heldout_metrics;       // held-out pieces vs training pieces
  std::vector<MetricComparison> heldout_form_metrics;  // melody data: the form metrics, held-out vs training
  OriginalityFigures heldout_originality;              // held-out pieces vs training pieces
  std::array<double, 12> training_pitch_classes{};
  std::array<double, 12> heldout_pitch_classes{};
};

struct Comparison {
  std::string title = "Cadenza model comparison";
  // How the comparison was run (budget, steps, preset, seed, samples, bars, command line): shown in the report's
  // header in insertion order and written to results.json.
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();
  std::vector<ReferenceSet> references;
  std::vector<ModelReport> models;
  std::vector<std::string> notes;  // remarks shown under the header (reused runs, skipped audio, ...)
};

// NaN-aware JSON number: null for NaN and infinities.
nlohmann::json number_or_null(double value);

}  // namespace cadenza::report
