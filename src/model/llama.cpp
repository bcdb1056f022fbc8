#include "model/llama.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <tuple>

#include "core/error.hpp"
#include "model/matmul.hpp"

namespace prealign {

namespace F = torch::nn::functional;
using torch::Tensor;

void KVCache::clear() {
  k.clear();
  v.clear();
  k_buffer.clear();
  v_buffer.clear();
  left_pad.clear();
  length = 0;
}

void KVCache::select_rows(const std::vector<int64_t>& rows) {
  if (k.empty() || !k[0].defined()) fail("KV cache", "select_rows on an empty cache");
  Tensor index = torch::tensor(rows, torch::kLong).to(k[0].device());
  for (size_t l = 0; l < k.size(); ++l) {
    // Outside autograd k/v are views of the buffers; keep that so decoding can go on growing them in place.
    for (auto [buffer, view] : {std::pair{&k_buffer[l], &k[l]}, std::pair{&v_buffer[l], &v[l]}}) {
      if (buffer->defined()) {
        *buffer = buffer->index_select(0, index);
        *view = buffer->narrow(2, 0, length);
      } else {
        *view = view->index_select(0, index);
      }
    }
  }
  if (!left_pad.empty()) {
    std::vector<int64_t> kept;
    for (int64_t r : rows) kept.push_back(left_pad.at(static_cast<size_t>(r)));
    left_pad = kept;
  }
}

void KVCache::append_rows(const KVCache& other) {
  if (other.length == 0) return;
  if (length == 0) {
    *this = other;
    return;
  }
  if (k.size() != other.k.size()) fail("KV cache", "append_rows: the caches belong to different models");
  const int64_t rows = k[0].size(0), more = other.k[0].size(0), S = std::max(length, other.length);
  std::vector<int64_t> pad;
  for (int64_t b = 0; b < rows; ++b) pad.push_back((left_pad.empty() ? 0 : left_pad[size_t(b)]) + S - length);
  for (int64_t b = 0; b < more; ++b)
    pad.push_back((other.left_pad.empty() ? 0 : other.left_pad[size_t(b)]) + S - other.length);
  for (size_t l = 0; l < k.size(); ++l) {
    for (auto [buffer, view, fresh] : {std::tuple{&k_buffer[l], &k[l], &other.k[l]},
                                       std::tuple{&v_buffer[l], &v[l], &other.v[l]}}) {
      const int64_t capacity = std::max(S, buffer->defined() ? buffer->size(2) : int64_t(0));
      // Zeros under the new padding: masked keys and values must still be
      // finite, or their scores (and weights of 0 times them) turn into NaN.
      Tensor merged = torch::zeros({rows + more, view->size(1), capacity, view->size(3)}, view->options());
      merged.narrow(0, 0, rows).narrow(2, S - length, length).copy_(*view);
      merged.narrow(0, rows, more).narrow(2, S - other.length, other.length).copy_(*fresh);
      if (buffer->defined()) *buffer = merged;
      *view = merged.narrow(2, 0, S);
    }
  }
  length = S;
  left_pad = pad;
}

void KVCache::trim_padding() {
  if (left_pad.empty() || length == 0) return;
  const int64_t drop = *std::min_element(left_pad.begin(), left_pad.end());
  if (drop <= 0) return;
  for (size_t l = 0; l < k.size(); ++l) {
    for (auto [buffer, view] : {std::pair{&k_buffer[l], &k[l]}, std::pair{&v_buffer[l], &v[l]}}) {
      if (buffer->defined()) {  // a view further into the same buffer: no copy
        *buffer = buffer->narrow(2, drop, buffer->size(2) - drop);
        *view = buffer->narrow(2, 0, length - drop);
      } else {
        *view = view->narrow(2, drop, length - drop);
      }
    }
  }
  length -= drop;
  bool any = false;
  for (int64_t& p : left_pad) any = (p -= drop) > 0 || any;
  if (!any) left_pad.clear();  // no padding left: decode steps need no mask
}

// One decoder block. q/k/v and gate/up are stored fused (one matmul each instead
// of three and two: fewer, larger GEMMs are faster on CPU, see docs/performance.md);
// hf_tensors() splits them back into the Hugging Face names.
struct LlamaModelImpl::Layer : torch::nn::Module {
  Tensor input_norm, wqkv, wo, post_norm, w_gate_up, w_down;

