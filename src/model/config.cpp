#include "model/config.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>

#include "core/error.hpp"

namespace prealign {

namespace {

struct Preset {
  const char* name;
  int dim, n_layers, n_heads, n_kv_heads, max_seq_len;
};

// Parameter counts at vocab 4096, tied embeddings (parameter_count(); the test
// checks them against the built module):
//   tiny      926,336  (dim 128, 2 layers, 4 heads,          hidden 352)
//   small   4,262,144  (dim 256, 4 layers, 4 heads,          hidden 704)
//   base    8,654,208  (dim 384, 4 layers, 6 heads,          hidden 1024)
//   medium 16,463,552  (dim 448, 6 layers, 7 heads,          hidden 1216)
//   large  25,305,600  (dim 512, 8 layers, 8 heads, 4 kv heads, hidden 1376)
// head_dim is 64 everywhere but tiny (32); "large" uses grouped-query attention.
// The scale-out presets, GPT-2 small and medium shapes with a Llama MLP (counts at
// GPT-2's vocabulary of 50,257, tied; at 32,000 subtract 14.0M and 18.7M):
//   124m   123,551,232  (dim 768, 12 layers, 12 heads,       hidden 2048, ctx 1024)  PHF's model size
//   350m   355,076,096  (dim 1024, 24 layers, 16 heads,      hidden 2752, ctx 1024)
const Preset kPresets[] = {
    {"tiny", 128, 2, 4, 4, 256},   {"small", 256, 4, 4, 4, 256},   {"base", 384, 4, 6, 6, 256},
    {"medium", 448, 6, 7, 7, 512}, {"large", 512, 8, 8, 4, 512},   {"124m", 768, 12, 12, 12, 1024},
    {"350m", 1024, 24, 16, 16, 1024},
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

double parse_number(const std::string& text, const std::string& where, const std::string& key) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !std::isfinite(v))
    fail(where, "\"" + key + "=" + text + "\" is not a number");
  return v;
}

int parse_int(const std::string& text, const std::string& where, const std::string& key) {
  double v = parse_number(text, where, key);
  if (v != std::floor(v) || std::fabs(v) > 1e9) fail(where, "\"" + key + "=" + text + "\" is not an integer");
  return static_cast<int>(v);
}

}  // namespace

ModelConfig ModelConfig::preset(const std::string& name, int vocab_size) {
  for (const auto& p : kPresets) {
    if (name != p.name) continue;
    ModelConfig c;
    c.vocab_size = vocab_size;
    c.dim = p.dim;
    c.n_layers = p.n_layers;
    c.n_heads = p.n_heads;
    c.n_kv_heads = p.n_kv_heads;
    c.max_seq_len = p.max_seq_len;
    return c;
  }
  std::string names;
  for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
  fail("model preset \"" + name + "\"", "unknown preset", "use one of: " + names + ", or dim=..,layers=..,heads=..");
}

std::vector<std::string> ModelConfig::preset_names() {
  std::vector<std::string> out;
  for (const auto& p : kPresets) out.push_back(p.name);
  return out;
}

// "small" | "dim=256,layers=4,heads=4,..." | "small,ctx=512" (a preset, then overrides).
ModelConfig ModelConfig::parse(const std::string& spec, int vocab_size) {
  const std::string where = "model spec \"" + spec + "\"";
  ModelConfig c;
  c.vocab_size = vocab_size;
  bool kv_given = false;
  auto parts = split(spec, ',');
  if (parts.empty()) fail(where, "empty model spec", "use a preset name or dim=..,layers=..,heads=..");
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string part = trim(parts[i]);
    auto eq = part.find('=');
    if (eq == std::string::npos) {
      if (i != 0) fail(where, "\"" + part + "\" is not key=value", "only the first item may be a preset name");
      c = preset(part, vocab_size);
      kv_given = true;  // the preset decided
      continue;
    }
    std::string key = trim(part.substr(0, eq)), value = trim(part.substr(eq + 1));
    if (key == "dim") c.dim = parse_int(value, where, key);
    else if (key == "layers") c.n_layers = parse_int(value, where, key);
    else if (key == "heads") c.n_heads = parse_int(value, where, key);
    else if (key == "kv_heads") c.n_kv_heads = parse_int(value, where, key), kv_given = true;
    else if (key == "hidden") c.hidden_dim = parse_int(value, where, key);
    else if (key == "ctx") c.max_seq_len = parse_int(value, where, key);
    else if (key == "tie") c.tie_embeddings = parse_int(value, where, key) != 0;
    else if (key == "theta") c.rope_theta = parse_number(value, where, key);
    else if (key == "eps") c.norm_eps = parse_number(value, where, key);
    else
      fail(where, "unknown key \"" + key + "\"", "keys: dim, layers, heads, kv_heads, hidden, ctx, tie, theta, eps");
  }
  // Without kv_heads, plain multi-head attention (one kv head per query head).
  if (!kv_given) c.n_kv_heads = c.n_heads;
  c.validate(where);
  return c;
}

int ModelConfig::resolved_hidden_dim() const {
  if (hidden_dim > 0) return hidden_dim;
  int h = (8 * dim + 2) / 3;  // ceil(2/3 * 4 * dim)
  return (h + 31) / 32 * 32;
}

int64_t ModelConfig::non_embedding_parameter_count() const {
  const int64_t d = dim, kv = int64_t(n_kv_heads) * head_dim(), h = resolved_hidden_dim();
  const int64_t per_layer = 2 * d            // input and post-attention RMSNorm
                            + 2 * d * d      // q_proj, o_proj
                            + 2 * d * kv     // k_proj, v_proj
                            + 3 * d * h;     // gate, up, down
  return n_layers * per_layer + d;           // + final norm
}

