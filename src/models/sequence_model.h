// The interface every autoregressive model family implements (rnn, lstm, gru, transformer).
//
// Legend of dimension letters used in shape comments throughout src/models:
//   B batch, T time steps (tokens or piano-roll frames), C model width (d_model / hidden size),
//   V vocabulary size (token models) or number of keys (piano-roll models, 88), L layers, H heads, D head size.
//
// A model is: an input layer (token embedding, or a linear map of a binary frame), a backbone (the family:
// stacked recurrent layers, or Transformer blocks) and an output head (a linear layer to V logits). Token models
// are trained with softmax cross-entropy over V; piano-roll models with a sigmoid (Bernoulli) per key.
//
// Two ways to run a model, which must agree (tests prove max |difference| < 1e-5 in float32):
//   forward(input)            whole sequences at once, for training and evaluation;
//   step(input_t, state)      one time step, carrying a recurrent state or a KV cache, for generation.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "encoding/encoding.h"  // the step context layout (ContextColumns, kLookbackBars)
#include "models/model_config.h"

namespace cadenza::models {

// Per-sequence decoding state (recurrent h/c, or KV cache). Opaque to callers.
struct DecodeState {
  virtual ~DecodeState() = default;

  // Keeps the batch rows `rows` ((N) int64, each in [0, B), repeats allowed) in that order: afterwards the state holds
  // N sequences, row i continuing sequence rows[i]. This is index_select along the batch dimension of every state
  // tensor; beam search uses it to reorder and duplicate beams between steps. Throws cadenza::Error on bad rows.
  // Not pure: a state that cannot be reordered (e.g. a test double) says so when asked.
  virtual void select_rows(const torch::Tensor& rows) {
    (void)rows;
    throw Error("this decode state does not support select_rows()");
  }
};

// Checks rows for DecodeState::select_rows() against a batch of batch_size sequences and returns them on `device`.
// Throws cadenza::Error naming the problem (`who` prefixes the message).
inline torch::Tensor checked_decode_rows(const torch::Tensor& rows, int64_t batch_size, const torch::Device& device,
                                         const std::string& who) {
  if (!rows.defined() || rows.dim() != 1 || rows.scalar_type() != torch::kLong)
    throw Error(who + " select_rows(): rows must be a 1-D int64 tensor");
  if (rows.numel() == 0) throw Error(who + " select_rows(): rows must not be empty");
  auto [low, high] = torch::aminmax(rows);
  const int64_t lowest = low.item<int64_t>(), highest = high.item<int64_t>();
  if (lowest < 0 || highest >= batch_size) {
    throw Error(who + " select_rows(): rows must be in [0, " + std::to_string(batch_size) + "), found " +
                std::to_string(lowest) + ".." + std::to_string(highest));
  }
  return rows.to(device);
}

class SequenceModelImpl : public torch::nn::Module {
 public:
  explicit SequenceModelImpl(ModelConfig config) : config_(std::move(config)) {}
  const ModelConfig& config() const { return config_; }

  // input: (B, T) int64 token ids, or (B, T, V) float frames in {0,1}.  Returns (B, T, V) logits, where
  // position t predicts the element at t+1.
  // context: (B, T, 3) int64, what the model reads beside token t about token t + 1 (encoding.h StepContext):
  // [its position in the bar, the token one bar before it, the token two bars before it] with V for "no such token";
  // (B, T, 4) adds the chord under token t + 1 as 12 pitch-class bits (score/chords.h; 0 = no chord), which chord
  // models (config chord_conditioning) read; a chord model given 3 columns reads "no chord" everywhere.
  // Style models (config style_conditioning, S = style_names.size()) read (B, T, 4 + S): columns 4.. are the style
  // vector of token t + 1, weights in fixed point (kStyleUnit = weight 1; style_weights_column()), one-hot in training
  // and any mixture summing to kStyleUnit for blends; the chord column is then read only by chord models.
  // Models with far lookbacks (context_lookback 3 or 4: far_lookbacks() = F = 1 or 2) read (B, T, 4 + S + F): the
  // chord column is there (0 when the model reads no chords), and the next F columns are the tokens 4 (and 8) bars
  // before token t + 1 (encoding.h ContextColumns).
  // Header models (config context_header) read 2 more columns, last: the tune's METER and KEY tokens (V = not read
  // yet); the chord column is then there too: (B, T, 4 + S + F + 2).
  // Phrase models (config context_phrase) read 1 more column, last: the bar number of token t + 1 from the tune's
  // start (kNoBar = not a step), the chord column there too: (B, T, 4 + S + F + 2H + 1).
  // Bars-left models (config context_bars_left) read 1 more column, last: the bars left in the tune at token t + 1
  // (encoding.h bars_left_value; kBarsLeftUnknown = no length planned): (B, T, 4 + S + F + 2H + P + 1).
  // Required when the model reads a context (reads_context()), ignored otherwise.
  virtual torch::Tensor forward(const torch::Tensor& input, const torch::Tensor& context) = 0;
  torch::Tensor forward(const torch::Tensor& input) { return forward(input, torch::Tensor()); }

