#include "models/sequence_model.h"

#include <cmath>

namespace cadenza::models {

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.parameters(/*recurse=*/true)) {
    if (parameter.requires_grad()) count += parameter.numel();
  }
  return count;
}

void SequenceModelImpl::register_context(int64_t width) {
  if (config_.context_positions > 0)
    bar_position = register_module("bar_position", torch::nn::Embedding(config_.context_positions, width));
  if (config_.context_lookback > 0) {
    lookback = register_module("lookback", torch::nn::ModuleList());
    for (int64_t k = 0; k < config_.context_lookback; ++k) {
      lookback_list_.push_back(torch::nn::Embedding(config_.vocab_size + 1, width));  // + 1: "no such token"
      lookback->push_back(lookback_list_.back());
    }
  }
  if (config_.context_header) {
    header = register_module("header", torch::nn::ModuleList());
    // header.0 the meter, header.1 the key.
    for (int k = 0; k < 2; ++k) {
      header_list_.push_back(torch::nn::Embedding(config_.vocab_size + 1, width));  // + 1: "not read yet"
      header->push_back(header_list_.back());
    }
  }
  if (config_.context_phrase) {
    phrase = register_module("phrase", torch::nn::ModuleList());
    for (int64_t rows : {kPhraseBars + 1, kPhraseCount + 1}) {  // + 1: not a step
      phrase_list_.push_back(torch::nn::Embedding(rows, width));
      phrase->push_back(phrase_list_.back());
    }
  }
  if (config_.context_bars_left)
    bars_left = register_module("bars_left", torch::nn::Embedding(kBarsLeftUnknown + 1, width));  // + 1: unknown
  if (config_.chord_conditioning)
    chord = register_module("chord", torch::nn::Linear(torch::nn::LinearOptions(kChordBits, width).bias(false)));
  if (config_.style_conditioning) {
    if (config_.style_names.empty())
      throw Error("model config: \"style_conditioning\" needs \"style_names\" (the trainer takes them from the data)");
    style = register_module("style", torch::nn::Linear(torch::nn::LinearOptions(style_count(), width).bias(false)));
    // A one-hot style picks one column: it starts as an embedding row, N(0, 1) like the token and context embeddings
    // it is added to. Linear's own U(-1/sqrt(S), 1/sqrt(S)) left it about a fifth of their scale, and the first
    // step, which draws the meter, read it weakly (docs/conditioning.md, "Small styles' meters").
    torch::NoGradGuard no_grad;
    torch::nn::init::normal_(style->weight);
  }
}

std::vector<int64_t> style_weights_column(const std::vector<double>& weights) {
  double sum = 0;
  for (const double weight : weights) {
    if (!std::isfinite(weight) || weight < 0)
      throw Error("style weights must be finite and non-negative, got " + std::to_string(weight));
    sum += weight;
  }
  if (!(sum > 0)) throw Error("style weights must not all be zero");
  std::vector<int64_t> column(weights.size());
  int64_t total = 0;
  size_t largest = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    column[i] = std::llround(weights[i] / sum * static_cast<double>(SequenceModelImpl::kStyleUnit));
    total += column[i];
    if (weights[i] > weights[largest]) largest = i;
  }
  column[largest] += SequenceModelImpl::kStyleUnit - total;
  return column;
}

