// The studio's generation jobs: generate, continue, duet, interpolate, attribute. Each handler checks the request
// on the HTTP thread (model, options, takes: refusals answer at once with a JSON error), then queues the work for the
// inference worker and streams its events (studio/jobs.h): "queued", "started", per take "take-start", "notes" (the
// notes of the piece as they are generated) and "take" (the finished take), and last "done" {"takes": [ids]},
// "error" {"status", "message"} or "cancelled".
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <tuple>

#include "eval/melody_features.h"
#include "score/key.h"
#include "score/operations.h"
#include "studio/http_error.h"
#include "studio/server_impl.h"

namespace cadenza::studio {

using httplib::Request;
using httplib::Response;
using nlohmann::json;

namespace {

constexpr double kMaxDuetPhraseSeconds = 60;
constexpr double kMaxDuetAnswerBars = 16;
constexpr double kMaxAttributeAmount = 8;

// Sends the notes of a growing piece as "notes" events: each note once, as soon as it has ended (the piece has gone
// on past its end), and only the generated ones (from the primer's end on). Notes are in beats from the piece's
// start, on take track `track_offset + piece track`, moved by `pitch_shift` semitones (see octave_shift()).
class NoteStreamer {
 public:
  NoteStreamer(Job& job, size_t take_index, size_t track_offset, std::function<int(const Score&, int64_t)> shift)
      : job_(job), take_index_(take_index), track_offset_(track_offset), shift_of_(std::move(shift)) {}

  bool operator()(const SampleProgress& progress) {
    if (job_.cancelled()) return false;
    const Score& score = progress.score;
    if (!shift_) shift_ = shift_of_ ? shift_of_(score, progress.primer_end_tick) : 0;
    const int64_t end = score.end_tick();
    json notes = json::array();
    for (size_t t = 0; t < score.tracks.size(); ++t)
      for (const Note& note : score.tracks[t].notes) {
        if (note.end_tick >= end || note.start_tick < progress.primer_end_tick) continue;
        if (!sent_.emplace(t, note.pitch, note.start_tick).second) continue;
        Note shifted = note;
        shifted.pitch = std::clamp(note.pitch + *shift_, 0, 127);
        notes.push_back(note_json(track_offset_ + t, shifted, score.ticks_per_quarter));
      }
    if (!notes.empty())
      job_.emit("notes", {{"take", take_index_},
                          {"from_beat", ticks_to_beats(progress.primer_end_tick, score.ticks_per_quarter)},
                          {"notes", std::move(notes)}});
    return !job_.cancelled();
  }

