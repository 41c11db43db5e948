#include "studio/jobs.h"

#include <exception>

#include "generate/sampler.h"
#include "studio/http_error.h"

namespace cadenza::studio {

void Job::emit(const std::string& type, nlohmann::json data) {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    events_.push_back({type, std::move(data)});
  }
  changed_.notify_all();
}

void Job::finish(const std::string& type, nlohmann::json data) {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    events_.push_back({type, std::move(data)});
    finished_ = true;
  }
  changed_.notify_all();
}

bool Job::read_events(size_t& next, std::vector<JobEvent>& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return next < events_.size() || finished_; });
  for (; next < events_.size(); ++next) out.push_back(events_[next]);
  return finished_ && next == events_.size();
}

std::vector<JobEvent> Job::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

bool Job::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

JobQueue::JobQueue(size_t max_waiting) : max_waiting_(max_waiting) {
  counts_.max_waiting = max_waiting;
  worker_ = std::thread([this] { run_worker(); });
}

JobQueue::~JobQueue() {
  stop();
}

std::shared_ptr<Job> JobQueue::submit(const std::string& kind, Work work) {
  std::lock_guard lock(mutex_);
  if (stopping_) throw HttpError(503, "the studio is shutting down");
  if (waiting_.size() >= max_waiting_)
    throw HttpError(503, "the queue is full: " + std::to_string(waiting_.size()) + " jobs are waiting (at most " +
                             std::to_string(max_waiting_) + "); try again shortly");
  auto job = std::make_shared<Job>(next_id_++, kind);
  waiting_.push_back({job, std::move(work)});
  const size_t ahead = waiting_.size() - 1 + (running_ ? 1 : 0);
  job->emit("queued", {{"job", job->id()}, {"kind", kind}, {"ahead", ahead}});
  wake_.notify_all();
  return job;
}

void JobQueue::announce_positions() {
  size_t ahead = running_ ? 1 : 0;
  for (const Entry& entry : waiting_) entry.job->emit("queued", {{"job", entry.job->id()}, {"ahead", ahead++}});
}

void JobQueue::cancel(const std::shared_ptr<Job>& job) {
  if (!job) return;
  job->cancel();
  std::lock_guard lock(mutex_);
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if (it->job != job) continue;
    waiting_.erase(it);
    ++counts_.cancelled;
    job->finish("cancelled", {{"message", "cancelled before it started (the client left)"}});
    announce_positions();
    return;
  }
}

void JobQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
    if (running_) running_->cancel();
    for (Entry& entry : waiting_) {
      entry.job->cancel();
      entry.job->finish("cancelled", {{"message", "the studio is shutting down"}});
    }
    waiting_.clear();
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

JobQueue::Stats JobQueue::stats() const {
  std::lock_guard lock(mutex_);
  Stats stats = counts_;
  stats.waiting = waiting_.size();
  stats.running = running_ != nullptr;
  return stats;
}

void JobQueue::run_worker() {
  for (;;) {
    Entry entry;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
      if (stopping_) return;
      entry = std::move(waiting_.front());
      waiting_.pop_front();
      running_ = entry.job;
      ++counts_.started;
      entry.job->emit("started", {{"job", entry.job->id()}, {"order", counts_.started}});
      announce_positions();
    }
    Job& job = *entry.job;
    // The last event is sent after the counts are updated, so that a client that has read it sees them.
    std::string type = "done";
    nlohmann::json data;
    try {
      if (job.cancelled()) throw GenerationCancelled();
      data = entry.work(job);
      if (job.cancelled()) throw GenerationCancelled();
    } catch (const GenerationCancelled&) {
      type = "cancelled";
      data = {{"message", "cancelled (the client left or the studio is stopping)"}};
    } catch (const HttpError& error) {
      type = "error";
      data = {{"status", error.status()}, {"message", error.what()}};
    } catch (const Error& error) {
      type = "error";
      data = {{"status", 422}, {"message", error.what()}};
    } catch (const std::exception& error) {
      type = "error";
      data = {{"status", 500}, {"message", std::string("internal error: ") + error.what()}};
    }
    {
      std::lock_guard lock(mutex_);
      running_.reset();
      if (type == "done")
        ++counts_.done;
      else if (type == "cancelled")
        ++counts_.cancelled;
      else
        ++counts_.failed;
    }
    job.finish(type, std::move(data));
  }
}

}  // namespace cadenza::studio
