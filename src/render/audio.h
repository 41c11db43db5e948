// Offline audio rendering of a Score with a SoundFont (libfluidsynth, no audio driver).
//
// Each track gets its own MIDI channel where possible (15 melodic channels plus the drum channel 9), so that
// two tracks with different programs never change each other's instrument. Events are fed to the synth in
// time order and audio is pulled block by block between them; fluidsynth applies events at its internal
// 64-frame block boundaries, so a note may start up to 63 frames (1.5 ms at 44.1 kHz) late, never early.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "score/score.h"

namespace cadenza {

struct RenderOptions {
  // SoundFont (.sf2) to play with. Empty: $CADENZA_SOUNDFONT if set, else the General MIDI SoundFont of the
  // Debian package fluid-soundfont-gm (see default_soundfont_path()).
  std::string soundfont;
  int sample_rate = 44100;    // 8000..96000 (fluidsynth's range)
  double gain = 0.5;          // fluidsynth master gain, 0..10
  double tail_seconds = 1.0;  // rendered after the last note ends, so that releases ring out
  bool reverb = false;        // fluidsynth's built-in effects: off by default for a dry, predictable render
  bool chorus = false;
  // Refuse to render pieces longer than this (a corrupt file with a note at tick 2^40 would otherwise ask for
  // terabytes of samples). Stereo 16-bit audio costs about 10 MB per minute at 44.1 kHz.
  double max_seconds = 3600.0;
};

// Interleaved stereo 16-bit PCM (left, right, left, right, ...).
struct PcmAudio {
  int sample_rate = 44100;
  int channels = 2;
  std::vector<int16_t> samples;

  size_t frames() const { return channels == 0 ? 0 : samples.size() / static_cast<size_t>(channels); }
  double seconds() const { return sample_rate == 0 ? 0.0 : static_cast<double>(frames()) / sample_rate; }
};

// The compiled-in default SoundFont path (/usr/share/sounds/sf2/FluidR3_GM.sf2 on Debian).
std::string default_soundfont_path();
// options.soundfont if set, else $CADENZA_SOUNDFONT if set and non-empty, else default_soundfont_path().
std::string resolve_soundfont(const RenderOptions& options);

// Renders the score to memory. The result lasts ceil((last note end in seconds + tail_seconds) * sample_rate)
// frames. Throws Error for a SoundFont that is missing or cannot be loaded (naming the path and the Debian
// package that provides the default one), for invalid options, and for scores longer than max_seconds.
PcmAudio render_pcm(const Score& score, const RenderOptions& options = {});

// A canonical 44-byte-header RIFF/WAVE file (PCM format 1) holding the audio. Throws Error if it would not fit
// the 4 GiB limit of RIFF sizes.
std::vector<uint8_t> encode_wav(const PcmAudio& audio);

// render_pcm() + encode_wav(), written with write_file_atomic.
void render_wav(const Score& score, const std::string& wav_path, const RenderOptions& options = {});

}  // namespace cadenza
