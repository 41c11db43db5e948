// Score -> PCM with libfluidsynth, offline; PCM -> WAV bytes.
//
// libfluidsynth is opened with dlopen() on the first render, not linked: it pulls in GLib, libsndfile, PulseAudio,
// JACK, ... (about 60 shared libraries), whose loading would otherwise be paid by every `cadenza` command at
// start-up. fluidsynth.h still gives the types, constants and function signatures.
#include <dlfcn.h>
#include <fluidsynth.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "render/audio.h"

namespace cadenza {

namespace {

constexpr int kDrumChannel = 9;
constexpr int kChannels = 16;
constexpr int kFramesPerChunk = 4096;
constexpr const char* kSoundfontPackage = "fluid-soundfont-gm";

#ifndef CADENZA_FLUIDSYNTH_LIBRARY
#define CADENZA_FLUIDSYNTH_LIBRARY "libfluidsynth.so.3"
#endif

// The fluidsynth functions we call, resolved from the library at run time.
struct FluidSynthLibrary {
  decltype(&::fluid_set_log_function) fluid_set_log_function = nullptr;
  decltype(&::new_fluid_settings) new_fluid_settings = nullptr;
  decltype(&::delete_fluid_settings) delete_fluid_settings = nullptr;
  decltype(&::fluid_settings_setnum) fluid_settings_setnum = nullptr;
  decltype(&::fluid_settings_setint) fluid_settings_setint = nullptr;
  decltype(&::new_fluid_synth) new_fluid_synth = nullptr;
  decltype(&::delete_fluid_synth) delete_fluid_synth = nullptr;
  decltype(&::fluid_synth_sfload) fluid_synth_sfload = nullptr;
  decltype(&::fluid_synth_write_float) fluid_synth_write_float = nullptr;
  decltype(&::fluid_synth_program_change) fluid_synth_program_change = nullptr;
  decltype(&::fluid_synth_noteon) fluid_synth_noteon = nullptr;
  decltype(&::fluid_synth_noteoff) fluid_synth_noteoff = nullptr;
};

// $CADENZA_FLUIDSYNTH_LIBRARY if set (another build of the library, or a test of the message below), else the
// soname the build found.
std::string fluidsynth_library_name() {
  if (const char* name = std::getenv("CADENZA_FLUIDSYNTH_LIBRARY"); name != nullptr && *name != '\0') return name;
  return CADENZA_FLUIDSYNTH_LIBRARY;
}

FluidSynthLibrary load_fluidsynth() {
  const std::string name = fluidsynth_library_name();
  // Never closed: the library lives as long as the process, like a linked one.
  void* handle = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    throw Error("render: cannot load FluidSynth, which WAV rendering needs (" + std::string(why ? why : name) +
                "): install the Debian package libfluidsynth3");
  }
  FluidSynthLibrary library;
  const auto resolve = [&](auto& function, const char* symbol) {
    ::dlerror();
    void* address = ::dlsym(handle, symbol);
    if (address == nullptr)
      throw Error("render: " + name + " has no function " + symbol + ": it is not a FluidSynth 2 library");
    function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(address);
  };
  resolve(library.fluid_set_log_function, "fluid_set_log_function");
  resolve(library.new_fluid_settings, "new_fluid_settings");
  resolve(library.delete_fluid_settings, "delete_fluid_settings");
  resolve(library.fluid_settings_setnum, "fluid_settings_setnum");
  resolve(library.fluid_settings_setint, "fluid_settings_setint");
  resolve(library.new_fluid_synth, "new_fluid_synth");
  resolve(library.delete_fluid_synth, "delete_fluid_synth");
  resolve(library.fluid_synth_sfload, "fluid_synth_sfload");
  resolve(library.fluid_synth_write_float, "fluid_synth_write_float");
  resolve(library.fluid_synth_program_change, "fluid_synth_program_change");
  resolve(library.fluid_synth_noteon, "fluid_synth_noteon");
  resolve(library.fluid_synth_noteoff, "fluid_synth_noteoff");
  return library;
}

// Loaded on first use; throws Error (again on each call) when the library is missing.
const FluidSynthLibrary& fluidsynth() {
  static const FluidSynthLibrary library = load_fluidsynth();
  return library;
}

// fluidsynth logs to stderr by default, which would interleave with our own output. Messages at warning level
// and above are kept (per thread, since each render runs its synth on the calling thread) so that a failure
// can be reported in our own error text.
thread_local std::string last_fluid_message;

void quiet_log(int level, const char* message, void* /*data*/) {
  // The first error says why ("SoundFont file size mismatch"); later ones only say that loading failed.
  if (level <= FLUID_ERR && message != nullptr && last_fluid_message.empty()) last_fluid_message = message;
}

void install_quiet_logging() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int level = FLUID_PANIC; level <= FLUID_DBG; ++level)
      fluidsynth().fluid_set_log_function(level, quiet_log, nullptr);
  });
}

