#include "eval/style_classifier.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <set>

#include "common/error.h"
#include "common/file_io.h"
#include "data/duplicates.h"
#include "encoding/encoding.h"
#include "eval/form_metrics.h"
#include "eval/melody_features.h"
#include "midi/midi.h"
#include "score/operations.h"

namespace cadenza::eval {

namespace {

constexpr int kNumerators[] = {2, 3, 4, 6, 9, 12};
constexpr int kDenominators[] = {2, 4, 8};
// Time bins in quarters (inter-onset intervals and durations); a value counts in the nearest in log scale.
constexpr double kTimeBins[] = {0.25, 1.0 / 3.0, 0.5, 2.0 / 3.0, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0};
constexpr const char* kTimeBinNames[] = {"1/4", "1/3", "1/2", "2/3", "3/4", "1", "3/2", "2", "3", "4"};
constexpr int kEighthBins = 12;
constexpr int kMaxInterval = 12;
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

std::string score_name(const Score& score) {
  return score.source.empty() ? std::string("score") : score.source;
}

std::vector<std::string> make_feature_names() {
  std::vector<std::string> names;
  for (int numerator : kNumerators) names.push_back("meter_num_" + std::to_string(numerator));
  names.push_back("meter_num_other");
  for (int denominator : kDenominators) names.push_back("meter_den_" + std::to_string(denominator));
  names.push_back("meter_den_other");
  for (const char* bin : kTimeBinNames) names.push_back(std::string("ioi_") + bin);
  for (const char* bin : kTimeBinNames) names.push_back(std::string("dur_") + bin);
  for (int eighth = 0; eighth < kEighthBins; ++eighth) names.push_back("onset_eighth_" + std::to_string(eighth));
  names.push_back("onset_sixteenth");
  names.push_back("onset_other");
  for (int interval = -kMaxInterval; interval <= kMaxInterval; ++interval)
    names.push_back("interval_" + std::to_string(interval));
  for (int pc = 0; pc < 12; ++pc) names.push_back("pc_" + std::to_string(pc));
  names.push_back("key_minor");
  for (const char* name : {"notes_per_bar", "notes_per_quarter", "range_octaves", "rest_rate"}) names.push_back(name);
  return names;
}

// The nearest time bin of a length in quarters (log scale).
size_t time_bin(double quarters) {
  size_t best = 0;
  double best_distance = std::numeric_limits<double>::infinity();
  const double value = std::log(std::max(quarters, 1e-9));
  for (size_t i = 0; i < std::size(kTimeBins); ++i) {
    const double distance = std::abs(value - std::log(kTimeBins[i]));
    if (distance < best_distance) best = i, best_distance = distance;
  }
  return best;
}

void normalise(std::vector<double>::iterator begin, std::vector<double>::iterator end) {
  double sum = 0;
  for (auto it = begin; it != end; ++it) sum += *it;
  if (sum > 0)
    for (auto it = begin; it != end; ++it) *it /= sum;
}

std::vector<Note> melody_notes(const Score& melody) {
  std::vector<Note> notes;
  for (const Track& track : melody.tracks)
    if (!track.is_drum) notes.insert(notes.end(), track.notes.begin(), track.notes.end());
  std::sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) {
    return a.start_tick != b.start_tick ? a.start_tick < b.start_tick : a.pitch > b.pitch;
  });
  return notes;
}

double softmax_in_place(std::vector<double>& logits) {  // returns log-sum-exp
  const double top = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (double& value : logits) sum += (value = std::exp(value - top));
  for (double& value : logits) value /= sum;
  return top + std::log(sum);
}

// ---- the objective and L-BFGS ----

struct Problem {
  size_t styles = 0, features = 0;
  std::vector<std::vector<double>> x;  // standardised features
  std::vector<int> y;
  std::vector<double> w;  // weights summing to 1
  double l2 = 0;

