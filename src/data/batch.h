// Random training batches from a shard: fixed-length crops with augmentation, deterministic for a seed.
//
// Each row of a batch: a piece of the split is drawn with probability proportional to its length (so every
// token / step of the split is equally likely to be seen), then a crop of crop_length starting at a uniform
// position, then the augmentation (time stretch, then transposition; see data/augment.h). Pieces shorter
// than crop_length are either used whole and padded (ShortPiecePolicy::kPad: token rows are filled with
// pad_id() == vocabulary size, roll rows with silence; `lengths` gives the real length of each row) or never
// drawn (kSkip).
//
// Transposition draws a shift uniformly from [-max_transpose, max_transpose] intersected with the shifts that
// keep every pitch of the crop representable (TokenEncoding::transposition_range, roll margins), so a crop
// near the edge of the range is shifted less, never dropped. Time stretch (token shards only) draws a factor
// uniformly from [min_stretch, max_stretch], takes a source window of ceil(crop_length / factor) + 16 tokens
// (so that the stretched result still fills the crop), stretches it (decode -> scale -> encode) and keeps the
// first crop_length tokens.
//
// Random numbers come from one std::mt19937_64 seeded with `seed`, turned into integers and reals by the
// explicit functions below (not std::uniform_*_distribution, whose output differs between standard
// libraries), so the same seed gives the same batches on every platform.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "common/random.h"
#include "data/shard.h"

namespace cadenza {

enum class ShortPiecePolicy { kPad, kSkip };

struct AugmentOptions {
  int max_transpose = 0;     // semitones either way; 0 = no transposition
  double min_stretch = 1.0;  // time stretch factors; both 1 = no stretch (token shards only)
  double max_stretch = 1.0;
};

struct BatchOptions {
  int batch_size = 32;
  int crop_length = 256;  // tokens, or steps for piano rolls
  // Token crops: the share of rows whose crop starts at the piece's first token instead of a uniform position.
  // Uniform crops of a long tune rarely hold its beginning (crop 256 of a 540-token tune: 1 row in ~285), so a model
  // of whole tunes would rarely learn how a tune opens (START, its meter and key, given a style). 0 = uniform only,
  // and then no extra random number is drawn, so older configurations draw exactly the batches they drew before.
  double start_share = 0.0;
  // And the share whose crop ends at the piece's last token, for the same reason: a tune model sees its END (and the
  // cadence before it) in about one uniform crop in 285. start_share + end_share <= 1.
  double end_share = 0.0;
  // How the rows that start at the START or end at the END draw their piece. By length (false, as the other rows):
  // a tune's opening and ending are seen in proportion to its length, so long tunes teach most of the openings (the
  // meter after START, given a style) and endings. By tune (true): every tune's opening and ending as often as
  // another's, as the tunes are counted when a generated tune's meter or ending is compared with them. Only drawn
  // when start_share + end_share > 0; false keeps older configurations' batches exactly as they were.
  bool edge_crops_by_tune = false;
  // With edge_crops_by_tune, a tune whose style has n tunes in the split is drawn with weight n^-edge_style_power
  // (0: every tune alike; 1: every style alike, so a style of 40 tunes opens as many rows as one of 400). Needs a
  // shard with styles when > 0. Rows of other kinds still draw by length.
  double edge_style_power = 0.0;
  ShortPiecePolicy short_pieces = ShortPiecePolicy::kPad;
  AugmentOptions augment;
};

// What was drawn for each row, for logging and tests.
struct BatchRowInfo {
  size_t piece = 0;       // index in the shard
  uint64_t start = 0;     // first token / step of the crop in the piece
  int length = 0;         // real (unpadded) length of the row
  int transposition = 0;  // semitones
  double stretch = 1.0;   // time factor
};

struct TokenBatch {
  int batch_size = 0;
  int length = 0;             // crop_length
  std::vector<Token> tokens;  // batch_size x length, row-major
  std::vector<BatchRowInfo> rows;
};

struct RollBatch {
  int batch_size = 0;
  int num_tracks = 0;
  int length = 0;  // steps (crop_length)
  int num_pitches = 0;
  std::vector<uint8_t> cells;  // batch_size x num_tracks x length x num_pitches, row-major, 0/1
  std::vector<BatchRowInfo> rows;
};

// Random draws: the portable helpers of common/random.h (random_below, random_int, random_real).

// Draws crops from the pieces of one split. The shard must outlive the sampler.
class TokenBatchSampler {
 public:
  // Throws Error: piano-roll shard, bad options, no piece eligible in the split.
  TokenBatchSampler(const Shard& shard, Split split, const BatchOptions& options, uint64_t seed);
  TokenBatch next();
  // Restarts the random stream: next() then draws exactly what a sampler constructed with `seed` would. The
  // trainer reseeds once per step (from the run seed and the step) so that a resumed run draws the same batches.
  void reseed(uint64_t seed) { rng_.seed(seed); }
  Token pad_id() const { return pad_id_; }
  const TokenEncoding& encoding() const { return *encoding_; }
  size_t num_pieces() const { return pieces_.size(); }  // pieces that can be drawn

 private:
  static constexpr int kUniformCrop = 0, kStartCrop = 1, kEndCrop = 2;
  int draw_edge();  // the kind of a row's crop, from start_share / end_share
  // `edge`: -1 draws the crop's kind here (after the piece); otherwise the kind already drawn.
  std::vector<Token> crop(size_t piece, BatchRowInfo& row, int edge = -1);

  const Shard& shard_;
  BatchOptions options_;
  std::unique_ptr<TokenEncoding> encoding_;
  Token pad_id_;
  std::vector<size_t> pieces_;
  std::vector<uint64_t> cumulative_lengths_;
  std::vector<uint64_t> cumulative_edge_weights_;  // edge_crops_by_tune: running sums of the tunes' weights
  std::mt19937_64 rng_;
};

class RollBatchSampler {
 public:
  // Throws Error: token shard, time stretch requested, bad options, no piece eligible in the split.
  RollBatchSampler(const Shard& shard, Split split, const BatchOptions& options, uint64_t seed);
  RollBatch next();
  void reseed(uint64_t seed) { rng_.seed(seed); }  // as TokenBatchSampler::reseed
  size_t num_pieces() const { return pieces_.size(); }

 private:
  const Shard& shard_;
  BatchOptions options_;
  std::vector<size_t> pieces_;
  std::vector<uint64_t> cumulative_lengths_;
  std::mt19937_64 rng_;
  int num_tracks_ = 0;
  int num_pitches_ = 0;
};

}  // namespace cadenza
