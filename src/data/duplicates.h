// Identical and near-identical pieces across the files of a data set, so that `dataset prepare` keeps each group
// in one split (a tune copied into two folders, or saved twice with small edits, would otherwise sit in train and
// in test: Nottingham's MIDI/ holds each tune again under melody/ and chords/).
//
// Each piece gets a fingerprint of the music it is encoded from (after --track / --track-index):
//   - `exact`: a hash of the encoded content (the tokens, or the roll's cells and shape): identical encodings;
//   - its *line*: the skyline of the pitched notes (score/operations.h extract_melody: the highest note at each
//     onset), written as one symbol per note: the interval from the previous note (semitones, clamped to +-36) and
//     the time since the previous onset (in 48ths of a quarter, clamped to 16 quarters). It ignores key, tempo,
//     resolution, velocities, durations and everything under the top line, so a transposed, re-timed or
//     re-harmonised copy keeps it;
//   - `line`: a hash of the whole line (when it has at least kMinLineNotes notes): the same tune in any key;
//   - `shingles`: the hashes of every run of kShingleNotes consecutive symbols of the line (sorted, unique);
//   - `track_shingles`: for a piece of several pitched tracks, the shingles of each track's own line (a tune with
//     its chords then shares the line of a copy of the chords alone).
// Two pieces are duplicates when their `exact` hashes are equal, their `line` hashes are equal, or they are near
// duplicates: the shingles they share are at least kNearContainment of the smaller of the two sets, comparing line
// with line, or the line of a piece of one pitched track with each track's line of a piece of several (the copy of
// one part of a file), and both sets hold at least kMinShingles shingles (a line cycling through a few notes says
// too little). Two pieces of several tracks are compared by their lines only: sharing a chord progression does not
// make tunes duplicates. Containment rather
// than Jaccard, so that a tune that repeats most of another (the same tune with a part added) is one too.
// Duplicates are grouped transitively (union-find).
//
// Finding near duplicates does not compare every pair: an inverted index lists, per shingle, the pieces that hold
// it, and only pieces sharing a shingle that at most kMaxShingleSpread pieces hold (a rare enough phrase) are
// compared. Candidates are O(total shingles x kMaxShingleSpread), memory O(total shingles).
//
// On Nottingham (melody encoding, the 1,034 files of the top folder) this finds 32 groups of 66 tunes (5 of them
// identical pairs); with the melody/ and chords/ copies (3,089 files) nearly every tune forms a group of three
// (956 groups of 3,042 pieces; see docs/dataset-format.md, "Duplicates", for the overlap measured before and after).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "score/score.h"

namespace cadenza {

inline constexpr int kShingleNotes = 8;
inline constexpr int kMinLineNotes = 8;
inline constexpr size_t kMinShingles = 8;
inline constexpr double kNearContainment = 0.5;
inline constexpr size_t kMaxShingleSpread = 32;

struct PieceFingerprint {
  uint64_t exact = 0;
  uint64_t line = 0;                                  // 0 when the line is shorter than kMinLineNotes
  std::vector<uint64_t> shingles;                     // sorted, unique
  std::vector<std::vector<uint64_t>> track_shingles;  // per pitched track, each sorted and unique; none for one track
};

// The line of a score as described above: one symbol per note of the skyline of its non-drum notes.
std::vector<int32_t> melodic_line(const Score& score);
// Fingerprints of an encoded piece; `score` is what was encoded.
PieceFingerprint fingerprint_tokens(const Score& score, std::span<const Token> tokens);
PieceFingerprint fingerprint_roll(const Score& score, const PianoRoll& roll);

// How two pieces were found to be duplicates (the strongest reason).
enum class DuplicateKind { kExact, kLine, kNear };

struct DuplicateGroups {
  // group_of[i]: the smallest piece index of the group piece i belongs to (i itself for a piece without duplicates).
  std::vector<size_t> group_of;
  size_t groups = 0;  // groups of two or more pieces
  size_t pieces = 0;  // pieces in such groups
  // Pairs that joined groups, by kind (a pair already joined by a stronger kind is not counted again).
  size_t exact_pairs = 0, line_pairs = 0, near_pairs = 0;
  // Work done for near duplicates: candidate pairs whose shingle sets were compared.
  size_t comparisons = 0;
};

// Groups the pieces (indexes into `fingerprints`) by the rules above. Deterministic: the result depends only on
// the fingerprints and their order.
DuplicateGroups group_duplicates(std::span<const PieceFingerprint> fingerprints);

// The shingles a and b share, over the size of the smaller set (0 when either is empty).
double shingle_containment(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);
// The near-duplicate rule above.
bool near_duplicates(const PieceFingerprint& a, const PieceFingerprint& b);

}  // namespace cadenza
