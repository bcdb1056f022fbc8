// The serving side of continuous batching: one thread owns the model and runs
// a BatchEngine; HTTP handler threads submit a request's choices into a
// bounded queue and read tokens and results from a channel of their own
// (llama.cpp's server splits the same way: HTTP threads only enqueue tasks and
// read results). A sequence joins the running batch at the next step after a
// slot frees, and leaves it when done or when its client has gone.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "decode/batch_engine.hpp"

namespace prealign {

// What one request asks to decode: every choice's context under one policy.
struct DecodeJob {
  std::vector<std::vector<int>> contexts;  // one per choice
  std::shared_ptr<const Policy> policy;
  GenerateOptions options;                 // choice i samples with seed options.seed + i
  std::vector<std::string> stop;           // a choice ends once its text holds one of these
  bool stream = false;                     // send every token, not only the results
};

// One thing that happened to a choice: a token, or its end.
struct ChoiceEvent {
  size_t choice = 0;
  bool finished = false;
  TokenRecord token;          // when !finished
  Generation generation;      // when finished
  std::exception_ptr error;   // when decoding it failed
};

// Events of one request, from the scheduler thread to the handler's thread.
class RequestChannel {
 public:
  // Waits up to `timeout` for events and moves them into `out`; false if none came.
  bool wait(std::vector<ChoiceEvent>& out, std::chrono::milliseconds timeout);
  // The client went away: the request's sequences end at the next step.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }
  void push(ChoiceEvent e);

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<ChoiceEvent> events_;
  std::atomic<bool> cancelled_{false};
};

struct SchedulerLimits {
  int max_batch = 16;  // sequences decoded together
  int max_queue = 64;  // sequences waiting for a slot
};

struct SchedulerStats {
  size_t running = 0;            // sequences in the batch
  size_t queued = 0;             // sequences waiting for a slot
  uint64_t rejected = 0;         // requests refused because the queue was full
  uint64_t steps = 0;            // engine steps
  uint64_t step_sequences = 0;   // sequences summed over steps (/ steps = mean batch)
  uint64_t cancelled = 0;        // sequences ended because their client left or the deadline passed
  double busy_seconds = 0;       // time spent in engine steps
};

class Scheduler {
 public:
  Scheduler(LlamaModel model, std::function<std::string(int)> token_text, SchedulerLimits limits);
  ~Scheduler();  // cancels what is left and joins the thread

  enum class Refusal { none, full, closing };
  // Queues every choice of `job` (all or none) and returns the request's
  // channel; nullptr and `why` when the server holds --max-batch + --max-queue
  // sequences already (full) or is shutting down (closing).
  std::shared_ptr<RequestChannel> submit(DecodeJob job, Refusal* why);
  // Seconds a refused client should wait before retrying (Retry-After): the
  // queue ahead of it in batches, times the mean time a sequence took, 1 to 60.
  int retry_after_seconds() const;
  // Stops accepting; sequences not finished by `deadline` are cancelled
  // ("cancelled") at the next step, queued ones without being decoded.
  void close(std::chrono::steady_clock::time_point deadline);
  SchedulerStats stats() const;
  const SchedulerLimits& limits() const { return limits_; }

 private:
  // A choice waiting for a slot, or decoding.
  struct Pending {
    std::shared_ptr<RequestChannel> channel;
    std::shared_ptr<const DecodeJob> job;
    size_t choice = 0;
    std::chrono::steady_clock::time_point admitted;
  };
  void loop();
  void admit(Pending p);
  void end_unstarted(const Pending& p, const std::string& reason);

  BatchEngine engine_;  // touched by the scheduler thread only
  SchedulerLimits limits_;
  std::map<SequenceId, Pending> decoding_;  // scheduler thread only
  std::atomic<bool> cancel_all_{false};     // the shutdown deadline passed

  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  size_t held_ = 0;  // sequences queued or decoding
  bool closing_ = false, quit_ = false;
  std::chrono::steady_clock::time_point deadline_;
  SchedulerStats stats_;
  double mean_sequence_seconds_ = 0;  // moving average, for Retry-After

  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace prealign