  size_t size() const { return styles * (features + 1); }
  // Parameters: W row-major [style][feature], then the biases.
  double objective(const std::vector<double>& theta, std::vector<double>& gradient) const {
    gradient.assign(theta.size(), 0.0);
    double loss = 0;
    std::vector<double> z(styles);
    for (size_t i = 0; i < x.size(); ++i) {
      for (size_t k = 0; k < styles; ++k) {
        double value = theta[styles * features + k];
        const double* row = &theta[k * features];
        for (size_t f = 0; f < features; ++f) value += row[f] * x[i][f];
        z[k] = value;
      }
      const double correct_logit = z[static_cast<size_t>(y[i])];
      const double log_sum = softmax_in_place(z);
      loss += w[i] * (log_sum - correct_logit);
      for (size_t k = 0; k < styles; ++k) {
        const double g = w[i] * (z[k] - (static_cast<int>(k) == y[i] ? 1.0 : 0.0));
        double* row = &gradient[k * features];
        for (size_t f = 0; f < features; ++f) row[f] += g * x[i][f];
        gradient[styles * features + k] += g;
      }
    }
    for (size_t p = 0; p < styles * features; ++p) {
      loss += 0.5 * l2 * theta[p] * theta[p];
      gradient[p] += l2 * theta[p];
    }
    return loss;
  }
};

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

double max_abs(const std::vector<double>& a) {
  double top = 0;
  for (double value : a) top = std::max(top, std::abs(value));
  return top;
}

// Minimises the problem's objective from zero with L-BFGS (10 pairs) and a backtracking Armijo line search.
std::vector<double> minimise(const Problem& problem, const StyleTrainOptions& options, nlohmann::json& report) {
  constexpr size_t kMemory = 10;
  std::vector<double> theta(problem.size(), 0.0), gradient, next(problem.size()), next_gradient;
  double value = problem.objective(theta, gradient);
  std::deque<std::pair<std::vector<double>, std::vector<double>>> history;  // (s, y)
  int iteration = 0;
  bool converged = max_abs(gradient) < options.tolerance;
  for (; iteration < options.max_iterations && !converged; ++iteration) {
    // Two-loop recursion: direction = -H * gradient.
    std::vector<double> direction = gradient;
    std::vector<double> alpha(history.size());
    for (size_t h = history.size(); h-- > 0;) {
      const auto& [s, y] = history[h];
      alpha[h] = dot(s, direction) / dot(y, s);
      for (size_t p = 0; p < direction.size(); ++p) direction[p] -= alpha[h] * y[p];
    }
    if (!history.empty()) {
      const auto& [s, y] = history.back();
      const double gamma = dot(s, y) / dot(y, y);
      for (double& d : direction) d *= gamma;
    } else {
      const double norm = std::sqrt(dot(gradient, gradient));
      for (double& d : direction) d /= std::max(norm, 1.0);
    }
    for (size_t h = 0; h < history.size(); ++h) {
      const auto& [s, y] = history[h];
      const double beta = dot(y, direction) / dot(y, s);
      for (size_t p = 0; p < direction.size(); ++p) direction[p] += s[p] * (alpha[h] - beta);
    }
    for (double& d : direction) d = -d;
    double slope = dot(gradient, direction);
    if (slope >= 0) {  // not a descent direction (should not happen): restart from steepest descent
      history.clear();
      direction = gradient;
      for (double& d : direction) d = -d;
      slope = dot(gradient, direction);
    }
    double step = 1.0, next_value = 0;
    bool accepted = false;
    for (int tries = 0; tries < 50; ++tries, step *= 0.5) {
      for (size_t p = 0; p < theta.size(); ++p) next[p] = theta[p] + step * direction[p];
      next_value = problem.objective(next, next_gradient);
      if (next_value <= value + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
    }
    if (!accepted) break;  // no progress possible at this precision
    std::vector<double> s(theta.size()), y(theta.size());
    for (size_t p = 0; p < theta.size(); ++p) s[p] = next[p] - theta[p], y[p] = next_gradient[p] - gradient[p];
    if (dot(s, y) > 1e-12) {
      history.emplace_back(std::move(s), std::move(y));
      if (history.size() > kMemory) history.pop_front();
    }
    theta.swap(next);
    gradient.swap(next_gradient);
    const double change = value - next_value;
    value = next_value;
    converged = max_abs(gradient) < options.tolerance || change < 1e-12 * std::max(1.0, std::abs(value));
  }
  report = {{"iterations", iteration},
            {"objective", value},
            {"gradient_max", max_abs(gradient)},
            {"converged", max_abs(gradient) < options.tolerance}};
  return theta;
}

// ---- JSON checks ----

[[noreturn]] void bad(const std::string& source, const std::string& problem) {
  throw Error(source + ": " + problem);
}

const nlohmann::json& member(const nlohmann::json& object, const char* key, const std::string& source,
                             const std::string& where = "") {
  if (!object.is_object() || !object.contains(key))
    bad(source, "missing \"" + where + key + "\" (not a style classifier file?)");
  return object.at(key);
}

std::vector<double> numbers(const nlohmann::json& value, size_t size, const std::string& key,
                            const std::string& source) {
  if (!value.is_array() || value.size() != size)
    bad(source, "\"" + key + "\" must be an array of " + std::to_string(size) + " numbers");
  std::vector<double> out;
  for (const auto& item : value) {
    if (!item.is_number() || !std::isfinite(item.get<double>()))
      bad(source, "\"" + key + "\" holds a value that is not a finite number: " + item.dump());
    out.push_back(item.get<double>());
  }
  return out;
}

}  // namespace

