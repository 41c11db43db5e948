#include "data/batch.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/augment.h"

namespace cadenza {

namespace {

// Source tokens taken beyond crop_length / factor when stretching, so that the tokens the stretch adds or
// removes at the window's end (closing note-offs, split time shifts) rarely leave the crop short.
constexpr uint64_t kStretchMargin = 16;

void check_options(const BatchOptions& options) {
  if (options.batch_size < 1) throw Error("batch size must be at least 1, got " + std::to_string(options.batch_size));
  if (options.crop_length < 1)
    throw Error("crop length must be at least 1, got " + std::to_string(options.crop_length));
  if (options.augment.max_transpose < 0 || options.augment.max_transpose > 127)
    throw Error("max transposition must be in 0..127, got " + std::to_string(options.augment.max_transpose));
  const double low = options.augment.min_stretch, high = options.augment.max_stretch;
  if (!std::isfinite(low) || !std::isfinite(high) || low <= 0.0 || high < low)
    throw Error("time stretch range must satisfy 0 < min <= max, got [" + std::to_string(low) + ", " +
                std::to_string(high) + "]");
  if (!(options.start_share >= 0.0 && options.start_share <= 1.0))
    throw Error("start crop share must be in [0, 1], got " + std::to_string(options.start_share));
  if (!(options.end_share >= 0.0 && options.end_share <= 1.0))
    throw Error("end crop share must be in [0, 1], got " + std::to_string(options.end_share));
  if (options.start_share + options.end_share > 1.0)
    throw Error("start_crop_share + end_crop_share must be at most 1, got " + std::to_string(options.start_share) +
                " + " + std::to_string(options.end_share));
  if (!(options.edge_style_power >= 0.0 && options.edge_style_power <= 1.0))
    throw Error("edge crop style power must be in [0, 1], got " + std::to_string(options.edge_style_power));
  if (options.edge_crops_by_tune && !(options.start_share > 0 || options.end_share > 0))
    throw Error(
        "edge_crops_by_tune draws the tunes of the crops that start at the START or end at the END, and "
        "there are none (start_crop_share and end_crop_share are both 0)");
  if (options.edge_style_power > 0.0 && !options.edge_crops_by_tune)
    throw Error("edge_crop_style_power " + nlohmann::json(options.edge_style_power).dump() +
                " weighs the tunes that START / END crops draw, which needs edge_crops_by_tune");
  if ((options.start_share > 0 || options.end_share > 0) && (low != 1.0 || high != 1.0))
    throw Error("start_crop_share / end_crop_share cannot be combined with time stretching (min_stretch / "
                "max_stretch) yet");
}

bool stretch_enabled(const AugmentOptions& augment) {
  return augment.min_stretch != 1.0 || augment.max_stretch != 1.0;
}

// The pieces of a split that can be drawn, and running sums of their lengths for length-weighted draws.
void eligible_pieces(const Shard& shard, Split split, const BatchOptions& options, std::vector<size_t>& pieces,
                     std::vector<uint64_t>& cumulative) {
  uint64_t total = 0;
  for (size_t index : shard.pieces_in_split(split)) {
    const uint64_t length = shard.piece(index).length;
    if (length == 0) continue;
    if (options.short_pieces == ShortPiecePolicy::kSkip && length < static_cast<uint64_t>(options.crop_length))
      continue;
    total += length;
    pieces.push_back(index);
    cumulative.push_back(total);
  }
  if (pieces.empty())
    throw Error(shard.path() + ": no piece of the " + split_name(split) + " split can be drawn" +
                (options.short_pieces == ShortPiecePolicy::kSkip
                     ? " (none is at least " + std::to_string(options.crop_length) + " long)"
                     : ""));
}

std::vector<Token> window_tokens(const Shard& shard, size_t piece, uint64_t start, uint64_t count) {
  if (shard.payload_kind() == PayloadKind::kTokensUint16) {
    auto span = shard.tokens(piece).subspan(start, count);
    return {span.begin(), span.end()};
  }
  auto span = shard.tokens32(piece).subspan(start, count);
  return {span.begin(), span.end()};
}

size_t draw_piece(std::mt19937_64& rng, const std::vector<size_t>& pieces, const std::vector<uint64_t>& cumulative) {
  const uint64_t position = random_below(rng, cumulative.back());
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), position);
  return pieces[static_cast<size_t>(it - cumulative.begin())];
}

}  // namespace

