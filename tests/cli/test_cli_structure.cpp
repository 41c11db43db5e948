// Tunes with structure end to end: `dataset prepare --set structure=true` (START, METER, KEY, END tokens), training
// an LSTM and a Transformer that read the step context (bar position, lookback tokens), evaluating them, and
// `generate --until-end`, which stops where the model ends the tune.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/file_io.h"
#include "data/shard.h"
#include "midi/midi.h"
#include "score/key.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::run_cadenza;

// A 4-bar tune in 3/4 or 4/4, D major (two sharps), that states a 1-bar figure twice.
Score tune(int seed) {
  const int numerator = seed % 2 == 0 ? 3 : 4;
  Score score = make_empty_score(480, 120.0, numerator, 4);
  score.key_signatures = {{0, 2, false}};
  Track track;
  track.name = "tune";
  const int scale[] = {62, 64, 66, 67, 69, 71, 73, 74};
  int64_t tick = 0;
  for (int bar = 0; bar < 4; ++bar)
    for (int beat = 0; beat < numerator; ++beat, tick += 480)
      track.notes.push_back({scale[(seed + (bar % 2) * 2 + beat) % 8], 90, tick, tick + 480});
  score.tracks.push_back(track);
  score.normalize();
  return score;
}

struct StructuredTunes {
  testing::TempDir dir;
  std::string shard = dir.file("tunes.cdz");
  StructuredTunes() {
    fs::create_directories(dir.file("tunes"));
    for (int i = 0; i < 30; ++i) write_midi_file(tune(i), dir.file("tunes/tune" + std::to_string(i) + ".mid"));
    const auto prepared =
        run_cadenza("dataset prepare --input " + dir.file("tunes") +
                    " --encoding melody --set structure=true --split 0.6,0.2,0.2 --no-group-duplicates"
                    " --out " +
                    shard);
    EXPECT_EQ(prepared.exit_code, 0) << prepared.output;
  }
};

