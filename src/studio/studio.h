// Cadenza Studio: the local web studio behind `cadenza serve` (docs/studio-api.md describes its HTTP API).
//
// One StudioServer is an HTTP server (cpp-httplib) on a loopback address by default, serving the page (web/), the
// SoundFont the page plays with, and a JSON API: health, the models with their capabilities and control ranges,
// generation jobs whose notes stream back as server-sent events (one inference worker with a bounded queue,
// studio/jobs.h), takes as MIDI / WAV / JSON (studio/takes.h), and the training runs and comparison reports under the
// --runs folders (studio/runs.h). Every refusal is {"error": {"status", "message"}} with its HTTP status.
//
// Safety of a local server: requests whose Host header is not a name of this server are refused (DNS rebinding); so
// are POSTs from another origin (Origin, Sec-Fetch-Site) and POSTs whose content type a cross-site form could send;
// bodies, lengths, variations, interpolation steps and the queue are capped (StudioLimits); clients name models, runs,
// reports and takes by id, so only the configured files are readable.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "studio/model_catalog.h"
#include "studio/request_options.h"

namespace cadenza::studio {

struct StudioConfig {
  std::string host = "127.0.0.1";
  int port = 8765;  // 0: any free port (port() tells which)
  std::vector<ModelSource> models;
  std::vector<std::string> runs;  // folders with training runs and compare reports
  std::string web_dir;            // the page's folder ("" = API only)
  std::string soundfont;          // the SoundFont served to the page ("" = none: the page cannot play)
  std::string wav_soundfont;      // for WAV downloads ("" = the renderer's default, fluid-soundfont-gm)
  std::string attribute_data;     // shard for VAE attribute vectors ("" = the model's training shard when present,
                                  // else vectors from the model's prior)
  int attribute_windows = 1024;   // windows an attribute vector averages
  std::vector<std::string> allowed_hosts;  // names the Host header may carry besides localhost and IP literals
  StudioLimits limits;
  size_t max_takes = 1024;
  int http_threads = 0;        // 0: limits.max_queue + 16 (a streaming job holds one thread while it waits)
  bool preload_models = true;  // open the fixed models in start()
};

class StudioServer {
 public:
  explicit StudioServer(StudioConfig config);
  ~StudioServer();
  StudioServer(const StudioServer&) = delete;
  StudioServer& operator=(const StudioServer&) = delete;

  // Binds (Error naming host:port when it cannot), opens the fixed models when preload_models (returns the errors of
  // those that failed, which the studio then lists as unavailable) and serves on a background thread.
  std::vector<std::string> start();
  // Stops serving, cancels the jobs and joins the threads. Idempotent; the destructor calls it.
  void stop();
  // Blocks until stop() has been called (from another thread).
  void wait();

  int port() const;
  std::string url() const;  // "http://127.0.0.1:8765/"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cadenza::studio
