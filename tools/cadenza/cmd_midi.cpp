// `cadenza midi info FILE [--json]`: what a Standard MIDI File holds, as Cadenza reads it. The report is built
// once as JSON and printed either as is (--json) or as text, so both always say the same things.
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "command.h"
#include "common/error.h"
#include "common/file_io.h"
#include "midi/midi.h"
#include "midi/midi_names.h"

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

// Where `tick` falls in bars and beats of the time-signature map (bars counted from 0). A meter change starts a
// new bar, so a partial bar before it counts as a whole one.
struct BarPosition {
  int64_t bars = 0;
  double beats = 0.0;
};
BarPosition bar_position(const Score& score, int64_t tick) {
  BarPosition position;
  const auto& signatures = score.time_signatures;
  for (size_t i = 0; i < signatures.size() && signatures[i].tick < tick; ++i) {
    const double beat_ticks = score.ticks_per_quarter * 4.0 / signatures[i].denominator;
    const double bar_ticks = beat_ticks * signatures[i].numerator;
    const bool last = i + 1 == signatures.size() || signatures[i + 1].tick >= tick;
    const double length = static_cast<double>((last ? tick : signatures[i + 1].tick) - signatures[i].tick);
    if (!last) {
      position.bars += static_cast<int64_t>(std::ceil(length / bar_ticks - 1e-9));
      continue;
    }
    const auto whole = static_cast<int64_t>(std::floor(length / bar_ticks + 1e-9));
    position.bars += whole;
    position.beats = std::max(0.0, (length - static_cast<double>(whole) * bar_ticks) / beat_ticks);
  }
  return position;
}

nlohmann::json describe(const std::string& path, const MidiFileInfo& header, const Score& score) {
  nlohmann::json info;
  info["file"] = path;
  info["format"] = header.format;
  info["mtrk_chunks"] = header.declared_tracks;
  info["ticks_per_quarter"] = score.ticks_per_quarter;
  if (header.smpte) {
    info["smpte"] = {
        {"frames_per_second", header.smpte_frames_per_second == 29 ? 29.97 : header.smpte_frames_per_second},
        {"ticks_per_frame", header.smpte_ticks_per_frame}};
  }
  nlohmann::json tracks = nlohmann::json::array();
  for (const auto& track : score.tracks) {
    int low = 127, high = 0;
    for (const auto& note : track.notes) {
      low = std::min(low, note.pitch);
      high = std::max(high, note.pitch);
    }
    tracks.push_back({{"name", track.name},
                      {"channel", track.channel + 1},
                      {"program", track.program},
                      {"instrument", track.is_drum ? "Drum kit" : gm_program_name(track.program)},
                      {"drum", track.is_drum},
                      {"notes", track.notes.size()},
                      {"lowest_pitch", low},
                      {"highest_pitch", high}});
  }
  info["tracks"] = tracks;
  nlohmann::json tempos = nlohmann::json::array();
  for (const auto& tempo : score.tempos)
    tempos.push_back({{"tick", tempo.tick},
                      {"seconds", score.tick_to_seconds(tempo.tick)},
                      {"qpm", tempo.qpm()},
                      {"microseconds_per_quarter", tempo.microseconds_per_quarter}});
  info["tempos"] = tempos;
  nlohmann::json meters = nlohmann::json::array();
  for (const auto& meter : score.time_signatures) {
    const BarPosition at = bar_position(score, meter.tick);
    meters.push_back({{"tick", meter.tick},
                      {"bar", at.bars + 1},
                      {"numerator", meter.numerator},
                      {"denominator", meter.denominator},
                      {"text", std::to_string(meter.numerator) + "/" + std::to_string(meter.denominator)}});
  }
  info["time_signatures"] = meters;
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& key : score.key_signatures)
    keys.push_back(
        {{"tick", key.tick}, {"sharps", key.sharps}, {"minor", key.minor}, {"text", key_signature_name(key)}});
  info["key_signatures"] = keys;
  info["total_notes"] = score.note_count();
  const BarPosition end = bar_position(score, score.end_tick());
  info["duration"] = {
      {"ticks", score.end_tick()}, {"seconds", score.end_seconds()}, {"bars", end.bars}, {"beats", end.beats}};
  return info;
}

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

void print_text(const nlohmann::json& info) {
  std::printf("file        %s\n", printable(info["file"].get<std::string>()).c_str());
  std::string resolution = std::to_string(info["ticks_per_quarter"].get<int>()) + " ticks per quarter";
  if (info.contains("smpte"))
    resolution = "SMPTE " + format_number(info["smpte"]["frames_per_second"].get<double>()) + " fps x " +
                 std::to_string(info["smpte"]["ticks_per_frame"].get<int>()) + " ticks per frame (read as " +
                 resolution + " at a fixed tempo)";
  std::printf("format      %d (%d MTrk chunks)\n", info["format"].get<int>(), info["mtrk_chunks"].get<int>());
  std::printf("resolution  %s\n", resolution.c_str());

  const auto& tracks = info["tracks"];
  std::printf("tracks      %zu\n", tracks.size());
  for (size_t i = 0; i < tracks.size(); ++i) {
    const auto& track = tracks[i];
    const std::string name = "\"" + printable(track["name"].get<std::string>()) + "\"";
    std::string instrument = track["drum"].get<bool>() ? "drums"
                                                       : "program " + std::to_string(track["program"].get<int>()) +
                                                             " (" + track["instrument"].get<std::string>() + ")";
    std::printf("  %2zu %-20s channel %2d  %-40s %6zu notes  %s..%s\n", i + 1, name.c_str(),
                track["channel"].get<int>(), instrument.c_str(), track["notes"].get<size_t>(),
                pitch_name(track["lowest_pitch"].get<int>()).c_str(),
                pitch_name(track["highest_pitch"].get<int>()).c_str());
  }

  auto print_list = [](const char* label, const nlohmann::json& items, auto&& text_of) {
    std::string line;
    for (size_t i = 0; i < items.size() && i < kListedInText; ++i) line += (i ? ", " : "") + text_of(items[i]);
    if (items.size() > kListedInText) line += ", ... and " + std::to_string(items.size() - kListedInText) + " more";
    std::printf("%-11s %s\n", label, line.empty() ? "none" : line.c_str());
  };
  print_list("tempo", info["tempos"], [](const nlohmann::json& tempo) {
    return format_number(tempo["qpm"].get<double>()) + " qpm at " + format_number(tempo["seconds"].get<double>()) +
           " s";
  });
  print_list("meter", info["time_signatures"], [](const nlohmann::json& meter) {
    return meter["text"].get<std::string>() + " at bar " + std::to_string(meter["bar"].get<int64_t>());
  });
  print_list("key", info["key_signatures"], [](const nlohmann::json& key) {
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
  const nlohmann::json info = describe(options.file, header, score);
  if (options.json) {
    // Names in MIDI files are often Latin-1: replace invalid UTF-8 rather than fail.
    std::printf("%s\n", info.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  print_text(info);
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
}

}  // namespace

static const CommandRegistration registration{"midi", setup_midi};

}  // namespace cadenza::cli