TEST(CliStructure, PrepareTrainEvaluateAndGenerateUntilTheModelsEnd) {
  StructuredTunes data;
  const auto info = run_cadenza("dataset info " + data.shard);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("structure"), std::string::npos) << info.output;

  // The gru reads the far lookbacks too (the tokens 4 and 8 bars back), the bar number and the bars left, the gru and
  // the transformer the tune's meter and key at every step (context_header): training, evaluation and generation
  // fill those columns.
  for (const std::string family : {"lstm", "transformer", "gru"}) {
    const std::string run = data.dir.file("run_" + family);
    const std::string lookback = family == "gru"           ? " --set context_lookback=4 --set context_header=true"
                                                             " --set context_phrase=true --set context_bars_left=true"
                                 : family == "transformer" ? " --set context_header=true"
                                                           : "";
    const auto trained = run_cadenza("train --model " + family + " --preset tiny --data " + data.shard + " --out " +
                                     run + " --steps 40 --set eval_every=20 --threads 1" + lookback);
    ASSERT_EQ(trained.exit_code, 0) << trained.output;
    // The presets read the context the data gives: 25 bar positions at 4 steps per quarter, the 1- and 2-bar lookbacks.
    std::ifstream config_file(run + "/config.json");
    const auto config = nlohmann::json::parse(config_file);
    EXPECT_EQ(config["model"]["context_positions"], 25) << family;
    EXPECT_EQ(config["model"]["context_lookback"], family == "gru" ? 4 : 2) << family;
    EXPECT_EQ(config["model"]["context_header"], family != "lstm") << family;
    EXPECT_EQ(config["model"].value("context_bars_left", false), family == "gru") << family;

    const auto evaluated = run_cadenza("evaluate --checkpoint " + run + " --data " + data.shard + " --json");
    ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
    const auto result = nlohmann::json::parse(evaluated.output.substr(evaluated.output.find('{')));
    EXPECT_GT(result["model"]["nll"].get<double>(), 0.0) << family;
    EXPECT_TRUE(std::isfinite(result["model"]["nll"].get<double>())) << family;

    const std::string out = data.dir.file("until_end_" + family);
    const auto generated =
        run_cadenza("generate --checkpoint " + run + " --out " + out + " -n 3 --until-end --bars 8 --seed 3");
    ASSERT_EQ(generated.exit_code, 0) << generated.output;
    std::smatch ended;
    ASSERT_TRUE(std::regex_search(generated.output, ended,
                                  std::regex("([0-3]) of 3 pieces ended by the model's END \\(the others were cut")))
        << generated.output;
    // Each piece says which: the model's END, or the cap.
    const std::regex ended_line(", ended by the model");
    const auto said = static_cast<int>(std::distance(
        std::sregex_iterator(generated.output.begin(), generated.output.end(), ended_line), std::sregex_iterator()));
    EXPECT_EQ(said, std::stoi(ended[1])) << generated.output;
    for (const char* name : {"sample_001.mid", "sample_002.mid", "sample_003.mid"}) {
      const Score score = read_midi_file(out + "/" + name);
      // The KEY and METER tokens the model chose are in the file; the cap (8 bars) bounds the length.
      ASSERT_FALSE(score.time_signatures.empty()) << name;
      const int denominator = score.time_signatures[0].denominator;
      EXPECT_TRUE(denominator == 2 || denominator == 4 || denominator == 8) << name << ": not a METER token's meter";
      EXPECT_FALSE(score.key_signatures.empty()) << name << ": the KEY token sets a key signature";
      // 8 bars of the meter the model wrote; a bars-left model plans 8 and is capped one bar later, so that its own
      // END after the last bar can come.
      const int cap_bars = family == "gru" ? 9 : 8;
      EXPECT_LE(score.end_tick(),
                cap_bars * 4 * score.ticks_per_quarter * score.time_signatures[0].numerator / denominator)
          << name << ": past the cap";
      // Generation stops at the cap, not past it (then cut): at most the header, 8 bars of 16th steps and the closing
      // NOTE_OFF / END. (The length check once came half the length again too late.)
      std::smatch tokens;
      ASSERT_TRUE(std::regex_search(generated.output, tokens,
                                    std::regex(std::string(name) + ": [^\n]* ([0-9]+) tokens generated")))
          << generated.output;
      const int steps_per_bar = 16 * score.time_signatures[0].numerator / denominator;
      EXPECT_LE(std::stoi(tokens[1]), 3 + cap_bars * steps_per_bar + 2) << name << "\n" << generated.output;
    }
    if (family == "gru") {
      // --meter and --key start the tune with that header; the files carry it.
      const std::string keyed = data.dir.file("keyed");
      const auto in_d = run_cadenza("generate --checkpoint " + run + " --out " + keyed +
                                    " -n 2 --meter 6/8 --key Bm --bars 4 --seed 5");
      ASSERT_EQ(in_d.exit_code, 0) << in_d.output;
      EXPECT_NE(in_d.output.find("tune header: 6/8, Bm"), std::string::npos) << in_d.output;
      for (const char* name : {"sample_001.mid", "sample_002.mid"}) {
        const Score score = read_midi_file(keyed + "/" + name);
        ASSERT_FALSE(score.time_signatures.empty());
        EXPECT_EQ(score.time_signatures[0].numerator, 6) << name;
        EXPECT_EQ(score.time_signatures[0].denominator, 8) << name;
        ASSERT_FALSE(score.key_signatures.empty()) << name;
        EXPECT_EQ(score.key_signatures[0].sharps, 2) << name << ": B minor has two sharps";
        EXPECT_TRUE(score.key_signatures[0].minor) << name;
      }
      // --until-end with no length: the cap is 66 bars of the tune's meter (a bars-left model is told in its last 8
      // bars that the tune has 65: 64 and an upbeat bar; the cap is one bar past it, for its END).
      const std::string whole = data.dir.file("whole");
      const auto unplanned =
          run_cadenza("generate --checkpoint " + run + " --out " + whole + " -n 2 --until-end --seed 7");
      ASSERT_EQ(unplanned.exit_code, 0) << unplanned.output;
      for (const char* name : {"sample_001.mid", "sample_002.mid"}) {
        const Score score = read_midi_file(whole + "/" + name);
        ASSERT_FALSE(score.time_signatures.empty()) << name;
        const int64_t bar =
            4 * score.ticks_per_quarter * score.time_signatures[0].numerator / score.time_signatures[0].denominator;
        EXPECT_LE(score.end_tick(), 66 * bar) << name << ": past the 66-bar cap\n" << unplanned.output;
      }
      // --key alone: the model draws the meter after START, then writes in the key.
      const std::string key_only = data.dir.file("key_only");
      const auto in_key =
          run_cadenza("generate --checkpoint " + run + " --out " + key_only + " -n 3 --key D --bars 4 --seed 5");
      ASSERT_EQ(in_key.exit_code, 0) << in_key.output;
      EXPECT_NE(in_key.output.find("tune header: the model's meter, D (--key)"), std::string::npos) << in_key.output;
      for (const char* name : {"sample_001.mid", "sample_002.mid", "sample_003.mid"}) {
        const Score score = read_midi_file(key_only + "/" + name);
        ASSERT_FALSE(score.time_signatures.empty()) << name;
        const int denominator = score.time_signatures[0].denominator;
        EXPECT_TRUE(denominator == 2 || denominator == 4 || denominator == 8) << name << ": not a METER token's meter";
        ASSERT_FALSE(score.key_signatures.empty()) << name;
        EXPECT_EQ(score.key_signatures[0].sharps, 2) << name << ": D major has two sharps";
        EXPECT_FALSE(score.key_signatures[0].minor) << name;
      }
      EXPECT_CLI_ERROR(run_cadenza("generate --checkpoint " + run + " --out " + keyed + "2 --meter 7/8 --key D"),
                       {"--meter \"7/8\"", "not a meter the model writes", "6/8"});
      EXPECT_CLI_ERROR(run_cadenza("generate --checkpoint " + run + " --out " + keyed + "2 --meter 4/4 --key H"),
                       {"key \"H\"", "expected a tonic"});
      EXPECT_CLI_ERROR(run_cadenza("generate --checkpoint " + run + " --out " + keyed + "2 --meter 4/4 --primer-midi " +
                                   data.dir.file("tunes/tune0.mid")),
                       {"--meter and --key start a new tune", "primer"});
    }
    // A whole tune as a primer is continued: its END is not part of the primer (else nothing could follow it).
    const Score primer = read_midi_file(data.dir.file("tunes/tune0.mid"));
    const std::string continued = data.dir.file("continued_" + family);
    const auto continuation = run_cadenza("generate --checkpoint " + run + " --out " + continued + " --primer-midi " +
                                          data.dir.file("tunes/tune0.mid") + " --steps 32 --seed 3");
    ASSERT_EQ(continuation.exit_code, 0) << continuation.output;
    std::smatch generated_count;
    ASSERT_TRUE(std::regex_search(continuation.output, generated_count, std::regex("([0-9]+) tokens generated")))
        << continuation.output;
    EXPECT_GE(std::stoi(generated_count[1]), 32) << continuation.output;  // 32 steps, and closing tokens if any
    EXPECT_GE(read_midi_file(continued + "/sample_001.mid").end_tick() * primer.ticks_per_quarter,
              primer.end_tick() * read_midi_file(continued + "/sample_001.mid").ticks_per_quarter)
        << family << ": the primer is kept";
  }
}