 private:
  Job& job_;
  size_t take_index_;
  size_t track_offset_;
  std::function<int(const Score&, int64_t)> shift_of_;
  std::optional<int> shift_;
  std::set<std::tuple<size_t, int, int64_t>> sent_;
};

int highest_pitch(const Score& score, int64_t before_tick) {
  int highest = -1;
  for (const Track& track : score.tracks)
    for (const Note& note : track.notes)
      if (note.start_tick < before_tick) highest = std::max(highest, note.pitch);
  return highest;
}

// An encoding may move a primer by octaves into its pitch range (the melody encoding does): the octaves that bring
// the model's reading of the primer (the piece's notes before primer_end) back to the musician's notes, so that the
// continuation sounds in the register the musician played in. 0 when either has no notes.
int octave_shift(const Score& primer, const Score& piece, int64_t primer_end_tick) {
  const int played = highest_pitch(primer, std::numeric_limits<int64_t>::max());
  const int read = highest_pitch(piece, primer_end_tick);
  if (played < 0 || read < 0) return 0;
  return 12 * static_cast<int>(std::lround((played - read) / 12.0));
}

// The musician's primer (every track, as played) followed by the model's notes after the primer, on tracks of their
// own (role "model"), in the primer's ticks and tempo.
Score continuation_score(const Score& primer, const SampledPiece& piece, int shift, const std::string& model_id) {
  Score score = primer;
  for (const Track& source : piece.score.tracks) {
    Track track;
    track.name = model_id + (source.name.empty() ? "" : " " + source.name);
    track.program = source.program;
    track.is_drum = source.is_drum;
    for (const Note& note : source.notes) {
      if (note.start_tick < piece.primer_end_tick) continue;
      Note moved = note;
      moved.pitch = std::clamp(note.pitch + shift, 0, 127);
      moved.start_tick =
          beats_to_ticks(ticks_to_beats(note.start_tick, piece.score.ticks_per_quarter), score.ticks_per_quarter);
      moved.end_tick =
          beats_to_ticks(ticks_to_beats(note.end_tick, piece.score.ticks_per_quarter), score.ticks_per_quarter);
      if (moved.end_tick > moved.start_tick) track.notes.push_back(moved);
    }
    score.tracks.push_back(std::move(track));
  }
  assign_channels(score);
  score.normalize();
  score.update_seconds();
  return score;
}

json piece_info(const SampledPiece& piece, const SampleRequest& request) {
  json info = {{"seed", request.seed},
               {"generation_seconds", piece.generation_seconds},
               {"music_seconds", piece.music_seconds},
               {"generated", piece.generated_elements},
               {"unit", piece.unit}};
  if (request.until_end) info["ended_by_model"] = piece.ended_by_model;  // else cut at the length
  if (const std::optional<Key> key = first_key(piece.score)) info["key"] = key_name(*key);
  if (!request.chords.empty()) info["chords"] = request.chords;
  if (!request.style.empty()) info["style"] = request.style;
  return info;
}

// A continuation keeps its primer's meter and key: a new tune's header does not apply.
void refuse_tune_header(const SampleRequest& request, const std::string& job) {
  if (!request.meter.empty() || !request.key.empty())
    throw HttpError(400, "meter and key start a new tune; " + job + " keeps the meter and key of its primer");
}

std::shared_ptr<const Take> store_model_take(TakeStore& takes, Score score, const std::string& kind,
                                             const std::string& model_id, json info, size_t user_tracks = 0,
                                             std::string name = "") {
  Take take;
  take.kind = kind;
  take.model = model_id;
  take.name = std::move(name);
  assign_channels(score);
  take.score = std::move(score);
  take.roles.assign(take.score.tracks.size(), "model");
  for (size_t t = 0; t < user_tracks && t < take.roles.size(); ++t) take.roles[t] = "user";
  take.info = std::move(info);
  return takes.add(std::move(take));
}

std::shared_ptr<const Take> find_take(TakeStore& takes, const json& body, const std::string& key) {
  const std::string id = string_field(body, key);
  auto take = takes.find(id);
  if (!take)
    throw HttpError(404, key + ": no take \"" + id + "\" (the studio keeps the last " +
                             std::to_string(takes.capacity()) + " takes; upload the file again)");
  return take;
}

void require(bool capable, const std::string& model_id, const LoadedModel& model, const std::string& what) {
  if (!capable)
    throw HttpError(422, "model \"" + model_id + "\" (a " + model.capabilities.family + " model) cannot " + what);
}

}  // namespace

void StudioServer::Impl::add_job_routes() {
  // ---- generate: variations of a new piece --------------------------------------------------------------------------
  http.Post("/api/jobs/generate", guarded([this](const Request& req, Response& res) {
              const json body = json_body(req);
              const std::string model_id = string_field(body, "model");
              if (model_id.rfind("run:", 0) == 0) runs();
              const auto model = catalog.load(model_id);
              const int variations = integer_field(body, "variations", 1, config.limits.max_variations, 1);
              const SampleRequest request =
                  sample_request_from_json(body, model->capabilities, config.limits, {"model", "variations"}, 8);
              auto job = queue.submit("generate", [this, model, model_id, request, variations](Job& job) {
                json ids = json::array();
                for (int i = 0; i < variations; ++i) {
                  if (job.cancelled()) throw GenerationCancelled();
                  SampleRequest one = request;
                  one.seed = request.seed + static_cast<uint64_t>(i);
                  job.emit("take-start", {{"take", i}, {"seed", one.seed}, {"of", variations}});
                  one.on_progress = NoteStreamer(job, static_cast<size_t>(i), 0, nullptr);
                  const SampledPiece piece = model->sampler->sample(one);
                  const auto take = store_model_take(takes, piece.score, "generate", model_id, piece_info(piece, one));
                  job.emit("take", {{"take", i}, {"data", take_json(*take)}});
                  ids.push_back(take->id);
                }
                return json{{"takes", ids}};
              });
              stream_job(res, job, queue);
            }));

  // ---- continue: a primer from a take, continued by the model -----------------------------------------------------
  http.Post("/api/jobs/continue", guarded([this](const Request& req, Response& res) {
              const json body = json_body(req);
              const std::string model_id = string_field(body, "model");
              if (model_id.rfind("run:", 0) == 0) runs();
              const auto model = catalog.load(model_id);
              require(model->capabilities.primer, model_id, *model, "continue a piece (it takes no primer)");
              const auto source = find_take(takes, body, "take");
              const double length = ticks_to_beats(source->score.end_tick(), source->score.ticks_per_quarter);
              const double primer_end = number_field(body, "primer_end", 0, kMaxTakeBeats, length);
              if (primer_end <= 0) throw HttpError(400, "primer_end must be after the start (beats > 0)");
              Score primer = clip(source->score, 0, beats_to_ticks(primer_end, source->score.ticks_per_quarter));
              if (primer.note_count() == 0)
                throw HttpError(400, "the primer has no notes before beat " + std::to_string(primer_end) +
                                         " of take \"" + source->name + "\"");
              json options = body;
              if (!options.contains("qpm") && !source->score.tempos.empty())
                options["qpm"] = std::clamp(source->score.tempos.front().qpm(), 20.0, 400.0);
              const int variations = integer_field(body, "variations", 1, config.limits.max_variations, 1);
              SampleRequest request = sample_request_from_json(options, model->capabilities, config.limits,
                                                               {"model", "take", "primer_end", "variations"}, 8);
              refuse_tune_header(request, "a continuation");
              request.primer = primer;
              const size_t user_tracks = primer.tracks.size();
              auto job = queue.submit("continue", [this, model, model_id, request, variations, primer, user_tracks,
                                                   source_name = source->name](Job& job) {
                json ids = json::array();
                for (int i = 0; i < variations; ++i) {
                  if (job.cancelled()) throw GenerationCancelled();
                  SampleRequest one = request;
                  one.seed = request.seed + static_cast<uint64_t>(i);
                  job.emit("take-start", {{"take", i}, {"seed", one.seed}, {"of", variations}});
                  one.on_progress = NoteStreamer(job, static_cast<size_t>(i), user_tracks,
                                                 [&primer](const Score& piece, int64_t primer_end_tick) {
                                                   return octave_shift(primer, piece, primer_end_tick);
                                                 });
                  const SampledPiece piece = model->sampler->sample(one);
                  const int shift = octave_shift(primer, piece.score, piece.primer_end_tick);
                  json info = piece_info(piece, one);
                  info["primer"] = source_name;
                  info["primer_end_beats"] = ticks_to_beats(primer.end_tick(), primer.ticks_per_quarter);
                  info["octave_shift"] = shift;
                  const auto take = store_model_take(takes, continuation_score(primer, piece, shift, model_id),
                                                     "continue", model_id, info, user_tracks);
                  job.emit("take", {{"take", i}, {"data", take_json(*take)}});
                  ids.push_back(take->id);
                }
                return json{{"takes", ids}};
              });
              stream_job(res, job, queue);
            }));

  // ---- duet: the model answers a phrase the musician played -------------------------------------------------------
  http.Post("/api/jobs/duet", guarded([this](const Request& req, Response& res) {
              const json body = json_body(req);
              const std::string model_id = string_field(body, "model");
              if (model_id.rfind("run:", 0) == 0) runs();
              const auto model = catalog.load(model_id);
              require(model->capabilities.primer, model_id, *model, "answer a phrase (it takes no primer)");
              if (!body.contains("phrase") || !body["phrase"].is_array() || body["phrase"].empty())
                throw HttpError(400,
                                "phrase must be a non-empty array of notes {pitch, start, end, velocity} with "
                                "times in seconds from the phrase's start");
              const double qpm = number_field(body, "qpm", 20, 400, 120);
              // The phrase in seconds -> a take in beats at the duet's tempo.
              json notes = json::array();
              for (size_t i = 0; i < body["phrase"].size(); ++i) {
                json note = body["phrase"][i];
                if (!note.is_object()) throw HttpError(400, "phrase[" + std::to_string(i) + "] must be an object");
                for (const char* key : {"start", "end"})
                  if (note.contains(key)) {
                    const json& value = note[key];
                    if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0 ||
                        value.get<double>() > kMaxDuetPhraseSeconds)
                      throw HttpError(400, "phrase[" + std::to_string(i) + "]." + key +
                                               " must be seconds in [0, 60], got " + value.dump());
                    note[key] = value.get<double>() * qpm / 60.0;
                  }
                notes.push_back(note);
              }
              Take phrase;
              try {
                phrase = take_from_json({{"qpm", qpm}, {"notes", notes}});
              } catch (const HttpError& error) {
                std::string message = error.what();
                if (message.rfind("take.notes", 0) == 0) message = "phrase" + message.substr(10);
                throw HttpError(400, message);
              }
              phrase.score.tracks[0].name = "you";
              json options = body;
              options.erase("phrase");
              const SampleRequest request =
                  sample_request_from_json(options, model->capabilities, config.limits, {"model", "phrase"}, 2);
              refuse_tune_header(request, "a duet's answer");
              if (request.bars > kMaxDuetAnswerBars)
                throw HttpError(400, "bars (the answer's length) must be at most " +
                                         std::to_string(static_cast<int>(kMaxDuetAnswerBars)));
              SampleRequest with_primer = request;
              with_primer.primer = phrase.score;
              auto job = queue.submit("duet", [this, model, model_id, with_primer, primer = phrase.score](Job& job) {
                SampleRequest one = with_primer;
                job.emit("take-start", {{"take", 0}, {"seed", one.seed}, {"of", 1}});
                one.on_progress = NoteStreamer(job, 0, 1, [&primer](const Score& piece, int64_t primer_end_tick) {
                  return octave_shift(primer, piece, primer_end_tick);
                });
                const SampledPiece piece = model->sampler->sample(one);
                const int shift = octave_shift(primer, piece.score, piece.primer_end_tick);
                Score exchange = continuation_score(primer, piece, shift, "cadenza");
                json info = piece_info(piece, one);
                info["answer_start_beats"] = ticks_to_beats(piece.primer_end_tick, piece.score.ticks_per_quarter);
                info["octave_shift"] = shift;
                const auto take = store_model_take(takes, std::move(exchange), "duet", model_id, info, 1);
                job.emit("take", {{"take", 0}, {"data", take_json(*take)}});
                return json{{"takes", {take->id}}};
              });
              stream_job(res, job, queue);
            }));

