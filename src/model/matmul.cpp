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
};

Kernels& kernels() {
  thread_local Kernels k;  // oneDNN streams are not shared between threads
  return k;
}

std::string cache_key(const Tensor& a, const std::vector<int64_t>& sa, const Tensor& b,
                      const std::vector<int64_t>& sb) {
  std::string key;
  auto put = [&](int64_t v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); };
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
  Tensor c = batched ? torch::empty({a.size(0), M, N}, a.options()) : torch::empty({M, N}, a.options());
  using md = dnnl::memory::desc;
  const auto f32 = dnnl::memory::data_type::f32;
  md ad(a.sizes().vec(), f32, sa), bd(b.sizes().vec(), f32, sb), cd(c.sizes().vec(), f32, c.strides().vec());
  Kernels& k = kernels();
  const std::string key = cache_key(a, sa, b, sb);
  auto it = k.cache.find(key);
  if (it == k.cache.end()) {
    if (k.cache.size() > 4096) k.cache.clear();  // unbounded shapes (growing contexts): start over
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), k.engine);
    it = k.cache.emplace(key, dnnl::matmul(pd)).first;
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
    Tensor c = onednn_matmul(a, b);
    if (c.defined()) return c;
  }
#endif
  return a.dim() == 3 ? torch::bmm(a, b) : torch::mm(a, b);
}

Tensor transposed(const Tensor& t) { return t.transpose(-2, -1); }

struct MatmulFunction : public torch::autograd::Function<MatmulFunction> {
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& a, const Tensor& b) {
    ctx->save_for_backward({a, b});
    return raw_matmul(a, b);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const Tensor &a = saved[0], &b = saved[1], &g = grads[0];  // g (.., M, N)
    Tensor ga, gb;
    if (ctx->needs_input_grad(0)) ga = raw_matmul(g, transposed(b));  // (.., M, K)
    if (ctx->needs_input_grad(1)) gb = raw_matmul(transposed(a), g);  // (.., K, N)
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

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands(a, b);
  if (!wants_onednn(a, b)) return a.dim() == 3 ? torch::bmm(a, b) : torch::mm(a, b);
  if (torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad())) return MatmulFunction::apply(a, b);
  return raw_matmul(a, b);
}

Tensor linear(const Tensor& x, const Tensor& w) {
  Tensor rows = x.reshape({-1, x.size(-1)});  // (.., K) -> (R, K), a view when x is contiguous
  if (!wants_onednn(rows, w)) return torch::nn::functional::linear(x, w);
  std::vector<int64_t> out_shape(x.sizes().begin(), x.sizes().end());
  out_shape.back() = w.size(0);
  return prealign::matmul(rows, w.t()).view(out_shape);  // (R, K) @ (K, N) -> (.., N)
}

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
