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

torch::Tensor context_tensor(const models::SequenceModelImpl& model,
                             const std::vector<std::array<int64_t, 1 + kLookbackCount>>& rows,
                             const torch::Device& device) {
  if (!model.reads_context()) return torch::Tensor();
  torch::Tensor out = torch::empty({static_cast<int64_t>(rows.size()), 3}, torch::kLong);
  auto values = out.accessor<int64_t, 2>();
  for (size_t r = 0; r < rows.size(); ++r)
    for (int c = 0; c < 3; ++c) values[static_cast<int64_t>(r)][c] = rows[r][static_cast<size_t>(c)];
  return out.to(device);
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
    const auto values = context_values(tokens, i, contexts[i], vocab);
    torch::Tensor context = context_tensor(model, {values}, device);
    const std::span<const Token> before(tokens.data(), i + 1);
    if (model.reads_chords() || model.style_count() > 0 || model.far_lookbacks() > 0) {
      // A 4th column: the chord under token i + 1 (0 = none; a style model without chords reads no chord column).
      const int64_t chord = model.reads_chords() && options.next_chord ? options.next_chord(before) : int64_t{0};
      context = torch::cat({context, torch::full({1, 1}, chord, context.options())}, 1);  // (1, 4)
    }
    if (model.style_count() > 0) {
      // Columns 4..: the style vector of token i + 1.
      const std::vector<int64_t> style = options.next_style ? options.next_style(before) : even_style;
      if (static_cast<int64_t>(style.size()) != model.style_count())
        throw Error("generate: the style vector has " + std::to_string(style.size()) + " weights, the model reads " +
                    std::to_string(model.style_count()) + " styles");
      context = torch::cat({context, torch::tensor(style, context.options()).reshape({1, -1})}, 1);  // (1, 4 + S)
    }
    if (model.far_lookbacks() > 0) {
      // Last: the tokens 4 (and 8) bars before token i + 1.
      const std::vector<int64_t> far(values.begin() + 3, values.begin() + 3 + model.far_lookbacks());
      context = torch::cat({context, torch::tensor(far, context.options()).reshape({1, -1})}, 1);  // (1, 4 + S + F)
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
