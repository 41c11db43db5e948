// The memorization (originality) check: how much of a piece occurs verbatim in a training set.
//
// Reduction. A piece is compared by its melody line: the score is snapped to a grid of steps_per_quarter steps
// per quarter (quantize()), then reduced to the skyline over all non-drum tracks (extract_melody(): the highest
// note at each onset). The check is about melodies being copied; accompaniment is not compared.
//
// Symbols. Symbol j of a line describes the step from note j to note j + 1: (pitch interval, onset difference,
// duration of note j, duration of note j + 1), times in grid steps. A run of k consecutive notes is "copied"
// when its k - 1 symbols occur consecutively in one training piece: the same intervals (so the comparison is
// transposition-invariant by construction), the same inter-onset times (rests included) and the same durations.
// Rhythm is absolute, in quarters, not relative to the piece's tempo or resolution: ticks_per_quarter and tempo
// do not matter, but a copy in doubled note values is not a verbatim copy (and the token encodings a model
// learns from represent time in quarters too). A single note carries no interval, so spans shorter than two
// notes are not counted: a longest span of 0 means that not even one step of the piece occurs in training.
//
// Index. The training lines are concatenated with a unique separator after each piece (no match crosses two
// pieces) into one suffix automaton: construction is linear in the training length, and one left-to-right pass
// over a piece gives, for every position, the longest training match ending there (matching statistics). From
// those come, exactly and without hashing collisions, the longest copied span, where it occurs in training, and
// the share of the piece's n-note n-grams that occur in training (an n-gram ending at symbol j is in training
// iff the match ending at j is at least n - 1 symbols long).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/shard.h"
#include "score/score.h"

namespace cadenza {

// 1/12 quarter: holds sixteenths and eighth / quarter triplets alike.
inline constexpr int kDefaultOriginalityGrid = 12;

struct OriginalityOptions {
  int steps_per_quarter = kDefaultOriginalityGrid;  // comparison grid, 1..960
  std::vector<int> ngram_sizes = {8, 16};           // n-gram lengths in notes, each 2..100000
};

// One note of a melody line on the comparison grid.
struct LineNote {
  int pitch = 0;
  int64_t onset = 0;       // grid steps from the score's tick 0
  int64_t duration = 0;    // grid steps, at least 1
  int64_t start_tick = 0;  // the (snapped) start in the score's own ticks, to look up the meter
};

// The melody line of a score (see the header comment). Throws Error when steps_per_quarter <= 0.
std::vector<LineNote> melody_line(const Score& score, int steps_per_quarter);

// The longest run of consecutive notes of a piece that occurs verbatim (up to transposition) in training.
struct CopiedSpan {
  size_t notes = 0;            // 0 when no two consecutive notes occur in training
  size_t start_note = 0;       // 0-based index in the piece's melody line
  double start_quarter = 0.0;  // onset of the first note, in quarters
  int64_t start_bar = 0;       // 1-based bar (bars() of the piece) holding the first note
  double quarters = 0.0;       // first onset to last end
  // The piece's bars (bars(): its time signatures, 4/4 without) that the span covers, those at its ends in part:
  // quarters / quarters per bar when the meter does not change.
  double bars = 0.0;
  size_t training_piece = 0;  // OriginalityIndex::source(training_piece) names it
  size_t training_start_note = 0;
  double training_start_quarter = 0.0;
};

struct NgramOverlap {
  int n = 0;         // notes per n-gram
  size_t total = 0;  // n-grams of the piece: notes - n + 1, or 0 when it has fewer than n notes
  size_t found = 0;  // of them, those that occur in training
  // found / total; NaN when total is 0 (a piece shorter than n notes has no n-grams to judge).
  double share() const;
};

struct OriginalityReport {
  std::string source;  // the checked score's source
  size_t notes = 0;    // notes of its melody line
  CopiedSpan longest;
  std::vector<NgramOverlap> ngrams;  // one per OriginalityOptions::ngram_sizes, in that order
};

// The index over a training set. Add every training piece, then check pieces against it. Not thread-safe while
// adding; check() is const and may run concurrently.
class OriginalityIndex {
 public:
  // Throws Error on a grid outside 1..960 or an n-gram size outside 2..100000.
  explicit OriginalityIndex(OriginalityOptions options = {});

  const OriginalityOptions& options() const { return options_; }

  // Adds a training piece (its melody line). `source` names it in reports. Throws Error when the index would
  // exceed 2^30 notes in all.
  void add(const Score& score, const std::string& source);
  // The same for a line already reduced with melody_line() on this index's grid.
  void add_line(const std::vector<LineNote>& line, const std::string& source);