  explicit Layer(const ModelConfig& c) {
    const int64_t d = c.dim, kv = int64_t(c.n_kv_heads) * c.head_dim(), h = c.resolved_hidden_dim();
    input_norm = register_parameter("input_norm", torch::ones({d}));
    wqkv = register_parameter("wqkv", torch::empty({d + 2 * kv, d}));  // rows: q (d), k (kv), v (kv)
    wo = register_parameter("wo", torch::empty({d, d}));
    post_norm = register_parameter("post_norm", torch::ones({d}));
    w_gate_up = register_parameter("w_gate_up", torch::empty({2 * h, d}));  // rows: gate (h), up (h)
    w_down = register_parameter("w_down", torch::empty({d, h}));
  }
};

namespace {

std::string shape_string(at::IntArrayRef s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

// x * rsqrt(mean(x^2) + eps) * w over the last dimension.
Tensor rms_norm(const Tensor& x, const Tensor& w, double eps) {
  Tensor r = torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true).add_(eps));  // (B, T, 1)
  return x * r * w;
}

// Hugging Face convention: out = x*cos + rotate_half(x)*sin, rotate_half(x) = [-x2, x1].
// x (B, T, N, hd); cos, sin (T, 1, hd) or per row (B, T, 1, hd).
Tensor apply_rope(const Tensor& x, const Tensor& cos, const Tensor& sin) {
  auto halves = x.chunk(2, -1);
  Tensor rotated = torch::cat({halves[1].neg(), halves[0]}, -1);
  return torch::addcmul(x * cos, rotated, sin);
}

// Additive mask (T, S) for queries at positions start..start+T-1 over keys 0..S-1:
// 0 where key <= query position, -inf after it. Made on the scores' device.
Tensor causal_mask(int64_t T, int64_t S, int64_t start, const torch::TensorOptions& opts) {
  Tensor future = torch::ones({T, S}, opts.dtype(torch::kBool)).triu(start + 1);
  return torch::zeros({T, S}, opts).masked_fill_(future, -std::numeric_limits<float>::infinity());
}

// Causal mask per batch row (B, T, S) that also hides row b's first pad[b] keys.
// A padding query keeps its own key open, so its (ignored) softmax stays finite.
Tensor padded_causal_mask(int64_t T, int64_t S, int64_t start, const std::vector<int64_t>& pad,
                          const torch::TensorOptions& opts) {
  auto longs = opts.dtype(torch::kLong);
  Tensor key = torch::arange(S, longs).view({1, 1, S});
  Tensor query = torch::arange(start, start + T, longs).view({1, T, 1});
  Tensor pads = torch::tensor(pad, torch::kLong).to(opts.device()).view({-1, 1, 1});
  Tensor hidden = torch::logical_or(key > query, torch::logical_and(key < pads, key != query));  // (B, T, S)
  return torch::zeros(hidden.sizes(), opts).masked_fill_(hidden, -std::numeric_limits<float>::infinity());
}

// Appends `fresh` (B, Hkv, T, hd) after `start` cached positions and returns all
// of them (B, Hkv, start + T, hd). Without autograd the cache lives in `buffer`
// with spare room (doubling, capped at max_len) and `view` is its filled part;
// with autograd, cat keeps the graph intact (in-place writes would break it).
Tensor append_kv(Tensor& buffer, Tensor& view, const Tensor& fresh, int64_t start, int64_t max_len) {
  const int64_t T = fresh.size(2), S = start + T;
  if (torch::GradMode::is_enabled()) {
    view = start > 0 ? torch::cat({view, fresh}, 2) : fresh.contiguous();
    buffer = Tensor();
    return view;
  }
  if (!buffer.defined() || buffer.size(2) < S) {
    const int64_t old_cap = buffer.defined() ? buffer.size(2) : 0;
    const int64_t cap = std::min(max_len, std::max({S, 2 * old_cap, int64_t(64)}));
    Tensor grown = torch::empty({fresh.size(0), fresh.size(1), cap, fresh.size(3)}, fresh.options());
    if (start > 0) grown.narrow(2, 0, start).copy_(view);
    buffer = grown;
  }
  buffer.narrow(2, start, T).copy_(fresh);
  view = buffer.narrow(2, 0, S);
  return view;
}

}  // namespace

