// The autoregressive families' sampler: checkpoints -> pieces of a requested length, for token and piano-roll models.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "common/error.h"
#include "encoding/melody.h"
#include "encoding/pianoroll.h"
#include "families/registry.h"
#include "generate/sampler.h"
#include "models/checkpoint.h"
#include "score/key.h"
#include "score/operations.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

std::string save_token_model(const testing::TempDir& dir, const std::string& family, MelodySpec spec = {},
                             bool chord_conditioning = false) {
  MelodyEncoding encoding(spec);
  models::ModelConfig config;
  config.family = family;
  config.vocab_size = encoding.vocabulary().size();
  config.hidden_size = 16;
  config.num_layers = 1;
  config.num_heads = 2;
  config.chord_conditioning = chord_conditioning;
  torch::manual_seed(11);
  auto model = families::make_sequence_model(config);
  const std::string path =
      dir.file(family + (spec.one_key ? "_one_key" : "") + (chord_conditioning ? "_chords" : "") + ".safetensors");
  models::save_checkpoint(path, *model, encoding.spec(), encoding.vocabulary().names(), nlohmann::json::object());
  return path;
}

std::string save_frame_model(const testing::TempDir& dir) {
  PianoRollSpec spec;
  spec.steps_per_quarter = 1;
  spec.lowest_pitch = 48;
  spec.highest_pitch = 59;
  models::ModelConfig config;
  config.family = "gru";
  config.input_kind = models::InputKind::kFrames;
  config.vocab_size = spec.num_pitches();
  config.hidden_size = 8;
  config.num_layers = 1;
  torch::manual_seed(12);
  auto model = families::make_sequence_model(config);
  const std::string path = dir.file("frames.safetensors");
  models::save_checkpoint(path, *model, spec.to_json(), {}, nlohmann::json::object());
  return path;
}

TEST(SequenceSampler, TokenModelStopsAtTheRequestedBarsAndIsDeterministic) {
  testing::TempDir dir;
  for (const std::string family : {"lstm", "transformer"}) {
    auto generator = families::open_sampler(save_token_model(dir, family));
    EXPECT_EQ(generator->capabilities().input, "tokens");
    SampleRequest request;
    request.bars = 2;
    request.seed = 5;
    const SampledPiece a = generator->sample(request);
    const SampledPiece b = generator->sample(request);
    EXPECT_EQ(a.tokens, b.tokens) << family;
    EXPECT_GT(a.score.note_count(), 0u) << family;
    const int64_t two_bars = 2 * 4 * a.score.ticks_per_quarter;
    EXPECT_LE(a.score.end_tick(), two_bars) << family;
    EXPECT_NEAR(a.music_seconds, 4.0, 1e-9) << family << ": 2 bars of 4/4 at 120 qpm";
    // Sampling stops once the bars are filled: 2 bars are 32 sixteenth steps, so a few dozen tokens, far from the
    // safety cap (256 tokens per quarter).
    EXPECT_LE(a.generated_elements, 160) << family << ": generation ran on past the requested length";
    request.seed = 6;
    EXPECT_NE(generator->sample(request).tokens, a.tokens) << family;
  }
}

TEST(SequenceSampler, PrimerTokensComeFirstAndStepsCountGeneratedTokens) {
  testing::TempDir dir;
  auto generator = families::open_sampler(save_token_model(dir, "gru"));
  SampleRequest request;
  request.steps = 10;
  request.primer_tokens = generator->encoding()->from_text("NOTE_ON_60 NO_EVENT NOTE_ON_62");
  const SampledPiece piece = generator->sample(request);
  ASSERT_GE(piece.tokens.size(), 13u);
  EXPECT_EQ(std::vector<Token>(piece.tokens.begin(), piece.tokens.begin() + 3), request.primer_tokens);
  EXPECT_EQ(piece.primer_elements, 3);
  EXPECT_GE(piece.generated_elements, 10);
}

