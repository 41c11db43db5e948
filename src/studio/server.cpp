// The studio's HTTP server: guards (Host, Origin, content types), JSON errors, and the routes that are not jobs
// (job_routes.cpp): health, info, models, takes, runs, reports, the SoundFont, the page's files.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <fstream>

#include "common/error.h"
#include "common/file_io.h"
#include "data/sha256.h"
#include "midi/midi.h"
#include "render/audio.h"
#include "studio/assets.h"
#include "studio/http_error.h"
#include "studio/server_impl.h"

namespace cadenza::studio {

namespace fs = std::filesystem;
using httplib::Request;
using httplib::Response;
using nlohmann::json;

namespace {

constexpr const char* kVersion = "0.1.0";
// Files larger than this are streamed from disk instead of read whole (the 140 MB FluidR3 SoundFont).
constexpr uintmax_t kStreamFilesAbove = uintmax_t(8) << 20;
constexpr double kRunsRescanSeconds = 2.0;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string status_text(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 403:
      return "forbidden";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 413:
      return "the request body is too large";
    case 414:
      return "the request URI is too long";
    case 415:
      return "unsupported content type";
    case 431:
      return "request headers too large";
    case 503:
      return "service unavailable";
    default:
      return status >= 500 ? "internal server error" : "request refused";
  }
}

std::string base64(const uint8_t* data, size_t size) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < size; i += 3) {
    const uint32_t chunk = (uint32_t(data[i]) << 16) | (i + 1 < size ? uint32_t(data[i + 1]) << 8 : 0) |
                           (i + 2 < size ? uint32_t(data[i + 2]) : 0);
    out += alphabet[(chunk >> 18) & 63];
    out += alphabet[(chunk >> 12) & 63];
    out += i + 1 < size ? alphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < size ? alphabet[chunk & 63] : '=';
  }
  return out;
}

// The page's Content-Security-Policy: only this server, plus the hashes of the page's inline scripts (its import
// map). WebAssembly is allowed for the SoundFont synthesizer's Vorbis decoder.
std::string page_csp(const std::string& html) {
  std::string hashes;
  for (size_t at = html.find("<script"); at != std::string::npos; at = html.find("<script", at + 1)) {
    const size_t open_end = html.find('>', at);
    if (open_end == std::string::npos) break;
    if (html.substr(at, open_end - at).find("src=") != std::string::npos) continue;
    const size_t close = html.find("</script>", open_end);
    if (close == std::string::npos) break;
    Sha256 hasher;
    hasher.update(std::string_view(html).substr(open_end + 1, close - open_end - 1));
    const Sha256Digest digest = hasher.finish();
    hashes += " 'sha256-" + base64(digest.data(), digest.size()) + "'";
  }
  return "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'" + hashes +
         "; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
         "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
}

void serve_file(Response& res, const fs::path& path, const std::string& cache_control) {
  std::error_code error;
  const uintmax_t size = fs::file_size(path, error);
  if (error) throw HttpError(404, "cannot read " + path.filename().string());
  res.set_header("Cache-Control", cache_control);
  const std::string type = content_type_for(path);
  if (size <= kStreamFilesAbove) {
    res.set_content(read_file_text(path.string(), kStreamFilesAbove + 1), type);
    return;
  }
  auto stream = std::make_shared<std::ifstream>(path, std::ios::binary);
  if (!*stream) throw HttpError(404, "cannot read " + path.filename().string());
  res.set_content_provider(static_cast<size_t>(size), type,
                           [stream](size_t offset, size_t length, httplib::DataSink& sink) {
                             std::vector<char> buffer(std::min<size_t>(length, size_t(1) << 20));
                             stream->clear();
                             stream->seekg(static_cast<std::streamoff>(offset));
                             stream->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
                             const std::streamsize got = stream->gcount();
                             return got > 0 && sink.write(buffer.data(), static_cast<size_t>(got));
                           });
}

std::string query(const Request& req, const std::string& key) {
  return req.has_param(key.c_str()) ? req.get_param_value(key.c_str()) : std::string();
}

bool is_ip_literal(const std::string& name) {
  in_addr v4;
  in6_addr v6;
  return inet_pton(AF_INET, name.c_str(), &v4) == 1 || inet_pton(AF_INET6, name.c_str(), &v6) == 1;
}

}  // namespace