const std::vector<std::string>& style_feature_names() {
  static const std::vector<std::string> names = make_feature_names();
  return names;
}

Score style_melody(const Score& score, int track_index) {
  FormOptions options;
  options.track = track_index;
  Score melody = melody_line(score, options);
  if (melody.note_count() == 0)
    throw Error(score_name(score) + ": no notes in " +
                (track_index >= 0 ? "track " + std::to_string(track_index) : std::string("any pitched track")));
  return melody;
}

Key style_key(const Score& melody) {
  return tune_key(melody).value_or(Key{});
}

std::vector<double> style_features(const Score& melody, const Key& key) {
  const std::vector<Note> notes = melody_notes(melody);
  if (notes.empty()) throw Error(score_name(melody) + ": no notes to read a style from");
  if (melody.ticks_per_quarter <= 0) throw Error(score_name(melody) + ": ticks per quarter must be positive");
  const std::vector<std::string>& names = style_feature_names();
  std::vector<double> features(names.size(), 0.0);
  size_t at = 0;
  const auto quarter = static_cast<double>(melody.ticks_per_quarter);

  const TimeSignature meter = meter_at(melody, 0);
  const auto numerator = std::find(std::begin(kNumerators), std::end(kNumerators), meter.numerator);
  features[at + static_cast<size_t>(numerator - std::begin(kNumerators))] = 1;
  at += std::size(kNumerators) + 1;
  const auto denominator = std::find(std::begin(kDenominators), std::end(kDenominators), meter.denominator);
  features[at + static_cast<size_t>(denominator - std::begin(kDenominators))] = 1;
  at += std::size(kDenominators) + 1;

  const size_t ioi_at = at, duration_at = at + std::size(kTimeBins);
  for (size_t i = 0; i < notes.size(); ++i) {
    const int64_t ioi =
        i + 1 < notes.size() ? notes[i + 1].start_tick - notes[i].start_tick : notes[i].duration_ticks();
    features[ioi_at + time_bin(static_cast<double>(ioi) / quarter)] += 1;
    features[duration_at + time_bin(static_cast<double>(notes[i].duration_ticks()) / quarter)] += 1;
  }
  normalise(features.begin() + static_cast<long>(ioi_at), features.begin() + static_cast<long>(duration_at));
  normalise(features.begin() + static_cast<long>(duration_at),
            features.begin() + static_cast<long>(duration_at + std::size(kTimeBins)));
  at = duration_at + std::size(kTimeBins);

  bar_count(melody);  // refuses a score with more than kMaxMeasuredBars bars before they are listed
  const std::vector<Bar> bar_list = bars(melody);
  const int64_t tpq = melody.ticks_per_quarter;
  size_t bar = 0;
  for (const Note& note : notes) {
    while (bar + 1 < bar_list.size() && note.start_tick >= bar_list[bar].end_tick) ++bar;
    const int64_t offset = note.start_tick - (bar_list.empty() ? 0 : bar_list[bar].start_tick);
    if (offset * 2 % tpq == 0)
      features[at + static_cast<size_t>(std::min<int64_t>(offset * 2 / tpq, kEighthBins - 1))] += 1;
    else if (offset * 4 % tpq == 0)
      features[at + kEighthBins] += 1;
    else
      features[at + kEighthBins + 1] += 1;
  }
  normalise(features.begin() + static_cast<long>(at), features.begin() + static_cast<long>(at + kEighthBins + 2));
  at += kEighthBins + 2;

  for (size_t i = 1; i < notes.size(); ++i) {
    const int interval = std::clamp(notes[i].pitch - notes[i - 1].pitch, -kMaxInterval, kMaxInterval);
    features[at + static_cast<size_t>(interval + kMaxInterval)] += 1;
  }
  normalise(features.begin() + static_cast<long>(at), features.begin() + static_cast<long>(at + 2 * kMaxInterval + 1));
  at += 2 * kMaxInterval + 1;

  for (const Note& note : notes) features[at + static_cast<size_t>(((note.pitch - key.root) % 12 + 12) % 12)] += 1;
  normalise(features.begin() + static_cast<long>(at), features.begin() + static_cast<long>(at + 12));
  at += 12;
  features[at++] = key.mode == ScaleMode::kMinor ? 1.0 : 0.0;

  const double bar_count = static_cast<double>(std::max<size_t>(1, bar_list.size()));
  const double quarters = static_cast<double>(length_of_bars(melody, bar_count)) / quarter;
  features[at++] = static_cast<double>(notes.size()) / bar_count / 16.0;
  features[at++] = quarters > 0 ? static_cast<double>(notes.size()) / quarters / 4.0 : 0.0;
  int low = 127, high = 0;
  for (const Note& note : notes) low = std::min(low, note.pitch), high = std::max(high, note.pitch);
  features[at++] = (high - low) / 12.0;
  features[at++] = melody_attribute(melody, "rest_rate", 0);
  return features;
}

