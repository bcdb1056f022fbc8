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

// Makes glibc's malloc keep freed memory for reuse instead of handing it back to
// the kernel: every block below 1 GiB comes from the heap (not a fresh mmap) and
// the heap is never trimmed. A training step allocates and frees the same large
// activation and logit tensors every step; with glibc's defaults each one was a
// fresh mapping whose pages faulted in again on first touch, which halved
// training throughput here (the LM head's forward matmul ran 4x slower inside
// training than in evaluation). Peak resident memory is unchanged: the same
// blocks are reused. MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ in the
// environment take precedence. Call first thing in main.
void keep_freed_memory_for_reuse();

// e.g. "OpenBLAS 0.3.21 (openmp), 2 torch threads"
std::string describe_compute();

}  // namespace prealign