void send_json(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", {{"status", status}, {"message", message}}}});
}

httplib::Server::Handler guarded(httplib::Server::Handler handler) {
  return [handler = std::move(handler)](const Request& req, Response& res) {
    try {
      handler(req, res);
    } catch (const HttpError& error) {
      send_error(res, error.status(), error.what());
    } catch (const Error& error) {
      send_error(res, 400, error.what());
    } catch (const std::exception& error) {
      send_error(res, 500, std::string("internal error: ") + error.what());
    }
  };
}

json json_body(const Request& req) {
  const std::string type = lower(req.get_header_value("Content-Type"));
  if (type.rfind("application/json", 0) != 0)
    throw HttpError(415, "send the body as application/json (got \"" + req.get_header_value("Content-Type") + "\")");
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& error) {
    throw HttpError(400, std::string("the body is not valid JSON: ") + error.what());
  }
}

std::string sse_event(const JobEvent& event) {
  return "event: " + event.type + "\ndata: " + event.data.dump() + "\n\n";
}

void stream_job(Response& res, const std::shared_ptr<Job>& job, JobQueue& queue) {
  res.set_header("Cache-Control", "no-store");
  auto next = std::make_shared<size_t>(0);
  res.set_chunked_content_provider(
      "text/event-stream",
      [job, next](size_t, httplib::DataSink& sink) {
        std::vector<JobEvent> events;
        const bool over = job->read_events(*next, events, std::chrono::milliseconds(500));
        std::string text;
        for (const JobEvent& event : events) text += sse_event(event);
        // A comment when nothing happened: writing is how a client that left is noticed.
        if (text.empty()) text = ": waiting\n\n";
        if (!sink.write(text.data(), text.size())) return false;
        if (over) sink.done();
        return true;
      },
      [job, &queue](bool success) {
        if (!success || !job->finished()) queue.cancel(job);
      });
}

bool host_allowed(const std::string& host_header, const std::string& bound_host,
                  const std::vector<std::string>& allowed) {
  if (host_header.empty() || host_header.size() > 255) return false;
  std::string name = host_header;
  if (name[0] == '[') {  // [IPv6]:port
    const size_t close = name.find(']');
    if (close == std::string::npos) return false;
    const std::string rest = name.substr(close + 1);
    if (!rest.empty() && (rest[0] != ':' || rest.size() < 2 ||
                          !std::all_of(rest.begin() + 1, rest.end(), [](unsigned char c) { return std::isdigit(c); })))
      return false;
    return is_ip_literal(name.substr(1, close - 1));
  }
  if (const size_t colon = name.rfind(':'); colon != std::string::npos) {
    const std::string port = name.substr(colon + 1);
    if (port.empty() || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
      return false;
    name = name.substr(0, colon);
  }
  name = lower(name);
  if (name.empty()) return false;
  if (name == "localhost" || is_ip_literal(name)) return true;
  if (lower(bound_host) == name) return true;
  return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& host) { return lower(host) == name; });
}

StudioServer::Impl::Impl(StudioConfig config_in)
    : config(std::move(config_in)), catalog(config.limits), takes(config.max_takes), queue(config.limits.max_queue) {
  catalog.set_models(config.models);
}

RunsScan StudioServer::Impl::runs() {
  std::lock_guard lock(runs_mutex);
  const auto now = std::chrono::steady_clock::now();
  if (scanned && std::chrono::duration<double>(now - last_scan_time).count() < kRunsRescanSeconds) return last_scan;
  last_scan = scan_runs(config.runs);
  last_scan_time = now;
  scanned = true;
  std::vector<ModelSource> models;
  for (const RunFolder& run : last_scan.runs)
    if (run_checkpoint(run)) models.push_back({"run:" + run.name, run.dir.string(), "run"});
  catalog.set_run_models(std::move(models));
  return last_scan;
}

