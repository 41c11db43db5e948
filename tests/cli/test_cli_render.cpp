// `cadenza render`: end-to-end through the binary.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "midi/midi.h"
#include "render/audio.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

using testing::run_cadenza;
using testing::TempDir;

std::string quoted(const std::string& path) {
  return "'" + path + "'";
}

// Two bars of 4/4 at 120 qpm (4 s): a melody and a bass line.
std::string write_small_midi(const TempDir& dir) {
  Score score = make_empty_score(480, 120.0);
  Track melody{"melody", 73, false, 0, {}};
  for (int i = 0; i < 8; ++i) melody.notes.push_back({60 + 2 * (i % 4), 90, i * 480, i * 480 + 400});
  Track bass{"bass", 32, false, 1, {{36, 80, 0, 1920}, {43, 80, 1920, 3840}}};
  score.tracks = {melody, bass};
  score.normalize();
  const std::string path = dir.file("small.mid");
  write_midi_file(score, path);
  return path;
}

uint32_t le32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 | uint32_t(b[at + 3]) << 24;
}
uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | uint32_t(b[at + 3]);
}

TEST(CliRender, WritesWavPngAndSvgThatParse) {
  const std::string soundfont = resolve_soundfont(RenderOptions{});
  if (!std::filesystem::exists(soundfont)) {
    std::fprintf(stderr, "\n*** SKIPPED: SoundFont %s not found (install fluid-soundfont-gm) ***\n", soundfont.c_str());
    GTEST_SKIP() << "SoundFont " << soundfont << " not found";
  }
  TempDir dir;
  const std::string midi = write_small_midi(dir);
  const std::string wav = dir.file("out.wav"), png = dir.file("out.png"), svg = dir.file("out.svg");
  const auto result = run_cadenza("render " + quoted(midi) + " --wav " + quoted(wav) + " --png " + quoted(png) +
                                  " --svg " + quoted(svg) + " --sample-rate 22050 --tail 0.5");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("wrote " + wav), std::string::npos) << result.output;

  const std::vector<uint8_t> wav_bytes = read_file_bytes(wav);
  ASSERT_GE(wav_bytes.size(), 44u);
  EXPECT_EQ(std::string(wav_bytes.begin(), wav_bytes.begin() + 4), "RIFF");
  EXPECT_EQ(std::string(wav_bytes.begin() + 8, wav_bytes.begin() + 16), "WAVEfmt ");
  EXPECT_EQ(le32(wav_bytes, 4), wav_bytes.size() - 8);
  EXPECT_EQ(le32(wav_bytes, 24), 22050u) << "sample rate from --sample-rate";
  EXPECT_EQ(std::string(wav_bytes.begin() + 36, wav_bytes.begin() + 40), "data");
  // 4 s of music plus the 0.5 s tail, 4 bytes per stereo frame.
  EXPECT_EQ(le32(wav_bytes, 40), 4u * 99225u);

  const std::vector<uint8_t> png_bytes = read_file_bytes(png);
  ASSERT_GE(png_bytes.size(), 33u);
  EXPECT_EQ(std::vector<uint8_t>(png_bytes.begin(), png_bytes.begin() + 8),
            (std::vector<uint8_t>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}));
  EXPECT_EQ(std::string(png_bytes.begin() + 12, png_bytes.begin() + 16), "IHDR");
  EXPECT_EQ(be32(png_bytes, 16), 2u * 4 * 24 + 1) << "two bars at the default 24 px per quarter";

  const std::string svg_text = read_file_text(svg);
  EXPECT_EQ(svg_text.rfind("<svg", 0), 0u);
  EXPECT_NE(svg_text.find("</svg>"), std::string::npos);
  EXPECT_NE(svg_text.find(">melody</text>"), std::string::npos);
}

TEST(CliRender, PicturesNeedNoSoundfont) {
  TempDir dir;
  const std::string midi = write_small_midi(dir);
  const std::string png = dir.file("only.png");
  const auto result = run_cadenza("render " + quoted(midi) + " --png " + quoted(png) +
                                  " --soundfont /nonexistent.sf2 --pixels-per-quarter 10");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::vector<uint8_t> png_bytes = read_file_bytes(png);
  ASSERT_GE(png_bytes.size(), 24u);
  EXPECT_EQ(be32(png_bytes, 16), 2u * 4 * 10 + 1);
}

TEST(CliRender, MalformedMidiIsExitCodeOneNamingTheFileAndByte) {
  TempDir dir;
  const std::string bad = dir.file("bad.mid");
  write_file_atomic(bad, std::string_view("MThd\x00\x00\x00\x06\x00\x01", 10));  // header cut short
  EXPECT_CLI_ERROR(run_cadenza("render " + quoted(bad) + " --png " + quoted(dir.file("bad.png"))),
                   {"cadenza: error: " + bad + ": byte "});
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.png")));
}

TEST(CliRender, UserErrorsAreExitCodeOne) {
  TempDir dir;
  const std::string midi = write_small_midi(dir);
  EXPECT_CLI_ERROR(run_cadenza("render " + quoted(dir.file("absent.mid")) + " --png " + quoted(dir.file("a.png"))),
                   {dir.file("absent.mid"), "cannot open"});
  EXPECT_CLI_ERROR(run_cadenza("render " + quoted(midi)), {"--wav", "--png"});
  EXPECT_CLI_ERROR(run_cadenza("render " + quoted(midi) + " --wav " + quoted(dir.file("a.wav")) +
                               " --soundfont /nonexistent/none.sf2"),
                   {"/nonexistent/none.sf2", "fluid-soundfont-gm"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.wav")));
}

}  // namespace
}  // namespace cadenza
