// `cadenza dataset prepare`: reads MIDI / JSB files, encodes them and writes one shard (data/shard.h).
//
// Inputs are folders (searched recursively unless `recursive` is false) and single files. In folders, files
// ending in .mid / .midi (any case) are read as MIDI and .json as the JSB chorale piano-roll JSON; other files
// are ignored. A file named explicitly must have one of those extensions. Every file gets a relative path: its
// path below the folder it was found in, or its bare name when named explicitly. Files are processed in the
// order of their relative paths (ties by full path), and the same file named twice is read once.
//
// Work is spread over `threads` workers, one file per task; results are gathered in input order, so the
// shard's bytes do not depend on the thread count. A file that cannot be read or encoded (any cadenza::Error)
// is skipped and listed with the reason in the shard; a piece without notes is skipped as "no notes", and
// pieces outside [min_length, max_length] (tokens, or steps for rolls) are skipped too (pieces are stored whole;
// cropping is the sampler's job). Only when no piece at all survives is it an Error.
//
// MIDI files are split by split_for_path() on their relative path, except that identical and near-identical
// pieces (data/duplicates.h) are kept together: every piece of a group takes the split of its leader, the member
// nearest the top of its input folder (fewest '/' in the relative path), then first in byte order, so that copies
// in sub-folders follow the original and the originals split as they would without their copies. Every piece of a JSB
// JSON file keeps the split the file assigns it, and as a piano roll holds exactly the file's steps (no padding to a
// whole bar; PianoRollEncoding::encode with an end). Entries of input folders that cannot be read (broken links, link
// loops, FIFOs, ...) are listed as skipped files, never dropped silently.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/shard.h"
#include "data/split.h"

namespace cadenza {

inline constexpr char kCadenzaToolVersion[] = "cadenza 0.1.0";

enum class InputKind { kMidi, kJsbJson };

struct InputFile {
  std::string path;      // as found on disk (input folder joined with the relative path)
  std::string relative;  // recorded in the shard and hashed for the split ('/'-separated)
  InputKind kind = InputKind::kMidi;
  size_t input = 0;  // index of the input (PrepareOptions::inputs) it was found through
};

// Lists the input files in processing order. Entries of input folders that cannot be read as files — broken
// symbolic links, link loops, symbolic links to folders (not followed, since they can loop), FIFOs, sockets or
// devices with a MIDI / JSON name, sub-folders that cannot be listed — go to `problems` (when given) with the
// reason, named by their relative path, in path order. Throws Error for an input that does not exist (naming a
// broken link or loop as such), a named file with an unknown extension, or when no file at all is found (naming
// the problems met, or the input folders that held none).
std::vector<InputFile> collect_input_files(const std::vector<std::string>& inputs, bool recursive = true,
                                           std::vector<SkippedFile>* problems = nullptr);

struct PrepareOptions {
  std::vector<std::string> inputs;
  std::string encoding = "melody";  // a token encoding name or "pianoroll"
  // Encoding options merged into the spec ({"name": encoding, ...settings}).
  nlohmann::json settings = nlohmann::json::object();
  // Keep only score tracks with this name before encoding ("" = all); a file without one is skipped.
  std::string track;
  // Keep only the score track with this index (0-based, in read_midi's order) before encoding; -1 = all. A file
  // with fewer tracks is skipped. Nottingham files hold the melody in track 0 and the chords in track 1.
  int track_index = -1;
  // Melody encoding: store the chord under every token (data/shard.h ShardChords), read from the score track with
  // this index (0-based, before --track / --track-index select the melody); -1 = no chords. A file with fewer
  // tracks is skipped.
  int chords_track = -1;
  // Style labels (data/shard.h ShardStyles; docs/conditioning.md, Styles and blends). At most one of:
  // style_from: a data/style_label.h StyleRule ("folder" or "name:REGEX") applied to every file's relative path;
  // styles: the style of the inputs, one name for all of them or one per input in order.
  // A file whose style cannot be found is skipped with the reason. Neither: the shard stores no styles.
  std::string style_from;
  std::vector<std::string> styles;
  SplitRatios split;
  bool recursive = true;
  uint64_t min_length = 0;  // 0 = no lower bound
  uint64_t max_length = 0;  // 0 = no upper bound
  int threads = 1;          // <= 0: all hardware threads
  // Keep identical and near-identical MIDI pieces in one split (data/duplicates.h). Off only to measure leakage.
  bool group_duplicates = true;
};

// Parses "key=value" into settings: the value is taken as JSON when it parses (numbers, true/false, null,
// arrays, quoted strings), otherwise as a plain string. Throws Error on a missing '=' or empty key.
void apply_setting(nlohmann::json& settings, const std::string& key_value);

// The canonical spec of the encoding the options describe (defaults filled in); throws Error on an unknown
// encoding or bad option. For "pianoroll" it is PianoRollSpec::to_json() plus "name": "pianoroll".
nlohmann::json resolve_encoding_spec(const std::string& encoding, const nlohmann::json& settings);

struct PrepareResult {
  size_t files_found = 0;
  size_t files_used = 0;     // files that contributed at least one piece
  size_t files_skipped = 0;  // files that contributed none
  size_t pieces = 0;
  size_t pieces_skipped = 0;  // pieces of multi-piece (JSON) files skipped while others were kept
  std::array<size_t, 3> pieces_per_split{0, 0, 0};
  uint64_t total_length = 0;  // tokens, or roll steps
  std::vector<SkippedFile> skipped;
  // Duplicate grouping: groups of 2+ identical or near-identical pieces, the pieces in them, and how many of those
  // took their group's split instead of their own.
  size_t duplicate_groups = 0;
  size_t duplicate_pieces = 0;
  size_t duplicate_moved = 0;
};

struct PreparedDataset {
  PrepareResult result;
  std::vector<uint8_t> shard_bytes;  // the complete shard file
};

// Reads, encodes and serializes everything in memory; see the header comment.
PreparedDataset build_dataset(const PrepareOptions& options);
// build_dataset() then writes the shard atomically to output.
PrepareResult prepare_dataset(const PrepareOptions& options, const std::string& output);

}  // namespace cadenza
