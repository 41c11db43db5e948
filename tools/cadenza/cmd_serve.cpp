// `cadenza serve`: Cadenza Studio, a local web studio on the bundled models, the checkpoints given with --checkpoint
// and the training runs under --runs (src/studio/studio.h; the API is docs/studio-api.md). Runs until Ctrl-C.
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include "bundled_models.h"
#include "command.h"
#include "common/assets.h"
#include "common/error.h"
#include "models/threading.h"
#include "studio/assets.h"
#include "studio/studio.h"

namespace cadenza::cli {
namespace {

namespace fs = std::filesystem;

struct ServeCommandOptions {
  std::string host = "127.0.0.1";
  int port = 8765;
  std::vector<std::string> bundled;      // bundled models to offer (default: all)
  std::vector<std::string> checkpoints;  // more models: checkpoint files or run folders
  std::vector<std::string> runs;
  std::vector<std::string> allowed_hosts;
  std::string web;
  std::string soundfont;
  std::string wav_soundfont;
  std::string data;
  double max_bars = 64;
  int max_variations = 16;
  int max_queue = 16;
  int threads = 1;
};

// A model id from a checkpoint path: the run folder's name, or the file's stem ("best" -> its run's name).
std::string model_id_for(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  std::string id = p.stem().string();
  if ((id == "best" || id == "last" || id == "model") && p.has_parent_path()) {
    fs::path parent = p.parent_path();
    if (parent.filename() == "checkpoints" && parent.has_parent_path()) parent = parent.parent_path();
    id = parent.filename().string();
  }
  for (char& c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  return id.empty() ? "model" : id;
}

// Ctrl-C and SIGTERM: a handler (whichever thread runs it: libtorch and OpenBLAS may have started threads before
// this command did) writes the signal's number to a pipe that run_serve() waits on.
int stop_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int signal_number) {
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] const ssize_t written = ::write(stop_pipe[1], &byte, 1);
}

void run_serve(ServeCommandOptions& cli) {
  if (::pipe(stop_pipe) != 0) throw Error("serve: cannot create a pipe for the stop signals");
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  models::configure_tensor_threads(resolve_threads(cli.threads));
  studio::StudioConfig config;
  config.host = cli.host;
  config.port = cli.port;
  config.runs = cli.runs;
  config.allowed_hosts = cli.allowed_hosts;
  config.wav_soundfont = cli.wav_soundfont;
  config.attribute_data = cli.data;
  config.limits.max_bars = cli.max_bars;
  config.limits.max_variations = cli.max_variations;
  config.limits.max_queue = static_cast<size_t>(cli.max_queue);
  for (const std::string& dir : cli.runs)
    if (!fs::is_directory(dir)) throw Error("--runs " + dir + ": no such folder");
  if (!cli.data.empty() && !fs::is_regular_file(cli.data)) throw Error("--data " + cli.data + ": no such shard file");

  std::set<std::string> ids;
  const std::vector<std::string> bundled = cli.bundled.empty() ? bundled_model_names() : cli.bundled;
  for (const std::string& name : bundled) {
    config.models.push_back({name, bundled_model_path(name), "bundled"});
    ids.insert(name);
  }
  for (const std::string& path : cli.checkpoints) {
    if (!fs::exists(path)) throw Error("--checkpoint " + path + ": no such file or folder");
    std::string id = model_id_for(path);
    for (int n = 2; ids.count(id); ++n) id = model_id_for(path) + "-" + std::to_string(n);
    ids.insert(id);
    config.models.push_back({id, path, "checkpoint"});
  }
  if (config.models.empty() && cli.runs.empty())
    std::fprintf(stderr,
                 "cadenza serve: warning: no bundled model found in %s and no --checkpoint or --runs given: "
                 "the studio has no model to offer\n",
                 bundled_models_dir().c_str());

  config.web_dir = cli.web.empty() ? studio::find_web_assets(executable_path()) : cli.web;
  if (!cli.web.empty() && !fs::is_regular_file(fs::path(cli.web) / "index.html"))
    throw Error("--web " + cli.web + ": no index.html there");
  if (config.web_dir.empty())
    std::fprintf(stderr,
                 "cadenza serve: warning: the page's files (web/index.html) were not found; serving the API "
                 "only (set CADENZA_WEB_DIR)\n");
  config.soundfont = studio::find_browser_soundfont(cli.soundfont);
  if (config.soundfont.empty())
    std::fprintf(stderr,
                 "cadenza serve: warning: no General MIDI SoundFont for the page (install timgm6mb-soundfont "
                 "or give --soundfont FILE): takes can be downloaded but not played in the browser\n");

  studio::StudioServer server(config);
  std::printf("loading %zu model%s...\n", config.models.size(), config.models.size() == 1 ? "" : "s");
  std::fflush(stdout);
  for (const std::string& error : server.start()) std::fprintf(stderr, "cadenza serve: warning: %s\n", error.c_str());
  std::printf("Cadenza Studio: %s  (page: %s; Ctrl-C stops it)\n", server.url().c_str(),
              config.web_dir.empty() ? "none" : config.web_dir.c_str());
  std::fflush(stdout);

  unsigned char received = 0;
  while (::read(stop_pipe[0], &received, 1) < 0 && errno == EINTR) {
  }
  std::printf("stopping (signal %d)\n", received);
  std::fflush(stdout);
  server.stop();
}

void setup_serve(CLI::App& parent) {
  auto options = std::make_shared<ServeCommandOptions>();
  auto* command = parent.add_subcommand(
      "serve", "Cadenza Studio: a local web studio (generate, continue, duet, interpolate, training runs)");
  command->add_option("--host", options->host, "Address to listen on (anything but loopback exposes the studio)")
      ->capture_default_str();
  command->add_option("--port", options->port, "Port (0 = any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  command->add_option("--model", options->bundled, "Offer only these bundled models (repeatable; default: all)");
  command->add_option("--checkpoint", options->checkpoints, "Also offer this checkpoint or run folder (repeatable)");
  command->add_option("--runs", options->runs,
                      "Folder of training runs and compare reports to show, and whose checkpoints to offer "
                      "(repeatable)");
  command->add_option("--allow-host", options->allowed_hosts,
                      "Accept this name in the Host header besides localhost and IP addresses (repeatable)");
  command->add_option("--web", options->web, "The page's folder (default: found beside the binary)");
  command->add_option("--soundfont", options->soundfont,
                      "SoundFont the browser plays with (default: TimGM6mb from timgm6mb-soundfont)");
  command->add_option("--wav-soundfont", options->wav_soundfont,
                      "SoundFont of WAV downloads (default: the render command's, fluid-soundfont-gm)");
  command->add_option("--data", options->data,
                      "Shard for vae attribute vectors (default: the model's training shard when present, else its "
                      "prior)");
  command->add_option("--max-bars", options->max_bars, "Longest piece a request may ask for, in bars")
      ->check(CLI::Range(1.0, 4096.0))
      ->capture_default_str();
  command->add_option("--max-variations", options->max_variations, "Most variations one request may ask for")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command->add_option("--max-queue", options->max_queue, "Most jobs waiting behind the running one")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  add_threads_option(command, options->threads);
  command->callback([options] { run_serve(*options); });
}

}  // namespace

static const CommandRegistration registration{"serve", setup_serve};

}  // namespace cadenza::cli