// one_key: tunes moved to C major / A minor in the shard; the model's tunes are moved to the key asked for, and a
// primer's continuation back to the primer's key.
TEST(CliStructure, OneKeyTunesTrainInCAndGenerateInTheKeyAskedOrThePrimers) {
  testing::TempDir dir;
  fs::create_directories(dir.file("tunes"));
  for (int i = 0; i < 20; ++i) write_midi_file(tune(i), dir.file("tunes/tune" + std::to_string(i) + ".mid"));
  const std::string shard = dir.file("one_key.cdz");
  const auto prepared = run_cadenza("dataset prepare --input " + dir.file("tunes") +
                                    " --encoding melody --set structure=true --set one_key=true --split 0.6,0.2,0.2"
                                    " --no-group-duplicates --out " +
                                    shard);
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  const std::string run = dir.file("run");
  EXPECT_CLI_ERROR(run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + run +
                               "_transposed --steps 4 --threads 1 --set max_transpose=2"),
                   {"max_transpose 2", "C major / A minor", "set max_transpose 0"});
  const auto trained = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + run +
                                   " --steps 20 --threads 1 --set max_transpose=0");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  // The END and header tokens weighted in the loss: it trains, and the run's config records the weights.
  const auto weighted = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + run +
                                    "_weighted --steps 2 --threads 1 --set max_transpose=0 --set end_loss_weight=10"
                                    " --set header_loss_weight=5");
  ASSERT_EQ(weighted.exit_code, 0) << weighted.output;
  std::ifstream weighted_file(run + "_weighted/config.json");
  const nlohmann::json weighted_config = nlohmann::json::parse(weighted_file);
  EXPECT_EQ(weighted_config["train"]["end_loss_weight"], 10.0);
  EXPECT_EQ(weighted_config["train"]["header_loss_weight"], 5.0);

  // A new tune: the model writes C major, and --key G moves it (down 5 semitones, the nearer way).
  const std::string in_g = dir.file("in_g");
  const auto keyed =
      run_cadenza("generate --checkpoint " + run + " --out " + in_g + " -n 2 --meter 4/4 --key G --bars 4 --seed 2");
  ASSERT_EQ(keyed.exit_code, 0) << keyed.output;
  EXPECT_NE(keyed.output.find("the model writes in C major, the tune is moved to G"), std::string::npos)
      << keyed.output;
  for (const char* name : {"sample_001.mid", "sample_002.mid"}) {
    const Score score = read_midi_file(in_g + "/" + name);
    ASSERT_FALSE(score.key_signatures.empty()) << name;
    EXPECT_EQ(score.key_signatures[0].sharps, 1) << name << ": G major has one sharp";
    EXPECT_FALSE(score.key_signatures[0].minor) << name;
  }
  // --key without --meter: the model's meter, moved to E minor (the model writes A minor).
  const std::string in_em = dir.file("in_em");
  const auto minor = run_cadenza("generate --checkpoint " + run + " --out " + in_em + " --key Em --bars 4 --seed 2");
  ASSERT_EQ(minor.exit_code, 0) << minor.output;
  EXPECT_NE(minor.output.find("tune header: the model's meter, Em (--key; the model writes in A minor, the tune is "
                              "moved to Em)"),
            std::string::npos)
      << minor.output;
  const Score in_e_minor = read_midi_file(in_em + "/sample_001.mid");
  ASSERT_FALSE(in_e_minor.key_signatures.empty());
  EXPECT_EQ(in_e_minor.key_signatures[0].sharps, 1) << "E minor has one sharp";
  EXPECT_TRUE(in_e_minor.key_signatures[0].minor);
  // Without --key: C major or A minor, and the output says so.
  const std::string plain = dir.file("plain");
  const auto unkeyed = run_cadenza("generate --checkpoint " + run + " --out " + plain + " --bars 2 --seed 2");
  ASSERT_EQ(unkeyed.exit_code, 0) << unkeyed.output;
  EXPECT_NE(unkeyed.output.find("writes its tunes in C major or A minor"), std::string::npos) << unkeyed.output;
  EXPECT_EQ(read_midi_file(plain + "/sample_001.mid").key_signatures.at(0).sharps, 0);

  // A primer in D major: read in C, continued, and the whole piece moved back to D: the primer's notes as they were.
  const Score primer = read_midi_file(dir.file("tunes/tune1.mid"));
  const std::string continued = dir.file("continued");
  const auto continuation = run_cadenza("generate --checkpoint " + run + " --out " + continued + " --primer-midi " +
                                        dir.file("tunes/tune1.mid") + " --steps 16 --seed 3");
  ASSERT_EQ(continuation.exit_code, 0) << continuation.output;
  EXPECT_NE(continuation.output.find("moved back to the primer's key"), std::string::npos) << continuation.output;
  const Score piece = read_midi_file(continued + "/sample_001.mid");
  ASSERT_FALSE(piece.key_signatures.empty());
  EXPECT_EQ(piece.key_signatures[0].sharps, 2) << "D major";
  ASSERT_GE(piece.tracks.at(0).notes.size(), primer.tracks.at(0).notes.size());
  for (size_t i = 0; i < primer.tracks[0].notes.size(); ++i)
    EXPECT_EQ(piece.tracks[0].notes[i].pitch, primer.tracks[0].notes[i].pitch) << "note " << i;
}