std::vector<Score> bar_windows(const Score& melody, int window_bars) {
  if (window_bars < 1) throw Error("style windows: " + std::to_string(window_bars) + " bars (must be at least 1)");
  bar_count(melody);  // refuses a score with more than kMaxMeasuredBars bars before they are listed
  const std::vector<Bar> bar_list = bars(melody);
  std::vector<Score> windows;
  const auto size = static_cast<size_t>(window_bars);
  for (size_t first = 0; first + size <= bar_list.size(); first += size) {
    Score window = clip(melody, bar_list[first].start_tick, bar_list[first + size - 1].end_tick);
    window.source = melody.source;
    windows.push_back(std::move(window));
  }
  return windows;
}

// ---- the classifier ----

StyleClassifier StyleClassifier::train(const std::vector<std::string>& styles,
                                       const std::vector<StyleExample>& examples, const StyleTrainOptions& options) {
  if (styles.size() < 2)
    throw Error("style classifier: needs at least two styles, got " + std::to_string(styles.size()));
  std::set<std::string> seen;
  for (const std::string& style : styles) {
    check_style_name(style);
    if (!seen.insert(style).second) throw Error("style classifier: style '" + style + "' is listed twice");
  }
  if (!(options.l2 >= 0) || options.max_iterations < 0 || !(options.tolerance > 0))
    throw Error("style classifier: l2 must be >= 0, iterations >= 0 and the tolerance > 0");
  const size_t feature_count = style_feature_names().size();
  std::vector<double> style_weight(styles.size(), 0.0);
  for (const StyleExample& example : examples) {
    if (example.features.size() != feature_count)
      throw Error("style classifier: an example has " + std::to_string(example.features.size()) + " features, not " +
                  std::to_string(feature_count));
    if (example.style < 0 || static_cast<size_t>(example.style) >= styles.size())
      throw Error("style classifier: an example's style index " + std::to_string(example.style) + " is out of range");
    if (!(example.weight >= 0) || !std::isfinite(example.weight))
      throw Error("style classifier: an example's weight is negative or not finite");
    for (double value : example.features)
      if (!std::isfinite(value)) throw Error("style classifier: an example has a feature that is not finite");
    style_weight[static_cast<size_t>(example.style)] += example.weight;
  }
  for (size_t k = 0; k < styles.size(); ++k)
    if (!(style_weight[k] > 0)) throw Error("style classifier: style '" + styles[k] + "' has no training example");

  Problem problem;
  problem.styles = styles.size();
  problem.features = feature_count;
  problem.l2 = options.l2;
  double total = 0;
  for (const StyleExample& example : examples) {
    double weight = example.weight;
    if (options.balance_styles) weight /= style_weight[static_cast<size_t>(example.style)];
    problem.w.push_back(weight);
    total += weight;
  }
  for (double& weight : problem.w) weight /= total;

  StyleClassifier classifier;
  classifier.styles_ = styles;
  classifier.mean_.assign(feature_count, 0.0);
  classifier.scale_.assign(feature_count, 1.0);
  for (size_t i = 0; i < examples.size(); ++i)
    for (size_t f = 0; f < feature_count; ++f) classifier.mean_[f] += problem.w[i] * examples[i].features[f];
  std::vector<double> variance(feature_count, 0.0);
  for (size_t i = 0; i < examples.size(); ++i)
    for (size_t f = 0; f < feature_count; ++f) {
      const double d = examples[i].features[f] - classifier.mean_[f];
      variance[f] += problem.w[i] * d * d;
    }
  for (size_t f = 0; f < feature_count; ++f)
    classifier.scale_[f] = variance[f] > 1e-12 ? std::sqrt(variance[f]) : 1.0;  // a constant feature stays 0
  classifier.ignore_meter_ = options.ignore_meter;
  const std::vector<bool> used = classifier.used_features();
  for (size_t f = 0; f < feature_count; ++f)
    if (!used[f]) classifier.mean_[f] = 0.0, classifier.scale_[f] = 1.0;
  for (const StyleExample& example : examples) {
    std::vector<double> x(feature_count);
    for (size_t f = 0; f < feature_count; ++f)
      x[f] = used[f] ? (example.features[f] - classifier.mean_[f]) / classifier.scale_[f] : 0.0;  // weight stays 0
    problem.x.push_back(std::move(x));
    problem.y.push_back(example.style);
  }
  const std::vector<double> theta = minimise(problem, options, classifier.fit_);
  classifier.fit_["examples"] = examples.size();
  classifier.fit_["l2"] = options.l2;
  classifier.fit_["balance_styles"] = options.balance_styles;
  classifier.fit_["ignore_meter"] = options.ignore_meter;
  classifier.weights_.assign(styles.size(), std::vector<double>(feature_count));
  classifier.bias_.assign(styles.size(), 0.0);
  for (size_t k = 0; k < styles.size(); ++k) {
    for (size_t f = 0; f < feature_count; ++f) classifier.weights_[k][f] = theta[k * feature_count + f];
    classifier.bias_[k] = theta[styles.size() * feature_count + k];
  }
  return classifier;
}

