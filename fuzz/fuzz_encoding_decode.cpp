// libFuzzer target: any token sequence decodes, without throwing, into a Score that keeps the invariants of
// score.h, for every token encoding (defaults and a few non-default specs); the grammar never dead-ends.
//
// Input layout: byte 0 picks the encoding (low bits) and the token width (bit 7: 32-bit tokens, so that huge
// and negative ids appear; otherwise 16-bit signed tokens, mostly near the vocabulary); the rest are the
// tokens, little-endian.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "encoding/encoding.h"
#include "score/score.h"

namespace {

using cadenza::Score;
using cadenza::Token;
using cadenza::TokenEncoding;

[[noreturn]] void fail(const TokenEncoding& encoding, const std::string& problem) {
  std::fprintf(stderr, "%s (spec %s): %s\n", encoding.name().c_str(), encoding.spec().dump().c_str(), problem.c_str());
  std::abort();
}

void check_invariants(const TokenEncoding& encoding, const Score& score) {
  if (score.ticks_per_quarter <= 0) fail(encoding, "ticks_per_quarter not positive");
  if (score.tempos.empty() || score.tempos.front().tick != 0) fail(encoding, "no tempo at tick 0");
  if (score.time_signatures.empty() || score.time_signatures.front().tick != 0)
    fail(encoding, "no time signature at tick 0");
  for (size_t i = 1; i < score.tempos.size(); ++i)
    if (score.tempos[i - 1].tick >= score.tempos[i].tick) fail(encoding, "tempos not strictly sorted");
  for (size_t i = 1; i < score.time_signatures.size(); ++i)
    if (score.time_signatures[i - 1].tick >= score.time_signatures[i].tick)
      fail(encoding, "time signatures not strictly sorted");
  for (const auto& track : score.tracks)
    for (size_t i = 0; i < track.notes.size(); ++i) {
      const auto& note = track.notes[i];
      if (note.pitch < 0 || note.pitch > 127) fail(encoding, "pitch out of range");
      if (note.velocity < 1 || note.velocity > 127) fail(encoding, "velocity out of range");
      if (note.start_tick < 0 || note.start_tick >= note.end_tick) fail(encoding, "empty or negative note");
      if (note.end_sec < note.start_sec) fail(encoding, "seconds run backwards");
      if (i > 0) {
        const auto& previous = track.notes[i - 1];
        if (std::tie(previous.start_tick, previous.pitch, previous.end_tick, previous.velocity) >
            std::tie(note.start_tick, note.pitch, note.end_tick, note.velocity))
          fail(encoding, "notes out of order");
      }
    }
}

std::vector<std::unique_ptr<TokenEncoding>> make_encodings() {
  std::vector<nlohmann::json> specs;
  for (const auto& name : cadenza::token_encoding_names()) specs.push_back({{"name", name}});
  specs.push_back({{"name", "melody"}, {"min_pitch", 0}, {"max_pitch", 127}, {"steps_per_quarter", 7}});
  specs.push_back({{"name", "performance"},
                   {"num_velocity_bins", 0},
                   {"min_pitch", 60},
                   {"max_pitch", 64},
                   {"max_shift_steps", 3}});
  specs.push_back({{"name", "performance"}, {"num_velocity_bins", 100}, {"steps_per_second", 7}});
  std::vector<std::unique_ptr<TokenEncoding>> encodings;
  for (const auto& spec : specs) {
    try {
      encodings.push_back(cadenza::make_token_encoding(spec));
    } catch (const cadenza::Error& error) {
      // An encoding not built into this binary: fuzz the others.
      std::fprintf(stderr, "skipping %s: %s\n", spec.dump().c_str(), error.what());
    }
  }
  return encodings;
}

// Encodings whose decode() output re-encodes to the same score (decode is canonical).
bool decode_is_canonical(const TokenEncoding& encoding) {
  return encoding.name() == "melody" || encoding.name() == "performance";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto encodings = make_encodings();
  if (size < 1 || encodings.empty()) return 0;
  const TokenEncoding& encoding = *encodings[(data[0] & 0x7f) % encodings.size()];
  const bool wide = (data[0] & 0x80) != 0;
  std::vector<Token> tokens;
  for (size_t offset = 1; offset + (wide ? 4 : 2) <= size; offset += wide ? 4 : 2) {
    if (wide) {
      int32_t value;
      std::memcpy(&value, data + offset, 4);
      tokens.push_back(value);
    } else {
      int16_t value;
      std::memcpy(&value, data + offset, 2);
      tokens.push_back(value);
    }
  }

  Score decoded;
  try {
    decoded = encoding.decode(tokens);
  } catch (const std::exception& error) {
    fail(encoding, std::string("decode threw: ") + error.what());
  }
  check_invariants(encoding, decoded);

  // The grammar: never empty, and push() takes what the mask allows. Tokens it forbids are skipped.
  auto grammar = encoding.grammar();
  std::vector<uint8_t> mask;
  std::vector<Token> grammatical;
  for (Token token : tokens) {
    grammar->allowed(mask);
    if (static_cast<int>(mask.size()) != encoding.vocabulary().size()) fail(encoding, "mask size differs");
    bool any = false;
    for (uint8_t allowed : mask) any = any || allowed;
    if (!any) fail(encoding, "grammar allows nothing after " + encoding.to_text(grammatical));
    if (token < 0 || token >= static_cast<Token>(mask.size()) || !mask[token]) continue;
    try {
      grammar->push(token);
    } catch (const std::exception& error) {
      fail(encoding, std::string("push of an allowed token threw: ") + error.what());
    }
    grammatical.push_back(token);
  }
  try {
    check_invariants(encoding, encoding.decode(grammatical));
  } catch (const std::exception& error) {
    fail(encoding, std::string("decode of a grammatical sequence threw: ") + error.what());
  }

  // A decoded score can be encoded again; for canonical decoders that round trip is exact.
  try {
    const std::vector<Token> again = encoding.encode(decoded);
    if (decode_is_canonical(encoding)) {
      const std::string difference = cadenza::describe_difference(encoding.decode(again), decoded);
      if (!difference.empty()) fail(encoding, "decode(encode(decoded)) differs: " + difference);
    }
  } catch (const cadenza::Error& error) {
    if (decode_is_canonical(encoding))
      fail(encoding, std::string("re-encoding a decoded score threw: ") + error.what());
  }
  return 0;
}
