// Where this process sits in a multi-process run, read from the environment
// torchrun (and `prealign launch`, and a Slurm script following docs/scale.md)
// sets: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT.
// TORCHELASTIC_* variables are ignored. With none of them set the process is
// the whole run (rank 0 of 1), exactly as a plain `prealign train`.
#pragma once
#include <map>
#include <string>

namespace prealign {

struct DistEnv {
  int rank = 0, world_size = 1;
  int local_rank = 0, local_world_size = 1;
  std::string master_addr;  // host of rank 0, where the rendezvous store listens
  int master_port = 0;

  bool distributed() const { return world_size > 1; }
  bool is_main() const { return rank == 0; }

  // Reads the process environment. A partial or inconsistent set of variables
  // is an Error that names the variable (a half-configured rank must never
  // silently train alone).
  static DistEnv from_environment();
  // The same from an explicit map (tests, the launcher).
  static DistEnv from_variables(const std::map<std::string, std::string>& vars);
};

}  // namespace prealign