bool is_meter_feature(const std::string& name) {
  return name.rfind("meter_", 0) == 0 || name.rfind("onset_", 0) == 0 || name == "notes_per_bar";
}

std::vector<bool> StyleClassifier::used_features() const {
  std::vector<bool> used;
  for (const std::string& name : style_feature_names()) used.push_back(!(ignore_meter_ && is_meter_feature(name)));
  return used;
}

int StyleClassifier::style_index(const std::string& name) const {
  for (size_t k = 0; k < styles_.size(); ++k)
    if (styles_[k] == name) return static_cast<int>(k);
  std::string known;
  for (const std::string& style : styles_) known += (known.empty() ? "" : ", ") + style;
  throw Error("unknown style '" + name + "' (the classifier knows: " + known + ")");
}

void StyleClassifier::set_reading(int track_index, int window_bars) {
  if (track_index < -1)
    throw Error("style classifier: track index " + std::to_string(track_index) + " (use -1 or more)");
  if (window_bars < 1) throw Error("style classifier: windows of " + std::to_string(window_bars) + " bars");
  track_index_ = track_index;
  window_bars_ = window_bars;
}

std::vector<double> StyleClassifier::probabilities(const std::vector<double>& features) const {
  if (features.size() != mean_.size())
    throw Error("style classifier: " + std::to_string(features.size()) + " features given, " +
                std::to_string(mean_.size()) + " expected");
  const std::vector<bool> used = used_features();
  std::vector<double> z(styles_.size());
  for (size_t k = 0; k < styles_.size(); ++k) {
    double value = bias_[k];
    for (size_t f = 0; f < features.size(); ++f)
      if (used[f]) value += weights_[k][f] * (features[f] - mean_[f]) / scale_[f];
    z[k] = value;
  }
  softmax_in_place(z);
  return z;
}

std::vector<double> StyleClassifier::classify_melody(const Score& melody) const {
  return probabilities(style_features(melody, style_key(melody)));
}

std::vector<std::vector<double>> StyleClassifier::classify_windows(const Score& melody) const {
  const Key key = style_key(melody);
  std::vector<std::vector<double>> out;
  for (const Score& window : bar_windows(melody, window_bars_))
    out.push_back(window.note_count() == 0 ? std::vector<double>() : probabilities(style_features(window, key)));
  return out;
}

nlohmann::json StyleClassifier::to_json() const {
  return {{"format", kStyleClassifierFormat},
          {"version", kStyleClassifierVersion},
          {"features",
           {{"version", kStyleFeaturesVersion}, {"names", style_feature_names()}, {"ignore_meter", ignore_meter_}}},
          {"track_index", track_index_},
          {"window_bars", window_bars_},
          {"styles", styles_},
          {"mean", mean_},
          {"scale", scale_},
          {"weights", weights_},
          {"bias", bias_},
          {"fit", fit_},
          {"training", summary_}};
}

