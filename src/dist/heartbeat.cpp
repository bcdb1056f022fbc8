#include "dist/heartbeat.hpp"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <unistd.h>

#include <cstdio>
#include <map>

namespace prealign {
namespace {

constexpr auto kBeat = std::chrono::milliseconds(500);

std::string key_of(int rank) { return "prealign/heartbeat/" + std::to_string(rank); }

// A store client of its own: a TCPStore connection is not shared between threads.
c10::intrusive_ptr<c10d::TCPStore> connect(const std::string& host, int port) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<uint16_t>(port);
  o.isServer = false;
  o.waitWorkers = false;
  o.timeout = std::chrono::seconds(5);
  return c10::make_intrusive<c10d::TCPStore>(host, o);
}

int64_t read_counter(c10d::TCPStore& store, int rank) { return store.add(key_of(rank), 0); }

}  // namespace

std::string describe_ranks(const std::vector<int>& ranks) {
  std::string s = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); ++i) s += (i ? ", " : "") + std::to_string(ranks[i]);
  return s;
}

Heartbeat::Heartbeat(std::string host, int port, int rank, int world_size, std::chrono::seconds timeout)
    : host_(std::move(host)), port_(port), rank_(rank), world_size_(world_size), timeout_(timeout) {
  thread_ = std::thread([this] { run(); });
}

Heartbeat::~Heartbeat() {
  stop_ = true;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Beats, and watches the others: the last time each peer's counter moved.
void Heartbeat::run() {
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = connect(host_, port_);
  } catch (const std::exception&) {
    return;  // the collectives will report the missing store
  }
  using clock = std::chrono::steady_clock;
  std::map<int, std::pair<int64_t, clock::time_point>> seen;  // rank -> (counter, when it last moved)
  auto next_watch = clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    try {
      store->add(key_of(rank_), 1);
      if (clock::now() >= next_watch) {
        next_watch = clock::now() + std::chrono::seconds(2);
        for (int r = 0; r < world_size_; ++r) {
          if (r == rank_) continue;
          const int64_t c = read_counter(*store, r);
          auto it = seen.find(r);
          if (it == seen.end() || it->second.first != c) {
            seen[r] = {c, clock::now()};
          } else if (clock::now() - it->second.second > timeout_) {
            std::fprintf(stderr, "prealign: error: rank %d: rank %d has sent no heartbeat for %llds; stopping\n",
                         rank_, r, static_cast<long long>(timeout_.count()));
            std::fflush(stderr);
            ::_exit(1);  // the main thread may be blocked in a collective that never returns
          }
        }
      }
    } catch (const std::exception&) {
      // The store (hosted by rank 0) is gone. Rank 0's own collectives, or ours,
      // report it; if none is running, a silent store is a lost rank 0 too.
      if (rank_ != 0 && !stop_) {
        std::fprintf(stderr, "prealign: error: rank %d: lost the rendezvous store at %s:%d (rank 0 is gone); stopping\n",
                     rank_, host_.c_str(), port_);
        std::fflush(stderr);
        ::_exit(1);
      }
      return;
    }
    wake_.wait_for(lock, kBeat, [this] { return stop_.load(); });
  }
}

std::vector<int> Heartbeat::lost_ranks() const {
  std::vector<int> lost;
  try {
    auto store = connect(host_, port_);
    std::vector<int64_t> before(world_size_), after(world_size_);
    for (int r = 0; r < world_size_; ++r) before[r] = r == rank_ ? 0 : read_counter(*store, r);
    std::this_thread::sleep_for(6 * kBeat);
    for (int r = 0; r < world_size_; ++r) after[r] = r == rank_ ? 1 : read_counter(*store, r);
    for (int r = 0; r < world_size_; ++r)
      if (after[r] == before[r]) lost.push_back(r);
  } catch (const std::exception&) {
    lost = {0};  // no store: rank 0, which hosts it, is gone
  }
  return lost;
}

}  // namespace prealign
