#include "data/prepare.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_set>

#include "common/error.h"
#include "common/file_io.h"
#include "data/checksum.h"
#include "data/duplicates.h"
#include "data/style_label.h"
#include "encoding/melody.h"
#include "encoding/pianoroll.h"
#include "midi/midi.h"
#include "score/chords.h"
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

// What a directory entry that is not a regular file is, for the skipped list.
std::string entry_problem(fs::file_type type) {
  switch (type) {
    case fs::file_type::fifo:
      return "is a FIFO (named pipe), not a regular file";
    case fs::file_type::socket:
      return "is a socket, not a regular file";
    case fs::file_type::character:
      return "is a character device, not a regular file";
    case fs::file_type::block:
      return "is a block device, not a regular file";
    default:
      return "is not a regular file";
  }
}

// Lists a folder (and, when recursive, its sub-folders, with an explicit stack so that deep trees cannot overflow
// ours). Symbolic links to files are followed; symbolic links to folders are not (they could loop) and are
// reported, like broken links, link loops, sub-folders that cannot be read and MIDI / JSON names that are not
// regular files (a FIFO would block the reader): each lands in `problems` with the reason, never silently dropped.
void list_folder(const fs::path& folder, bool recursive, std::vector<InputFile>& files,
                 std::vector<SkippedFile>& problems) {
  auto relative = [&](const fs::path& path) { return path.lexically_relative(folder).generic_string(); };
  std::vector<fs::path> pending = {folder};
  while (!pending.empty()) {
    const fs::path current = pending.back();
    pending.pop_back();
    std::error_code error;
    fs::directory_iterator it(current, error), end;
    for (; !error && it != end; it.increment(error)) {
      const fs::directory_entry& entry = *it;
      std::error_code status_error;
      const fs::file_status own = entry.symlink_status(status_error);
      if (status_error) {
        problems.push_back({relative(entry.path()), "cannot examine: " + status_error.message()});
        continue;
      }
      fs::file_status target = own;
      if (fs::is_symlink(own)) {
        target = fs::status(entry.path(), status_error);
        if (status_error || !fs::exists(target)) {
          std::error_code link_error;
          const std::string points_to = fs::read_symlink(entry.path(), link_error).string();
          if (status_error.value() == ELOOP)
            problems.push_back({relative(entry.path()), "symbolic link loop (it points to '" + points_to + "')"});
          else if (!status_error || status_error.value() == ENOENT)
            problems.push_back({relative(entry.path()), "broken symbolic link ('" + points_to + "' does not exist)"});
          else
            problems.push_back({relative(entry.path()),
                                "cannot follow the symbolic link to '" + points_to + "': " + status_error.message()});
          continue;
        }
        if (fs::is_directory(target)) {
          if (recursive)
            problems.push_back(
                {relative(entry.path()),
                 "symbolic link to a folder, not followed (name its target with --input to include it)"});
          continue;
        }
      }
      if (fs::is_directory(target)) {
        if (recursive) pending.push_back(entry.path());
        continue;
      }
      auto kind = kind_of(entry.path());
      if (!kind) continue;  // not a MIDI or JSON name: not ours
      if (!fs::is_regular_file(target)) {
        problems.push_back({relative(entry.path()), entry_problem(target.type())});
        continue;
      }
      files.push_back({entry.path().string(), relative(entry.path()), *kind});
    }
    if (error) {
      if (current == folder) throw IoError(folder.string(), "cannot list the folder: " + error.message());
      problems.push_back({relative(current), "cannot list the folder: " + error.message()});
    }
  }
}

struct EncodedPiece {
  Split split = Split::kTrain;
  std::vector<Token> tokens;
  std::vector<uint16_t> chords;  // --chords-track: the chord mask of every token
  PianoRoll roll;
  PieceFingerprint fingerprint;  // for duplicate grouping (MIDI pieces)
};

