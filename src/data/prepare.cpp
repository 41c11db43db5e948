#include "data/prepare.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_set>

#include "common/error.h"
#include "common/file_io.h"
#include "data/checksum.h"
#include "encoding/pianoroll.h"
#include "midi/midi.h"
#include "score/jsb.h"

namespace cadenza {

namespace fs = std::filesystem;

namespace {

// JSB JSON files are a few megabytes; anything near this limit is not one.
constexpr size_t kMaxJsonFileBytes = size_t(512) << 20;

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::optional<InputKind> kind_of(const fs::path& path) {
  const std::string extension = lowercase(path.extension().string());
  if (extension == ".mid" || extension == ".midi") return InputKind::kMidi;
  if (extension == ".json") return InputKind::kJsbJson;
  return std::nullopt;
}

void list_folder(const fs::path& folder, bool recursive, std::vector<InputFile>& files) {
  std::error_code error;
  auto add = [&](const fs::directory_entry& entry) {
    std::error_code status_error;
    if (!entry.is_regular_file(status_error)) return;  // follows symlinks to files; skips folders, sockets...
    auto kind = kind_of(entry.path());
    if (!kind) return;
    files.push_back({entry.path().string(), entry.path().lexically_relative(folder).generic_string(), *kind});
  };
  if (recursive) {
    fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, error), end;
    for (; !error && it != end; it.increment(error)) add(*it);
  } else {
    fs::directory_iterator it(folder, fs::directory_options::skip_permission_denied, error), end;
    for (; !error && it != end; it.increment(error)) add(*it);
  }
  if (error) throw IoError(folder.string(), "cannot list the folder: " + error.message());
}

struct EncodedPiece {
  Split split = Split::kTrain;
  std::vector<Token> tokens;
  PianoRoll roll;
};

// What one input file turned into.
struct FileOutcome {
  ShardSource source;
  std::vector<EncodedPiece> pieces;
  std::vector<SkippedFile> skipped;
};

// Turns scores into pieces. One per worker thread, so encodings need not be thread-safe.
class PieceEncoder {
 public:
  PieceEncoder(const nlohmann::json& spec, const PrepareOptions& options) : options_(options) {
    if (spec["name"] == kPianoRollEncodingName) {
      nlohmann::json roll_spec = spec;
      roll_spec.erase("name");
      roll_.emplace(PianoRollSpec::from_json(roll_spec));
    } else {
      tokens_ = make_token_encoding(spec);
    }
  }

  // Encodes into piece; returns "" on success, else the reason the piece is skipped.
  std::string encode(const Score& input, EncodedPiece& piece) const {
    const Score* score = &input;
    Score selected;
    if (!options_.track.empty()) {
      selected = input;
      selected.tracks.clear();
      for (const auto& track : input.tracks)
        if (track.name == options_.track) selected.tracks.push_back(track);
      if (selected.tracks.empty()) return "no track named '" + options_.track + "'";
      score = &selected;
    }
    if (options_.track_index >= 0) {
      if (static_cast<size_t>(options_.track_index) >= score->tracks.size())
        return "no track " + std::to_string(options_.track_index) + " (the file has " +
               std::to_string(score->tracks.size()) + ")";
      Score only = *score;
      only.tracks = {score->tracks[static_cast<size_t>(options_.track_index)]};
      selected = std::move(only);
      score = &selected;
    }
    if (score->note_count() == 0) return "no notes";
    uint64_t length = 0;
    if (tokens_) {
      piece.tokens = tokens_->encode(*score);
      if (piece.tokens.empty()) return "no notes";
      length = piece.tokens.size();
    } else {
      piece.roll = roll_->encode(*score);
      if (std::none_of(piece.roll.cells.begin(), piece.roll.cells.end(), [](uint8_t cell) { return cell != 0; }))
        return "no notes";
      length = static_cast<uint64_t>(piece.roll.num_steps);
    }
    const char* unit = tokens_ ? " tokens" : " steps";
    if (options_.min_length > 0 && length < options_.min_length)
      return "too short: " + std::to_string(length) + unit + " < --min-length " + std::to_string(options_.min_length);
    if (options_.max_length > 0 && length > options_.max_length)
      return "too long: " + std::to_string(length) + unit + " > --max-length " + std::to_string(options_.max_length);
    return "";
  }