// A block whose activations are recomputed in backward (set_grad_checkpoint):
// forward runs without autograd and keeps only the input; backward runs the block
// again with autograd on that input and back-propagates through it, which also
// accumulates the block's weight gradients (the "reentrant" checkpoint of PyTorch).
struct BlockCheckpoint : public torch::autograd::Function<BlockCheckpoint> {
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& x, LlamaModelImpl* model,
                        int64_t index, const Tensor& cos, const Tensor& sin, const Tensor& mask) {
    ctx->save_for_backward({x});
    ctx->saved_data["model"] = reinterpret_cast<int64_t>(model);
    ctx->saved_data["index"] = index;
    ctx->saved_data["cos"] = cos;
    ctx->saved_data["sin"] = sin;
    ctx->saved_data["mask"] = mask.defined() ? mask : Tensor();
    torch::NoGradGuard no_grad;
    return model->block_forward(static_cast<size_t>(index), x, cos, sin, mask, nullptr);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto* model = reinterpret_cast<LlamaModelImpl*>(ctx->saved_data["model"].toInt());
    const auto index = static_cast<size_t>(ctx->saved_data["index"].toInt());
    const Tensor mask = ctx->saved_data["mask"].isTensor() ? ctx->saved_data["mask"].toTensor() : Tensor();
    Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    Tensor y;
    {
      torch::AutoGradMode enable(true);
      y = model->block_forward(index, x, ctx->saved_data["cos"].toTensor(), ctx->saved_data["sin"].toTensor(), mask,
                               nullptr);
    }
    torch::autograd::backward({y}, {grads[0]});
    return {x.grad(), Tensor(), Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

// ---------------------------------------------------------------------------

LlamaModelImpl::LlamaModelImpl(const ModelConfig& config) : config_(config) {
  config_.validate("model config");
  const int64_t V = config_.vocab_size, d = config_.dim, hd = config_.head_dim();
  embed_ = register_module("embed", torch::nn::Embedding(V, d));
  auto list = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < config_.n_layers; ++i) {
    auto layer = std::make_shared<Layer>(config_);
    list->push_back(layer);
    layers_.push_back(layer);
  }
  final_norm_ = register_parameter("final_norm", torch::ones({d}));
  if (!config_.tie_embeddings) lm_head_ = register_parameter("lm_head", torch::empty({V, d}));

  // RoPE tables in double, then float: positions up to 1M lose no precision.
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  Tensor inv_freq = torch::pow(config_.rope_theta, -torch::arange(0, hd, 2, opts) / double(hd));  // (hd/2)
  Tensor angles = torch::outer(torch::arange(config_.max_seq_len, opts), inv_freq);                // (T, hd/2)
  Tensor emb = torch::cat({angles, angles}, -1);                                                   // (T, hd)
  rope_cos_ = register_buffer("rope_cos", emb.cos().to(torch::kFloat32));
  rope_sin_ = register_buffer("rope_sin", emb.sin().to(torch::kFloat32));

  // GPT-2 / Llama init: N(0, 0.02); projections that write into the residual
  // stream are scaled by 1/sqrt(2L) so its variance does not grow with depth.
  torch::NoGradGuard no_grad;
  const double std = 0.02, out_std = 0.02 / std::sqrt(2.0 * config_.n_layers);
  embed_->weight.normal_(0.0, std);
  for (auto& m : layers_) {
    auto& l = static_cast<Layer&>(*m);
    l.wqkv.normal_(0.0, std);
    l.wo.normal_(0.0, out_std);
    l.w_gate_up.normal_(0.0, std);
    l.w_down.normal_(0.0, out_std);
  }
  if (lm_head_.defined()) lm_head_.normal_(0.0, std);
}

torch::Tensor LlamaModelImpl::forward(const torch::Tensor& tokens) { return forward_full(tokens).logits; }

ForwardOutput LlamaModelImpl::forward_full(const torch::Tensor& tokens_in, KVCache* cache, bool keep_residual) {
  const std::string where = "model forward";
  if (tokens_in.dim() != 2 || tokens_in.size(0) == 0 || tokens_in.size(1) == 0)
    fail(where, "tokens must be a non-empty (batch, time) tensor, got shape " + shape_string(tokens_in.sizes()));
  if (!at::isIntegralType(tokens_in.scalar_type(), /*includeBool=*/false))
    fail(where, "tokens must be integers, got " + std::string(c10::toString(tokens_in.scalar_type())));
  const auto device = final_norm_.device();
  Tensor tokens = tokens_in.to(device, torch::kLong);
  const int64_t B = tokens.size(0), T = tokens.size(1);
  const int64_t start = cache ? cache->length : 0;
  const std::vector<int64_t>* pad = cache && !cache->left_pad.empty() ? &cache->left_pad : nullptr;
  if (pad && static_cast<int64_t>(pad->size()) != B)
    fail(where, "left_pad has " + std::to_string(pad->size()) + " rows, the batch " + std::to_string(B));
  // The longest row's positions; padding in front of every row is not one.
  const int64_t positions = start + T - (pad ? *std::min_element(pad->begin(), pad->end()) : 0);
  if (positions > config_.max_seq_len)
    fail(where, std::to_string(positions) + " positions exceed max_seq_len " + std::to_string(config_.max_seq_len),
         "shorten the input or train a model with a longer context (ctx=)");
  const int64_t lo = tokens.min().item<int64_t>(), hi = tokens.max().item<int64_t>();
  if (lo < 0 || hi >= config_.vocab_size)
    fail(where, "token id " + std::to_string(lo < 0 ? lo : hi) + " outside the vocabulary (size " +
                    std::to_string(config_.vocab_size) + ")");
  if (cache) {
    if (cache->length > 0 &&
        (cache->k.size() != layers_.size() || !cache->k[0].defined() || cache->k[0].size(0) != B))
      fail(where, "KV cache does not match this model or batch size", "clear() the cache for a new sequence");
    for (auto* list : {&cache->k, &cache->v, &cache->k_buffer, &cache->v_buffer}) list->resize(layers_.size());
  }

  Tensor x = F::embedding(tokens, embed_->weight);  // (B, T, C)
  Tensor cos, sin;  // (T, 1, hd), or (B, T, 1, hd) with padded rows
  if (pad) {
    // Row b's positions count from its own first token (padding gets 0, masked
    // anyway): the angles it gets alone, whatever padding is put in front.
    Tensor first = torch::tensor(*pad, torch::kLong).view({B, 1});
    Tensor pos = (torch::arange(start, start + T, torch::kLong).view({1, T}) - first).clamp_min(0).view({-1});
    pos = pos.to(device);
    cos = rope_cos_.index_select(0, pos).view({B, T, 1, -1});
    sin = rope_sin_.index_select(0, pos).view({B, T, 1, -1});
  } else {
    cos = rope_cos_.narrow(0, start, T).unsqueeze(1);
    sin = rope_sin_.narrow(0, start, T).unsqueeze(1);
  }
  // A single new position sees every cached one: no mask needed (the decode step),
  // unless some rows start with padding.
  Tensor mask;  // (T, S), or (B, T, S) with padded rows
  if (pad) {
    mask = padded_causal_mask(T, start + T, start, *pad, x.options());
  } else if (T > 1) {
    mask = causal_mask(T, start + T, start, x.options());
  }

  ForwardOutput out;
  const bool checkpoint = grad_checkpoint_ && !cache && torch::GradMode::is_enabled() && is_training();
  for (size_t i = 0; i < layers_.size(); ++i) {
    x = checkpoint ? BlockCheckpoint::apply(x, this, static_cast<int64_t>(i), cos, sin, mask)
                   : block_forward(i, x, cos, sin, mask, cache);
    if (keep_residual) out.residual.push_back(x);
  }
  if (cache) cache->length += T;
  out.hidden = rms_norm(x, final_norm_, config_.norm_eps);                               // (B, T, C)
  out.logits = prealign::linear(out.hidden, lm_head_.defined() ? lm_head_ : embed_->weight);  // (B, T, V)
  return out;
}

torch::Tensor LlamaModelImpl::block_forward(size_t index, const torch::Tensor& x, const torch::Tensor& cos,
                                            const torch::Tensor& sin, const torch::Tensor& mask, KVCache* cache) {
  auto& l = static_cast<Layer&>(*layers_[index]);
  const int64_t B = x.size(0), T = x.size(1), C = config_.dim, hd = config_.head_dim();
  const int64_t H = config_.n_heads, Hkv = config_.n_kv_heads, g = H / Hkv;

  // --- attention ---
  Tensor qkv = prealign::linear(rms_norm(x, l.input_norm, config_.norm_eps), l.wqkv).view({B, T, H + 2 * Hkv, hd});
  auto qk_v = qkv.split_with_sizes({H + Hkv, Hkv}, 2);
  auto q_k = apply_rope(qk_v[0], cos, sin).split_with_sizes({H, Hkv}, 2);  // one RoPE pass for q and k
  // Group query heads by the kv head they share (HF repeat_kv: head h uses kv head h / g):
  // q (B, T, Hkv, g, hd) -> (B*Hkv, g*T, hd), rows ordered (group member, position).
  Tensor q = q_k[0].view({B, T, Hkv, g, hd}).permute({0, 2, 3, 1, 4}).reshape({B * Hkv, g * T, hd});
  Tensor k = q_k[1].transpose(1, 2), v = qk_v[1].transpose(1, 2);  // (B, Hkv, T, hd)
  if (cache) {
    const int64_t start = cache->length;
    k = append_kv(cache->k_buffer[index], cache->k[index], k, start, config_.max_seq_len);  // (B, Hkv, S, hd)
    v = append_kv(cache->v_buffer[index], cache->v[index], v, start, config_.max_seq_len);
  }
  const int64_t S = k.size(2);
  k = k.reshape({B * Hkv, S, hd});  // a view for the cache buffer, a copy for fresh keys
  v = v.reshape({B * Hkv, S, hd});
  const double scale = 1.0 / std::sqrt(double(hd));
  Tensor scores = prealign::matmul(q * scale, k.transpose(1, 2));  // (B*Hkv, g*T, S)
  // Out of place: an in-place add on a view of the product costs a full copy of its gradient in backward.
  if (mask.defined() && mask.dim() == 2)  // the same (T, S) mask for every row and head
    scores = (scores.view({B * Hkv, g, T, S}) + mask).view({B * Hkv, g * T, S});
  if (mask.defined() && mask.dim() == 3)  // per-row padding
    scores = (scores.view({B, Hkv, g, T, S}) + mask.view({B, 1, 1, T, S})).view({B * Hkv, g * T, S});
  Tensor att = prealign::matmul(torch::softmax(scores, -1), v);  // (B*Hkv, g*T, hd)
  att = att.view({B, Hkv, g, T, hd}).permute({0, 3, 1, 2, 4}).reshape({B, T, C});      // (B, T, C)
  Tensor h = x + prealign::linear(att, l.wo);

  // --- SwiGLU MLP ---
  auto gate_up = prealign::linear(rms_norm(h, l.post_norm, config_.norm_eps), l.w_gate_up).chunk(2, -1);
  return h + prealign::linear(torch::silu(gate_up[0]) * gate_up[1], l.w_down);  // (B, T, C)
}

// ---------------------------------------------------------------------------

std::vector<std::pair<std::string, std::vector<int64_t>>> hf_tensor_shapes(const ModelConfig& c) {
  const int64_t V = c.vocab_size, d = c.dim, kv = int64_t(c.n_kv_heads) * c.head_dim(), h = c.resolved_hidden_dim();
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  out.push_back({"model.embed_tokens.weight", {V, d}});
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    out.push_back({p + "input_layernorm.weight", {d}});
    out.push_back({p + "self_attn.q_proj.weight", {d, d}});
    out.push_back({p + "self_attn.k_proj.weight", {kv, d}});
    out.push_back({p + "self_attn.v_proj.weight", {kv, d}});
    out.push_back({p + "self_attn.o_proj.weight", {d, d}});
    out.push_back({p + "post_attention_layernorm.weight", {d}});
    out.push_back({p + "mlp.gate_proj.weight", {h, d}});
    out.push_back({p + "mlp.up_proj.weight", {h, d}});
    out.push_back({p + "mlp.down_proj.weight", {d, h}});
  }
  out.push_back({"model.norm.weight", {d}});
  if (!c.tie_embeddings) out.push_back({"lm_head.weight", {V, d}});
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> LlamaModelImpl::hf_tensors() const {
  const int64_t d = config_.dim, kv = int64_t(config_.n_kv_heads) * config_.head_dim();
  const int64_t h = config_.resolved_hidden_dim();
  std::vector<std::pair<std::string, Tensor>> out;
  out.emplace_back("model.embed_tokens.weight", embed_->weight.detach());
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& l = static_cast<const Layer&>(*layers_[i]);
    const std::string p = "model.layers." + std::to_string(i) + ".";
    Tensor qkv = l.wqkv.detach(), gu = l.w_gate_up.detach();
    out.emplace_back(p + "input_layernorm.weight", l.input_norm.detach());
    out.emplace_back(p + "self_attn.q_proj.weight", qkv.narrow(0, 0, d));
    out.emplace_back(p + "self_attn.k_proj.weight", qkv.narrow(0, d, kv));
    out.emplace_back(p + "self_attn.v_proj.weight", qkv.narrow(0, d + kv, kv));
    out.emplace_back(p + "self_attn.o_proj.weight", l.wo.detach());
    out.emplace_back(p + "post_attention_layernorm.weight", l.post_norm.detach());
    out.emplace_back(p + "mlp.gate_proj.weight", gu.narrow(0, 0, h));
    out.emplace_back(p + "mlp.up_proj.weight", gu.narrow(0, h, h));
    out.emplace_back(p + "mlp.down_proj.weight", l.w_down.detach());
  }
  out.emplace_back("model.norm.weight", final_norm_.detach());
  if (lm_head_.defined()) out.emplace_back("lm_head.weight", lm_head_.detach());
  return out;
}

