#include "score/chords.h"

#include <algorithm>
#include <array>
#include <sstream>

#include "common/error.h"
#include "score/operations.h"

namespace cadenza {
namespace {

struct Quality {
  const char* name;
  std::vector<int> intervals;  // semitones above the root, root included
};

const std::vector<Quality>& qualities() {
  static const std::vector<Quality> list = {
      {"", {0, 4, 7}},         {"maj", {0, 4, 7}},    {"M", {0, 4, 7}},      {"m", {0, 3, 7}},
      {"min", {0, 3, 7}},      {"7", {0, 4, 7, 10}},  {"m7", {0, 3, 7, 10}}, {"min7", {0, 3, 7, 10}},
      {"maj7", {0, 4, 7, 11}}, {"M7", {0, 4, 7, 11}}, {"dim", {0, 3, 6}},    {"dim7", {0, 3, 6, 9}},
      {"m7b5", {0, 3, 6, 10}}, {"aug", {0, 4, 8}},    {"+", {0, 4, 8}},      {"sus2", {0, 2, 7}},
      {"sus4", {0, 5, 7}},     {"sus", {0, 5, 7}},    {"6", {0, 4, 7, 9}},   {"m6", {0, 3, 7, 9}},
      {"9", {0, 4, 7, 10, 2}},
  };
  return list;
}

// A root spelling at text[pos..]: letter and optional accidental. Returns the pitch class and advances pos; -1 when
// there is no letter A..G there.
int parse_root(const std::string& text, size_t& pos) {
  static const int kLetter[7] = {9, 11, 0, 2, 4, 5, 7};  // A B C D E F G
  if (pos >= text.size() || text[pos] < 'A' || text[pos] > 'G') return -1;
  int pitch_class = kLetter[text[pos] - 'A'];
  ++pos;
  if (pos < text.size() && (text[pos] == '#' || text[pos] == 'b')) {
    pitch_class += text[pos] == '#' ? 1 : -1;
    ++pos;
  }
  return (pitch_class + 12) % 12;
}

std::string known_qualities() {
  std::string out;
  for (const auto& quality : qualities()) {
    if (quality.name[0] == '\0') continue;
    if (!out.empty()) out += ", ";
    out += quality.name;
  }
  return out;
}

}  // namespace

ChordSymbol parse_chord_symbol(const std::string& text, const std::string& where) {
  const std::string prefix = "chord symbol '" + text + "'" + (where.empty() ? "" : " (" + where + ")") + ": ";
  ChordSymbol chord;
  chord.text = text;
  size_t pos = 0;
  chord.root = parse_root(text, pos);
  if (chord.root < 0) throw Error(prefix + "must start with a root A..G (optionally with # or b)");
  const size_t slash = text.find('/', pos);
  const std::string quality_text = text.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
  const auto found = std::find_if(qualities().begin(), qualities().end(),
                                  [&](const Quality& quality) { return quality_text == quality.name; });
  if (found == qualities().end())
    throw Error(prefix + "unknown quality '" + quality_text + "' (known: major when empty, " + known_qualities() + ")");
  for (int interval : found->intervals) chord.mask |= static_cast<uint16_t>(1u << ((chord.root + interval) % 12));
  if (slash != std::string::npos) {
    size_t bass_pos = slash + 1;
    chord.bass = parse_root(text, bass_pos);
    if (chord.bass < 0 || bass_pos != text.size())
      throw Error(prefix + "the bass after '/' must be a root A..G (optionally with # or b), found '" +
                  text.substr(slash + 1) + "'");
    chord.mask |= static_cast<uint16_t>(1u << chord.bass);
  }
  return chord;
}

std::vector<std::vector<ChordSymbol>> parse_chord_progression(const std::string& text) {
  std::vector<std::vector<ChordSymbol>> bars;
  std::vector<std::string> bar_texts;
  size_t start = 0;
  while (true) {
    const size_t bar_end = text.find('|', start);
    bar_texts.push_back(text.substr(start, bar_end == std::string::npos ? std::string::npos : bar_end - start));
    if (bar_end == std::string::npos) break;
    start = bar_end + 1;
  }
  // A leading or trailing '|' (as in "| C | G |") frames the bars; it does not make an empty bar.
  auto blank = [](const std::string& s) { return s.find_first_not_of(" \t\n") == std::string::npos; };
  if (bar_texts.size() > 1 && blank(bar_texts.front())) bar_texts.erase(bar_texts.begin());
  if (bar_texts.size() > 1 && blank(bar_texts.back())) bar_texts.pop_back();
  for (size_t b = 0; b < bar_texts.size(); ++b) {
    std::istringstream words(bar_texts[b]);
    std::vector<ChordSymbol> bar;
    std::string word;
    while (words >> word)
      bar.push_back(
          parse_chord_symbol(word, "bar " + std::to_string(b + 1) + ", chord " + std::to_string(bar.size() + 1)));
    if (bar.empty())
      throw Error("chord progression '" + text + "': bar " + std::to_string(b + 1) +
                  " is empty (give one or more chord symbols per bar, bars separated by '|')");
    bars.push_back(std::move(bar));
  }
  return bars;
}

uint16_t transpose_chord_mask(uint16_t mask, int semitones) {
  const int shift = ((semitones % 12) + 12) % 12;
  const unsigned wide = static_cast<unsigned>(mask & 0xFFF) << shift;
  return static_cast<uint16_t>((wide | (wide >> 12)) & 0xFFF);
}

std::string chord_mask_text(uint16_t mask) {
  static const char* kNames[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
  std::string out;
  for (int p = 0; p < 12; ++p)
    if (mask & (1u << p)) out += (out.empty() ? "" : " ") + std::string(kNames[p]);
  return out.empty() ? "none" : out;
}

std::vector<uint16_t> chord_masks_at_steps(const Score& score, int track_index, int steps_per_quarter, int64_t steps) {
  if (track_index < 0 || static_cast<size_t>(track_index) >= score.tracks.size())
    throw Error("no chord track " + std::to_string(track_index) + " (the file has " +
                std::to_string(score.tracks.size()) + " tracks)");
  std::vector<uint16_t> masks(static_cast<size_t>(std::max<int64_t>(0, steps)), 0);
  const Track& track = score.tracks[static_cast<size_t>(track_index)];
  if (track.is_drum) return masks;
  for (const Note& note : track.notes) {
    const int64_t first = nearest_grid_step(note.start_tick, steps_per_quarter, score.ticks_per_quarter);
    const int64_t end = nearest_grid_step(note.end_tick, steps_per_quarter, score.ticks_per_quarter);
    for (int64_t s = std::max<int64_t>(0, first); s < std::min(end, steps); ++s)
      masks[static_cast<size_t>(s)] |= static_cast<uint16_t>(1u << (note.pitch % 12));
  }
  return masks;
}

namespace {

// The key whose tonic triad the mask is (a plain major or minor triad, nothing added), if it is one.
std::optional<Key> triad_key(uint16_t mask) {
  for (int root = 0; root < 12; ++root) {
    const auto triad = [root](int third) {
      return static_cast<uint16_t>((1u << root) | (1u << ((root + third) % 12)) | (1u << ((root + 7) % 12)));
    };
    if (mask == triad(4)) return Key{root, ScaleMode::kMajor};
    if (mask == triad(3)) return Key{root, ScaleMode::kMinor};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Key> chord_progression_key(const std::vector<uint16_t>& step_masks) {
  std::array<double, 12> histogram{};
  for (uint16_t mask : step_masks)
    for (int pc = 0; pc < 12; ++pc)
      if (mask & (1u << pc)) histogram[static_cast<size_t>(pc)] += 1.0;
  const std::optional<Key> by_pitch_classes = estimate_key(histogram);
  if (!by_pitch_classes) return std::nullopt;
  const auto last = std::find_if(step_masks.rbegin(), step_masks.rend(), [](uint16_t mask) { return mask != 0; });
  const std::optional<Key> of_last_chord = triad_key(*last);
  if (of_last_chord &&
      key_correlation(histogram, *of_last_chord) + kFinalChordKeyBonus > key_correlation(histogram, *by_pitch_classes))
    return of_last_chord;
  return by_pitch_classes;
}

std::vector<uint16_t> progression_step_masks(const std::vector<std::vector<ChordSymbol>>& bars, int64_t bar_steps) {
  std::vector<uint16_t> masks;
  for (const auto& bar : bars) {
    const int64_t count = static_cast<int64_t>(bar.size());
    for (int64_t s = 0; s < bar_steps; ++s) masks.push_back(bar[static_cast<size_t>(s * count / bar_steps)].mask);
  }
  return masks;
}

void add_chord_track(Score& score, const std::vector<uint16_t>& step_masks, int64_t ticks_per_step, int velocity) {
  Track track;
  track.name = "chords";
  track.channel = 1;
  size_t s = 0;
  while (s < step_masks.size()) {
    size_t end = s + 1;
    while (end < step_masks.size() && step_masks[end] == step_masks[s]) ++end;
    for (int p = 0; p < 12; ++p) {
      if (!(step_masks[s] & (1u << p))) continue;
      Note note;
      note.pitch = 48 + p;
      note.velocity = velocity;
      note.start_tick = static_cast<int64_t>(s) * ticks_per_step;
      note.end_tick = static_cast<int64_t>(end) * ticks_per_step;
      track.notes.push_back(note);
    }
    s = end;
  }
  score.tracks.push_back(std::move(track));
  score.normalize();
  score.update_seconds();
}

ChordToneCount count_chord_tones(const Score& score, int melody_track, int chord_track, int steps_per_quarter) {
  if (melody_track < 0 || static_cast<size_t>(melody_track) >= score.tracks.size())
    throw Error("no melody track " + std::to_string(melody_track) + " (the file has " +
                std::to_string(score.tracks.size()) + " tracks)");
  const Track& melody = score.tracks[static_cast<size_t>(melody_track)];
  int64_t last_onset = 0;
  for (const Note& note : melody.notes)
    last_onset = std::max(last_onset, nearest_grid_step(note.start_tick, steps_per_quarter, score.ticks_per_quarter));
  const std::vector<uint16_t> chords = chord_masks_at_steps(score, chord_track, steps_per_quarter, last_onset + 1);
  const TimeSignature meter = score.time_signatures.empty() ? TimeSignature{} : score.time_signatures.front();
  int64_t beat_steps = int64_t{4} * steps_per_quarter / meter.denominator;  // one 1/denominator note
  if (meter.denominator == 8) beat_steps *= meter.numerator % 3 == 0 && meter.numerator > 3 ? 3 : 1;
  if (meter.denominator == 2) beat_steps /= 2;  // a quarter for n/2 as well
  beat_steps = std::max<int64_t>(1, beat_steps);
  ChordToneCount count;
  for (const Note& note : melody.notes) {
    const int64_t step = nearest_grid_step(note.start_tick, steps_per_quarter, score.ticks_per_quarter);
    if (step < 0) continue;
    const uint16_t chord = chords[static_cast<size_t>(step)];
    if (chord == 0) continue;
    const bool tone = (chord >> (note.pitch % 12)) & 1;
    ++count.notes, count.chord_tones += tone;
    if (step % beat_steps == 0) ++count.beat_notes, count.beat_chord_tones += tone;
  }
  return count;
}

}  // namespace cadenza
