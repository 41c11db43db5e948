// fuzz-areas: common score midi encoding data
//
// libFuzzer target for the JSON and option text a user feeds the torch-free commands: encoding specs (every
// SpecOptions reader, through make_token_encoding and PianoRollSpec::from_json, as `--set` and shard metadata give
// them), `--set key=value` and `--split` text of `dataset prepare`, and JSB chorale JSON files. Each must either
// succeed or throw cadenza::Error (never a raw nlohmann exception, a crash or a hang); an accepted spec must
// rebuild from its own spec() to the same spec.
//
// Input layout: byte 0 picks the parser (see kParsers); the rest is the text.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "data/prepare.h"
#include "data/split.h"
#include "encoding/encoding.h"
#include "encoding/pianoroll.h"
#include "score/jsb.h"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_json_config: %s\n", what.c_str());
  std::abort();
}

void token_spec(const std::string& text) {
  const nlohmann::json spec = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (spec.is_discarded()) return;
  std::unique_ptr<cadenza::TokenEncoding> encoding;
  try {
    encoding = cadenza::make_token_encoding(spec);
  } catch (const cadenza::Error&) {
    return;
  }
  const nlohmann::json canonical = encoding->spec();
  if (cadenza::make_token_encoding(canonical)->spec() != canonical)
    fail("spec() does not rebuild: " + canonical.dump());
  if (encoding->vocabulary().size() <= 0) fail("an encoding without a vocabulary: " + canonical.dump());
}

void roll_spec(const std::string& text) {
  const nlohmann::json spec = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (spec.is_discarded()) return;
  cadenza::PianoRollSpec parsed;
  try {
    parsed = cadenza::PianoRollSpec::from_json(spec);
  } catch (const cadenza::Error&) {
    return;
  }
  if (cadenza::PianoRollSpec::from_json(parsed.to_json()).to_json() != parsed.to_json())
    fail("piano-roll to_json() does not rebuild: " + parsed.to_json().dump());
}

// `--set` lines (one per line of the text) applied to an encoding's settings, then the spec resolved as
// `dataset prepare` does; the first line names the encoding.
void prepare_settings(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  nlohmann::json settings = nlohmann::json::object();
  try {
    for (size_t i = 1; i < lines.size(); ++i) cadenza::apply_setting(settings, lines[i]);
    cadenza::resolve_encoding_spec(lines[0], settings);
  } catch (const cadenza::Error&) {
  }
  try {
    const cadenza::SplitRatios ratios = cadenza::SplitRatios::parse(lines[0]);
    if (!(ratios.train >= 0 && ratios.valid >= 0 && ratios.test >= 0)) fail("negative split ratio from " + lines[0]);
    cadenza::SplitRatios::parse(ratios.to_string());
  } catch (const cadenza::Error&) {
  }
}

void jsb_json(const std::string& text) {
  // A plain write (no fsync): the loader reads files, and an fsync per input would slow the fuzzer a hundredfold.
  static const std::string path = "/tmp/fuzz_json_config." + std::to_string(::getpid()) + ".json";
  FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) fail("cannot write " + path);
  std::fwrite(text.data(), 1, text.size(), out);
  std::fclose(out);
  for (auto layout : {cadenza::JsbLayout::kAuto, cadenza::JsbLayout::kSeparated}) {
    cadenza::JsbOptions options;
    options.layout = layout;
    try {
      for (const auto& piece : cadenza::load_jsb_json(path, options))
        for (const auto& track : piece.score.tracks)
          for (const auto& note : track.notes)
            if (note.start_tick >= note.end_tick || note.pitch < 0 || note.pitch > 127) fail("a bad JSB note");
    } catch (const cadenza::Error&) {
    }
  }
}

using Parser = void (*)(const std::string&);
constexpr Parser kParsers[] = {token_spec, roll_spec, prepare_settings, jsb_json};

void write_seed(const std::string& dir, const std::string& name, uint8_t parser, const std::string& text) {
  const std::string bytes = std::string(1, static_cast<char>(parser)) + text;
  cadenza::write_file_atomic(dir + "/" + name, bytes);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("CADENZA_FUZZ_WRITE_SEEDS")) {
    for (const auto& name : cadenza::token_encoding_names())
      write_seed(dir, "spec-" + name, 0, cadenza::make_token_encoding({{"name", name}})->spec().dump());
    write_seed(dir, "spec-remi-programs", 0, R"({"name": "remi", "use_programs": true, "positions_per_quarter": 12})");
    write_seed(dir, "spec-melody-bad", 0, R"({"name": "melody", "min_pitch": 90, "max_pitch": 20, "extra": [1]})");
    write_seed(dir, "spec-roll", 1, cadenza::PianoRollSpec{}.to_json().dump());
    write_seed(dir, "spec-roll-tracks", 1, R"({"num_tracks": 4, "lowest_pitch": 36, "highest_pitch": 83})");
    write_seed(dir, "set-melody", 2, "melody\nsteps_per_quarter=4\nmin_pitch=48\ntrack=\"lead\"");
    write_seed(dir, "set-pianoroll", 2, "pianoroll\nnum_tracks=2\nmerge_all_tracks=true");
    write_seed(dir, "split", 2, "0.8,0.1,0.1");
    write_seed(dir, "jsb-combined", 3, R"({"train": [[[60, 64, 67], [60, 64], []], [[72.0]]], "test": [[[48]]]})");
    write_seed(dir, "jsb-separated", 3, R"({"valid": [[[72, 67, 64, 48], [72, -1, 64, 48]]]})");
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Parser parser = kParsers[data[0] % (sizeof kParsers / sizeof kParsers[0])];
  parser(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  return 0;
}