// What one input file turned into.
struct FileOutcome {
  bool midi = false;  // its piece takes part in duplicate grouping
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
    if (options_.chords_track >= 0 && !dynamic_cast<const MelodyEncoding*>(tokens_.get()))
      throw Error("--chords-track: chords are stored for the melody encoding only, not '" +
                  spec.value("name", std::string()) + "'");
  }

  // Encodes into piece (with its fingerprint when asked); returns "" on success, else the reason it is skipped.
  // end_tick >= 0: the piece's known end (a piano-roll JSON piece's steps); a piano roll then holds exactly the
  // steps up to it, with no padding to a whole bar (the benchmark's protocol scores every frame of the file and
  // no other).
  std::string encode(const Score& input, EncodedPiece& piece, bool fingerprint, int64_t end_tick = -1) const {
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
      if (options_.chords_track >= 0) {
        if (static_cast<size_t>(options_.chords_track) >= input.tracks.size())
          return "no chord track " + std::to_string(options_.chords_track) + " (the file has " +
                 std::to_string(input.tracks.size()) + ")";
        const auto& melody = static_cast<const MelodyEncoding&>(*tokens_);
        const std::vector<int64_t> steps = melody.token_steps(piece.tokens);
        const std::vector<uint16_t> at_step = chord_masks_at_steps(
            input, options_.chords_track, melody.melody_spec().steps_per_quarter, steps.back() + 1);
        // A one_key encoding moved the melody to C major / A minor: its chords move with it.
        const int key_move = melody.key_shift(*score);
        piece.chords.resize(steps.size());
        for (size_t i = 0; i < steps.size(); ++i)
          piece.chords[i] = transpose_chord_mask(at_step[static_cast<size_t>(steps[i])], key_move);
      }
      if (fingerprint) piece.fingerprint = fingerprint_tokens(*score, piece.tokens);
    } else {
      piece.roll = end_tick >= 0 ? roll_->encode(*score, end_tick) : roll_->encode(*score);
      if (std::none_of(piece.roll.cells.begin(), piece.roll.cells.end(), [](uint8_t cell) { return cell != 0; }))
        return "no notes";
      length = static_cast<uint64_t>(piece.roll.num_steps);
      if (fingerprint) piece.fingerprint = fingerprint_roll(*score, piece.roll);
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
      outcome.midi = true;
      Score score = read_midi(bytes, file.relative);
      EncodedPiece piece;
      piece.split = split_for_path(file.relative, ratios);
      std::string reason = encoder.encode(score, piece, /*fingerprint=*/true);
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
        std::string reason = encoder.encode(chorale.score, piece, /*fingerprint=*/false, chorale.end_tick);
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

// Whether relative path a leads a duplicate group before b: the one nearest the top of its input folder (fewest
// '/'), then the first in byte order. Copies usually sit in sub-folders (Nottingham's melody/ and chords/), so the
// top-level file keeps its own split and a data set with its copies splits its originals as one without them.
bool leads_before(const std::string& a, const std::string& b) {
  const auto depth_a = std::count(a.begin(), a.end(), '/'), depth_b = std::count(b.begin(), b.end(), '/');
  return depth_a != depth_b ? depth_a < depth_b : a < b;
}

// Keeps identical and near-identical MIDI pieces in one split (data/duplicates.h): every piece of a group takes
// the split of the group's leader (leads_before), which is the leader's own split by split_for_path. Pieces of
// JSB JSON files keep the split their file gives them and are not grouped.
void group_duplicate_pieces(std::vector<FileOutcome>& outcomes, PrepareResult& result, ShardMetadata& metadata) {
  std::vector<size_t> outcome_of;  // fingerprint index -> outcome index
  std::vector<PieceFingerprint> fingerprints;
  std::vector<uint32_t> source_of(outcomes.size(), 0);  // the source index an outcome with pieces will get
  uint32_t sources = 0;
  for (size_t f = 0; f < outcomes.size(); ++f) {
    if (outcomes[f].pieces.empty()) continue;
    source_of[f] = sources++;
    if (!outcomes[f].midi || outcomes[f].pieces.size() != 1) continue;
    outcome_of.push_back(f);
    fingerprints.push_back(std::move(outcomes[f].pieces.front().fingerprint));
  }
  const DuplicateGroups groups = group_duplicates(fingerprints);
  const auto path_of = [&](size_t i) -> const std::string& { return outcomes[outcome_of[i]].source.path; };
  std::vector<size_t> leader(fingerprints.size());  // per group root (group_of), its leader
  for (size_t i = 0; i < fingerprints.size(); ++i) {
    const size_t root = groups.group_of[i];
    if (root == i || leads_before(path_of(i), path_of(leader[root]))) leader[root] = i;
  }
  DuplicateInfo info;
  info.checked = true;
  info.method = kDuplicateMethod;
  std::vector<std::vector<uint32_t>> members(fingerprints.size());
  for (size_t i = 0; i < fingerprints.size(); ++i) {
    const size_t root = groups.group_of[i];
    members[root].push_back(source_of[outcome_of[i]]);
    EncodedPiece& piece = outcomes[outcome_of[i]].pieces.front();
    const Split split = outcomes[outcome_of[leader[root]]].pieces.front().split;
    if (piece.split != split) {
      piece.split = split;
      ++info.moved;
    }
  }
  for (auto& group : members)
    if (group.size() >= 2) info.groups.push_back(std::move(group));
  info.pieces = groups.pieces;
  result.duplicate_groups = info.groups.size();
  result.duplicate_pieces = info.pieces;
  result.duplicate_moved = info.moved;
  metadata.duplicates = std::move(info);
}

nlohmann::json options_json(const PrepareOptions& options) {
  return {{"inputs", options.inputs},
          {"encoding", options.encoding},
          {"set", options.settings},
          {"track", options.track},
          {"track_index", options.track_index},
          {"chords_track", options.chords_track},
          {"style_from", options.style_from},
          {"styles", options.styles},
          {"split", options.split.to_string()},
          {"recursive", options.recursive},
          {"min_length", options.min_length},
          {"max_length", options.max_length},
          {"group_duplicates", options.group_duplicates}};
}

}  // namespace

