// A bounded load test of Cadenza Studio over loopback: 8 clients x 50 requests each (health, models, the page, takes
// as JSON and MIDI, uploads, and small generation jobs streamed back), all at once. No error, no crash, every job
// finishes, the queue drains, and memory stays flat (the process's resident size after the second half of the load
// is within a bound of what it was after the first half). Throughput is measured by bench/bench_studio.cpp, not here.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "studio/studio.h"
#include "support/test_support.h"
#include "unit/studio_client.h"

namespace cadenza::studio {
namespace {

using nlohmann::json;
using testing::StudioClient;

constexpr int kClients = 8;
constexpr int kRequestsPerClient = 50;

// Resident set size of this process in MiB (/proc/self/statm).
double resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

TEST(StudioLoad, EightClientsFiftyRequestsEachWithoutAnErrorAndWithFlatMemory) {
  StudioConfig config;
  config.port = 0;
  config.models = {
      {"nottingham-lstm", std::string(CADENZA_SOURCE_DIR) + "/models/nottingham-lstm/model.safetensors", "bundled"}};
  config.web_dir = std::string(CADENZA_SOURCE_DIR) + "/web";
  config.max_takes = 64;  // the store forgets old takes: memory must not grow with the number of requests
  StudioServer server(config);
  ASSERT_TRUE(server.start().empty());

  StudioClient setup(server.port());
  const auto [made_status, made] =
      setup.post_json("/api/takes", {{"notes", {{{"pitch", 60}, {"start", 0}, {"end", 1}}}}});
  ASSERT_EQ(made_status, 201);
  const std::string take_id = made["id"];

  std::atomic<int> failures{0};
  std::mutex failure_mutex;
  std::vector<std::string> failure_lines;
  auto fail = [&](const std::string& what) {
    ++failures;
    std::lock_guard lock(failure_mutex);
    if (failure_lines.size() < 20) failure_lines.push_back(what);
  };
  // One client's requests [first, last).
  auto client_work = [&](int client, int first, int last) {
    StudioClient http(server.port());
    for (int i = first; i < last; ++i) {
      const int kind = (client + i) % 10;
      const std::string what = "client " + std::to_string(client) + " request " + std::to_string(i);
      if (kind == 0) {
        const auto result =
            http.stream("/api/jobs/generate", {{"model", "nottingham-lstm"}, {"bars", 1}, {"seed", client * 100 + i}});
        if (result.status != 200 || !result.last() || result.last()->type != "done")
          fail(what + ": generate " + std::to_string(result.status) + " " +
               (result.last() ? result.last()->data.dump() : result.error.dump()));
        continue;
      }
      std::pair<int, json> answer;
      int expected = 200;
      switch (kind) {
        case 1:
          answer = http.get_json("/api/health");
          break;
        case 2:
          answer = http.get_json("/api/models");
          break;
        case 3: {
          const auto page = http.get("/");
          answer = {page ? page->status : -1, json()};
          break;
        }
        case 4: {
          const auto script = http.get("/js/main.js");
          answer = {script ? script->status : -1, json()};
          break;
        }
        case 5:
          answer = http.post_json("/api/takes", {{"notes", {{{"pitch", 62}, {"start", 0}, {"end", 0.5}}}}});
          expected = 201;
          break;
        case 6: {
          const auto midi = http.get("/api/takes/" + take_id + ".mid");
          const bool valid = midi && (midi->status != 200 || midi->body.rfind("MThd", 0) == 0);
          answer = {valid ? midi->status : -1, json()};
          break;
        }
        case 7:
          answer = http.get_json("/api/takes");
          break;
        case 8:
          answer = http.get_json("/api/info");
          break;
        default:
          answer = http.get_json("/api/takes/" + take_id + ".json");
          break;
      }
      // The first take may be forgotten once 64 newer ones exist: that is a 404 by design, not a failure.
      if ((kind == 6 || kind == 9) && answer.first == 404) continue;
      if (answer.first != expected)
        fail(what + ": status " + std::to_string(answer.first) + " " + answer.second.dump());
    }
  };
  auto run_round = [&](int first, int last) {
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) clients.emplace_back(client_work, c, first, last);
    for (auto& thread : clients) thread.join();
  };

  run_round(0, kRequestsPerClient / 2);
  const double after_first_half = resident_mib();
  run_round(kRequestsPerClient / 2, kRequestsPerClient);
  const double after_second_half = resident_mib();

  EXPECT_EQ(failures.load(), 0) << [&] {
    std::string all;
    for (const auto& line : failure_lines) all += line + "\n";
    return all;
  }();
  const auto [status, health] = setup.get_json("/api/health");
  ASSERT_EQ(status, 200) << "the server still answers";
  EXPECT_EQ(health["queue"]["waiting"], 0);
  EXPECT_EQ(health["queue"]["failed"], 0);
  EXPECT_EQ(health["queue"]["done"].get<int>(), kClients * kRequestsPerClient / 10) << health.dump();
  EXPECT_LE(health["takes"].get<int>(), 64);
  EXPECT_LT(after_second_half - after_first_half, 32.0)
      << "resident memory grew from " << after_first_half << " MiB to " << after_second_half
      << " MiB over the second half of the load";
}

}  // namespace
}  // namespace cadenza::studio