TEST(SequenceSampler, FrameModelGeneratesExactlyTheFramesAsked) {
  testing::TempDir dir;
  auto generator = families::open_sampler(save_frame_model(dir));
  EXPECT_EQ(generator->capabilities().input, "frames");
  SampleRequest request;
  request.bars = 3;  // 12 quarter-note frames
  request.seed = 1;
  const SampledPiece piece = generator->sample(request);
  EXPECT_EQ(piece.generated_elements, 12);
  EXPECT_NEAR(piece.music_seconds, 6.0, 1e-9);
  EXPECT_LE(piece.score.end_tick(), 12 * piece.score.ticks_per_quarter);
  for (const auto& track : piece.score.tracks)
    for (const auto& note : track.notes) {
      EXPECT_GE(note.pitch, 48);
      EXPECT_LE(note.pitch, 59);
    }
  EXPECT_EQ(generator->sample(request).score, piece.score);
  // Greedy frames are a function of the model alone.
  request.sampling.temperature = 0;
  request.seed = 2;
  const Score greedy = generator->sample(request).score;
  request.seed = 3;
  EXPECT_EQ(generator->sample(request).score, greedy);
}

TEST(SequenceSampler, InvalidRequestsAreErrors) {
  testing::TempDir dir;
  auto tokens = families::open_sampler(save_token_model(dir, "rnn"));
  auto frames = families::open_sampler(save_frame_model(dir));
  SampleRequest none;  // no length: the default, 16 bars
  EXPECT_NEAR(tokens->sample(none).music_seconds, 32.0, 1e-9);
  SampleRequest two;
  two.bars = 1;
  two.steps = 4;
  EXPECT_THROW_WITH(tokens->sample(two), Error, {"give at most one length", "--steps, --bars or --seconds"});
  SampleRequest top_k;
  top_k.bars = 1;
  top_k.sampling.top_k = 3;
  EXPECT_THROW_WITH(frames->sample(top_k), Error,
                    {"--top-k and --top-p", "a gru model does not sample tokens", "--temperature"});
  SampleRequest beam;
  beam.bars = 1;
  beam.beam_size = 2;
  EXPECT_THROW_WITH(frames->sample(beam), Error, {"beam search applies to token models", "a gru model has none"});
  SampleRequest token_primer_for_frames;
  token_primer_for_frames.bars = 1;
  token_primer_for_frames.primer_tokens = {1};
  EXPECT_THROW_WITH(frames->sample(token_primer_for_frames), Error,
                    {"a piano-roll model takes a MIDI primer, not tokens"});
  EXPECT_THROW_WITH(families::open_sampler(dir.file("missing.safetensors")), Error,
                    {dir.file("missing.safetensors"), "no such checkpoint file or run folder"});
}

std::vector<int> pitches_of(const Score& score) {
  std::vector<int> pitches;
  for (const auto& track : score.tracks)
    for (const auto& note : track.notes) pitches.push_back(note.pitch);
  return pitches;
}

MelodySpec one_key_spec() {
  MelodySpec spec;
  spec.structure = true;
  spec.one_key = true;
  return spec;
}

TEST(SequenceSampler, AOneKeyModelsContinuationOfAPrimerIsMovedBackToThePrimersKey) {
  testing::TempDir dir;
  auto generator = families::open_sampler(save_token_model(dir, "gru", one_key_spec()));
  // A primer in D major: the model reads it moved to C (-2), and the piece comes back in D with the primer's notes.
  Score primer = make_empty_score(480, 120.0, 4, 4);
  primer.key_signatures = {key_signature_of(Key{2, ScaleMode::kMajor})};
  primer.tracks.push_back({"lead", 0, false, 0, {{62, 90, 0, 480}, {66, 90, 480, 960}, {69, 90, 960, 1920}}});
  primer.normalize();
  SampleRequest request;
  request.primer = primer;
  request.bars = 2;
  request.seed = 3;
  const SampledPiece piece = generator->sample(request);
  EXPECT_EQ(generator->encoding()->vocabulary().name(piece.tokens[2]), "KEY_C");
  ASSERT_TRUE(first_key(piece.score).has_value());
  EXPECT_EQ(key_name(*first_key(piece.score)), "D");
  const std::vector<int> pitches = pitches_of(piece.score);
  ASSERT_GE(pitches.size(), 3u);
  EXPECT_EQ(std::vector<int>(pitches.begin(), pitches.begin() + 3), (std::vector<int>{62, 66, 69}));
  // Every note is the model's own (in C) moved up 2.
  const Score written = clip(generator->encoding()->decode(piece.tokens), 0, piece.score.end_tick());
  std::vector<int> expected = pitches_of(written);
  for (int& pitch : expected) pitch += 2;
  EXPECT_EQ(pitches, expected);
}