  const TokenEncoding* token_encoding() const { return tokens_.get(); }

 private:
  const PrepareOptions& options_;
  std::unique_ptr<TokenEncoding> tokens_;
  std::optional<PianoRollEncoding> roll_;
};

// Error messages start with the file name the reader was given; the skipped list already names the file, and
// an absolute path would make the shard depend on where the data lives.
std::string reason_without_path(const std::string& message, const InputFile& file) {
  for (const std::string& prefix : {file.relative + ": ", file.path + ": "})
    if (message.rfind(prefix, 0) == 0) return message.substr(prefix.size());
  return message;
}

FileOutcome process_file(const InputFile& file, const SplitRatios& ratios, const PieceEncoder& encoder) {
  FileOutcome outcome;
  try {
    const size_t limit = file.kind == InputKind::kMidi ? kMaxMidiFileBytes : kMaxJsonFileBytes;
    const std::vector<uint8_t> bytes = read_file_bytes(file.path, limit);
    outcome.source = {file.relative, bytes.size(), content_hash(bytes)};
    if (file.kind == InputKind::kMidi) {
      Score score = read_midi(bytes, file.relative);
      EncodedPiece piece;
      piece.split = split_for_path(file.relative, ratios);
      std::string reason = encoder.encode(score, piece);
      if (reason.empty())
        outcome.pieces.push_back(std::move(piece));
      else
        outcome.skipped.push_back({file.relative, reason});
    } else {
      JsbOptions jsb;
      jsb.steps_per_quarter = jsb_steps_per_quarter_from_name(file.path);
      std::vector<JsbPiece> chorales = load_jsb_json(file.path, jsb);
      for (auto& chorale : chorales) {
        EncodedPiece piece;
        piece.split = chorale.split;
        std::string reason = encoder.encode(chorale.score, piece);
        if (reason.empty())
          outcome.pieces.push_back(std::move(piece));
        else
          outcome.skipped.push_back(
              {file.relative + "#" + split_name(chorale.split) + "/" + std::to_string(chorale.index), reason});
      }
      if (chorales.empty()) outcome.skipped.push_back({file.relative, "no pieces"});
    }
  } catch (const Error& e) {
    outcome.pieces.clear();
    outcome.skipped.push_back({file.relative, reason_without_path(e.what(), file)});
  } catch (const std::exception& e) {
    // Not a failure we anticipated (a bug, or memory exhaustion on an absurd file): still one file's problem,
    // so it is reported like the others rather than ending the whole run.
    outcome.pieces.clear();
    outcome.skipped.push_back({file.relative, std::string("unexpected error: ") + e.what()});
  }
  return outcome;
}

nlohmann::json options_json(const PrepareOptions& options) {
  return {{"inputs", options.inputs},       {"encoding", options.encoding},       {"set", options.settings},
          {"track", options.track},         {"track_index", options.track_index}, {"split", options.split.to_string()},
          {"recursive", options.recursive}, {"min_length", options.min_length},   {"max_length", options.max_length}};
}

}  // namespace

std::vector<InputFile> collect_input_files(const std::vector<std::string>& inputs, bool recursive) {
  std::vector<InputFile> files;
  for (const auto& input : inputs) {
    const fs::path path(input);
    std::error_code error;
    const auto status = fs::status(path, error);
    if (error || !fs::exists(status)) throw Error("input '" + input + "' does not exist");
    if (fs::is_directory(status)) {
      list_folder(path, recursive, files);
    } else {
      auto kind = kind_of(path);
      if (!kind) throw Error("input '" + input + "' is not a .mid, .midi or .json file (name folders to search them)");
      files.push_back({path.string(), path.filename().generic_string(), *kind});
    }
  }
  std::sort(files.begin(), files.end(), [](const InputFile& a, const InputFile& b) {
    return a.relative != b.relative ? a.relative < b.relative : a.path < b.path;
  });
  // The same file reached twice (a folder and a file in it, or two overlapping folders) is read once.
  std::vector<InputFile> unique;
  std::unordered_set<std::string> seen;
  for (auto& file : files) {
    std::error_code error;
    std::string canonical = fs::weakly_canonical(file.path, error).string();
    if (error) canonical = file.path;
    if (!seen.insert(canonical).second) continue;
    unique.push_back(std::move(file));
  }
  return unique;
}