struct SettingsDeleter {
  void operator()(fluid_settings_t* settings) const { fluidsynth().delete_fluid_settings(settings); }
};
struct SynthDeleter {
  void operator()(fluid_synth_t* synth) const { fluidsynth().delete_fluid_synth(synth); }
};
using SettingsPtr = std::unique_ptr<fluid_settings_t, SettingsDeleter>;
using SynthPtr = std::unique_ptr<fluid_synth_t, SynthDeleter>;

std::string seconds_text(double seconds) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3f s", seconds);
  return buffer;
}

void validate(const RenderOptions& options) {
  if (options.sample_rate < 8000 || options.sample_rate > 96000)
    throw Error("render: sample rate " + std::to_string(options.sample_rate) + " Hz is outside 8000..96000");
  if (!std::isfinite(options.gain) || options.gain < 0.0 || options.gain > 10.0)
    throw Error("render: gain " + std::to_string(options.gain) + " is outside 0..10");
  if (!std::isfinite(options.tail_seconds) || options.tail_seconds < 0.0)
    throw Error("render: tail of " + seconds_text(options.tail_seconds) + " must be >= 0");
  if (!std::isfinite(options.max_seconds) || options.max_seconds <= 0.0)
    throw Error("render: max_seconds must be > 0, not " + seconds_text(options.max_seconds));
}

// Which channel each track plays on. Drum tracks share channel 9 (fluidsynth's drum channel, bank 128).
// Melodic tracks take the other 15 channels in order; past 15 a track shares a channel, preferring one that
// already plays its program. Sharing is still correct for programs because the renderer sends a program
// change before any note whose channel is set to another program (sounding voices keep their instrument).
std::vector<int> assign_channels(const Score& score) {
  std::vector<int> channel_of_track(score.tracks.size(), 0);
  std::vector<int> melodic_channels;
  for (int channel = 0; channel < kChannels; ++channel)
    if (channel != kDrumChannel) melodic_channels.push_back(channel);
  std::array<int, kChannels> first_program;
  first_program.fill(-1);
  size_t next_free = 0;
  for (size_t t = 0; t < score.tracks.size(); ++t) {
    const Track& track = score.tracks[t];
    if (track.is_drum) {
      channel_of_track[t] = kDrumChannel;
      continue;
    }
    if (track.notes.empty()) continue;  // silent: needs no channel of its own
    int channel = -1;
    if (next_free < melodic_channels.size()) {
      channel = melodic_channels[next_free++];
    } else {
      for (int candidate : melodic_channels)
        if (first_program[candidate] == track.program) channel = candidate;
      if (channel < 0) channel = melodic_channels[t % melodic_channels.size()];
    }
    if (first_program[channel] < 0) first_program[channel] = track.program;
    channel_of_track[t] = channel;
  }
  return channel_of_track;
}

struct NoteEvent {
  int64_t frame = 0;
  bool on = false;
  int channel = 0;
  int key = 0;
  int velocity = 0;
  int program = 0;
};

std::string describe_source(const Score& score) {
  return score.source.empty() ? "<score>" : score.source;
}

// Checks the RIFF 'sfbk' header and size before fluidsynth sees the file: when fluidsynth fails to load a file,
// its DLS fallback (libinstpatch) prints a GLib CRITICAL line on stderr that we cannot silence, so the
// common cases (wrong file, truncated download) are caught here with a clear message instead.
void check_soundfont_file(const std::string& soundfont) {
  std::error_code error;
  if (!std::filesystem::exists(soundfont, error))
    throw Error("SoundFont " + soundfont + " not found: install the Debian package " + kSoundfontPackage +
                " (it provides " + default_soundfont_path() +
                "), or name another .sf2 with --soundfont or $CADENZA_SOUNDFONT");
  if (std::filesystem::is_directory(soundfont, error)) throw IoError(soundfont, "is a directory, not a SoundFont file");
  const uint64_t file_size = std::filesystem::file_size(soundfont, error);
  if (error) throw IoError(soundfont, "cannot read the SoundFont's size: " + error.message());
  std::ifstream in(soundfont, std::ios::binary);
  std::array<char, 12> header{};
  if (!in || !in.read(header.data(), header.size()))
    throw FormatError(soundfont, 0,
                      "not a SoundFont 2 file (shorter than a RIFF header, or unreadable); the default one comes "
                      "from the Debian package " +
                          std::string(kSoundfontPackage));
  if (std::string_view(header.data(), 4) != "RIFF" || std::string_view(header.data() + 8, 4) != "sfbk")
    throw FormatError(soundfont, 0,
                      "not a SoundFont 2 file (no RIFF 'sfbk' header); the default one comes from the Debian "
                      "package " +
                          std::string(kSoundfontPackage));
  const auto byte = [&](int i) { return static_cast<uint64_t>(static_cast<uint8_t>(header[i])); };
  const uint64_t riff_size = byte(4) | byte(5) << 8 | byte(6) << 16 | byte(7) << 24;
  if (riff_size + 8 != file_size)
    throw FormatError(soundfont, 4,
                      "SoundFont is truncated or damaged: its header says " + std::to_string(riff_size + 8) +
                          " bytes, the file has " + std::to_string(file_size) + "; reinstall " +
                          std::string(kSoundfontPackage) + " if it is the default one");
}