// ---- tokens ---------------------------------------------------------------------------------------------------

TokenBatchSampler::TokenBatchSampler(const Shard& shard, Split split, const BatchOptions& options, uint64_t seed)
    : shard_(shard), options_(options), rng_(seed) {
  if (shard.is_piano_roll()) throw Error(shard.path() + ": a piano-roll shard needs RollBatchSampler");
  check_options(options);
  encoding_ = shard.make_encoding();
  // A shard of tunes moved to one key (melody one_key): transposing them would undo the move, and the grammar would
  // refuse the moved KEY tokens.
  if (options.augment.max_transpose > 0 && encoding_->spec().value("one_key", false))
    throw Error("max_transpose " + std::to_string(options.augment.max_transpose) + ": " + shard.path() +
                " holds tunes moved to C major / A minor (melody one_key); transposing them would undo that: set "
                "max_transpose 0");
  pad_id_ = static_cast<Token>(shard.vocabulary_size());
  eligible_pieces(shard, split, options, pieces_, cumulative_lengths_);
  if (options.edge_crops_by_tune) {
    // Weights in units of 2^20 per tune so that the integer draw of draw_piece serves them too.
    std::vector<double> style_tunes;
    if (options.edge_style_power > 0.0) {
      if (!shard.has_styles())
        throw Error(shard.path() + ": edge_crop_style_power " + nlohmann::json(options.edge_style_power).dump() +
                    " weighs tunes by their style's size, and the shard stores no styles (prepare it with "
                    "--style-from RULE or --style NAME)");
      style_tunes.assign(shard.style_names().size(), 0.0);
      for (size_t piece : pieces_) style_tunes[shard.piece_style(piece)] += 1.0;
    }
    uint64_t total = 0;
    for (size_t piece : pieces_) {
      double weight = 1.0;
      if (!style_tunes.empty()) weight = std::pow(style_tunes[shard.piece_style(piece)], -options.edge_style_power);
      total += std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(weight * 1048576.0)));
      cumulative_edge_weights_.push_back(total);
    }
  }
}

std::vector<Token> TokenBatchSampler::crop(size_t piece, BatchRowInfo& row, int edge) {
  const uint64_t length = shard_.piece(piece).length;
  const auto crop_length = static_cast<uint64_t>(options_.crop_length);
  const AugmentOptions& augment = options_.augment;
  std::vector<Token> tokens;
  if (stretch_enabled(augment)) {
    row.stretch = random_real(rng_, augment.min_stretch, augment.max_stretch);
    const auto wanted =
        static_cast<uint64_t>(std::ceil(static_cast<double>(crop_length) / row.stretch)) + kStretchMargin;
    const uint64_t window = std::min(length, wanted);
    row.start = random_below(rng_, length - window + 1);
    tokens = stretch_tokens(*encoding_, window_tokens(shard_, piece, row.start, window), row.stretch);
    if (tokens.size() > crop_length) tokens.resize(crop_length);
  } else {
    const uint64_t window = std::min(length, crop_length);
    if (edge < 0) edge = draw_edge();
    if (edge == kStartCrop)
      row.start = 0;
    else if (edge == kEndCrop)
      row.start = length - window;
    else
      row.start = random_below(rng_, length - window + 1);
    tokens = window_tokens(shard_, piece, row.start, window);
  }
  if (augment.max_transpose > 0) {
    auto [lowest, highest] = encoding_->transposition_range(tokens);
    lowest = std::max(lowest, -augment.max_transpose);
    highest = std::min(highest, augment.max_transpose);
    // An empty intersection cannot happen (0 is always valid), but stay safe if an encoding says otherwise.
    row.transposition = lowest <= highest ? random_int(rng_, lowest, highest) : 0;
    if (!encoding_->transpose(tokens, row.transposition)) row.transposition = 0;
  }
  row.length = static_cast<int>(tokens.size());
  return tokens;
}

int TokenBatchSampler::draw_edge() {
  // One number decides between the START, the END and a uniform position (none is drawn when both shares are 0).
  const double share = options_.start_share + options_.end_share;
  if (!(share > 0)) return kUniformCrop;
  const double u = random_real(rng_, 0.0, 1.0);
  return u < options_.start_share ? kStartCrop : u < share ? kEndCrop : kUniformCrop;
}