int64_t ModelConfig::parameter_count() const {
  const int64_t embed = int64_t(vocab_size) * dim;
  return non_embedding_parameter_count() + embed * (tie_embeddings ? 1 : 2);
}

// PaLM (Chowdhery et al. 2022, appendix B): 6N + 12·L·T·d per token, forward and
// backward. N leaves out the input embedding (a gather, no FLOPs) but keeps the
// output projection, tied or not: it is a real V×d matmul per token, and at our
// sizes it is a large share of the work (at "tiny" it is more than all the layers).
double ModelConfig::train_flops_per_token(int seq_len) const {
  const double n = double(non_embedding_parameter_count()) + double(vocab_size) * dim;
  return 6.0 * n + 12.0 * n_layers * double(seq_len) * dim;
}

void ModelConfig::validate(const std::string& where) const {
  auto need = [&](bool ok, const std::string& what) {
    if (!ok) fail(where, what, "fix the model configuration");
  };
  need(vocab_size > 0 && vocab_size <= (1 << 24), "vocab_size must be in 1..16777216, got " + std::to_string(vocab_size));
  need(dim > 0 && dim <= 65536, "dim (hidden_size) must be in 1..65536, got " + std::to_string(dim));
  need(n_layers > 0 && n_layers <= 1024, "layers must be in 1..1024, got " + std::to_string(n_layers));
  need(n_heads > 0 && dim % n_heads == 0,
       "heads (" + std::to_string(n_heads) + ") must divide dim (" + std::to_string(dim) + ")");
  need(head_dim() % 2 == 0, "head_dim = dim/heads must be even for rotary embeddings, got " + std::to_string(head_dim()));
  need(n_kv_heads > 0 && n_heads % n_kv_heads == 0,
       "kv_heads (" + std::to_string(n_kv_heads) + ") must divide heads (" + std::to_string(n_heads) + ")");
  need(hidden_dim >= 0 && hidden_dim <= 1 << 20, "hidden (intermediate_size) must be in 0..1048576");
  need(max_seq_len > 0 && max_seq_len <= (1 << 20), "ctx (max_position_embeddings) must be in 1..1048576");
  need(rope_theta > 0 && std::isfinite(rope_theta), "rope_theta must be positive");
  need(norm_eps > 0 && norm_eps < 1, "rms_norm_eps must be in (0, 1)");
}

ordered_json ModelConfig::to_hf_json() const {
  ordered_json j;
  j["architectures"] = {"LlamaForCausalLM"};
  j["model_type"] = "llama";
  j["hidden_size"] = dim;
  j["intermediate_size"] = resolved_hidden_dim();
  j["num_attention_heads"] = n_heads;
  j["num_hidden_layers"] = n_layers;
  j["num_key_value_heads"] = n_kv_heads;
  j["max_position_embeddings"] = max_seq_len;
  j["rms_norm_eps"] = norm_eps;
  j["rope_theta"] = rope_theta;
  j["vocab_size"] = vocab_size;
  j["tie_word_embeddings"] = tie_embeddings;
  j["hidden_act"] = "silu";
  j["attention_bias"] = false;
  j["bos_token_id"] = 1;
  j["eos_token_id"] = 2;
  if (pad_token_id >= 0) j["pad_token_id"] = pad_token_id;
  else j["pad_token_id"] = nullptr;
  j["torch_dtype"] = "float32";
  return j;
}

ModelConfig ModelConfig::from_hf_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "config is not a JSON object");
  auto arch = j.value("architectures", json::array());
  bool llama = j.value("model_type", std::string()) == "llama";
  for (const auto& a : arch) llama = llama || (a.is_string() && a.get<std::string>() == "LlamaForCausalLM");
  if (!llama) fail(where, "not a Llama config (model_type \"llama\" / LlamaForCausalLM expected)");
  std::string act = json_optional<std::string>(j, "hidden_act", "silu", where);
  if (act != "silu") fail(where, "hidden_act \"" + act + "\" is not supported (only silu)");
  if (json_optional<bool>(j, "attention_bias", false, where)) fail(where, "attention_bias is not supported");
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) fail(where, "rope_scaling is not supported");

  ModelConfig c;
  c.vocab_size = json_required<int>(j, "vocab_size", where);
  c.dim = json_required<int>(j, "hidden_size", where);
  c.hidden_dim = json_required<int>(j, "intermediate_size", where);
  c.n_heads = json_required<int>(j, "num_attention_heads", where);
  c.n_layers = json_required<int>(j, "num_hidden_layers", where);
  c.n_kv_heads = json_optional<int>(j, "num_key_value_heads", c.n_heads, where);
  // HF defaults for the optional fields (LlamaConfig).
  c.max_seq_len = json_optional<int>(j, "max_position_embeddings", 2048, where);
  c.norm_eps = json_optional<double>(j, "rms_norm_eps", 1e-6, where);
  c.rope_theta = json_optional<double>(j, "rope_theta", 10000.0, where);
  c.tie_embeddings = json_optional<bool>(j, "tie_word_embeddings", false, where);
  c.pad_token_id = -1;  // LlamaConfig's default: none
  if (j.contains("pad_token_id") && !j["pad_token_id"].is_null()) c.pad_token_id = json_required<int>(j, "pad_token_id", where);
  if (c.hidden_dim <= 0) fail(where, "intermediate_size must be positive");
  if (j.contains("head_dim") && !j["head_dim"].is_null() && c.n_heads > 0 &&
      json_required<int>(j, "head_dim", where) != c.dim / c.n_heads)
    fail(where, "head_dim must equal hidden_size / num_attention_heads");
  c.validate(where);
  return c;
}

}  // namespace prealign
