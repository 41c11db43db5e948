// SampleRequest::on_progress (the studio streams pieces with it) and attribute vectors without the training data.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <tuple>

#include "common/error.h"
#include "encoding/melody.h"
#include "encoding/pianoroll.h"
#include "eval/melody_features.h"
#include "families/registry.h"
#include "generate/sampler.h"
#include "models/checkpoint.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

std::string save_token_model(const testing::TempDir& dir, const std::string& family) {
  MelodyEncoding encoding;
  models::ModelConfig config;
  config.family = family;
  config.vocab_size = encoding.vocabulary().size();
  config.hidden_size = 16;
  config.num_layers = 1;
  config.num_heads = 2;
  torch::manual_seed(21);
  auto model = families::make_sequence_model(config);
  const std::string path = dir.file(family + ".safetensors");
  models::save_checkpoint(path, *model, encoding.spec(), encoding.vocabulary().names(), nlohmann::json::object());
  return path;
}

std::string save_frame_model(const testing::TempDir& dir) {
  PianoRollSpec spec;
  spec.steps_per_quarter = 2;
  spec.lowest_pitch = 48;
  spec.highest_pitch = 59;
  models::ModelConfig config;
  config.family = "gru";
  config.input_kind = models::InputKind::kFrames;
  config.vocab_size = spec.num_pitches();
  config.hidden_size = 8;
  config.num_layers = 1;
  torch::manual_seed(22);
  auto model = families::make_sequence_model(config);
  const std::string path = dir.file("frames.safetensors");
  models::save_checkpoint(path, *model, spec.to_json(), {}, nlohmann::json::object());
  return path;
}

std::string bundled_vae() {
  return std::string(CADENZA_SOURCE_DIR) + "/models/nottingham-vae/model.safetensors";
}

using NoteKey = std::tuple<size_t, int, int64_t, int64_t>;  // track, pitch, start, end

// What the progress calls saw: each call's element count, and every note that had ended before the piece so far did
// (the notes a streaming caller may show as final).
struct Recorder {
  std::vector<int64_t> generated;
  std::vector<int64_t> primer_ends;
  std::set<NoteKey> finished_notes;
  size_t calls = 0;
  int stop_at_call = -1;  // return false on this call (0-based)

  std::function<bool(const SampleProgress&)> hook() {
    return [this](const SampleProgress& progress) {
      generated.push_back(progress.generated_elements);
      primer_ends.push_back(progress.primer_end_tick);
      const int64_t end = progress.score.end_tick();
      for (size_t t = 0; t < progress.score.tracks.size(); ++t)
        for (const Note& note : progress.score.tracks[t].notes)
          if (note.end_tick < end) finished_notes.emplace(t, note.pitch, note.start_tick, note.end_tick);
      return static_cast<int>(calls++) != stop_at_call;
    };
  }
};

std::set<NoteKey> notes_of(const Score& score) {
  std::set<NoteKey> notes;
  for (size_t t = 0; t < score.tracks.size(); ++t)
    for (const Note& note : score.tracks[t].notes) notes.emplace(t, note.pitch, note.start_tick, note.end_tick);
  return notes;
}

void expect_increasing(const std::vector<int64_t>& values, const std::string& what) {
  for (size_t i = 1; i < values.size(); ++i) EXPECT_GT(values[i], values[i - 1]) << what << " at call " << i;
}

TEST(SampleProgress, TokenModelReportsAGrowingPieceAndTheSameMusic) {
  testing::TempDir dir;
  for (const std::string family : {"lstm", "transformer"}) {
    auto sampler = families::open_sampler(save_token_model(dir, family));
    SampleRequest request;
    request.steps = 300;
    request.seed = 3;
    const SampledPiece plain = sampler->sample(request);
    Recorder recorder;
    request.on_progress = recorder.hook();
    const SampledPiece streamed = sampler->sample(request);
    EXPECT_EQ(streamed.tokens, plain.tokens) << family << ": watching must not change the piece";
    // Every element at first, then every 1/16th of the piece: 16 calls, then about 16 * ln(300 / 16) more.
    ASSERT_GE(recorder.generated.size(), 16u) << family;
    EXPECT_LE(recorder.generated.size(), 80u) << family << ": decoding the piece so far must stay linear overall";
    EXPECT_EQ(recorder.generated[0], 2) << family << ": the first sampled token after the uniform start";
    expect_increasing(recorder.generated, family + " generated elements");
    EXPECT_LE(recorder.generated.back(), 300) << family;
    // Notes that had ended in a partial piece are notes of the finished piece, unchanged.
    ASSERT_FALSE(recorder.finished_notes.empty()) << family;
    const std::set<NoteKey> final_notes = notes_of(streamed.score);
    for (const NoteKey& note : recorder.finished_notes)
      EXPECT_TRUE(final_notes.count(note)) << family << ": a note shown as finished changed later (pitch "
                                           << std::get<1>(note) << " at tick " << std::get<2>(note) << ")";
    for (int64_t end : recorder.primer_ends) EXPECT_EQ(end, 0) << family << ": no primer";
  }
}

TEST(SampleProgress, TokenModelWithAPrimerReportsWhereTheGeneratedMusicStarts) {
  testing::TempDir dir;
  auto sampler = families::open_sampler(save_token_model(dir, "gru"));
  SampleRequest request;
  request.bars = 2;
  Score primer = make_empty_score();
  primer.tracks.push_back({"melody", 0, false, 0, {}});
  primer.tracks[0].notes.push_back({60, 100, 0, 480});
  primer.tracks[0].notes.push_back({64, 100, 480, 960});
  primer.update_seconds();
  request.primer = primer;
  Recorder recorder;
  request.on_progress = recorder.hook();
  const SampledPiece piece = sampler->sample(request);
  ASSERT_FALSE(recorder.primer_ends.empty());
  EXPECT_EQ(piece.primer_end_tick, 960) << "the primer's two quarter notes at 480 ticks per quarter";
  for (int64_t end : recorder.primer_ends) EXPECT_EQ(end, piece.primer_end_tick);
  EXPECT_GE(piece.score.end_tick(), piece.primer_end_tick);
}

