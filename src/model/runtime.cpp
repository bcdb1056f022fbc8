#include "model/runtime.hpp"

#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <thread>

#include "core/error.hpp"
#include "model/matmul.hpp"

namespace prealign {

namespace {

// OpenBLAS entry points, looked up at run time: libtorch reaches BLAS through
// libblas.so.3, which may be OpenBLAS (any threading flavour) or the reference BLAS.
template <class Fn>
Fn openblas_symbol(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, name));
}

int openblas_parallel_mode() {  // -1 no OpenBLAS, 0 serial, 1 pthread, 2 openmp
  auto fn = openblas_symbol<int (*)()>("openblas_get_parallel");
  return fn ? fn() : -1;
}

int usable_cores() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

torch::Device parse_device(const std::string& name) {
  const std::string where = "--device " + name;
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) != 0) fail(where, "unknown device", "use cpu, cuda or cuda:N");
  int index = 0;
  if (name.size() > 4) {
    std::string digits = name.substr(5);
    if (name[4] != ':' || digits.empty() || digits.size() > 4 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      fail(where, "unknown device", "use cpu, cuda or cuda:N");
    index = std::stoi(digits);
  }
  if (!torch::cuda::is_available())
    fail(where, "CUDA is not available in this build or on this machine", "use --device cpu");
  int count = static_cast<int>(torch::cuda::device_count());
  if (index >= count)
    fail(where, "no CUDA device " + std::to_string(index) + " (" + std::to_string(count) + " present)",
         "use cuda:0 .. cuda:" + std::to_string(count - 1));
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void configure_threads(int threads) {
  // --threads, else OMP_NUM_THREADS (what a launcher sets to share a node's cores among its ranks), else all cores.
  int n = threads > 0 ? threads : usable_cores();
  if (threads <= 0)
    if (const char* env = std::getenv("OMP_NUM_THREADS"); env && std::atoi(env) > 0) n = std::atoi(env);
  torch::set_num_threads(n);
  // The pthread OpenBLAS keeps its own pool; size it like torch's. (The OpenMP
  // build follows omp_set_num_threads, which torch::set_num_threads calls.)
  if (auto set = openblas_symbol<void (*)(int)>("openblas_set_num_threads")) set(n);
  // Inter-op parallelism only helps graphs with independent branches, and its
  // threads compete with the intra-op pool. It can be set once, before any
  // parallel work; later calls throw, so only try once.
  static bool interop_done = false;
  if (!interop_done) {
    interop_done = true;
    try {
      torch::set_num_interop_threads(1);
    } catch (const std::exception&) {
      // Too late (parallel work already started): keep the default.
    }
  }
}

void reexec_with_thread_policy_if_needed(int argc, char** argv) {
  (void)argc;
  // libgomp's workers spin at every barrier by default. When anything else wants
  // the cores (a second job, a compiler, the pthread OpenBLAS's own pool), a
  // spinning worker holds a core the thread it waits for needs: measured here,
  // two threads ran a training step 2x slower than one under load, and with
  // PASSIVE as fast as one (docs/performance.md). libgomp reads the variable
  // when it loads, so setting it needs a fresh process image. A user's own
  // OMP_WAIT_POLICY is respected.
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || usable_cores() < 2) return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::execv("/proc/self/exe", argv);
  // execv only returns on failure: run on, slower but correct.
  std::fprintf(stderr, "prealign: warning: could not re-execute with OMP_WAIT_POLICY=PASSIVE; "
                       "set it yourself for faster training\n");
}

void keep_freed_memory_for_reuse() {
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) ::mallopt(M_MMAP_THRESHOLD, 1 << 30);
  if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) ::mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
}

std::string describe_compute() {
  std::string blas = "reference BLAS (slow!)";
  if (auto config = openblas_symbol<const char* (*)()>("openblas_get_config")) {
    // "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64" -> "OpenBLAS 0.3.21"
    std::string text = config();
    size_t second_space = text.find(' ', text.find(' ') + 1);
    blas = text.substr(0, second_space);
    static const char* const modes[] = {"serial", "pthread", "openmp"};
    int mode = openblas_parallel_mode();
    std::string detail = mode >= 0 && mode <= 2 ? modes[mode] : "unknown threading";
    if (auto core = openblas_symbol<const char* (*)()>("openblas_get_corename")) detail += ", " + std::string(core());
    blas += " (" + detail + ")";
  }
  const int threads = torch::get_num_threads();
  return blas + " | matmul " + matmul_backend() + " | " + std::to_string(threads) + (threads == 1 ? " thread" : " threads");
}

}  // namespace prealign
