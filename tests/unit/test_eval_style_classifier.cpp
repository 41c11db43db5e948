// The style classifier (eval/style_classifier.h): features worked out by hand on a tiny melody, windows, training
// on a synthetic two-style set, optimality of the fit checked from outside (finite differences of the objective
// recomputed here), save / load round trip, and the errors' messages.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/error.h"
#include "eval/style_classifier.h"
#include "support/test_support.h"

namespace cadenza::eval {
namespace {

constexpr int64_t Q = 480;

Score melody_of(const std::vector<Note>& notes, int numerator = 4, int denominator = 4) {
  Score score = make_empty_score(static_cast<int>(Q), 120.0, numerator, denominator);
  Track track;
  track.name = "melody";
  track.notes = notes;
  score.tracks.push_back(track);
  score.normalize();
  score.source = "tiny.mid";
  return score;
}

double feature(const std::vector<double>& features, const std::string& name) {
  const auto& names = style_feature_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) throw Error("no feature " + name);
  return features[static_cast<size_t>(it - names.begin())];
}

// C4 quarter, E4 eighth, D4 eighth, G4 half (bar 1); C5 dotted quarter from the second eighth of bar 2.
Score tiny() {
  return melody_of({{60, 80, 0, Q},
                    {64, 80, Q, Q + Q / 2},
                    {62, 80, Q + Q / 2, 2 * Q},
                    {67, 80, 2 * Q, 4 * Q},
                    {72, 80, 4 * Q + Q / 2, 4 * Q + 2 * Q}});
}

TEST(EvalStyleClassifier, FeaturesOfATinyMelodyByHand) {
  const std::vector<double> f = style_features(style_melody(tiny(), 0), Key{0, ScaleMode::kMajor});
  ASSERT_EQ(f.size(), style_feature_names().size());
  EXPECT_EQ(feature(f, "meter_num_4"), 1.0);
  EXPECT_EQ(feature(f, "meter_num_3"), 0.0);
  EXPECT_EQ(feature(f, "meter_den_4"), 1.0);
  // Inter-onset intervals: 1, 1/2, 1/2, 5/2 quarters (nearest bin in log scale: 3, since 3/2.5 < 2.5/2), and the
  // last note's own 3/2.
  EXPECT_DOUBLE_EQ(feature(f, "ioi_1"), 0.2);
  EXPECT_DOUBLE_EQ(feature(f, "ioi_1/2"), 0.4);
  EXPECT_DOUBLE_EQ(feature(f, "ioi_3"), 0.2);
  EXPECT_DOUBLE_EQ(feature(f, "ioi_3/2"), 0.2);
  EXPECT_DOUBLE_EQ(feature(f, "ioi_2"), 0.0);
  // Durations: 1, 1/2, 1/2, 2, 3/2.
  EXPECT_DOUBLE_EQ(feature(f, "dur_1"), 0.2);
  EXPECT_DOUBLE_EQ(feature(f, "dur_1/2"), 0.4);
  EXPECT_DOUBLE_EQ(feature(f, "dur_2"), 0.2);
  EXPECT_DOUBLE_EQ(feature(f, "dur_3/2"), 0.2);
  // Onsets on eighths 0, 2, 3, 4 of bar 1 and eighth 1 of bar 2.
  for (const char* name : {"onset_eighth_0", "onset_eighth_1", "onset_eighth_2", "onset_eighth_3", "onset_eighth_4"})
    EXPECT_DOUBLE_EQ(feature(f, name), 0.2) << name;
  EXPECT_DOUBLE_EQ(feature(f, "onset_eighth_5"), 0.0);
  EXPECT_DOUBLE_EQ(feature(f, "onset_sixteenth"), 0.0);
  // Intervals +4, -2, +5, +5.
  EXPECT_DOUBLE_EQ(feature(f, "interval_4"), 0.25);
  EXPECT_DOUBLE_EQ(feature(f, "interval_-2"), 0.25);
  EXPECT_DOUBLE_EQ(feature(f, "interval_5"), 0.5);
  EXPECT_DOUBLE_EQ(feature(f, "interval_0"), 0.0);
  // Pitch classes from C: 0, 4, 2, 7, 0.
  EXPECT_DOUBLE_EQ(feature(f, "pc_0"), 0.4);
  EXPECT_DOUBLE_EQ(feature(f, "pc_2"), 0.2);
  EXPECT_DOUBLE_EQ(feature(f, "pc_4"), 0.2);
  EXPECT_DOUBLE_EQ(feature(f, "pc_7"), 0.2);
  EXPECT_EQ(feature(f, "key_minor"), 0.0);
  // 5 notes in 2 bars (8 quarters); range C4..C5; sounding 1920 + 720 of 3840 ticks.
  EXPECT_DOUBLE_EQ(feature(f, "notes_per_bar"), 5.0 / 2.0 / 16.0);
  EXPECT_DOUBLE_EQ(feature(f, "notes_per_quarter"), 5.0 / 8.0 / 4.0);
  EXPECT_DOUBLE_EQ(feature(f, "range_octaves"), 1.0);
  EXPECT_DOUBLE_EQ(feature(f, "rest_rate"), 1.0 - 2640.0 / 3840.0);

  // In D minor the pitch classes move by two and the mode flag is set; a transposition changes nothing.
  const std::vector<double> in_d = style_features(style_melody(tiny(), 0), Key{2, ScaleMode::kMinor});
  EXPECT_DOUBLE_EQ(feature(in_d, "pc_10"), 0.4);
  EXPECT_DOUBLE_EQ(feature(in_d, "pc_0"), 0.2);
  EXPECT_EQ(feature(in_d, "key_minor"), 1.0);
  Score up = tiny();
  for (Note& note : up.tracks[0].notes) note.pitch += 5;
  EXPECT_EQ(style_features(style_melody(up, 0), Key{5, ScaleMode::kMajor}), f);
}

TEST(EvalStyleClassifier, OnsetsOffTheEighthGridAndOtherMeters) {
  // 6/8: a sixteenth after the bar start, a triplet eighth (Q/3) in, the 12th+ eighth is impossible in 6/8.
  const Score melody = melody_of({{60, 80, 0, Q / 4}, {62, 80, Q / 4, Q / 3}, {64, 80, Q / 3, Q}}, 6, 8);
  const std::vector<double> f = style_features(style_melody(melody, 0), Key{});
  EXPECT_EQ(feature(f, "meter_num_6"), 1.0);
  EXPECT_EQ(feature(f, "meter_den_8"), 1.0);
  EXPECT_DOUBLE_EQ(feature(f, "onset_eighth_0"), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(feature(f, "onset_sixteenth"), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(feature(f, "onset_other"), 1.0 / 3.0);
  // 5/4 is an "other" numerator.
  const std::vector<double> five = style_features(style_melody(melody_of({{60, 80, 0, Q}}, 5, 4), 0), Key{});
  EXPECT_EQ(feature(five, "meter_num_other"), 1.0);
  EXPECT_EQ(feature(five, "meter_den_4"), 1.0);
}

TEST(EvalStyleClassifier, WindowsOfWholeBars) {
  // Nine 4/4 bars, one whole note each with pitch 60 + bar: two windows of 4 bars, the ninth bar in none.
  std::vector<Note> notes;
  for (int bar = 0; bar < 9; ++bar) notes.push_back({60 + bar, 80, bar * 4 * Q, (bar + 1) * 4 * Q});
  const std::vector<Score> windows = bar_windows(style_melody(melody_of(notes), 0), 4);
  ASSERT_EQ(windows.size(), 2u);
  ASSERT_EQ(windows[1].tracks[0].notes.size(), 4u);
  EXPECT_EQ(windows[1].tracks[0].notes[0].pitch, 64);
  EXPECT_EQ(windows[1].tracks[0].notes[0].start_tick, 0);
  EXPECT_TRUE(bar_windows(style_melody(melody_of(notes), 0), 10).empty());
  EXPECT_THROW_WITH(bar_windows(melody_of(notes), 0), Error, {"0 bars", "at least 1"});
}

// A synthetic style: "even" runs of stepwise eighths, or "dotted" dotted-eighth + sixteenth pairs with leaps.
Score synthetic(bool dotted, uint32_t seed, int bars = 8) {
  std::mt19937 random(seed);
  std::vector<Note> notes;
  int pitch = 62 + static_cast<int>(random() % 8);
  for (int64_t bar = 0; bar < bars; ++bar)
    for (int64_t beat = 0; beat < 4; ++beat) {
      const int64_t at = (bar * 4 + beat) * Q;
      const std::vector<std::pair<int64_t, int64_t>> parts =
          dotted ? std::vector<std::pair<int64_t, int64_t>>{{0, 3 * Q / 4}, {3 * Q / 4, Q}}
                 : std::vector<std::pair<int64_t, int64_t>>{{0, Q / 2}, {Q / 2, Q}};
      for (const auto& [start, end] : parts) {
        const int step = dotted ? static_cast<int>(random() % 9) - 4 : static_cast<int>(random() % 5) - 2;
        pitch = std::clamp(pitch + step, 55, 84);
        notes.push_back({pitch, 80, at + start, at + end});
      }
    }
  Score score = melody_of(notes);
  score.source = std::string(dotted ? "dotted" : "even") + std::to_string(seed) + ".mid";
  return score;
}

std::vector<LabelledPiece> synthetic_set(uint32_t first_seed, int per_style, Split split) {
  std::vector<LabelledPiece> pieces;
  for (int i = 0; i < per_style; ++i)
    for (bool dotted : {false, true}) {
      const Score score = synthetic(dotted, first_seed + static_cast<uint32_t>(i));
      pieces.push_back({score.source, dotted ? "dotted" : "even", split, style_melody(score, 0)});
    }
  return pieces;
}

StyleClassifier trained_synthetic(const StyleTrainOptions& options = {}) {
  const std::vector<std::string> styles = {"even", "dotted"};
  StyleClassifier classifier = StyleClassifier::train(
      styles, style_examples(synthetic_set(1, 10, Split::kTrain), {Split::kTrain}, styles, 4), options);
  classifier.set_reading(0, 4);
  return classifier;
}

TEST(EvalStyleClassifier, SeparatesTwoSyntheticStyles) {
  const StyleClassifier classifier = trained_synthetic();
  std::vector<LabelledPiece> held_out = synthetic_set(100, 10, Split::kTest);
  const StyleEvaluation evaluation = evaluate_style_classifier(classifier, held_out, {Split::kTest});
  EXPECT_EQ(evaluation.pieces.total(), 20);
  EXPECT_EQ(evaluation.pieces.correct(), 20);
  EXPECT_EQ(evaluation.windows.total(), 40);  // 8 bars: two windows each
  EXPECT_EQ(evaluation.windows.correct(), 40);
  EXPECT_DOUBLE_EQ(evaluation.pieces.majority_share(), 0.5);
  // Pieces of another split are not counted.
  EXPECT_EQ(evaluate_style_classifier(classifier, held_out, {Split::kValid}).pieces.total(), 0);
  // Confident, not merely on the right side of one half.
  const std::vector<double> p = classifier.classify_melody(held_out[1].melody);  // dotted
  EXPECT_GT(p[1], 0.9);
  EXPECT_NEAR(p[0] + p[1], 1.0, 1e-12);
}

// The weighted mean cross-entropy + l2 / 2 |W|^2, recomputed here from a saved classifier's probabilities and weights.
double objective(const StyleClassifier& classifier, const std::vector<StyleExample>& examples, double l2) {
  double loss = 0, total = 0;
  for (const StyleExample& example : examples) {
    loss += -example.weight * std::log(classifier.probabilities(example.features)[static_cast<size_t>(example.style)]);
    total += example.weight;
  }
  double penalty = 0;
  for (const auto& row : classifier.to_json()["weights"])
    for (const auto& value : row) penalty += value.get<double>() * value.get<double>();
  return loss / total + 0.5 * l2 * penalty;
}

TEST(EvalStyleClassifier, FitIsTheMinimumOfTheObjective) {
  // Few examples and a strong penalty, so that the minimum is interior and well conditioned.
  StyleTrainOptions options;
  options.l2 = 0.1;
  options.balance_styles = false;
  options.tolerance = 1e-7;
  options.max_iterations = 2000;
  const std::vector<std::string> styles = {"even", "dotted"};
  const std::vector<StyleExample> examples =
      style_examples(synthetic_set(1, 4, Split::kTrain), {Split::kTrain}, styles, 4);
  const StyleClassifier classifier = StyleClassifier::train(styles, examples, options);
  EXPECT_TRUE(classifier.fit_report()["converged"].get<bool>()) << classifier.fit_report().dump();
  const double at_minimum = objective(classifier, examples, options.l2);
  // Central differences along a few weights and both biases: the slope is ~0 and both sides are not lower.
  nlohmann::json json = classifier.to_json();
  const double h = 1e-4;
  for (const auto& [key, row, column] : std::vector<std::tuple<std::string, int, int>>{
           {"weights", 0, 0}, {"weights", 1, 20}, {"weights", 0, 40}, {"bias", 0, -1}, {"bias", 1, -1}}) {
    double values[2];
    for (int side = 0; side < 2; ++side) {
      nlohmann::json moved = json;
      nlohmann::json& value = column < 0 ? moved[key][row] : moved[key][row][column];
      value = value.get<double>() + (side == 0 ? -h : h);
      values[side] = objective(StyleClassifier::from_json(moved, "moved"), examples, options.l2);
    }
    EXPECT_NEAR((values[1] - values[0]) / (2 * h), 0.0, 1e-5) << key << " " << row << " " << column;
    EXPECT_GE(values[0], at_minimum - 1e-12);
    EXPECT_GE(values[1], at_minimum - 1e-12);
  }
}

TEST(EvalStyleClassifier, SaveLoadGivesIdenticalProbabilities) {
  StyleClassifier classifier = trained_synthetic();
  classifier.set_training_summary({{"note", "synthetic"}});
  testing::TempDir dir;
  classifier.save(dir.file("clf.json"));
  EXPECT_FALSE(std::filesystem::exists(dir.file("clf.json.tmp")));
  const StyleClassifier loaded = StyleClassifier::load(dir.file("clf.json"));
  EXPECT_EQ(loaded.styles(), classifier.styles());
  EXPECT_EQ(loaded.window_bars(), 4);
  EXPECT_EQ(loaded.training_summary()["note"], "synthetic");
  for (const LabelledPiece& piece : synthetic_set(200, 3, Split::kTest)) {
    EXPECT_EQ(loaded.classify_melody(piece.melody), classifier.classify_melody(piece.melody));
    EXPECT_EQ(loaded.classify_windows(piece.melody), classifier.classify_windows(piece.melody));
  }
}

TEST(EvalStyleClassifier, IgnoreMeterReadsNoMeterFeature) {
  StyleTrainOptions options;
  options.ignore_meter = true;
  const StyleClassifier classifier = trained_synthetic(options);
  ASSERT_TRUE(classifier.ignores_meter());
  const auto& names = style_feature_names();
  const std::vector<bool> used = classifier.used_features();
  const nlohmann::json json = classifier.to_json();
  size_t left_out = 0;
  for (size_t f = 0; f < names.size(); ++f) {
    EXPECT_EQ(used[f], !is_meter_feature(names[f])) << names[f];
    if (used[f]) continue;
    ++left_out;
    for (const auto& row : json["weights"]) EXPECT_EQ(row[f].get<double>(), 0.0) << names[f];
  }
  EXPECT_EQ(left_out, 7u + 4u + 14u + 1u);  // numerators, denominators, onset positions, notes per bar
  // Changing the meter features of an input changes nothing; the other features still separate the styles.
  const LabelledPiece piece = synthetic_set(300, 1, Split::kTest)[1];  // dotted
  std::vector<double> features = style_features(piece.melody, style_key(piece.melody));
  const std::vector<double> before = classifier.probabilities(features);
  for (size_t f = 0; f < names.size(); ++f)
    if (is_meter_feature(names[f])) features[f] = 0.5;
  EXPECT_EQ(classifier.probabilities(features), before);
  EXPECT_GT(before[1], 0.9);
  const StyleClassifier loaded = StyleClassifier::from_json(json, "json");
  EXPECT_TRUE(loaded.ignores_meter());
  EXPECT_EQ(loaded.probabilities(features), before);
  nlohmann::json bad = json;
  bad["features"]["ignore_meter"] = "yes";
  EXPECT_THROW_WITH(StyleClassifier::from_json(bad, "clf.json"), Error, {"clf.json", "ignore_meter", "true or false"});
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(EvalStyleClassifier, ErrorsNameTheProblem) {
  const StyleClassifier classifier = trained_synthetic();
  EXPECT_THROW_WITH(classifier.style_index("jigs"), Error, {"unknown style 'jigs'", "even, dotted"});
  EXPECT_EQ(classifier.style_index("dotted"), 1);

  testing::TempDir dir;
  const std::string path = dir.file("clf.json");
  EXPECT_THROW_WITH(StyleClassifier::load(dir.file("missing.json")), Error, {"missing.json"});
  write_text(path, "{ not json");
  EXPECT_THROW_WITH(StyleClassifier::load(path), Error, {path, "not valid JSON"});
  write_text(path, "[1, 2]");
  EXPECT_THROW_WITH(StyleClassifier::load(path), Error, {path, "expected a JSON object"});

  const nlohmann::json good = classifier.to_json();
  const auto refused = [&](const nlohmann::json& json, std::initializer_list<std::string> expected) {
    write_text(path, json.dump());
    return testing::throws_with<Error>([&] { StyleClassifier::load(path); }, "load", "Error", expected);
  };
  nlohmann::json other = good;
  other["version"] = 2;
  EXPECT_TRUE(refused(other, {path, "version 2 is not supported", "reads version 1"}));
  other = good;
  other["format"] = "cadenza-checkpoint";
  EXPECT_TRUE(refused(other, {path, "format is \"cadenza-checkpoint\"", "cadenza-style-classifier"}));
  other = good;
  other["features"]["names"][0] = "tempo";
  EXPECT_TRUE(refused(other, {path, "feature names differ", "train the classifier again"}));
  other = good;
  other.erase("weights");
  EXPECT_TRUE(refused(other, {path, "missing \"weights\""}));
  other = good;
  other["weights"][1].erase(0);
  EXPECT_TRUE(refused(other, {path, "\"weights\" must be an array of"}));
  other = good;
  other["bias"][0] = "x";
  EXPECT_TRUE(refused(other, {path, "\"bias\"", "not a finite number"}));
  other = good;
  other["styles"] = {"even", "even"};
  EXPECT_TRUE(refused(other, {path, "'even' is listed twice"}));
  other = good;
  other["window_bars"] = 0;
  EXPECT_TRUE(refused(other, {path, "\"window_bars\""}));

  EXPECT_THROW_WITH(style_melody(tiny(), 3), Error, {"tiny.mid", "no track 3"});
  // A corrupt file's note far away would ask for billions of bars: refused, naming the score.
  const Score far = melody_of({{60, 80, 0, Q}, {62, 80, int64_t{1} << 40, (int64_t{1} << 40) + Q}});
  EXPECT_THROW_WITH(style_features(far, Key{}), Error, {"tiny.mid"});
  EXPECT_THROW_WITH(bar_windows(far, 4), Error, {"tiny.mid"});
  EXPECT_THROW_WITH(style_melody(melody_of({}), 0), Error, {"tiny.mid", "no notes in track 0"});
  EXPECT_THROW_WITH(StyleClassifier::train({"even"}, {}), Error, {"at least two styles"});
  EXPECT_THROW_WITH(StyleClassifier::train({"even", "dotted", "jigs"},
                                           style_examples(synthetic_set(1, 2, Split::kTrain), {Split::kTrain},
                                                          {"even", "dotted", "jigs"}, 4)),
                    Error, {"style 'jigs' has no training example"});
}

}  // namespace
}  // namespace cadenza::eval