  // ---- interpolate: the latent path between two takes (or two noise draws) ----------------------------------------
  http.Post(
      "/api/jobs/interpolate", guarded([this](const Request& req, Response& res) {
        const json body = json_body(req);
        const std::string model_id = string_field(body, "model");
        if (model_id.rfind("run:", 0) == 0) runs();
        const auto model = catalog.load(model_id);
        const SamplerCapabilities& caps = model->capabilities;
        require(caps.interpolate, model_id, *model, "interpolate (it has no latent space)");
        const int steps = integer_field(body, "steps", 2, config.limits.max_interpolation_steps, 5);
        const bool spherical = boolean_field(body, "spherical", true);
        std::shared_ptr<const Take> a, b;
        if (caps.interpolate_scores) {
          a = find_take(takes, body, "a");
          b = find_take(takes, body, "b");
        } else if (body.contains("a") || body.contains("b")) {
          throw HttpError(400, "model \"" + model_id + "\" (a " + caps.family +
                                   " model) interpolates between two noise draws (seed and seed + 1), not takes: "
                                   "leave out a and b");
        }
        json options = body;
        // Interpolation shows the path itself: the most likely decoding unless a temperature is asked for.
        if (caps.temperature && !options.contains("temperature") &&
            !(caps.binarize && options.value("binarize", "threshold") != "bernoulli"))
          options["temperature"] = 0.0;
        const double window = caps.window_bars > 0 ? static_cast<double>(caps.window_bars) : 4;
        const SampleRequest request =
            sample_request_from_json(options, caps, config.limits, {"model", "a", "b", "steps", "spherical"}, window);
        auto job = queue.submit("interpolate", [this, model, model_id, request, steps, spherical, a, b](Job& job) {
          const std::vector<SampledPiece> pieces =
              model->sampler->interpolate(a ? &a->score : nullptr, b ? &b->score : nullptr, steps, spherical, request);
          json ids = json::array();
          for (size_t i = 0; i < pieces.size(); ++i) {
            if (job.cancelled()) throw GenerationCancelled();
            job.emit("take-start", {{"take", i}, {"seed", request.seed}, {"of", pieces.size()}});
            json info = piece_info(pieces[i], request);
            info["step"] = i;
            info["steps"] = pieces.size();
            if (a) info["a"] = a->name, info["b"] = b->name;
            const std::string name = "step " + std::to_string(i + 1) + " of " + std::to_string(pieces.size());
            const auto take = store_model_take(takes, pieces[i].score, "interpolate", model_id, info, 0, name);
            job.emit("take", {{"take", i}, {"data", take_json(*take)}});
            ids.push_back(take->id);
          }
          return json{{"takes", ids}};
        });
        stream_job(res, job, queue);
      }));