TEST(SequenceSampler, AOneKeyModelsNewTuneIsMovedToTheTonicAsked) {
  testing::TempDir dir;
  auto generator = families::open_sampler(save_token_model(dir, "lstm", one_key_spec()));
  SampleRequest request;
  request.primer_tokens = generator->encoding()->from_text("START METER_6_8 KEY_Am");
  request.bars = 4;
  request.seed = 9;
  const SampledPiece in_a_minor = generator->sample(request);
  EXPECT_EQ(key_name(*first_key(in_a_minor.score)), "Am");
  request.tonic = 4;  // E: A minor moves down 5 to E minor
  const SampledPiece in_e_minor = generator->sample(request);
  EXPECT_EQ(in_e_minor.tokens, in_a_minor.tokens);  // the same music, moved
  EXPECT_EQ(key_name(*first_key(in_e_minor.score)), "Em");
  std::vector<int> expected = pitches_of(in_a_minor.score);
  ASSERT_FALSE(expected.empty());
  for (int& pitch : expected) pitch -= 5;
  EXPECT_EQ(pitches_of(in_e_minor.score), expected);
  // Refusals: a tonic for a model that keeps keys, a tonic that is no pitch class.
  auto keeps = families::open_sampler(save_token_model(dir, "lstm"));
  SampleRequest tonic;
  tonic.bars = 1;
  tonic.tonic = 2;
  EXPECT_THROW_WITH(keeps->sample(tonic), Error, {"one key (melody one_key)", "writes tunes in their own keys"});
  request.tonic = 12;
  EXPECT_THROW_WITH(generator->sample(request), Error, {"tonic 12", "0..11"});
}

// The melody track's pitches (not the chords track's) and the chords track's first chord as pitch classes.
std::vector<int> melody_pitches(const Score& score) {
  std::vector<int> pitches;
  for (const auto& track : score.tracks)
    if (track.name != "chords")
      for (const auto& note : track.notes) pitches.push_back(note.pitch);
  return pitches;
}
std::set<int> first_chord(const Score& score) {
  std::set<int> classes;
  for (const auto& track : score.tracks)
    if (track.name == "chords")
      for (const auto& note : track.notes)
        if (note.start_tick == 0) classes.insert(note.pitch % 12);
  return classes;
}

