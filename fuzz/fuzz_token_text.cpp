// fuzz-areas: common score encoding
//
// libFuzzer target for the token text of every token encoding (TokenEncoding::from_text, what `--primer` style
// options and tests feed): any text either parses or throws cadenza::Error naming the bad token; parsed tokens are
// in the vocabulary, print back to text that parses to the same tokens, and decode to a valid score.
//
// Input layout: byte 0 picks the encoding; the rest is the text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "encoding/encoding.h"
#include "score/score.h"

namespace {

[[noreturn]] void fail(const cadenza::TokenEncoding& encoding, const std::string& what) {
  std::fprintf(stderr, "fuzz_token_text (%s): %s\n", encoding.name().c_str(), what.c_str());
  std::abort();
}

std::vector<std::unique_ptr<cadenza::TokenEncoding>> make_encodings() {
  std::vector<std::unique_ptr<cadenza::TokenEncoding>> encodings;
  for (const auto& name : cadenza::token_encoding_names())
    encodings.push_back(cadenza::make_token_encoding({{"name", name}}));
  encodings.push_back(cadenza::make_token_encoding({{"name", "remi"}, {"use_programs", true}}));
  return encodings;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("CADENZA_FUZZ_WRITE_SEEDS")) {
    const auto encodings = make_encodings();
    for (size_t e = 0; e < encodings.size(); ++e) {
      // A few real names of each vocabulary, in the order the vocabulary lists them, with odd spacing.
      const auto& names = encodings[e]->vocabulary().names();
      std::string text(1, static_cast<char>(e));
      for (size_t i = 0; i < names.size(); i += names.size() / 7 + 1) text += names[i] + (i % 2 ? "  " : "\n");
      FILE* out = std::fopen((std::string(dir) + "/text-" + std::to_string(e)).c_str(), "wb");
      if (out == nullptr) std::exit(1);
      std::fwrite(text.data(), 1, text.size(), out);
      std::fclose(out);
    }
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto encodings = make_encodings();
  if (size < 1) return 0;
  const cadenza::TokenEncoding& encoding = *encodings[data[0] % encodings.size()];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<cadenza::Token> tokens;
  try {
    tokens = encoding.from_text(text);
  } catch (const cadenza::Error& error) {
    if (std::string(error.what()).empty()) fail(encoding, "an empty error message");
    return 0;
  }
  for (cadenza::Token token : tokens)
    if (token < 0 || token >= encoding.vocabulary().size())
      fail(encoding, "from_text gave a token outside the vocabulary");
  const std::string printed = encoding.to_text(tokens);
  std::vector<cadenza::Token> again;
  try {
    again = encoding.from_text(printed);
  } catch (const cadenza::Error& error) {
    fail(encoding, std::string("to_text output does not parse: ") + error.what());
  }
  if (again != tokens) fail(encoding, "from_text(to_text(tokens)) differs");
  try {
    const cadenza::Score score = encoding.decode(tokens);
    if (score.ticks_per_quarter <= 0) fail(encoding, "decoded score without a resolution");
  } catch (const std::exception& error) {
    fail(encoding, std::string("decode threw: ") + error.what());
  }
  return 0;
}
