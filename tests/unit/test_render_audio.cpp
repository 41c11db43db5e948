// Offline SoundFont rendering: length, silence/energy where the notes are, pitch, channel handling, WAV files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "render/audio.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

// Every test that synthesizes needs the real SoundFont; without it they skip, loudly.
#define REQUIRE_SOUNDFONT()                                                                    \
  do {                                                                                         \
    const std::string soundfont = resolve_soundfont(RenderOptions{});                          \
    if (!std::filesystem::exists(soundfont)) {                                                 \
      std::fprintf(stderr,                                                                     \
                   "\n*** SKIPPED: SoundFont %s not found (install fluid-soundfont-gm or set " \
                   "CADENZA_SOUNDFONT) ***\n",                                                 \
                   soundfont.c_str());                                                         \
      GTEST_SKIP() << "SoundFont " << soundfont << " not found";                               \
    }                                                                                          \
  } while (0)

constexpr int kRate = 22050;  // not the default, so that the tests see the option honoured

// A score at 120 qpm (one quarter = 0.5 s, 480 ticks) with one track per (program, notes) entry.
struct TrackSpec {
  int program = 0;
  std::vector<Note> notes;
  int channel = 0;
};
Score make_score(const std::vector<TrackSpec>& specs) {
  Score score = make_empty_score(480, 120.0);
  for (const auto& spec : specs) {
    Track track;
    track.name = "t" + std::to_string(score.tracks.size());
    track.program = spec.program;
    track.channel = spec.channel;
    track.notes = spec.notes;
    score.tracks.push_back(track);
  }
  score.normalize();
  return score;
}
Note note(int pitch, int64_t start_tick, int64_t end_tick, int velocity = 100) {
  Note n;
  n.pitch = pitch;
  n.velocity = velocity;
  n.start_tick = start_tick;
  n.end_tick = end_tick;
  return n;
}

RenderOptions options_at(int rate, double tail = 0.5) {
  RenderOptions options;
  options.sample_rate = rate;
  options.tail_seconds = tail;
  return options;
}

// Root mean square of the left channel over [from_sec, to_sec).
double rms(const PcmAudio& audio, double from_sec, double to_sec) {
  const size_t from = static_cast<size_t>(from_sec * audio.sample_rate);
  const size_t to = std::min(audio.frames(), static_cast<size_t>(to_sec * audio.sample_rate));
  double sum = 0.0;
  for (size_t i = from; i < to; ++i) sum += double(audio.samples[2 * i]) * audio.samples[2 * i];
  return to > from ? std::sqrt(sum / double(to - from)) : 0.0;
}

int max_abs(const PcmAudio& audio, double from_sec, double to_sec) {
  const size_t from = static_cast<size_t>(from_sec * audio.sample_rate) * 2;
  const size_t to = std::min(audio.samples.size(), static_cast<size_t>(to_sec * audio.sample_rate) * 2);
  int peak = 0;
  for (size_t i = from; i < to; ++i) peak = std::max(peak, std::abs(int(audio.samples[i])));
  return peak;
}

// Sign changes per second of the left channel over [from_sec, to_sec).
double zero_crossing_rate(const PcmAudio& audio, double from_sec, double to_sec) {
  const size_t from = static_cast<size_t>(from_sec * audio.sample_rate);
  const size_t to = static_cast<size_t>(to_sec * audio.sample_rate);
  int crossings = 0;
  for (size_t i = from + 1; i < to; ++i)
    if ((audio.samples[2 * i - 2] < 0) != (audio.samples[2 * i] < 0)) ++crossings;
  return crossings / (to_sec - from_sec);
}