  // ---- attribute: one take moved along an attribute vector ----------------------------------------------------------
  http.Post("/api/jobs/attribute", guarded([this](const Request& req, Response& res) {
              const json body = json_body(req);
              const std::string model_id = string_field(body, "model");
              if (model_id.rfind("run:", 0) == 0) runs();
              const auto model = catalog.load(model_id);
              const SamplerCapabilities& caps = model->capabilities;
              require(caps.attribute, model_id, *model, "change attributes (it has no encoder to steer)");
              const auto input = find_take(takes, body, "take");
              const std::string attribute = string_field(body, "attribute");
              if (std::find(model->attributes.begin(), model->attributes.end(), attribute) == model->attributes.end()) {
                std::string known;
                for (const auto& name : model->attributes) known += (known.empty() ? "" : ", ") + name;
                throw HttpError(400, "attribute \"" + attribute + "\" is not one of " + known);
              }
              const double amount = number_field(body, "amount", -kMaxAttributeAmount, kMaxAttributeAmount, 1.0);
              json options = body;
              if (caps.temperature && !options.contains("temperature")) options["temperature"] = 0.0;
              const SampleRequest request =
                  sample_request_from_json(options, caps, config.limits, {"model", "take", "attribute", "amount"},
                                           static_cast<double>(std::max<int64_t>(1, caps.window_bars)));
              // Attribute vectors from the training data when it is at hand, else from the model's prior.
              std::string data = config.attribute_data;
              std::error_code error;
              if (data.empty() && !model->training_data.empty() &&
                  std::filesystem::is_regular_file(model->training_data, error))
                data = model->training_data;
              auto job =
                  queue.submit("attribute", [this, model, model_id, request, input, attribute, amount, data](Job& job) {
                    const double bars = static_cast<double>(std::max<int64_t>(1, model->capabilities.window_bars));
                    job.emit("take-start", {{"take", 0}, {"seed", request.seed}, {"of", 1}});
                    const double before =
                        melody_attribute(model->sampler->reconstruct(input->score, request).output, attribute, bars);
                    if (job.cancelled()) throw GenerationCancelled();
                    const SampledPiece piece = model->sampler->apply_attribute(input->score, attribute, amount, data,
                                                                               request, config.attribute_windows);
                    json info = piece_info(piece, request);
                    info["attribute"] = attribute;
                    info["amount"] = amount;
                    info["before"] = before;
                    info["after"] = melody_attribute(piece.score, attribute, bars);
                    info["vectors_from"] = data.empty() ? "the model's prior" : data;
                    info["input"] = input->name;
                    char name[160];
                    std::snprintf(name, sizeof name, "%s %s %+.1f", input->name.substr(0, 80).c_str(),
                                  attribute.c_str(), amount);
                    const auto take = store_model_take(takes, piece.score, "attribute", model_id, info, 0, name);
                    job.emit("take", {{"take", 0}, {"data", take_json(*take)}});
                    return json{{"takes", {take->id}}};
                  });
              stream_job(res, job, queue);
            }));
}

}  // namespace cadenza::studio
