// Internal to src/studio: the state behind StudioServer and the helpers its route files share. Not installed.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "studio/jobs.h"
#include "studio/model_catalog.h"
#include "studio/runs.h"
#include "studio/studio.h"
#include "studio/takes.h"

namespace cadenza::studio {

struct StudioServer::Impl {
  explicit Impl(StudioConfig config);

  StudioConfig config;
  httplib::Server http;
  ModelCatalog catalog;
  TakeStore takes;
  JobQueue queue;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  int bound_port = 0;
  std::thread listener;
  std::mutex state_mutex;
  std::condition_variable stopped_changed;
  bool stopped = false;

  // The last scan of the --runs folders (rescanned when older than a second or two).
  RunsScan runs();
  std::mutex runs_mutex;
  RunsScan last_scan;
  std::chrono::steady_clock::time_point last_scan_time{};
  bool scanned = false;

  void add_routes();      // server.cpp: health, info, models, takes, runs, reports, static files
  void add_job_routes();  // job_routes.cpp: generate, continue, duet, interpolate, attribute
};

// Answers helpers.
void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void send_error(httplib::Response& res, int status, const std::string& message);
// Wraps a route so that every exception becomes a JSON error: HttpError with its status, cadenza::Error 400, anything
// else 500.
httplib::Server::Handler guarded(httplib::Server::Handler handler);
// The JSON body of a POST: 415 unless Content-Type is application/json, 400 naming the parse error.
nlohmann::json json_body(const httplib::Request& req);
// Streams a job's events to the client as server-sent events; the client leaving cancels the job.
void stream_job(httplib::Response& res, const std::shared_ptr<Job>& job, JobQueue& queue);
// "event: TYPE\ndata: JSON\n\n"
std::string sse_event(const JobEvent& event);

// Whether a Host header names this server: "localhost", an IP literal (which DNS rebinding cannot forge), the host it
// was bound to, or one of `allowed` (case-insensitive; any port).
bool host_allowed(const std::string& host_header, const std::string& bound_host,
                  const std::vector<std::string>& allowed);

}  // namespace cadenza::studio
