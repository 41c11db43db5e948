#include "studio/request_options.h"

#include <cmath>
#include <cstdio>

#include "data/style_blend.h"
#include "score/chords.h"
#include "score/key.h"
#include "studio/http_error.h"

namespace cadenza::studio {

using nlohmann::json;

namespace {

constexpr double kMaxTemperature = 5.0;
constexpr int kMaxTopK = 1024;
constexpr double kMinQpm = 20, kMaxQpm = 400;
constexpr double kMaxTruncation = 10;
constexpr uint64_t kMaxSeed = (uint64_t(1) << 53) - 1;  // exact in a JavaScript number
constexpr size_t kMaxChordsText = 1000;                 // about 100 bars of chord symbols

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

[[noreturn]] void bad(const std::string& message) {
  throw HttpError(400, message);
}

json control(const std::string& name, const std::string& label, const std::string& type, double min, double max,
             double step, json fallback) {
  return {{"name", name},
          {"label", label},
          {"type", type},
          {"min", min},
          {"max", max},
          {"step", step},
          {"default", std::move(fallback)}};
}

// A choice (a tune header's meter or key, a style): `choices` shown as `labels`, the first ("": the model's own, the
// even blend) the default.
json header_choice(const std::string& name, const std::string& label, const json& choices, const json& labels) {
  return {{"name", name},      {"label", label},           {"type", "choice"},
          {"choices", choices}, {"choice_labels", labels}, {"default", ""}};
}

// A choice among `names`, each shown as it is, after "" shown as `unchosen` (the model's own choice, the blend).
json list_choice(const std::string& name, const std::string& label, const std::string& unchosen,
                 const std::vector<std::string>& names) {
  json choices = json::array({""}), labels = json::array({unchosen});
  for (const std::string& item : names) {
    choices.push_back(item);
    labels.push_back(item);
  }
  return header_choice(name, label, choices, labels);
}

}  // namespace

json StudioLimits::to_json() const {
  return {{"max_bars", max_bars},
          {"max_variations", max_variations},
          {"max_interpolation_steps", max_interpolation_steps},
          {"max_queue", max_queue},
          {"max_body_bytes", max_body_bytes},
          {"max_wav_seconds", max_wav_seconds}};
}

json controls_json(const SamplerCapabilities& caps, const StudioLimits& limits) {
  json controls = json::array();
  controls.push_back(control("bars", "Length (bars)", "integer", 1, limits.max_bars, 1, 8));
  controls.push_back(control("variations", "Variations", "integer", 1, limits.max_variations, 1, 1));
  if (caps.temperature) {
    json temperature =
        control("temperature", "Temperature", "number", 0, kMaxTemperature, 0.05, caps.default_temperature);
    // A piano-roll GAN draws only when it binarises by Bernoulli draws; its threshold draws nothing.
    if (caps.binarize) temperature["only_with"] = {{"binarize", "bernoulli"}};
    controls.push_back(temperature);
  }
  if (caps.top_k_top_p) {
    controls.push_back(control("top_k", "Top-k (0 = all)", "integer", 0, kMaxTopK, 1, 0));
    controls.push_back(control("top_p", "Top-p", "number", 0.01, 1, 0.01, 1.0));
  }
  if (caps.truncation) controls.push_back(control("truncation", "Truncation (0 = none)", "number", 0, 4, 0.1, 0.0));
  if (caps.binarize) {
    controls.push_back({{"name", "binarize"},
                        {"label", "Binarisation"},
                        {"type", "choice"},
                        {"choices", {"threshold", "bernoulli"}},
                        {"default", "threshold"}});
    json threshold = control("threshold", "Threshold", "number", 0, 1, 0.05, 0.5);
    threshold["only_with"] = {{"binarize", "threshold"}};
    controls.push_back(threshold);
  }
  if (caps.until_end) {
    controls.push_back({{"name", "until_end"},
                        {"label", "Let the model end the tune (the length is then the most)"},
                        {"type", "boolean"},
                        {"default", false}});
  }
  if (!caps.meters.empty()) {
    // A new tune's header: "" is the model's own choice.
    controls.push_back(list_choice("meter", "Meter", "the model's choice", caps.meters));
    json keys = json::array({""}), key_labels = json::array(
                                        {caps.one_key ? "C major / A minor (the model's)" : "the model's choice"});
    for (const ScaleMode mode : {ScaleMode::kMajor, ScaleMode::kMinor})
      for (int root = 0; root < 12; ++root) {
        const std::string name = key_name(Key{root, mode});
        keys.push_back(name);
        key_labels.push_back(mode == ScaleMode::kMinor ? name.substr(0, name.size() - 1) + " minor" : name + " major");
      }
    controls.push_back(header_choice("key", "Key", keys, key_labels));
  }
  if (caps.chords) {
    // A chord model: the progression the melody is written over ("" = none; then the model writes without chords).
    controls.push_back({{"name", "chords"},
                        {"label", "Chords (bars separated by |; empty: none)"},
                        {"type", "text"},
                        {"max_length", kMaxChordsText},
                        {"placeholder", "D | G | D | A7 | D | G | A7 | D"},
                        {"default", ""}});
  }
  if (!caps.styles.empty()) controls.push_back(list_choice("style", "Style", "an even blend of all", caps.styles));
  controls.push_back(control("seed", "Seed", "integer", 0, static_cast<double>(kMaxSeed), 1, 1));
  controls.push_back(control("qpm", "Tempo (qpm)", "number", kMinQpm, kMaxQpm, 1, 120.0));
  return controls;
}

int integer_field(const json& body, const std::string& key, int low, int high, int fallback) {
  if (!body.contains(key)) return fallback;
  const json& value = body[key];
  if (!value.is_number_integer() || value.get<int64_t>() < low || value.get<int64_t>() > high)
    bad(key + " must be an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "], got " +
        value.dump());
  return value.get<int>();
}