StyleClassifier StyleClassifier::from_json(const nlohmann::json& json, const std::string& source) {
  if (!json.is_object()) bad(source, "not a style classifier file (expected a JSON object)");
  const nlohmann::json& format = member(json, "format", source);
  if (format != kStyleClassifierFormat)
    bad(source, "format is " + format.dump() + ", expected \"" + kStyleClassifierFormat + "\"");
  const nlohmann::json& version = member(json, "version", source);
  if (!version.is_number_integer() || version.get<int64_t>() != kStyleClassifierVersion)
    bad(source, "version " + version.dump() + " is not supported (this build reads version " +
                    std::to_string(kStyleClassifierVersion) + ")");
  const nlohmann::json& features = member(json, "features", source);
  const nlohmann::json& features_version = member(features, "version", source, "features.");
  if (!features_version.is_number_integer() || features_version.get<int64_t>() != kStyleFeaturesVersion)
    bad(source, "features version " + features_version.dump() + " differs from this build's " +
                    std::to_string(kStyleFeaturesVersion) + " (train the classifier again)");
  if (member(features, "names", source, "features.") != nlohmann::json(style_feature_names()))
    bad(source, "its feature names differ from this build's (train the classifier again)");
  const size_t feature_count = style_feature_names().size();

  StyleClassifier classifier;
  if (features.contains("ignore_meter")) {
    if (!features["ignore_meter"].is_boolean())
      bad(source, "\"features.ignore_meter\" must be true or false, not " + features["ignore_meter"].dump());
    classifier.ignore_meter_ = features["ignore_meter"].get<bool>();
  }
  const nlohmann::json& styles = member(json, "styles", source);
  if (!styles.is_array() || styles.size() < 2) bad(source, "\"styles\" must be an array of at least two names");
  for (const auto& style : styles) {
    if (!style.is_string()) bad(source, "\"styles\" holds a value that is not a string: " + style.dump());
    try {
      check_style_name(style.get<std::string>());
    } catch (const Error& e) {
      bad(source, e.what());
    }
    if (std::find(classifier.styles_.begin(), classifier.styles_.end(), style.get<std::string>()) !=
        classifier.styles_.end())
      bad(source, "style '" + style.get<std::string>() + "' is listed twice");
    classifier.styles_.push_back(style.get<std::string>());
  }
  classifier.mean_ = numbers(member(json, "mean", source), feature_count, "mean", source);
  classifier.scale_ = numbers(member(json, "scale", source), feature_count, "scale", source);
  for (double scale : classifier.scale_)
    if (!(scale > 0)) bad(source, "\"scale\" holds a value that is not positive");
  const nlohmann::json& weights = member(json, "weights", source);
  if (!weights.is_array() || weights.size() != styles.size())
    bad(source, "\"weights\" must hold one row per style (" + std::to_string(styles.size()) + ")");
  for (const auto& row : weights) classifier.weights_.push_back(numbers(row, feature_count, "weights", source));
  classifier.bias_ = numbers(member(json, "bias", source), styles.size(), "bias", source);
  const nlohmann::json& track = member(json, "track_index", source);
  const nlohmann::json& window = member(json, "window_bars", source);
  if (!track.is_number_integer() || track.get<int64_t>() < -1 || track.get<int64_t>() > 65535)
    bad(source, "\"track_index\" must be an integer from -1 to 65535, not " + track.dump());
  if (!window.is_number_integer() || window.get<int64_t>() < 1 || window.get<int64_t>() > 4096)
    bad(source, "\"window_bars\" must be an integer from 1 to 4096, not " + window.dump());
  classifier.track_index_ = track.get<int>();
  classifier.window_bars_ = window.get<int>();
  if (json.contains("fit")) classifier.fit_ = json.at("fit");
  if (json.contains("training")) classifier.summary_ = json.at("training");
  return classifier;
}

void StyleClassifier::save(const std::string& path) const {
  write_file_atomic(path, to_json().dump(1) + "\n");
}

StyleClassifier StyleClassifier::load(const std::string& path) {
  const std::string text = read_file_text(path, size_t{64} << 20);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    bad(path, std::string("not valid JSON (") + e.what() + ")");
  }
  return from_json(json, path);
}

// ---- labelled real pieces ----

