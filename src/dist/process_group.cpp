#include "dist/process_group.hpp"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>

#include "core/error.hpp"
#include "dist/background_failure.hpp"
#include "dist/heartbeat.hpp"

namespace prealign {
namespace {

std::string where_of(const DistEnv& env) { return "rank " + std::to_string(env.rank); }

c10::intrusive_ptr<c10d::Store> rendezvous(const DistEnv& env, std::chrono::seconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<uint16_t>(env.master_port);
  o.isServer = env.rank == 0;
  o.numWorkers = static_cast<size_t>(env.world_size);
  o.waitWorkers = true;
  o.timeout = timeout;
  try {
    return c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
  } catch (const std::exception& e) {
    fail(where_of(env), "rendezvous at " + env.master_addr + ":" + std::to_string(env.master_port) +
                            " failed: " + e.what(),
         env.rank == 0 ? "is the port free? pick another MASTER_PORT"
                       : "is rank 0 running, and is MASTER_ADDR:MASTER_PORT reachable from here?");
  }
}

c10::intrusive_ptr<c10d::ProcessGroup> make_group(const DistEnv& env, torch::Device device,
                                                  const c10::intrusive_ptr<c10d::Store>& store,
                                                  std::chrono::seconds timeout) {
  if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
    auto o = c10d::ProcessGroupNCCL::Options::create();
    o->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size, o);
#else
    fail(where_of(env), "the model is on CUDA but this libtorch has no NCCL process group",
         "build prealign against a CUDA libtorch with NCCL (scripts/gpu_check.sh), or train with --device cpu");
#endif
  }
#ifdef USE_C10D_GLOO
  auto o = c10d::ProcessGroupGloo::Options::create(timeout);
  // Gloo picks the interface by resolving the host name; MASTER_ADDR is how peers reach rank 0,
  // and on one machine (the common test case) loopback is what every rank shares.
  // GLOO_SOCKET_IFNAME names the interface, as in PyTorch.
  const bool local = env.master_addr == "127.0.0.1" || env.master_addr == "localhost";
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  else
    o->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                               : c10d::ProcessGroupGloo::createDefaultDevice());
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, o);
#else
  fail(where_of(env), "this build has no Gloo process group", "install libgloo-dev and rebuild (scripts/setup.sh)");
#endif
}

}  // namespace

PendingReduce::PendingReduce(c10::intrusive_ptr<c10d::Work> work, const ProcessGroup* group)
    : work_(std::move(work)), group_(group) {}

void PendingReduce::wait() {
  if (!work_) return;
  try {
    work_->wait();
  } catch (const std::exception& e) {
    group_->fail_collective("all-reduce", e);
  }
  work_.reset();
}

ProcessGroup::ProcessGroup() = default;

ProcessGroup::~ProcessGroup() { heartbeat_.reset(); }

std::unique_ptr<ProcessGroup> ProcessGroup::join(const DistEnv& env, torch::Device device,
                                                 const ProcessGroupOptions& options) {
  auto g = std::make_unique<ProcessGroup>();
  g->env_ = env;
  g->options_ = options;
  g->device_ = device;
  if (!env.distributed()) return g;
  g->store_ = rendezvous(env, options.timeout);
  report_background_failures(env.rank, env.master_addr, env.master_port);
  g->heartbeat_ = std::make_unique<Heartbeat>(env.master_addr, env.master_port, env.rank, env.world_size,
                                              options.heartbeat_timeout);
  try {
    g->group_ = make_group(env, device, g->store_, options.timeout);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    g->fail_collective("creating the " + std::string(device.is_cuda() ? "NCCL" : "Gloo") + " process group", e);
  }
  return g;
}

void ProcessGroup::shutdown() {
  if (!group_) return;
  heartbeat_.reset();  // before the barrier: once rank 0 leaves, its store is gone
  barrier();
}

std::string ProcessGroup::backend() const { return group_ ? group_->getBackendName() : "none"; }

void ProcessGroup::all_reduce_sum(torch::Tensor& t) const { all_reduce_sum_async(t).wait(); }

PendingReduce ProcessGroup::all_reduce_sum_async(torch::Tensor& t) const {
  if (!group_) return {};
  std::vector<torch::Tensor> list{t};
  try {
    return PendingReduce(group_->allreduce(list, c10d::AllreduceOptions{}), this);
  } catch (const std::exception& e) {
    fail_collective("all-reduce", e);
  }
}

std::vector<double> ProcessGroup::sum(const std::vector<double>& values) const {
  if (!group_ || values.empty()) return values;
  torch::Tensor t = torch::tensor(values, torch::kFloat64).to(device_);
  all_reduce_sum(t);
  t = t.cpu();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

void ProcessGroup::broadcast_from_main(std::vector<torch::Tensor>& tensors) const {
  if (!group_) return;
  for (auto& t : tensors) {
    std::vector<torch::Tensor> list{t};
    try {
      group_->broadcast(list, c10d::BroadcastOptions{})->wait();
    } catch (const std::exception& e) {
      fail_collective("broadcast", e);
    }
  }
}

void ProcessGroup::barrier() const {
  if (!group_) return;
  try {
    group_->barrier(c10d::BarrierOptions{})->wait();
  } catch (const std::exception& e) {
    fail_collective("barrier", e);
  }
}

void ProcessGroup::fail_collective(const std::string& during, const std::exception& cause) const {
  std::vector<int> lost = heartbeat_ ? heartbeat_->lost_ranks() : std::vector<int>{};
  const std::string who = lost.empty() ? "a peer failed" : "lost " + describe_ranks(lost) + " (it stopped or died)";
  fail(where_of(env_), who + " during " + during + ": " + cause.what(),
       "every rank stops when one is lost; fix the cause (see that rank's own error) and restart with --resume");
}

}  // namespace prealign
