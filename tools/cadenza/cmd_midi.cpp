// `cadenza midi info FILE [--json]`: what a Standard MIDI File holds, as Cadenza reads it. The report is made of
// JSON pieces (MidiReport) printed either as JSON (--json) or as text, so both always say the same things.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "common/error.h"
#include "common/file_io.h"
#include "midi/midi.h"
#include "midi/midi_names.h"
#include "score/chords.h"
#include "score/timeline.h"

namespace cadenza::cli {

namespace {

struct MidiInfoOptions {
  std::string file;
  bool json = false;
  bool sustain_pedal = false;
};

constexpr size_t kListedInText = 8;  // tempo / meter / key changes printed before "... and N more"

std::string pitch_name(int pitch) {
  static const char* const kNames[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
  return std::string(kNames[pitch % 12]) + std::to_string(pitch / 12 - 1);
}

// Track names come from the file: keep control characters out of the terminal.
std::string printable(const std::string& text) {
  std::string out = text;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return out;
}

// The report on one file. Its lists (tracks, tempos, meters, keys) can hold hundreds of thousands of entries, so
// they are never held as one JSON document (that took 2.3 GB for a file of 65,535 tracks): each entry is made
// when it is printed, from the Score and two small precomputed vectors (seconds of the tempos and bars of the
// meters, each from one sweep of its map: per-entry walks were quadratic in the map's length).
class MidiReport {
 public:
  enum List { kTracks, kTempos, kMeters, kKeys };
  static constexpr const char* kListKeys[] = {"tracks", "tempos", "time_signatures", "key_signatures"};

  MidiReport(const std::string& path, const MidiFileInfo& header, const Score& score)
      : path_(path), header_(header), score_(score) {
    std::vector<int64_t> ticks;
    for (const auto& tempo : score.tempos) ticks.push_back(tempo.tick);
    tempo_seconds_ = seconds_at(score, ticks);
    ticks.clear();
    for (const auto& meter : score.time_signatures) ticks.push_back(meter.tick);
    meter_bars_ = bar_positions(score, ticks);
  }

  // Everything but the lists, which are null placeholders here.
  nlohmann::json summary() const {
    nlohmann::json info;
    info["file"] = path_;
    info["format"] = header_.format;
    info["mtrk_chunks"] = header_.declared_tracks;
    info["ticks_per_quarter"] = score_.ticks_per_quarter;
    if (header_.smpte) {
      info["smpte"] = {
          {"frames_per_second", header_.smpte_frames_per_second == 29 ? 29.97 : header_.smpte_frames_per_second},
          {"ticks_per_frame", header_.smpte_ticks_per_frame}};
    }
    for (const char* key : kListKeys) info[key] = nullptr;
    info["total_notes"] = score_.note_count();
    const int64_t end_tick = score_.end_tick();
    const BarPosition end = bar_positions(score_, std::span<const int64_t>(&end_tick, 1)).front();
    info["duration"] = {
        {"ticks", end_tick}, {"seconds", score_.end_seconds()}, {"bars", end.bars}, {"beats", end.beats}};
    return info;
  }

  size_t size(List list) const {
    switch (list) {
      case kTracks:
        return score_.tracks.size();
      case kTempos:
        return score_.tempos.size();
      case kMeters:
        return score_.time_signatures.size();
      case kKeys:
        return score_.key_signatures.size();
    }
    return 0;
  }

  nlohmann::json entry(List list, size_t i) const {
    switch (list) {
      case kTracks: {
        const Track& track = score_.tracks[i];
        int low = 127, high = 0;
        for (const auto& note : track.notes) {
          low = std::min(low, note.pitch);
          high = std::max(high, note.pitch);
        }
        return {{"name", track.name},       {"channel", track.channel + 1},
                {"program", track.program}, {"instrument", track.is_drum ? "Drum kit" : gm_program_name(track.program)},
                {"drum", track.is_drum},    {"notes", track.notes.size()},
                {"lowest_pitch", low},      {"highest_pitch", high}};
      }
      case kTempos: {
        const auto& tempo = score_.tempos[i];
        return {{"tick", tempo.tick},
                {"seconds", tempo_seconds_[i]},
                {"qpm", tempo.qpm()},
                {"microseconds_per_quarter", tempo.microseconds_per_quarter}};
      }
      case kMeters: {
        const auto& meter = score_.time_signatures[i];
        return {{"tick", meter.tick},
                {"bar", meter_bars_[i].bars + 1},
                {"numerator", meter.numerator},
                {"denominator", meter.denominator},
                {"text", std::to_string(meter.numerator) + "/" + std::to_string(meter.denominator)}};
      }
      case kKeys: {
        const auto& key = score_.key_signatures[i];
        return {{"tick", key.tick}, {"sharps", key.sharps}, {"minor", key.minor}, {"text", key_signature_name(key)}};
      }
    }
    return nullptr;
  }

 private:
  const std::string& path_;
  const MidiFileInfo& header_;
  const Score& score_;
  std::vector<double> tempo_seconds_;
  std::vector<BarPosition> meter_bars_;
};

// Names in MIDI files are often Latin-1: invalid UTF-8 is replaced rather than failing.
std::string dump_json(const nlohmann::json& json) {
  return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Prints the report as `summary().dump(2)` would print it with the lists filled in, one list entry at a time.
void print_json(const MidiReport& report) {
  std::string text = dump_json(report.summary());
  // A top-level key sits on its own line, indented by two spaces; strings are escaped, so no value can hold one.
  auto placeholder = [](int list) { return std::string("\n  \"") + MidiReport::kListKeys[list] + "\": null"; };
  while (true) {
    int list = -1;  // the list whose placeholder comes first (dump() orders keys alphabetically)
    size_t at = std::string::npos;
    for (int candidate = MidiReport::kTracks; candidate <= MidiReport::kKeys; ++candidate) {
      const size_t found = text.find(placeholder(candidate));
      if (found < at) at = found, list = candidate;
    }
    if (list < 0) break;
    const size_t value_at = at + placeholder(list).size() - 4;  // where "null" starts
    std::fwrite(text.data(), 1, value_at, stdout);
    const auto kind = static_cast<MidiReport::List>(list);
    const size_t count = report.size(kind);
    if (count == 0) {
      std::fputs("[]", stdout);
    } else {
      std::fputs("[\n", stdout);
      for (size_t i = 0; i < count; ++i) {
        std::string entry = "    " + dump_json(report.entry(kind, i));
        for (size_t newline = entry.find('\n'); newline != std::string::npos; newline = entry.find('\n', newline + 1))
          entry.insert(newline + 1, "    ");
        entry += i + 1 < count ? ",\n" : "\n";
        std::fwrite(entry.data(), 1, entry.size(), stdout);
      }
      std::fputs("  ]", stdout);
    }
    text.erase(0, value_at + 4);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputs("\n", stdout);
}

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

void print_text(const MidiReport& report) {
  const nlohmann::json info = report.summary();
  std::printf("file        %s\n", printable(info["file"].get<std::string>()).c_str());
  std::string resolution = std::to_string(info["ticks_per_quarter"].get<int>()) + " ticks per quarter";
  if (info.contains("smpte"))
    resolution = "SMPTE " + format_number(info["smpte"]["frames_per_second"].get<double>()) + " fps x " +
                 std::to_string(info["smpte"]["ticks_per_frame"].get<int>()) + " ticks per frame (read as " +
                 resolution + " at a fixed tempo)";
  std::printf("format      %d (%d MTrk chunks)\n", info["format"].get<int>(), info["mtrk_chunks"].get<int>());
  std::printf("resolution  %s\n", resolution.c_str());

  const size_t tracks = report.size(MidiReport::kTracks);
  std::printf("tracks      %zu\n", tracks);
  for (size_t i = 0; i < tracks; ++i) {
    const nlohmann::json track = report.entry(MidiReport::kTracks, i);
    const std::string name = "\"" + printable(track["name"].get<std::string>()) + "\"";
    std::string instrument = track["drum"].get<bool>() ? "drums"
                                                       : "program " + std::to_string(track["program"].get<int>()) +
                                                             " (" + track["instrument"].get<std::string>() + ")";
    std::printf("  %2zu %-20s channel %2d  %-40s %6zu notes  %s..%s\n", i + 1, name.c_str(),
                track["channel"].get<int>(), instrument.c_str(), track["notes"].get<size_t>(),
                pitch_name(track["lowest_pitch"].get<int>()).c_str(),
                pitch_name(track["highest_pitch"].get<int>()).c_str());
  }

  auto print_list = [&](const char* label, MidiReport::List list, auto&& text_of) {
    const size_t count = report.size(list);
    std::string line;
    for (size_t i = 0; i < count && i < kListedInText; ++i) line += (i ? ", " : "") + text_of(report.entry(list, i));
    if (count > kListedInText) line += ", ... and " + std::to_string(count - kListedInText) + " more";
    std::printf("%-11s %s\n", label, line.empty() ? "none" : line.c_str());
  };
  print_list("tempo", MidiReport::kTempos, [](const nlohmann::json& tempo) {
    return format_number(tempo["qpm"].get<double>()) + " qpm at " + format_number(tempo["seconds"].get<double>()) +
           " s";
  });
  print_list("meter", MidiReport::kMeters, [](const nlohmann::json& meter) {
    return meter["text"].get<std::string>() + " at bar " + std::to_string(meter["bar"].get<int64_t>());
  });
  print_list("key", MidiReport::kKeys, [](const nlohmann::json& key) {
    return key["text"].get<std::string>() + " at tick " + std::to_string(key["tick"].get<int64_t>());
  });
  std::printf("notes       %zu\n", info["total_notes"].get<size_t>());
  const auto& duration = info["duration"];
  std::printf("duration    %.3f s = %lld bars + %s beats (%lld ticks)\n", duration["seconds"].get<double>(),
              static_cast<long long>(duration["bars"].get<int64_t>()),
              format_number(duration["beats"].get<double>()).c_str(),
              static_cast<long long>(duration["ticks"].get<int64_t>()));
}

void run_midi_info(const MidiInfoOptions& options) {
  const std::vector<uint8_t> bytes = read_file_bytes(options.file, kMaxMidiFileBytes);
  const MidiFileInfo header = read_midi_header(bytes, options.file);
  MidiReadOptions read_options;
  read_options.apply_sustain_pedal = options.sustain_pedal;
  const Score score = read_midi(bytes, options.file, read_options);
  const MidiReport report(options.file, header, score);
  if (options.json)
    print_json(report);
  else
    print_text(report);
}

struct ChordTonesOptions {
  std::vector<std::string> inputs;
  std::vector<std::string> chords_from;
  int melody_track = 0;
  int chords_track = 1;
  int steps_per_quarter = 4;
};

std::vector<std::string> midi_files(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    if (std::filesystem::is_directory(input)) {
      std::vector<std::string> found;
      for (const auto& entry : std::filesystem::directory_iterator(input)) {
        const std::string extension = entry.path().extension().string();
        if (entry.is_regular_file() && (extension == ".mid" || extension == ".midi")) found.push_back(entry.path());
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) throw Error(input + ": no .mid files in this folder");
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(input);
    }
  }
  return files;
}

// The chord-tone share of the melody notes of MIDI files (score/chords.h count_chord_tones), summed over the files.
// With chords_from, file i's chords come from the chords track of the i-th of those files instead (its ticks
// rescaled to file i's resolution): the melody of a generated piece against the chords of a real one.
void run_chord_tones(const ChordTonesOptions& options) {
  const std::vector<std::string> files = midi_files(options.inputs);
  const std::vector<std::string> chord_files =
      options.chords_from.empty() ? std::vector<std::string>() : midi_files(options.chords_from);
  if (!chord_files.empty() && chord_files.size() != files.size())
    throw Error("midi chord-tones: --chords-from gives " + std::to_string(chord_files.size()) + " files for " +
                std::to_string(files.size()) + " melody files; they pair up in order, so the counts must match");
  ChordToneCount total;
  for (size_t i = 0; i < files.size(); ++i) {
    Score score = read_midi_file(files[i]);
    int chords_track = options.chords_track;
    ChordToneCount count;
    try {
      if (!chord_files.empty()) {
        const Score chords = read_midi_file(chord_files[i]);
        if (options.chords_track >= static_cast<int>(chords.tracks.size()))
          throw Error(chord_files[i] + ": no chord track " + std::to_string(options.chords_track));
        Track track = chords.tracks[static_cast<size_t>(options.chords_track)];
        for (Note& note : track.notes) {
          note.start_tick = note.start_tick * score.ticks_per_quarter / chords.ticks_per_quarter;
          note.end_tick = note.end_tick * score.ticks_per_quarter / chords.ticks_per_quarter;
        }
        score.tracks.push_back(std::move(track));
        chords_track = static_cast<int>(score.tracks.size()) - 1;
      }
      count = count_chord_tones(score, options.melody_track, chords_track, options.steps_per_quarter);
    } catch (const Error& e) {
      throw Error(files[i] + ": " + e.what());
    }
    total.notes += count.notes, total.chord_tones += count.chord_tones;
    total.beat_notes += count.beat_notes, total.beat_chord_tones += count.beat_chord_tones;
  }
  auto share = [](int64_t part, int64_t whole) { return whole > 0 ? static_cast<double>(part) / whole : 0.0; };
  std::printf("files %zu, melody notes over a chord %lld (on beats %lld)\n", files.size(),
              static_cast<long long>(total.notes), static_cast<long long>(total.beat_notes));
  std::printf("chord tones: overall %.4f, on beats %.4f\n", share(total.chord_tones, total.notes),
              share(total.beat_chord_tones, total.beat_notes));
}

void setup_midi(CLI::App& app) {
  CLI::App* midi = app.add_subcommand("midi", "Inspect Standard MIDI Files");
  midi->require_subcommand(1);

  auto info_options = std::make_shared<MidiInfoOptions>();
  CLI::App* info = midi->add_subcommand(
      "info",
      "Describe a MIDI file: format, resolution, tracks (name, channel 1-16, program and GM instrument, drums, "
      "notes, pitch range), tempos, time and key signatures, total notes and duration");
  info->add_option("file", info_options->file, "MIDI file (.mid)")->required();
  info->add_flag("--json", info_options->json, "Print JSON instead of text")->capture_default_str();
  info->add_flag("--sustain-pedal", info_options->sustain_pedal,
                 "Extend notes held by the sustain pedal (CC64) before counting")
      ->capture_default_str();
  info->callback([info_options] { run_midi_info(*info_options); });

  auto tones_options = std::make_shared<ChordTonesOptions>();
  CLI::App* tones = midi->add_subcommand(
      "chord-tones",
      "The share of melody notes that are chord tones (pitch class in the chord sounding at the note's onset), "
      "overall and on beats, over MIDI files (folders: their .mid files); notes over no chord are not counted");
  tones->add_option("inputs", tones_options->inputs, "MIDI files or folders")->required();
  tones->add_option("--chords-from", tones_options->chords_from,
                    "Take the chords of each input from these MIDI files or folders instead (paired in order, their "
                    "--chords-track): e.g. generated melodies against the real tunes' chords");
  tones->add_option("--melody-track", tones_options->melody_track, "0-based track of the melody")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  tones->add_option("--chords-track", tones_options->chords_track, "0-based track of the chords")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  tones->add_option("--steps-per-quarter", tones_options->steps_per_quarter, "Grid the onsets are quantized to")
      ->check(CLI::Range(1, 480))
      ->capture_default_str();
  tones->callback([tones_options] { run_chord_tones(*tones_options); });
}

}  // namespace

static const CommandRegistration registration{"midi", setup_midi};

}  // namespace cadenza::cli