  size_t num_pieces() const { return pieces_.size(); }
  // Melody-line notes over all training pieces.
  size_t num_notes() const { return onsets_.size(); }
  // The source of a training piece; throws Error when out of range.
  const std::string& source(size_t piece) const;

  // Checks one piece; report.source is score.source.
  OriginalityReport check(const Score& score) const;

 private:
  struct TrainingPiece {
    std::string source;
    size_t first_note = 0;    // into onsets_
    size_t first_symbol = 0;  // position of its first symbol in the automaton's text
  };
  struct State {
    int32_t length = 0;       // longest string of this state
    int32_t link = -1;        // suffix link
    int32_t first_end = -1;   // text position where the first occurrence of this state's strings ends
    int32_t first_edge = -1;  // into edges_: the symbols leaving this state, to copy them when it is cloned
  };
  struct Edge {
    uint32_t symbol = 0;
    int32_t next = -1;  // next edge of the same state
  };
  // One slot of the transition table: open addressing with linear probing, keyed by state << 32 | symbol, so that
  // a lookup costs one cache miss. An all-ones key marks a free slot.
  struct Slot {
    uint64_t key = ~uint64_t{0};
    int32_t target = -1;
  };

  // The step from one line note to the next, compared exactly (the hash only picks a bucket).
  struct Step {
    int interval = 0;
    int64_t onset_difference = 0;
    int64_t duration = 0;
    int64_t next_duration = 0;
    bool operator==(const Step& other) const = default;
  };
  struct StepHash {
    size_t operator()(const Step& step) const;
  };

  static Step step_between(const LineNote& from, const LineNote& to);
  uint32_t intern(const Step& step);
  // The step's symbol, or an id no training text holds when training has no such step.
  uint32_t symbol_of(const Step& step) const;
  // Appends one symbol to the automaton's text.
  void extend(uint32_t symbol);
  // The slot holding key, or the free slot where it belongs.
  size_t slot_of(uint64_t key) const;
  // The state reached from state by symbol, or -1.
  int32_t transition(int32_t state, uint32_t symbol) const;
  void add_transition(int32_t state, uint32_t symbol, int32_t target);
  // Grows the table (a rehash) so that it holds this many transitions at most half full.
  void reserve_transitions(size_t transitions);

  OriginalityOptions options_;
  std::vector<TrainingPiece> pieces_;
  std::vector<int64_t> onsets_;  // every training note's onset, in grid steps, piece after piece
  std::unordered_map<Step, uint32_t, StepHash> alphabet_;  // step -> dense symbol id
  size_t text_length_ = 0;
  std::vector<State> states_;
  std::vector<Edge> edges_;
  std::vector<Slot> slots_;  // a power of two, at most half full
  int32_t last_ = 0;
};

// Mean and maximum over a set of reports.
struct OriginalitySummary {
  struct Share {
    int n = 0;
    size_t pieces = 0;  // pieces with at least one n-gram (the others do not count)
    double mean = 0.0;  // of the per-piece shares; NaN when no piece counts
    double max = 0.0;   // NaN when no piece counts
    size_t max_piece = 0;
    double pooled = 0.0;  // all found / all total; NaN when no piece counts
  };
  size_t pieces = 0;
  double mean_notes = 0.0;
  double mean_longest_notes = 0.0;
  double mean_longest_bars = 0.0;
  size_t max_longest_notes = 0;
  double max_longest_bars = 0.0;
  size_t max_longest_piece = 0;  // index of the report with the longest span (first on ties)
  std::vector<Share> shares;     // one per n-gram size of the first report
};
OriginalitySummary summarize(std::span<const OriginalityReport> reports);

// The grid a shard's encoding quantizes time to (melody and piano roll: steps_per_quarter; remi:
// positions_per_quarter), or 0 when it has none (performance: absolute time). Throws Error naming the shard
// when its encoding cannot be rebuilt.
int shard_grid(const Shard& shard);
// The comparison grid for a set of shards: the coarsest grid among them (comparing finer than the training data
// was stored would call a copy original only because the piece keeps detail the training data lost), or
// kDefaultOriginalityGrid when none has one.
int comparison_grid(std::span<const Shard* const> shards);

// The pieces of a shard in the given splits, decoded (token shards with the shard's encoding, piano rolls with its
// roll spec) in index order. Each Score's source is source_prefix + the piece's source path from the shard
// metadata. Throws Error naming the shard when its encoding cannot be rebuilt.
std::vector<Score> decode_shard_pieces(const Shard& shard, std::span<const Split> splits,
                                       const std::string& source_prefix = "");
// Adds the train split of a shard to the index, decoding one piece at a time; returns the number of pieces added.
size_t add_training_pieces(OriginalityIndex& index, const Shard& shard, const std::string& source_prefix = "");

}  // namespace cadenza