// Chords over a model of tunes in one key: the model learned its chords moved to C major / A minor with its tunes, so
// the chords move with the tune (here from D to C, from E minor to A minor): the model reads the same header and
// chords as for the same progression in C / A minor, and the piece is moved back to the chords' key.
TEST(SequenceSampler, ChordsOverAOneKeyModelMoveToItsKeyWithTheTune) {
  testing::TempDir dir;
  auto sampler = families::open_sampler(save_token_model(dir, "gru", one_key_spec(), /*chord_conditioning=*/true));
  const Vocabulary& vocabulary = sampler->encoding()->vocabulary();
  auto over = [&](const std::string& chords, const std::string& key = "", std::optional<Score> primer = {}) {
    SampleRequest request;
    request.chords = chords;
    request.key = key;
    request.primer = std::move(primer);
    request.bars = 4;
    request.seed = 5;
    return sampler->sample(request);
  };
  const SampledPiece in_c = over("C | F | G7 | C");
  const SampledPiece in_d = over("D | G | A7 | D");
  ASSERT_GE(in_c.tokens.size(), 3u);
  EXPECT_EQ(vocabulary.name(in_c.tokens[2]), "KEY_C");
  EXPECT_EQ(in_d.tokens, in_c.tokens) << "the model reads the D progression moved to C";
  EXPECT_EQ(key_name(*first_key(in_d.score)), "D");
  std::vector<int> expected = melody_pitches(in_c.score);
  ASSERT_FALSE(expected.empty());
  for (int& pitch : expected) pitch += 2;
  EXPECT_EQ(melody_pitches(in_d.score), expected);
  EXPECT_EQ(first_chord(in_c.score), (std::set<int>{0, 4, 7}));
  EXPECT_EQ(first_chord(in_d.score), (std::set<int>{2, 6, 9})) << "the chords track as given: D major";
  // The chords matter to the model: the D progression read as it is (a key of C asked for) is another piece.
  EXPECT_NE(over("D | G | A7 | D", "C").tokens, in_c.tokens);

  // E minor: the model writes A minor over the progression moved up 5 (the nearer way), and the tune comes down 5.
  const SampledPiece in_am = over("Am | Dm | E7 | Am");
  const SampledPiece in_em = over("Em | Am | B7 | Em");
  EXPECT_EQ(vocabulary.name(in_am.tokens.at(2)), "KEY_Am");
  EXPECT_EQ(in_em.tokens, in_am.tokens);
  EXPECT_EQ(key_name(*first_key(in_em.score)), "Em");
  expected = melody_pitches(in_am.score);
  for (int& pitch : expected) pitch -= 5;
  EXPECT_EQ(melody_pitches(in_em.score), expected);

  // A primer in D major is read moved to C, its chords with it; the piece is the C primer's, moved back up 2.
  Score primer_in_c = make_empty_score(480, 120.0, 4, 4);
  primer_in_c.key_signatures = {key_signature_of(Key{0, ScaleMode::kMajor})};
  primer_in_c.tracks.push_back({"lead", 0, false, 0, {{60, 90, 0, 480}, {64, 90, 480, 960}, {67, 90, 960, 1920}}});
  primer_in_c.normalize();
  const Score primer_in_d = transpose_with_key(primer_in_c, 2);
  const SampledPiece continued_c = over("C | F | G7 | C", "", primer_in_c);
  const SampledPiece continued_d = over("D | G | A7 | D", "", primer_in_d);
  EXPECT_EQ(continued_d.tokens, continued_c.tokens);
  expected = melody_pitches(continued_c.score);
  for (int& pitch : expected) pitch += 2;
  EXPECT_EQ(melody_pitches(continued_d.score), expected);
  EXPECT_EQ(key_name(*first_key(continued_d.score)), "D");
}

