#include "train/throughput.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/files.hpp"
#include "core/json_io.hpp"
#include "model/matmul.hpp"

namespace prealign {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown cpu";
}

std::string cache_key(torch::Device device, torch::ScalarType dtype) {
  std::string where = device.is_cuda() ? "cuda:" + std::to_string(device.index()) : cpu_model();
  return where + " | " + std::to_string(torch::get_num_threads()) + " threads | " + matmul_backend() + " | " +
         c10::toString(dtype);
}

}  // namespace

double measure_matmul_peak_flops(torch::Device device, int n, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  AutocastGuard autocast(dtype);
  auto a = torch::randn({n, n}, torch::TensorOptions().device(device));
  auto b = torch::randn({n, n}, torch::TensorOptions().device(device));
  auto c = prealign::matmul(a, b);  // warm-up
  double best = 0;
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    c = prealign::matmul(a, b);
    (void)c.sum().item<float>();  // synchronise on devices that run asynchronously
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * n * n * static_cast<double>(n) / s);
  }
  return best;
}

std::string peak_flops_cache_path() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? xdg : std::string(home && *home ? home : "/tmp") + "/.cache";
  return base + "/prealign/peak_flops.json";
}

namespace {

json read_cache(const std::string& path) {
  try {
    if (file_exists(path)) {
      json cache = read_json_file(path);
      if (cache.is_object()) return cache;
    }
  } catch (const std::exception&) {
    // an unreadable cache is measured again
  }
  return json::object();
}

void write_cache(const std::string& path, const json& cache) {
  try {
    make_directories(std::filesystem::path(path).parent_path().string());
    write_json_file(path, cache);
  } catch (const std::exception&) {
    // No writable cache directory: measure again next time.
  }
}

}  // namespace

double peak_flops(torch::Device device, torch::ScalarType dtype) {
  if (const char* forced = std::getenv("PREALIGN_PEAK_FLOPS")) {
    const double v = std::atof(forced);
    if (v > 0) return v;
  }
  const std::string path = peak_flops_cache_path(), key = cache_key(device, dtype);
  json cache = read_cache(path);
  if (cache.contains(key) && cache.at(key).is_number() && cache.at(key).get<double>() > 0)
    return cache.at(key).get<double>();
  // A longer, larger measurement than a quick check: the best of several sizes and rounds.
  double best = 0;
  for (int round = 0; round < 3; ++round)
    for (int n : {1024, 2048}) best = std::max(best, measure_matmul_peak_flops(device, n, dtype));
  cache[key] = best;
  write_cache(path, cache);
  return best;
}

double raise_peak_flops(torch::Device device, torch::ScalarType dtype, double reached) {
  const double peak = peak_flops(device, dtype);
  if (std::getenv("PREALIGN_PEAK_FLOPS") || !(reached > peak) || !std::isfinite(reached)) return peak;
  const std::string path = peak_flops_cache_path();
  json cache = read_cache(path);
  cache[cache_key(device, dtype)] = reached;
  write_cache(path, cache);
  return reached;
}

}  // namespace prealign