std::vector<InputFile> collect_input_files(const std::vector<std::string>& inputs, bool recursive,
                                           std::vector<SkippedFile>* problems) {
  std::vector<InputFile> files;
  std::vector<SkippedFile> found_problems;
  std::vector<std::string> empty_folders;
  for (size_t input_index = 0; input_index < inputs.size(); ++input_index) {
    const std::string& input = inputs[input_index];
    const fs::path path(input);
    std::error_code error;
    const auto status = fs::status(path, error);
    if (error || !fs::exists(status)) {
      std::error_code link_error;
      if (fs::is_symlink(fs::symlink_status(path, link_error)))
        throw Error("input '" + input + "' is a " +
                    (error.value() == ELOOP ? "symbolic link loop" : "broken symbolic link") + " (it points to '" +
                    fs::read_symlink(path, link_error).string() + "')");
      throw Error("input '" + input + "' does not exist");
    }
    if (fs::is_directory(status)) {
      const size_t before = files.size(), problems_before = found_problems.size();
      std::vector<SkippedFile> folder_problems;
      list_folder(path, recursive, files, folder_problems);
      for (size_t i = before; i < files.size(); ++i) files[i].input = input_index;
      // A folder's problems are named relative to it, like its files; several input folders keep them apart by
      // their full path only when needed: the relative path is what the shard records.
      found_problems.insert(found_problems.end(), folder_problems.begin(), folder_problems.end());
      if (files.size() == before && found_problems.size() == problems_before) empty_folders.push_back(input);
    } else {
      auto kind = kind_of(path);
      if (!kind) throw Error("input '" + input + "' is not a .mid, .midi or .json file (name folders to search them)");
      files.push_back({path.string(), path.filename().generic_string(), *kind, input_index});
    }
  }
  std::sort(files.begin(), files.end(), [](const InputFile& a, const InputFile& b) {
    return a.relative != b.relative ? a.relative < b.relative : a.path < b.path;
  });
  std::stable_sort(found_problems.begin(), found_problems.end(),
                   [](const SkippedFile& a, const SkippedFile& b) { return a.path < b.path; });
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
  if (unique.empty()) {
    if (!found_problems.empty())
      throw Error("no readable .mid, .midi or .json file in the inputs; " + std::to_string(found_problems.size()) +
                  " could not be read, the first: " + found_problems.front().path + ": " +
                  found_problems.front().reason);
    std::string folders;
    for (const auto& folder : empty_folders) folders += (folders.empty() ? "" : ", ") + folder;
    throw Error("no .mid, .midi or .json files found in the inputs" +
                (folders.empty()
                     ? std::string()
                     : " (none in the folder" + std::string(empty_folders.size() > 1 ? "s " : " ") + folders +
                           (recursive ? "" : " without its sub-folders; drop --no-recursive to search them") + ")"));
  }
  if (problems != nullptr) *problems = std::move(found_problems);
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

namespace {

// The style of every file ("" = none, with the reason in `reasons`), from the options' rule or given names.
// Returns false when the options ask for no styles.
bool label_styles(const PrepareOptions& options, const std::vector<InputFile>& files, std::vector<std::string>& styles,
                  std::vector<std::string>& reasons) {
  if (!options.style_from.empty() && !options.styles.empty())
    throw Error("--style-from '" + options.style_from + "' and --style: give the styles one way, not both");
  if (options.style_from.empty() && options.styles.empty()) return false;
  styles.assign(files.size(), std::string());
  reasons.assign(files.size(), std::string());
  if (!options.styles.empty()) {
    if (options.styles.size() != 1 && options.styles.size() != options.inputs.size())
      throw Error("--style given " + std::to_string(options.styles.size()) + " times for " +
                  std::to_string(options.inputs.size()) + " inputs: give one style for all inputs or one per input");
    for (const std::string& name : options.styles) check_style_name(name);
    for (size_t f = 0; f < files.size(); ++f)
      styles[f] = options.styles.size() == 1 ? options.styles.front() : options.styles[files[f].input];
    return true;
  }
  const StyleRule rule = StyleRule::parse(options.style_from);
  for (size_t f = 0; f < files.size(); ++f) {
    try {
      const std::optional<std::string> style = style_for_path(rule, files[f].relative);
      if (style)
        styles[f] = *style;
      else
        reasons[f] = rule.source == StyleRule::Source::folder
                         ? "no style: the file is not in a sub-folder of its input (--style-from folder)"
                         : "no style: the file name does not match --style-from '" + rule.to_string() + "'";
    } catch (const Error& e) {
      reasons[f] = std::string("no style: ") + e.what();
    }
  }
  return true;
}

}  // namespace

PreparedDataset build_dataset(const PrepareOptions& options) {
  const nlohmann::json spec = resolve_encoding_spec(options.encoding, options.settings);
  std::vector<SkippedFile> unreadable;  // links, FIFOs, unreadable folders met while listing the inputs
  const std::vector<InputFile> files = collect_input_files(options.inputs, options.recursive, &unreadable);
  std::vector<std::string> file_styles, style_reasons;
  const bool with_styles = label_styles(options, files, file_styles, style_reasons);

  int threads = options.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), files.size()));

  // Each worker takes the next file index; outcomes land in their slot, so the gathering below sees them in
  // input order whatever the scheduling was.
  std::vector<FileOutcome> outcomes(files.size());
  std::atomic<size_t> next{0};
  auto work = [&](const PieceEncoder& encoder) {
    for (size_t i = next++; i < files.size(); i = next++) {
      if (with_styles && file_styles[i].empty())
        outcomes[i].skipped.push_back({files[i].relative, style_reasons[i]});  // not read: it could not be used
      else
        outcomes[i] = process_file(files[i], options.split, encoder);
    }
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
  if (options.chords_track >= 0) metadata.chords.present = true, metadata.chords.track = options.chords_track;
  ShardWriter writer(std::move(metadata));

  PreparedDataset prepared;
  PrepareResult& result = prepared.result;
  if (options.group_duplicates) group_duplicate_pieces(outcomes, result, writer.metadata());
  result.files_found = files.size() + unreadable.size();
  result.files_skipped = unreadable.size();
  size_t next_unreadable = 0;             // merged into the skipped list in path order
  std::vector<std::string> piece_styles;  // with styles: the style name of every stored piece
  for (size_t f = 0; f < outcomes.size(); ++f) {
    auto& outcome = outcomes[f];
    for (; next_unreadable < unreadable.size() && unreadable[next_unreadable].path < files[f].relative;
         ++next_unreadable)
      writer.metadata().skipped.push_back(unreadable[next_unreadable]);
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
          if (writer.metadata().chords.present) {
            std::vector<uint32_t> runs;
            for (size_t i = 0; i < piece.chords.size(); ++i)
              if (i == 0 || piece.chords[i] != piece.chords[i - 1])
                runs.insert(runs.end(), {uint32_t(i), piece.chords[i]});
            writer.metadata().chords.runs.push_back(std::move(runs));
          }
          result.total_length += piece.tokens.size();
        }
        ++result.pieces;
        ++result.pieces_per_split[static_cast<int>(piece.split)];
        if (with_styles) piece_styles.push_back(file_styles[f]);
      }
    }
    for (auto& skipped : outcome.skipped) writer.metadata().skipped.push_back(skipped);
    outcome = FileOutcome{};  // release the encoded data as soon as it is copied
  }
  for (; next_unreadable < unreadable.size(); ++next_unreadable)
    writer.metadata().skipped.push_back(unreadable[next_unreadable]);
  result.skipped = writer.metadata().skipped;
  if (with_styles) {
    ShardStyles& styles = writer.metadata().styles;
    styles.present = true;
    styles.source = options.style_from.empty() ? "given" : StyleRule::parse(options.style_from).to_string();
    styles.names = piece_styles;
    std::sort(styles.names.begin(), styles.names.end());
    styles.names.erase(std::unique(styles.names.begin(), styles.names.end()), styles.names.end());
    for (const std::string& name : piece_styles)
      styles.pieces.push_back(static_cast<uint32_t>(std::lower_bound(styles.names.begin(), styles.names.end(), name) -
                                                    styles.names.begin()));
  }
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
