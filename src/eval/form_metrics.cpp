#include "eval/form_metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <memory>

#include "common/error.h"
#include "encoding/pianoroll.h"
#include "score/operations.h"

namespace cadenza::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string score_name(const Score& score) {
  return score.source.empty() ? "score" : score.source;
}

// The notes of every non-drum track, sorted by onset (then pitch).
std::vector<Note> pitched_notes(const Score& score) {
  std::vector<Note> notes;
  for (const Track& track : score.tracks)
    if (!track.is_drum) notes.insert(notes.end(), track.notes.begin(), track.notes.end());
  std::sort(notes.begin(), notes.end(), [](const Note& x, const Note& y) {
    return x.start_tick != y.start_tick ? x.start_tick < y.start_tick : x.pitch < y.pitch;
  });
  return notes;
}

// bars(), refusing (with musical_metrics' check and message) a corrupt score with absurdly many bars.
std::vector<Bar> checked_bars(const Score& score) {
  if (bar_count(score) == 0) return {};
  return bars(score);
}

// Index of the bar holding tick (bars are contiguous from tick 0 and sorted); the last bar for ticks beyond.
size_t bar_of(const std::vector<Bar>& bar_list, int64_t tick) {
  auto it = std::upper_bound(bar_list.begin(), bar_list.end(), tick,
                             [](int64_t t, const Bar& bar) { return t < bar.start_tick; });
  return it == bar_list.begin() ? 0 : static_cast<size_t>(it - bar_list.begin()) - 1;
}

// The state of a bar at each sixteenth step: pitch * 2 + 1 when a note starts in the step, pitch * 2 + 2 when one
// sounds at the step's tick without starting in it, 0 for a rest.
// Notes are sorted by onset; only those from `first` on can sound in the bar.
std::vector<int> bar_states(const std::vector<Note>& notes, size_t first, const Bar& bar, int tpq) {
  std::vector<int64_t> ticks;
  for (int64_t k = 0;; ++k) {
    const int64_t tick = bar.start_tick + (k * tpq * 2 + 4) / 8;  // round(k * tpq / 4), halves up
    if (tick >= bar.end_tick) break;
    ticks.push_back(tick);
  }
  ticks.push_back(bar.end_tick);
  std::vector<int> states(ticks.size() - 1, 0);
  for (size_t k = 0; k + 1 < ticks.size(); ++k) {
    for (size_t i = first; i < notes.size(); ++i) {
      const Note& note = notes[i];
      if (note.start_tick >= ticks[k + 1]) break;
      if (note.start_tick >= ticks[k]) {
        states[k] = note.pitch * 2 + 1;  // an onset in the step wins
        break;
      }
      if (note.end_tick > ticks[k]) states[k] = std::max(states[k], note.pitch * 2 + 2);
    }
  }
  return states;
}

}  // namespace

const std::vector<std::string>& form_metric_names() {
  static const std::vector<std::string> kNames = {
      "recurring_2bar_patterns", "self_similarity_4bar", "self_similarity_8bar", "looped_bars",         "notes_in_key",
      "offgrid_onsets",          "odd_sixteenth_onsets", "ends_on_tonic",        "pitch_class_entropy", "pitch_range"};
  return kNames;
}

Score first_bars(const Score& score, int64_t count) {
  if (count <= 0) return score;
  const std::vector<Bar> bar_list = checked_bars(score);
  if (static_cast<int64_t>(bar_list.size()) <= count) return score;
  Score clipped = clip(score, 0, bar_list[static_cast<size_t>(count - 1)].end_tick);
  clipped.source = score.source;
  return clipped;
}

Score melody_line(const Score& score, const FormOptions& options) {
  int track = options.track;
  if (track >= 0) {
    if (static_cast<size_t>(track) >= score.tracks.size())
      throw Error(score_name(score) + ": no track " + std::to_string(track) + " (the score has " +
                  std::to_string(score.tracks.size()) + ")");
    if (score.tracks[static_cast<size_t>(track)].is_drum)
      throw Error(score_name(score) + ": track " + std::to_string(track) + " is a drum track, not a melody");
  } else {
    for (size_t t = 0; t < score.tracks.size() && track < 0; ++t)
      if (!score.tracks[t].is_drum && !score.tracks[t].notes.empty()) track = static_cast<int>(t);
  }
  Score melody;
  if (track < 0) {
    melody = select_tracks(score, {});
  } else {
    melody = extract_melody(select_tracks(score, {track}));
  }
  melody.source = score.source;
  if (options.bars > 0) melody = first_bars(melody, options.bars);
  return melody;
}

