// The studio's job queue (src/studio/jobs.h): one worker, jobs in the order they came, a bounded wait list,
// cancellation of waiting and running jobs, and how each way a job can end is reported.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>

#include "generate/sampler.h"
#include "studio/http_error.h"
#include "studio/jobs.h"
#include "support/test_support.h"

namespace cadenza::studio {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Reads a job's events until it finishes (failing after 60 s).
std::vector<JobEvent> all_events(Job& job) {
  std::vector<JobEvent> events;
  size_t next = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!job.read_events(next, events, 100ms)) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "job " << job.id() << " did not finish within 60 s";
      break;
    }
  }
  return events;
}

const JobEvent* find(const std::vector<JobEvent>& events, const std::string& type) {
  for (const JobEvent& event : events)
    if (event.type == type) return &event;
  return nullptr;
}

// Waits until `condition` holds (failing after 60 s).
template <typename Condition>
void wait_for(Condition condition, const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "timed out waiting for " << what;
      return;
    }
    std::this_thread::sleep_for(5ms);
  }
}

TEST(JobQueue, RunsJobsOneAtATimeInTheOrderTheyCame) {
  JobQueue queue(8);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> running{0}, most{0};
  std::vector<int> ran;
  std::mutex ran_mutex;
  auto work = [&](int index) {
    return [&, index](Job&) {
      const int now = ++running;
      most = std::max(most.load(), now);
      released.wait();
      {
        std::lock_guard lock(ran_mutex);
        ran.push_back(index);
      }
      --running;
      return json{{"index", index}};
    };
  };
  std::vector<std::shared_ptr<Job>> jobs;
  for (int i = 0; i < 5; ++i) jobs.push_back(queue.submit("test", work(i)));
  wait_for([&] { return queue.stats().running; }, "the first job to start");
  EXPECT_EQ(queue.stats().waiting, 4u);
  // Each job was told how many were ahead of it when it was queued.
  EXPECT_EQ(jobs[4]->events().front().type, "queued");
  EXPECT_EQ(jobs[4]->events().front().data["ahead"], 4);
  release.set_value();
  for (int i = 0; i < 5; ++i) {
    const auto events = all_events(*jobs[i]);
    ASSERT_NE(find(events, "started"), nullptr);
    EXPECT_EQ(find(events, "started")->data["order"], i + 1);
    EXPECT_EQ(events.back().type, "done");
    EXPECT_EQ(events.back().data["index"], i);
  }
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(most.load(), 1) << "two jobs ran at once";
  EXPECT_EQ(queue.stats().done, 5u);
}

TEST(JobQueue, IsBoundedAndAWaitingJobCanLeave) {
  JobQueue queue(2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto block = [released](Job&) {
    released.wait();
    return json::object();
  };
  auto first = queue.submit("test", block);
  wait_for([&] { return queue.stats().running; }, "the first job to start");
  auto second = queue.submit("test", block);
  auto third = queue.submit("test", block);
  EXPECT_THROW_WITH(queue.submit("test", block), HttpError, {"queue is full", "2"});
  try {
    queue.submit("test", block);
  } catch (const HttpError& error) {
    EXPECT_EQ(error.status(), 503);
  }
  queue.cancel(second);  // its client left before it started
  EXPECT_TRUE(second->finished());
  EXPECT_EQ(second->events().back().type, "cancelled");
  EXPECT_EQ(third->events().back().type, "queued");
  EXPECT_EQ(third->events().back().data["ahead"], 1) << "the third moved up";
  EXPECT_NO_THROW(queue.submit("test", [](Job&) { return json::object(); })) << "a place was freed";
  release.set_value();
  EXPECT_EQ(all_events(*third).back().type, "done");
  EXPECT_EQ(find(all_events(*second), "started"), nullptr) << "a job that left never starts";
}

TEST(JobQueue, ReportsHowEachJobEnded) {
  JobQueue queue(8);
  auto refused = queue.submit("test", [](Job&) -> json { throw HttpError(404, "no take abc"); });
  auto rejected = queue.submit("test", [](Job&) -> json { throw Error("generate: --bars must be a number"); });
  auto broken = queue.submit("test", [](Job&) -> json { throw std::runtime_error("oops"); });
  auto stopped = queue.submit("test", [](Job&) -> json { throw GenerationCancelled(); });
  auto streamed = queue.submit("test", [](Job& job) {
    job.emit("notes", {{"n", 1}});
    job.emit("notes", {{"n", 2}});
    return json{{"takes", {"x"}}};
  });
  auto check = [](Job& job, const std::string& type, int status, const std::string& words) {
    const auto events = all_events(job);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().type, type);
    if (status) {
      EXPECT_EQ(events.back().data["status"], status);
    }
    EXPECT_NE(events.back().data.dump().find(words), std::string::npos) << events.back().data.dump();
  };
  check(*refused, "error", 404, "no take abc");
  check(*rejected, "error", 422, "--bars");
  check(*broken, "error", 500, "internal error: oops");
  check(*stopped, "cancelled", 0, "cancelled");
  // Besides "queued" (again each time the job moves up): started, notes, notes, done.
  std::vector<JobEvent> events;
  for (const JobEvent& event : all_events(*streamed))
    if (event.type != "queued") events.push_back(event);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].type, "started");
  EXPECT_EQ(events[1].data["n"], 1);
  EXPECT_EQ(events[2].data["n"], 2);
  EXPECT_EQ(events[3].data["takes"][0], "x");
  const auto stats = queue.stats();
  EXPECT_EQ(stats.failed, 3u);
  EXPECT_EQ(stats.cancelled, 1u);
  EXPECT_EQ(stats.done, 1u);
}

TEST(JobQueue, CancellingARunningJobAndStoppingTheQueue) {
  auto queue = std::make_unique<JobQueue>(8);
  std::atomic<bool> saw_cancel{false};
  auto running = queue->submit("test", [&](Job& job) {
    while (!job.cancelled()) std::this_thread::sleep_for(1ms);
    saw_cancel = true;
    throw GenerationCancelled();
    return json();
  });
  auto waiting = queue->submit("test", [](Job&) { return json::object(); });
  wait_for([&] { return queue->stats().running; }, "the job to start");
  queue->cancel(running);
  EXPECT_EQ(all_events(*running).back().type, "cancelled");
  EXPECT_TRUE(saw_cancel);
  EXPECT_EQ(all_events(*waiting).back().type, "done");
  // Stopping cancels what waits and what runs, and refuses new work.
  auto endless = queue->submit("test", [](Job& job) {
    while (!job.cancelled()) std::this_thread::sleep_for(1ms);
    throw GenerationCancelled();
    return json();
  });
  auto behind = queue->submit("test", [](Job&) { return json::object(); });
  wait_for([&] { return endless->events().size() >= 2; }, "the endless job to start");
  queue->stop();
  EXPECT_TRUE(endless->finished());
  EXPECT_EQ(endless->events().back().type, "cancelled");
  EXPECT_EQ(behind->events().back().type, "cancelled");
  EXPECT_THROW_WITH(queue->submit("test", [](Job&) { return json::object(); }), HttpError, {"shutting down"});
}

}  // namespace
}  // namespace cadenza::studio