void LlamaModelImpl::load_hf_tensors(const std::map<std::string, torch::Tensor>& tensors, const std::string& where) {
  // hf_tensors() are views of the parameters: copying into them loads the model.
  auto targets = hf_tensors();
  std::set<std::string> expected;
  for (auto& [name, dst] : targets) {
    expected.insert(name);
    auto it = tensors.find(name);
    if (it == tensors.end())
      fail(where, "missing tensor \"" + name + "\"", "the weights do not belong to this config.json");
    const Tensor& src = it->second;
    if (src.sizes() != dst.sizes())
      fail(where, "tensor \"" + name + "\" has shape " + shape_string(src.sizes()) + ", config.json implies " +
                      shape_string(dst.sizes()),
           "the weights do not belong to this config.json");
    if (!src.is_floating_point()) fail(where, "tensor \"" + name + "\" is not floating point");
    if (!torch::isfinite(src).all().item<bool>()) fail(where, "tensor \"" + name + "\" contains NaN or Inf");
  }
  for (const auto& [name, src] : tensors) {
    if (expected.count(name)) continue;
    // Older transformers versions saved the RoPE frequencies; we recompute them.
    if (name.size() > 20 && name.compare(name.size() - 20, 20, "rotary_emb.inv_freq") == 0) continue;
    if (name == "lm_head.weight" && config_.tie_embeddings) {
      const Tensor& embed = tensors.at("model.embed_tokens.weight");
      if (src.sizes() == embed.sizes() && torch::equal(src.to(embed.device(), embed.scalar_type()), embed))
        continue;  // some writers store the tied head explicitly
    }
    fail(where, "unexpected tensor \"" + name + "\"",
         name == "lm_head.weight" ? "config.json says tie_word_embeddings but lm_head.weight differs"
                                  : "the weights do not belong to this config.json");
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, dst] : targets) dst.copy_(tensors.at(name));
}

std::vector<torch::Tensor> LlamaModelImpl::decay_parameters() const {
  std::vector<Tensor> out{embed_->weight};
  for (const auto& m : layers_) {
    const auto& l = static_cast<const Layer&>(*m);
    out.insert(out.end(), {l.wqkv, l.wo, l.w_gate_up, l.w_down});
  }
  if (lm_head_.defined()) out.push_back(lm_head_);
  return out;
}

std::vector<torch::Tensor> LlamaModelImpl::no_decay_parameters() const {
  std::vector<Tensor> out;
  for (const auto& m : layers_) {
    const auto& l = static_cast<const Layer&>(*m);
    out.insert(out.end(), {l.input_norm, l.post_norm});
  }
  out.push_back(final_norm_);
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> LlamaModelImpl::named_params() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& item : named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace prealign