SynthPtr make_synth(const std::string& soundfont, const RenderOptions& options, SettingsPtr& settings) {
  install_quiet_logging();
  check_soundfont_file(soundfont);
  settings.reset(fluidsynth().new_fluid_settings());
  if (!settings) throw Error("render: fluidsynth could not allocate its settings");
  fluidsynth().fluid_settings_setnum(settings.get(), "synth.sample-rate", options.sample_rate);
  fluidsynth().fluid_settings_setnum(settings.get(), "synth.gain", options.gain);
  fluidsynth().fluid_settings_setint(settings.get(), "synth.reverb.active", options.reverb ? 1 : 0);
  fluidsynth().fluid_settings_setint(settings.get(), "synth.chorus.active", options.chorus ? 1 : 0);
  // mlock()ing a 140 MB SoundFont fails in containers and is pointless offline.
  fluidsynth().fluid_settings_setint(settings.get(), "synth.lock-memory", 0);
  fluidsynth().fluid_settings_setint(settings.get(), "synth.threadsafe-api", 0);
  last_fluid_message.clear();
  SynthPtr synth(fluidsynth().new_fluid_synth(settings.get()));
  if (!synth) throw Error("render: fluidsynth could not create a synthesizer: " + last_fluid_message);
  last_fluid_message.clear();
  if (fluidsynth().fluid_synth_sfload(synth.get(), soundfont.c_str(), 1) == FLUID_FAILED) {
    std::string why = last_fluid_message.empty() ? "not a valid SoundFont 2 file" : last_fluid_message;
    throw Error(soundfont + ": cannot load SoundFont: " + why + " (the default General MIDI SoundFont comes from " +
                "the Debian package " + kSoundfontPackage + ")");
  }
  return synth;
}

}  // namespace

std::string default_soundfont_path() {
  return CADENZA_DEFAULT_SOUNDFONT;
}

std::string resolve_soundfont(const RenderOptions& options) {
  if (!options.soundfont.empty()) return options.soundfont;
  if (const char* env = std::getenv("CADENZA_SOUNDFONT"); env != nullptr && *env != '\0') return env;
  return default_soundfont_path();
}