// A bars-left model (context_bars_left) reads the length asked for as its plan, except for a tune shorter than 8
// bars, primer included (no tune it learned from is that short): the same bars-left model with and without weights
// for the known counts writes the same piece when no plan reaches it, different pieces when one does.
TEST(SequenceSampler, APlanReachesABarsLeftModelOnlyForATuneOfEightBarsOrMore) {
  testing::TempDir dir;
  MelodySpec spec;
  spec.structure = true;
  MelodyEncoding encoding(spec);
  auto save = [&](const std::string& name, bool plan_weights) {
    models::ModelConfig config;
    config.family = "lstm";
    config.vocab_size = encoding.vocabulary().size();
    config.hidden_size = 16;
    config.num_layers = 1;
    config.context_positions = encoding.position_count();
    config.context_bars_left = true;
    torch::manual_seed(21);
    auto model = families::make_sequence_model(config);
    {
      torch::NoGradGuard no_grad;
      torch::Tensor rows = model->named_parameters()["bars_left.weight"];
      rows.zero_();
      torch::manual_seed(22);
      if (plan_weights) rows.narrow(0, 0, kBarsLeftUnknown).normal_(0.0, 3.0);  // "unknown" stays 0
    }
    const std::string path = dir.file(name + ".safetensors");
    models::save_checkpoint(path, *model, encoding.spec(), encoding.vocabulary().names(), nlohmann::json::object());
    return families::open_sampler(path);
  };
  auto planning = save("planning", true);
  auto deaf = save("deaf", false);
  auto tokens = [](Sampler& sampler, double bars, const std::string& primer = "START METER_4_4 KEY_C") {
    SampleRequest request;
    request.primer_tokens = sampler.encoding()->from_text(primer);
    request.bars = bars;
    request.seed = 4;
    return sampler.sample(request).tokens;
  };
  EXPECT_EQ(tokens(*planning, 2), tokens(*deaf, 2)) << "2 bars: no plan";
  EXPECT_EQ(tokens(*planning, 7), tokens(*deaf, 7)) << "7 bars: no plan";
  EXPECT_NE(tokens(*planning, 8), tokens(*deaf, 8)) << "8 bars: planned";
  // A primer of 7 bars (one note held over 111 steps) and 2 bars more: a tune of about 9 bars, planned.
  std::string seven_bars = "START METER_4_4 KEY_C NOTE_ON_60";
  for (int step = 1; step < 111; ++step) seven_bars += " NO_EVENT";
  seven_bars += " NOTE_OFF";
  EXPECT_NE(tokens(*planning, 2, seven_bars), tokens(*deaf, 2, seven_bars)) << "7 + 2 bars: planned";
  EXPECT_EQ(tokens(*planning, 2, "START METER_4_4 KEY_C NOTE_ON_60 NOTE_OFF"),
            tokens(*deaf, 2, "START METER_4_4 KEY_C NOTE_ON_60 NOTE_OFF"))
      << "a one-step primer and 2 bars: no plan";
}

// SampleRequest::meter / key: the header a new tune starts with, built by the sampler (the CLI's --meter / --key and
// the studio's controls).
// A tune over chords starts START METER KEY: the chords give the meter and, unless a key is asked for, the key (the
// Krumhansl-Schmuckler key of their pitch classes), so that the model's melody is in the key of its harmony.
TEST(SequenceSampler, ATuneOverChordsIsInTheChordsKeyUnlessAKeyIsAsked) {
  testing::TempDir dir;
  MelodySpec spec;
  spec.structure = true;
  auto sampler = families::open_sampler(save_token_model(dir, "gru", spec, /*chord_conditioning=*/true));
  const Vocabulary& vocabulary = sampler->encoding()->vocabulary();
  auto header = [&](const std::string& chords, const std::string& key) {
    SampleRequest request;
    request.chords = chords;
    request.key = key;
    request.bars = 2;
    request.seed = 3;
    const SampledPiece piece = sampler->sample(request);
    EXPECT_GE(piece.tokens.size(), 3u);
    std::string names;
    for (size_t i = 0; i < std::min<size_t>(3, piece.tokens.size()); ++i)
      names += (i ? " " : "") + vocabulary.name(piece.tokens[i]);
    EXPECT_EQ(key_name(*first_key(piece.score)), key.empty() ? names.substr(names.rfind("KEY_") + 4) : key) << names;
    return names;
  };
  EXPECT_EQ(header("G | D7 | G | C D7 | G | Em | Am D7 | G", ""), "START METER_4_4 KEY_G");
  EXPECT_EQ(header("Em | B7 | Em | Am B7 | Em", ""), "START METER_4_4 KEY_Em");
  EXPECT_EQ(header("F | C7 | F | Bb C7", ""), "START METER_4_4 KEY_F");
  EXPECT_EQ(header("G | D7 | G | C D7", "D"), "START METER_4_4 KEY_D") << "a key asked for wins";
}

