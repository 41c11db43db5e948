#include "generate/piece_generator.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <random>

#include "common/error.h"
#include "encoding/pianoroll.h"
#include "generate/beam_search.h"
#include "generate/generator.h"
#include "models/checkpoint.h"
#include "score/operations.h"

namespace cadenza {
namespace {

constexpr double kBarQuarters = 4.0;  // 4/4 bars
// Safety cap for sampling towards a length in bars/seconds: a model that only emits time-less tokens (e.g.
// velocity changes) must still stop.
constexpr int64_t kMaxTokensPerQuarter = 256;

}  // namespace

struct PieceGenerator::Impl {
  std::string path;
  models::LoadedCheckpoint loaded;
  std::unique_ptr<TokenEncoding> encoding;        // token models
  std::optional<PianoRollEncoding> roll_encoding;  // frame models

  int64_t length_in_ticks(const PieceRequest& request, int ticks_per_quarter) const {
    const double quarters = request.bars > 0 ? request.bars * kBarQuarters : request.seconds * request.qpm / 60.0;
    return static_cast<int64_t>(std::llround(quarters * ticks_per_quarter));
  }

  GeneratedPiece generate_tokens_piece(const PieceRequest& request) {
    std::vector<Token> primer = request.primer_tokens;
    if (request.primer_score) {
      if (!primer.empty()) throw Error("generate: give a primer as tokens or as a score, not both");
      primer = encoding->encode(*request.primer_score);
    }
    GenerationOptions options;
    options.sampling = request.sampling;
    options.seed = request.seed;
    int64_t target_end_tick = -1;
    const int ticks_per_quarter = encoding->decode({}).ticks_per_quarter;
    const int64_t primer_end = primer.empty() ? 0 : encoding->decode(primer).end_tick();
    if (request.steps > 0) {
      options.max_tokens = request.steps;
    } else {
      const int64_t length = length_in_ticks(request, ticks_per_quarter);
      target_end_tick = primer_end + length;
      options.max_tokens = std::max<int64_t>(16, kMaxTokensPerQuarter * length / std::max(1, ticks_per_quarter));
      options.stop_after = [this, target_end_tick](std::span<const Token> tokens) {
        return encoding->decode(tokens).end_tick() >= target_end_tick;
      };
    }
    GeneratedPiece piece;
    if (request.beam_size > 0) {
      BeamSearchOptions beam;
      beam.beam_size = request.beam_size;
      beam.branch_factor = request.branch_factor;
      beam.sampling = request.sampling;
      beam.seed = request.seed;
      beam.stochastic = request.sampling.temperature > 0;
      BeamSearchStats stats;
      if (target_end_tick < 0) {
        beam.max_tokens = request.steps;
        piece.tokens = beam_search_tokens(*loaded.model, *encoding, primer, beam, &stats);
      } else {
        // Beam search cannot stop on a decoded length mid-search: search a token budget, and double it until
        // the piece is long enough (a few tries at most: melody needs about one token per grid step).
        const int64_t quarters = std::max<int64_t>(1, (target_end_tick + ticks_per_quarter - 1) / ticks_per_quarter);
        beam.max_tokens = 8 * quarters;
        for (int attempt = 0; attempt < 6; ++attempt) {
          piece.tokens = beam_search_tokens(*loaded.model, *encoding, primer, beam, &stats);
          if (encoding->decode(piece.tokens).end_tick() >= target_end_tick) break;
          beam.max_tokens *= 2;
        }
      }
      piece.generated_elements = stats.generated_tokens + stats.closing_tokens;
      piece.ended_cleanly = stats.ended_cleanly;
    } else {
      GenerationStats stats;
      piece.tokens = generate_tokens(*loaded.model, *encoding, primer, options, &stats);
      piece.generated_elements = stats.generated_tokens + stats.closing_tokens;
      piece.ended_cleanly = stats.ended_cleanly;
    }
    piece.primer_elements = static_cast<int64_t>(primer.size());
    piece.score = encoding->decode(piece.tokens);
    if (target_end_tick >= 0) piece.score = clip(piece.score, 0, target_end_tick);
    set_tempo(piece.score, request.qpm);
    const int64_t end = target_end_tick >= 0 ? target_end_tick : piece.score.end_tick();
    piece.music_seconds = piece.score.tick_to_seconds(end) - piece.score.tick_to_seconds(primer_end);
    return piece;
  }

