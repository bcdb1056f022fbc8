// `prealign launch`: starts the local ranks of a data-parallel run the way
// torchrun does — one child per rank with RANK, LOCAL_RANK, WORLD_SIZE,
// LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR and MASTER_PORT set — forwards
// SIGINT/SIGTERM/SIGHUP to them, and when one rank fails stops the others
// with a message naming it. On several nodes, run one launcher per node with
// the same --master and --nnodes and its own --node-rank (docs/scale.md).
#pragma once
#include <string>
#include <vector>

namespace prealign {

struct LaunchOptions {
  int nproc = 1;             // ranks on this node
  int nnodes = 1;
  int node_rank = 0;
  std::string master;        // ADDR:PORT of rank 0's rendezvous store; default 127.0.0.1:<free port>
  int grace_seconds = 10;    // after SIGTERM, how long ranks get before SIGKILL
  std::vector<std::string> command;  // prealign's own arguments for every rank, e.g. {"train", ...}

  template <class V>
  void visit(V& v) {
    v("nproc", nproc, "ranks to start on this node (one per GPU, or per CPU socket/core group)");
    v("nnodes", nnodes, "nodes in the run");
    v("node_rank", node_rank, "this node's index, 0 .. nnodes-1 (node 0 hosts rank 0)");
    v("master", master, "ADDR:PORT where rank 0 listens (needed with --nnodes > 1; default 127.0.0.1 and a free port)");
    v("grace_seconds", grace_seconds, "seconds the other ranks get to stop after one fails, before SIGKILL");
  }
};

// Runs the ranks to completion. Returns 0 when every rank exits 0; otherwise
// the first failure's exit status (128 + signal for a killed rank).
int launch(const LaunchOptions& options, const std::string& executable);

// The environment of one local rank (what torchrun would set).
std::vector<std::pair<std::string, std::string>> rank_environment(const LaunchOptions& o, int local_rank,
                                                                  const std::string& addr, int port, int threads);

}  // namespace prealign
