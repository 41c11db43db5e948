#include "score/jsb.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/error.h"
#include "common/file_io.h"

namespace cadenza {

namespace {

constexpr int kJsbTicksPerQuarter = 480;
constexpr int kVoices = 4;  // soprano, alto, tenor, bass in the separated layout
constexpr int kSilence = -1;
constexpr const char* kVoiceNames[kVoices] = {"soprano", "alto", "tenor", "bass"};
constexpr size_t kMaxFileBytes = size_t(1) << 30;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Where in the file a problem is, for messages: "split 'train' piece 3 step 17".
std::string location(Split split, size_t piece, size_t step) {
  return std::string("split '") + split_name(split) + "' piece " + std::to_string(piece) + " step " +
         std::to_string(step);
}

// Reads one pitch entry: an integer, or a float holding an integral value (the 8th/16th files write 73.0).
int read_pitch(const nlohmann::json& value, bool allow_silence, const std::string& path, Split split, size_t piece,
               size_t step) {
  double number = 0.0;
  if (value.is_number_integer()) {
    // Unsigned values above int range must not wrap into a valid pitch.
    if (value.is_number_unsigned() && value.get<uint64_t>() > 1000)
      throw FormatError(path, -1, location(split, piece, step) + ": pitch " + value.dump() + " outside 0..127");
    number = static_cast<double>(value.get<int64_t>());
  } else if (value.is_number_float()) {
    number = value.get<double>();
    if (number != std::floor(number))
      throw FormatError(path, -1, location(split, piece, step) + ": pitch " + value.dump() + " is not a whole number");
  } else {
    throw FormatError(path, -1,
                      location(split, piece, step) + ": expected a pitch number, found " + value.type_name() + " " +
                          value.dump().substr(0, 40));
  }
  if (allow_silence && number == kSilence) return kSilence;
  if (!(number >= 0 && number <= 127))
    throw FormatError(path, -1, location(split, piece, step) + ": pitch " + value.dump() + " outside 0..127");
  return static_cast<int>(number);
}

const nlohmann::json& expect_array(const nlohmann::json& value, const std::string& path, const std::string& where,
                                   const char* what) {
  if (!value.is_array())
    throw FormatError(path, -1, where + ": expected " + what + " (a JSON array), found " + value.type_name());
  return value;
}

bool any_silence(const nlohmann::json& root) {
  for (const auto& [key, pieces] : root.items()) {
    if (!pieces.is_array()) continue;
    for (const auto& piece : pieces) {
      if (!piece.is_array()) continue;
      for (const auto& step : piece) {
        if (!step.is_array()) continue;
        for (const auto& pitch : step)
          if (pitch.is_number() && pitch.get<double>() == kSilence) return true;
      }
    }
  }
  return false;
}

Score empty_piece_score(const std::string& path, const JsbOptions& options) {
  Score score = make_empty_score(kJsbTicksPerQuarter, options.qpm, 4, 4);
  score.source = path;
  return score;
}

// Combined layout: every step lists the sounding pitches; a pitch present in consecutive steps is one note.
Score read_combined_piece(const nlohmann::json& piece, const std::string& path, Split split, size_t index,
                          const JsbOptions& options) {
  const int64_t step_ticks = kJsbTicksPerQuarter / options.steps_per_quarter;
  Score score = empty_piece_score(path, options);
  Track track{"chorale", 0, false, 0, {}};
  std::array<int64_t, 128> start_step{};  // start of the run of each sounding pitch
  std::bitset<128> previous;
  std::vector<int> sounding;  // the pitches of `previous`, to close runs without scanning all 128
  auto close_run = [&](int pitch, int64_t end_step) {
    track.notes.push_back({pitch, options.velocity, start_step[pitch] * step_ticks, end_step * step_ticks});
  };
  for (size_t s = 0; s < piece.size(); ++s) {
    const auto& step = expect_array(piece[s], path, location(split, index, s), "a list of pitches");
    std::bitset<128> current;
    std::vector<int> current_pitches;
    for (const auto& entry : step) {
      const int pitch = read_pitch(entry, false, path, split, index, s);
      if (current.test(pitch)) continue;  // a unison of two voices is one sounding pitch
      current.set(pitch);
      current_pitches.push_back(pitch);
      if (!previous.test(pitch)) start_step[pitch] = static_cast<int64_t>(s);
    }
    for (int pitch : sounding)
      if (!current.test(pitch)) close_run(pitch, static_cast<int64_t>(s));
    previous = current;
    sounding.swap(current_pitches);
  }
  for (int pitch : sounding) close_run(pitch, static_cast<int64_t>(piece.size()));
  score.tracks.push_back(std::move(track));
  score.normalize();
  return score;
}

// Separated layout: exactly four entries per step, one per voice, -1 for a silent voice.
Score read_separated_piece(const nlohmann::json& piece, const std::string& path, Split split, size_t index,
                           const JsbOptions& options) {
  const int64_t step_ticks = kJsbTicksPerQuarter / options.steps_per_quarter;
  Score score = empty_piece_score(path, options);
  for (int v = 0; v < kVoices; ++v) score.tracks.push_back({kVoiceNames[v], 0, false, v, {}});
  std::array<int, kVoices> held;
  held.fill(kSilence);
  std::array<int64_t, kVoices> run_start{};
  auto close_run = [&](int voice, int64_t end_step) {
    if (held[voice] != kSilence)
      score.tracks[voice].notes.push_back(
          {held[voice], options.velocity, run_start[voice] * step_ticks, end_step * step_ticks});
  };
  for (size_t s = 0; s < piece.size(); ++s) {
    const auto& step = expect_array(piece[s], path, location(split, index, s), "a list of four voices");
    if (step.size() != kVoices)
      throw FormatError(path, -1,
                        location(split, index, s) + ": the separated layout needs exactly 4 voices per step, found " +
                            std::to_string(step.size()));
    for (int v = 0; v < kVoices; ++v) {
      const int pitch = read_pitch(step[v], true, path, split, index, s);
      if (pitch == held[v]) continue;
      close_run(v, static_cast<int64_t>(s));
      held[v] = pitch;
      run_start[v] = static_cast<int64_t>(s);
    }
  }
  for (int v = 0; v < kVoices; ++v) close_run(v, static_cast<int64_t>(piece.size()));
  score.normalize();
  return score;
}

void check_options(const JsbOptions& options) {
  if (options.steps_per_quarter <= 0 || kJsbTicksPerQuarter % options.steps_per_quarter != 0)
    throw Error("JSB chorales: steps per quarter must divide " + std::to_string(kJsbTicksPerQuarter) + ", got " +
                std::to_string(options.steps_per_quarter));
  // MIDI stores a tempo as 24-bit microseconds per quarter: 4 qpm is about the slowest it can hold.
  if (!(options.qpm >= 4.0 && options.qpm <= 1000.0))
    throw Error("JSB chorales: tempo must be within 4..1000 quarters per minute, got " + std::to_string(options.qpm));
  if (options.velocity < 1 || options.velocity > 127)
    throw Error("JSB chorales: velocity must be within 1..127, got " + std::to_string(options.velocity));
}

}  // namespace

const char* split_name(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kValid:
      return "valid";
    case Split::kTest:
      return "test";
  }
  return "unknown";
}