void apply_setting(nlohmann::json& settings, const std::string& key_value) {
  const size_t equals = key_value.find('=');
  if (equals == std::string::npos || equals == 0)
    throw Error("bad --set '" + key_value + "': expected key=value, e.g. steps_per_quarter=4");
  const std::string key = key_value.substr(0, equals);
  const std::string text = key_value.substr(equals + 1);
  if (key == "name") throw Error("bad --set '" + key_value + "': choose the encoding with --encoding");
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;
  settings[key] = value;
}

nlohmann::json resolve_encoding_spec(const std::string& encoding, const nlohmann::json& settings) {
  if (!settings.is_object()) throw Error("encoding settings must be a JSON object");
  if (encoding == kPianoRollEncodingName) {
    nlohmann::json spec = PianoRollSpec::from_json(settings).to_json();
    spec["name"] = kPianoRollEncodingName;
    return spec;
  }
  nlohmann::json spec = settings;
  spec["name"] = encoding;
  return make_token_encoding(spec)->spec();
}

PreparedDataset build_dataset(const PrepareOptions& options) {
  const nlohmann::json spec = resolve_encoding_spec(options.encoding, options.settings);
  const std::vector<InputFile> files = collect_input_files(options.inputs, options.recursive);
  if (files.empty()) {
    std::string named;
    for (const auto& input : options.inputs) named += (named.empty() ? "'" : ", '") + input + "'";
    throw Error("no .mid, .midi or .json files found in " + named);
  }

  int threads = options.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), files.size()));

  // Each worker takes the next file index; outcomes land in their slot, so the gathering below sees them in
  // input order whatever the scheduling was.
  std::vector<FileOutcome> outcomes(files.size());
  std::atomic<size_t> next{0};
  auto work = [&](const PieceEncoder& encoder) {
    for (size_t i = next++; i < files.size(); i = next++) outcomes[i] = process_file(files[i], options.split, encoder);
  };
  std::vector<std::unique_ptr<PieceEncoder>> encoders;
  for (int t = 0; t < threads; ++t) encoders.push_back(std::make_unique<PieceEncoder>(spec, options));
  {
    std::vector<std::jthread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work, std::cref(*encoders[t]));
    work(*encoders[0]);
  }

  ShardMetadata metadata;
  metadata.encoding = spec;
  if (const TokenEncoding* encoding = encoders[0]->token_encoding())
    metadata.vocabulary = encoding->vocabulary().names();
  metadata.prepare_options = options_json(options);
  metadata.tool_version = kCadenzaToolVersion;
  ShardWriter writer(std::move(metadata));

  PreparedDataset prepared;
  PrepareResult& result = prepared.result;
  result.files_found = files.size();
  for (auto& outcome : outcomes) {
    if (outcome.pieces.empty()) {
      ++result.files_skipped;
    } else {
      ++result.files_used;
      result.pieces_skipped += outcome.skipped.size();
      const auto source = static_cast<uint32_t>(writer.metadata().sources.size());
      writer.metadata().sources.push_back(outcome.source);
      for (auto& piece : outcome.pieces) {
        if (writer.payload_kind() == PayloadKind::kPackedRoll) {
          writer.add_roll(source, piece.split, piece.roll);
          result.total_length += static_cast<uint64_t>(piece.roll.num_steps);
        } else {
          writer.add_tokens(source, piece.split, piece.tokens);
          result.total_length += piece.tokens.size();
        }
        ++result.pieces;
        ++result.pieces_per_split[static_cast<int>(piece.split)];
      }
    }
    for (auto& skipped : outcome.skipped) writer.metadata().skipped.push_back(skipped);
    outcome = FileOutcome{};  // release the encoded data as soon as it is copied
  }
  result.skipped = writer.metadata().skipped;
  if (result.pieces == 0) {
    std::string first = result.skipped.empty() ? std::string("(none listed)")
                                               : result.skipped.front().path + ": " + result.skipped.front().reason;
    throw Error("none of the " + std::to_string(files.size()) +
                " input files gave a piece to store; first problem: " + first);
  }
  prepared.shard_bytes = writer.serialize();
  return prepared;
}

PrepareResult prepare_dataset(const PrepareOptions& options, const std::string& output) {
  PreparedDataset prepared = build_dataset(options);
  write_file_atomic(output, prepared.shard_bytes);
  return prepared.result;
}

}  // namespace cadenza