double recurring_pattern_rate(const Score& melody, int pattern_bars) {
  if (pattern_bars < 1) throw Error("recurring patterns: a pattern of " + std::to_string(pattern_bars) + " bars");
  const std::vector<Bar> bar_list = checked_bars(melody);
  const std::vector<Note> notes = pitched_notes(melody);
  using Content = std::pair<int64_t, std::vector<std::pair<int64_t, int>>>;  // length, (offset, pitch)
  std::vector<Content> windows;
  for (size_t b = 0; b + static_cast<size_t>(pattern_bars) <= bar_list.size(); ++b) {
    const int64_t start = bar_list[b].start_tick, end = bar_list[b + static_cast<size_t>(pattern_bars) - 1].end_tick;
    Content content{end - start, {}};
    for (const Note& note : notes)
      if (note.start_tick >= start && note.start_tick < end)
        content.second.emplace_back(note.start_tick - start, note.pitch);
    if (!content.second.empty()) windows.push_back(std::move(content));
  }
  if (windows.empty()) return kNaN;
  std::map<Content, int> occurrences;
  for (const Content& content : windows) ++occurrences[content];
  int recurring = 0;
  for (const Content& content : windows) recurring += occurrences[content] > 1;
  return static_cast<double>(recurring) / static_cast<double>(windows.size());
}

namespace {

// bar_states() of every bar of the melody, in bar order.
std::vector<std::vector<int>> every_bar_states(const Score& melody, const std::vector<Bar>& bar_list) {
  const std::vector<Note> notes = pitched_notes(melody);
  int64_t longest = 0;
  for (const Note& note : notes) longest = std::max(longest, note.duration_ticks());
  std::vector<std::vector<int>> states;
  for (const Bar& bar : bar_list) {
    // The first note that can still sound at the bar's start: none starting more than `longest` ticks earlier.
    const auto first = std::lower_bound(notes.begin(), notes.end(), bar.start_tick - longest,
                                        [](const Note& note, int64_t tick) { return note.start_tick < tick; });
    states.push_back(bar_states(notes, static_cast<size_t>(first - notes.begin()), bar, melody.ticks_per_quarter));
  }
  return states;
}

bool same_length(const Bar& x, const Bar& y) {
  return x.end_tick - x.start_tick == y.end_tick - y.start_tick;
}

// Steps whose states agree / steps where at least one of the two bars sounds; NaN when neither sounds.
double bar_similarity(const std::vector<int>& x, const std::vector<int>& y) {
  int sounding = 0, agree = 0;
  for (size_t k = 0; k < x.size(); ++k) {
    if (x[k] == 0 && y[k] == 0) continue;
    ++sounding;
    agree += x[k] == y[k];
  }
  return sounding > 0 ? static_cast<double>(agree) / sounding : kNaN;
}

}  // namespace

double self_similarity(const Score& melody, int lag_bars) {
  if (lag_bars < 1) throw Error("self-similarity: a lag of " + std::to_string(lag_bars) + " bars");
  if (melody.ticks_per_quarter <= 0) throw Error(score_name(melody) + ": ticks_per_quarter is not positive");
  const std::vector<Bar> bar_list = checked_bars(melody);
  const std::vector<std::vector<int>> states = every_bar_states(melody, bar_list);
  double sum = 0;
  int pairs = 0;
  for (size_t b = 0; b + static_cast<size_t>(lag_bars) < bar_list.size(); ++b) {
    const auto& x = states[b];
    const auto& y = states[b + static_cast<size_t>(lag_bars)];
    if (!same_length(bar_list[b], bar_list[b + static_cast<size_t>(lag_bars)])) continue;
    const double similarity = bar_similarity(x, y);
    if (std::isnan(similarity)) continue;
    sum += similarity;
    ++pairs;
  }
  return pairs > 0 ? sum / pairs : kNaN;
}

double looped_bar_share(const Score& melody, const std::vector<int>& figure_bars, int plays, double min_similarity) {
  if (figure_bars.empty()) throw Error("looped bars: no figure length");
  for (int bars : figure_bars)
    if (bars < 1) throw Error("looped bars: a figure of " + std::to_string(bars) + " bars");
  if (plays < 2) throw Error("looped bars: " + std::to_string(plays) + " plays (a loop is played at least twice)");
  if (!(min_similarity > 0 && min_similarity <= 1))
    throw Error("looped bars: a similarity of " + std::to_string(min_similarity) + " (it must be in (0, 1])");
  if (melody.ticks_per_quarter <= 0) throw Error(score_name(melody) + ": ticks_per_quarter is not positive");
  const std::vector<Bar> bar_list = checked_bars(melody);
  if (melody.note_count() == 0 || bar_list.empty()) return kNaN;
  const std::vector<std::vector<int>> states = every_bar_states(melody, bar_list);
  std::vector<bool> looped(bar_list.size(), false);
  for (int bars : figure_bars) {
    const size_t lag = static_cast<size_t>(bars);
    // repeats[b]: bar b sounds and is bar b - lag again, on at least min_similarity of its steps. Two silent bars
    // (similarity NaN) or one silent bar (0) never compare >= min_similarity > 0.
    std::vector<bool> repeats(bar_list.size(), false);
    for (size_t b = lag; b < bar_list.size(); ++b)
      repeats[b] =
          same_length(bar_list[b], bar_list[b - lag]) && bar_similarity(states[b], states[b - lag]) >= min_similarity;
    // A run of r repeating bars replays the `lag` bars before it r / lag more times: it is a loop when that makes
    // `plays` plays, and then the run and the figure it replays are looped bars.
    const size_t shortest_run = static_cast<size_t>(plays - 1) * lag;
    for (size_t b = 0; b < bar_list.size();) {
      if (!repeats[b]) {
        ++b;
        continue;
      }
      size_t end = b;
      while (end < bar_list.size() && repeats[end]) ++end;
      if (end - b >= shortest_run)
        std::fill(looped.begin() + static_cast<std::ptrdiff_t>(b - lag),
                  looped.begin() + static_cast<std::ptrdiff_t>(end), true);
      b = end;
    }
  }
  return static_cast<double>(std::count(looped.begin(), looped.end(), true)) / static_cast<double>(bar_list.size());
}