// A tiny WAV reader: walks the RIFF chunks, checks the sizes add up, returns fmt fields and samples.
struct ParsedWav {
  uint16_t format = 0, channels = 0, bits = 0, block_align = 0;
  uint32_t sample_rate = 0, byte_rate = 0;
  std::vector<int16_t> samples;
};
uint32_t le32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 | uint32_t(b[at + 3]) << 24;
}
uint16_t le16(const std::vector<uint8_t>& b, size_t at) {
  return uint16_t(b[at] | b[at + 1] << 8);
}
ParsedWav parse_wav(const std::vector<uint8_t>& bytes) {
  ParsedWav wav;
  EXPECT_GE(bytes.size(), 44u);
  if (bytes.size() < 12) return wav;
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "RIFF");
  EXPECT_EQ(le32(bytes, 4), bytes.size() - 8);
  EXPECT_EQ(std::string(bytes.begin() + 8, bytes.begin() + 12), "WAVE");
  bool saw_fmt = false, saw_data = false;
  for (size_t at = 12; at + 8 <= bytes.size();) {
    const std::string id(bytes.begin() + at, bytes.begin() + at + 4);
    const uint32_t size = le32(bytes, at + 4);
    EXPECT_LE(at + 8 + size, bytes.size()) << "chunk " << id << " runs past the end";
    if (at + 8 + size > bytes.size()) break;
    if (id == "fmt ") {
      saw_fmt = true;
      wav.format = le16(bytes, at + 8);
      wav.channels = le16(bytes, at + 10);
      wav.sample_rate = le32(bytes, at + 12);
      wav.byte_rate = le32(bytes, at + 16);
      wav.block_align = le16(bytes, at + 20);
      wav.bits = le16(bytes, at + 22);
    } else if (id == "data") {
      saw_data = true;
      for (size_t i = 0; i + 1 < size; i += 2) wav.samples.push_back(static_cast<int16_t>(le16(bytes, at + 8 + i)));
    }
    at += 8 + size + (size & 1);
  }
  EXPECT_TRUE(saw_fmt);
  EXPECT_TRUE(saw_data);
  return wav;
}

TEST(RenderAudio, OneNoteLastsUntilItsEndPlusTheTailAtTheChosenRate) {
  REQUIRE_SOUNDFONT();
  // Quarter note C4 on beat 2: 0.5 s to 1.0 s; tail 0.5 s.
  const Score score = make_score({{0, {note(60, 480, 960)}}});
  const PcmAudio audio = render_pcm(score, options_at(kRate, 0.5));
  EXPECT_EQ(audio.sample_rate, kRate);
  EXPECT_EQ(audio.channels, 2);
  EXPECT_EQ(audio.frames(), static_cast<size_t>(std::ceil((1.0 + 0.5) * kRate)));
  EXPECT_EQ(audio.samples.size(), audio.frames() * 2);
}

TEST(RenderAudio, SilentBeforeTheNoteAndLoudDuringIt) {
  REQUIRE_SOUNDFONT();
  const Score score = make_score({{0, {note(60, 480, 960)}}});
  const PcmAudio audio = render_pcm(score, options_at(kRate));
  EXPECT_EQ(max_abs(audio, 0.0, 0.49), 0) << "no sound may precede the note start at 0.5 s";
  const double during = rms(audio, 0.55, 0.95);
  EXPECT_GT(during, 300.0) << "the note should be clearly audible (RMS in 16-bit units)";
  // After the release has rung out (tail 0.5 s) the piano is far quieter than while the key was held.
  EXPECT_LT(rms(audio, 1.4, 1.5), during / 4);
}

TEST(RenderAudio, HigherPitchGivesMoreZeroCrossings) {
  REQUIRE_SOUNDFONT();
  // Lead 1 (square), GM program 81 = index 80: a square wave crosses zero twice per period, so the crossing
  // rate tracks the fundamental closely (a piano's harmonics would blur it).
  constexpr int kSquareLead = 80;
  const PcmAudio low = render_pcm(make_score({{kSquareLead, {note(60, 0, 960)}}}), options_at(kRate));
  const PcmAudio high = render_pcm(make_score({{kSquareLead, {note(84, 0, 960)}}}), options_at(kRate));
  const double low_hz = zero_crossing_rate(low, 0.2, 0.9) / 2;
  const double high_hz = zero_crossing_rate(high, 0.2, 0.9) / 2;
  EXPECT_NEAR(low_hz, 261.6, 261.6 * 0.1) << "C4";
  EXPECT_NEAR(high_hz, 1046.5, 1046.5 * 0.1) << "C6";
  EXPECT_GT(high_hz, 3 * low_hz);
}

