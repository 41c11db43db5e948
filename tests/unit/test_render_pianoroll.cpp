// Piano-roll pictures: PNG structure and pixels, SVG notes, layout rules (pitch range, caps, empty scores).
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "render/pianoroll_image.h"
#include "render/png.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

// ---- a small PNG reader: chunk walk with CRC checks, IDAT inflate --------------------------------------------

struct DecodedPng {
  uint32_t width = 0, height = 0;
  int bit_depth = 0, colour_type = 0, interlace = 0;
  std::vector<uint8_t> scanlines;  // inflated IDAT: per row one filter byte then the pixels
  int channels() const { return colour_type == 6 ? 4 : 3; }
  // Pixel (x, y) of an unfiltered (filter 0) image.
  Rgb pixel(int x, int y) const {
    const size_t at = size_t(y) * (1 + size_t(width) * channels()) + 1 + size_t(x) * channels();
    return {scanlines[at], scanlines[at + 1], scanlines[at + 2]};
  }
};

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | uint32_t(b[at + 3]);
}

DecodedPng decode_png(const std::vector<uint8_t>& bytes) {
  DecodedPng png;
  const std::vector<uint8_t> signature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  EXPECT_TRUE(bytes.size() >= 8 && std::equal(signature.begin(), signature.end(), bytes.begin())) << "PNG signature";
  std::vector<uint8_t> idat;
  std::vector<std::string> chunk_types;
  for (size_t at = 8; at + 12 <= bytes.size();) {
    const uint32_t length = be32(bytes, at);
    EXPECT_LE(at + 12 + length, bytes.size());
    if (at + 12 + length > bytes.size()) break;
    const std::string type(bytes.begin() + at + 4, bytes.begin() + at + 8);
    chunk_types.push_back(type);
    const uint32_t crc = static_cast<uint32_t>(crc32(0L, bytes.data() + at + 4, 4 + length));
    EXPECT_EQ(crc, be32(bytes, at + 8 + length)) << "CRC of " << type;
    const size_t data = at + 8;
    if (type == "IHDR") {
      EXPECT_EQ(length, 13u);
      png.width = be32(bytes, data);
      png.height = be32(bytes, data + 4);
      png.bit_depth = bytes[data + 8];
      png.colour_type = bytes[data + 9];
      png.interlace = bytes[data + 12];
    } else if (type == "IDAT") {
      idat.insert(idat.end(), bytes.begin() + data, bytes.begin() + data + length);
    }
    at += 12 + length;
  }
  EXPECT_FALSE(chunk_types.empty());
  if (!chunk_types.empty()) {
    EXPECT_EQ(chunk_types.front(), "IHDR");
    EXPECT_EQ(chunk_types.back(), "IEND");
  }
  // Inflate into a buffer one byte larger than expected, so that a too-long stream is noticed.
  const size_t expected = size_t(png.height) * (1 + size_t(png.width) * png.channels());
  std::vector<uint8_t> out(expected + 1);
  uLongf out_size = out.size();
  EXPECT_EQ(uncompress(out.data(), &out_size, idat.data(), idat.size()), Z_OK);
  out.resize(out_size);
  png.scanlines = std::move(out);
  return png;
}

// ---- fixtures ---------------------------------------------------------------------------------------------

Note note(int pitch, int64_t start_tick, int64_t end_tick, int velocity = 127) {
  Note n;
  n.pitch = pitch;
  n.velocity = velocity;
  n.start_tick = start_tick;
  n.end_tick = end_tick;
  return n;
}

// 4/4 at 480 ticks per quarter; "melody": C4 on beat 2 at full velocity and E4 on beats 3-4; "bass": G3 at
// velocity 64 over the whole bar.
Score two_track_score() {
  Score score = make_empty_score(480, 120.0);
  score.tracks.push_back({"melody", 0, false, 0, {note(60, 480, 960), note(64, 960, 1920)}});
  score.tracks.push_back({"bass & <friends>", 32, false, 1, {note(55, 0, 1920, 64)}});
  score.normalize();
  return score;
}