namespace {

template <typename OnGrid>
double onset_share(const Score& melody, OnGrid&& counts) {
  if (melody.ticks_per_quarter <= 0) throw Error(score_name(melody) + ": ticks_per_quarter is not positive");
  const std::vector<Bar> bar_list = checked_bars(melody);
  const std::vector<Note> notes = pitched_notes(melody);
  if (notes.empty()) return kNaN;
  int64_t hits = 0;
  for (const Note& note : notes) {
    const Bar& bar = bar_list[bar_of(bar_list, note.start_tick)];
    hits += counts(note.start_tick - bar.start_tick, static_cast<int64_t>(melody.ticks_per_quarter)) ? 1 : 0;
  }
  return static_cast<double>(hits) / static_cast<double>(notes.size());
}

}  // namespace

double offgrid_onset_rate(const Score& melody) {
  return onset_share(melody, [](int64_t position, int64_t tpq) { return (position * 2) % tpq != 0; });
}

double odd_sixteenth_onset_rate(const Score& melody) {
  return onset_share(melody, [](int64_t position, int64_t tpq) {
    return (position * 4) % tpq == 0 && ((position * 4) / tpq) % 2 == 1;
  });
}

double ends_on_tonic(const Score& melody, const Key& key) {
  if (key.root < 0 || key.root > 11)
    throw Error("ends_on_tonic: root " + std::to_string(key.root) + " is not in 0..11");
  const std::vector<Note> notes = pitched_notes(melody);
  if (notes.empty()) return kNaN;
  // Sorted by onset then pitch: the last is the latest onset, the highest at that onset.
  return notes.back().pitch % 12 == key.root ? 1.0 : 0.0;
}

MetricSet compute_form_metrics(const Score& score, const FormOptions& options) {
  const Score melody = melody_line(score, options);
  const bool has_notes = melody.note_count() > 0;
  const std::optional<Key> key = tune_key(melody);
  MetricSet set;
  set.set("recurring_2bar_patterns", recurring_pattern_rate(melody, 2));
  set.set("self_similarity_4bar", self_similarity(melody, 4));
  set.set("self_similarity_8bar", self_similarity(melody, 8));
  set.set("looped_bars", looped_bar_share(melody));
  set.set("notes_in_key", key ? pitch_in_scale_rate(melody, key->root, key->mode) : kNaN);
  set.set("offgrid_onsets", offgrid_onset_rate(melody));
  set.set("odd_sixteenth_onsets", odd_sixteenth_onset_rate(melody));
  set.set("ends_on_tonic", key ? ends_on_tonic(melody, *key) : kNaN);
  set.set("pitch_class_entropy", pitch_class_entropy(melody));
  set.set("pitch_range", has_notes ? static_cast<double>(pitch_range(melody)) : kNaN);
  return set;
}

std::vector<Score> decode_split(const Shard& shard, Split split, int64_t count) {
  std::vector<size_t> indices = shard.pieces_in_split(split);
  if (indices.empty()) throw Error(shard.path() + ": the " + std::string(split_name(split)) + " split has no piece");
  if (count > 0 && indices.size() > static_cast<size_t>(count)) indices.resize(static_cast<size_t>(count));
  std::unique_ptr<TokenEncoding> encoding;
  std::unique_ptr<PianoRollEncoding> roll_encoding;
  if (shard.is_piano_roll()) {
    roll_encoding = std::make_unique<PianoRollEncoding>(shard.roll_spec());
  } else {
    encoding = shard.make_encoding();
  }
  std::vector<Score> scores;
  for (size_t index : indices) {
    const PieceInfo& info = shard.piece(index);
    const auto& sources = shard.metadata().sources;
    const std::string source = info.source < sources.size() ? sources[info.source].path : "?";
    Score score =
        roll_encoding ? roll_encoding->decode(shard.roll(index)) : encoding->decode(shard.token_vector(index));
    score.source = shard.path() + "#" + std::to_string(index) + " (" + source + ")";
    scores.push_back(std::move(score));
  }
  return scores;
}

}  // namespace cadenza::eval
