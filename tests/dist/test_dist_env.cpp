// The torchrun environment convention, the launcher's per-rank environment, and
// a world of one (no variables set) behaving as a plain process.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "dist/dist_env.hpp"
#include "dist/launcher.hpp"
#include "dist/process_group.hpp"

using namespace prealign;

TEST(DistEnv, NoVariablesIsAWorldOfOne) {
  DistEnv e = DistEnv::from_variables({});
  EXPECT_FALSE(e.distributed());
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.world_size, 1);
  EXPECT_TRUE(e.is_main());
}

TEST(DistEnv, ReadsTheTorchrunVariables) {
  DistEnv e = DistEnv::from_variables({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"},
                                       {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "10.0.0.1"},
                                       {"MASTER_PORT", "29500"}, {"TORCHELASTIC_RUN_ID", "ignored"}});
  EXPECT_TRUE(e.distributed());
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 2);
  EXPECT_EQ(e.master_addr, "10.0.0.1");
  EXPECT_EQ(e.master_port, 29500);
  EXPECT_FALSE(e.is_main());
  // A scheduler script may set LOCAL_RANK alone (Slurm's SLURM_LOCALID).
  DistEnv s = DistEnv::from_variables(
      {{"RANK", "5"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}});
  EXPECT_EQ(s.local_rank, 1);
  EXPECT_GE(s.local_world_size, 2);
}

TEST(DistEnv, APartialOrWrongSetIsAnErrorNamingTheVariable) {
  auto message = [](std::map<std::string, std::string> vars) {
    try {
      DistEnv::from_variables(vars);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}).find("MASTER_PORT"), std::string::npos);
  EXPECT_NE(message({{"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}).find("RANK"), std::string::npos);
  EXPECT_NE(message({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}).find("RANK=2"),
            std::string::npos);
  EXPECT_NE(message({{"RANK", "x"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}).find("RANK=x"),
            std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
                .find("MASTER_PORT"),
            std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "2"}, {"LOCAL_WORLD_SIZE", "2"},
                     {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}})
                .find("LOCAL_RANK"),
            std::string::npos);
}

TEST(Launcher, EachRankGetsTorchrunsEnvironment) {
  LaunchOptions o;
  o.nproc = 4;
  o.nnodes = 3;
  o.node_rank = 2;
  auto env = rank_environment(o, 1, "10.1.2.3", 29400, 2);
  std::map<std::string, std::string> m(env.begin(), env.end());
  EXPECT_EQ(m["RANK"], "9");  // node 2 of 3, 4 ranks per node, local rank 1
  EXPECT_EQ(m["LOCAL_RANK"], "1");
  EXPECT_EQ(m["WORLD_SIZE"], "12");
  EXPECT_EQ(m["LOCAL_WORLD_SIZE"], "4");
  EXPECT_EQ(m["GROUP_RANK"], "2");
  EXPECT_EQ(m["MASTER_ADDR"], "10.1.2.3");
  EXPECT_EQ(m["MASTER_PORT"], "29400");
  EXPECT_EQ(m["OMP_NUM_THREADS"], "2");
  // What the launcher writes is what a rank reads.
  DistEnv e = DistEnv::from_variables(m);
  EXPECT_EQ(e.rank, 9);
  EXPECT_EQ(e.world_size, 12);
}

TEST(Launcher, BadArgumentsAreErrors) {
  LaunchOptions o;
  o.command = {"train"};
  o.nproc = 0;
  EXPECT_THROW(launch(o, "/bin/true"), Error);
  o.nproc = 1;
  o.nnodes = 2;  // several nodes need --master
  EXPECT_THROW(launch(o, "/bin/true"), Error);
  o.master = "host:notaport";
  EXPECT_THROW(launch(o, "/bin/true"), Error);
  o.nnodes = 1;
  o.master = "";
  o.command = {};
  EXPECT_THROW(launch(o, "/bin/true"), Error);
}

TEST(Launcher, ReportsAFailingRankAndItsStatus) {
  LaunchOptions o;
  o.nproc = 2;
  o.grace_seconds = 2;
  o.command = {"-c", "if [ \"$RANK\" = 1 ]; then exit 7; fi; sleep 30"};
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(launch(o, "/bin/sh"), 7);  // rank 1's status; rank 0 was stopped
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  o.command = {"-c", "exit 0"};
  EXPECT_EQ(launch(o, "/bin/sh"), 0);
}

TEST(ProcessGroup, AWorldOfOneHasIdentityCollectives) {
  auto g = ProcessGroup::join(DistEnv{}, torch::kCPU);
  EXPECT_EQ(g->size(), 1);
  EXPECT_EQ(g->backend(), "none");
  torch::Tensor t = torch::tensor({1.5f, -2.0f});
  g->all_reduce_sum(t);
  EXPECT_FLOAT_EQ(t[0].item<float>(), 1.5f);
  EXPECT_EQ(g->sum({2.0, 3.0}), (std::vector<double>{2.0, 3.0}));
  g->barrier();
  g->shutdown();
}
