#include "codec/vae_segments.h"

#include <algorithm>
#include <span>
#include <string>

#include "common/error.h"
#include "codec/roll_windows.h"
#include "encoding/melody.h"
#include "score/operations.h"

namespace cadenza {

VaeCodec::VaeCodec(const models::VaeConfig& config, const nlohmann::json& encoding)
    : frames_(config.input_kind == models::InputKind::kFrames), length_(config.sequence_length) {
  const std::string name = encoding.value("name", "");
  if (frames_) {
    if (name != "pianoroll")
      throw Error("vae: a frames model needs a piano-roll encoding, the model's data has \"" + name + "\"");
    roll_spec_ = PianoRollSpec::from_json(encoding);
    keys_ = static_cast<int64_t>(roll_spec_.num_tracks) * roll_spec_.num_pitches();
    if (keys_ != config.vocab_size)
      throw Error("vae: the model reads frames of " + std::to_string(config.vocab_size) + " keys, the piano roll has " +
                  std::to_string(roll_spec_.num_tracks) + " tracks x " + std::to_string(roll_spec_.num_pitches()) +
                  " pitches");
    steps_per_bar_ = cadenza::steps_per_bar(4, 4, roll_spec_.steps_per_quarter);  // MusicVAE segments are 4/4 bars
  } else {
    if (name != "melody")
      throw Error("vae: a tokens model needs a melody encoding, the model's data has \"" + name + "\"");
    melody_ = make_token_encoding(encoding);
    steps_per_bar_ = cadenza::steps_per_bar(4, 4, MelodySpec::from_json(encoding).steps_per_quarter);
  }
  if (length_ % steps_per_bar_ != 0)
    throw Error("vae: sequence_length " + std::to_string(length_) + " is not a whole number of bars (" +
                std::to_string(steps_per_bar_) + " steps per bar)");
}

VaeCodec::~VaeCodec() = default;
VaeCodec::VaeCodec(VaeCodec&&) noexcept = default;

torch::Tensor VaeCodec::input_of(const Score& score) const {
  if (!frames_) {
    std::vector<Token> tokens = melody_->encode(score);
    tokens.resize(static_cast<size_t>(length_), 0);  // NO_EVENT (id 0): rests after the last note
    torch::Tensor out = torch::empty({length_}, torch::kLong);
    auto ids = out.accessor<int64_t, 1>();
    for (int64_t t = 0; t < length_; ++t) ids[t] = static_cast<int64_t>(tokens[static_cast<size_t>(t)]);
    return out;  // (T)
  }
  const PianoRoll roll = PianoRollEncoding(roll_spec_).encode(score);
  const int64_t N = roll_spec_.num_tracks, P = roll_spec_.num_pitches();
  torch::Tensor out = torch::zeros({length_, N * P}, torch::kFloat);
  auto cells = out.accessor<float, 2>();
  const int64_t steps = std::min<int64_t>(length_, roll.num_steps);
  for (int n = 0; n < N; ++n)
    for (int64_t t = 0; t < steps; ++t)
      for (int p = 0; p < P; ++p) cells[t][n * P + p] = roll.at(n, static_cast<int>(t), p);
  return out;  // (T, V)
}

Score VaeCodec::score_of(const torch::Tensor& steps, double qpm) const {
  if (!frames_) {
    if (steps.dim() != 1) throw Error("vae: expected a (T) token row");
    const torch::Tensor row = steps.to(torch::kCPU, torch::kLong).contiguous();
    const std::vector<Token> ids(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
    return melody_->decode(ids);
  }
  if (steps.dim() != 2 || steps.size(1) != keys_)
    throw Error("vae: expected (T, " + std::to_string(keys_) + ") frames");
  const int64_t T = steps.size(0), N = roll_spec_.num_tracks, P = roll_spec_.num_pitches();
  // (T, N*P) -> (N, T, P): the roll's [track][step][pitch] layout.
  const torch::Tensor cells =
      steps.to(torch::kCPU).gt(0.5).reshape({T, N, P}).permute({1, 0, 2}).contiguous().to(torch::kUInt8);
  PianoRoll roll;
  roll.num_tracks = static_cast<int>(N);
  roll.num_steps = static_cast<int>(T);
  roll.num_pitches = static_cast<int>(P);
  roll.cells.assign(cells.data_ptr<uint8_t>(), cells.data_ptr<uint8_t>() + cells.numel());
  for (int64_t start = 0; start < T; start += steps_per_bar_) roll.bar_starts.push_back(static_cast<int>(start));
  return PianoRollEncoding(roll_spec_).decode(roll, qpm);
}

VaeSegments::VaeSegments(const Shard& shard, const models::VaeConfig& config)
    : shard_(shard), codec_([&] {
        const bool roll = shard.is_piano_roll();
        if (roll != (config.input_kind == models::InputKind::kFrames))
          throw Error(shard.path() +
                      (roll ? ": a piano-roll shard, but this vae reads melody tokens"
                            : ": a token shard, but this vae reads piano-roll frames") +
                      " (train it on the kind of shard it was made for)");
        if (!roll && shard.metadata().encoding_name() != "melody")
          throw Error(shard.path() +
                      ": the vae trains on melody-encoded shards (`cadenza dataset prepare --encoding melody`) or on "
                      "piano-roll shards, this one holds \"" +
                      shard.metadata().encoding_name() + "\"");
        if (!roll && shard.vocabulary_size() != config.vocab_size)
          throw Error(shard.path() + ": a vocabulary of " + std::to_string(shard.vocabulary_size()) +
                      " tokens, the model's is " + std::to_string(config.vocab_size));
        return VaeCodec(config, shard.metadata().encoding);
      }()) {}

std::vector<Window> VaeSegments::windows(Split split) const {
  if (codec_.frames()) return roll_windows(shard_, split, codec_.bars(), codec_.steps_per_bar());
  return melody_windows(shard_, split, codec_.length(), codec_.steps_per_bar());
}

torch::Tensor VaeSegments::batch(const std::vector<Window>& windows, size_t first, size_t count) {
  const int64_t B = static_cast<int64_t>(count), T = codec_.length();
  if (!codec_.frames()) {
    torch::Tensor tokens = torch::empty({B, T}, torch::kLong);
    auto out = tokens.accessor<int64_t, 2>();
    for (size_t row = 0; row < count; ++row) {
      const Window& window = windows[first + row];
      const std::vector<Token> piece = shard_.token_vector(window.piece);
      for (int64_t t = 0; t < T; ++t) out[static_cast<int64_t>(row)][t] = piece[window.start + t];
    }
    return tokens;  // (B, T)
  }
  const torch::Tensor cells = roll_window_cells(shard_, windows, first, count, T, rolls_);  // (B, N, T, P)
  return cells.permute({0, 2, 1, 3}).reshape({B, T, -1}).to(torch::kFloat);                 // (B, T, V)
}

}  // namespace cadenza
