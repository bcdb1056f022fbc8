#include "dist/dist_env.hpp"

#include <cstdlib>

#include "core/error.hpp"

namespace prealign {
namespace {

const char* const kNames[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"};

int parse_int(const std::map<std::string, std::string>& vars, const std::string& name, int lo, int hi) {
  const std::string& text = vars.at(name);
  const std::string where = "environment variable " + name + "=" + text;
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    fail(where, "not a non-negative integer", "set it as torchrun does, e.g. RANK=0");
  const int v = std::stoi(text);
  if (v < lo || v > hi)
    fail(where, "out of range (" + std::to_string(lo) + ".." + std::to_string(hi) + ")",
         "check the launch: every rank needs its own RANK below WORLD_SIZE");
  return v;
}

}  // namespace

DistEnv DistEnv::from_environment() {
  std::map<std::string, std::string> vars;
  for (const char* name : kNames)
    if (const char* v = std::getenv(name)) vars[name] = v;
  return from_variables(vars);
}

DistEnv DistEnv::from_variables(const std::map<std::string, std::string>& vars) {
  DistEnv e;
  if (!vars.count("WORLD_SIZE") && !vars.count("RANK")) return e;  // a plain single process
  for (const char* name : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"})
    if (!vars.count(name))
      fail(std::string("environment variable ") + name, "missing in a multi-process launch",
           "set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT together (prealign launch does), or none of them");
  e.world_size = parse_int(vars, "WORLD_SIZE", 1, 1 << 20);
  e.rank = parse_int(vars, "RANK", 0, e.world_size - 1);
  e.master_addr = vars.at("MASTER_ADDR");
  if (e.master_addr.empty()) fail("environment variable MASTER_ADDR", "is empty", "set it to rank 0's host name or address");
  e.master_port = parse_int(vars, "MASTER_PORT", 1, 65535);
  // LOCAL_* only size the per-rank thread count and pick a GPU. torchrun sets both; a
  // scheduler script may set only LOCAL_RANK (Slurm's SLURM_LOCALID), then the node's
  // size is unknown and taken as LOCAL_RANK + 1 at least.
  e.local_rank = vars.count("LOCAL_RANK") ? parse_int(vars, "LOCAL_RANK", 0, e.world_size - 1) : 0;
  e.local_world_size = vars.count("LOCAL_WORLD_SIZE") ? parse_int(vars, "LOCAL_WORLD_SIZE", 1, e.world_size)
                                                      : e.local_rank + 1;
  if (e.local_rank >= e.local_world_size)
    fail("environment variable LOCAL_RANK=" + vars.at("LOCAL_RANK"), "not below LOCAL_WORLD_SIZE",
         "give every process on a node its own LOCAL_RANK from 0 to LOCAL_WORLD_SIZE - 1");
  return e;
}

}  // namespace prealign