StyleCorpus collect_style_corpus(const StyleCorpusOptions& options) {
  std::vector<SkippedFile> problems;
  const std::vector<InputFile> files = collect_input_files(options.inputs, options.recursive, &problems);
  StyleCorpus corpus;
  corpus.skipped = problems;
  // Every readable MIDI piece takes part in duplicate grouping, labelled or not, as in `dataset prepare` over the
  // same inputs; only then are the unlabelled pieces and those of other styles dropped.
  struct Entry {
    LabelledPiece piece;
    bool kept = false;
    int fingerprint = -1;  // index in fingerprints; -1: the melody encoding refused it (`dataset prepare` skips it)
  };
  std::vector<Entry> entries;
  std::set<std::string> styles_found;  // by the rule, kept or not
  std::vector<PieceFingerprint> fingerprints;
  const std::unique_ptr<TokenEncoding> encoding =
      options.group_duplicates ? make_token_encoding({{"name", "melody"}}) : nullptr;
  for (const InputFile& file : files) {
    if (file.kind != InputKind::kMidi) {
      corpus.skipped.push_back({file.relative, "not a MIDI file (style labels are read for MIDI files only)"});
      continue;
    }
    const std::optional<std::string> style = style_for_path(options.rule, file.relative);
    if (style) styles_found.insert(*style);
    Entry entry;
    if (!style)
      ++corpus.unlabelled;
    else if (!options.keep_styles.empty() &&
             std::find(options.keep_styles.begin(), options.keep_styles.end(), *style) == options.keep_styles.end())
      ++corpus.not_kept;
    else
      entry.kept = true;
    if (!entry.kept && !encoding) continue;
    try {
      Score score = read_midi_file(file.path);
      score.source = file.relative;
      entry.piece.melody = style_melody(score, options.track_index);
      if (encoding) {
        // The fingerprint `dataset prepare` takes: the score with only the selected track, melody-encoded. A piece
        // the encoding refuses (a range no octave shift fits) is not in a shard and keeps its own split here.
        Score selected = score;
        if (options.track_index >= 0) selected.tracks = {score.tracks[static_cast<size_t>(options.track_index)]};
        try {
          PieceFingerprint fingerprint = fingerprint_tokens(selected, encoding->encode(selected));
          entry.fingerprint = static_cast<int>(fingerprints.size());
          fingerprints.push_back(std::move(fingerprint));
        } catch (const Error&) {
          ++corpus.not_encodable;
        }
      }
    } catch (const Error& e) {
      if (!entry.kept) continue;
      std::string reason = e.what();
      for (const std::string& prefix : {file.relative + ": ", file.path + ": "})
        if (reason.rfind(prefix, 0) == 0) reason = reason.substr(prefix.size());
      corpus.skipped.push_back({file.relative, reason});
      continue;
    }
    entry.piece.relative = file.relative;
    entry.piece.style = style.value_or("");
    entry.piece.split = split_for_path(file.relative, options.ratios);
    entries.push_back(std::move(entry));
  }
  if (options.group_duplicates) {
    // Every piece of a group takes the split of its leader: the member nearest the top of its input folder (fewest
    // '/'), then the first in byte order (data/prepare.cpp).
    const DuplicateGroups groups = group_duplicates(fingerprints);
    const auto leads_before = [](const std::string& a, const std::string& b) {
      const auto depth_a = std::count(a.begin(), a.end(), '/'), depth_b = std::count(b.begin(), b.end(), '/');
      return depth_a != depth_b ? depth_a < depth_b : a < b;
    };
    std::vector<size_t> entry_of(fingerprints.size());  // fingerprint index -> entry index
    for (size_t e = 0; e < entries.size(); ++e)
      if (entries[e].fingerprint >= 0) entry_of[static_cast<size_t>(entries[e].fingerprint)] = e;
    std::vector<size_t> leader(fingerprints.size());  // per group root, the leader's fingerprint index
    for (size_t i = 0; i < fingerprints.size(); ++i) {
      const size_t root = groups.group_of[i];
      if (root == i ||
          leads_before(entries[entry_of[i]].piece.relative, entries[entry_of[leader[root]]].piece.relative))
        leader[root] = i;
    }
    for (size_t i = 0; i < fingerprints.size(); ++i) {
      LabelledPiece& piece = entries[entry_of[i]].piece;
      const Split split = entries[entry_of[leader[groups.group_of[i]]]].piece.split;
      if (piece.split != split) {
        piece.split = split;
        if (entries[entry_of[i]].kept) ++corpus.duplicate_moved;
      }
    }
  }
  for (Entry& entry : entries)
    if (entry.kept) corpus.pieces.push_back(std::move(entry.piece));
  if (corpus.pieces.empty())
    throw Error("style classifier: no labelled MIDI piece in the inputs (" + std::to_string(files.size()) +
                " files found, " + std::to_string(corpus.unlabelled) + " without a style by rule '" +
                options.rule.to_string() + "', " + std::to_string(corpus.not_kept) + " of styles not kept, " +
                std::to_string(corpus.skipped.size()) + " skipped)");
  std::set<std::string> kept;
  for (const LabelledPiece& piece : corpus.pieces) kept.insert(piece.style);
  for (const std::string& style : options.keep_styles)
    if (!kept.count(style)) {
      std::string list;
      for (const std::string& name : styles_found) list += (list.empty() ? "" : ", ") + name;
      throw Error("style classifier: no piece of style '" + style + "' in the inputs (styles found: " + list + ")");
    }
  return corpus;
}