double number_field(const json& body, const std::string& key, double low, double high, double fallback) {
  if (!body.contains(key)) return fallback;
  const json& value = body[key];
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < low ||
      value.get<double>() > high)
    bad(key + " must be a number in [" + number_text(low) + ", " + number_text(high) + "], got " + value.dump());
  return value.get<double>();
}

bool boolean_field(const json& body, const std::string& key, bool fallback) {
  if (!body.contains(key)) return fallback;
  if (!body[key].is_boolean()) bad(key + " must be true or false, got " + body[key].dump());
  return body[key].get<bool>();
}

std::string string_field(const json& body, const std::string& key) {
  if (!body.contains(key)) bad(key + " is missing");
  if (!body[key].is_string() || body[key].get<std::string>().empty() || body[key].get<std::string>().size() > 200)
    bad(key + " must be a non-empty string of at most 200 characters, got " + body[key].dump());
  return body[key].get<std::string>();
}

SampleRequest sample_request_from_json(const json& body, const SamplerCapabilities& caps, const StudioLimits& limits,
                                       const std::set<std::string>& job_keys, double default_bars) {
  if (!body.is_object()) bad("the request body must be a JSON object");
  static const std::set<std::string> generation_keys = {"bars",  "temperature", "top_k",    "top_p",     "seed",
                                                        "qpm",   "truncation",  "binarize", "threshold", "until_end",
                                                        "meter", "key",         "chords",   "style"};
  for (const auto& [key, value] : body.items()) {
    if (generation_keys.count(key) || job_keys.count(key)) continue;
    std::string known;
    for (const auto& name : generation_keys) known += (known.empty() ? "" : ", ") + name;
    for (const auto& name : job_keys) known += ", " + name;
    bad("unknown option \"" + key + "\" (known: " + known + ")");
  }
  const std::string model = "a " + caps.family + " model";
  auto refuse_unless = [&](bool supported, const std::string& key, const std::string& why) {
    if (!supported && body.contains(key)) bad(key + " does not apply to " + model + ": " + why);
  };
  refuse_unless(caps.temperature, "temperature", "it draws nothing a temperature could scale");
  refuse_unless(caps.top_k_top_p, "top_k", "it does not sample tokens");
  refuse_unless(caps.top_k_top_p, "top_p", "it does not sample tokens");
  refuse_unless(caps.truncation, "truncation", "it draws no latent");
  refuse_unless(caps.binarize, "binarize", "it does not binarise a piano roll");
  refuse_unless(caps.binarize, "threshold", "it does not binarise a piano roll");
  refuse_unless(caps.until_end, "until_end", "its encoding has no end of a tune");
  refuse_unless(!caps.meters.empty(), "meter", "it reads no tune header (melody with structure=true)");
  refuse_unless(!caps.meters.empty(), "key", "it reads no tune header (melody with structure=true)");
  refuse_unless(caps.chords, "chords", "it reads no chords (chord_conditioning)");
  refuse_unless(!caps.styles.empty(), "style", "it reads no style (style_conditioning)");

  SampleRequest request;
  request.bars = number_field(body, "bars", 1, limits.max_bars, default_bars);
  request.sampling.temperature = number_field(body, "temperature", 0, kMaxTemperature, caps.default_temperature);
  request.sampling.top_k = integer_field(body, "top_k", 0, kMaxTopK, 0);
  request.sampling.top_p = number_field(body, "top_p", 0.01, 1, 1.0);
  request.qpm = number_field(body, "qpm", kMinQpm, kMaxQpm, 120.0);
  request.truncation = number_field(body, "truncation", 0, kMaxTruncation, 0.0);
  if (body.contains("seed")) {
    const json& seed = body["seed"];
    if (!seed.is_number_unsigned() && !(seed.is_number_integer() && seed.get<int64_t>() >= 0))
      bad("seed must be an integer in [0, " + std::to_string(kMaxSeed) + "], got " + seed.dump());
    if (seed.get<uint64_t>() > kMaxSeed)
      bad("seed must be an integer in [0, " + std::to_string(kMaxSeed) + "], got " + seed.dump());
    request.seed = seed.get<uint64_t>();
  }
  if (body.contains("binarize")) {
    const json& binarize = body["binarize"];
    if (!binarize.is_string() || (binarize != "threshold" && binarize != "bernoulli"))
      bad("binarize must be \"threshold\" or \"bernoulli\", got " + binarize.dump());
    request.binarize = binarize.get<std::string>();
  }
  request.threshold = number_field(body, "threshold", 0, 1, 0.5);
  request.until_end = boolean_field(body, "until_end", false);
  // meter / key: "" (or absent) is the model's choice; a value is checked by check_sample_request below.
  for (const auto& [name, field] : {std::pair{"meter", &request.meter}, std::pair{"key", &request.key}}) {
    if (!body.contains(name)) continue;
    const json& value = body[name];
    if (!value.is_string() || value.get<std::string>().size() > 16)
      bad(std::string(name) + " must be a string of at most 16 characters (\"\" = the model's choice), got " +
          value.dump());
    *field = value.get<std::string>();
  }
  // chords: a progression of chord symbols ("" = none), checked here so that a bad symbol is named before the job.
  if (body.contains("chords")) {
    const json& chords = body["chords"];
    if (!chords.is_string() || chords.get<std::string>().size() > kMaxChordsText)
      bad("chords must be a string of at most " + std::to_string(kMaxChordsText) +
          " characters (chord symbols, bars separated by |; \"\" = none), got " + chords.dump().substr(0, 80));
    request.chords = chords.get<std::string>();
    if (request.chords.find_first_not_of(" \t") == std::string::npos) request.chords.clear();
    if (!request.chords.empty()) {
      try {
        parse_chord_progression(request.chords);
      } catch (const Error& error) {
        bad(std::string("chords: ") + error.what());
      }
    }
  }
  // style: one of the model's styles ("" = the even blend of all).
  if (body.contains("style")) {
    const json& style = body["style"];
    if (!style.is_string()) bad("style must be a string (\"\" = an even blend of all), got " + style.dump());
    request.style = style.get<std::string>();
    if (!request.style.empty()) {
      try {
        parse_style_mixture(request.style, caps.styles);
      } catch (const Error& error) {
        bad(std::string("style: ") + error.what());
      }
    }
  }
  if (caps.binarize && caps.temperature && request.binarize != "bernoulli" && body.contains("temperature"))
    bad("temperature applies to " + model + " with binarize \"bernoulli\" only (a threshold draws nothing)");
  if (request.binarize == "bernoulli" && body.contains("threshold"))
    bad("threshold applies with binarize \"threshold\" only");
  // The sampler's own checks, as a backstop (their messages name CLI options).
  try {
    check_sample_request(request, caps, "options");
  } catch (const Error& error) {
    bad(error.what());
  }
  return request;
}

}  // namespace cadenza::studio
