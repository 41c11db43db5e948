// From a checkpoint to finished pieces: what `cadenza generate` runs. Loads the model once, then generates
// pieces of a requested length (tokens/frames, bars or seconds) from a primer, decoded to a Score.
//
// Token models go through generate_tokens() (grammar-masked sampling) or beam_search_tokens(); piano-roll
// (frame) models sample every key of each frame from its own Bernoulli (logits / temperature), frame by frame
// through step(). A frame model's first input, without a primer, is a silent frame: the first generated frame is
// what the model predicts after silence.
//
// Lengths: `steps` counts generated tokens / frames. `bars` and `seconds` count music after the primer's end: a
// token model samples until the decoded piece reaches that length and the piece is then cut exactly there (notes
// sounding across the cut end at it); a frame model generates exactly that many frames. Bars are 4/4 bars of the
// output; seconds use `qpm`, the output tempo.
//
// This header is libtorch-free (the model lives behind a pointer to an implementation).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "encoding/encoding.h"
#include "generate/sampling.h"
#include "score/score.h"

namespace cadenza {

struct PieceRequest {
  SamplingOptions sampling;
  int64_t steps = 0;    // tokens / frames to generate (0: use bars or seconds)
  double bars = 0;      // length after the primer in 4/4 bars
  double seconds = 0;   // length after the primer in seconds at qpm
  std::vector<Token> primer_tokens;  // token models
  std::optional<Score> primer_score; // encoded with the model's encoding (token or piano roll)
  double qpm = 120.0;   // tempo of the output (and the unit of `seconds`)
  uint64_t seed = 0;
  int beam_size = 0;    // > 0: beam search (token models)
  int branch_factor = 4;
};

struct GeneratedPiece {
  Score score;
  std::vector<Token> tokens;       // token models: primer + generated (+ closing) tokens
  int64_t primer_elements = 0;     // primer tokens / frames
  int64_t generated_elements = 0;  // tokens / frames generated after the primer
  bool ended_cleanly = true;       // token models: the grammar could end where generation stopped
  double generation_seconds = 0;   // wall time of this piece
  double music_seconds = 0;        // length of the generated part at the output tempo
};

class PieceGenerator {
 public:
  // A checkpoint file or a run folder (its best checkpoint). Throws cadenza::Error / FormatError.
  explicit PieceGenerator(const std::string& checkpoint_or_run);
  ~PieceGenerator();
  PieceGenerator(const PieceGenerator&) = delete;
  PieceGenerator& operator=(const PieceGenerator&) = delete;

  // Throws cadenza::Error on invalid requests (no length, options that do not apply to the model, a primer the
  // grammar rejects, ...), naming the option.
  GeneratedPiece generate(const PieceRequest& request);

  const std::string& checkpoint_path() const;
  bool frames() const;                   // a piano-roll model
  const TokenEncoding* encoding() const; // null for piano-roll models
  std::string describe() const;          // "lstm, 1.1M parameters, melody encoding"
  nlohmann::json training_metadata() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cadenza
