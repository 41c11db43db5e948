// The latent-variable families end to end from the CLI: `cadenza train --model vae|gan|rgan`, then `sample`,
// `generate`, `interpolate`, `reconstruct`, `attribute` and `evaluate`, on small folders of tunes written by the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_fixtures.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::run_cadenza;

using Tunes = testing::TwoTrackShards;

int midi_files_in(const std::string& folder) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() != ".mid") continue;
    const Score score = read_midi_file(entry.path().string());  // every file we wrote reads back
    (void)score;
    ++count;
  }
  return count;
}

TEST(CliLatent, VaeTrainSampleInterpolateReconstructAttributeEvaluate) {
  Tunes data;
  const std::string run = data.dir.file("vae");
  const auto trained = run_cadenza("train --model vae --preset tiny --data " + data.melody + " --out " + run +
                                   " --steps 20 --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("ELBO"), std::string::npos) << trained.output;

  const auto sampled = run_cadenza("sample --checkpoint " + run + " -n 3 --bars 4 --out " + data.dir.file("s"));
  ASSERT_EQ(sampled.exit_code, 0) << sampled.output;
  EXPECT_EQ(midi_files_in(data.dir.file("s")), 3);
  const auto generated = run_cadenza("generate --checkpoint " + run + " -n 2 --bars 4 --out " + data.dir.file("g"));
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  EXPECT_EQ(midi_files_in(data.dir.file("g")), 2);
  EXPECT_NE(run_cadenza("generate --checkpoint " + run + " --beam-size 3 --out " + data.dir.file("x")).exit_code, 0)
      << "beam search means nothing to a vae and must be refused";

  const std::string a = data.dir.file("tunes/t1.mid"), b = data.dir.file("tunes/t2.mid");
  const auto interpolated = run_cadenza("interpolate --checkpoint " + run + " " + a + " " + b +
                                        " --steps 4 --mode lerp --out " + data.dir.file("i"));
  ASSERT_EQ(interpolated.exit_code, 0) << interpolated.output;
  EXPECT_EQ(midi_files_in(data.dir.file("i")), 5) << "4 steps plus the concatenation";
  const auto reconstructed = run_cadenza("reconstruct --checkpoint " + run + " " + a + " --out " + data.dir.file("r"));
  ASSERT_EQ(reconstructed.exit_code, 0) << reconstructed.output;
  EXPECT_NE(reconstructed.output.find("% of 32 steps"), std::string::npos) << reconstructed.output;
  const auto attributed = run_cadenza("attribute --checkpoint " + run + " " + a +
                                      " --attribute mean_pitch --amount -1 --amount 2 --out " + data.dir.file("a"));
  ASSERT_EQ(attributed.exit_code, 0) << attributed.output;
  EXPECT_EQ(midi_files_in(data.dir.file("a")), 2);

  const auto evaluated = run_cadenza("evaluate --checkpoint " + run + " --data " + data.melody + " --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  const auto result = nlohmann::json::parse(evaluated.output.substr(evaluated.output.find('{')));
  EXPECT_EQ(result["family"], "vae");
  EXPECT_GT(result["elbo_per_step"].get<double>(), 0);
  EXPECT_TRUE(result.contains("interpolation"));

  const auto melody_only =
      run_cadenza("reconstruct --checkpoint " + run + " " + a + " --track-index 0 --out " + data.dir.file("r3"));
  ASSERT_EQ(melody_only.exit_code, 0) << melody_only.output;
  const Score source = read_midi_file(a);
  size_t melody_notes_in_two_bars = 0;
  for (const Note& note : source.tracks[0].notes)
    melody_notes_in_two_bars += note.start_tick < 2 * 4 * source.ticks_per_quarter ? 1 : 0;
  EXPECT_EQ(read_midi_file(data.dir.file("r3/t1_input.mid")).note_count(), melody_notes_in_two_bars)
      << "--track-index 0: the encoder read the melody track's first 2 bars";
  const auto no_track =
      run_cadenza("reconstruct --checkpoint " + run + " " + a + " --track-index 5 --out " + data.dir.file("r4"));
  EXPECT_EQ(no_track.exit_code, 1);
  EXPECT_NE(no_track.output.find("no track 5"), std::string::npos) << no_track.output;

  const auto wrong = run_cadenza("reconstruct --checkpoint " + run + " " + data.dir.file("missing.mid") + " --out " +
                                 data.dir.file("r2"));
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.output.find("missing.mid"), std::string::npos) << wrong.output;
}

// The multi-track VAE: the same commands on a piano-roll shard (melody + chords), 4-bar segments by default.
TEST(CliLatent, MultiTrackVaeOnAPianoRoll) {
  Tunes data;
  const std::string run = data.dir.file("vae2");
  const auto trained = run_cadenza("train --model vae --preset tiny --data " + data.roll + " --out " + run +
                                   " --steps 20 --threads 1 --print-config");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const auto config = nlohmann::json::parse(trained.output.substr(trained.output.find('{')));
  EXPECT_EQ(config["model"]["input_kind"], "frames");
  EXPECT_EQ(config["model"]["vocab_size"], 2 * 48) << "2 tracks x 48 pitches";
  EXPECT_EQ(config["model"]["sequence_length"], 64) << "4 bars of 16 steps";
  EXPECT_EQ(config["model"]["decoder"], "hierarchical");
  ASSERT_EQ(
      run_cadenza("train --model vae --preset tiny --data " + data.roll + " --out " + run + " --steps 20 --threads 1")
          .exit_code,
      0);

  const auto sampled = run_cadenza("sample --checkpoint " + run + " -n 2 --bars 8 --out " + data.dir.file("s"));
  ASSERT_EQ(sampled.exit_code, 0) << sampled.output;
  EXPECT_NE(sampled.output.find("96-key frames"), std::string::npos) << sampled.output;
  ASSERT_EQ(midi_files_in(data.dir.file("s")), 2);
  const Score sample = read_midi_file(data.dir.file("s/sample_001.mid"));
  EXPECT_EQ(sample.tracks.size(), 2u) << "one MIDI track per roll track";
  EXPECT_LE(sample.end_tick(), 8 * 4 * sample.ticks_per_quarter);

  const std::string a = data.dir.file("tunes/t1.mid"), b = data.dir.file("tunes/t2.mid");
  const auto reconstructed = run_cadenza("reconstruct --checkpoint " + run + " " + a + " --out " + data.dir.file("r"));
  ASSERT_EQ(reconstructed.exit_code, 0) << reconstructed.output;
  EXPECT_NE(reconstructed.output.find("% of 64 steps"), std::string::npos) << reconstructed.output;
  EXPECT_EQ(read_midi_file(data.dir.file("r/t1_input.mid")).tracks.size(), 2u) << "the encoder read both tracks";
  const auto interpolated =
      run_cadenza("interpolate --checkpoint " + run + " " + a + " " + b + " --steps 3 --out " + data.dir.file("i"));
  ASSERT_EQ(interpolated.exit_code, 0) << interpolated.output;
  EXPECT_EQ(midi_files_in(data.dir.file("i")), 4);
  const auto attributed = run_cadenza("attribute --checkpoint " + run + " " + a +
                                      " --attribute note_density --amount 1 --out " + data.dir.file("a"));
  ASSERT_EQ(attributed.exit_code, 0) << attributed.output;
  EXPECT_EQ(midi_files_in(data.dir.file("a")), 1);

  const auto evaluated = run_cadenza("evaluate --checkpoint " + run + " --data " + data.roll + " --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  const auto result = nlohmann::json::parse(evaluated.output.substr(evaluated.output.find('{')));
  EXPECT_EQ(result["input_kind"], "frames");
  for (const char* key : {"accuracy_sampled", "cells_f1_sampled", "cells_precision_sampled", "cells_recall_sampled"}) {
    EXPECT_GE(result[key].get<double>(), 0.0) << key;
    EXPECT_LE(result[key].get<double>(), 1.0) << key;
  }
  const auto printed = run_cadenza("evaluate --checkpoint " + run + " --data " + data.roll);
  ASSERT_EQ(printed.exit_code, 0) << printed.output;
  EXPECT_NE(printed.output.find("nats/frame"), std::string::npos) << printed.output;
  const auto mismatch = run_cadenza("evaluate --checkpoint " + run + " --data " + data.melody);
  EXPECT_EQ(mismatch.exit_code, 1) << "a frames model scored on a melody shard must be refused";
}

TEST(CliLatent, GanAndRganTrainSampleStitchEvaluate) {
  Tunes data;
  const std::string gan = data.dir.file("gan"), rgan = data.dir.file("rgan");
  auto trained = run_cadenza("train --model gan --preset tiny --data " + data.roll + " --out " + gan + " --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  trained = run_cadenza("train --model rgan --preset tiny --data " + data.melody + " --out " + rgan + " --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const auto wrong_data = run_cadenza("train --model gan --preset tiny --data " + data.melody + " --out " +
                                      data.dir.file("bad") + " --threads 1");
  EXPECT_EQ(wrong_data.exit_code, 1);
  EXPECT_NE(wrong_data.output.find("piano-roll"), std::string::npos) << wrong_data.output;

  const auto stitched = run_cadenza("sample --checkpoint " + gan +
                                    " -n 2 --bars 16 --binarize bernoulli --truncation "
                                    "1.5 --out " +
                                    data.dir.file("gs"));
  ASSERT_EQ(stitched.exit_code, 0) << stitched.output;
  EXPECT_EQ(midi_files_in(data.dir.file("gs")), 2);
  for (const char* name : {"sample_001.mid", "sample_002.mid"}) {
    const Score score = read_midi_file(data.dir.file(std::string("gs/") + name));
    EXPECT_EQ(score.tracks.size(), 2u) << "melody and chords tracks";
    EXPECT_LE(score.end_tick(), 16 * 4 * score.ticks_per_quarter);
  }
  EXPECT_EQ(run_cadenza("interpolate --checkpoint " + gan + " --steps 3 --out " + data.dir.file("gi")).exit_code, 0);
  EXPECT_EQ(midi_files_in(data.dir.file("gi")), 4);
  const auto rgan_sampled =
      run_cadenza("sample --checkpoint " + rgan + " -n 2 --events 20 --out " + data.dir.file("rs"));
  ASSERT_EQ(rgan_sampled.exit_code, 0) << rgan_sampled.output;
  EXPECT_EQ(midi_files_in(data.dir.file("rs")), 2);
  for (const char* name : {"sample_001.mid", "sample_002.mid"}) {  // the generator's times on the data's 16th grid
    const Score score = read_midi_file(data.dir.file(std::string("rs/") + name));
    ASSERT_FALSE(score.tracks.empty());
    EXPECT_FALSE(score.tracks[0].notes.empty());
    const int64_t step = score.ticks_per_quarter / 4;
    for (const Note& note : score.tracks[0].notes) {
      EXPECT_EQ(note.start_tick % step, 0) << name << ": onset " << note.start_tick;
      EXPECT_EQ(note.end_tick % step, 0) << name << ": end " << note.end_tick;
      EXPECT_GE(note.end_tick - note.start_tick, step) << name;
    }
  }

  const auto evaluated = run_cadenza("evaluate --checkpoint " + gan + " --data " + data.roll + " --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  const auto result = nlohmann::json::parse(evaluated.output.substr(evaluated.output.find('{')));
  EXPECT_TRUE(result["generated"].contains("tracks")) << "MuseGAN's per-track metrics";
  EXPECT_TRUE(result.contains("mode_collapse"));
  EXPECT_NE(run_cadenza("reconstruct --checkpoint " + gan + " " + data.dir.file("tunes/t1.mid") + " --out " +
                        data.dir.file("x"))
                .exit_code,
            0);
}

}  // namespace
}  // namespace cadenza
