// Liveness of the ranks of a run, kept in the rendezvous store: every rank
// increments its own counter every half second from a thread of its own (with
// its own store connection). Two uses:
//  - after a collective fails, lost_ranks() says which peers stopped counting,
//    so the error names them instead of a socket address;
//  - a watchdog: a peer silent for longer than `timeout` stops this rank with a
//    message, even when no collective is running to notice (a frozen node, a
//    stopped process, a network partition that TCP has not yet seen).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace prealign {

class Heartbeat {
 public:
  Heartbeat(std::string host, int port, int rank, int world_size, std::chrono::seconds timeout);
  ~Heartbeat();

  // Ranks whose counter does not move within a few beats. Contains 0 when the
  // store itself (hosted by rank 0) cannot be reached.
  std::vector<int> lost_ranks() const;

 private:
  void run();
  std::string host_;
  int port_, rank_, world_size_;
  std::chrono::seconds timeout_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

// "rank 1", "ranks 1, 3"
std::string describe_ranks(const std::vector<int>& ranks);

}  // namespace prealign