TEST(RenderAudio, TracksSharingAMidiChannelKeepTheirOwnPrograms) {
  REQUIRE_SOUNDFONT();
  // Both tracks claim channel 0; piano and flute must still both sound as themselves, so the mix equals the
  // sum of the separate renders (the synth mixes voices linearly; allow float-to-int rounding).
  const TrackSpec piano{0, {note(60, 0, 960)}, 0};
  const TrackSpec flute{73, {note(67, 240, 960)}, 0};
  const RenderOptions options = options_at(kRate);
  const PcmAudio together = render_pcm(make_score({piano, flute}), options);
  const PcmAudio piano_alone = render_pcm(make_score({piano, {73, {}, 0}}), options);
  const PcmAudio flute_alone = render_pcm(make_score({{0, {}, 0}, flute}), options);
  ASSERT_EQ(together.samples.size(), piano_alone.samples.size());
  ASSERT_EQ(together.samples.size(), flute_alone.samples.size());
  int worst = 0;
  for (size_t i = 0; i < together.samples.size(); ++i)
    worst = std::max(worst, std::abs(together.samples[i] - piano_alone.samples[i] - flute_alone.samples[i]));
  EXPECT_LE(worst, 3);
  // And the two instruments really differ (otherwise the check above proves nothing about programs).
  const PcmAudio flute_as_piano = render_pcm(make_score({{0, {note(67, 240, 960)}, 0}}), options);
  int difference = 0;
  for (size_t i = 0; i < flute_alone.samples.size(); ++i)
    difference = std::max(difference, std::abs(flute_alone.samples[i] - flute_as_piano.samples[i]));
  EXPECT_GT(difference, 1000);
}

TEST(RenderAudio, DrumTracksPlayTheDrumKit) {
  REQUIRE_SOUNDFONT();
  // Key 38 is the snare in the General MIDI kit; on a melodic channel it would be a low piano D.
  Score drums = make_score({{0, {note(38, 0, 480)}}});
  drums.tracks[0].is_drum = true;
  drums.tracks[0].channel = 9;
  const Score piano = make_score({{0, {note(38, 0, 480)}}});
  const PcmAudio snare = render_pcm(drums, options_at(kRate));
  const PcmAudio low_d = render_pcm(piano, options_at(kRate));
  EXPECT_GT(rms(snare, 0.0, 0.1), 300.0);
  // Were the drum track played on a melodic channel, both renders would be the same piano note.
  ASSERT_EQ(snare.samples.size(), low_d.samples.size());
  double difference = 0.0, piano_level = 0.0;
  for (size_t i = 0; i < snare.samples.size(); ++i) {
    difference += std::abs(snare.samples[i] - low_d.samples[i]);
    piano_level += std::abs(low_d.samples[i]);
  }
  EXPECT_GT(difference, 0.5 * piano_level);
}

TEST(RenderAudio, AnOverlappingShortNoteOfTheSameKeyDoesNotCutTheLongOne) {
  REQUIRE_SOUNDFONT();
  // Flute (sustaining): 0-2 s, and the same key again 0.5-1.0 s in the same track.
  const Score score = make_score({{73, {note(72, 0, 1920), note(72, 480, 960)}}});
  const PcmAudio audio = render_pcm(score, options_at(kRate));
  EXPECT_GT(rms(audio, 1.4, 1.9), 300.0) << "the key must stay held until the long note ends at 2 s";
}

TEST(RenderAudio, EmptyScoreRendersTheTailAsSilence) {
  REQUIRE_SOUNDFONT();
  const PcmAudio audio = render_pcm(make_empty_score(), options_at(kRate, 0.25));
  EXPECT_EQ(audio.frames(), static_cast<size_t>(std::ceil(0.25 * kRate)));
  EXPECT_EQ(max_abs(audio, 0.0, 1.0), 0);
}

TEST(RenderAudio, WavFileHeaderAndSamplesParseBack) {
  REQUIRE_SOUNDFONT();
  testing::TempDir dir;
  const Score score = make_score({{0, {note(64, 0, 480)}}});
  const RenderOptions options = options_at(kRate, 0.2);
  const std::string path = dir.file("one.wav");
  render_wav(score, path, options);
  const ParsedWav wav = parse_wav(read_file_bytes(path));
  EXPECT_EQ(wav.format, 1);
  EXPECT_EQ(wav.channels, 2);
  EXPECT_EQ(wav.bits, 16);
  EXPECT_EQ(wav.sample_rate, static_cast<uint32_t>(kRate));
  EXPECT_EQ(wav.block_align, 4);
  EXPECT_EQ(wav.byte_rate, static_cast<uint32_t>(kRate) * 4);
  EXPECT_EQ(wav.samples.size(), 2 * static_cast<size_t>(std::ceil(0.7 * kRate)));
  // Rendering is deterministic (no dither), so the file holds exactly what render_pcm produces.
  EXPECT_EQ(wav.samples, render_pcm(score, options).samples);
}

