// Beam search, read top to bottom: scoring (masked log_softmax), proposals per beam, then the search loop (prefix,
// expand-and-prune steps, closing, choice of the result).
#include "generate/beam_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <string>

#include "common/error.h"

namespace cadenza {
namespace {

constexpr double kNegativeInfinity = -std::numeric_limits<double>::infinity();

// A sequence being searched: its tokens (primer included), the grammar after them, and its score so far.
struct Beam {
  std::vector<Token> tokens;
  std::vector<StepContext> contexts;  // contexts[i]: the step context of token i + 1 (generator.h)
  std::unique_ptr<Grammar> grammar;
  double log_probability = 0.0;
  int64_t closing_tokens = 0;
};

// One continuation: beam `parent` followed by `token`, with the log-probability of the whole sequence.
struct Candidate {
  int parent;
  Token token;
  double log_probability;
};

// log p(t) for every token under the softmax (temperature 1) of `logits` restricted to mask[t] != 0; -inf for the
// rest. NaN logits count as disallowed (as in sample_token); +inf logits share all the probability.
void masked_log_softmax(const float* logits, const std::vector<uint8_t>& mask, std::vector<double>& log_p) {
  const size_t vocab = mask.size();
  log_p.assign(vocab, kNegativeInfinity);
  double top = kNegativeInfinity;
  for (size_t t = 0; t < vocab; ++t)
    if (mask[t] && !std::isnan(logits[t])) top = std::max(top, static_cast<double>(logits[t]));
  if (top == kNegativeInfinity) return;  // nothing has any probability
  if (std::isinf(top)) {
    size_t count = 0;
    for (size_t t = 0; t < vocab; ++t) count += mask[t] && logits[t] == std::numeric_limits<float>::infinity();
    for (size_t t = 0; t < vocab; ++t)
      if (mask[t] && logits[t] == std::numeric_limits<float>::infinity()) log_p[t] = -std::log(double(count));
    return;
  }
  double total = 0.0;  // sum of exp(logit - top) over allowed tokens, in double
  for (size_t t = 0; t < vocab; ++t)
    if (mask[t] && !std::isnan(logits[t])) total += std::exp(double(logits[t]) - top);
  const double log_total = top + std::log(total);
  for (size_t t = 0; t < vocab; ++t)
    if (mask[t] && !std::isnan(logits[t])) log_p[t] = double(logits[t]) - log_total;
}

// The tokens one beam proposes: up to branch_factor distinct allowed tokens, in proposal order.
std::vector<Token> propose(const float* logits, const std::vector<uint8_t>& mask, const BeamSearchOptions& options,
                           std::mt19937_64& rng) {
  const int vocab = static_cast<int>(mask.size());
  std::vector<Token> proposals;
  if (options.stochastic) {
    for (int i = 0; i < options.branch_factor; ++i) {
      const Token token = sample_token(logits, vocab, mask.data(), options.sampling, rng);
      if (std::find(proposals.begin(), proposals.end(), token) == proposals.end()) proposals.push_back(token);
    }
    return proposals;
  }
  // The most likely allowed tokens; the same candidates and order as sample_token at temperature 0, so that
  // branch_factor 1 is its greedy choice.
  for (int t = 0; t < vocab; ++t) {
    if (mask[t] == 0 || std::isnan(logits[t]) || logits[t] == -std::numeric_limits<float>::infinity()) continue;
    proposals.push_back(t);
  }
  if (proposals.empty()) throw Error("beam search: no token is allowed (empty mask or all logits -inf/NaN)");
  const size_t keep = std::min(proposals.size(), static_cast<size_t>(options.branch_factor));
  std::stable_sort(proposals.begin(), proposals.end(), [&](Token a, Token b) { return logits[a] > logits[b]; });
  proposals.resize(keep);
  return proposals;
}

}  // namespace

void validate_beam_search_options(const BeamSearchOptions& options) {
  if (options.beam_size < 1)
    throw Error("beam search: beam_size must be >= 1, got " + std::to_string(options.beam_size));
  if (options.branch_factor < 1)
    throw Error("beam search: branch_factor must be >= 1, got " + std::to_string(options.branch_factor));
  if (options.max_tokens < 0)
    throw Error("beam search: max_tokens must be >= 0, got " + std::to_string(options.max_tokens));
  validate_sampling_options(options.sampling);
}

std::vector<Token> beam_search_tokens(models::SequenceModelImpl& model, const TokenEncoding& encoding,
                                      std::span<const Token> primer, const BeamSearchOptions& options,
                                      BeamSearchStats* stats) {
  using namespace generation_detail;
  validate_beam_search_options(options);
  check_token_model(model, encoding, "beam search");
  const int vocab = encoding.vocabulary().size();

  std::vector<Beam> beams(1);
  beams[0].tokens.assign(primer.begin(), primer.end());
  beams[0].grammar = primed_grammar(encoding, primer, "beam search");
  beams[0].contexts = encoding.contexts(primer);
  const int64_t tune_bars = planned_tune_bars(beams[0].grammar->context(), options.planned_bars);

  model.eval();
  torch::NoGradGuard no_grad;
  const torch::Device device = model_device(model);
  std::mt19937_64 rng(options.seed);
  BeamSearchStats local_stats;

  int64_t remaining = options.max_tokens;
  if (beams[0].tokens.empty() && remaining > 0) {
    // Start convention (see the header): uniform, unscored.
    const Token first = uniform_first_token(*beams[0].grammar, vocab, rng);
    beams[0].grammar->push(first);
    beams[0].tokens.push_back(first);
    beams[0].contexts.push_back(beams[0].grammar->context());
    ++local_stats.generated_tokens;
    --remaining;
  }
  if (beams[0].tokens.empty()) {  // empty primer and max_tokens == 0
    if (stats != nullptr) *stats = local_stats;
    return {};
  }

  // State row i holds the sequence whose next-token logits are logits[i * vocab, (i + 1) * vocab).
  auto state = model.initial_state(1);
  int64_t rows = 1;
  std::vector<float> logits(vocab);
  // Keeps state rows `keep` (in that order), feeds one token per kept row (the last token of beams[of_beam[r]], or
  // token `at` of beam 0 for the prefix) and copies the (rows, V) logits to the CPU.
  // The context of token `at + 1` of a beam: its step context, and for a style model (columns 4..) the beam's style
  // after a chord column that stays 0 (beam search takes no chords).
  const int64_t styles = model.style_count();
  const std::vector<int64_t> even_style =
      styles > 0 ? models::style_weights_column(std::vector<double>(static_cast<size_t>(styles), 1.0))
                 : std::vector<int64_t>();
  auto context_of = [&](const Beam& beam, size_t at) {
    const std::vector<int64_t> style = styles > 0 && options.next_style
                                           ? options.next_style(std::span<const Token>(beam.tokens.data(), at + 1))
                                           : even_style;
    return context_row(model, context_values(beam.tokens, at, beam.contexts[at], vocab), /*chord=*/0, style,
                       "beam search", bars_left_value(beam.contexts[at].bar, tune_bars));
  };
  auto context_rows = [&](const std::vector<std::vector<int64_t>>& rows_values) {
    if (!model.reads_context()) return torch::Tensor();
    const auto width = static_cast<int64_t>(rows_values.front().size());
    torch::Tensor out = torch::empty({static_cast<int64_t>(rows_values.size()), width}, torch::kLong);
    auto values = out.accessor<int64_t, 2>();
    for (size_t r = 0; r < rows_values.size(); ++r)
      for (int64_t c = 0; c < width; ++c) values[static_cast<int64_t>(r)][c] = rows_values[r][static_cast<size_t>(c)];
    return out.to(device);
  };
  auto advance = [&](const std::vector<int64_t>& keep, const std::vector<Token>& inputs,
                     const std::vector<std::vector<int64_t>>& contexts) {
    bool identity = static_cast<int64_t>(keep.size()) == rows;
    for (size_t i = 0; identity && i < keep.size(); ++i) identity = keep[i] == static_cast<int64_t>(i);
    if (!identity) state->select_rows(torch::tensor(keep, torch::kLong));
    rows = static_cast<int64_t>(keep.size());
    std::vector<int64_t> ids(inputs.begin(), inputs.end());
    const torch::Tensor input = torch::tensor(ids, torch::kLong).to(device);
    const torch::Tensor out =
        model.step(input, *state, context_rows(contexts)).to(torch::kCPU, torch::kFloat).contiguous();
    logits.assign(out.data_ptr<float>(), out.data_ptr<float>() + rows * vocab);
  };
  auto any_cannot_end = [&] {
    return std::any_of(beams.begin(), beams.end(), [](const Beam& beam) { return !beam.grammar->can_end(); });
  };

  // The prefix, one token at a time at batch size 1 (as generate_tokens feeds it), only when logits are needed.
  if (remaining > 0 || any_cannot_end()) {
    for (size_t i = 0; i < beams[0].tokens.size(); ++i) advance({0}, {beams[0].tokens[i]}, {context_of(beams[0], i)});
  }

  std::vector<uint8_t> mask(vocab);
  std::vector<double> log_p;
  std::vector<Candidate> candidates;
  while (remaining > 0) {
    // Expand: every beam's proposals, scored as whole sequences.
    candidates.clear();
    for (size_t b = 0; b < beams.size(); ++b) {
      const float* row = logits.data() + b * vocab;
      beams[b].grammar->allowed(mask);
      forbid_end_token(options.forbid_end, encoding, *beams[b].grammar, mask);
      masked_log_softmax(row, mask, log_p);
      for (Token token : propose(row, mask, options, rng)) {
        candidates.push_back({static_cast<int>(b), token, beams[b].log_probability + log_p[token]});
      }
    }
    // Prune: the best beam_size; stable, so ties keep the earlier beam and proposal.
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.log_probability > b.log_probability; });
    if (candidates.size() > static_cast<size_t>(options.beam_size)) candidates.resize(options.beam_size);

