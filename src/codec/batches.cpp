#include "codec/batches.h"

#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "models/sequence_model.h"
#include "score/chords.h"

namespace cadenza::codec {

int64_t shard_input_size(const Shard& shard) {
  if (!shard.is_piano_roll()) return shard.vocabulary_size();
  const PianoRollSpec spec = shard.roll_spec();
  return static_cast<int64_t>(spec.num_tracks) * spec.num_pitches();
}

BatchSource::BatchSource(const Shard& shard, Split split, const BatchOptions& options, bool with_context,
                         const ContextColumns& columns)
    : shard_(shard), columns_(columns) {
  const int64_t styles = columns.styles, far_lookbacks = columns.far_lookbacks;
  const bool with_chords = columns.chords, header = columns.header;
  if (far_lookbacks < 0 || far_lookbacks > kLookbackCount - 2)
    throw Error("step context: " + std::to_string(far_lookbacks) + " far lookbacks asked for, at most " +
                std::to_string(kLookbackCount - 2));
  if (styles > 0 && (!shard.has_styles() || static_cast<int64_t>(shard.style_names().size()) != styles))
    throw Error(shard.path() + ": the model reads " + std::to_string(styles) + " styles, but the shard stores " +
                (shard.has_styles() ? std::to_string(shard.style_names().size())
                                    : std::string("none (prepare it with --style-from RULE or --style NAME)")));
  if (with_chords && !shard.has_chords())
    throw Error(shard.path() +
                ": the model reads chords, but the shard stores none (prepare it with --encoding melody "
                "--chords-track N)");
  if (shard.is_piano_roll()) {
    if (with_context) throw Error(shard.path() + ": a step context is for token shards, this one holds piano rolls");
    roll_sampler_ = std::make_unique<RollBatchSampler>(shard, split, options, 0);
  } else {
    if (with_context && (options.augment.min_stretch != 1.0 || options.augment.max_stretch != 1.0))
      throw Error(shard.path() +
                  ": time stretching (min_stretch / max_stretch) would move the bar lines the model's step context "
                  "counts; train a model with a context without it");
    token_sampler_ = std::make_unique<TokenBatchSampler>(shard, split, options, 0);
    pad_id_ = token_sampler_->pad_id();
    if (with_context || header || columns.phrase || columns.bars_left) {
      encoding_ = shard.make_encoding();
      if (header && !encoding_->has_tune_header())
        throw Error(shard.path() + ": its '" + encoding_->name() +
                    "' encoding writes no tune header for the model to read (melody with --set structure=true does)");
      if (encoding_->position_count() == 0 && (columns.phrase || columns.bars_left || (!with_chords && styles == 0)))
        throw Error(shard.path() + ": its '" + encoding_->name() +
                    "' encoding gives no step context (melody with --set structure=true does)");
      if (columns.bars_left && encoding_->end_token() < 0)
        throw Error(shard.path() + ": its '" + encoding_->name() +
                    "' encoding does not end tunes, so no tune has a length in bars (melody with --set "
                    "structure=true does)");
    }
  }
}

const std::vector<StepContext>& BatchSource::piece_contexts(size_t piece) {
  auto found = contexts_.find(piece);
  if (found == contexts_.end()) {
    const std::vector<Token> tokens = shard_.token_vector(piece);
    found = contexts_.emplace(piece, encoding_->contexts(tokens)).first;
    tune_bars_[piece] = encoding_->tune_bar_count(tokens, found->second);
  }
  return found->second;
}

void BatchSource::set_bars_left_unknown_share(double share) {
  if (!(share >= 0.0 && share <= 1.0))
    throw Error("bars_left_unknown_share must be in [0, 1], got " + std::to_string(share));
  bars_left_unknown_share_ = share;
}

void BatchSource::set_chords_hidden_share(double share) {
  if (!(share >= 0.0 && share <= 1.0))
    throw Error("chords_hidden_share must be in [0, 1], got " + nlohmann::json(share).dump());
  if (share > 0.0 && !columns_.chords)
    throw Error("chords_hidden_share " + nlohmann::json(share).dump() +
                " hides the chords of a share of the training rows, and this model reads none (set "
                "chord_conditioning=true)");
  chords_hidden_share_ = share;
}

void BatchSource::set_lookback_hidden_share(double share) {
  if (!(share >= 0.0 && share <= 1.0))
    throw Error("lookback_hidden_share must be in [0, 1], got " + std::to_string(share));
  lookback_hidden_share_ = share;
}

torch::Tensor window_context(std::span<const Token> piece, const std::vector<StepContext>& contexts, size_t first,
                             size_t length, int vocab, const std::vector<uint16_t>* chords,
                             const std::vector<int64_t>* style, const ContextColumns& asked, int64_t tune_bars) {
  ContextColumns columns = asked;
  columns.chords = chords != nullptr;
  columns.styles = style ? static_cast<int64_t>(style->size()) : 0;
  torch::Tensor out = torch::zeros({static_cast<int64_t>(length), columns.width()}, torch::kLong);
  auto values = out.accessor<int64_t, 2>();
  for (size_t t = 0; t < length; ++t) {
    const auto row = context_values(piece, first + t, contexts[first + t], vocab);
    const int64_t at = static_cast<int64_t>(t);
    for (int c = 0; c < 3; ++c) values[at][c] = row[static_cast<size_t>(c)];
    if (chords) values[at][3] = first + t + 1 < chords->size() ? (*chords)[first + t + 1] : 0;
    for (int64_t k = 0; k < columns.styles; ++k) values[at][4 + k] = (*style)[static_cast<size_t>(k)];
    for (int64_t k = 0; k < columns.far_lookbacks; ++k)
      values[at][columns.far_column() + k] = row[static_cast<size_t>(3 + k)];
    if (columns.header) {
      values[at][columns.header_column()] = row[kMeterValue];
      values[at][columns.header_column() + 1] = row[kKeyValue];
    }
    if (columns.phrase) values[at][columns.phrase_column()] = row[kBarValue];
    if (columns.bars_left) values[at][columns.bars_left_column()] = bars_left_value(contexts[first + t].bar, tune_bars);
  }
  return out;
}

std::vector<int64_t> one_hot_style(int64_t count, int64_t index) {
  if (index < 0 || index >= count)
    throw Error("style index " + std::to_string(index) + " is outside the model's " + std::to_string(count) +
                " styles");
  std::vector<int64_t> column(static_cast<size_t>(count), 0);
  column[static_cast<size_t>(index)] = models::SequenceModelImpl::kStyleUnit;
  return column;
}

void check_shard_styles(const Shard& shard, const std::vector<std::string>& style_names) {
  auto joined = [](const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
    return text.empty() ? std::string("none") : text;
  };
  if (!shard.has_styles())
    throw Error(shard.path() + ": the model reads styles (" + joined(style_names) +
                "), but the shard stores none (prepare it with --style-from RULE or --style NAME)");
  if (shard.style_names() != style_names)
    throw Error(shard.path() + ": the model's styles (" + joined(style_names) + ") differ from the shard's (" +
                joined(shard.style_names()) + ")");
}

TensorBatch BatchSource::next(uint64_t seed) {
  TensorBatch batch;
  if (token_sampler_) {
    token_sampler_->reseed(seed);
    TokenBatch drawn = token_sampler_->next();
    auto tokens = torch::empty({drawn.batch_size, drawn.length}, torch::kLong);  // (B, T)
    auto* out = tokens.data_ptr<int64_t>();
    for (size_t i = 0; i < drawn.tokens.size(); ++i) out[i] = drawn.tokens[i];
    for (const auto& row : drawn.rows) batch.real_elements += row.length;
    batch.targets = tokens;
    batch.input = model_input(tokens, pad_id_);
    if (encoding_) {
      // Positions from the piece's own grammar run; lookback tokens from the (possibly transposed) crop.
      const int vocab = static_cast<int>(shard_.vocabulary_size());
      const int64_t styles = columns_.styles, far_lookbacks = columns_.far_lookbacks;
      const int64_t header_column = columns_.header_column();  // with the header: the meter, then the key
      batch.context = torch::zeros({drawn.batch_size, drawn.length, columns_.width()}, torch::kLong);
      batch.context.select(2, 1).fill_(vocab), batch.context.select(2, 2).fill_(vocab);
      for (int64_t k = 0; k < far_lookbacks; ++k) batch.context.select(2, columns_.far_column() + k).fill_(vocab);
      for (int64_t k = 0; k < (columns_.header ? 2 : 0); ++k) batch.context.select(2, header_column + k).fill_(vocab);
      if (columns_.phrase) batch.context.select(2, columns_.phrase_column()).fill_(kNoBar);
      if (columns_.bars_left) batch.context.select(2, columns_.bars_left_column()).fill_(kBarsLeftUnknown);
      std::mt19937_64 unknown_draws(seed ^ 0x6261727320656674ULL);  // one draw per row, from the batch's seed
      // A stream of its own, so that hiding lookbacks leaves the bars-left draws (and older runs) as they were.
      std::mt19937_64 hidden_draws(seed ^ 0x6c6f6f6b6261636bULL);
      // And one for hidden chords, for the same reason.
      std::mt19937_64 chord_draws(seed ^ 0x63686f7264736f66ULL);
      auto values = batch.context.accessor<int64_t, 3>();
      for (int b = 0; b < drawn.batch_size; ++b) {
        const BatchRowInfo& row = drawn.rows[static_cast<size_t>(b)];
        const std::vector<StepContext>& piece = piece_contexts(row.piece);
        const bool unknown_length =
            std::uniform_real_distribution<double>(0.0, 1.0)(unknown_draws) < bars_left_unknown_share_;
        const int64_t tune_bars = unknown_length ? -1 : tune_bars_.at(row.piece);
        const std::span<const Token> crop(drawn.tokens.data() + static_cast<size_t>(b) * drawn.length,
                                          static_cast<size_t>(row.length));
        // The piece's KEY token (its grammar's last context holds it once read), moved with the crop's transposition
        // once per row (KEY tokens transpose as the melody); rows before the header read it as not known yet.
        std::vector<Token> key{columns_.header && !piece.empty() ? piece.back().key : Token{-1}};
        if (key[0] >= 0 && !encoding_->transpose(key, row.transposition)) key[0] = -1;
        for (int t = 0; t < row.length; ++t) {
          const StepContext& context = piece[row.start + static_cast<size_t>(t)];
          const auto row_values = context_values(crop, static_cast<size_t>(t), context, vocab);
          for (int c = 0; c < 3; ++c) values[b][t][c] = row_values[static_cast<size_t>(c)];
          for (int64_t k = 0; k < far_lookbacks; ++k) values[b][t][columns_.far_column() + k] = row_values[3 + k];
          if (columns_.header) {
            values[b][t][header_column] = row_values[kMeterValue];
            if (context.key >= 0 && key[0] >= 0) values[b][t][header_column + 1] = key[0];
          }
          // The bar from the tune's start, whatever the crop's: a crop that starts mid-tune knows where it is.
          if (columns_.phrase) values[b][t][columns_.phrase_column()] = row_values[kBarValue];
          if (columns_.bars_left) values[b][t][columns_.bars_left_column()] = bars_left_value(context.bar, tune_bars);
        }
        if (lookback_hidden_share_ > 0.0 &&
            std::uniform_real_distribution<double>(0.0, 1.0)(hidden_draws) < lookback_hidden_share_) {
          for (int t = 0; t < row.length; ++t) {
            values[b][t][1] = values[b][t][2] = vocab;
            for (int64_t k = 0; k < far_lookbacks; ++k) values[b][t][columns_.far_column() + k] = vocab;
          }
        }
        if (columns_.chords &&
            !(chords_hidden_share_ > 0.0 &&
              std::uniform_real_distribution<double>(0.0, 1.0)(chord_draws) < chords_hidden_share_)) {
          // The chord under token t + 1, moved with the crop's transposition (a hidden row keeps 0: no chord).
          auto found = chords_.find(row.piece);
          if (found == chords_.end()) found = chords_.emplace(row.piece, shard_.piece_chords(row.piece)).first;
          const std::vector<uint16_t>& chords = found->second;
          for (int t = 0; t < row.length; ++t) {
            const size_t next = row.start + static_cast<size_t>(t) + 1;
            values[b][t][3] = next < chords.size() ? transpose_chord_mask(chords[next], row.transposition) : 0;
          }
        }
        if (styles > 0) {
          // Every row reads its piece's style (one-hot), padding included (the loss ignores padding).
          const int64_t column = 4 + static_cast<int64_t>(shard_.piece_style(row.piece));
          for (int64_t t = 0; t < drawn.length; ++t) values[b][t][column] = models::SequenceModelImpl::kStyleUnit;
        }
      }
    }
    return batch;
  }
  roll_sampler_->reseed(seed);
  RollBatch drawn = roll_sampler_->next();
  const int64_t B = drawn.batch_size, K = drawn.num_tracks, T = drawn.length, P = drawn.num_pitches;
  auto cells = torch::from_blob(drawn.cells.data(), {B, K, T, P}, torch::kUInt8);      // (B, K, T, P)
  auto frames = cells.permute({0, 2, 1, 3}).reshape({B, T, K * P}).to(torch::kFloat);  // (B, T, V)
  auto mask = torch::zeros({B, T}, torch::kBool);                                      // (B, T)
  for (int64_t b = 0; b < B; ++b) {
    mask[b].narrow(0, 0, drawn.rows[b].length).fill_(true);
    batch.real_elements += drawn.rows[b].length;
  }
  batch.input = frames;
  batch.targets = frames;
  batch.frame_mask = mask;
  return batch;
}

torch::Tensor piece_tensor(const Shard& shard, size_t piece) {
  if (!shard.is_piano_roll()) {
    const std::vector<Token> tokens = shard.token_vector(piece);
    auto out = torch::empty({static_cast<int64_t>(tokens.size())}, torch::kLong);  // (T)
    auto* data = out.data_ptr<int64_t>();
    for (size_t i = 0; i < tokens.size(); ++i) data[i] = tokens[i];
    return out;
  }
  PianoRoll roll = shard.roll(piece);
  const int64_t K = roll.num_tracks, T = roll.num_steps, P = roll.num_pitches;
  auto cells = torch::from_blob(roll.cells.data(), {K, T, P}, torch::kUInt8);  // (K, T, P)
  return cells.permute({1, 0, 2}).reshape({T, K * P}).to(torch::kFloat);       // (T, V), a copy
}

torch::Tensor model_input(const torch::Tensor& tokens, int64_t pad_id) {
  if (pad_id < 0) return tokens;
  return tokens.masked_fill(tokens == pad_id, 0);
}

}  // namespace cadenza::codec