TEST(RenderAudio, EncodeWavWritesLittleEndianInterleavedSamples) {
  PcmAudio audio;
  audio.sample_rate = 8000;
  audio.samples = {1, -1, 32767, -32768};
  const std::vector<uint8_t> bytes = encode_wav(audio);
  ASSERT_EQ(bytes.size(), 44u + 8u);
  const ParsedWav wav = parse_wav(bytes);
  EXPECT_EQ(wav.sample_rate, 8000u);
  EXPECT_EQ(wav.samples, audio.samples);
  EXPECT_EQ(bytes[44 + 2], 0xFF);  // -1, low byte first
  EXPECT_EQ(bytes[44 + 3], 0xFF);
  EXPECT_EQ(bytes[44 + 6], 0x00);  // -32768 = 0x8000
  EXPECT_EQ(bytes[44 + 7], 0x80);
}

TEST(RenderAudio, MissingSoundfontIsAnErrorNamingPathAndPackage) {
  RenderOptions options;
  options.soundfont = "/nonexistent/cadenza/none.sf2";
  try {
    render_pcm(make_score({{0, {note(60, 0, 480)}}}), options);
    FAIL() << "expected cadenza::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("/nonexistent/cadenza/none.sf2"), std::string::npos) << message;
    EXPECT_NE(message.find("fluid-soundfont-gm"), std::string::npos) << message;
  }
}

// Expects render_pcm with this SoundFont to throw an Error whose message contains every fragment.
void expect_soundfont_error(const std::string& soundfont, const std::vector<std::string>& fragments) {
  RenderOptions options;
  options.soundfont = soundfont;
  try {
    render_pcm(make_score({{0, {note(60, 0, 480)}}}), options);
    ADD_FAILURE() << "expected cadenza::Error for " << soundfont;
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const auto& fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos) << "'" << fragment << "' missing from: " << message;
  }
}

TEST(RenderAudio, UnloadableSoundfontsAreErrorsNamingTheFile) {
  testing::TempDir dir;
  const std::string text = dir.file("text.sf2");
  write_file_atomic(text, std::string_view("this is not a soundfont"));
  expect_soundfont_error(text, {text, "not a SoundFont 2 file"});

  const std::string empty = dir.file("empty.sf2");
  write_file_atomic(empty, std::string_view(""));
  expect_soundfont_error(empty, {empty, "not a SoundFont 2 file"});

  // A header claiming more bytes than the file has (a truncated download).
  const std::string truncated = dir.file("truncated.sf2");
  write_file_atomic(truncated, std::string_view("RIFF\x00\x10\x00\x00sfbkLIST", 16));
  expect_soundfont_error(truncated, {truncated, "byte 4", "truncated"});

  expect_soundfont_error(dir.path().string(), {dir.path().string(), "directory"});
}

TEST(RenderAudio, SoundfontResolutionPrefersOptionThenEnvironmentThenDefault) {
  const char* saved = std::getenv("CADENZA_SOUNDFONT");
  const std::string saved_value = saved ? saved : "";
  ::unsetenv("CADENZA_SOUNDFONT");
  EXPECT_EQ(resolve_soundfont({}), default_soundfont_path());
  ::setenv("CADENZA_SOUNDFONT", "/from/env.sf2", 1);
  EXPECT_EQ(resolve_soundfont({}), "/from/env.sf2");
  RenderOptions options;
  options.soundfont = "/from/option.sf2";
  EXPECT_EQ(resolve_soundfont(options), "/from/option.sf2");
  if (saved)
    ::setenv("CADENZA_SOUNDFONT", saved_value.c_str(), 1);
  else
    ::unsetenv("CADENZA_SOUNDFONT");
}

TEST(RenderAudio, InvalidOptionsAndOverlongScoresAreErrors) {
  const Score score = make_score({{0, {note(60, 0, 480)}}});
  EXPECT_THROW_WITH(render_pcm(score, options_at(1000)), Error, {"sample rate 1000 Hz", "outside 8000..96000"});
  EXPECT_THROW_WITH(render_pcm(score, options_at(kRate, -1.0)), Error, {"tail of -1.000 s", ">= 0"});
  RenderOptions loud = options_at(kRate);
  loud.gain = 50.0;
  EXPECT_THROW_WITH(render_pcm(score, loud), Error, {"gain 50", "outside 0..10"});
  // A note ending at 2 hours: refused before any sample is allocated (the default limit is one hour).
  Score long_score = make_score({{0, {note(60, 0, 480LL * 2 * 7200)}}});
  EXPECT_THROW_WITH(render_pcm(long_score, options_at(kRate)), Error,
                    {"a note ends at 7200.000 s", "render limit of 3600.000 s"});
  Score broken = score;
  broken.tracks[0].notes[0].start_sec = std::nan("");
  EXPECT_THROW_WITH(render_pcm(broken, options_at(kRate)), Error, {"track 0", "invalid times", "nan s"});
}

}  // namespace
}  // namespace cadenza