ImageOptions options(double pixels_per_quarter, int pixels_per_pitch) {
  ImageOptions o;
  o.pixels_per_quarter = pixels_per_quarter;
  o.pixels_per_pitch = pixels_per_pitch;
  return o;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// ---- PNG --------------------------------------------------------------------------------------------------

TEST(RenderPianoRoll, PngHeaderMatchesTheLayoutAndInflatesToWholeScanlines) {
  ImageResult result;
  const std::vector<uint8_t> bytes = piano_roll_png(two_track_score(), options(24, 8), &result);
  const DecodedPng png = decode_png(bytes);
  // One 4/4 bar = 4 quarters * 24 px, plus the closing bar-line column.
  EXPECT_EQ(png.width, 97u);
  // Pitches 55..64 with a margin of 2: 53..66 = 14 rows of 8 px under the legend.
  EXPECT_EQ(result.lowest_pitch, 53);
  EXPECT_EQ(result.highest_pitch, 66);
  EXPECT_EQ(png.height, static_cast<uint32_t>(result.legend_height + 14 * 8));
  EXPECT_EQ(png.width, static_cast<uint32_t>(result.width));
  EXPECT_EQ(png.height, static_cast<uint32_t>(result.height));
  EXPECT_EQ(png.bit_depth, 8);
  EXPECT_EQ(png.colour_type, 2);
  EXPECT_EQ(png.interlace, 0);
  ASSERT_EQ(png.scanlines.size(), size_t(png.height) * (1 + size_t(png.width) * 3));
  for (uint32_t y = 0; y < png.height; ++y) EXPECT_EQ(png.scanlines[y * (1 + png.width * 3)], 0) << "filter, row " << y;
  EXPECT_FALSE(result.scaled_down);
}

TEST(RenderPianoRoll, PngNotesHaveTheirTrackColourWhereTheGeometrySaysAndShadeWithVelocity) {
  ImageResult result;
  const DecodedPng png = decode_png(piano_roll_png(two_track_score(), options(24, 8), &result));
  ASSERT_EQ(png.scanlines.size(), size_t(png.height) * (1 + size_t(png.width) * 3));
  auto row_middle = [&](int pitch) { return result.legend_height + (result.highest_pitch - pitch) * 8 + 4; };
  // C4 covers ticks 480..960 = x 24..48: its middle has the melody colour at full strength.
  EXPECT_EQ(png.pixel(36, row_middle(60)), track_colour(0));
  EXPECT_EQ(png.pixel(36, row_middle(60)), note_colour(0, 127));
  // Just before it (x 20) the C4 row is background, not the note colour.
  EXPECT_NE(png.pixel(20, row_middle(60)), track_colour(0));
  // E4 covers x 48..96.
  EXPECT_EQ(png.pixel(70, row_middle(64)), track_colour(0));
  // The bass at velocity 64 is a lighter shade of the second palette colour.
  const Rgb bass = png.pixel(60, row_middle(55));
  EXPECT_EQ(bass, note_colour(1, 64));
  EXPECT_NE(bass, track_colour(1));
  for (size_t c = 0; c < 3; ++c) EXPECT_GE(bass[c], track_colour(1)[c]) << "shaded towards white";
  // Rows without notes at that time (D4 at x 36) are background.
  EXPECT_NE(png.pixel(36, row_middle(62)), track_colour(0));
}

TEST(RenderPianoRoll, PngDrawsBarLinesOctaveLinesAndALegendStrip) {
  ImageResult result;
  const DecodedPng png = decode_png(piano_roll_png(two_track_score(), options(24, 8), &result));
  ASSERT_EQ(png.scanlines.size(), size_t(png.height) * (1 + size_t(png.width) * 3));
  const int d4_middle = result.legend_height + (result.highest_pitch - 62) * 8 + 4;
  const Rgb background = png.pixel(30, d4_middle);  // white-key row, between bar lines, no note
  EXPECT_EQ(background, (Rgb{255, 255, 255}));
  EXPECT_NE(png.pixel(0, d4_middle), background) << "bar line at tick 0";
  EXPECT_NE(png.pixel(96, d4_middle), background) << "closing bar line at tick 1920";
  // The last pixel row of the C4 row is the octave line (x 10: before the C4 note starts).
  const int c4_bottom = result.legend_height + (result.highest_pitch - 60) * 8 + 7;
  EXPECT_NE(png.pixel(10, c4_bottom), background);
  EXPECT_EQ(png.pixel(10, c4_bottom - 1), background);
  // Legend: one swatch per track in its colour.
  EXPECT_EQ(png.pixel(4 + 8, result.legend_height / 2), track_colour(0));
  EXPECT_EQ(png.pixel(24 + 8, result.legend_height / 2), track_colour(1));
}

TEST(RenderPianoRoll, EmptyScoreRendersAnEmptyGrid) {
  testing::TempDir dir;
  const Score empty = make_empty_score(96, 100.0, 3, 4);
  const ImageResult png_result = render_piano_roll_png(empty, dir.file("empty.png"), options(10, 4));
  const DecodedPng png = decode_png(read_file_bytes(dir.file("empty.png")));
  // One 3/4 bar = 30 px + 1; a default range of two octaves (25 rows).
  EXPECT_EQ(png.width, 31u);
  EXPECT_EQ(png_result.highest_pitch - png_result.lowest_pitch + 1, 25);
  EXPECT_EQ(png.height, static_cast<uint32_t>(png_result.legend_height + 25 * 4));
  EXPECT_EQ(png.scanlines.size(), size_t(png.height) * (1 + size_t(png.width) * 3));

  const ImageResult svg_result = render_piano_roll_svg(empty, dir.file("empty.svg"), options(10, 4));
  const std::string svg = read_file_text(dir.file("empty.svg"));
  EXPECT_EQ(svg_result.width, png_result.width);
  EXPECT_EQ(count(svg, "class=\"note\""), 0u);
  EXPECT_EQ(count(svg, "<line x1=\"0.5\""), 1u) << "the opening bar line";
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
}

TEST(RenderPianoRoll, WidthIsCappedByScalingTimeDown) {
  Score score = make_empty_score(480, 120.0);
  score.tracks.push_back({"long", 0, false, 0, {note(60, 0, 480 * 4000), note(62, 480 * 4000, 480 * 8000)}});
  score.normalize();
  ImageOptions o = options(24, 4);
  o.max_width = 2000;
  ImageResult result;
  const DecodedPng png = decode_png(piano_roll_png(score, o, &result));
  EXPECT_TRUE(result.scaled_down);
  EXPECT_LE(png.width, 2000u);
  EXPECT_GE(png.width, 1990u) << "scaled to fit, not shrunk needlessly";
  EXPECT_EQ(png.width, static_cast<uint32_t>(result.width));
  EXPECT_LT(result.pixels_per_quarter, 24.0);
  EXPECT_NE(result.note.find("2000"), std::string::npos) << result.note;
  // The second note starts halfway: its first column follows the scaled geometry.
  const int y = result.legend_height + (result.highest_pitch - 62) * 4 + 2;
  const int x = static_cast<int>(std::lround(4000 * result.pixels_per_quarter));
  EXPECT_EQ(png.pixel(x + 3, y), track_colour(0));
  EXPECT_NE(png.pixel(x - 3, y), track_colour(0));
}

TEST(RenderPianoRoll, AbsurdlyLongScoreStaysWithinTheCapsWithoutBarLines) {
  // A corrupt file can put a note at tick 2^40: the picture must stay small and cheap, and say what it left out.
  Score score = make_empty_score(1, 120.0);
  score.tracks.push_back({"far", 0, false, 0, {note(60, 0, 1), note(61, int64_t(1) << 40, (int64_t(1) << 40) + 1)}});
  score.normalize();
  ImageResult result;
  const std::string svg = piano_roll_svg(score, options(24, 4), &result);
  EXPECT_LE(result.width, 16384);
  EXPECT_TRUE(result.scaled_down);
  EXPECT_NE(result.note.find("bar lines omitted"), std::string::npos) << result.note;
  EXPECT_EQ(count(svg, "class=\"note\""), 2u);
  EXPECT_EQ(count(svg, "<line x1=\"0.5\""), 0u);
}

TEST(RenderPianoRoll, FixedPitchRangeIsHonouredAndNotesOutsideItAreLeftOut) {
  ImageOptions o = options(24, 2);
  o.fixed_lowest_pitch = 58;
  o.fixed_highest_pitch = 62;
  ImageResult result;
  const std::string svg = piano_roll_svg(two_track_score(), o, &result);
  EXPECT_EQ(result.lowest_pitch, 58);
  EXPECT_EQ(result.highest_pitch, 62);
  EXPECT_EQ(result.height, result.legend_height + 5 * 2);
  EXPECT_EQ(count(svg, "class=\"note\""), 1u) << "only C4 lies in 58..62";
}

TEST(RenderPianoRoll, InvalidOptionsAreErrors) {
  const Score score = two_track_score();
  EXPECT_THROW_WITH(piano_roll_png(score, options(0, 4)), Error, {"pixels per quarter note", "(0, 10000]", "not 0"});
  EXPECT_THROW_WITH(piano_roll_png(score, options(24, 0)), Error, {"pixels per pitch", "1..64", "not 0"});
  ImageOptions reversed = options(24, 4);
  reversed.fixed_lowest_pitch = 70;
  reversed.fixed_highest_pitch = 60;
  EXPECT_THROW_WITH(piano_roll_svg(score, reversed), Error, {"fixed pitch range", "not 70..60"});
  Score no_resolution = score;
  no_resolution.ticks_per_quarter = 0;
  EXPECT_THROW_WITH(piano_roll_svg(no_resolution, {}), Error, {"score has 0 ticks per quarter"});
  ImageOptions narrow = options(24, 4);
  narrow.max_width = 10;
  EXPECT_THROW_WITH(piano_roll_svg(score, narrow), Error, {"maximum width", "at least 64 pixels, not 10"});
}

// ---- SVG --------------------------------------------------------------------------------------------------

TEST(RenderPianoRoll, SvgHasOneRectPerNoteAtTheExpectedPlace) {
  ImageResult result;
  const std::string svg = piano_roll_svg(two_track_score(), options(24, 8), &result);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_EQ(count(svg, "<svg"), 1u);
  EXPECT_EQ(count(svg, "<g"), count(svg, "</g>"));
  EXPECT_EQ(count(svg, "class=\"note\""), 3u);
  const int c4_top = result.legend_height + (result.highest_pitch - 60) * 8;
  EXPECT_NE(svg.find("<rect class=\"note\" x=\"24\" y=\"" + std::to_string(c4_top) + "\" width=\"24\" height=\"8\""),
            std::string::npos)
      << svg;
  EXPECT_NE(svg.find("x=\"48\" y=\"" + std::to_string(c4_top - 4 * 8) + "\" width=\"48\""), std::string::npos);
  EXPECT_NE(svg.find("width=\"" + std::to_string(result.width) + "\""), std::string::npos);
}

TEST(RenderPianoRoll, SvgFractionalGeometryAndEscapedTrackNames) {
  const std::string svg = piano_roll_svg(two_track_score(), options(10, 4));
  // 480 ticks at 10 px per quarter: x 10, width 10; a quarter of a quarter would be 2.5.
  EXPECT_NE(svg.find("class=\"note\" x=\"10\""), std::string::npos);
  EXPECT_NE(svg.find(">bass &amp; &lt;friends&gt;</text>"), std::string::npos) << "legend names the track";
  EXPECT_EQ(svg.find("<friends>"), std::string::npos) << "raw markup from a track name";
  Score odd = make_empty_score(480);
  odd.tracks.push_back({"caf\xe9\x01", 0, false, 0, {note(60, 120, 240)}});  // Latin-1 and a control byte
  odd.normalize();
  const std::string odd_svg = piano_roll_svg(odd, options(10, 4));
  EXPECT_NE(odd_svg.find(">caf?"
                         "?</text>"),
            std::string::npos);
  EXPECT_NE(odd_svg.find("x=\"2.5\""), std::string::npos);
}

// ---- the PNG encoder on its own -----------------------------------------------------------------------------

TEST(RenderPng, EncodesRgbaPixelsExactly) {
  const std::vector<uint8_t> pixels = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                                       13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
  const DecodedPng png = decode_png(encode_png(3, 2, 4, pixels));
  EXPECT_EQ(png.width, 3u);
  EXPECT_EQ(png.height, 2u);
  EXPECT_EQ(png.colour_type, 6);
  ASSERT_EQ(png.scanlines.size(), 2u * (1 + 3 * 4));
  EXPECT_EQ(png.scanlines[1], 1);
  EXPECT_EQ(png.scanlines[13], 0) << "second row's filter byte";
  EXPECT_EQ(png.scanlines[14], 13);
  EXPECT_EQ(png.scanlines.back(), 24);
  EXPECT_THROW_WITH(encode_png(3, 2, 3, pixels), Error, {"24 bytes of pixels", "3x2 image"}) << "size mismatch";
  EXPECT_THROW_WITH(encode_png(0, 2, 3, {}), Error, {"image of 0x2 pixels", "no area"});
  EXPECT_THROW_WITH(encode_png(3, 2, 2, pixels), Error, {"not 2 channels"});
}

}  // namespace
}  // namespace cadenza