TEST(SequenceSampler, ATuneHeaderAskedForStartsThePieceAndAKeyAloneFollowsTheMetreTheModelDraws) {
  testing::TempDir dir;
  auto one_key = families::open_sampler(save_token_model(dir, "lstm", one_key_spec()));
  const SamplerCapabilities caps = one_key->capabilities();
  EXPECT_TRUE(caps.one_key);
  EXPECT_NE(std::find(caps.meters.begin(), caps.meters.end(), "6/8"), caps.meters.end());
  EXPECT_NE(std::find(caps.meters.begin(), caps.meters.end(), "4/4"), caps.meters.end());
  const Vocabulary& vocabulary = one_key->encoding()->vocabulary();

  // Meter and key: START METER_6_8 KEY_Am, moved to E minor; the same music as that header given as tokens.
  SampleRequest asked;
  asked.meter = "6/8";
  asked.key = "Em";
  asked.bars = 2;
  asked.seed = 4;
  const SampledPiece header = one_key->sample(asked);
  ASSERT_GE(header.tokens.size(), 3u);
  EXPECT_EQ(vocabulary.name(header.tokens[1]), "METER_6_8");
  EXPECT_EQ(vocabulary.name(header.tokens[2]), "KEY_Am");
  EXPECT_EQ(key_name(*first_key(header.score)), "Em");
  EXPECT_EQ(header.score.time_signatures.at(0).numerator, 6);
  SampleRequest as_tokens;
  as_tokens.primer_tokens = one_key->encoding()->from_text("START METER_6_8 KEY_Am");
  as_tokens.tonic = 4;
  as_tokens.bars = 2;
  as_tokens.seed = 4;
  EXPECT_EQ(one_key->sample(as_tokens).tokens, header.tokens);

  // A key alone: the model's own meter after START (a METER token, the same for the same seed), then KEY_C, moved.
  SampleRequest key_only;
  key_only.key = "Bb";
  key_only.bars = 2;
  key_only.seed = 11;
  const SampledPiece in_b_flat = one_key->sample(key_only);
  ASSERT_GE(in_b_flat.tokens.size(), 3u);
  EXPECT_EQ(vocabulary.name(in_b_flat.tokens[0]), "START");
  EXPECT_EQ(vocabulary.name(in_b_flat.tokens[1]).rfind("METER_", 0), 0u) << vocabulary.name(in_b_flat.tokens[1]);
  EXPECT_EQ(vocabulary.name(in_b_flat.tokens[2]), "KEY_C");
  EXPECT_EQ(key_name(*first_key(in_b_flat.score)), "Bb");
  EXPECT_EQ(one_key->sample(key_only).tokens, in_b_flat.tokens);
  // Over seeds the draw follows the model: more than one meter comes up (the untrained model spreads its mass).
  std::set<std::string> drawn;
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    key_only.seed = seed;
    drawn.insert(vocabulary.name(one_key->sample(key_only).tokens[1]));
  }
  EXPECT_GT(drawn.size(), 1u);

  // A model that keeps keys writes the key's own token.
  auto keeps = families::open_sampler(save_token_model(dir, "gru", [] {
    MelodySpec spec;
    spec.structure = true;
    return spec;
  }()));
  EXPECT_FALSE(keeps->capabilities().one_key);
  SampleRequest in_d;
  in_d.key = "D";
  in_d.bars = 1;
  EXPECT_EQ(keeps->encoding()->vocabulary().name(keeps->sample(in_d).tokens[2]), "KEY_D");

  // Refusals, named as the CLI names them.
  SampleRequest bad = asked;
  bad.meter = "7/8";
  EXPECT_THROW_WITH(one_key->sample(bad), Error, {"--meter \"7/8\"", "not a meter the model writes", "6/8"});
  bad = asked;
  bad.key = "H";
  EXPECT_THROW_WITH(one_key->sample(bad), Error, {"--key", "key \"H\"", "expected a tonic"});
  bad = asked;
  bad.primer_tokens = one_key->encoding()->from_text("START METER_4_4 KEY_C");
  EXPECT_THROW_WITH(one_key->sample(bad), Error, {"--meter and --key start a new tune", "primer"});
  bad = key_only;
  bad.tonic = 3;
  EXPECT_THROW_WITH(one_key->sample(bad), Error, {"--key", "tonic, not both"});
  auto plain = families::open_sampler(save_token_model(dir, "lstm"));
  EXPECT_TRUE(plain->capabilities().meters.empty());
  EXPECT_THROW_WITH(plain->sample(asked), Error, {"--meter and --key are for models of whole tunes", "structure=true"});
}

}  // namespace
}  // namespace cadenza