torch::Tensor SequenceModelImpl::embed_context(const torch::Tensor& context, int64_t batch, int64_t steps,
                                               bool one_step) {
  const std::string who = config_.family + " model";
  if (!context.defined())
    throw Error(who + ": it reads a step context (bar position, lookback, chord), but none was given");
  const bool shape_ok = one_step ? context.dim() == 2 && context.size(0) == batch
                                 : context.dim() == 3 && context.size(0) == batch && context.size(1) == steps;
  const ContextColumns columns = context_columns();
  const int64_t styles = columns.styles, far = columns.far_lookbacks;
  const bool wide = styles > 0 || far > 0 || reads_header() || reads_phrase() || reads_bars_left();
  const bool width_ok = wide ? context.size(-1) == context_row_width() : context.size(-1) == 3 || context.size(-1) == 4;
  if (!shape_ok || !width_ok || context.scalar_type() != torch::kLong) {
    const std::string lead = one_step ? "(B, " : "(B, T, ";
    const std::string shapes = wide ? lead + std::to_string(context_row_width()) + ") (4 columns + " +
                                          std::to_string(styles) + " styles + " + std::to_string(far) +
                                          " lookbacks of 4 and 8 bars + " + (reads_header() ? "2" : "0") +
                                          " header columns: meter, key + " + (reads_phrase() ? "1" : "0") +
                                          " bar number + " + (reads_bars_left() ? "1" : "0") + " bars left)"
                                    : lead + "3) or " + lead + "4)";
    throw Error(who + ": the step context must be int64 of shape " + shapes + " for the input it goes with");
  }
  auto check = [&](const torch::Tensor& column, int64_t limit, const char* what) {
    if (column.numel() == 0) return;
    auto [low, high] = torch::aminmax(column);
    if (low.item<int64_t>() < 0 || high.item<int64_t>() >= limit)
      throw Error(who + ": step context " + what + " must be in [0, " + std::to_string(limit) + "), found " +
                  std::to_string(low.item<int64_t>()) + ".." + std::to_string(high.item<int64_t>()));
  };
  torch::Tensor sum;
  if (bar_position) {
    const torch::Tensor positions = context.select(-1, 0);
    check(positions, config_.context_positions, "positions");
    sum = bar_position->forward(positions);  // (B, T, E) or (B, E)
  }
  for (size_t k = 0; k < lookback_list_.size(); ++k) {
    // Lags of 1 and 2 bars in columns 1 and 2, of 4 and 8 bars after the styles (encoding.h ContextColumns).
    const auto column = k < 2 ? 1 + static_cast<int64_t>(k) : columns.far_column() + static_cast<int64_t>(k) - 2;
    const std::string what = "lookback tokens (" + std::to_string(kLookbackBars[k]) + (k == 0 ? " bar)" : " bars)");
    const torch::Tensor tokens = context.select(-1, column);
    check(tokens, config_.vocab_size + 1, what.c_str());
    const torch::Tensor embedded = lookback_list_[k]->forward(tokens);
    sum = sum.defined() ? sum + embedded : embedded;
  }
  for (size_t k = 0; k < header_list_.size(); ++k) {
    // The meter and the key, after the far lookbacks (encoding.h ContextColumns).
    const torch::Tensor tokens = context.select(-1, columns.header_column() + static_cast<int64_t>(k));
    check(tokens, config_.vocab_size + 1, k == 0 ? "meter tokens" : "key tokens");
    const torch::Tensor embedded = header_list_[k]->forward(tokens);
    sum = sum.defined() ? sum + embedded : embedded;
  }
  if (phrase) {
    // The bar number (kNoBar off the steps) as the bar within its phrase and the phrase's number.
    const torch::Tensor bars = context.select(-1, columns.phrase_column());
    check(bars, kNoBar + 1, "bar numbers");
    const torch::Tensor off = bars.eq(kNoBar);
    const torch::Tensor in_phrase = bars.remainder(kPhraseBars).masked_fill(off, kPhraseBars);
    const torch::Tensor phrase_number = bars.div(kPhraseBars, "floor").masked_fill(off, kPhraseCount);
    const torch::Tensor embedded = phrase_list_[0]->forward(in_phrase) + phrase_list_[1]->forward(phrase_number);
    sum = sum.defined() ? sum + embedded : embedded;
  }
  if (bars_left) {
    // The bars left in the tune (kBarsLeftUnknown: no length planned, or not a step).
    const torch::Tensor left = context.select(-1, columns.bars_left_column());
    check(left, kBarsLeftUnknown + 1, "bars left");
    const torch::Tensor embedded = bars_left->forward(left);
    sum = sum.defined() ? sum + embedded : embedded;
  }
  if (style) {
    const torch::Tensor columns = context.narrow(-1, 4, style_count());  // (B, T, S) fixed point
    check(columns, kStyleUnit + 1, "style weights");
    const torch::Tensor weights = columns.to(style->weight.scalar_type()) / static_cast<double>(kStyleUnit);
    const torch::Tensor embedded = style->forward(weights);  // (B, T, E)
    sum = sum.defined() ? sum + embedded : embedded;
  }
  if (chord) {
    std::vector<int64_t> shape(context.sizes().begin(), context.sizes().end() - 1);
    shape.push_back(chord->options.out_features());
    if (context.size(-1) < 4) {
      // No chord column: "no chord" everywhere, whose bits are all 0, so the chord adds nothing.
      if (!sum.defined()) sum = torch::zeros(shape, chord->weight.options());
      return sum;
    }
    const torch::Tensor masks = context.select(-1, 3);
    check(masks, int64_t{1} << kChordBits, "chord masks");
    const torch::Tensor bits = torch::arange(kChordBits, masks.options());                  // (12)
    const torch::Tensor on = masks.unsqueeze(-1).bitwise_right_shift(bits).bitwise_and(1);  // (B, T, 12)
    const torch::Tensor embedded = chord->forward(on.to(chord->weight.scalar_type()));      // (B, T, E)
    sum = sum.defined() ? sum + embedded : embedded;
  }
  return sum;
}

}  // namespace cadenza::models
