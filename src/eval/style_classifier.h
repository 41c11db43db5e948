// The style classifier (issue 17, "Styles and blends"): the measuring instrument for style-conditioned generation.
// Trained on real pieces only (the train split), it says which style a melody sounds like, for a whole piece and
// for each window of N bars (a style transition should move the windows' probabilities from one style to the
// other). Torch-free: plain C++ multinomial logistic regression.
//
// Features (style_feature_names(), kStyleFeaturesVersion) of one monophonic melody (melody_line(): one track, the
// skyline where notes overlap). All are transposition-invariant and independent of the piece's length:
//   meter_num_*, meter_den_*   one-hot of the meter at the start (numerator 2 3 4 6 9 12 other; denominator 2 4 8
//                              other);
//   ioi_*                      histogram of the inter-onset intervals (time to the next onset; the last note's own
//                              duration) in quarters, each counted in the nearest (in log scale) of 1/4 1/3 1/2 2/3
//                              3/4 1 3/2 2 3 4;
//   dur_*                      the same histogram of the notes' durations;
//   onset_eighth_0 .. _11      histogram of the onsets' positions in their bar: the eighth note they fall on (from
//   onset_sixteenth            the bar's start; the 12th and later eighths share bin 11), or off the eighth grid
//   onset_other                but on the sixteenth grid, or neither (triplets and finer);
//   interval_-12 .. _12        histogram of the melodic intervals between consecutive notes in semitones (wider
//                              leaps counted at +-12);
//   pc_0 .. pc_11              histogram of the pitch classes relative to the tonic of the tune's key (its first
//   key_minor                  key signature, else Krumhansl-Schmuckler: score/key.h tune_key) and 1 for a minor key;
//   notes_per_bar              onsets per bar / 16, onsets per quarter note / 4 (bars of the score's meter);
//   notes_per_quarter
//   range_octaves              (highest - lowest pitch) / 12;
//   rest_rate                  the share of the bars' time with no note sounding (melody_attribute's rest_rate).
// Every histogram sums to 1 (all zeros without intervals). A window's pitch classes are taken relative to the key
// of the whole piece (four bars are too short to find a key).
//
// Windows: bar_windows() cuts a melody into whole windows of N bars of its meter (bars() from tick 0; a piece of
// 33 bars has 8 windows of 4 and its last bar is in none); windows without notes are not classified. A note held
// across a window's start counts in that window as an onset at its start (score/operations.h clip()).
// A score of more than eval::kMaxMeasuredBars bars (a corrupt file) is refused with an Error naming it.
//
// The classifier: features standardised with the training examples' (weighted) mean and standard deviation, then
// softmax(W x + b), fitted by minimising the weighted mean cross-entropy + l2 / 2 * |W|^2 (the bias is not
// penalised) with L-BFGS from zero (deterministic: the same examples give the same weights). Training examples are
// the training pieces, each as a whole (weight 1) and as its windows (weight 1 / number of windows, so that a long
// piece does not count more), optionally reweighted so that every style weighs the same (balance_styles; off by
// default: on Nottingham it costs accuracy and gains no balanced accuracy).
//
// ignore_meter leaves out the features that depend on the meter written in the file (the meter, the onsets' places in
// the bar, notes per bar), for generated pieces whose meter means nothing.
//
// Saved as JSON (format "cadenza-style-classifier", version 1): the features' names and version, the track index
// and window size, the standardisation, the weights, the style names and a free-form training summary. load()
// checks everything and names the file and the problem.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/prepare.h"
#include "data/split.h"
#include "data/style_label.h"
#include "score/key.h"
#include "score/score.h"

namespace cadenza::eval {

inline constexpr int kStyleFeaturesVersion = 1;
inline constexpr int kStyleClassifierVersion = 1;
inline constexpr char kStyleClassifierFormat[] = "cadenza-style-classifier";

// The names of the features, in the order style_features() returns them.
const std::vector<std::string>& style_feature_names();
// Whether a feature depends on the meter written in the file: meter_*, onset_* (positions in the bar) and
// notes_per_bar.
bool is_meter_feature(const std::string& name);

// The melody the classifier reads: track `track_index` of the score (-1: the first non-drum track with notes) as
// one monophonic track (form_metrics' melody_line). Throws Error naming score.source when the track does not exist
// or holds no notes.
Score style_melody(const Score& score, int track_index);

// The features above of a melody (one track; style_melody() output), pitch classes relative to `key`'s tonic.
// Throws Error naming melody.source when it has no notes.
std::vector<double> style_features(const Score& melody, const Key& key);

// The key the pitch classes of a melody and of its windows are read in: tune_key(melody) (C major without notes).
Key style_key(const Score& melody);

// The whole windows of `window_bars` bars (see above), each clipped so that it starts at tick 0. Throws Error when
// window_bars < 1.
std::vector<Score> bar_windows(const Score& melody, int window_bars);

struct StyleExample {
  std::vector<double> features;
  int style = 0;  // index into the classifier's styles
  double weight = 1.0;
};

struct StyleTrainOptions {
  double l2 = 1e-3;          // penalty on the weights (standardised features)
  int max_iterations = 500;  // L-BFGS iterations
  double tolerance = 1e-6;   // stop when the gradient's largest component is below this
  bool balance_styles = false;
  // Leave out the features that depend on the meter written in the file (is_meter_feature): for pieces whose
  // meter says nothing (a generator that writes every piece in 4/4).
  bool ignore_meter = false;  // reweight the examples so that every style's total weight is the same
};

// The probabilities of a melody's windows (empty for a window without notes).
struct WindowProbabilities {
  std::vector<std::vector<double>> windows;
};

class StyleClassifier {
 public:
  // Fits the classifier on examples (features of style_feature_names() length; style < styles.size()). Throws
  // Error when there are fewer than two styles, a style name is invalid or repeated, a style has no example, or
  // an example has the wrong number of features.
  static StyleClassifier train(const std::vector<std::string>& styles, const std::vector<StyleExample>& examples,
                               const StyleTrainOptions& options = {});