    std::vector<Beam> next(candidates.size());
    std::vector<int64_t> parents(candidates.size());
    std::vector<Token> inputs(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
      const Candidate& candidate = candidates[i];
      const Beam& parent = beams[candidate.parent];
      next[i].tokens.reserve(parent.tokens.size() + 1 + static_cast<size_t>(remaining));
      next[i].tokens = parent.tokens;
      next[i].tokens.push_back(candidate.token);
      next[i].grammar = parent.grammar->clone();
      next[i].grammar->push(candidate.token);
      next[i].contexts = parent.contexts;
      next[i].contexts.push_back(next[i].grammar->context());
      next[i].log_probability = candidate.log_probability;
      parents[i] = candidate.parent;
      inputs[i] = candidate.token;
    }
    beams = std::move(next);
    ++local_stats.generated_tokens;
    --remaining;
    if (remaining > 0 || any_cannot_end()) {
      std::vector<std::vector<int64_t>> contexts;
      for (const Beam& beam : beams) contexts.push_back(context_of(beam, beam.tokens.size() - 1));
      advance(parents, inputs, contexts);
    }
  }

  // Closing (see generator.h): greedy tokens for each beam that cannot end yet, in one batch of the open beams.
  // row_beam[i] is the beam of state row i.
  std::vector<int> row_beam(beams.size());
  std::iota(row_beam.begin(), row_beam.end(), 0);
  for (int64_t round = 0; round < kMaxClosingTokens; ++round) {
    std::vector<int64_t> keep;
    std::vector<Token> inputs;
    std::vector<int> next_row_beam;
    for (size_t i = 0; i < row_beam.size(); ++i) {
      Beam& beam = beams[row_beam[i]];
      if (beam.grammar->can_end()) continue;
      const float* row = logits.data() + i * vocab;
      const Token token = closing_token(*beam.grammar, row, vocab);
      beam.grammar->allowed(mask);
      masked_log_softmax(row, mask, log_p);
      beam.log_probability += log_p[token];
      beam.grammar->push(token);
      beam.tokens.push_back(token);
      beam.contexts.push_back(beam.grammar->context());
      ++beam.closing_tokens;
      if (!beam.grammar->can_end()) {
        keep.push_back(static_cast<int64_t>(i));
        inputs.push_back(token);
        next_row_beam.push_back(row_beam[i]);
      }
    }
    if (keep.empty() || round + 1 == kMaxClosingTokens) break;
    std::vector<std::vector<int64_t>> contexts;
    for (int b : next_row_beam) contexts.push_back(context_of(beams[b], beams[b].tokens.size() - 1));
    advance(keep, inputs, contexts);
    row_beam = std::move(next_row_beam);
  }

  // The result: the best beam that ends cleanly, else the best beam (ties -> the earlier beam).
  size_t best = 0;
  for (size_t b = 1; b < beams.size(); ++b) {
    const bool clean = beams[b].grammar->can_end(), best_clean = beams[best].grammar->can_end();
    if (clean != best_clean ? clean : beams[b].log_probability > beams[best].log_probability) best = b;
  }
  local_stats.log_probability = beams[best].log_probability;
  local_stats.closing_tokens = beams[best].closing_tokens;
  local_stats.ended_cleanly = beams[best].grammar->can_end();
  if (stats != nullptr) *stats = local_stats;
  return std::move(beams[best].tokens);
}

}  // namespace cadenza
