// The scheduler thread: admit queued choices into free slots, step the engine,
// hand each finished sequence to its request's channel.
#include "serve/scheduler.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "serve/openai.hpp"

namespace prealign {

using Clock = std::chrono::steady_clock;

bool RequestChannel::wait(std::vector<ChoiceEvent>& out, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return false;
  for (; !events_.empty(); events_.pop_front()) out.push_back(std::move(events_.front()));
  return true;
}

void RequestChannel::push(ChoiceEvent e) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(e));
  }
  ready_.notify_one();
}

Scheduler::Scheduler(LlamaModel model, std::function<std::string(int)> token_text, SchedulerLimits limits)
    : engine_(std::move(model), std::move(token_text)), limits_(limits) {
  if (limits_.max_batch < 1) fail("--max-batch", "must be at least 1");
  if (limits_.max_queue < 0) fail("--max-queue", "must be >= 0 (0: no queue, only free slots)");
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  cancel_all_ = true;
  wake_.notify_all();
  thread_.join();
}

std::shared_ptr<RequestChannel> Scheduler::submit(DecodeJob job, Refusal* why) {
  const size_t n = job.contexts.size();
  auto shared = std::make_shared<const DecodeJob>(std::move(job));
  auto channel = std::make_shared<RequestChannel>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closing_) {
      *why = Refusal::closing;
      return nullptr;
    }
    if (held_ + n > static_cast<size_t>(limits_.max_batch) + static_cast<size_t>(limits_.max_queue)) {
      ++stats_.rejected;
      *why = Refusal::full;
      return nullptr;
    }
    for (size_t i = 0; i < n; ++i) queue_.push_back({channel, shared, i, {}});
    held_ += n;
  }
  wake_.notify_one();
  *why = Refusal::none;
  return channel;
}

int Scheduler::retry_after_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const double batches_ahead = static_cast<double>(queue_.size()) / limits_.max_batch + 1.0;
  return static_cast<int>(std::clamp(std::ceil(mean_sequence_seconds_ * batches_ahead), 1.0, 60.0));
}

void Scheduler::close(Clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closing_) return;
    closing_ = true;
    deadline_ = deadline;
  }
  wake_.notify_all();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SchedulerStats s = stats_;
  s.queued = queue_.size();
  s.running = held_ - queue_.size();
  return s;
}

// A choice that ends without being decoded: its client left while it was
// queued, or the shutdown deadline passed first.
void Scheduler::end_unstarted(const Pending& p, const std::string& reason) {
  ChoiceEvent e;
  e.choice = p.choice;
  e.finished = true;
  e.generation.context = p.job->contexts[p.choice];
  e.generation.finish_reason = reason;
  p.channel->push(std::move(e));
}

void Scheduler::admit(Pending p) {
  const DecodeJob& job = *p.job;
  SequenceSpec spec{job.contexts[p.choice], job.policy->state_after_start(), job.policy, job.options,
                    job.options.seed + p.choice, nullptr, nullptr};
  // Runs on this thread at every token: streams it, watches for stop strings,
  // and ends the sequence once its client has gone or the deadline passed.
  spec.on_token = [this, channel = p.channel, job = p.job, choice = p.choice, text = std::string()](
                      const TokenRecord& t) mutable {
    if (job->stream) channel->push({choice, false, t, {}, nullptr});
    if (!job->stop.empty() && !t.is_tag) {
      text += t.text;
      if (find_stop(text, job->stop) != std::string::npos) return false;  // apply_stop cuts it there
    }
    return !channel->cancelled() && !cancel_all_;
  };
  try {
    const SequenceId id = engine_.add(std::move(spec));
    p.admitted = Clock::now();
    decoding_.emplace(id, std::move(p));
  } catch (...) {
    ChoiceEvent e;
    e.choice = p.choice;
    e.finished = true;
    e.generation.context = job.contexts[p.choice];
    e.error = std::current_exception();
    p.channel->push(std::move(e));
    std::lock_guard<std::mutex> lock(mutex_);
    --held_;
  }
}

void Scheduler::loop() {
  for (;;) {
    std::vector<Pending> admitted, dropped;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      auto has_work = [&] {
        return quit_ || !queue_.empty() || engine_.active() > 0 ||
               (closing_ && !cancel_all_ && Clock::now() >= deadline_);
      };
      if (closing_ && !cancel_all_) {
        wake_.wait_until(lock, deadline_, has_work);
      } else {
        wake_.wait(lock, has_work);
      }
      if (closing_ && Clock::now() >= deadline_) cancel_all_ = true;
      if (quit_ && queue_.empty() && engine_.active() == 0) return;
      // Queued choices whose client left, or all of them past the deadline, end here.
      for (auto it = queue_.begin(); it != queue_.end();) {
        if (cancel_all_ || it->channel->cancelled()) {
          dropped.push_back(std::move(*it));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      while (!queue_.empty() && engine_.active() + admitted.size() < static_cast<size_t>(limits_.max_batch)) {
        admitted.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      held_ -= dropped.size();
      stats_.cancelled += dropped.size();
    }
    for (const Pending& p : dropped) end_unstarted(p, "cancelled");
    for (Pending& p : admitted) admit(std::move(p));
    if (engine_.active() == 0) continue;

    const size_t batch = engine_.active();
    const auto t0 = Clock::now();
    std::vector<FinishedSequence> finished = engine_.step();
    const auto t1 = Clock::now();
    uint64_t cancelled = 0;
    double sequence_seconds = 0;
    for (FinishedSequence& f : finished) {
      auto it = decoding_.find(f.id);
      if (it == decoding_.end()) continue;
      const Pending& p = it->second;
      // (A stop string also ends a sequence as "cancelled"; only a client gone or the deadline count.)
      cancelled += f.generation.finish_reason == "cancelled" && (p.channel->cancelled() || cancel_all_);
      sequence_seconds += std::chrono::duration<double>(t1 - p.admitted).count();
      ChoiceEvent e;
      e.choice = p.choice;
      e.finished = true;
      e.generation = std::move(f.generation);
      e.error = f.error;
      p.channel->push(std::move(e));
      decoding_.erase(it);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    held_ -= finished.size();
    ++stats_.steps;
    stats_.step_sequences += batch;
    stats_.cancelled += cancelled;
    stats_.busy_seconds += std::chrono::duration<double>(t1 - t0).count();
    if (!finished.empty()) {  // a moving average over the last few dozen sequences
      const double mean = sequence_seconds / static_cast<double>(finished.size());
      mean_sequence_seconds_ = mean_sequence_seconds_ == 0 ? mean : 0.9 * mean_sequence_seconds_ + 0.1 * mean;
    }
  }
}

}  // namespace prealign
