// Cadenza Studio's figures (issue 16), measured over loopback against a server in this process with the bundled models:
//   - duet answer latency: from sending the phrase to the first streamed answer note (p50 / p99), LSTM and Transformer;
//   - time to the first streamed note of a 16-bar generation, per model;
//   - requests per second under the load test's mix (8 clients x 50 requests);
//   - the page's weight (what the browser downloads: page code, the npm synthesizer, the SoundFont).
// Usage: bench_studio [REPEATS] (default 100 duet exchanges per model). A benchmark, not a test: it asserts nothing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "../tests/unit/studio_client.h"
#include "studio/assets.h"
#include "studio/studio.h"

using cadenza::testing::SseEvent;
using cadenza::testing::StudioClient;
using nlohmann::json;

namespace {

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(values.size())));
  return values[index];
}

// Milliseconds from sending the request to the first "notes" event.
double first_note_ms(StudioClient& client, const std::string& path, const json& body) {
  double first = -1;
  client.stream(path, body, [&](const SseEvent& event) {
    if (event.type == "notes" && first < 0) first = event.seconds * 1000;
    return true;
  });
  return first;
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 100;
  const std::string models_dir = std::string(CADENZA_SOURCE_DIR) + "/models/";
  cadenza::studio::StudioConfig config;
  config.port = 0;
  for (const char* name : {"nottingham-lstm", "nottingham-transformer", "nottingham-vae", "nottingham-gan"})
    config.models.push_back({name, models_dir + name + "/model.safetensors", "bundled"});
  config.web_dir = cadenza::studio::find_web_assets("");
  config.soundfont = cadenza::studio::find_browser_soundfont("");
  cadenza::studio::StudioServer server(config);
  for (const auto& error : server.start()) std::fprintf(stderr, "warning: %s\n", error.c_str());
  StudioClient client(server.port());
  std::printf("Cadenza Studio benchmark on %s (%u hardware threads)\n\n", server.url().c_str(),
              std::thread::hardware_concurrency());

  // ---- duet latency ------------------------------------------------------------------------------------------------
  json phrase = json::array();
  for (int i = 0; i < 6; ++i)
    phrase.push_back({{"pitch", 67 + (i % 3) * 2}, {"start", 0.25 * i}, {"end", 0.25 * i + 0.2}, {"velocity", 90}});
  std::printf("duet: phrase of 6 notes (1.5 s), answer of 2 bars; %d exchanges per model\n", repeats);
  std::printf("%-24s %10s %10s %10s %10s\n", "model", "p50 ms", "p99 ms", "max ms", "silent");
  for (const char* model : {"nottingham-lstm", "nottingham-transformer"}) {
    std::vector<double> latencies;
    int silent = 0;
    for (int i = 0; i < repeats; ++i) {
      const double ms = first_note_ms(client, "/api/jobs/duet",
                                      {{"model", model}, {"phrase", phrase}, {"bars", 2}, {"seed", 1000 + i}});
      if (ms < 0)
        ++silent;
      else
        latencies.push_back(ms);
    }
    std::printf("%-24s %10.1f %10.1f %10.1f %10d\n", model, percentile(latencies, 50), percentile(latencies, 99),
                percentile(latencies, 100), silent);
  }

  // ---- first streamed note of a 16-bar generation
  // --------------------------------------------------------------------
  const int generations = std::max(5, repeats / 5);
  std::printf("\nfirst streamed note of a 16-bar generation (%d runs per model)\n", generations);
  std::printf("%-24s %10s %10s %12s\n", "model", "p50 ms", "max ms", "whole p50 ms");
  for (const char* model : {"nottingham-lstm", "nottingham-transformer", "nottingham-vae", "nottingham-gan"}) {
    std::vector<double> first, whole;
    for (int i = 0; i < generations; ++i) {
      double first_ms = -1, done_ms = -1;
      client.stream("/api/jobs/generate", {{"model", model}, {"bars", 16}, {"seed", 1 + i}},
                    [&](const SseEvent& event) {
                      if (event.type == "notes" && first_ms < 0) first_ms = event.seconds * 1000;
                      if (event.type == "take") done_ms = event.seconds * 1000;
                      return true;
                    });
      // A GAN decodes the whole piece in one pass: its first notes arrive with the take.
      first.push_back(first_ms >= 0 ? first_ms : done_ms);
      whole.push_back(done_ms);
    }
    std::printf("%-24s %10.1f %10.1f %12.1f\n", model, percentile(first, 50), percentile(first, 100),
                percentile(whole, 50));
  }

  // ---- requests per second under the load test's mix ---------------------------------------------------------------
  const auto [made_status, made] =
      client.post_json("/api/takes", {{"notes", {{{"pitch", 60}, {"start", 0}, {"end", 1}}}}});
  const std::string take_id = made.value("id", "");
  const int clients = 8, per_client = 50;
  std::atomic<int> errors{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      StudioClient http(server.port());
      for (int i = 0; i < per_client; ++i) {
        int status = 0;
        switch ((c + i) % 10) {
          case 0: {
            const auto result =
                http.stream("/api/jobs/generate", {{"model", "nottingham-lstm"}, {"bars", 1}, {"seed", i}});
            status = result.last() && result.last()->type == "done" ? 200 : result.status;
            break;
          }
          case 1:
            status = http.get_json("/api/health").first;
            break;
          case 2:
            status = http.get_json("/api/models").first;
            break;
          case 3:
            status = http.get("/") ? 200 : -1;
            break;
          case 4:
            status = http.get("/js/main.js") ? 200 : -1;
            break;
          case 5:
            status = http.post_json("/api/takes", {{"notes", {{{"pitch", 62}, {"start", 0}, {"end", 0.5}}}}}).first;
            if (status == 201) status = 200;
            break;
          case 6:
            status = http.get("/api/takes/" + take_id + ".mid") ? 200 : -1;
            break;
          case 7:
            status = http.get_json("/api/takes").first;
            break;
          case 8:
            status = http.get_json("/api/info").first;
            break;
          default:
            status = http.get_json("/api/takes/" + take_id + ".json").first;
            break;
        }
        if (status != 200) ++errors;
      }
    });
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("\nload: %d clients x %d requests (1 in 10 a 1-bar generation): %.2f s, %.0f requests/s, %d errors\n",
              clients, per_client, seconds, clients * per_client / seconds, errors.load());

  // ---- page weight -------------------------------------------------------------------------------------------------
  auto size_of = [&](const std::string& path) -> size_t {
    const auto result = client.raw().Get(path.c_str());
    return result && result->status == 200 ? result->body.size() : 0;
  };
  size_t page = 0;
  for (const char* file : {"/", "/studio.css", "/favicon.svg"}) page += size_of(file);
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(config.web_dir + "/js", error))
    page += size_of("/js/" + entry.path().filename().string());
  size_t vendor = 0;
  for (const auto& file : cadenza::studio::vendor_files()) vendor += size_of(file.url);
  const size_t soundfont = size_of("/soundfont");
  std::printf("\npage weight (uncompressed bytes the browser downloads)\n");
  const std::string soundfont_name = "SoundFont (" + std::filesystem::path(config.soundfont).filename().string() + ")";
  std::printf("  %-34s %10zu bytes\n", "page (HTML, CSS, ES modules)", page);
  std::printf("  %-34s %10zu bytes\n", "SoundFont synthesizer (npm)", vendor);
  std::printf("  %-34s %10zu bytes\n", soundfont_name.c_str(), soundfont);
  std::printf("  %-34s %10zu bytes\n", "total", page + vendor + soundfont);
  server.stop();
  return 0;
}
