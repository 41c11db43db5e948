// Cadenza Studio's HTTP API (docs/studio-api.md), end to end over loopback against a server in this process with three
// bundled models: every endpoint, streaming, cancellation, queue order and the refusals (bad JSON, unknown model,
// oversized bodies, path traversal, wrong Host / Origin).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "common/file_io.h"
#include "midi/midi.h"
#include "studio/assets.h"
#include "studio/server_impl.h"
#include "studio/studio.h"
#include "support/test_support.h"
#include "unit/studio_client.h"

namespace cadenza::studio {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::SseEvent;
using testing::StreamResult;
using testing::StudioClient;

constexpr int kMaxBars = 2048;
const nlohmann::json kLongJob = {{"model", "nottingham-lstm"}, {"bars", kMaxBars}, {"variations", 16}, {"seed", 1}};

std::string bundled(const std::string& name) {
  return std::string(CADENZA_SOURCE_DIR) + "/models/" + name + "/model.safetensors";
}

// A two-bar melody in C at 120 qpm: quarter notes C D E F G A B C.
Score two_bar_melody(int transpose = 0) {
  Score score = make_empty_score();
  score.tracks.push_back({"melody", 0, false, 0, {}});
  const int pitches[] = {60, 62, 64, 65, 67, 69, 71, 72};
  for (int i = 0; i < 8; ++i) score.tracks[0].notes.push_back({pitches[i] + transpose, 100, i * 480, (i + 1) * 480});
  score.update_seconds();
  return score;
}

std::string midi_bytes(const Score& score) {
  const std::vector<uint8_t> bytes = write_midi(score);
  return std::string(bytes.begin(), bytes.end());
}

std::string error_message(const json& body) {
  if (body.is_object() && body.contains("error") && body["error"].contains("message"))
    return body["error"]["message"].get<std::string>();
  return "(no JSON error: " + body.dump() + ")";
}

// The notes of a take as (track, pitch, start, end) in beats.
std::set<std::tuple<int, int, double, double>> note_set(const json& notes) {
  std::set<std::tuple<int, int, double, double>> out;
  for (const json& note : notes)
    out.emplace(note["track"].get<int>(), note["pitch"].get<int>(), note["start"].get<double>(),
                note["end"].get<double>());
  return out;
}

class StudioRoutes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new cadenza::testing::TempDir();
    // A finished training run (a copy of the bundled LSTM as its best checkpoint) and a compare report.
    const fs::path run = dir_->path() / "runs" / "lstm-small";
    fs::create_directories(run / "checkpoints");
    fs::copy_file(bundled("nottingham-lstm"), run / "checkpoints" / "best.safetensors");
    write_file_atomic((run / "config.json").string(),
                      R"({"model": {"family": "lstm", "hidden_size": 64}, "train": {"steps": 30}})");
    std::string metrics;
    for (int step = 10; step <= 30; step += 10)
      metrics += json{{"kind", "train"}, {"step", step}, {"loss", 3.0 - step / 20.0}}.dump() + "\n";
    metrics += json{{"kind", "valid"}, {"step", 30}, {"nll", 1.5}}.dump() + "\n";
    metrics += json{{"kind", "end"}, {"step", 30}, {"stop_reason", "steps"}}.dump() + "\n";
    write_file_atomic((run / "metrics.jsonl").string(), metrics);
    const fs::path report = dir_->path() / "runs" / "compare-1";
    fs::create_directories(report);
    write_file_atomic((report / "index.html").string(), "<html><body>report</body></html>");
    write_file_atomic((report / "results.json").string(), "{}");
    soundfont_ = dir_->file("tiny.sf2");
    write_file_atomic(soundfont_, std::string(1000, 'x'));

    StudioConfig config;
    config.port = 0;
    config.models = {{"nottingham-lstm", bundled("nottingham-lstm"), "bundled"},
                     {"nottingham-vae", bundled("nottingham-vae"), "bundled"},
                     {"nottingham-gan", bundled("nottingham-gan"), "bundled"},
                     {"nottingham-chords", bundled("nottingham-chords"), "bundled"}};
    config.runs = {(dir_->path() / "runs").string()};
    config.web_dir = std::string(CADENZA_SOURCE_DIR) + "/web";
    config.soundfont = soundfont_;
    config.limits.max_queue = 3;
    // Long enough that one job (16 variations of 2048 bars: tens of seconds) holds the worker while a test queues
    // others behind it or leaves it; such a job is always cancelled by its test.
    config.limits.max_bars = kMaxBars;
    config.limits.max_body_bytes = 256 * 1024;
    config.attribute_windows = 256;
    server_ = new StudioServer(config);
    const auto errors = server_->start();
    ASSERT_TRUE(errors.empty()) << errors.front();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  void SetUp() override { client_ = std::make_unique<StudioClient>(server_->port()); }