  // A fresh state for a batch of B sequences.
  virtual std::unique_ptr<DecodeState> initial_state(int64_t batch_size) = 0;
  // input_t: (B) int64 tokens or (B, V) frames; context_t (B, 3) as above. Returns (B, V) logits and advances state.
  virtual torch::Tensor step(const torch::Tensor& input_t, DecodeState& state, const torch::Tensor& context_t) = 0;
  torch::Tensor step(const torch::Tensor& input_t, DecodeState& state) { return step(input_t, state, {}); }

  // True when the config asks for a step context (context_positions > 0, context_lookback > 0, chord_conditioning,
  // style_conditioning, context_header).
  bool reads_context() const {
    return config_.context_positions > 0 || config_.context_lookback > 0 || config_.chord_conditioning ||
           config_.style_conditioning || config_.context_header || config_.context_phrase || config_.context_bars_left;
  }
  // True when the model reads the tune's meter and key tokens, the last two columns of the context (context_header).
  bool reads_header() const { return config_.context_header; }
  // The width of the context rows the model reads when it reads more than the first 3 or 4 columns (styles, far
  // lookbacks or the header), else 4 (a model without them also takes 3 columns).
  int64_t context_row_width() const { return context_columns().wide() ? context_columns().width() : 4; }
  // True when the model reads the bar number, the last column of the context (context_phrase).
  bool reads_phrase() const { return config_.context_phrase; }
  // True when the model reads the bars left in the tune, the last column of the context (context_bars_left).
  bool reads_bars_left() const { return config_.context_bars_left; }
  // The columns of the context rows the model reads (encoding.h ContextColumns has the layout).
  ContextColumns context_columns() const {
    ContextColumns columns;
    columns.chords = reads_chords(), columns.styles = style_count(), columns.far_lookbacks = far_lookbacks();
    columns.header = reads_header(), columns.phrase = reads_phrase(), columns.bars_left = reads_bars_left();
    return columns;
  }
  // True when the model reads the chord column of the context (config chord_conditioning).
  bool reads_chords() const { return config_.chord_conditioning; }
  // The number of styles the model reads (config style_names; 0 = no style conditioning).
  int64_t style_count() const {
    return config_.style_conditioning ? static_cast<int64_t>(config_.style_names.size()) : 0;
  }
  // The lookbacks past 2 bars (the tokens 4 and 8 bars back), which come last in the context: 0, 1 or 2.
  int64_t far_lookbacks() const { return std::max<int64_t>(0, config_.context_lookback - 2); }
  static constexpr int64_t kChordBits = 12;
  // A style weight of 1 in the int64 context (2^24: float32 holds every multiple of it in [0, 1] exactly, so a
  // one-hot style is exact and a mixture is rounded by at most 2^-25).
  static constexpr int64_t kStyleUnit = int64_t{1} << 24;

  // The context's embeddings, added to the input layer's output: bar_position (context_positions, E) and
  // lookback.k (V + 1, E) for k < context_lookback. Absent (null) when the config reads no context.
  torch::nn::Embedding bar_position{nullptr};
  torch::nn::ModuleList lookback{nullptr};
  // context_header: header.0 the meter token, header.1 the key token, each (V + 1, E) (V = not read yet).
  torch::nn::ModuleList header{nullptr};
  // context_phrase: phrase.0 the bar within its 8-bar phrase, phrase.1 the phrase's number (capped at 8), each
  // (kPhraseBars + 1, E) / (kPhraseCount + 1, E), the last row for "not a step" (kNoBar).
  torch::nn::ModuleList phrase{nullptr};
  // context_bars_left: the bars left in the tune, (kBarsLeftUnknown + 1, E), the last row for "unknown".
  torch::nn::Embedding bars_left{nullptr};
  // chord_conditioning: the chord's 12 pitch-class bits (0/1) -> (E), a linear map without bias, added too.
  torch::nn::Linear chord{nullptr};
  // style_conditioning: the style vector (S weights summing to 1) -> (E), a linear map without bias, added too.
  torch::nn::Linear style{nullptr};

 protected:
  // Registers the context embeddings of width `width` (E) when the config asks for them. Backbones call it right
  // after their input layer, so parameter names and order match the PyTorch twin.
  void register_context(int64_t width);
  // context (B, T, 3) -> (B, T, E), or one step (B, 3) -> (B, E): the sum of its embeddings. Throws cadenza::Error
  // on a missing or malformed context (values out of range name the column).
  torch::Tensor embed_context(const torch::Tensor& context, int64_t batch, int64_t steps, bool one_step);

  ModelConfig config_;
  std::vector<torch::nn::Embedding> lookback_list_;
  std::vector<torch::nn::Embedding> header_list_;
  std::vector<torch::nn::Embedding> phrase_list_;
};

// Style weights (S, each >= 0, any positive sum; normalised here) as the context's fixed-point columns (S) int64,
// summing to kStyleUnit exactly (the rounding remainder goes to the largest weight). Throws Error on a negative,
// non-finite or all-zero weight vector.
std::vector<int64_t> style_weights_column(const std::vector<double>& weights);

// Number of trainable parameters.
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace cadenza::models
