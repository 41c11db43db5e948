// The studio's inference queue: one worker thread runs jobs (generate, continue, duet, interpolate, attribute) one
// at a time in the order they came, so that a model is never used by two requests at once and health, the model list
// and downloads stay responsive on the HTTP threads meanwhile. A job tells what happens to it as a list of events
// ("queued", "started", "notes", "take", ... and one last "done" / "error" / "cancelled"), which the server streams
// to the client as server-sent events; a client that leaves cancels its job (JobQueue::cancel).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace cadenza::studio {

struct JobEvent {
  std::string type;
  nlohmann::json data;
};

class Job {
 public:
  Job(uint64_t id, std::string kind) : id_(id), kind_(std::move(kind)) {}

  uint64_t id() const { return id_; }
  const std::string& kind() const { return kind_; }

  // Appends an event and wakes the readers. Ignored after finish().
  void emit(const std::string& type, nlohmann::json data);
  // Appends the last event.
  void finish(const std::string& type, nlohmann::json data);
  // Waits up to `timeout` for events from index `next` on, moves them to `out` and advances `next`. Returns true
  // once the job has finished and every event has been read.
  bool read_events(size_t& next, std::vector<JobEvent>& out, std::chrono::milliseconds timeout);
  // Copies of every event so far (tests, and the JSON of a finished job).
  std::vector<JobEvent> events() const;
  bool finished() const;

  // Asks the job to stop: the work sees cancelled() (and the sampler's progress hook returns false).
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  const uint64_t id_;
  const std::string kind_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<JobEvent> events_;
  bool finished_ = false;
  std::atomic<bool> cancelled_{false};
};

class JobQueue {
 public:
  // The work of a job: runs on the worker thread, may emit events, returns the data of the final "done" event.
  // Throwing GenerationCancelled finishes the job as "cancelled"; HttpError as "error" with its status; any other
  // cadenza::Error as "error" 422 (the model refused the request); anything else as "error" 500.
  using Work = std::function<nlohmann::json(Job& job)>;

  // At most max_waiting jobs wait behind the running one.
  explicit JobQueue(size_t max_waiting);
  ~JobQueue();
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Queues work and emits "queued" {"job", "ahead"} (jobs before it, the running one included). Throws HttpError
  // 503 when max_waiting jobs are already waiting, and when the queue is stopping.
  std::shared_ptr<Job> submit(const std::string& kind, Work work);
  // The client of `job` left: a waiting job leaves the queue at once (finishing as "cancelled"); a running one is
  // asked to stop; a finished one is left alone.
  void cancel(const std::shared_ptr<Job>& job);
  // Cancels everything and joins the worker. Called by the destructor.
  void stop();

  struct Stats {
    size_t waiting = 0;
    bool running = false;
    size_t max_waiting = 0;
    uint64_t started = 0, done = 0, failed = 0, cancelled = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    std::shared_ptr<Job> job;
    Work work;
  };
  void run_worker();
  void announce_positions();  // under mutex_

  const size_t max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> waiting_;
  std::shared_ptr<Job> running_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  Stats counts_;
  std::thread worker_;
};

}  // namespace cadenza::studio
