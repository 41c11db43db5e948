#include "score/key.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "score/operations.h"

namespace cadenza {
namespace {

// Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
constexpr std::array<double, 12> kMajorProfile = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09,
                                                  2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
constexpr std::array<double, 12> kMinorProfile = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53,
                                                  2.54, 4.75, 3.98, 2.69, 3.34, 3.17};

double pearson(const std::array<double, 12>& x, const std::array<double, 12>& y) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < 12; ++i) mx += x[i], my += y[i];
  mx /= 12, my /= 12;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < 12; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

constexpr const char* kSharpNames[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
constexpr const char* kFlatNames[12] = {"C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"};

}  // namespace

namespace {

Key key_of_signature(const KeySignature& signature) {
  // Each sharp moves the major tonic a fifth up (7 semitones); the relative minor lies a minor third below.
  const int major_root = ((signature.sharps * 7) % 12 + 12) % 12;
  if (signature.minor) return Key{(major_root + 9) % 12, ScaleMode::kMinor};
  return Key{major_root, ScaleMode::kMajor};
}

}  // namespace

std::optional<Key> first_key(const Score& score) {
  if (score.key_signatures.empty()) return std::nullopt;
  return key_of_signature(score.key_signatures.front());
}

std::optional<Key> estimate_key(const Score& score) {
  std::array<double, 12> histogram{};
  for (const Track& track : score.tracks) {
    if (track.is_drum) continue;
    for (const Note& note : track.notes)
      histogram[static_cast<size_t>(((note.pitch % 12) + 12) % 12)] += static_cast<double>(note.duration_ticks());
  }
  return estimate_key(histogram);  // nullopt without notes (or with only notes of no length)
}

double key_correlation(const std::array<double, 12>& histogram, const Key& key) {
  const auto& profile = key.mode == ScaleMode::kMajor ? kMajorProfile : kMinorProfile;
  std::array<double, 12> rotated{};
  for (int pc = 0; pc < 12; ++pc)
    rotated[static_cast<size_t>(pc)] = profile[static_cast<size_t>(((pc - key.root) % 12 + 12) % 12)];
  return pearson(histogram, rotated);
}

std::optional<Key> estimate_key(const std::array<double, 12>& histogram) {
  if (std::all_of(histogram.begin(), histogram.end(), [](double weight) { return weight == 0.0; })) return std::nullopt;
  Key best;
  double best_r = -std::numeric_limits<double>::infinity();
  for (ScaleMode mode : {ScaleMode::kMajor, ScaleMode::kMinor})
    for (int root = 0; root < 12; ++root) {
      const double r = key_correlation(histogram, Key{root, mode});
      if (r > best_r) best_r = r, best = {root, mode};
    }
  return best;
}

std::optional<Key> tune_key(const Score& score) {
  if (auto key = first_key(score)) return key;
  return estimate_key(score);
}

ScaleMode parse_scale_mode(const std::string& text) {
  if (text == "major") return ScaleMode::kMajor;
  if (text == "minor") return ScaleMode::kMinor;
  throw Error("scale mode '" + text + "' is neither 'major' nor 'minor'");
}

const char* scale_mode_name(ScaleMode mode) {
  return mode == ScaleMode::kMajor ? "major" : "minor";
}

KeySignature key_signature_of(const Key& key, int64_t tick) {
  // The relative major's tonic, then its number of sharps: each fifth up adds one (7 semitones = one sharp).
  const int major = key.mode == ScaleMode::kMajor ? key.root : (key.root + 3) % 12;
  int sharps = (major * 7) % 12;  // 0..11 sharps going up by fifths
  if (sharps > 6) sharps -= 12;   // F# (6) stays sharp; Db (7) becomes 5 flats
  KeySignature signature;
  signature.tick = tick;
  signature.sharps = sharps;
  signature.minor = key.mode == ScaleMode::kMinor;
  return signature;
}

Score transpose_with_key(const Score& score, int semitones) {
  Score result = transpose(score, semitones);
  for (KeySignature& signature : result.key_signatures) {
    Key key = key_of_signature(signature);
    key.root = ((key.root + semitones) % 12 + 12) % 12;
    signature = key_signature_of(key, signature.tick);
  }
  return result;
}

int nearest_shift(int from, int to) {
  const int up = ((to - from) % 12 + 12) % 12;  // 0..11
  return up > 5 ? up - 12 : up;
}

std::string key_name(const Key& key) {
  const bool flats = key_signature_of(key).sharps < 0;
  return std::string((flats ? kFlatNames : kSharpNames)[key.root % 12]) + (key.mode == ScaleMode::kMinor ? "m" : "");
}

Key parse_key(const std::string& text) {
  std::string t = text;
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
  auto fail = [&] {
    throw Error("key \"" + text + "\": expected a tonic and an optional minor mark, e.g. G, F#, Bb, Em, C#m, A minor");
  };
  if (t.empty()) fail();
  const char letter = static_cast<char>(std::toupper(static_cast<unsigned char>(t[0])));
  static const int kNatural[7] = {9, 11, 0, 2, 4, 5, 7};  // A..G
  if (letter < 'A' || letter > 'G') fail();
  int root = kNatural[letter - 'A'];
  size_t at = 1;
  while (at < t.size() && (t[at] == '#' || t[at] == 'b')) root += t[at++] == '#' ? 1 : -1;
  std::string rest = t.substr(at);
  std::transform(rest.begin(), rest.end(), rest.begin(), [](unsigned char c) { return std::tolower(c); });
  Key key{((root % 12) + 12) % 12, ScaleMode::kMajor};
  if (rest == "m" || rest == "min" || rest == "minor") {
    key.mode = ScaleMode::kMinor;
  } else if (!(rest.empty() || rest == "maj" || rest == "major")) {
    fail();
  }
  return key;
}

}  // namespace cadenza