  // Waits until the worker is idle (earlier tests' cancelled jobs have stopped).
  void wait_idle() {
    for (int i = 0; i < 600; ++i) {
      const auto [status, health] = client_->get_json("/api/health");
      if (status == 200 && !health["queue"]["running"].get<bool>() && health["queue"]["waiting"] == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "the job queue did not become idle within 30 s";
  }

  json upload(const Score& score, const std::string& name) {
    const auto [status, take] = client_->post_raw("/api/takes?name=" + name, midi_bytes(score), "audio/midi");
    EXPECT_EQ(status, 201) << take.dump();
    return take;
  }

  static cadenza::testing::TempDir* dir_;
  static StudioServer* server_;
  static std::string soundfont_;
  std::unique_ptr<StudioClient> client_;
};
cadenza::testing::TempDir* StudioRoutes::dir_ = nullptr;
StudioServer* StudioRoutes::server_ = nullptr;
std::string StudioRoutes::soundfont_;

TEST(StudioHost, OnlyThisServersNamesPass) {
  EXPECT_TRUE(host_allowed("127.0.0.1:8765", "127.0.0.1", {}));
  EXPECT_TRUE(host_allowed("localhost:8765", "127.0.0.1", {}));
  EXPECT_TRUE(host_allowed("LOCALHOST", "127.0.0.1", {}));
  EXPECT_TRUE(host_allowed("[::1]:8765", "127.0.0.1", {}));
  EXPECT_TRUE(host_allowed("192.168.1.20:8765", "0.0.0.0", {})) << "an IP literal cannot be rebound";
  EXPECT_TRUE(host_allowed("studio.lan:8765", "0.0.0.0", {"studio.lan"}));
  EXPECT_TRUE(host_allowed("myhost:8765", "myhost", {}));
  EXPECT_FALSE(host_allowed("evil.example.com:8765", "127.0.0.1", {}));
  EXPECT_FALSE(host_allowed("localhost.evil.com", "127.0.0.1", {}));
  EXPECT_FALSE(host_allowed("", "127.0.0.1", {}));
  EXPECT_FALSE(host_allowed("localhost:80x", "127.0.0.1", {}));
  EXPECT_FALSE(host_allowed("[::1", "127.0.0.1", {}));
}

TEST(StudioAssets, ResolveInsideRefusesEveryWayOut) {
  cadenza::testing::TempDir dir;
  fs::create_directories(dir.path() / "web" / "js");
  write_file_atomic(dir.file("web/js/app.js"), "x");
  write_file_atomic(dir.file("secret.txt"), "secret");
  fs::create_symlink(dir.path() / "secret.txt", dir.path() / "web" / "link.txt");
  const fs::path web = dir.path() / "web";
  EXPECT_TRUE(resolve_inside(web, "js/app.js"));
  EXPECT_TRUE(resolve_inside(web, "/js/app.js"));
  for (const std::string bad : {"../secret.txt", "js/../../secret.txt", "js/./app.js", "js//app.js", "", "/", "js",
                                "link.txt", "js\\app.js", "/../secret.txt"})
    EXPECT_FALSE(resolve_inside(web, bad)) << "\"" << bad << "\" must not resolve";
}

TEST_F(StudioRoutes, HealthAndInfo) {
  const auto [status, health] = client_->get_json("/api/health");
  ASSERT_EQ(status, 200) << health.dump();
  EXPECT_EQ(health["status"], "ok");
  EXPECT_TRUE(health["queue"].contains("waiting"));
  EXPECT_EQ(health["queue"]["max_waiting"], 3);
  const auto [info_status, info] = client_->get_json("/api/info");
  ASSERT_EQ(info_status, 200);
  EXPECT_EQ(info["limits"]["max_bars"], kMaxBars);
  EXPECT_EQ(info["limits"]["max_variations"], 16);
  EXPECT_EQ(info["soundfont"]["bytes"], 1000);
  EXPECT_EQ(info["soundfont"]["url"], "/soundfont");
}

TEST_F(StudioRoutes, ModelsCarryCapabilitiesAndControls) {
  const auto [status, body] = client_->get_json("/api/models");
  ASSERT_EQ(status, 200) << body.dump();
  std::map<std::string, json> models;
  for (const json& model : body["models"]) models[model["id"]] = model;
  ASSERT_TRUE(models.count("nottingham-lstm") && models.count("nottingham-vae") && models.count("nottingham-gan"))
      << body.dump();
  ASSERT_TRUE(models.count("run:lstm-small")) << "the run's best checkpoint is offered: " << body.dump();
  auto control_names = [](const json& model) {
    std::set<std::string> names;
    for (const json& control : model["controls"]) names.insert(control["name"]);
    return names;
  };
  const json& lstm = models["nottingham-lstm"];
  EXPECT_EQ(lstm["origin"], "bundled");
  EXPECT_EQ(lstm["family"], "lstm");
  EXPECT_TRUE(lstm["capabilities"]["primer"].get<bool>());
  // The bundled lstm writes whole tunes (melody with structure): it may end them, and a new one takes a meter and key.
  EXPECT_EQ(control_names(lstm), (std::set<std::string>{"bars", "variations", "temperature", "top_k", "top_p",
                                                        "until_end", "meter", "key", "seed", "qpm"}));
  for (const json& control : lstm["controls"])
    if (control["name"] == "bars") {
      EXPECT_EQ(control["max"], kMaxBars) << "the studio's limit is the range";
    }
  // The temperature control starts at the model's own default: the bundled lstm's generation.json, 1 for the run's
  // copy of the same weights without it.
  const double bundled_temperature = json::parse(
      read_file_text(std::string(CADENZA_SOURCE_DIR) + "/models/nottingham-lstm/generation.json"))["temperature"];
  auto temperature_default = [](const json& model) {
    for (const json& control : model["controls"])
      if (control["name"] == "temperature") return control["default"].get<double>();
    return -1.0;
  };
  EXPECT_DOUBLE_EQ(temperature_default(lstm), bundled_temperature);
  EXPECT_DOUBLE_EQ(lstm["capabilities"]["default_temperature"].get<double>(), bundled_temperature);
  // A run's model is loaded when asked for in detail (the list holds only what is known without loading it).
  const auto [run_status, run] = client_->get_json("/api/models/detail?id=run:lstm-small");
  ASSERT_EQ(run_status, 200) << run.dump();
  EXPECT_DOUBLE_EQ(temperature_default(run), 1.0) << run.dump();
  const json& vae = models["nottingham-vae"];
  EXPECT_TRUE(vae["capabilities"]["interpolate_scores"].get<bool>());
  EXPECT_TRUE(control_names(vae).count("truncation"));
  EXPECT_FALSE(control_names(vae).count("top_k"));
  EXPECT_EQ(vae["attributes"].size(), 4u) << vae["attributes"].dump();
  const json& gan = models["nottingham-gan"];
  EXPECT_TRUE(control_names(gan).count("binarize"));
  for (const json& control : gan["controls"])
    if (control["name"] == "temperature") {
      EXPECT_EQ(control["only_with"]["binarize"], "bernoulli");
    }

  const auto [detail_status, detail] = client_->get_json("/api/models/detail?id=nottingham-vae");
  ASSERT_EQ(detail_status, 200);
  EXPECT_EQ(detail["family"], "vae");
  const auto [missing_status, missing] = client_->get_json("/api/models/detail?id=no-such-model");
  EXPECT_EQ(missing_status, 404);
  EXPECT_TRUE(
      cadenza::testing::message_names("unknown model", error_message(missing), {"no-such-model", "nottingham-lstm"}));
}

TEST_F(StudioRoutes, GenerateStreamsNotesThenTakes) {
  wait_idle();
  const json request = {{"model", "nottingham-lstm"}, {"bars", 4}, {"variations", 2}, {"seed", 5}, {"qpm", 100}};
  const StreamResult result = client_->stream("/api/jobs/generate", request);
  ASSERT_EQ(result.status, 200) << result.error.dump();
  EXPECT_EQ(result.content_type, "text/event-stream");
  ASSERT_FALSE(result.events.empty());
  EXPECT_EQ(result.events.front().type, "queued");
  EXPECT_EQ(result.last()->type, "done") << result.last()->data.dump();
  ASSERT_EQ(result.last()->data["takes"].size(), 2u);
  const auto takes = result.of_type("take");
  ASSERT_EQ(takes.size(), 2u);
  // The notes came before their take, each once, and they are the take's notes.
  std::map<int, std::set<std::tuple<int, int, double, double>>> streamed;
  size_t first_take_event = result.events.size();
  for (size_t i = 0; i < result.events.size(); ++i) {
    const SseEvent& event = result.events[i];
    if (event.type == "take") first_take_event = std::min(first_take_event, i);
    if (event.type != "notes") continue;
    for (const auto& note : note_set(event.data["notes"]))
      EXPECT_TRUE(streamed[event.data["take"].get<int>()].insert(note).second) << "a note was sent twice";
  }
  ASSERT_FALSE(streamed[0].empty()) << "no note was streamed before the first take was finished";
  for (const SseEvent* event : takes) {
    const int index = event->data["take"];
    const json& take = event->data["data"];
    EXPECT_EQ(take["kind"], "generate");
    EXPECT_EQ(take["model"], "nottingham-lstm");
    EXPECT_EQ(take["tracks"][0]["role"], "model");
    EXPECT_DOUBLE_EQ(take["qpm"].get<double>(), 100.0);
    EXPECT_LE(take["length_beats"].get<double>(), 16.0) << "4 bars of 4/4";
    EXPECT_GT(take["notes"].size(), 4u);
    const auto final_notes = note_set(take["notes"]);
    for (const auto& note : streamed[index])
      EXPECT_TRUE(final_notes.count(note) || std::get<3>(note) > 16.0)
          << "a streamed note is missing from take " << index;
  }
  EXPECT_NE(note_set(takes[0]->data["data"]["notes"]), note_set(takes[1]->data["data"]["notes"]))
      << "variations use seeds 5 and 6";
  // The same seed gives the same take.
  const StreamResult again = client_->stream("/api/jobs/generate", request);
  ASSERT_EQ(again.of_type("take").size(), 2u);
  EXPECT_EQ(note_set(again.of_type("take")[0]->data["data"]["notes"]), note_set(takes[0]->data["data"]["notes"]));
}

// A request without a temperature samples at the model's default (the bundled lstm's generation.json): the same
// take as that temperature asked for, another than temperature 1.
TEST_F(StudioRoutes, GenerateWithoutATemperatureTakesTheModelsDefault) {
  wait_idle();
  const double bundled_temperature = json::parse(
      read_file_text(std::string(CADENZA_SOURCE_DIR) + "/models/nottingham-lstm/generation.json"))["temperature"];
  auto take_notes = [&](json request) {
    const StreamResult result = client_->stream("/api/jobs/generate", request);
    EXPECT_EQ(result.status, 200) << result.error.dump();
    const auto takes = result.of_type("take");
    EXPECT_EQ(takes.size(), 1u);
    return takes.empty() ? std::set<std::tuple<int, int, double, double>>{} : note_set(takes[0]->data["data"]["notes"]);
  };
  const json request = {{"model", "nottingham-lstm"}, {"bars", 8}, {"seed", 7}};
  json at_default = request, at_one = request;
  at_default["temperature"] = bundled_temperature;
  at_one["temperature"] = 1.0;
  const auto unasked = take_notes(request);
  ASSERT_FALSE(unasked.empty());
  EXPECT_EQ(unasked, take_notes(at_default));
  EXPECT_NE(unasked, take_notes(at_one));
}

TEST_F(StudioRoutes, TakesDownloadAsMidiWavAndJson) {
  wait_idle();
  const StreamResult result =
      client_->stream("/api/jobs/generate", {{"model", "nottingham-lstm"}, {"bars", 2}, {"seed", 9}});
  ASSERT_EQ(result.last()->type, "done");
  const json take = result.of_type("take")[0]->data["data"];
  const std::string id = take["id"];
  const auto midi = client_->get("/api/takes/" + id + ".mid");
  ASSERT_TRUE(midi);
  ASSERT_EQ(midi->status, 200);
  EXPECT_EQ(midi->get_header_value("Content-Type"), "audio/midi");
  EXPECT_NE(midi->get_header_value("Content-Disposition").find(".mid\""), std::string::npos);
  const Score score = read_midi({reinterpret_cast<const uint8_t*>(midi->body.data()), midi->body.size()}, "take.mid");
  EXPECT_EQ(score.note_count(), take["notes"].size());
  const auto wav = client_->get("/api/takes/" + id + ".wav");
  ASSERT_TRUE(wav);
  ASSERT_EQ(wav->status, 200) << wav->body;
  ASSERT_GT(wav->body.size(), 44u + 44100u);
  EXPECT_EQ(wav->body.substr(0, 4), "RIFF");
  EXPECT_EQ(wav->body.substr(8, 4), "WAVE");
  bool sound = false;
  for (size_t i = 44; i + 1 < wav->body.size() && !sound; i += 2)
    sound = (static_cast<uint8_t>(wav->body[i]) | (static_cast<uint8_t>(wav->body[i + 1]) << 8)) != 0;
  EXPECT_TRUE(sound) << "the WAV is silent";
  const auto [json_status, same] = client_->get_json("/api/takes/" + id + ".json");
  EXPECT_EQ(json_status, 200);
  EXPECT_EQ(same["notes"], take["notes"]);
  const auto [list_status, list] = client_->get_json("/api/takes");
  EXPECT_EQ(list_status, 200);
  EXPECT_EQ(list["takes"][0]["id"], id) << "newest first";
  EXPECT_FALSE(list["takes"][0].contains("notes"));
  const auto [missing_status, missing] = client_->get_json("/api/takes/0123456789ab.mid");
  EXPECT_EQ(missing_status, 404);
  EXPECT_TRUE(cadenza::testing::message_names("missing take", error_message(missing), {"0123456789ab"}));
}

TEST_F(StudioRoutes, UploadsMidiAndJsonTakesAndRefusesBadOnes) {
  const json take = upload(two_bar_melody(), "tune.mid");
  EXPECT_EQ(take["kind"], "upload");
  EXPECT_EQ(take["name"], "tune");
  EXPECT_EQ(take["notes"].size(), 8u);
  EXPECT_EQ(take["tracks"][0]["role"], "user");
  EXPECT_DOUBLE_EQ(take["notes"][1]["start"].get<double>(), 1.0);

  const auto [bad_status, bad] = client_->post_raw("/api/takes?name=broken.mid", "MThd\x00\x00", "audio/midi");
  EXPECT_EQ(bad_status, 400);
  EXPECT_TRUE(cadenza::testing::message_names("malformed MIDI", error_message(bad), {"broken.mid", "byte"}));

  const json phrase = {
      {"qpm", 90}, {"notes", {{{"pitch", 60}, {"start", 0}, {"end", 1}}, {{"pitch", 64}, {"start", 1}, {"end", 2}}}}};
  const auto [ok_status, made] = client_->post_json("/api/takes", phrase);
  ASSERT_EQ(ok_status, 201) << made.dump();
  EXPECT_EQ(made["kind"], "phrase");
  EXPECT_DOUBLE_EQ(made["qpm"].get<double>(), 90.0);
  EXPECT_EQ(made["notes"].size(), 2u);

  const json out_of_range = {{"notes", {{{"pitch", 200}, {"start", 0}, {"end", 1}}}}};
  const auto [range_status, range] = client_->post_json("/api/takes", out_of_range);
  EXPECT_EQ(range_status, 400);
  EXPECT_TRUE(
      cadenza::testing::message_names("pitch 200", error_message(range), {"take.notes[0].pitch", "[0, 127]", "200"}));
  const json backwards = {{"notes", {{{"pitch", 60}, {"start", 2}, {"end", 1}}}}};
  EXPECT_EQ(client_->post_json("/api/takes", backwards).first, 400);
  const auto [form_status, form] = client_->post_raw("/api/takes", "a=b", "application/x-www-form-urlencoded");
  EXPECT_EQ(form_status, 415);
  EXPECT_TRUE(cadenza::testing::message_names("form post", error_message(form), {"audio/midi", "application/json"}));
}

// A tune model's Create: the meter and key of a new tune (choices, "" = the model's), and the tune ended by the
// model. A continuation keeps its primer's meter and key, so it refuses them.
TEST_F(StudioRoutes, ATuneModelStartsANewTuneInTheMeterAndKeyAskedAndMayEndIt) {
  wait_idle();
  const auto [status, detail] = client_->get_json("/api/models/detail?id=nottingham-lstm");
  ASSERT_EQ(status, 200) << detail.dump();
  std::map<std::string, json> controls;
  for (const json& control : detail["controls"]) controls[control["name"]] = control;
  auto has = [](const json& list, const std::string& value) {
    return std::find(list.begin(), list.end(), json(value)) != list.end();
  };
  ASSERT_TRUE(controls.count("meter") && controls.count("key") && controls.count("until_end")) << detail.dump();
  EXPECT_EQ(controls["meter"]["type"], "choice");
  EXPECT_EQ(controls["meter"]["choices"][0], "");
  EXPECT_EQ(controls["meter"]["choice_labels"][0], "the model's choice");
  EXPECT_TRUE(has(controls["meter"]["choices"], "6/8")) << controls["meter"].dump();
  EXPECT_EQ(controls["meter"]["choices"].size(), controls["meter"]["choice_labels"].size());
  EXPECT_EQ(controls["key"]["choices"].size(), 25u) << "the model's choice and the 24 keys";
  EXPECT_TRUE(has(controls["key"]["choices"], "F#m") && has(controls["key"]["choices"], "Bb"));
  EXPECT_EQ(controls["until_end"]["type"], "boolean");
  // The bundled lstm learned its tunes in C major / A minor: a key asked for moves the tune there.
  EXPECT_TRUE(detail["capabilities"]["one_key"].get<bool>()) << detail["capabilities"].dump();
  EXPECT_EQ(controls["key"]["choice_labels"][0], "C major / A minor (the model's)");

  const StreamResult result = client_->stream("/api/jobs/generate", {{"model", "nottingham-lstm"},
                                                                     {"meter", "6/8"},
                                                                     {"key", "G"},
                                                                     {"until_end", true},
                                                                     {"bars", 24},
                                                                     {"variations", 2},
                                                                     {"seed", 3}});
  ASSERT_EQ(result.status, 200) << result.error.dump();
  ASSERT_EQ(result.last()->type, "done") << result.last()->data.dump();
  const auto takes = result.of_type("take");
  ASSERT_EQ(takes.size(), 2u);
  for (const SseEvent* event : takes) {
    const json& take = event->data["data"];
    EXPECT_EQ(take["info"]["key"], "G") << take["info"].dump();
    EXPECT_DOUBLE_EQ(take["beats_per_bar"].get<double>(), 3.0) << "6/8: three quarters a bar";
    ASSERT_TRUE(take["info"]["ended_by_model"].is_boolean()) << take["info"].dump();
    // The length is the most (a model that reads the bars left plans it, and is capped one bar later).
    EXPECT_LE(take["length_beats"].get<double>(), 25 * 3.0 + 1e-9);
  }
  // "" is the model's choice: the same as leaving the field out.
  const json unchosen = {{"model", "nottingham-lstm"}, {"bars", 2}, {"seed", 4}};
  json empty_choices = unchosen;
  empty_choices["meter"] = "";
  empty_choices["key"] = "";
  EXPECT_EQ(note_set(client_->stream("/api/jobs/generate", empty_choices).of_type("take").at(0)->data["data"]["notes"]),
            note_set(client_->stream("/api/jobs/generate", unchosen).of_type("take").at(0)->data["data"]["notes"]));

  auto refused = [&](const json& body, const std::string& path, std::initializer_list<std::string> words,
                     const std::string& what) {
    const auto [code, answer] = client_->post_json(path, body);
    EXPECT_EQ(code, 400) << what << ": " << answer.dump();
    EXPECT_TRUE(cadenza::testing::message_names(what, error_message(answer), words));
  };
  refused({{"model", "nottingham-lstm"}, {"meter", "7/8"}}, "/api/jobs/generate",
          {"--meter \"7/8\"", "not a meter the model writes", "6/8"}, "a meter the model does not write");
  refused({{"model", "nottingham-lstm"}, {"key", "H"}}, "/api/jobs/generate", {"key \"H\"", "expected a tonic"},
          "not a key");
  refused({{"model", "nottingham-lstm"}, {"meter", 6}}, "/api/jobs/generate", {"meter must be a string"},
          "a meter that is no string");
  refused({{"model", "nottingham-vae"}, {"key", "G"}}, "/api/jobs/generate", {"key", "vae", "no tune header"},
          "a key for a vae");
  refused({{"model", "nottingham-gan"}, {"until_end", true}}, "/api/jobs/generate", {"until_end", "gan"},
          "until_end for a gan");
  const json primer = upload(two_bar_melody(), "primer.mid");
  refused({{"model", "nottingham-lstm"}, {"take", primer["id"]}, {"key", "G"}}, "/api/jobs/continue",
          {"meter and key start a new tune", "continuation"}, "a key for a continuation");
}

// A chord and style model's Create: a chords field (a progression of symbols) and a style choice; the take is written
// over the chords, in their key, with a "chords" track. Bad symbols, styles, and chords for a model that reads none
// are refused naming the value.
TEST_F(StudioRoutes, AChordModelWritesOverTheChordsAskedInTheStyleAsked) {
  wait_idle();
  const auto [status, detail] = client_->get_json("/api/models/detail?id=nottingham-chords");
  ASSERT_EQ(status, 200) << detail.dump();
  std::map<std::string, json> controls;
  for (const json& control : detail["controls"]) controls[control["name"]] = control;
  ASSERT_TRUE(controls.count("chords") && controls.count("style")) << detail.dump();
  EXPECT_EQ(controls["chords"]["type"], "text");
  EXPECT_EQ(controls["chords"]["default"], "");
  EXPECT_EQ(controls["style"]["choices"][0], "");
  EXPECT_EQ(controls["style"]["choice_labels"][0], "an even blend of all");
  EXPECT_NE(std::find(controls["style"]["choices"].begin(), controls["style"]["choices"].end(), json("jigs")),
            controls["style"]["choices"].end());

  const std::string chords = "D | G | A7 | D";
  const StreamResult result = client_->stream(
      "/api/jobs/generate",
      {{"model", "nottingham-chords"}, {"chords", chords}, {"style", "reels"}, {"bars", 4}, {"seed", 2}});
  ASSERT_EQ(result.status, 200) << result.error.dump();
  ASSERT_EQ(result.last()->type, "done") << result.last()->data.dump();
  const json& take = result.of_type("take").at(0)->data["data"];
  EXPECT_EQ(take["info"]["key"], "D") << "the chords' key: " << take["info"].dump();
  EXPECT_EQ(take["info"]["chords"], chords);
  EXPECT_EQ(take["info"]["style"], "reels");
  ASSERT_EQ(take["tracks"].size(), 2u) << take["tracks"].dump();
  EXPECT_EQ(take["tracks"][1]["name"], "chords");
  std::set<int> first_chord;
  for (const json& note : take["notes"])
    if (note["track"] == 1 && note["start"].get<double>() == 0.0) first_chord.insert(note["pitch"].get<int>() % 12);
  EXPECT_EQ(first_chord, (std::set<int>{2, 6, 9})) << "D major under the first bar";
  EXPECT_LE(take["length_beats"].get<double>(), 16.0 + 1e-9);
  // Empty chords are none: the model writes a tune of its own (no chords track).
  const StreamResult plain = client_->stream(
      "/api/jobs/generate", {{"model", "nottingham-chords"}, {"chords", " "}, {"bars", 2}, {"seed", 2}});
  ASSERT_EQ(plain.last()->type, "done") << plain.last()->data.dump();
  EXPECT_EQ(plain.of_type("take").at(0)->data["data"]["tracks"].size(), 1u);

  auto refused = [&](const json& body, std::initializer_list<std::string> words, const std::string& what) {
    const auto [code, answer] = client_->post_json("/api/jobs/generate", body);
    EXPECT_EQ(code, 400) << what << ": " << answer.dump();
    EXPECT_TRUE(cadenza::testing::message_names(what, error_message(answer), words));
  };
  refused({{"model", "nottingham-chords"}, {"chords", "D | Hm7"}}, {"chords:", "'Hm7'", "bar 2"}, "a bad symbol");
  refused({{"model", "nottingham-chords"}, {"chords", 7}}, {"chords must be a string"}, "chords that are no string");
  refused({{"model", "nottingham-chords"}, {"style", "polka"}}, {"style:", "polka"}, "an unknown style");
  refused({{"model", "nottingham-lstm"}, {"chords", chords}}, {"chords does not apply to a lstm model"},
          "chords for a model without chords");
  refused({{"model", "nottingham-lstm"}, {"style", "jigs"}}, {"style does not apply to a lstm model"},
          "a style for a model without styles");
}

TEST_F(StudioRoutes, ContinueKeepsThePrimerAndAddsTheModelsNotesAfterIt) {
  wait_idle();
  const json primer = upload(two_bar_melody(), "primer.mid");
  const StreamResult result = client_->stream(
      "/api/jobs/continue", {{"model", "nottingham-lstm"}, {"take", primer["id"]}, {"bars", 2}, {"seed", 3}});
  ASSERT_EQ(result.status, 200) << result.error.dump();
  ASSERT_EQ(result.last()->type, "done") << result.last()->data.dump();
  const json take = result.of_type("take")[0]->data["data"];
  EXPECT_EQ(take["kind"], "continue");
  ASSERT_EQ(take["tracks"].size(), 2u);
  EXPECT_EQ(take["tracks"][0]["role"], "user");
  EXPECT_EQ(take["tracks"][1]["role"], "model");
  std::set<std::tuple<int, int, double, double>> user, model;
  for (const auto& note : note_set(take["notes"])) (std::get<0>(note) == 0 ? user : model).insert(note);
  EXPECT_EQ(user, note_set(primer["notes"])) << "the uploaded notes are kept as they were";
  ASSERT_FALSE(model.empty()) << "the model added no note";
  for (const auto& note : model) EXPECT_GE(std::get<2>(note), 8.0) << "a model note starts inside the primer";
  EXPECT_LE(take["length_beats"].get<double>(), 16.0 + 1e-9) << "2 bars of primer + 2 bars of continuation";
  for (const SseEvent* event : result.of_type("notes"))
    for (const json& note : event->data["notes"]) {
      EXPECT_EQ(note["track"], 1) << "streamed notes are the model's";
      EXPECT_GE(note["start"].get<double>(), 8.0);
    }
  // Only where the primer ends: a primer cut after beat 4 is continued from there.
  const StreamResult cut = client_->stream(
      "/api/jobs/continue",
      {{"model", "nottingham-lstm"}, {"take", primer["id"]}, {"primer_end", 4}, {"bars", 1}, {"seed", 3}});
  ASSERT_EQ(cut.last()->type, "done");
  size_t user_notes = 0;
  for (const json& note : cut.of_type("take")[0]->data["data"]["notes"]) user_notes += note["track"] == 0;
  EXPECT_EQ(user_notes, 4u);

  const auto vae = client_->stream("/api/jobs/continue", {{"model", "nottingham-vae"}, {"take", primer["id"]}});
  EXPECT_EQ(vae.status, 422);
  EXPECT_TRUE(cadenza::testing::message_names("continue with a vae", error_message(vae.error),
                                              {"nottingham-vae", "cannot continue"}));
  const auto gone = client_->stream("/api/jobs/continue", {{"model", "nottingham-lstm"}, {"take", "0123456789ab"}});
  EXPECT_EQ(gone.status, 404);
}

TEST_F(StudioRoutes, DuetAnswersAPhrase) {
  wait_idle();
  json phrase = json::array();
  for (int i = 0; i < 4; ++i)
    phrase.push_back({{"pitch", 67 + 2 * i}, {"start", 0.25 * i}, {"end", 0.25 * i + 0.2}, {"velocity", 90}});
  // Seed 2: a tune model's END is not sampled in an answer of a length asked for (before it was, the lstm that reads
  // the key at every step ended the tune right after this phrase at seed 2 and answered nothing).
  const StreamResult result = client_->stream(
      "/api/jobs/duet", {{"model", "nottingham-lstm"}, {"phrase", phrase}, {"qpm", 120}, {"bars", 1}, {"seed", 2}});
  ASSERT_EQ(result.status, 200) << result.error.dump();
  ASSERT_EQ(result.last()->type, "done") << result.last()->data.dump();
  const auto notes = result.of_type("notes");
  ASSERT_FALSE(notes.empty()) << "the answer was not streamed";
  EXPECT_NEAR(notes[0]->data["from_beat"].get<double>(), 1.9, 0.15) << "the answer starts where the phrase ends";
  const json take = result.of_type("take")[0]->data["data"];
  EXPECT_EQ(take["kind"], "duet");
  ASSERT_EQ(take["tracks"].size(), 2u);
  EXPECT_EQ(take["tracks"][0]["name"], "you");
  size_t yours = 0, answer = 0;
  for (const json& note : take["notes"]) (note["track"] == 0 ? yours : answer)++;
  EXPECT_EQ(yours, 4u);
  EXPECT_GT(answer, 0u);

  const auto empty = client_->stream("/api/jobs/duet", {{"model", "nottingham-lstm"}, {"phrase", json::array()}});
  EXPECT_EQ(empty.status, 400);
  const json long_note = {{{"pitch", 60}, {"start", 0}, {"end", 99}}};
  const auto too_long = client_->stream("/api/jobs/duet", {{"model", "nottingham-lstm"}, {"phrase", long_note}});
  EXPECT_EQ(too_long.status, 400);
  EXPECT_TRUE(cadenza::testing::message_names("99 s note", error_message(too_long.error), {"phrase[0].end", "99"}));
}

TEST_F(StudioRoutes, InterpolateGivesTheRequestedSteps) {
  wait_idle();
  const json a = upload(two_bar_melody(), "a.mid"), b = upload(two_bar_melody(7), "b.mid");
  const StreamResult result = client_->stream(
      "/api/jobs/interpolate", {{"model", "nottingham-vae"}, {"a", a["id"]}, {"b", b["id"]}, {"steps", 5}});
  ASSERT_EQ(result.status, 200) << result.error.dump();
  ASSERT_EQ(result.last()->type, "done") << result.last()->data.dump();
  const auto takes = result.of_type("take");
  ASSERT_EQ(takes.size(), 5u);
  EXPECT_EQ(takes[0]->data["data"]["name"], "step 1 of 5");
  EXPECT_NE(note_set(takes.front()->data["data"]["notes"]), note_set(takes.back()->data["data"]["notes"]));
  // A GAN interpolates between two noise draws.
  const StreamResult gan =
      client_->stream("/api/jobs/interpolate", {{"model", "nottingham-gan"}, {"steps", 3}, {"bars", 4}});
  ASSERT_EQ(gan.last()->type, "done") << gan.last()->data.dump();
  EXPECT_EQ(gan.of_type("take").size(), 3u);
  const auto gan_with_takes =
      client_->stream("/api/jobs/interpolate", {{"model", "nottingham-gan"}, {"a", a["id"]}, {"b", b["id"]}});
  EXPECT_EQ(gan_with_takes.status, 400);
  const auto lstm = client_->stream("/api/jobs/interpolate", {{"model", "nottingham-lstm"}, {"a", a["id"]}});
  EXPECT_EQ(lstm.status, 422);
  const auto too_many = client_->stream("/api/jobs/interpolate",
                                        {{"model", "nottingham-vae"}, {"a", a["id"]}, {"b", b["id"]}, {"steps", 17}});
  EXPECT_EQ(too_many.status, 400);
  EXPECT_TRUE(cadenza::testing::message_names("17 steps", error_message(too_many.error), {"steps", "[2, 16]", "17"}));
}

TEST_F(StudioRoutes, AttributeMovesATake) {
  wait_idle();
  const json input = upload(two_bar_melody(), "input.mid");
  const StreamResult result = client_->stream(
      "/api/jobs/attribute",
      {{"model", "nottingham-vae"}, {"take", input["id"]}, {"attribute", "note_density"}, {"amount", 3}});
  ASSERT_EQ(result.status, 200) << result.error.dump();
  ASSERT_EQ(result.last()->type, "done") << result.last()->data.dump();
  const json take = result.of_type("take")[0]->data["data"];
  EXPECT_EQ(take["kind"], "attribute");
  EXPECT_EQ(take["info"]["attribute"], "note_density");
  EXPECT_EQ(take["info"]["vectors_from"], "the model's prior") << "the bundled model's shard is not at hand";
  EXPECT_TRUE(take["info"]["before"].is_number());
  EXPECT_GT(take["info"]["after"].get<double>(), take["info"]["before"].get<double>())
      << "note density rises along its vector";
  const auto unknown = client_->stream("/api/jobs/attribute",
                                       {{"model", "nottingham-vae"}, {"take", input["id"]}, {"attribute", "loudness"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_TRUE(cadenza::testing::message_names("loudness", error_message(unknown.error), {"loudness", "note_density"}));
}

TEST_F(StudioRoutes, RefusesBadRequestsWithJsonErrors) {
  auto refused = [&](int expected, const std::pair<int, json>& answer, std::initializer_list<std::string> words,
                     const std::string& what) {
    EXPECT_EQ(answer.first, expected) << what << ": " << answer.second.dump();
    EXPECT_TRUE(cadenza::testing::message_names(what, error_message(answer.second), words));
    EXPECT_EQ(answer.second["error"]["status"], expected) << what;
  };
  refused(400, client_->post_raw("/api/jobs/generate", "{not json", "application/json"), {"not valid JSON"},
          "bad JSON");
  refused(415, client_->post_raw("/api/jobs/generate", "model=x", "text/plain"), {"application/json"},
          "text/plain body");
  refused(404, client_->post_json("/api/jobs/generate", {{"model", "nope"}}), {"nope", "nottingham-lstm"},
          "unknown model");
  refused(400, client_->post_json("/api/jobs/generate", {{"bars", 4}}), {"model", "missing"}, "no model");
  refused(400, client_->post_json("/api/jobs/generate", {{"model", "nottingham-lstm"}, {"colour", "red"}}),
          {"colour", "temperature"}, "unknown option");
  refused(400, client_->post_json("/api/jobs/generate", {{"model", "nottingham-lstm"}, {"temperature", 9}}),
          {"temperature", "[0, 5]", "9"}, "temperature out of range");
  refused(400, client_->post_json("/api/jobs/generate", {{"model", "nottingham-lstm"}, {"temperature", "hot"}}),
          {"temperature", "\"hot\""}, "temperature not a number");
  refused(400, client_->post_json("/api/jobs/generate", {{"model", "nottingham-vae"}, {"top_k", 5}}), {"top_k", "vae"},
          "top_k on a vae");
  refused(400, client_->post_json("/api/jobs/generate", {{"model", "nottingham-lstm"}, {"bars", kMaxBars + 1}}),
          {"bars", "[1, 2048]", "2049"}, "too many bars");
  refused(400, client_->post_json("/api/jobs/generate", {{"model", "nottingham-lstm"}, {"variations", 17}}),
          {"variations", "[1, 16]"}, "too many variations");
  refused(400, client_->post_json("/api/jobs/generate", {{"model", "nottingham-gan"}, {"temperature", 0.5}}),
          {"temperature", "bernoulli"}, "temperature with a threshold");
  refused(400, client_->post_json("/api/jobs/generate", {{"model", "nottingham-lstm"}, {"seed", -1}}), {"seed", "-1"},
          "negative seed");
  refused(413, client_->post_raw("/api/takes", std::string(300 * 1024, 'x'), "audio/midi"), {"too large"},
          "oversized body");
  refused(404, client_->get_json("/api/nothing-here"), {"no such endpoint", "/api/nothing-here"}, "unknown endpoint");
  refused(404, client_->get_json("/api/runs/detail?name=../../etc"), {"../../etc"}, "run traversal");
  refused(400, client_->get_json("/api/runs/metrics?name=lstm-small&from=-1"), {"from", "-1"}, "bad from");
}

TEST_F(StudioRoutes, NothingOutsideTheConfiguredFoldersIsReadable) {
  for (const std::string path :
       {"/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt", "/js/../../CMakeLists.txt", "/..%2fCMakeLists.txt",
        "/reports/compare-1/../lstm-small/config.json", "/reports/compare-1/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/reports/compare-1/..%2f..%2fetc%2fpasswd", "/node_modules/spessasynth_lib/package.json", "/package.json",
        "/api/takes/../../CMakeLists.txt", "/etc/passwd", "//etc/passwd"}) {
    const auto result = client_->get(path);
    ASSERT_TRUE(result) << path;
    EXPECT_TRUE(result->status == 404 || result->status == 400) << path << " -> " << result->status;
    EXPECT_EQ(result->body.find("cmake_minimum_required"), std::string::npos) << path;
    EXPECT_EQ(result->body.find("root:"), std::string::npos) << path;
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json") << path;
  }
}

TEST_F(StudioRoutes, WrongHostAndCrossSitePostsAreRefused) {
  const auto rebound =
      client_->get_json("/api/health", {{"Host", "evil.example.com:" + std::to_string(server_->port())}});
  EXPECT_EQ(rebound.first, 403);
  EXPECT_TRUE(cadenza::testing::message_names("rebound host", error_message(rebound.second),
                                              {"evil.example.com", "DNS rebinding"}));
  EXPECT_EQ(client_->get_json("/", {{"Host", "evil.example.com"}}).first, 403) << "the page too";
  EXPECT_EQ(client_->get_json("/api/health", {{"Host", "localhost:" + std::to_string(server_->port())}}).first, 200);

  const json request = {{"model", "nottingham-lstm"}, {"bars", 1}};
  const auto cross = client_->post_json("/api/jobs/generate", request, {{"Origin", "http://evil.example.com"}});
  EXPECT_EQ(cross.first, 403);
  EXPECT_TRUE(cadenza::testing::message_names("cross origin", error_message(cross.second),
                                              {"evil.example.com", "cross-origin"}));
  const auto other_port =
      client_->post_json("/api/takes", {{"notes", json::array()}}, {{"Origin", "http://127.0.0.1:1"}});
  EXPECT_EQ(other_port.first, 403) << "another port is another origin";
  const auto site = client_->post_json("/api/takes", {{"notes", json::array()}}, {{"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(site.first, 403);
  const std::string own = "http://127.0.0.1:" + std::to_string(server_->port());
  EXPECT_EQ(
      client_->post_json("/api/takes", {{"notes", json::array()}}, {{"Origin", own}, {"Sec-Fetch-Site", "same-origin"}})
          .first,
      201)
      << "the page's own POSTs pass";
}

TEST_F(StudioRoutes, AClientThatLeavesCancelsItsJobAndHealthStaysResponsive) {
  wait_idle();
  const auto before = client_->get_json("/api/health").second["queue"];
  std::atomic<bool> got_notes{false};
  auto leaver = std::async(std::launch::async, [&] {
    StudioClient own(server_->port());
    return own.stream("/api/jobs/generate", kLongJob, [&](const SseEvent& event) {
      if (event.type != "notes") return true;
      got_notes = true;
      // Health answers while the job runs.
      StudioClient other(server_->port());
      const auto start = std::chrono::steady_clock::now();
      EXPECT_EQ(other.get_json("/api/health").first, 200);
      EXPECT_EQ(other.get_json("/api/models").first, 200);
      EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0)
          << "health and models waited for the job";
      return false;  // leave
    });
  });
  const StreamResult left = leaver.get();
  EXPECT_TRUE(got_notes);
  EXPECT_TRUE(left.left);
  EXPECT_TRUE(left.of_type("done").empty());
  wait_idle();
  const auto after = client_->get_json("/api/health").second["queue"];
  EXPECT_EQ(after["cancelled"].get<int>(), before["cancelled"].get<int>() + 1) << after.dump();
  EXPECT_EQ(after["done"].get<int>(), before["done"].get<int>()) << "the job did not run to its end";
}

TEST_F(StudioRoutes, JobsRunInTheOrderTheyCameAndTheQueueIsBounded) {
  wait_idle();
  // A long job holds the worker; three more wait in order (the queue's limit here); a fifth is refused.
  std::atomic<bool> stop{false};
  std::vector<std::future<StreamResult>> streams;
  std::vector<std::shared_ptr<std::promise<void>>> queued;
  // Returns once the job has the event `ready_on`: the long one must have started (left the queue for the worker)
  // before the others queue, or on a loaded machine it could still be waiting and take one of their three places.
  auto start_stream = [&](const json& body, bool leave_on_stop, const std::string& ready_on) {
    auto ready = std::make_shared<std::promise<void>>();
    auto future = ready->get_future();
    streams.push_back(std::async(std::launch::async, [&, body, ready, leave_on_stop, ready_on] {
      StudioClient own(server_->port());
      bool signalled = false;
      auto result = own.stream("/api/jobs/generate", body, [&](const SseEvent& event) {
        if (!signalled && event.type == ready_on) ready->set_value(), signalled = true;
        return !(leave_on_stop && stop.load());
      });
      if (!signalled) ready->set_value();
      return result;
    }));
    future.wait();
  };
  start_stream(kLongJob, true, "started");
  for (int i = 0; i < 3; ++i)
    start_stream({{"model", "nottingham-lstm"}, {"bars", 1}, {"seed", 200 + i}}, false, "queued");
  const auto [full_status, full] =
      client_->post_json("/api/jobs/generate", {{"model", "nottingham-lstm"}, {"bars", 1}});
  EXPECT_EQ(full_status, 503);
  EXPECT_TRUE(cadenza::testing::message_names("full queue", error_message(full), {"queue is full", "3"}));
  const auto health = client_->get_json("/api/health").second["queue"];
  EXPECT_EQ(health["waiting"], 3);
  EXPECT_TRUE(health["running"].get<bool>());
  // Let the long one go: leaving cancels it, and the three waiting ones run in the order they came.
  stop = true;
  const StreamResult long_one = streams[0].get();
  EXPECT_TRUE(long_one.of_type("done").empty());
  EXPECT_TRUE(long_one.of_type("error").empty()) << long_one.of_type("error")[0]->data.dump();
  std::vector<int64_t> order;
  for (size_t i = 1; i < streams.size(); ++i) {
    const StreamResult result = streams[i].get();
    ASSERT_FALSE(result.of_type("started").empty())
        << "job " << i << ": " << (result.last() ? result.last()->type : "");
    order.push_back(result.of_type("started")[0]->data["order"].get<int64_t>());
    EXPECT_EQ(result.last()->type, "done") << "job " << i;
    // Its queue position only went down.
    int64_t previous = 1000;
    for (const SseEvent* event : result.of_type("queued")) {
      EXPECT_LE(event->data["ahead"].get<int64_t>(), previous);
      previous = event->data["ahead"].get<int64_t>();
    }
  }
  ASSERT_EQ(order.size(), 3u);
  EXPECT_LT(order[0], order[1]);
  EXPECT_LT(order[1], order[2]);
}

TEST_F(StudioRoutes, RunsMetricsReportsAndTheirModels) {
  const auto [status, body] = client_->get_json("/api/runs");
  ASSERT_EQ(status, 200) << body.dump();
  ASSERT_EQ(body["runs"].size(), 1u) << body.dump();
  const json& run = body["runs"][0];
  EXPECT_EQ(run["name"], "lstm-small");
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["steps"], 30);
  EXPECT_EQ(run["family"], "lstm");
  EXPECT_EQ(run["model"], "run:lstm-small");
  EXPECT_TRUE(run["best_checkpoint"].get<bool>());
  ASSERT_EQ(body["reports"].size(), 1u);
  EXPECT_EQ(body["reports"][0]["url"], "/reports/compare-1/index.html");
  const auto report = client_->get("/reports/compare-1/index.html");
  ASSERT_TRUE(report);
  EXPECT_EQ(report->status, 200);
  EXPECT_NE(report->body.find("report"), std::string::npos);

  const auto [metrics_status, metrics] = client_->get_json("/api/runs/metrics?name=lstm-small");
  ASSERT_EQ(metrics_status, 200);
  EXPECT_EQ(metrics["records"].size(), 5u);
  EXPECT_EQ(metrics["next"], 5);
  EXPECT_TRUE(metrics["finished"].get<bool>());
  const auto [later_status, later] = client_->get_json("/api/runs/metrics?name=lstm-small&from=3");
  EXPECT_EQ(later["records"].size(), 2u);
  EXPECT_EQ(later["records"][0]["kind"], "valid");
  const auto [detail_status, detail] = client_->get_json("/api/runs/detail?name=lstm-small");
  EXPECT_EQ(detail_status, 200);
  EXPECT_EQ(detail["config"]["model"]["hidden_size"], 64);
  EXPECT_EQ(detail["checkpoint"], "best.safetensors");

  wait_idle();
  const StreamResult generated =
      client_->stream("/api/jobs/generate", {{"model", "run:lstm-small"}, {"bars", 1}, {"seed", 4}});
  ASSERT_EQ(generated.status, 200) << generated.error.dump();
  EXPECT_EQ(generated.last()->type, "done") << generated.last()->data.dump();
}

TEST_F(StudioRoutes, ThePageTheSoundFontAndTheVendorFiles) {
  const auto page = client_->get("/");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("Cadenza Studio"), std::string::npos);
  const std::string csp = page->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  const auto script = client_->get("/js/main.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  const auto soundfont = client_->get("/soundfont");
  ASSERT_TRUE(soundfont);
  EXPECT_EQ(soundfont->status, 200);
  EXPECT_EQ(soundfont->body.size(), 1000u);
  const bool installed =
      fs::exists(std::string(CADENZA_SOURCE_DIR) + "/web/node_modules/spessasynth_lib/dist/index.js");
  const auto vendor = client_->get("/vendor/spessasynth_lib.js");
  ASSERT_TRUE(vendor);
  if (installed) {
    EXPECT_EQ(vendor->status, 200);
  } else {
    EXPECT_EQ(vendor->status, 404);
    EXPECT_NE(vendor->body.find("npm ci"), std::string::npos) << vendor->body;
  }
}

}  // namespace
}  // namespace cadenza::studio
