#include "data/duplicates.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <numeric>
#include <unordered_map>

#include "data/checksum.h"
#include "score/operations.h"

namespace cadenza {

namespace {

constexpr int kMaxInterval = 36;               // semitones
constexpr int64_t kOnsetUnitsPerQuarter = 48;  // time between onsets in 48ths of a quarter (triplets and 32nds)
constexpr int64_t kMaxOnsetUnits = 16 * kOnsetUnitsPerQuarter;

// FNV-1a over the bytes of values, chained from `hash` (so several parts can go into one hash).
template <typename T>
uint64_t hash_values(std::span<const T> values, uint64_t hash = 0xcbf29ce484222325ULL) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(values.data());
  for (size_t i = 0; i < values.size() * sizeof(T); ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// The shingles of one line (its first symbol left out: it has no interval and its onset gap is measured from
// nothing, so a copy with another pickup or start keeps the same shingles).
void add_shingles(const std::vector<int32_t>& line, std::vector<uint64_t>& shingles) {
  if (line.size() < static_cast<size_t>(kShingleNotes) + 1) return;
  const std::span<const int32_t> body(line.data() + 1, line.size() - 1);
  for (size_t i = 0; i + kShingleNotes <= body.size(); ++i)
    shingles.push_back(hash_values(body.subspan(i, kShingleNotes)));
}

void sort_unique(std::vector<uint64_t>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

void add_line_fingerprints(const Score& score, PieceFingerprint& fingerprint) {
  const std::vector<int32_t> line = melodic_line(score);
  if (line.size() >= static_cast<size_t>(kMinLineNotes) + 1) {
    fingerprint.line = hash_values(std::span<const int32_t>(line.data() + 1, line.size() - 1));
    if (fingerprint.line == 0) fingerprint.line = 1;  // 0 means "no line"
  }
  add_shingles(line, fingerprint.shingles);
  sort_unique(fingerprint.shingles);
  // Each pitched track's own line too, when there are several: a file that holds another file's tracks (a tune
  // with its chords, beside a copy of the chords alone) then shares that file's line.
  size_t pitched = 0;
  for (const auto& track : score.tracks) pitched += !track.is_drum && !track.notes.empty();
  if (pitched < 2) return;
  Score single = score;
  for (const auto& track : score.tracks) {
    if (track.is_drum || track.notes.empty()) continue;
    single.tracks = {track};
    std::vector<uint64_t> shingles;
    add_shingles(melodic_line(single), shingles);
    sort_unique(shingles);
    fingerprint.track_shingles.push_back(std::move(shingles));
  }
}

// Union-find over piece indexes; the root of a set is always its smallest index.
class Groups {
 public:
  explicit Groups(size_t count) : parent_(count) { std::iota(parent_.begin(), parent_.end(), size_t{0}); }
  size_t find(size_t i) {
    while (parent_[i] != i) {
      parent_[i] = parent_[parent_[i]];
      i = parent_[i];
    }
    return i;
  }
  bool join(size_t a, size_t b) {
    a = find(a), b = find(b);
    if (a == b) return false;
    if (b < a) std::swap(a, b);
    parent_[b] = a;
    return true;
  }

 private:
  std::vector<size_t> parent_;
};

size_t shared_count(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  size_t shared = 0;
  auto i = a.begin(), j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i < *j) {
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      ++shared, ++i, ++j;
    }
  }
  return shared;
}

}  // namespace

std::vector<int32_t> melodic_line(const Score& score) {
  std::vector<int32_t> line;
  if (score.ticks_per_quarter <= 0) return line;
  const Score skyline = extract_melody(score);
  if (skyline.tracks.empty()) return line;
  const auto& notes = skyline.tracks.front().notes;
  line.reserve(notes.size());
  for (size_t i = 0; i < notes.size(); ++i) {
    int interval = 0;
    int64_t gap = 0;
    if (i > 0) {
      interval = std::clamp(notes[i].pitch - notes[i - 1].pitch, -kMaxInterval, kMaxInterval);
      const int64_t ticks = notes[i].start_tick - notes[i - 1].start_tick;
      gap = nearest_grid_step(ticks, static_cast<int>(kOnsetUnitsPerQuarter), score.ticks_per_quarter);
      gap = std::clamp<int64_t>(gap, 0, kMaxOnsetUnits);
    }
    line.push_back(static_cast<int32_t>((interval + kMaxInterval) * (kMaxOnsetUnits + 1) + gap));
  }
  return line;
}

PieceFingerprint fingerprint_tokens(const Score& score, std::span<const Token> tokens) {
  PieceFingerprint fingerprint;
  const uint64_t kind = 1;
  fingerprint.exact = hash_values(tokens, hash_values(std::span<const uint64_t>(&kind, 1)));
  add_line_fingerprints(score, fingerprint);
  return fingerprint;
}

PieceFingerprint fingerprint_roll(const Score& score, const PianoRoll& roll) {
  PieceFingerprint fingerprint;
  const int64_t shape[4] = {2, roll.num_tracks, roll.num_steps, roll.num_pitches};
  fingerprint.exact = hash_values(std::span<const uint8_t>(roll.cells), hash_values(std::span<const int64_t>(shape)));
  add_line_fingerprints(score, fingerprint);
  return fingerprint;
}

namespace {

// The shingle sets of a piece's tracks: its line's alone, for a piece of one pitched track.
std::vector<const std::vector<uint64_t>*> tracks_of(const PieceFingerprint& piece) {
  std::vector<const std::vector<uint64_t>*> tracks;
  if (piece.track_shingles.empty()) tracks.push_back(&piece.shingles);
  for (const auto& shingles : piece.track_shingles) tracks.push_back(&shingles);
  return tracks;
}

bool judgeable(const std::vector<uint64_t>& shingles) {
  return shingles.size() >= kMinShingles;
}

}  // namespace

bool near_duplicates(const PieceFingerprint& a, const PieceFingerprint& b) {
  const auto near = [](const std::vector<uint64_t>& x, const std::vector<uint64_t>& y) {
    return judgeable(x) && judgeable(y) && shingle_containment(x, y) >= kNearContainment;
  };
  if (near(a.shingles, b.shingles)) return true;
  // A piece of one pitched track against each track of a piece of several: the copy of one part of a file. Two
  // pieces of several tracks are compared by their lines only (tunes that share a chord progression are not
  // duplicates).
  const auto part_of = [&](const PieceFingerprint& single, const PieceFingerprint& multi) {
    if (!single.track_shingles.empty()) return false;
    for (const auto& track : multi.track_shingles)
      if (near(single.shingles, track)) return true;
    return false;
  };
  return part_of(a, b) || part_of(b, a);
}

double shingle_containment(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  const size_t smaller = std::min(a.size(), b.size());
  if (smaller == 0) return 0.0;
  return static_cast<double>(shared_count(a, b)) / static_cast<double>(smaller);
}

DuplicateGroups group_duplicates(std::span<const PieceFingerprint> fingerprints) {
  const size_t count = fingerprints.size();
  Groups groups(count);
  DuplicateGroups result;

  // Identical encodings, then identical lines: the first piece with a hash takes the later ones.
  std::unordered_map<uint64_t, size_t> first_exact, first_line;
  for (size_t i = 0; i < count; ++i) {
    auto [exact, new_exact] = first_exact.emplace(fingerprints[i].exact, i);
    if (!new_exact && groups.join(exact->second, i)) ++result.exact_pairs;
  }
  for (size_t i = 0; i < count; ++i) {
    if (fingerprints[i].line == 0) continue;
    auto [line, new_line] = first_line.emplace(fingerprints[i].line, i);
    if (!new_line && groups.join(line->second, i)) ++result.line_pairs;
  }

  // Near duplicates: a piece is compared with the later pieces that share one of its rarer shingles (held by at
  // most kMaxShingleSpread pieces), so the work is bounded by the shingles times the spread, not pieces squared.
  // A piece is found through the shingles of its line and of its tracks' lines, those sets that can be judged.
  std::vector<std::vector<uint64_t>> all_shingles(count);
  for (size_t i = 0; i < count; ++i) {
    auto& all = all_shingles[i];
    if (judgeable(fingerprints[i].shingles)) all = fingerprints[i].shingles;
    for (const auto* track : tracks_of(fingerprints[i]))
      if (judgeable(*track)) all.insert(all.end(), track->begin(), track->end());
    sort_unique(all);
  }
  auto eligible = [&](size_t i) { return !all_shingles[i].empty(); };
  std::unordered_map<uint64_t, std::vector<uint32_t>> postings;  // shingle -> pieces, in piece order
  for (size_t i = 0; i < count; ++i)
    if (eligible(i))
      for (uint64_t shingle : all_shingles[i]) {
        auto& pieces = postings[shingle];
        if (pieces.size() <= kMaxShingleSpread) pieces.push_back(static_cast<uint32_t>(i));  // one past: too common
      }
  std::vector<uint32_t> candidates;
  for (size_t i = 0; i < count; ++i) {
    if (!eligible(i)) continue;
    candidates.clear();
    for (uint64_t shingle : all_shingles[i]) {
      const auto& pieces = postings.at(shingle);
      if (pieces.size() > kMaxShingleSpread) continue;
      for (uint32_t j : pieces)
        if (j > i) candidates.push_back(j);
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    for (uint32_t j : candidates) {
      if (groups.find(i) == groups.find(j)) continue;
      ++result.comparisons;
      if (!near_duplicates(fingerprints[i], fingerprints[j])) continue;
      if (groups.join(i, j)) ++result.near_pairs;
    }
  }

  result.group_of.resize(count);
  std::vector<size_t> sizes(count, 0);
  for (size_t i = 0; i < count; ++i) ++sizes[result.group_of[i] = groups.find(i)];
  for (size_t i = 0; i < count; ++i)
    if (sizes[i] >= 2) ++result.groups, result.pieces += sizes[i];
  return result;
}

}  // namespace cadenza
