// The collectives training needs, on torch.distributed's c10d engine: a
// TCPStore rendezvous at MASTER_ADDR:MASTER_PORT (rank 0 hosts it), then Gloo
// for CPU tensors or NCCL for CUDA ones. A world of one has no store and no
// process group: every collective is the identity, so the training loop is the
// same code at any world size.
//
// A lost peer never hangs a rank: a failed collective is turned into an Error
// naming the rank that went away (found from the heartbeats every rank keeps
// in the store), and a peer silent for longer than the heartbeat timeout stops
// this rank even when no collective is running.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include "dist/dist_env.hpp"

namespace prealign {

class Heartbeat;

struct ProcessGroupOptions {
  std::chrono::seconds timeout{1800};           // rendezvous and any one collective (torch's default)
  std::chrono::seconds heartbeat_timeout{60};   // a peer silent this long is declared lost
};

// A pending collective; wait() rethrows a failure as an Error naming the lost rank.
class PendingReduce {
 public:
  PendingReduce() = default;
  PendingReduce(c10::intrusive_ptr<c10d::Work> work, const class ProcessGroup* group);
  void wait();

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  const class ProcessGroup* group_ = nullptr;
};

class ProcessGroup {
 public:
  ProcessGroup();  // a world of one
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  // Joins the run described by `env` (a world of one when env is not distributed).
  // Blocks until every rank has joined or the timeout passes (an Error then).
  static std::unique_ptr<ProcessGroup> join(const DistEnv& env, torch::Device device,
                                            const ProcessGroupOptions& options = {});

  int rank() const { return env_.rank; }
  int size() const { return env_.world_size; }
  bool is_main() const { return env_.rank == 0; }
  const DistEnv& env() const { return env_; }
  std::string backend() const;  // "none", "gloo" or "nccl"

  // In-place sum of `t` over all ranks.
  void all_reduce_sum(torch::Tensor& t) const;
  PendingReduce all_reduce_sum_async(torch::Tensor& t) const;
  // Sums of a few scalars (losses, token counts), in double.
  std::vector<double> sum(const std::vector<double>& values) const;
  // Rank 0's values of these tensors, in place, on every rank.
  void broadcast_from_main(std::vector<torch::Tensor>& tensors) const;
  void barrier() const;
  // The end of a successful run: stops the heartbeat, then waits for every rank
  // (rank 0 hosts the store, so it must not leave while others still use it).
  void shutdown();

  // Turns a collective's failure into an Error that names the lost rank(s).
  [[noreturn]] void fail_collective(const std::string& during, const std::exception& cause) const;

 private:
  DistEnv env_;
  ProcessGroupOptions options_;
  torch::Device device_{torch::kCPU};
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::unique_ptr<Heartbeat> heartbeat_;
};

}  // namespace prealign