void StudioServer::Impl::add_routes() {
  // ---- health and configuration --------------------------------------------------------------------------------
  http.Get("/api/health", guarded([this](const Request&, Response& res) {
             const JobQueue::Stats stats = queue.stats();
             send_json(
                 res, 200,
                 {{"status", "ok"},
                  {"version", kVersion},
                  {"uptime_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()},
                  {"queue",
                   {{"running", stats.running},
                    {"waiting", stats.waiting},
                    {"max_waiting", stats.max_waiting},
                    {"started", stats.started},
                    {"done", stats.done},
                    {"failed", stats.failed},
                    {"cancelled", stats.cancelled}}},
                  {"takes", takes.size()}});
           }));
  http.Get("/api/info", guarded([this](const Request&, Response& res) {
             std::error_code error;
             json soundfont = nullptr;
             if (!config.soundfont.empty())
               soundfont = {{"name", fs::path(config.soundfont).filename().string()},
                            {"bytes", fs::file_size(config.soundfont, error)},
                            {"url", "/soundfont"}};
             send_json(res, 200,
                       {{"name", "Cadenza Studio"},
                        {"version", kVersion},
                        {"limits", config.limits.to_json()},
                        {"soundfont", soundfont},
                        {"runs_folders", config.runs.size()},
                        {"max_takes", takes.capacity()}});
           }));

  // ---- models ------------------------------------------------------------------------------------------------------
  http.Get("/api/models", guarded([this](const Request&, Response& res) {
             runs();  // picks up the runs' checkpoints
             send_json(res, 200, {{"models", catalog.list()}});
           }));
  http.Get("/api/models/detail", guarded([this](const Request& req, Response& res) {
             const std::string id = query(req, "id");
             if (id.empty()) throw HttpError(400, "give the model as ?id=NAME");
             if (id.rfind("run:", 0) == 0) runs();
             send_json(res, 200, catalog.describe(id));
           }));

  // ---- takes -------------------------------------------------------------------------------------------------------
  http.Post("/api/takes", guarded([this](const Request& req, Response& res) {
              const std::string type = lower(req.get_header_value("Content-Type"));
              Take take;
              if (type.rfind("audio/midi", 0) == 0 || type.rfind("audio/x-midi", 0) == 0) {
                std::string name = query(req, "name");
                if (name.size() > 200) name.resize(200);
                if (name.empty()) name = "upload.mid";
                const auto* bytes = reinterpret_cast<const uint8_t*>(req.body.data());
                Score score;
                try {
                  score = read_midi({bytes, req.body.size()}, name);
                } catch (const Error& error) {
                  throw HttpError(400, error.what());
                }
                if (score.note_count() == 0) throw HttpError(400, name + ": the file has no notes");
                assign_channels(score);
                take.kind = "upload";
                take.name = fs::path(name).stem().string();
                take.score = std::move(score);
                take.roles.assign(take.score.tracks.size(), "user");
              } else if (type.rfind("application/json", 0) == 0) {
                take = take_from_json(json_body(req));
              } else {
                throw HttpError(415, "send a MIDI file as audio/midi or notes as application/json (got \"" +
                                         req.get_header_value("Content-Type") + "\")");
              }
              const auto stored = takes.add(std::move(take));
              send_json(res, 201, take_json(*stored));
            }));
  http.Get("/api/takes", guarded([this](const Request&, Response& res) {
             json list = json::array();
             for (const auto& take : takes.list()) list.push_back(take_json(*take, /*with_notes=*/false));
             send_json(res, 200, {{"takes", list}});
           }));
  http.Get(R"(/api/takes/([0-9a-f]{12})(\.mid|\.wav|\.json)?)", guarded([this](const Request& req, Response& res) {
             const std::string id = req.matches[1];
             const std::string format = req.matches[2];
             const auto take = takes.find(id);
             if (!take)
               throw HttpError(404, "no take " + id + " (the studio keeps the last " +
                                        std::to_string(takes.capacity()) + " takes)");
             const std::string file = download_name(*take);
             if (format == ".mid") {
               const std::vector<uint8_t> bytes = write_midi(take->score);
               res.set_header("Content-Disposition", "attachment; filename=\"" + file + ".mid\"");
               res.set_content(std::string(bytes.begin(), bytes.end()), "audio/midi");
             } else if (format == ".wav") {
               RenderOptions options;
               options.soundfont = config.wav_soundfont;
               options.max_seconds = config.limits.max_wav_seconds;
               const std::vector<uint8_t> bytes = encode_wav(render_pcm(take->score, options));
               res.set_header("Content-Disposition", "attachment; filename=\"" + file + ".wav\"");
               res.set_content(std::string(bytes.begin(), bytes.end()), "audio/wav");
             } else {
               send_json(res, 200, take_json(*take));
             }
           }));

  // ---- runs and reports
  // ----------------------------------------------------------------------------------------------
  auto find_run = [this](const Request& req) {
    const std::string name = query(req, "name");
    if (name.empty()) throw HttpError(400, "give the run as ?name=NAME");
    for (const RunFolder& run : runs().runs)
      if (run.name == name) return run;
    throw HttpError(404, "no run \"" + name + "\" under the --runs folders");
  };
  http.Get("/api/runs", guarded([this](const Request&, Response& res) {
             const RunsScan scan = runs();
             json list = json::array(), reports = json::array();
             for (const RunFolder& run : scan.runs) {
               json entry = run_json(run, /*details=*/false);
               if (run_checkpoint(run)) entry["model"] = "run:" + run.name;
               list.push_back(std::move(entry));
             }
             for (const RunFolder& report : scan.reports)
               reports.push_back({{"name", report.name}, {"url", "/reports/" + report.name + "/index.html"}});
             send_json(res, 200, {{"runs", list}, {"reports", reports}, {"folders", config.runs.size()}});
           }));
  http.Get("/api/runs/detail", guarded([find_run](const Request& req, Response& res) {
             const RunFolder run = find_run(req);
             json entry = run_json(run, /*details=*/true);
             if (run_checkpoint(run)) entry["model"] = "run:" + run.name;
             send_json(res, 200, entry);
           }));
  http.Get("/api/runs/metrics", guarded([find_run](const Request& req, Response& res) {
             const RunFolder run = find_run(req);
             size_t from = 0;
             const std::string from_text = query(req, "from");
             if (!from_text.empty()) {
               if (from_text.size() > 12 ||
                   !std::all_of(from_text.begin(), from_text.end(), [](unsigned char c) { return std::isdigit(c); }))
                 throw HttpError(400, "from must be a line number, got \"" + from_text + "\"");
               from = std::stoull(from_text);
             }
             send_json(res, 200, run_metrics_json(run, from));
           }));
  http.Get(R"(/reports/(.+))", guarded([this](const Request& req, Response& res) {
             const std::string path = req.matches[1];
             // The longest report name that the path starts with, then a file inside that report.
             const RunFolder* report = nullptr;
             const RunsScan scan = runs();
             for (const RunFolder& candidate : scan.reports)
               if (path.rfind(candidate.name + "/", 0) == 0 &&
                   (report == nullptr || candidate.name.size() > report->name.size()))
                 report = &candidate;
             if (report == nullptr) throw HttpError(404, "no report at /reports/" + path);
             const auto file = resolve_inside(report->dir, path.substr(report->name.size() + 1));
             if (!file) throw HttpError(404, "no file /reports/" + path + " in report \"" + report->name + "\"");
             serve_file(res, *file, "no-cache");
           }));

  // ---- the page ----------------------------------------------------------------------------------------------------
  http.Get("/soundfont", guarded([this](const Request&, Response& res) {
             if (config.soundfont.empty())
               throw HttpError(404,
                               "no SoundFont is installed for the page (install timgm6mb-soundfont, or start with "
                               "--soundfont FILE)");
             serve_file(res, config.soundfont, "max-age=86400");
           }));
  for (const VendorFile& vendor : vendor_files()) {
    http.Get(vendor.url, guarded([this, vendor](const Request&, Response& res) {
               const auto file =
                   config.web_dir.empty() ? std::nullopt : resolve_inside(config.web_dir, vendor.relative);
               if (!file)
                 throw HttpError(404, vendor.relative +
                                          " is not installed beside the page (run scripts/setup.sh, which "
                                          "runs npm ci in web/)");
               serve_file(res, *file, "max-age=3600");
             }));
  }
  http.Get(R"(/(.*))", guarded([this](const Request& req, Response& res) {
             std::string path = req.matches[1];
             if (path.empty()) path = "index.html";
             if (path.rfind("api/", 0) == 0) throw HttpError(404, "no such endpoint: GET /" + path);
             if (config.web_dir.empty()) throw HttpError(404, "this studio serves no page (API only)");
             // The page's own files only: npm's folder is reachable only through the /vendor/ names above.
             if (path.rfind("node_modules/", 0) == 0 || path == "package.json" || path == "package-lock.json")
               throw HttpError(404, "no file /" + path);
             const auto file = resolve_inside(config.web_dir, path);
             if (!file) throw HttpError(404, "no file /" + path);
             serve_file(res, *file, "no-cache");
             if (file->extension() == ".html") res.set_header("Content-Security-Policy", page_csp(res.body));
           }));
}

StudioServer::StudioServer(StudioConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {
  Impl& impl = *impl_;
  const size_t threads =
      impl.config.http_threads > 0 ? static_cast<size_t>(impl.config.http_threads) : impl.config.limits.max_queue + 16;
  impl.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl.http.set_payload_max_length(impl.config.limits.max_body_bytes);
  impl.http.set_keep_alive_timeout(5);
  impl.http.set_read_timeout(30);
  impl.http.set_write_timeout(30);
  impl.http.set_pre_routing_handler([&impl](const Request& req, Response& res) {
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    const std::string host = req.get_header_value("Host");
    if (!host_allowed(host, impl.config.host, impl.config.allowed_hosts)) {
      send_error(res, 403,
                 "Host \"" + host +
                     "\" is not a name of this studio (a guard against DNS rebinding): open it as http://localhost:" +
                     std::to_string(impl.bound_port) + "/ or an IP address, or start it with --allow-host NAME");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      const std::string origin = req.get_header_value("Origin");
      if (!origin.empty() && lower(origin) != "http://" + lower(host)) {
        send_error(res, 403,
                   "cross-origin request refused: Origin \"" + origin + "\" is not this studio (http://" + host + ")");
        return httplib::Server::HandlerResponse::Handled;
      }
      const std::string site = req.get_header_value("Sec-Fetch-Site");
      if (!site.empty() && site != "same-origin" && site != "none") {
        send_error(res, 403, "cross-site request refused (Sec-Fetch-Site: " + site + ")");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  impl.http.set_error_handler([](const Request& req, Response& res) {
    if (!res.body.empty() || res.is_chunked_content_provider_) return;
    std::string message = status_text(res.status);
    if (res.status == 404) message = "no such endpoint: " + req.method + " " + req.path;
    send_error(res, res.status, message);
  });
  impl.http.set_exception_handler([](const Request&, Response& res, std::exception_ptr error) {
    std::string message = "internal error";
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      message += std::string(": ") + e.what();
    } catch (...) {
    }
    send_error(res, 500, message);
  });
  impl.add_job_routes();
  impl.add_routes();  // last: it ends with the catch-all of the page's files
}

StudioServer::~StudioServer() {
  stop();
}

std::vector<std::string> StudioServer::start() {
  Impl& impl = *impl_;
  // A client that leaves mid-stream must not kill the process with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  const int port = impl.config.port == 0
                       ? impl.http.bind_to_any_port(impl.config.host)
                       : (impl.http.bind_to_port(impl.config.host, impl.config.port) ? impl.config.port : -1);
  if (port <= 0)
    throw Error("cannot listen on " + impl.config.host + ":" + std::to_string(impl.config.port) +
                " (is another studio running there? choose another with --port)");
  impl.bound_port = port;
  std::vector<std::string> errors;
  if (impl.config.preload_models) errors = impl.catalog.load_all_fixed();
  impl.listener = std::thread([&impl] { impl.http.listen_after_bind(); });
  return errors;
}

void StudioServer::stop() {
  Impl& impl = *impl_;
  {
    std::lock_guard lock(impl.state_mutex);
    if (impl.stopped) return;
    impl.stopped = true;
  }
  impl.queue.stop();  // cancels the jobs, so that their streams end
  impl.http.stop();
  if (impl.listener.joinable()) impl.listener.join();
  impl.stopped_changed.notify_all();
}

void StudioServer::wait() {
  std::unique_lock lock(impl_->state_mutex);
  impl_->stopped_changed.wait(lock, [&] { return impl_->stopped; });
}

int StudioServer::port() const {
  return impl_->bound_port;
}

std::string StudioServer::url() const {
  const std::string& host = impl_->config.host;
  const std::string shown = host == "0.0.0.0" || host.empty() ? "127.0.0.1" : host;
  const bool v6 = shown.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + shown + "]" : shown) + ":" + std::to_string(impl_->bound_port) + "/";
}

}  // namespace cadenza::studio