TEST(SampleProgress, ReturningFalseStopsGeneration) {
  testing::TempDir dir;
  auto sampler = families::open_sampler(save_token_model(dir, "lstm"));
  SampleRequest request;
  request.steps = 400;
  Recorder recorder;
  recorder.stop_at_call = 4;
  request.on_progress = recorder.hook();
  EXPECT_THROW_WITH(sampler->sample(request), GenerationCancelled, {"generation cancelled"});
  EXPECT_EQ(recorder.calls, 5u) << "no call after the one that said stop";
  EXPECT_LT(recorder.generated.back(), 400);
}

TEST(SampleProgress, FrameModelReportsFramesAndTheSameMusic) {
  testing::TempDir dir;
  auto sampler = families::open_sampler(save_frame_model(dir));
  SampleRequest request;
  request.steps = 64;
  request.seed = 4;
  Score primer = make_empty_score();
  primer.tracks.push_back({"melody", 0, false, 0, {}});
  primer.tracks[0].notes.push_back({50, 100, 0, 960});  // 2 quarters: 4 frames at 2 steps per quarter
  primer.update_seconds();
  request.primer = primer;
  const SampledPiece plain = sampler->sample(request);
  Recorder recorder;
  request.on_progress = recorder.hook();
  const SampledPiece streamed = sampler->sample(request);
  EXPECT_EQ(streamed.score.tracks, plain.score.tracks);
  ASSERT_GE(recorder.generated.size(), 16u);
  EXPECT_EQ(recorder.generated.front(), 1);
  expect_increasing(recorder.generated, "frames");
  // The roll encodes the primer in whole bars: its 4 frames of notes fill one 4/4 bar of 8 frames.
  EXPECT_EQ(streamed.primer_elements, 8);
  EXPECT_EQ(streamed.primer_end_tick, streamed.primer_elements * streamed.score.ticks_per_quarter / 2);
  for (int64_t end : recorder.primer_ends) EXPECT_EQ(end, streamed.primer_end_tick);
  const std::set<NoteKey> final_notes = notes_of(streamed.score);
  for (const NoteKey& note : recorder.finished_notes) EXPECT_TRUE(final_notes.count(note));
}

TEST(SampleProgress, VaeReportsEachWindowAndCanBeStopped) {
  auto vae = families::open_sampler(bundled_vae());
  const int64_t window_bars = vae->capabilities().window_bars;
  ASSERT_EQ(window_bars, 2);
  SampleRequest request;
  request.bars = 8;  // 4 windows
  request.seed = 7;
  const SampledPiece plain = vae->sample(request);
  Recorder recorder;
  request.on_progress = recorder.hook();
  const SampledPiece streamed = vae->sample(request);
  EXPECT_EQ(streamed.score.tracks, plain.score.tracks);
  EXPECT_EQ(recorder.generated, (std::vector<int64_t>{1, 2, 3, 4}));
  Recorder stopper;
  stopper.stop_at_call = 1;
  request.on_progress = stopper.hook();
  EXPECT_THROW_WITH(vae->sample(request), GenerationCancelled, {"generation cancelled"});
  EXPECT_EQ(stopper.calls, 2u);
}

// A melody of `notes_per_bar` equal notes in each of 2 bars, stepping through a scale.
Score scale_melody(int notes_per_bar) {
  Score score = make_empty_score();
  score.tracks.push_back({"melody", 0, false, 0, {}});
  const int64_t length = 4 * 480 / notes_per_bar;
  const int steps[] = {0, 2, 4, 5, 7, 9, 11, 12};
  for (int i = 0; i < 2 * notes_per_bar; ++i)
    score.tracks[0].notes.push_back({60 + steps[i % 8], 100, i * length, (i + 1) * length});
  score.update_seconds();
  return score;
}

TEST(AttributeVector, WithoutTrainingDataItComesFromThePriorAndMovesTheAttribute) {
  auto vae = families::open_sampler(bundled_vae());
  SampleRequest request;
  request.sampling.temperature = 0;
  const Score input = scale_melody(4);
  const SampledPiece zero = vae->apply_attribute(input, "note_density", 0.0, "", request, 512);
  EXPECT_EQ(zero.score.tracks, vae->reconstruct(input, request).output.tracks) << "amount 0 is the reconstruction";
  // The trained model's prior knows dense and sparse windows: along the vector, density rises.
  double previous = -1;
  for (double amount : {-3.0, 0.0, 3.0}) {
    const double density = melody_attribute(vae->apply_attribute(input, "note_density", amount, "", request, 512).score,
                                            "note_density", 2);
    EXPECT_GT(density, previous) << "note density at amount " << amount;
    previous = density;
  }
  const double low_pitch =
      melody_attribute(vae->apply_attribute(input, "mean_pitch", -3.0, "", request, 512).score, "mean_pitch", 2);
  const double high_pitch =
      melody_attribute(vae->apply_attribute(input, "mean_pitch", 3.0, "", request, 512).score, "mean_pitch", 2);
  EXPECT_GT(high_pitch, low_pitch + 2) << "mean pitch along its vector";
  EXPECT_THROW_WITH(vae->apply_attribute(input, "loudness", 1.0, "", request, 512), Error, {"loudness"});
}

}  // namespace
}  // namespace cadenza
