#include "model/matmul.hpp"

#include <unordered_map>

#include "core/error.hpp"

#ifdef PREALIGN_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace prealign {
namespace {

using torch::Tensor;

#ifdef PREALIGN_HAVE_ONEDNN
bool g_use_onednn = true;
#else
bool g_use_onednn = false;
#endif
torch::ScalarType g_autocast = torch::kFloat;  // set only by AutocastGuard

bool wants_onednn(const Tensor& a, const Tensor& b) {
  return g_use_onednn && a.device().is_cpu() && b.device().is_cpu() && a.scalar_type() == torch::kFloat32 &&
         b.scalar_type() == torch::kFloat32 && a.dim() == b.dim() && (a.dim() == 2 || a.dim() == 3) &&
         a.numel() > 0 && b.numel() > 0;
}

#ifdef PREALIGN_HAVE_ONEDNN

// oneDNN wants every stride positive; a dimension of size 1 may carry any stride
// in torch (0 after expand, anything after narrow), so give it a harmless one.
std::vector<int64_t> onednn_strides(const Tensor& t) {
  std::vector<int64_t> s(t.strides().begin(), t.strides().end());
  for (int64_t d = t.dim() - 1, next = 1; d >= 0; --d) {
    if (t.size(d) == 1) s[d] = next;
    next = std::max<int64_t>(next, s[d] * t.size(d));
  }
  return s;
}

bool strides_usable(const std::vector<int64_t>& s) {
  for (int64_t v : s)
    if (v <= 0) return false;
  return true;
}

struct Kernels {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  // Primitives by shape and strides: a model calls a handful of shapes millions of times.
  std::unordered_map<std::string, dnnl::matmul> cache;
  // A CPU without bf16 instructions (AVX-512 BF16, AMX; e.g. AMD Zen 3) has no oneDNN bf16
  // kernel: found out once, then bf16 products take the float32 fallback.
  bool bf16_unavailable = false;
};

Kernels& kernels() {
  thread_local Kernels k;  // oneDNN streams are not shared between threads
  return k;
}

std::string cache_key(const Tensor& a, const std::vector<int64_t>& sa, const Tensor& b,
                      const std::vector<int64_t>& sb) {
  std::string key;
  auto put = [&](int64_t v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(static_cast<int64_t>(a.scalar_type()));
  put(static_cast<int64_t>(b.scalar_type()));
  for (auto v : a.sizes()) put(v);
  for (auto v : sa) put(v);
  for (auto v : b.sizes()) put(v);
  for (auto v : sb) put(v);
  return key;
}

// Returns an undefined tensor when oneDNN cannot take these operands (the caller falls back).
Tensor onednn_matmul(const Tensor& a, const Tensor& b) {
  auto sa = onednn_strides(a), sb = onednn_strides(b);
  if (!strides_usable(sa) || !strides_usable(sb)) return Tensor();
  const bool batched = a.dim() == 3;
  const int64_t M = a.size(-2), N = b.size(-1);
  auto f32_options = a.options().dtype(torch::kFloat32);  // bf16 operands still give a float32 product
  Tensor c = batched ? torch::empty({a.size(0), M, N}, f32_options) : torch::empty({M, N}, f32_options);
  using md = dnnl::memory::desc;
  const auto f32 = dnnl::memory::data_type::f32;
  auto type_of = [&](const Tensor& t) {
    return t.scalar_type() == torch::kBFloat16 ? dnnl::memory::data_type::bf16 : f32;
  };
  md ad(a.sizes().vec(), type_of(a), sa), bd(b.sizes().vec(), type_of(b), sb), cd(c.sizes().vec(), f32, c.strides().vec());
  Kernels& k = kernels();
  const std::string key = cache_key(a, sa, b, sb);
  auto it = k.cache.find(key);
  if (it == k.cache.end()) {
    if (k.cache.size() > 4096) k.cache.clear();  // unbounded shapes (growing contexts): start over
    try {
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), k.engine);
      it = k.cache.emplace(key, dnnl::matmul(pd)).first;
    } catch (const dnnl::error&) {  // no kernel for these types on this CPU: the caller falls back
      if (a.scalar_type() == torch::kBFloat16 || b.scalar_type() == torch::kBFloat16) k.bf16_unavailable = true;
      return Tensor();
    }
  }
  dnnl::memory am(ad, k.engine, const_cast<void*>(a.data_ptr())), bm(bd, k.engine, const_cast<void*>(b.data_ptr())),
      cm(cd, k.engine, c.data_ptr());
  it->second.execute(k.stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  k.stream.wait();
  return c;
}
#endif

// The product without autograd bookkeeping.
Tensor raw_matmul(const Tensor& a, const Tensor& b) {
#ifdef PREALIGN_HAVE_ONEDNN
  if (wants_onednn(a, b)) {
    Tensor c = onednn_matmul(a, b);  // float32 kernels take transposed weights at full speed (measured)
    if (c.defined()) return c;
  }
#endif
  return a.dim() == 3 ? torch::bmm(a, b) : torch::mm(a, b);
}

Tensor transposed(const Tensor& t) { return t.transpose(-2, -1); }

bool is_autocast(torch::ScalarType t) { return t == torch::kBFloat16 || t == torch::kHalf; }

// Operands as the autocast dtype computes with them.
Tensor to_compute(const Tensor& t, torch::ScalarType dtype) {
  if (dtype == torch::kHalf && t.device().is_cpu())
    return t.to(torch::kHalf).to(torch::kFloat);  // fp16 rounding, float32 arithmetic (see matmul.hpp)
  return t.to(dtype);
}

// Product of operands already in compute form (to_compute), as float32.
Tensor compute_matmul(const Tensor& a, const Tensor& b, torch::ScalarType dtype) {
#ifdef PREALIGN_HAVE_ONEDNN
  if (g_use_onednn && dtype == torch::kBFloat16 && a.device().is_cpu() && (a.dim() == 2 || a.dim() == 3) &&
      !kernels().bf16_unavailable) {
    // oneDNN's bf16 kernels want row-major weights: a transposed one (x @ w^T, q @ k^T) is
    // reordered inside every call, which made those products slower than float32
    // (bench/train_precision.sh). A copy here costs K*N, the product M*K*N.
    Tensor c = onednn_matmul(a, b.is_contiguous() ? b : b.contiguous());  // bf16 x bf16 -> float32
    if (c.defined()) return c;
  }
#endif
  if (dtype == torch::kHalf && a.device().is_cpu())
    return raw_matmul(a, b).to(torch::kHalf).to(torch::kFloat);  // fp16's range on the product too
  if (a.device().is_cpu())  // bf16 without oneDNN: the rounded operands, multiplied and summed in float32
    return raw_matmul(a.to(torch::kFloat), b.to(torch::kFloat));
  Tensor c = a.dim() == 3 ? torch::bmm(a, b) : torch::mm(a, b);  // CUDA: torch's bf16/fp16 GEMMs
  return c.to(torch::kFloat);
}

struct MatmulFunction : public torch::autograd::Function<MatmulFunction> {
  // dtype kFloat: plain float32; bf16/fp16: autocast (operands cast, and saved, in that precision).
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& a, const Tensor& b) {
    const torch::ScalarType dtype = g_autocast;
    ctx->saved_data["dtype"] = static_cast<int64_t>(dtype);
    if (!is_autocast(dtype)) {
      ctx->save_for_backward({a, b});
      return raw_matmul(a, b);
    }
    Tensor ac = to_compute(a, dtype), bc = to_compute(b, dtype);
    ctx->save_for_backward({ac, bc});
    return compute_matmul(ac, bc, dtype);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto dtype = static_cast<torch::ScalarType>(ctx->saved_data["dtype"].toInt());
    const Tensor &a = saved[0], &b = saved[1];
    Tensor ga, gb;
    if (!is_autocast(dtype)) {
      const Tensor& g = grads[0];  // (.., M, N)
      if (ctx->needs_input_grad(0)) ga = raw_matmul(g, transposed(b));  // (.., M, K)
      if (ctx->needs_input_grad(1)) gb = raw_matmul(transposed(a), g);  // (.., K, N)
      return {ga, gb};
    }
    const Tensor g = to_compute(grads[0], dtype);
    if (ctx->needs_input_grad(0)) ga = compute_matmul(g, transposed(b), dtype);
    if (ctx->needs_input_grad(1)) gb = compute_matmul(transposed(a), g, dtype);
    return {ga, gb};
  }
};

