// `cadenza render IN.mid --wav/--png/--svg ...`: listen to and look at a MIDI file. The work is in
// src/render/audio.h (SoundFont synthesis) and src/render/pianoroll_image.h (pictures).
#include <cstdio>
#include <memory>
#include <string>

#include "command.h"
#include "common/error.h"
#include "common/file_io.h"
#include "midi/midi.h"
#include "render/audio.h"
#include "render/pianoroll_image.h"

namespace cadenza::cli {

namespace {

struct RenderCommandOptions {
  std::string input;
  std::string wav;
  std::string png;
  std::string svg;
  std::string soundfont;
  int sample_rate = 44100;
  double gain = 0.5;
  double tail_seconds = 1.0;
  double max_seconds = 3600.0;
  bool reverb = false;
  double pixels_per_quarter = 24.0;
  int pixels_per_pitch = 4;
  bool sustain_pedal = false;
};

void report_image(const std::string& path, const ImageResult& result) {
  std::printf("wrote %s: %dx%d px, pitches %d..%d\n", path.c_str(), result.width, result.height, result.lowest_pitch,
              result.highest_pitch);
  if (!result.note.empty()) std::printf("note: %s: %s\n", path.c_str(), result.note.c_str());
}

void run_render(const RenderCommandOptions& cli) {
  if (cli.wav.empty() && cli.png.empty() && cli.svg.empty())
    throw Error("render: nothing to do: give at least one of --wav, --png, --svg");
  MidiReadOptions read_options;
  read_options.apply_sustain_pedal = cli.sustain_pedal;
  const Score score = read_midi_file(cli.input, read_options);

  // Pictures first: they are quick, and a SoundFont problem then does not cost them.
  ImageOptions image;
  image.pixels_per_quarter = cli.pixels_per_quarter;
  image.pixels_per_pitch = cli.pixels_per_pitch;
  if (!cli.png.empty()) report_image(cli.png, render_piano_roll_png(score, cli.png, image));
  if (!cli.svg.empty()) report_image(cli.svg, render_piano_roll_svg(score, cli.svg, image));

  if (!cli.wav.empty()) {
    RenderOptions audio;
    audio.soundfont = cli.soundfont;
    audio.sample_rate = cli.sample_rate;
    audio.gain = cli.gain;
    audio.tail_seconds = cli.tail_seconds;
    audio.max_seconds = cli.max_seconds;
    audio.reverb = cli.reverb;
    audio.chorus = cli.reverb;
    const PcmAudio pcm = render_pcm(score, audio);
    write_file_atomic(cli.wav, encode_wav(pcm));
    std::printf("wrote %s: %.2f s of %d Hz stereo audio (SoundFont %s)\n", cli.wav.c_str(), pcm.seconds(),
                pcm.sample_rate, resolve_soundfont(audio).c_str());
  }
}

}  // namespace

void setup_render(CLI::App& app) {
  auto options = std::make_shared<RenderCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "render", "Render a MIDI file to audio (WAV, with a SoundFont) and/or a piano-roll picture (PNG, SVG)");
  command->add_option("input", options->input, "MIDI file to render")->required();
  command->add_option("--wav", options->wav, "Write stereo 16-bit audio here");
  command->add_option("--png", options->png, "Write a piano-roll PNG here");
  command->add_option("--svg", options->svg, "Write a piano-roll SVG (with track names) here");
  command
      ->add_option("--soundfont", options->soundfont,
                   "SoundFont (.sf2) for --wav (default: $CADENZA_SOUNDFONT, else " + default_soundfont_path() +
                       " from the Debian package fluid-soundfont-gm)")
      ->capture_default_str();
  command->add_option("--sample-rate", options->sample_rate, "Audio sample rate in Hz")
      ->check(CLI::Range(8000, 96000))
      ->capture_default_str();
  command->add_option("--gain", options->gain, "Synthesizer master gain")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  command->add_option("--tail", options->tail_seconds, "Seconds rendered after the last note, for releases")
      ->check(CLI::Range(0.0, 60.0))
      ->capture_default_str();
  command->add_option("--max-seconds", options->max_seconds, "Refuse to render audio longer than this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_flag("--reverb", options->reverb, "Turn on the synthesizer's reverb and chorus")->capture_default_str();
  command->add_option("--pixels-per-quarter", options->pixels_per_quarter, "Picture width of a quarter note")
      ->check(CLI::Range(0.01, 10000.0))
      ->capture_default_str();
  command->add_option("--pixels-per-pitch", options->pixels_per_pitch, "Picture height of one pitch row")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command->add_flag("--sustain-pedal", options->sustain_pedal, "Hold notes while the sustain pedal (CC64) is down")
      ->capture_default_str();
  command->callback([options] { run_render(*options); });
}

static const CommandRegistration registration{"render", setup_render};

}  // namespace cadenza::cli