TEST(CliStructure, UntilEndNeedsAnEncodingWithAnEndAndAContextNeedsStructuredData) {
  testing::TempDir dir;
  fs::create_directories(dir.file("tunes"));
  for (int i = 0; i < 10; ++i) write_midi_file(tune(i), dir.file("tunes/t" + std::to_string(i) + ".mid"));
  const std::string shard = dir.file("plain.cdz");
  ASSERT_EQ(run_cadenza("dataset prepare --input " + dir.file("tunes") +
                        " --encoding melody --no-group-duplicates"
                        " --split 0.6,0.2,0.2 --out " +
                        shard)
                .exit_code,
            0);
  const auto refused = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + dir.file("run") +
                                   " --steps 2 --set context_lookback=2 --threads 1");
  EXPECT_CLI_ERROR(refused, {shard, "gives no step context", "structure=true"});
  const auto no_header = run_cadenza("train --model gru --preset tiny --data " + shard + " --out " + dir.file("run") +
                                     " --steps 2 --set context_header=true --threads 1");
  EXPECT_CLI_ERROR(no_header, {"context_header", shard, "has none", "structure=true"});
  const auto hidden = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + dir.file("run") +
                                  " --steps 2 --set lookback_hidden_share=0.5 --threads 1");
  EXPECT_CLI_ERROR(hidden, {"lookback_hidden_share", "0.5", "reads none", "context_lookback"});
  const auto hidden_chords = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " +
                                         dir.file("run") + " --steps 2 --set chords_hidden_share=0.3 --threads 1");
  EXPECT_CLI_ERROR(hidden_chords, {"chords_hidden_share 0.3", "reads none", "chord_conditioning=true"});
  const auto by_tune = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + dir.file("run") +
                                   " --steps 2 --set edge_crops_by_tune=true --threads 1");
  EXPECT_CLI_ERROR(by_tune, {"edge_crops_by_tune", "start_crop_share and end_crop_share are both 0"});
  const auto end_weight = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + dir.file("run") +
                                      " --steps 2 --set end_loss_weight=10 --threads 1");
  EXPECT_CLI_ERROR(end_weight, {"\"end_loss_weight\" 10", "END token", shard, "structure=true"});
  // A plain shard still trains (the presets' context is "as the data allows": none here).
  const auto trained = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + dir.file("run") +
                                   " --steps 4 --set eval_every=2 --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const auto until_end =
      run_cadenza("generate --checkpoint " + dir.file("run") + " --out " + dir.file("out") + " --until-end");
  EXPECT_CLI_ERROR(until_end, {"--until-end"});
  EXPECT_CLI_ERROR(
      run_cadenza("generate --checkpoint " + dir.file("run") + " --out " + dir.file("out") + " --meter 4/4 --key C"),
      {"--meter and --key are for models of whole tunes", "structure=true"});
}