TokenBatch TokenBatchSampler::next() {
  TokenBatch batch;
  batch.batch_size = options_.batch_size;
  batch.length = options_.crop_length;
  batch.tokens.assign(static_cast<size_t>(batch.batch_size) * batch.length, pad_id_);
  batch.rows.resize(batch.batch_size);
  for (int row = 0; row < batch.batch_size; ++row) {
    BatchRowInfo& info = batch.rows[row];
    int edge = -1;  // by length: the piece first, then the crop's kind (in crop), as older configurations drew
    if (cumulative_edge_weights_.empty()) {
      info.piece = draw_piece(rng_, pieces_, cumulative_lengths_);
    } else {
      // By tune: the crop's kind first, then a piece by tune (START / END) or by length (uniform).
      edge = draw_edge();
      info.piece = draw_piece(rng_, pieces_, edge == kUniformCrop ? cumulative_lengths_ : cumulative_edge_weights_);
    }
    const std::vector<Token> tokens = crop(info.piece, info, edge);
    std::copy(tokens.begin(), tokens.end(), batch.tokens.begin() + static_cast<std::ptrdiff_t>(row) * batch.length);
  }
  return batch;
}

// ---- piano rolls ----------------------------------------------------------------------------------------------

RollBatchSampler::RollBatchSampler(const Shard& shard, Split split, const BatchOptions& options, uint64_t seed)
    : shard_(shard), options_(options), rng_(seed) {
  if (!shard.is_piano_roll()) throw Error(shard.path() + ": a token shard needs TokenBatchSampler");
  check_options(options);
  if (stretch_enabled(options.augment))
    throw Error("time stretch applies to token shards; a piano roll's grid is musical time");
  eligible_pieces(shard, split, options, pieces_, cumulative_lengths_);
  num_tracks_ = static_cast<int>(shard.piece(pieces_.front()).num_tracks);
  num_pitches_ = static_cast<int>(shard.piece(pieces_.front()).num_pitches);
  for (size_t index : pieces_)
    if (static_cast<int>(shard.piece(index).num_tracks) != num_tracks_ ||
        static_cast<int>(shard.piece(index).num_pitches) != num_pitches_)
      throw Error(shard.path() + ": piano rolls of different shapes cannot share a batch (piece " +
                  std::to_string(index) + ")");
}

RollBatch RollBatchSampler::next() {
  RollBatch batch;
  batch.batch_size = options_.batch_size;
  batch.num_tracks = num_tracks_;
  batch.length = options_.crop_length;
  batch.num_pitches = num_pitches_;
  const size_t row_cells = static_cast<size_t>(num_tracks_) * batch.length * num_pitches_;
  batch.cells.assign(row_cells * batch.batch_size, 0);
  batch.rows.resize(batch.batch_size);
  for (int row = 0; row < batch.batch_size; ++row) {
    BatchRowInfo& info = batch.rows[row];
    info.piece = draw_piece(rng_, pieces_, cumulative_lengths_);
    const PianoRoll roll = shard_.roll(info.piece);
    const auto window = static_cast<int>(std::min<int64_t>(roll.num_steps, options_.crop_length));
    info.start = random_below(rng_, static_cast<uint64_t>(roll.num_steps - window + 1));
    info.length = window;
    PianoRoll crop;
    crop.num_tracks = num_tracks_;
    crop.num_steps = batch.length;  // padded with silence past `window`
    crop.num_pitches = num_pitches_;
    crop.cells.assign(row_cells, 0);
    for (int track = 0; track < num_tracks_; ++track)
      for (int step = 0; step < window; ++step)
        for (int pitch = 0; pitch < num_pitches_; ++pitch)
          crop.at(track, step, pitch) = roll.at(track, static_cast<int>(info.start) + step, pitch);
    if (options_.augment.max_transpose > 0) {
      auto [lowest, highest] = roll_transposition_range(crop);
      lowest = std::max(lowest, -options_.augment.max_transpose);
      highest = std::min(highest, options_.augment.max_transpose);
      info.transposition = random_int(rng_, lowest, highest);
      transpose_roll(crop, info.transposition);
    }
    std::copy(crop.cells.begin(), crop.cells.end(), batch.cells.begin() + static_cast<std::ptrdiff_t>(row * row_cells));
  }
  return batch;
}

}  // namespace cadenza
