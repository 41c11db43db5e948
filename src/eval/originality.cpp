#include "eval/originality.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "score/operations.h"

namespace cadenza {

namespace {

constexpr uint64_t kEmptySlot = std::numeric_limits<uint64_t>::max();
// Separators sit above every interned symbol id, one per training piece, so that they never match anything.
constexpr uint32_t kFirstSeparator = uint32_t{1} << 31;
// No interned symbol and no separator: a symbol of a checked piece that training never holds.
constexpr uint32_t kUnknownSymbol = std::numeric_limits<uint32_t>::max();
constexpr size_t kMaxTrainingNotes = size_t{1} << 30;
constexpr int kMaxGrid = 960;
constexpr int kMaxNgram = 100000;

uint64_t mix64(uint64_t x) {  // SplitMix64 finalizer: spreads (state, symbol) keys over the table
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// How many bars [start_tick, end_tick) covers, bars at its ends counting in part. Time past the last bar (a note
// end snapped beyond the score's end) counts in lengths of the last bar.
double bars_covered(const std::vector<Bar>& bars, int64_t start_tick, int64_t end_tick) {
  double covered = 0.0;
  for (const Bar& bar : bars) {
    const int64_t overlap = std::min(end_tick, bar.end_tick) - std::max(start_tick, bar.start_tick);
    if (overlap > 0) covered += static_cast<double>(overlap) / static_cast<double>(bar.end_tick - bar.start_tick);
  }
  if (!bars.empty() && end_tick > bars.back().end_tick) {
    const Bar& last = bars.back();
    const int64_t beyond = end_tick - std::max(start_tick, last.end_tick);
    covered += static_cast<double>(beyond) / static_cast<double>(last.end_tick - last.start_tick);
  }
  return covered;
}

// 1-based number of the bar holding a tick.
int64_t bar_number_at(const std::vector<Bar>& bars, int64_t tick) {
  auto after = std::upper_bound(bars.begin(), bars.end(), tick,
                                [](int64_t value, const Bar& bar) { return value < bar.start_tick; });
  return std::max<int64_t>(1, after - bars.begin());
}

}  // namespace

double NgramOverlap::share() const {
  if (total == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(found) / static_cast<double>(total);
}

std::vector<LineNote> melody_line(const Score& score, int steps_per_quarter) {
  if (steps_per_quarter <= 0)
    throw Error("melody_line: the grid needs at least 1 step per quarter, not " + std::to_string(steps_per_quarter));
  const Score melody = extract_melody(quantize(score, steps_per_quarter));
  std::vector<LineNote> line;
  if (melody.tracks.empty()) return line;
  line.reserve(melody.tracks[0].notes.size());
  for (const auto& note : melody.tracks[0].notes) {
    const int64_t onset = nearest_grid_step(note.start_tick, steps_per_quarter, melody.ticks_per_quarter);
    const int64_t end = nearest_grid_step(note.end_tick, steps_per_quarter, melody.ticks_per_quarter);
    // extract_melody keeps one note per onset; the guard keeps the line strictly ordered whatever happens upstream.
    if (!line.empty() && onset <= line.back().onset) continue;
    line.push_back({note.pitch, onset, std::max<int64_t>(1, end - onset), note.start_tick});
  }
  return line;
}

OriginalityIndex::OriginalityIndex(OriginalityOptions options) : options_(std::move(options)) {
  if (options_.steps_per_quarter < 1 || options_.steps_per_quarter > kMaxGrid)
    throw Error("originality: the grid must be 1.." + std::to_string(kMaxGrid) + " steps per quarter, not " +
                std::to_string(options_.steps_per_quarter));
  for (int n : options_.ngram_sizes)
    if (n < 2 || n > kMaxNgram)
      throw Error("originality: n-gram sizes must be 2.." + std::to_string(kMaxNgram) + " notes, not " +
                  std::to_string(n));
  states_.push_back(State{});  // the root: the empty string
  slots_.resize(1024);
}

const std::string& OriginalityIndex::source(size_t piece) const {
  if (piece >= pieces_.size())
    throw Error("originality: training piece " + std::to_string(piece) + " out of range (" +
                std::to_string(pieces_.size()) + " pieces)");
  return pieces_[piece].source;
}

OriginalityIndex::Step OriginalityIndex::step_between(const LineNote& from, const LineNote& to) {
  return {to.pitch - from.pitch, to.onset - from.onset, from.duration, to.duration};
}

size_t OriginalityIndex::StepHash::operator()(const Step& step) const {
  uint64_t hash = mix64(static_cast<uint64_t>(step.interval + 128));
  hash = mix64(hash ^ static_cast<uint64_t>(step.onset_difference));
  hash = mix64(hash ^ static_cast<uint64_t>(step.duration));
  return static_cast<size_t>(mix64(hash ^ static_cast<uint64_t>(step.next_duration)));
}

uint32_t OriginalityIndex::intern(const Step& step) {
  auto [found, inserted] = alphabet_.try_emplace(step, static_cast<uint32_t>(alphabet_.size()));
  return found->second;
}

uint32_t OriginalityIndex::symbol_of(const Step& step) const {
  const auto found = alphabet_.find(step);
  return found == alphabet_.end() ? kUnknownSymbol : found->second;
}

namespace {
uint64_t transition_key(int32_t state, uint32_t symbol) {
  return (static_cast<uint64_t>(state) << 32) | symbol;
}
}  // namespace

size_t OriginalityIndex::slot_of(uint64_t key) const {
  const size_t mask = slots_.size() - 1;
  size_t slot = mix64(key) & mask;
  while (slots_[slot].key != key && slots_[slot].key != kEmptySlot) slot = (slot + 1) & mask;
  return slot;
}

int32_t OriginalityIndex::transition(int32_t state, uint32_t symbol) const {
  const Slot& slot = slots_[slot_of(transition_key(state, symbol))];
  return slot.key == kEmptySlot ? -1 : slot.target;
}

void OriginalityIndex::reserve_transitions(size_t transitions) {
  size_t capacity = slots_.size();
  while (transitions * 2 > capacity) capacity *= 2;  // at most half full: short probe runs
  if (capacity == slots_.size()) return;
  std::vector<Slot> old(capacity);
  old.swap(slots_);
  for (const Slot& slot : old)
    if (slot.key != kEmptySlot) slots_[slot_of(slot.key)] = slot;
}

void OriginalityIndex::add_transition(int32_t state, uint32_t symbol, int32_t target) {
  reserve_transitions(edges_.size() + 1);
  const uint64_t key = transition_key(state, symbol);
  slots_[slot_of(key)] = {key, target};
  edges_.push_back({symbol, states_[state].first_edge});
  states_[state].first_edge = static_cast<int32_t>(edges_.size() - 1);
}

// One step of the standard online suffix-automaton construction (Blumer et al.), with each state remembering
// where its strings first end so that a match can be located in the training text.
void OriginalityIndex::extend(uint32_t symbol) {
  const auto position = static_cast<int32_t>(text_length_++);
  const auto current = static_cast<int32_t>(states_.size());
  states_.push_back({states_[last_].length + 1, -1, position, -1});
  int32_t state = last_;
  size_t slot = 0;  // of (state, symbol) once the walk below stops at a state that has that transition
  for (; state >= 0; state = states_[state].link) {
    reserve_transitions(edges_.size() + 1);
    const uint64_t key = transition_key(state, symbol);
    slot = slot_of(key);
    if (slots_[slot].key != kEmptySlot) break;
    slots_[slot] = {key, current};
    edges_.push_back({symbol, states_[state].first_edge});
    states_[state].first_edge = static_cast<int32_t>(edges_.size() - 1);
  }
  if (state < 0) {
    states_[current].link = 0;
  } else {
    const int32_t target = slots_[slot].target;
    if (states_[state].length + 1 == states_[target].length) {
      states_[current].link = target;
    } else {
      const auto clone = static_cast<int32_t>(states_.size());
      states_.push_back({states_[state].length + 1, states_[target].link, states_[target].first_end, -1});
      // Redirect the walk's (state, symbol) -> target transitions to the clone, then give the clone target's.
      slots_[slot].target = clone;
      for (state = states_[state].link; state >= 0; state = states_[state].link) {
        Slot& redirected = slots_[slot_of(transition_key(state, symbol))];
        if (redirected.key == kEmptySlot || redirected.target != target) break;
        redirected.target = clone;
      }
      for (int32_t edge = states_[target].first_edge; edge >= 0; edge = edges_[edge].next)
        add_transition(clone, edges_[edge].symbol, transition(target, edges_[edge].symbol));
      states_[target].link = clone;
      states_[current].link = clone;
    }
  }
  last_ = current;
}

void OriginalityIndex::add(const Score& score, const std::string& source) {
  add_line(melody_line(score, options_.steps_per_quarter), source);
}

void OriginalityIndex::add_line(const std::vector<LineNote>& line, const std::string& source) {
  // The automaton's text (a symbol per note, less one per piece, plus a separator per piece) indexes states with
  // int32: at most 2 states per symbol.
  if (text_length_ + line.size() + 1 > kMaxTrainingNotes)
    throw Error("originality: the training set exceeds " + std::to_string(kMaxTrainingNotes) + " notes");
  TrainingPiece piece{source, onsets_.size(), text_length_};
  for (const auto& note : line) onsets_.push_back(note.onset);
  // The automaton has fewer than 3 transitions per text symbol, typically about 2: make room up front rather than
  // rehash the table during the walk.
  reserve_transitions(edges_.size() + 2 * line.size() + 2);
  for (size_t j = 0; j + 1 < line.size(); ++j) extend(intern(step_between(line[j], line[j + 1])));
  extend(kFirstSeparator + static_cast<uint32_t>(pieces_.size()));
  pieces_.push_back(std::move(piece));
}

OriginalityReport OriginalityIndex::check(const Score& score) const {
  const int grid = options_.steps_per_quarter;
  OriginalityReport report;
  report.source = score.source;
  const std::vector<LineNote> line = melody_line(score, grid);
  report.notes = line.size();
  const size_t num_symbols = line.size() < 2 ? 0 : line.size() - 1;

  // Matching statistics: match[j] = length (in symbols) of the longest training match ending at symbol j.
  std::vector<int32_t> match(num_symbols, 0);
  int32_t state = 0, length = 0;
  int32_t best_length = 0, best_state = 0;
  size_t best_end = 0;
  for (size_t j = 0; j < num_symbols; ++j) {
    const uint32_t symbol = symbol_of(step_between(line[j], line[j + 1]));
    int32_t next = -1;
    if (symbol != kUnknownSymbol) {
      while ((next = transition(state, symbol)) < 0 && state != 0) {
        state = states_[state].link;
        length = states_[state].length;
      }
    }
    if (next >= 0) {
      state = next;
      ++length;
    } else {
      state = 0;
      length = 0;
    }
    match[j] = length;
    if (length > best_length) {  // strictly longer: the first of equally long spans wins
      best_length = length;
      best_state = state;
      best_end = j;
    }
  }

  for (int n : options_.ngram_sizes) {
    NgramOverlap overlap;
    overlap.n = n;
    // The n-gram of notes j - n + 2 .. j + 1 ends at symbol j and spans n - 1 symbols.
    for (size_t j = static_cast<size_t>(n) - 2; j < num_symbols; ++j) {
      ++overlap.total;
      if (match[j] >= n - 1) ++overlap.found;
    }
    report.ngrams.push_back(overlap);
  }

  if (best_length > 0) {
    CopiedSpan& span = report.longest;
    span.notes = static_cast<size_t>(best_length) + 1;
    span.start_note = best_end + 1 - static_cast<size_t>(best_length);
    const LineNote& first = line[span.start_note];
    const LineNote& last = line[best_end + 1];
    span.start_quarter = static_cast<double>(first.onset) / grid;
    span.quarters = static_cast<double>(last.onset + last.duration - first.onset) / grid;
    const std::vector<Bar> piece_bars = bars(score);
    const int64_t end_step = last.onset + last.duration;
    const int64_t end_tick = (end_step * score.ticks_per_quarter + grid / 2) / grid;
    span.bars = bars_covered(piece_bars, first.start_tick, end_tick);
    span.start_bar = bar_number_at(piece_bars, first.start_tick);
    // The state's first occurrence ends at text position first_end; find the training piece that holds it.
    const auto text_end = static_cast<size_t>(states_[best_state].first_end);
    auto holder =
        std::upper_bound(pieces_.begin(), pieces_.end(), text_end,
                         [](size_t position, const TrainingPiece& piece) { return position < piece.first_symbol; });
    const auto piece_index = static_cast<size_t>(holder - pieces_.begin()) - 1;
    const TrainingPiece& piece = pieces_[piece_index];
    span.training_piece = piece_index;
    span.training_start_note = text_end - piece.first_symbol + 1 - static_cast<size_t>(best_length);
    span.training_start_quarter = static_cast<double>(onsets_[piece.first_note + span.training_start_note]) / grid;
  }
  return report;
}

OriginalitySummary summarize(std::span<const OriginalityReport> reports) {
  OriginalitySummary summary;
  summary.pieces = reports.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (!reports.empty())
    for (const auto& overlap : reports.front().ngrams) summary.shares.push_back({overlap.n, 0, nan, nan, 0, nan});
  if (reports.empty()) return summary;

  double notes = 0.0, longest_notes = 0.0, longest_bars = 0.0;
  std::vector<size_t> found(summary.shares.size(), 0), total(summary.shares.size(), 0);
  std::vector<double> share_sums(summary.shares.size(), 0.0);
  for (size_t i = 0; i < reports.size(); ++i) {
    const OriginalityReport& report = reports[i];
    notes += static_cast<double>(report.notes);
    longest_notes += static_cast<double>(report.longest.notes);
    longest_bars += report.longest.bars;
    if (report.longest.notes > summary.max_longest_notes) {
      summary.max_longest_notes = report.longest.notes;
      summary.max_longest_piece = i;
    }
    summary.max_longest_bars = std::max(summary.max_longest_bars, report.longest.bars);
    for (size_t k = 0; k < summary.shares.size(); ++k) {
      const auto match = std::find_if(report.ngrams.begin(), report.ngrams.end(),
                                      [&](const NgramOverlap& overlap) { return overlap.n == summary.shares[k].n; });
      if (match == report.ngrams.end() || match->total == 0) continue;
      auto& share = summary.shares[k];
      const double value = match->share();
      if (share.pieces == 0 || value > share.max) {
        share.max = value;
        share.max_piece = i;
      }
      ++share.pieces;
      share_sums[k] += value;
      found[k] += match->found;
      total[k] += match->total;
    }
  }
  const auto count = static_cast<double>(reports.size());
  summary.mean_notes = notes / count;
  summary.mean_longest_notes = longest_notes / count;
  summary.mean_longest_bars = longest_bars / count;
  for (size_t k = 0; k < summary.shares.size(); ++k) {
    auto& share = summary.shares[k];
    if (share.pieces == 0) continue;
    share.mean = share_sums[k] / static_cast<double>(share.pieces);
    share.pooled = static_cast<double>(found[k]) / static_cast<double>(total[k]);
  }
  return summary;
}

namespace {

// Runs f; an Error that does not already name the shard gets its path in front.
template <typename Function>
auto naming_shard(const Shard& shard, Function&& function) {
  try {
    return function();
  } catch (const Error& error) {
    const std::string what = error.what();
    if (what.rfind(shard.path(), 0) == 0) throw;
    throw Error(shard.path() + ": " + what);
  }
}

bool in_splits(Split split, std::span<const Split> splits) {
  return std::find(splits.begin(), splits.end(), split) != splits.end();
}

// Decodes the chosen pieces one at a time and hands each to `take`.
template <typename Take>
void for_each_decoded(const Shard& shard, std::span<const Split> splits, const std::string& source_prefix,
                      Take&& take) {
  std::unique_ptr<TokenEncoding> tokens;
  std::unique_ptr<PianoRollEncoding> roll;
  naming_shard(shard, [&] {
    if (shard.is_piano_roll())
      roll = std::make_unique<PianoRollEncoding>(shard.roll_spec());
    else
      tokens = shard.make_encoding();
    return 0;
  });
  const auto& sources = shard.metadata().sources;
  for (size_t i = 0; i < shard.num_pieces(); ++i) {
    const PieceInfo& info = shard.piece(i);
    if (!in_splits(info.split, splits)) continue;
    Score score = roll ? roll->decode(shard.roll(i)) : tokens->decode(shard.token_vector(i));
    score.source =
        source_prefix + (info.source < sources.size() ? sources[info.source].path : "piece " + std::to_string(i));
    take(std::move(score));
  }
}

}  // namespace

int shard_grid(const Shard& shard) {
  return naming_shard(shard, [&] {
    if (shard.is_piano_roll()) return shard.roll_spec().steps_per_quarter;
    const nlohmann::json spec = shard.make_encoding()->spec();
    for (const char* key : {"steps_per_quarter", "positions_per_quarter"})
      if (spec.contains(key) && spec[key].is_number_integer()) return spec[key].get<int>();
    return 0;
  });
}

int comparison_grid(std::span<const Shard* const> shards) {
  int coarsest = 0;
  for (const Shard* shard : shards) {
    const int grid = shard_grid(*shard);
    if (grid > 0 && (coarsest == 0 || grid < coarsest)) coarsest = grid;
  }
  return coarsest > 0 ? std::min(coarsest, kMaxGrid) : kDefaultOriginalityGrid;
}

std::vector<Score> decode_shard_pieces(const Shard& shard, std::span<const Split> splits,
                                       const std::string& source_prefix) {
  std::vector<Score> scores;
  for_each_decoded(shard, splits, source_prefix, [&](Score score) { scores.push_back(std::move(score)); });
  return scores;
}

size_t add_training_pieces(OriginalityIndex& index, const Shard& shard, const std::string& source_prefix) {
  const Split train[] = {Split::kTrain};
  size_t added = 0;
  for_each_decoded(shard, train, source_prefix, [&](const Score& score) {
    index.add(score, score.source);
    ++added;
  });
  return added;
}

}  // namespace cadenza