// ---- chords (docs/conditioning.md "Chords") ------------------------------------------------------------------------

// A 4-bar 4/4 tune in C: track 0 the melody (quarter notes on the chord's tones and a passing tone), track 1 the chords
// C | G7 | Am | F, one block per bar.
Score tune_with_chords(int seed) {
  Score score = make_empty_score(480, 120.0, 4, 4);
  Track melody, chords;
  melody.name = "melody";
  chords.name = "chords";
  const std::vector<std::vector<int>> bars = {{60, 64, 67}, {55, 59, 62, 65}, {57, 60, 64}, {53, 57, 60}};
  for (int bar = 0; bar < 4; ++bar) {
    const int64_t start = bar * 1920;
    for (int pitch : bars[static_cast<size_t>(bar)]) chords.notes.push_back({pitch, 70, start, start + 1920});
    for (int beat = 0; beat < 4; ++beat) {
      const auto& chord = bars[static_cast<size_t>(bar)];
      const int pitch = 12 + chord[static_cast<size_t>((seed + beat) % static_cast<int>(chord.size()))];
      melody.notes.push_back({pitch, 90, start + beat * 480, start + beat * 480 + 480});
    }
  }
  score.tracks = {melody, chords};
  score.normalize();
  return score;
}

TEST(CliChords, PrepareWithChordsTrainGenerateOverChordsAndRefusals) {
  testing::TempDir dir;
  fs::create_directories(dir.file("tunes"));
  for (int i = 0; i < 16; ++i) write_midi_file(tune_with_chords(i), dir.file("tunes/t" + std::to_string(i) + ".mid"));
  const std::string shard = dir.file("chords.cdz");
  const auto prepared = run_cadenza("dataset prepare --input " + dir.file("tunes") +
                                    " --encoding melody --set structure=true --track-index 0 --chords-track 1"
                                    " --no-group-duplicates --split 0.6,0.2,0.2 --out " +
                                    shard);
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  const auto info = run_cadenza("dataset info " + shard);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("chord under every token, from track 1"), std::string::npos) << info.output;

  // The same tunes a tone higher (D), prepared with one_key: moved back to C with their chords, they are the shard
  // above token for token and chord for chord.
  fs::create_directories(dir.file("in_d"));
  for (int i = 0; i < 16; ++i)
    write_midi_file(transpose_with_key(tune_with_chords(i), 2), dir.file("in_d/t" + std::to_string(i) + ".mid"));
  const std::string one_key = dir.file("one_key_chords.cdz");
  const auto moved = run_cadenza("dataset prepare --input " + dir.file("in_d") +
                                 " --encoding melody --set structure=true --set one_key=true --track-index 0"
                                 " --chords-track 1 --no-group-duplicates --split 0.6,0.2,0.2 --out " +
                                 one_key);
  ASSERT_EQ(moved.exit_code, 0) << moved.output;
  {
    const Shard in_c(shard), from_d(one_key);
    ASSERT_EQ(in_c.num_pieces(), from_d.num_pieces());
    for (size_t i = 0; i < in_c.num_pieces(); ++i) {
      const auto a = in_c.tokens(i), b = from_d.tokens(i);
      EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << "piece " << i;
      EXPECT_EQ(in_c.piece_chords(i), from_d.piece_chords(i)) << "piece " << i;
    }
  }

  const std::string run = dir.file("run");
  const auto trained = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + run +
                                   " --steps 30 --set eval_every=15 --set chord_conditioning=true --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  std::ifstream config_file(run + "/config.json");
  EXPECT_EQ(nlohmann::json::parse(config_file)["model"]["chord_conditioning"], true);
  const auto evaluated = run_cadenza("evaluate --checkpoint " + run + " --data " + shard + " --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;

  // Over a progression (no length: as long as the chords, 5 bars of 4/4), and with a primer.
  const std::string out = dir.file("out");
  const auto generated =
      run_cadenza("generate --checkpoint " + run + " --out " + out + " --chords \"C | G7 | Am F/C | Dm7 G7 | C\"");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  const Score score = read_midi_file(out + "/sample_001.mid");
  const Track* chord_track = nullptr;
  for (const Track& track : score.tracks)
    if (track.name == "chords") chord_track = &track;
  ASSERT_NE(chord_track, nullptr) << "the output has a chords track";
  ASSERT_FALSE(chord_track->notes.empty());
  const int64_t bar = 4 * score.ticks_per_quarter;
  int64_t chords_end = 0;
  bool has_b_in_bar_2 = false;
  for (const Note& note : chord_track->notes) {
    chords_end = std::max(chords_end, note.end_tick);
    if (note.start_tick == bar && note.pitch % 12 == 11) has_b_in_bar_2 = true;  // G7 = G B D F
  }
  EXPECT_EQ(chords_end, 5 * bar) << "the five bars of chords";
  EXPECT_TRUE(has_b_in_bar_2);
  EXPECT_LE(score.end_tick(), 5 * bar);

  const std::string primed = dir.file("primed");
  Score primer = tune_with_chords(0);
  primer.tracks.resize(1);  // the melody alone
  write_midi_file(primer, dir.file("primer.mid"));
  const auto with_primer = run_cadenza("generate --checkpoint " + run + " --out " + primed + " --primer-midi " +
                                       dir.file("primer.mid") + " --chords \"C | G7 | Am | F | C | G7\"");
  ASSERT_EQ(with_primer.exit_code, 0) << with_primer.output;
  const Score continued = read_midi_file(primed + "/sample_001.mid");
  bool primed_chords = false;
  for (const Track& track : continued.tracks) primed_chords |= track.name == "chords" && !track.notes.empty();
  EXPECT_TRUE(primed_chords);
  EXPECT_GT(continued.end_tick(), 4 * 4 * continued.ticks_per_quarter) << "continues past the 4-bar primer";

  // A symbol that does not parse is named with its position; no output is written.
  const auto bad = run_cadenza("generate --checkpoint " + run + " --out " + dir.file("bad") + " --chords \"C | Hm7\"");
  EXPECT_CLI_ERROR(bad, {"chord symbol 'Hm7'", "bar 2, chord 1", "root A..G"});
  EXPECT_FALSE(fs::exists(dir.file("bad")));
  const auto quality = run_cadenza("generate --checkpoint " + run + " --out " + dir.file("bad") + " --chords \"Cfoo\"");
  EXPECT_CLI_ERROR(quality, {"'Cfoo'", "bar 1, chord 1", "unknown quality 'foo'"});

  // A model without chord conditioning refuses chords; a shard without chords cannot train one.
  const std::string plain_run = dir.file("plain_run");
  ASSERT_EQ(
      run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + plain_run + " --steps 2 --threads 1")
          .exit_code,
      0);
  const auto refused =
      run_cadenza("generate --checkpoint " + plain_run + " --out " + dir.file("refused") + " --chords \"C | G\"");
  EXPECT_CLI_ERROR(refused, {"--chords", "chord conditioning", "has none"});
  const std::string no_chords = dir.file("no_chords.cdz");
  ASSERT_EQ(
      run_cadenza("dataset prepare --input " + dir.file("tunes") +
                  " --encoding melody --track-index 0 --no-group-duplicates --split 0.6,0.2,0.2 --out " + no_chords)
          .exit_code,
      0);
  const auto no_data = run_cadenza("train --model lstm --preset tiny --data " + no_chords + " --out " +
                                   dir.file("run2") + " --steps 2 --set chord_conditioning=true --threads 1");
  EXPECT_CLI_ERROR(no_data, {"chord_conditioning", no_chords, "stores none", "--chords-track"});
  const auto wrong_encoding = run_cadenza("dataset prepare --input " + dir.file("tunes") +
                                          " --encoding remi --chords-track 1 --out " + dir.file("remi.cdz"));
  EXPECT_CLI_ERROR(wrong_encoding, {"--chords-track", "melody encoding only", "remi"});
}

}  // namespace
// ---- styles (docs/conditioning.md "Styles and blends") -------------------------------------------------------------