std::vector<JsbPiece> load_jsb_json(const std::string& path, const JsbOptions& options) {
  check_options(options);
  const std::string text = read_file_text(path, kMaxFileBytes);
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    throw FormatError(path, static_cast<int64_t>(error.byte), std::string("invalid JSON: ") + error.what());
  } catch (const nlohmann::json::exception& error) {  // e.g. a number too large for a double
    throw FormatError(path, -1, std::string("invalid JSON: ") + error.what());
  }
  if (!root.is_object())
    throw FormatError(
        path, -1, std::string("expected an object with \"train\", \"valid\" and \"test\", found ") + root.type_name());
  for (const auto& [key, value] : root.items()) {
    if (key != "train" && key != "valid" && key != "test")
      throw FormatError(path, -1, "unexpected key \"" + key + "\" (a JSB file holds \"train\", \"valid\", \"test\")");
  }
  if (root.empty()) throw FormatError(path, -1, "no \"train\", \"valid\" or \"test\" split");

  bool separated = options.layout == JsbLayout::kSeparated;
  if (options.layout == JsbLayout::kAuto) {
    const std::string name = lowercase(std::filesystem::path(path).filename().string());
    separated = name.find("separated") != std::string::npos || any_silence(root);
  }

  std::vector<JsbPiece> result;
  for (Split split : {Split::kTrain, Split::kValid, Split::kTest}) {
    auto found = root.find(split_name(split));
    if (found == root.end()) continue;
    const auto& pieces =
        expect_array(*found, path, std::string("split '") + split_name(split) + "'", "a list of pieces");
    for (size_t i = 0; i < pieces.size(); ++i) {
      const auto& piece =
          expect_array(pieces[i], path, std::string("split '") + split_name(split) + "' piece " + std::to_string(i),
                       "a list of steps");
      JsbPiece loaded;
      loaded.split = split;
      loaded.index = static_cast<int>(i);
      loaded.score = separated ? read_separated_piece(piece, path, split, i, options)
                               : read_combined_piece(piece, path, split, i, options);
      loaded.end_tick = static_cast<int64_t>(piece.size()) * (kJsbTicksPerQuarter / options.steps_per_quarter);
      result.push_back(std::move(loaded));
    }
  }
  return result;
}

int jsb_steps_per_quarter_from_name(const std::string& path) {
  // Only the file name counts: a directory called "16th-runs" says nothing about the file in it.
  const std::string name = lowercase(std::filesystem::path(path).filename().string());
  if (name.find("16th") != std::string::npos) return 4;
  if (name.find("8th") != std::string::npos) return 2;
  return 1;  // "quarter", or nothing recognisable: the Boulanger-Lewandowski default
}

}  // namespace cadenza
