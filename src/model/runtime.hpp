// Process-wide compute set-up: device choice and the CPU thread configuration.
#pragma once
#include <torch/torch.h>

#include <string>

namespace prealign {

// "cpu", "cuda", "cuda:1" -> torch::Device; an unavailable device is an Error.
torch::Device parse_device(const std::string& name);

// Called once at start-up (main). Sets torch's intra-op threads (0 = all cores),
// and makes OpenBLAS and OpenMP share the cores instead of fighting over them
// (see docs/performance.md for the measurements behind the choice).
void configure_threads(int threads = 0);

// If the loaded BLAS is the pthread OpenBLAS and OMP_WAIT_POLICY is unset,
// re-executes the program with OMP_WAIT_POLICY=PASSIVE (OpenMP reads it only at
// load time). Returns normally otherwise. Call first thing in main.
void reexec_with_thread_policy_if_needed(int argc, char** argv);

// e.g. "OpenBLAS 0.3.21 (openmp), 2 torch threads"
std::string describe_compute();

}  // namespace prealign