// ---- measuring ----

int64_t StyleConfusion::total() const {
  int64_t sum = 0;
  for (const auto& row : counts)
    for (int64_t count : row) sum += count;
  return sum;
}

int64_t StyleConfusion::correct() const {
  int64_t sum = 0;
  for (size_t k = 0; k < counts.size(); ++k) sum += counts[k][k];
  return sum;
}

double StyleConfusion::accuracy() const {
  const int64_t all = total();
  return all > 0 ? static_cast<double>(correct()) / static_cast<double>(all) : kNan;
}

double StyleConfusion::balanced_accuracy() const {
  double sum = 0;
  int present = 0;
  for (size_t k = 0; k < counts.size(); ++k) {
    int64_t row = 0;
    for (int64_t count : counts[k]) row += count;
    if (row == 0) continue;
    sum += static_cast<double>(counts[k][k]) / static_cast<double>(row);
    ++present;
  }
  return present > 0 ? sum / present : kNan;
}

double StyleConfusion::majority_share() const {
  int64_t largest = 0;
  for (const auto& row : counts) {
    int64_t sum = 0;
    for (int64_t count : row) sum += count;
    largest = std::max(largest, sum);
  }
  const int64_t all = total();
  return all > 0 ? static_cast<double>(largest) / static_cast<double>(all) : kNan;
}

int most_likely(const std::vector<double>& probabilities) {
  return static_cast<int>(std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin());
}

namespace {

int known_style(const std::vector<std::string>& styles, const std::string& style) {
  const auto it = std::find(styles.begin(), styles.end(), style);
  return it == styles.end() ? -1 : static_cast<int>(it - styles.begin());
}

bool in(const std::vector<Split>& splits, Split split) {
  return std::find(splits.begin(), splits.end(), split) != splits.end();
}

}  // namespace

StyleEvaluation evaluate_style_classifier(const StyleClassifier& classifier, const std::vector<LabelledPiece>& pieces,
                                          const std::vector<Split>& splits) {
  StyleEvaluation evaluation{StyleConfusion(classifier.styles().size()), StyleConfusion(classifier.styles().size())};
  for (const LabelledPiece& piece : pieces) {
    const int truth = known_style(classifier.styles(), piece.style);
    if (truth < 0 || !in(splits, piece.split)) continue;
    evaluation.pieces.add(truth, most_likely(classifier.classify_melody(piece.melody)));
    for (const auto& window : classifier.classify_windows(piece.melody))
      if (!window.empty()) evaluation.windows.add(truth, most_likely(window));
  }
  return evaluation;
}

std::vector<StyleExample> style_examples(const std::vector<LabelledPiece>& pieces, const std::vector<Split>& splits,
                                         const std::vector<std::string>& styles, int window_bars) {
  std::vector<StyleExample> examples;
  for (const LabelledPiece& piece : pieces) {
    const int style = known_style(styles, piece.style);
    if (style < 0 || !in(splits, piece.split)) continue;
    const Key key = style_key(piece.melody);
    examples.push_back({style_features(piece.melody, key), style, 1.0});
    std::vector<Score> windows = bar_windows(piece.melody, window_bars);
    std::erase_if(windows, [](const Score& window) { return window.note_count() == 0; });
    for (const Score& window : windows)
      examples.push_back({style_features(window, key), style, 1.0 / static_cast<double>(windows.size())});
  }
  return examples;
}

}  // namespace cadenza::eval