  const std::vector<std::string>& styles() const { return styles_; }
  // The index of a style name; throws Error naming it and listing the known styles when there is none.
  int style_index(const std::string& name) const;

  // The probability of each style (styles() order) given a feature vector.
  std::vector<double> probabilities(const std::vector<double>& features) const;
  // Of a whole melody (style_melody() output) and of its windows of window_bars() bars (the whole piece's key).
  std::vector<double> classify_melody(const Score& melody) const;
  std::vector<std::vector<double>> classify_windows(const Score& melody) const;

  // Where the melody is read and how long the windows are (recorded with the classifier, used by classify).
  int track_index() const { return track_index_; }
  int window_bars() const { return window_bars_; }
  void set_reading(int track_index, int window_bars);

  // Free-form record of how the classifier was trained (inputs, rule, counts, accuracies), saved with it.
  const nlohmann::json& training_summary() const { return summary_; }
  void set_training_summary(nlohmann::json summary) { summary_ = std::move(summary); }
  // The optimiser's outcome: iterations run, final objective, whether the gradient fell below the tolerance.
  const nlohmann::json& fit_report() const { return fit_; }
  // Trained with ignore_meter: the meter features are not read (their weights are 0).
  bool ignores_meter() const { return ignore_meter_; }
  // Per feature, whether the classifier reads it.
  std::vector<bool> used_features() const;

  nlohmann::json to_json() const;
  // Throws Error "SOURCE: PROBLEM" on a wrong format / version, other features, or malformed values.
  static StyleClassifier from_json(const nlohmann::json& json, const std::string& source);
  void save(const std::string& path) const;  // atomically
  static StyleClassifier load(const std::string& path);

 private:
  std::vector<std::string> styles_;
  std::vector<double> mean_, scale_;          // per feature
  std::vector<std::vector<double>> weights_;  // [style][feature]
  std::vector<double> bias_;                  // per style
  int track_index_ = 0;
  int window_bars_ = 4;
  bool ignore_meter_ = false;
  nlohmann::json summary_ = nlohmann::json::object();
  nlohmann::json fit_ = nlohmann::json::object();
};

// ---- labelled real pieces (the training and held-out sets) ---------------------------------------------------

struct StyleCorpusOptions {
  std::vector<std::string> inputs;  // folders and MIDI files, as `dataset prepare --input`
  bool recursive = true;
  StyleRule rule;
  int track_index = 0;
  std::vector<std::string> keep_styles;  // non-empty: only these styles (every one must occur)
  SplitRatios ratios;
  // Keep identical and near-identical pieces in the split of their group's leader, as `dataset prepare` does
  // (fingerprints of the selected track in the default melody encoding): the held-out pieces are then the
  // valid and test pieces of `dataset prepare --encoding melody --track-index N` over the same inputs. Every
  // readable MIDI file of the inputs takes part, labelled or not, kept or not, as in such a shard.
  bool group_duplicates = true;
};

struct LabelledPiece {
  std::string relative;  // the path relative to its input, as in a shard
  std::string style;
  Split split = Split::kTrain;
  Score melody;  // style_melody() of the file
};

struct StyleCorpus {
  std::vector<LabelledPiece> pieces;  // in input order
  std::vector<SkippedFile> skipped;   // unreadable, no notes in the track, not a MIDI file
  size_t unlabelled = 0;              // files the rule gives no style
  size_t not_kept = 0;                // files of styles outside keep_styles
  size_t duplicate_moved = 0;         // pieces that took their duplicate group's split
  size_t not_encodable = 0;           // read, but refused by the melody encoding of the fingerprints: kept, own split
};

// Lists the inputs (data/prepare.h collect_input_files), labels each MIDI file by the rule (style_for_path on its
// relative path), reads its melody and gives it its split. Throws Error when no labelled piece is found, or when a
// style of keep_styles has no piece (listing the styles found).
StyleCorpus collect_style_corpus(const StyleCorpusOptions& options);

// ---- measuring -----------------------------------------------------------------------------------------------

// Predictions against labels: confusion[true style][predicted style] (styles of the classifier).
struct StyleConfusion {
  std::vector<std::vector<int64_t>> counts;
  explicit StyleConfusion(size_t styles = 0) : counts(styles, std::vector<int64_t>(styles, 0)) {}
  void add(int truth, int predicted) { ++counts[static_cast<size_t>(truth)][static_cast<size_t>(predicted)]; }
  int64_t total() const;
  int64_t correct() const;
  double accuracy() const;           // NaN when empty
  double balanced_accuracy() const;  // mean recall over the styles that occur; NaN when empty
  // The share of the most frequent true style (the accuracy of always answering it); NaN when empty.
  double majority_share() const;
};

struct StyleEvaluation {
  StyleConfusion pieces, windows;
};

// The index of the largest probability (the first on a tie).
int most_likely(const std::vector<double>& probabilities);

// Classifies the pieces (whole and windows) whose style the classifier knows and whose split is in `splits`.
StyleEvaluation evaluate_style_classifier(const StyleClassifier& classifier, const std::vector<LabelledPiece>& pieces,
                                          const std::vector<Split>& splits);

// The training examples of those pieces (see the header comment). Pieces of styles the classifier does not list
// in `styles` are skipped.
std::vector<StyleExample> style_examples(const std::vector<LabelledPiece>& pieces, const std::vector<Split>& splits,
                                         const std::vector<std::string>& styles, int window_bars);

}  // namespace cadenza::eval