void check_operands(const Tensor& a, const Tensor& b) {
  const bool ok = a.dim() == b.dim() && (a.dim() == 2 || a.dim() == 3) && a.size(-1) == b.size(-2) &&
                  (a.dim() == 2 || a.size(0) == b.size(0));
  if (!ok)
    fail("matmul", "cannot multiply shapes " + std::string(c10::str(a.sizes())) + " and " +
                       std::string(c10::str(b.sizes())));
}

}  // namespace

bool autocasting(const Tensor& a) { return is_autocast(g_autocast) && a.scalar_type() == torch::kFloat32; }

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands(a, b);
  const bool autocast = autocasting(a) && b.scalar_type() == torch::kFloat32;
  if (!autocast && !wants_onednn(a, b)) return a.dim() == 3 ? torch::bmm(a, b) : torch::mm(a, b);
  if (torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad())) return MatmulFunction::apply(a, b);
  if (autocast) return compute_matmul(to_compute(a, g_autocast), to_compute(b, g_autocast), g_autocast);
  return raw_matmul(a, b);
}

Tensor linear(const Tensor& x, const Tensor& w) {
  Tensor rows = x.reshape({-1, x.size(-1)});  // (.., K) -> (R, K), a view when x is contiguous
  if (!autocasting(rows) && !wants_onednn(rows, w)) return torch::nn::functional::linear(x, w);
  std::vector<int64_t> out_shape(x.sizes().begin(), x.sizes().end());
  out_shape.back() = w.size(0);
  return prealign::matmul(rows, w.t()).view(out_shape);  // (R, K) @ (K, N) -> (.., N)
}

AutocastGuard::AutocastGuard(torch::ScalarType dtype) : previous_(g_autocast) {
  if (dtype != torch::kFloat && !is_autocast(dtype))
    fail("autocast", std::string("unsupported dtype ") + c10::toString(dtype), "use float32, bfloat16 or float16");
  g_autocast = dtype;
}

AutocastGuard::~AutocastGuard() { g_autocast = previous_; }

torch::ScalarType autocast_dtype() { return g_autocast; }

void set_matmul_backend(const std::string& name) {
  if (name == "torch") {
    g_use_onednn = false;
  } else if (name == "onednn") {
    if (!onednn_available()) fail("--matmul onednn", "this build has no oneDNN", "install libdnnl-dev and rebuild");
    g_use_onednn = true;
  } else {
    fail("--matmul " + name, "unknown matmul backend", "use onednn or torch");
  }
}

std::string matmul_backend() { return g_use_onednn ? "onednn" : "torch"; }

bool onednn_available() {
#ifdef PREALIGN_HAVE_ONEDNN
  return true;
#else
  return false;
#endif
}

}  // namespace prealign
