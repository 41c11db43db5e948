#include "generate/generator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"
#include "common/random.h"

namespace cadenza {
namespace {

// Index of the largest logit among tokens with mask[t] != 0 (ties -> lowest id); -1 if none.
int masked_argmax(const float* logits, const std::vector<uint8_t>& mask) {
  int best = -1;
  for (size_t t = 0; t < mask.size(); ++t) {
    if (mask[t] == 0 || std::isnan(logits[t])) continue;
    if (best < 0 || logits[t] > logits[best]) best = static_cast<int>(t);
  }
  return best;
}

}  // namespace

namespace generation_detail {

void check_token_model(const models::SequenceModelImpl& model, const TokenEncoding& encoding, const std::string& who) {
  if (model.config().input_kind != models::InputKind::kTokens) {
    throw Error(who + ": the model takes piano-roll frames, not tokens");
  }
  const int vocab = encoding.vocabulary().size();
  if (model.config().vocab_size != vocab) {
    throw Error(who + ": model vocabulary size " + std::to_string(model.config().vocab_size) + " differs from the '" +
                encoding.name() + "' encoding's " + std::to_string(vocab));
  }
}

std::unique_ptr<Grammar> primed_grammar(const TokenEncoding& encoding, std::span<const Token> primer,
                                        const std::string& who) {
  const int vocab = encoding.vocabulary().size();
  auto grammar = encoding.grammar();
  for (size_t i = 0; i < primer.size(); ++i) {
    const Token token = primer[i];
    if (token < 0 || token >= vocab) {
      throw Error(who + ": primer token " + std::to_string(i) + " is id " + std::to_string(token) + ", outside the '" +
                  encoding.name() + "' vocabulary [0, " + std::to_string(vocab) + ")");
    }
    if (!grammar->is_allowed(token)) {
      throw Error(who + ": primer token " + std::to_string(i) + " (" + encoding.vocabulary().name(token) +
                  ") is not allowed there by the '" + encoding.name() + "' grammar");
    }
    grammar->push(token);
  }
  return grammar;
}

torch::Device model_device(const models::SequenceModelImpl& model) {
  const auto parameters = model.parameters();
  return parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
}

Token uniform_first_token(const Grammar& grammar, int vocab, std::mt19937_64& rng) {
  std::vector<uint8_t> mask(vocab);
  grammar.allowed(mask);
  std::vector<Token> allowed;
  for (int t = 0; t < vocab; ++t)
    if (mask[t]) allowed.push_back(t);
  return allowed[random_below(rng, allowed.size())];
}

std::vector<int64_t> context_row(const models::SequenceModelImpl& model, const ContextValues& values, int64_t chord,
                                 const std::vector<int64_t>& style, const char* who, int64_t bars_left) {
  if (!model.reads_context()) return {};
  const ContextColumns columns = model.context_columns();
  const int64_t styles = columns.styles;
  std::vector<int64_t> row(values.begin(), values.begin() + 3);
  // A style model without chords reads no chord column, but its styles sit after one.
  if (columns.wide()) row.push_back(chord);
  if (styles > 0) {
    if (static_cast<int64_t>(style.size()) != styles)
      throw Error(std::string(who) + ": the style vector has " + std::to_string(style.size()) +
                  " weights, the model reads " + std::to_string(styles) + " styles");
    row.insert(row.end(), style.begin(), style.end());
  }
  row.insert(row.end(), values.begin() + 3, values.begin() + 3 + columns.far_lookbacks);  // 4 (and 8) bars back
  if (columns.header) row.insert(row.end(), {values[kMeterValue], values[kKeyValue]});
  if (columns.phrase) row.push_back(values[kBarValue]);
  if (columns.bars_left) row.push_back(bars_left);
  return row;
}

int64_t planned_tune_bars(const StepContext& at_primer_end, int64_t planned_bars) {
  if (planned_bars < 0) return -1;
  if (at_primer_end.bar < 0) return planned_bars;  // no step yet: the plan starts at the first bar
  return at_primer_end.bar + (at_primer_end.position > 1 ? 1 : 0) + planned_bars;
}

void forbid_end_token(bool forbid, const TokenEncoding& encoding, const Grammar& grammar, std::vector<uint8_t>& mask) {
  const Token end = encoding.end_token();
  if (forbid && end >= 0 && static_cast<size_t>(end) < mask.size() && !grammar.ended())
    mask[static_cast<size_t>(end)] = 0;
}

Token closing_token(const Grammar& grammar, const float* logits, int vocab) {
  std::vector<uint8_t> mask(vocab);
  grammar.allowed(mask);
  std::vector<uint8_t> ending(vocab, 0);
  bool any_ending = false;
  for (int t = 0; t < vocab; ++t) {
    if (!mask[t]) continue;
    auto probe = grammar.clone();
    probe->push(t);
    if (probe->can_end()) ending[t] = 1, any_ending = true;
  }
  int token = masked_argmax(logits, any_ending ? ending : mask);
  if (token < 0) token = static_cast<int>(std::find(mask.begin(), mask.end(), 1) - mask.begin());
  return token;
}

}  // namespace generation_detail

std::vector<Token> generate_tokens(models::SequenceModelImpl& model, const TokenEncoding& encoding,
                                   std::span<const Token> primer, const GenerationOptions& options,
                                   GenerationStats* stats) {
  using namespace generation_detail;
  validate_sampling_options(options.sampling);
  if (options.max_tokens < 0)
    throw Error("generate: max_tokens must be >= 0, got " + std::to_string(options.max_tokens));
  check_token_model(model, encoding, "generate");
  const int vocab = encoding.vocabulary().size();
  auto grammar = primed_grammar(encoding, primer, "generate");
  std::vector<uint8_t> mask(vocab);

  model.eval();
  torch::NoGradGuard no_grad;
  const torch::Device device = model_device(model);
  std::mt19937_64 rng(options.seed);

  std::vector<Token> tokens(primer.begin(), primer.end());
  std::vector<StepContext> contexts = encoding.contexts(primer);  // contexts[i]: of token i + 1
  const int64_t tune_bars = planned_tune_bars(grammar->context(), options.planned_bars);
  const int64_t late_tune_bars =
      options.planned_bars < 0 ? planned_tune_bars(grammar->context(), options.late_plan_bars) : -1;
  // What a bars-left model reads at a bar: the plan, else the late plan's count once it is within the horizon.
  auto bars_left_at = [tune_bars, late_tune_bars](int bar) {
    const int64_t late = bars_left_value(bar, late_tune_bars);
    return late < kBarsLeftHorizon ? late : bars_left_value(bar, tune_bars);
  };
  GenerationStats local_stats;
  auto state = model.initial_state(1);
  std::vector<float> logits(vocab);
  const std::vector<int64_t> even_style =
      model.style_count() > 0
          ? models::style_weights_column(std::vector<double>(static_cast<size_t>(model.style_count()), 1.0))
          : std::vector<int64_t>();
  // Feeds token i (with its step context) and copies the (V) logits for the next position to the CPU buffer.
  auto feed = [&](size_t i) {
    const torch::Tensor input =
        torch::full({1}, static_cast<int64_t>(tokens[i]), torch::dtype(torch::kLong).device(device));
    torch::Tensor context;
    if (model.reads_context()) {
      // The context of token i + 1: its step context, the chord under it, its style.
      const std::span<const Token> before(tokens.data(), i + 1);
      const int64_t chord = model.reads_chords() && options.next_chord ? options.next_chord(before) : int64_t{0};
      const std::vector<int64_t> style =
          model.style_count() > 0 && options.next_style ? options.next_style(before) : even_style;
      const std::vector<int64_t> row = context_row(model, context_values(tokens, i, contexts[i], vocab), chord, style,
                                                   "generate", bars_left_at(contexts[i].bar));
      context = torch::tensor(row, torch::kLong).reshape({1, -1}).to(device);  // (1, width)
    }
    const torch::Tensor out =
        model.step(input, *state, context).reshape({-1}).to(torch::kCPU, torch::kFloat).contiguous();
    std::copy(out.data_ptr<float>(), out.data_ptr<float>() + vocab, logits.begin());
  };
  size_t fed = 0;  // tokens[0, fed) have gone through step(); logits predict tokens[fed]
  auto catch_up = [&] {
    while (fed < tokens.size()) feed(fed++);
  };
  auto append = [&](Token token) {
    grammar->push(token);
    tokens.push_back(token);
    contexts.push_back(grammar->context());
  };

  int64_t remaining = options.max_tokens;
  if (tokens.empty() && remaining > 0) {
    // Start convention (see the header): uniform over the tokens a fresh grammar allows.
    append(uniform_first_token(*grammar, vocab, rng));
    ++local_stats.generated_tokens;
    --remaining;
  }
  if (tokens.empty()) return tokens;  // empty primer and max_tokens == 0

  catch_up();
  bool stopped = options.stop_when_can_end && local_stats.generated_tokens > 0 && grammar->can_end();
  while (remaining > 0 && !stopped) {
    grammar->allowed(mask);
    forbid_end_token(options.forbid_end, encoding, *grammar, mask);
    const Token token = sample_token(logits.data(), vocab, mask.data(), options.sampling, rng);
    append(token);
    ++local_stats.generated_tokens;
    --remaining;
    stopped = (options.stop_when_can_end && grammar->can_end()) || grammar->ended() ||
              (options.stop_after && options.stop_after(tokens));
    if (remaining > 0 && !stopped) catch_up();
  }

  // Closing (see the header): one greedy token at a time until the grammar can end.
  while (!grammar->can_end() && local_stats.closing_tokens < kMaxClosingTokens) {
    catch_up();
    append(closing_token(*grammar, logits.data(), vocab));
    ++local_stats.closing_tokens;
  }
  local_stats.ended_cleanly = grammar->can_end();
  if (stats != nullptr) *stats = local_stats;
  return tokens;
}

}  // namespace cadenza