  GeneratedPiece generate_frames_piece(const PieceRequest& request) {
    if (!request.primer_tokens.empty()) throw Error("generate: a piano-roll model takes a MIDI primer, not tokens");
    if (request.sampling.top_k != 0 || request.sampling.top_p != 1.0)
      throw Error("generate: --top-k and --top-p choose among tokens; a piano-roll model samples each key on its "
                  "own (use --temperature)");
    if (request.beam_size > 0) throw Error("generate: beam search applies to token models only");
    const PianoRollSpec& spec = roll_encoding->spec();
    const int64_t K = spec.num_tracks, P = spec.num_pitches(), V = K * P;
    int64_t steps = request.steps;
    if (steps <= 0) {
      const double quarters = request.bars > 0 ? request.bars * kBarQuarters : request.seconds * request.qpm / 60.0;
      steps = static_cast<int64_t>(std::llround(quarters * spec.steps_per_quarter));
    }
    if (steps <= 0) throw Error("generate: the requested length is shorter than one frame");

    // Primer frames, (T0, V) track-major like the training data.
    std::vector<std::vector<float>> frames;
    if (request.primer_score) {
      const PianoRoll roll = roll_encoding->encode(*request.primer_score);
      for (int t = 0; t < roll.num_steps; ++t) {
        std::vector<float> frame(static_cast<size_t>(V));
        for (int k = 0; k < K; ++k)
          for (int p = 0; p < P; ++p) frame[static_cast<size_t>(k * P + p)] = roll.at(k, t, p);
        frames.push_back(std::move(frame));
      }
    }
    GeneratedPiece piece;
    piece.primer_elements = static_cast<int64_t>(frames.size());

    auto& model = *loaded.model;
    model.eval();
    torch::NoGradGuard no_grad;
    std::mt19937_64 rng(request.seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    auto state = model.initial_state(1);
    torch::Tensor logits;  // (1, V)
    auto feed = [&](const std::vector<float>& frame) {
      auto input = torch::from_blob(const_cast<float*>(frame.data()), {1, V}, torch::kFloat).clone();  // (1, V)
      logits = model.step(input, *state).to(torch::kFloat).contiguous();
    };
    feed(frames.empty() ? std::vector<float>(static_cast<size_t>(V), 0.0f) : frames.front());
    for (size_t t = 1; t < frames.size(); ++t) feed(frames[t]);
    const double temperature = request.sampling.temperature;
    for (int64_t t = 0; t < steps; ++t) {
      const float* out = logits.data_ptr<float>();
      std::vector<float> frame(static_cast<size_t>(V));
      for (int64_t v = 0; v < V; ++v) {
        if (temperature == 0) {
          frame[v] = out[v] > 0 ? 1.0f : 0.0f;
        } else {
          const double probability = 1.0 / (1.0 + std::exp(-out[v] / temperature));
          frame[v] = uniform(rng) < probability ? 1.0f : 0.0f;
        }
      }
      frames.push_back(frame);
      if (t + 1 < steps) feed(frames.back());
    }
    piece.generated_elements = steps;

    PianoRoll roll;
    roll.num_tracks = static_cast<int>(K);
    roll.num_steps = static_cast<int>(frames.size());
    roll.num_pitches = static_cast<int>(P);
    roll.cells.assign(static_cast<size_t>(K) * roll.num_steps * P, 0);
    for (int t = 0; t < roll.num_steps; ++t)
      for (int k = 0; k < K; ++k)
        for (int p = 0; p < P; ++p) roll.at(k, t, p) = frames[static_cast<size_t>(t)][static_cast<size_t>(k * P + p)] > 0.5f;
    const int steps_per_bar = static_cast<int>(spec.steps_per_quarter * kBarQuarters);
    for (int start = 0; start < roll.num_steps; start += steps_per_bar) roll.bar_starts.push_back(start);
    piece.score = roll_encoding->decode(roll, request.qpm);
    piece.music_seconds = static_cast<double>(steps) / spec.steps_per_quarter * 60.0 / request.qpm;
    return piece;
  }
};

PieceGenerator::PieceGenerator(const std::string& checkpoint_or_run) : impl_(std::make_unique<Impl>()) {
  impl_->path = models::resolve_checkpoint_path(checkpoint_or_run);
  impl_->loaded = models::load_checkpoint(impl_->path);
  const auto& info = impl_->loaded.info;
  if (info.model_config.input_kind == models::InputKind::kFrames) {
    impl_->roll_encoding.emplace(PianoRollSpec::from_json(info.encoding));
    const auto& spec = impl_->roll_encoding->spec();
    if (static_cast<int64_t>(spec.num_tracks) * spec.num_pitches() != info.model_config.vocab_size)
      throw FormatError(impl_->path, -1, "the piano-roll spec does not match the model's input width");
  } else {
    impl_->encoding = make_token_encoding(info.encoding);
    if (impl_->encoding->vocabulary().names() != info.vocabulary)
      throw FormatError(impl_->path, -1,
                        "its vocabulary differs from what this version's '" + impl_->encoding->name() +
                            "' encoding builds from the stored spec; the model needs the version that trained it");
  }
}

PieceGenerator::~PieceGenerator() = default;

GeneratedPiece PieceGenerator::generate(const PieceRequest& request) {
  validate_sampling_options(request.sampling);
  if (request.steps < 0 || request.bars < 0 || request.seconds < 0)
    throw Error("generate: lengths must not be negative");
  const int lengths = (request.steps > 0) + (request.bars > 0) + (request.seconds > 0);
  if (lengths != 1) throw Error("generate: give exactly one length: steps, bars or seconds");
  if (!(request.qpm > 0 && request.qpm <= 1000)) throw Error("generate: qpm must be in (0, 1000]");
  if (request.beam_size < 0 || request.branch_factor < 1)
    throw Error("generate: beam size must be >= 0 and branch factor >= 1");
  const auto started = std::chrono::steady_clock::now();
  GeneratedPiece piece = frames() ? impl_->generate_frames_piece(request) : impl_->generate_tokens_piece(request);
  piece.generation_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return piece;
}

const std::string& PieceGenerator::checkpoint_path() const { return impl_->path; }
bool PieceGenerator::frames() const { return impl_->roll_encoding.has_value(); }
const TokenEncoding* PieceGenerator::encoding() const { return impl_->encoding.get(); }
nlohmann::json PieceGenerator::training_metadata() const { return impl_->loaded.info.training; }

std::string PieceGenerator::describe() const {
  const auto& config = impl_->loaded.info.model_config;
  char parameters[32];
  std::snprintf(parameters, sizeof parameters, "%.2fM", models::count_parameters(*impl_->loaded.model) / 1e6);
  return config.family + ", " + parameters + " parameters, " +
         (frames() ? std::string("piano-roll frames") : impl_->encoding->name() + " encoding");
}

}  // namespace cadenza