TEST(CliStyles, PrepareWithStylesTrainGenerateStylesMixturesPathsAndRefusals) {
  testing::TempDir dir;
  // Runs a command once and expects it to fail with one error line naming all of `names`.
  const auto expect_error = [](const std::string& command, std::initializer_list<std::string> names) {
    const auto result = run_cadenza(command);
    EXPECT_CLI_ERROR_CODE(command, result.exit_code, result.output, 1, names);
  };
  fs::create_directories(dir.file("tunes"));
  fs::create_directories(dir.file("more"));
  for (int i = 0; i < 8; ++i) {
    write_midi_file(tune_with_chords(i), dir.file("tunes/jigs_" + std::to_string(i) + ".mid"));
    write_midi_file(tune_with_chords(i + 1), dir.file("tunes/reels_" + std::to_string(i) + ".mid"));
    write_midi_file(tune_with_chords(i + 2), dir.file("more/m" + std::to_string(i) + ".mid"));
  }
  write_midi_file(tune_with_chords(3), dir.file("tunes/polka.mid"));  // no style by the rule: skipped
  const std::string shard = dir.file("styles.cdz");
  const auto prepared = run_cadenza("dataset prepare --input " + dir.file("tunes") +
                                    " --encoding melody --set structure=true --track-index 0 --chords-track 1"
                                    " --style-from 'name:^(jigs|reels)_' --no-group-duplicates --split 0.6,0.2,0.2"
                                    " --out " +
                                    shard);
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  const auto info = run_cadenza("dataset info " + shard);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  for (const std::string expected : {"styles      2 (name:^(jigs|reels)_)", "jigs", "reels", "polka.mid: no style"})
    EXPECT_NE(info.output.find(expected), std::string::npos) << expected << "\n" << info.output;
  const auto info_json = run_cadenza("dataset info --json " + shard);
  ASSERT_EQ(info_json.exit_code, 0) << info_json.output;
  const auto per_style = nlohmann::json::parse(info_json.output)["styles"]["pieces"];
  EXPECT_EQ(per_style["jigs"]["train"].get<int>() + per_style["jigs"]["valid"].get<int>() +
                per_style["jigs"]["test"].get<int>(),
            8);

  const auto pieces = run_cadenza("dataset info --pieces " + shard);
  ASSERT_EQ(pieces.exit_code, 0) << pieces.output;
  EXPECT_NE(pieces.output.find("jigs_3.mid\tjigs\n"), std::string::npos) << pieces.output;
  EXPECT_NE(pieces.output.find("reels_3.mid\treels\n"), std::string::npos) << pieces.output;

  // Several inputs, one style each, in one shard.
  const std::string given = dir.file("given.cdz");
  const auto two_inputs = run_cadenza("dataset prepare --input " + dir.file("tunes") + " --input " + dir.file("more") +
                                      " --style dance --style song --encoding melody"
                                      " --track-index 0 --no-group-duplicates --out " +
                                      given);
  ASSERT_EQ(two_inputs.exit_code, 0) << two_inputs.output;
  const auto given_json = run_cadenza("dataset info --json " + given);
  const auto given_styles = nlohmann::json::parse(given_json.output)["styles"];
  EXPECT_EQ(given_styles["source"], "given");
  ASSERT_TRUE(given_styles["pieces"].contains("dance") && given_styles["pieces"].contains("song")) << given_styles;
  const auto count = [&](const std::string& style) {
    int total = 0;
    for (const auto& [split, pieces] : given_styles["pieces"][style].items()) total += pieces.get<int>();
    return total;
  };
  EXPECT_EQ(count("dance"), 17);
  EXPECT_EQ(count("song"), 8);
  expect_error(("dataset prepare --input " + dir.file("tunes") + " --input " + dir.file("more") + " --input " +
                dir.file("tunes") + " --style a --style b --out " + dir.file("x.cdz")),
               {"--style given 2 times for 3 inputs"});
  expect_error(("dataset prepare --input " + dir.file("tunes") + " --style 'a b' --out " + dir.file("x.cdz")),
               {"style name 'a b'"});

  // A model with styles and chords: the style names go into its config.
  const std::string run = dir.file("run");
  const auto trained = run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + run +
                                   " --steps 20 --set eval_every=10 --set style_conditioning=true"
                                   " --set chord_conditioning=true --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  std::ifstream config_file(run + "/config.json");
  const auto model_config = nlohmann::json::parse(config_file)["model"];
  EXPECT_EQ(model_config["style_conditioning"], true);
  EXPECT_EQ(model_config["style_names"], nlohmann::json({"jigs", "reels"}));
  const auto evaluated = run_cadenza("evaluate --checkpoint " + run + " --data " + shard + " --split train --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;

  // One style, a mixture, a path (with a primer and chords), and none (the even mixture).
  Score primer = tune_with_chords(0);
  primer.tracks.resize(1);
  write_midi_file(primer, dir.file("primer.mid"));
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"one", "--style jigs --bars 4"},
      {"mixture", "--style jigs=0.7,reels=0.3 --bars 4"},
      {"path", "--style-path 'jigs@0 -> reels@6' --primer-midi " + dir.file("primer.mid") +
                   " --chords \"C | G7 | Am | F | C | G7 | Am | F\""},
      {"none", "--bars 4"}};
  for (const auto& [name, options] : requests) {
    const auto generated = run_cadenza("generate --checkpoint " + run + " --out " + dir.file(name) + " " + options);
    ASSERT_EQ(generated.exit_code, 0) << name << ": " << generated.output;
    EXPECT_TRUE(fs::exists(dir.file(name) + "/sample_001.mid")) << name;
  }
  EXPECT_NE(
      run_cadenza("generate --checkpoint " + run + " --out " + dir.file("p2") + " --style-path 'jigs@0 -> reels@6'")
          .output.find("style path: jigs@0 -> reels@6"),
      std::string::npos);
  EXPECT_NE(run_cadenza("generate --checkpoint " + run + " --out " + dir.file("n2") + " --bars 2")
                .output.find("the even mixture of the model's 2 styles"),
            std::string::npos);
  const Score continued = read_midi_file(dir.file("path") + "/sample_001.mid");
  EXPECT_GT(continued.end_tick(), 4 * 4 * continued.ticks_per_quarter) << "continues past the 4-bar primer";

  // Errors: named, before any output is written.
  const auto unknown = run_cadenza("generate --checkpoint " + run + " --out " + dir.file("bad") + " --style polkas");
  EXPECT_CLI_ERROR(unknown, {"unknown style 'polkas'", "the model knows jigs, reels"});
  EXPECT_FALSE(fs::exists(dir.file("bad")));
  expect_error(("generate --checkpoint " + run + " --out " + dir.file("bad") + " --style jigs=0,reels=0"),
               {"sum to 0"});
  expect_error(("generate --checkpoint " + run + " --out " + dir.file("bad") + " --style-path 'jigs@4 -> reels@2'"),
               {"anchor 2", "bars must ascend"});
  expect_error(("generate --checkpoint " + run + " --out " + dir.file("bad") + " --style jigs --style-path 'jigs@0'"),
               {"--style or --style-path, not both"});
  const auto beam = run_cadenza("generate --checkpoint " + run + " --out " + dir.file("beam") +
                                " --beam-size 2 --style-path 'jigs@0 -> reels@2' --bars 4");
  EXPECT_EQ(beam.exit_code, 0) << beam.output;

  // A model without style conditioning refuses a style; a shard without styles cannot train one.
  const std::string plain_run = dir.file("plain_run");
  ASSERT_EQ(
      run_cadenza("train --model lstm --preset tiny --data " + shard + " --out " + plain_run + " --steps 2 --threads 1")
          .exit_code,
      0);
  EXPECT_CLI_ERROR(run_cadenza("generate --checkpoint " + plain_run + " --out " + dir.file("bad") + " --style jigs"),
                   {"--style / --style-path", "style conditioning", "has none"});
  const std::string no_styles = dir.file("no_styles.cdz");
  ASSERT_EQ(run_cadenza("dataset prepare --input " + dir.file("more") +
                        " --encoding melody --track-index 0 --no-group-duplicates --out " + no_styles)
                .exit_code,
            0);
  expect_error(("train --model lstm --preset tiny --data " + no_styles + " --out " + dir.file("run3") +
                " --steps 2 --set style_conditioning=true --threads 1"),
               {"style_conditioning", no_styles, "stores none", "--style-from"});
}

}  // namespace cadenza