PcmAudio render_pcm(const Score& score, const RenderOptions& options) {
  validate(options);
  const double rate = options.sample_rate;

  // Collect note events with their frame positions, checking the derived seconds on the way.
  std::vector<int> channel_of_track = assign_channels(score);
  std::vector<NoteEvent> events;
  events.reserve(2 * score.note_count());
  double last_end_seconds = 0.0;
  for (size_t t = 0; t < score.tracks.size(); ++t) {
    const Track& track = score.tracks[t];
    const int channel = channel_of_track[t];
    const int program = std::clamp(track.program, 0, 127);
    for (const Note& note : track.notes) {
      if (!std::isfinite(note.start_sec) || !std::isfinite(note.end_sec) || note.start_sec < 0.0 ||
          note.end_sec < note.start_sec)
        throw Error(describe_source(score) + ": track " + std::to_string(t) + " has a note with invalid times (" +
                    seconds_text(note.start_sec) + " to " + seconds_text(note.end_sec) + ")");
      if (note.end_sec > options.max_seconds)
        throw Error(describe_source(score) + ": a note ends at " + seconds_text(note.end_sec) +
                    ", past the render limit of " + seconds_text(options.max_seconds));
      last_end_seconds = std::max(last_end_seconds, note.end_sec);
      const int64_t start = std::llround(note.start_sec * rate);
      // A note shorter than one frame still sounds for one frame, and its off never sorts before its on.
      const int64_t end = std::max(start + 1, static_cast<int64_t>(std::llround(note.end_sec * rate)));
      const int key = std::clamp(note.pitch, 0, 127);
      const int velocity = std::clamp(note.velocity, 1, 127);
      events.push_back({start, true, channel, key, velocity, program});
      events.push_back({end, false, channel, key, 0, program});
    }
  }
  // Offs before ons at the same frame: a repeated note is released before it is struck again.
  std::stable_sort(events.begin(), events.end(), [](const NoteEvent& a, const NoteEvent& b) {
    if (a.frame != b.frame) return a.frame < b.frame;
    return !a.on && b.on;
  });

  const double total_seconds = last_end_seconds + options.tail_seconds;
  if (total_seconds > options.max_seconds)
    throw Error(describe_source(score) + ": rendering would last " + seconds_text(total_seconds) +
                ", more than the limit of " + seconds_text(options.max_seconds));
  const int64_t total_frames = static_cast<int64_t>(std::ceil(total_seconds * rate));

  SettingsPtr settings;
  SynthPtr synth = make_synth(resolve_soundfont(options), options, settings);

  PcmAudio audio;
  audio.sample_rate = options.sample_rate;
  audio.channels = 2;
  audio.samples.resize(static_cast<size_t>(total_frames) * 2);
  std::vector<float> chunk(static_cast<size_t>(kFramesPerChunk) * 2);
  int64_t rendered = 0;
  auto render_until = [&](int64_t frame) {
    frame = std::min(frame, total_frames);
    while (rendered < frame) {
      const int count = static_cast<int>(std::min<int64_t>(kFramesPerChunk, frame - rendered));
      fluidsynth().fluid_synth_write_float(synth.get(), count, chunk.data(), 0, 2, chunk.data(), 1, 2);
      int16_t* out = audio.samples.data() + rendered * 2;
      for (int i = 0; i < count * 2; ++i) {
        // Convert ourselves rather than with fluid_synth_write_s16, whose dither makes silence non-zero.
        const float clamped = std::clamp(chunk[static_cast<size_t>(i)], -1.0f, 1.0f);
        out[i] = static_cast<int16_t>(std::lrint(clamped * 32767.0f));
      }
      rendered += count;
    }
  };

  std::array<int, kChannels> current_program;
  current_program.fill(-1);
  std::vector<int> sounding(static_cast<size_t>(kChannels) * 128, 0);  // notes held per (channel, key)
  for (const NoteEvent& event : events) {
    render_until(event.frame);
    int& held = sounding[static_cast<size_t>(event.channel) * 128 + static_cast<size_t>(event.key)];
    if (event.on) {
      if (current_program[event.channel] != event.program) {
        fluidsynth().fluid_synth_program_change(synth.get(), event.channel, event.program);
        current_program[event.channel] = event.program;
      }
      fluidsynth().fluid_synth_noteon(synth.get(), event.channel, event.key, event.velocity);
      ++held;
    } else if (held > 0 && --held == 0) {
      // Overlapping notes of one key on one channel: only the last one to end releases the key, so that an
      // early-ending note does not cut off a later, longer one.
      fluidsynth().fluid_synth_noteoff(synth.get(), event.channel, event.key);
    }
  }
  render_until(total_frames);
  return audio;
}

std::vector<uint8_t> encode_wav(const PcmAudio& audio) {
  const uint64_t data_bytes = static_cast<uint64_t>(audio.samples.size()) * 2;
  if (data_bytes > 0xFFFFFFFFull - 36)
    throw Error("render: " + std::to_string(data_bytes) + " bytes of audio do not fit a WAV file (4 GiB limit)");
  if (audio.channels <= 0 || audio.sample_rate <= 0) throw Error("render: audio has no channels or sample rate");
  std::vector<uint8_t> bytes;
  bytes.reserve(44 + static_cast<size_t>(data_bytes));
  auto tag = [&](const char* text) { bytes.insert(bytes.end(), text, text + 4); };
  auto u32 = [&](uint32_t value) {
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<uint8_t>(value >> shift));
  };
  auto u16 = [&](uint16_t value) {
    bytes.push_back(static_cast<uint8_t>(value));
    bytes.push_back(static_cast<uint8_t>(value >> 8));
  };
  const uint16_t block_align = static_cast<uint16_t>(audio.channels * 2);
  tag("RIFF");
  u32(static_cast<uint32_t>(36 + data_bytes));
  tag("WAVE");
  tag("fmt ");
  u32(16);
  u16(1);  // PCM
  u16(static_cast<uint16_t>(audio.channels));
  u32(static_cast<uint32_t>(audio.sample_rate));
  u32(static_cast<uint32_t>(audio.sample_rate) * block_align);
  u16(block_align);
  u16(16);
  tag("data");
  u32(static_cast<uint32_t>(data_bytes));
  for (int16_t sample : audio.samples) u16(static_cast<uint16_t>(sample));
  return bytes;
}

void render_wav(const Score& score, const std::string& wav_path, const RenderOptions& options) {
  const std::vector<uint8_t> bytes = encode_wav(render_pcm(score, options));
  write_file_atomic(wav_path, bytes);
}

}  // namespace cadenza
