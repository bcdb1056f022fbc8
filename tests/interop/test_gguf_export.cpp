// GGUF export read back by an independent reader (gguf_reader.hpp, written from
// the spec): the keys with their types and values against the checkpoint and
// SentencePiece, every tensor's name, shape, type, aligned offset and data; the
// Q/K permutation checked by what it must preserve (attention scores under each
// layout's RoPE); F16 rounding and Q8_0 error bounds; refusals of bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "interop/gguf_export.hpp"
#include "interop/gguf_fixture.hpp"
#include "interop/gguf_reader.hpp"
#include "model/safetensors.hpp"

using namespace prealign;
using prealign::testing::GgufRead;
using prealign::testing::read_gguf;

namespace {

namespace fs = std::filesystem;

// IEEE half -> float from the bit layout (1 sign, 5 exponent, 10 mantissa bits).
float half_bits_to_float(uint16_t h) {
  const int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double v = exponent == 0 ? std::ldexp(mantissa, -24) : std::ldexp(1.0 + mantissa / 1024.0, exponent - 15);
  if (exponent == 31) v = mantissa ? NAN : INFINITY;
  return static_cast<float>((h & 0x8000) ? -v : v);
}

std::vector<float> floats_of(const torch::Tensor& t) {
  torch::Tensor f = t.to(torch::kFloat32).contiguous();
  return std::vector<float>(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
}

std::string export_to(const std::string& ckpt, const std::string& out, GgufFileType type) {
  GgufExportOptions o;
  o.checkpoint = ckpt;
  o.out = out;
  o.type = type;
  export_gguf(o);
  return out;
}

// Llama RoPE on one head vector of `hd` values at position `pos`, in either layout:
// "halves" (Hugging Face rotate_half: pair i is (i, i + hd/2)) or "interleaved"
// (GGML's normal mode: pair i is (2i, 2i + 1)). Frequency theta^(-2i/hd) for pair i.
std::vector<double> rope(const std::vector<double>& x, int pos, double theta, bool interleaved) {
  const int hd = static_cast<int>(x.size());
  std::vector<double> y(x);
  for (int i = 0; i < hd / 2; ++i) {
    const double a = pos * std::pow(theta, -2.0 * i / hd);
    const int p = interleaved ? 2 * i : i, q = interleaved ? 2 * i + 1 : i + hd / 2;
    y[p] = x[p] * std::cos(a) - x[q] * std::sin(a);
    y[q] = x[q] * std::cos(a) + x[p] * std::sin(a);
  }
  return y;
}

// Rows [row0, row0 + hd) of a (rows, cols) matrix times x.
std::vector<double> head_times(const std::vector<float>& w, int64_t cols, int64_t row0, int hd,
                               const std::vector<double>& x) {
  std::vector<double> y(hd, 0.0);
  for (int r = 0; r < hd; ++r)
    for (int64_t c = 0; c < cols; ++c) y[r] += double(w[(row0 + r) * cols + c]) * x[c];
  return y;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

class GgufExport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(prealign::testing::temp_dir());
    // Untied, grouped-query (4 heads, 2 kv heads), hidden 80: down_proj rows are not a multiple of 32.
    config_ = new ModelConfig(
        prealign::testing::random_checkpoint(*dir_ + "/ckpt", "dim=64,layers=2,heads=4,kv_heads=2,hidden=80,tie=0"));
    weights_ = new SafetensorsFile(load_safetensors(*dir_ + "/ckpt/model.safetensors"));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete config_;
    delete weights_;
  }
  static const torch::Tensor& hf(const std::string& name) { return weights_->tensors.at(name); }
  static inline std::string* dir_ = nullptr;
  static inline ModelConfig* config_ = nullptr;
  static inline SafetensorsFile* weights_ = nullptr;
};

}  // namespace

TEST_F(GgufExport, WritesTheLlamaKeysWithTheirTypesAndValues) {
  const GgufRead g = read_gguf(export_to(*dir_ + "/ckpt", *dir_ + "/keys.gguf", GgufFileType::kF32));
  EXPECT_EQ(g.version, 3u);
  const ModelConfig& c = *config_;
  const std::map<std::string, uint64_t> u32 = {
      {"general.file_type", 0},
      {"general.alignment", 32},
      {"llama.vocab_size", uint64_t(c.vocab_size)},
      {"llama.context_length", uint64_t(c.max_seq_len)},
      {"llama.embedding_length", 64},
      {"llama.block_count", 2},
      {"llama.feed_forward_length", 80},
      {"llama.rope.dimension_count", 16},
      {"llama.attention.head_count", 4},
      {"llama.attention.head_count_kv", 2},
      {"tokenizer.ggml.bos_token_id", uint64_t(Tokenizer::kBos)},
      {"tokenizer.ggml.eos_token_id", uint64_t(Tokenizer::kEos)},
      {"tokenizer.ggml.unknown_token_id", uint64_t(Tokenizer::kUnk)},
      {"tokenizer.ggml.padding_token_id", uint64_t(Tokenizer::kPad)}};
  for (const auto& [key, value] : u32) {
    EXPECT_EQ(g.at(key).type, 4u) << key << " is a uint32";
    EXPECT_EQ(g.at(key).u.at(0), value) << key;
  }
  EXPECT_EQ(g.at("general.architecture").type, 8u);
  EXPECT_EQ(g.at("general.architecture").s.at(0), "llama");
  EXPECT_EQ(g.at("general.name").s.at(0), "ckpt");
  EXPECT_EQ(g.at("tokenizer.ggml.model").s.at(0), "llama");
  EXPECT_EQ(g.at("llama.attention.layer_norm_rms_epsilon").type, 6u);
  EXPECT_FLOAT_EQ(g.at("llama.attention.layer_norm_rms_epsilon").f.at(0), float(c.norm_eps));
  EXPECT_FLOAT_EQ(g.at("llama.rope.freq_base").f.at(0), float(c.rope_theta));
  for (const char* key : {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix"})
    EXPECT_EQ(g.at(key).type, 7u) << key << " is a bool";
  EXPECT_EQ(g.at("tokenizer.ggml.add_bos_token").u.at(0), 1u);
  EXPECT_EQ(g.at("tokenizer.ggml.add_eos_token").u.at(0), 0u);
  EXPECT_EQ(g.at("tokenizer.ggml.add_space_prefix").u.at(0), 0u) << "prealign trains without a dummy prefix";
  // The policy's start tags, for consumers that want prealign's conditioning.
  EXPECT_EQ(g.at("prealign.policy.start_tags").item_type, 8u);
  EXPECT_EQ(g.at("prealign.policy.start_tags").s, std::vector<std::string>{"<|good|>"});
  EXPECT_EQ(g.at("prealign.policy.start_position").s.at(0), "before_prompt");
  EXPECT_EQ(json::parse(g.at("prealign.policy.json").s.at(0)), read_json_file(*dir_ + "/ckpt/policy.json"));
  EXPECT_EQ(json::parse(g.at("prealign.tagset.json").s.at(0)), read_json_file(*dir_ + "/ckpt/tagset.json"));
}

// Pieces and their types against SentencePiece itself (through the tokenizer).
TEST_F(GgufExport, WritesTheVocabularyWithTagsAsControlTokens) {
  const GgufRead g = read_gguf(export_to(*dir_ + "/ckpt", *dir_ + "/vocab.gguf", GgufFileType::kF32));
  const Tokenizer tok = Tokenizer::load_dir(*dir_ + "/ckpt");
  const auto& tokens = g.at("tokenizer.ggml.tokens");
  const auto& types = g.at("tokenizer.ggml.token_type");
  const auto& scores = g.at("tokenizer.ggml.scores");
  EXPECT_EQ(tokens.item_type, 8u);
  EXPECT_EQ(types.item_type, 5u);
  EXPECT_EQ(scores.item_type, 6u);
  ASSERT_EQ(int(tokens.s.size()), tok.vocab_size());
  ASSERT_EQ(types.i.size(), tokens.s.size());
  ASSERT_EQ(scores.f.size(), tokens.s.size());
  const std::regex byte_piece("<0x[0-9A-F]{2}>");
  int controls = 0, bytes = 0, user_defined = 0;
  for (int id = 0; id < tok.vocab_size(); ++id) {
    EXPECT_EQ(tokens.s[id], tok.piece(id)) << id;
    int64_t want = 1;  // normal
    if (id == Tokenizer::kUnk) want = 2;
    else if (tok.is_tag(id) || tok.is_special(id)) want = 3;  // control: never produced from text
    else if (std::regex_match(tokens.s[id], byte_piece)) want = 6;
    else if (tokens.s[id].find_first_not_of("\r\n\t") == std::string::npos) want = 4;  // prealign's whitespace symbols
    EXPECT_EQ(types.i[id], want) << id << " " << tokens.s[id];
    controls += want == 3;
    bytes += want == 6;
    user_defined += want == 4;
  }
  EXPECT_EQ(user_defined, 7);  // \n, \r\n, \r and one to four tabs: always one piece, in llama.cpp too
  EXPECT_EQ(controls, 3 + 2);  // bos, eos, pad + <|good|>, <|bad|>
  EXPECT_EQ(bytes, 256);
  EXPECT_EQ(types.i[tok.tag_id("<|good|>")], 3);
  EXPECT_EQ(types.i[tok.tag_id("<|bad|>")], 3);
  // BPE scores rank merges: later pieces score lower.
  EXPECT_GT(scores.f[300], scores.f[310] - 1e-6);
}

TEST_F(GgufExport, F32TensorsHaveLlamaCppNamesShapesAndExactData) {
  const GgufRead g = read_gguf(export_to(*dir_ + "/ckpt", *dir_ + "/f32.gguf", GgufFileType::kF32));
  std::map<std::string, std::string> gguf_to_hf = {{"token_embd.weight", "model.embed_tokens.weight"},
                                                   {"output_norm.weight", "model.norm.weight"},
                                                   {"output.weight", "lm_head.weight"}};
  const std::map<std::string, std::string> per_layer = {
      {"attn_norm", "input_layernorm"},  {"attn_q", "self_attn.q_proj"}, {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},    {"attn_output", "self_attn.o_proj"},
      {"ffn_norm", "post_attention_layernorm"}, {"ffn_gate", "mlp.gate_proj"}, {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"}};
  for (int l = 0; l < 2; ++l)
    for (const auto& [gg, h] : per_layer)
      gguf_to_hf["blk." + std::to_string(l) + "." + gg + ".weight"] = "model.layers." + std::to_string(l) + "." + h + ".weight";
  ASSERT_EQ(g.tensors.size(), gguf_to_hf.size());
  uint64_t end = 0;
  for (const auto& t : g.tensors) {
    ASSERT_TRUE(gguf_to_hf.count(t.name)) << t.name;
    const torch::Tensor& w = hf(gguf_to_hf[t.name]);
    std::vector<uint64_t> reversed(w.sizes().rbegin(), w.sizes().rend());
    EXPECT_EQ(t.ne, reversed) << t.name << ": ne[0] is the innermost dimension";
    EXPECT_EQ(t.type, 0u) << t.name;
    end = std::max(end, t.offset + GgufRead::nbytes(t));
    if (t.name.find("attn_q") != std::string::npos || t.name.find("attn_k") != std::string::npos) continue;
    EXPECT_EQ(g.f32(t.name), floats_of(w)) << t.name;
  }
  EXPECT_EQ(g.data_start % 32, 0u);
  EXPECT_EQ(g.bytes.size(), g.data_start + (end + 31) / 32 * 32) << "nothing after the last tensor's padding";
  // Q and K: the same rows, reordered within each head so RoPE pairs are adjacent:
  // GGUF row 2i + j of a head is Hugging Face row j * hd/2 + i.
  const int hd = 16;
  for (const char* which : {"q", "k"}) {
    const std::vector<float> a = g.f32(std::string("blk.1.attn_") + which + ".weight");
    const std::vector<float> b = floats_of(hf(std::string("model.layers.1.self_attn.") + which + "_proj.weight"));
    const int heads = which[0] == 'q' ? 4 : 2;
    ASSERT_EQ(a.size(), size_t(heads * hd * 64));
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < hd / 2; ++i)
        for (int j = 0; j < 2; ++j)
          for (int c = 0; c < 64; ++c)
            ASSERT_EQ(a[((h * hd) + 2 * i + j) * 64 + c], b[((h * hd) + j * hd / 2 + i) * 64 + c]) << which << h;
  }
}

// What the permutation is for: q·k after RoPE, as llama.cpp computes it on the
// GGUF weights (interleaved pairs), equals what Hugging Face computes on the
// original weights (rotate_half), for every query head and the kv head it reads.
TEST_F(GgufExport, PermutedQAndKGiveTheSameAttentionScoresUnderGgmlRope) {
  const GgufRead g = read_gguf(export_to(*dir_ + "/ckpt", *dir_ + "/rope.gguf", GgufFileType::kF32));
  const std::vector<float> q_gguf = g.f32("blk.0.attn_q.weight"), k_gguf = g.f32("blk.0.attn_k.weight");
  const std::vector<float> q_hf = floats_of(hf("model.layers.0.self_attn.q_proj.weight"));
  const std::vector<float> k_hf = floats_of(hf("model.layers.0.self_attn.k_proj.weight"));
  torch::manual_seed(11);
  const std::vector<float> xs = floats_of(torch::randn({2, 64}));
  std::vector<double> x1(xs.begin(), xs.begin() + 64), x2(xs.begin() + 64, xs.end());
  const int hd = 16, query_pos = 9, key_pos = 4;
  double worst = 0, scale = 0;
  for (int h = 0; h < 4; ++h) {
    const int kv = h / 2;  // grouped-query: 2 query heads per kv head
    const double s_hf = dot(rope(head_times(q_hf, 64, h * hd, hd, x1), query_pos, config_->rope_theta, false),
                            rope(head_times(k_hf, 64, kv * hd, hd, x2), key_pos, config_->rope_theta, false));
    const double s_gg = dot(rope(head_times(q_gguf, 64, h * hd, hd, x1), query_pos, config_->rope_theta, true),
                            rope(head_times(k_gguf, 64, kv * hd, hd, x2), key_pos, config_->rope_theta, true));
    worst = std::max(worst, std::fabs(s_hf - s_gg));
    scale = std::max(scale, std::fabs(s_hf));
  }
  EXPECT_GT(scale, 1e-3) << "the scores are not trivially zero";
  EXPECT_LT(worst, 1e-9 * std::max(1.0, scale));
  // Unpermuted weights under GGML's RoPE would give other scores: the check can fail.
  const double wrong = dot(rope(head_times(q_hf, 64, 0, hd, x1), query_pos, config_->rope_theta, true),
                           rope(head_times(k_hf, 64, 0, hd, x2), key_pos, config_->rope_theta, true));
  const double right = dot(rope(head_times(q_hf, 64, 0, hd, x1), query_pos, config_->rope_theta, false),
                           rope(head_times(k_hf, 64, 0, hd, x2), key_pos, config_->rope_theta, false));
  EXPECT_GT(std::fabs(wrong - right), 1e-4);
}

TEST_F(GgufExport, F16KeepsNormsInF32AndRoundsMatricesToHalf) {
  const GgufRead g = read_gguf(export_to(*dir_ + "/ckpt", *dir_ + "/f16.gguf", GgufFileType::kF16));
  EXPECT_EQ(g.at("general.file_type").u.at(0), 1u);
  for (const auto& t : g.tensors) EXPECT_EQ(t.type, t.ne.size() == 1 ? 0u : 1u) << t.name;
  const std::string d = g.data(g.tensor("blk.0.ffn_up.weight"));
  const std::vector<float> want = floats_of(hf("model.layers.0.mlp.up_proj.weight"));
  ASSERT_EQ(d.size(), want.size() * 2);
  for (size_t i = 0; i < want.size(); ++i) {
    uint16_t h;
    std::memcpy(&h, d.data() + 2 * i, 2);
    // round to nearest: within half a unit in the last place (10 mantissa bits)
    ASSERT_LE(std::fabs(half_bits_to_float(h) - want[i]), std::fabs(want[i]) * std::ldexp(1.0, -11) + 1e-7) << i;
  }
  EXPECT_EQ(g.f32("blk.0.ffn_norm.weight"), floats_of(hf("model.layers.0.post_attention_layernorm.weight")));
}

// Q8_0 blocks read back by hand: per block of 32, an f16 scale d and 32 int8;
// x ≈ d*q within d/2 plus the scale's own rounding, i.e. amax * (1/254 + 1/2048).
TEST_F(GgufExport, Q8_0BlocksDequantiseWithinTheirBound) {
  const GgufRead g = read_gguf(export_to(*dir_ + "/ckpt", *dir_ + "/q8.gguf", GgufFileType::kQ8_0));
  EXPECT_EQ(g.at("general.file_type").u.at(0), 7u);
  for (const auto& t : g.tensors) {
    const uint32_t want = t.ne.size() == 1 ? 0u : (t.ne[0] % 32 == 0 ? 8u : 1u);
    EXPECT_EQ(t.type, want) << t.name;
  }
  EXPECT_EQ(g.tensor("blk.0.ffn_down.weight").type, 1u) << "rows of 80 cannot be Q8_0 blocks: F16 instead";
  for (const auto& [name, hf_name] : std::vector<std::pair<std::string, std::string>>{
           {"token_embd.weight", "model.embed_tokens.weight"}, {"blk.1.ffn_gate.weight", "model.layers.1.mlp.gate_proj.weight"},
           {"blk.1.attn_v.weight", "model.layers.1.self_attn.v_proj.weight"}}) {
    const std::string d = g.data(g.tensor(name));
    const std::vector<float> x = floats_of(hf(hf_name));
    ASSERT_EQ(d.size(), x.size() / 32 * 34) << name;
    double worst_ratio = 0, sum_err = 0;
    for (size_t b = 0; b < x.size() / 32; ++b) {
      uint16_t bits;
      std::memcpy(&bits, d.data() + b * 34, 2);
      const float scale = half_bits_to_float(bits);
      float amax = 0;
      for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
      for (int i = 0; i < 32; ++i) {
        const double err = std::fabs(scale * static_cast<int8_t>(d[b * 34 + 2 + i]) - x[b * 32 + i]);
        worst_ratio = std::max(worst_ratio, err / amax);
        sum_err += err;
      }
    }
    EXPECT_LE(worst_ratio, 1.0 / 254 + 1.0 / 2048 + 1e-6) << name;
    EXPECT_GT(sum_err, 0.0) << name << ": quantization changes the values";
  }
}

TEST_F(GgufExport, TiedEmbeddingsHaveNoOutputTensor) {
  prealign::testing::random_checkpoint(*dir_ + "/tied", "dim=64,layers=1,heads=4,hidden=64");
  const GgufRead g = read_gguf(export_to(*dir_ + "/tied", *dir_ + "/tied.gguf", GgufFileType::kF32));
  std::set<std::string> names;
  for (const auto& t : g.tensors) names.insert(t.name);
  EXPECT_FALSE(names.count("output.weight")) << "llama.cpp reuses token_embd when output is absent";
  EXPECT_TRUE(names.count("token_embd.weight"));
  EXPECT_EQ(names.size(), 1u + 9u + 1u);
}

TEST_F(GgufExport, RefusesBadInputNamingTheFileAndLeavesTheTargetAlone) {
  const std::string out = *dir_ + "/bad.gguf";
  write_file_atomic(out, "previous contents");
  const auto expect_error = [&](const std::string& ckpt, const std::string& needle) {
    try {
      export_to(ckpt, out, GgufFileType::kF32);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_file(out), "previous contents");
  };
  expect_error(*dir_ + "/nowhere", "nowhere");
  // A checkpoint copy with one file removed or changed at a time.
  const auto copy = [&](const std::string& name) {
    const std::string d = *dir_ + "/" + name;
    fs::remove_all(d);
    fs::copy(*dir_ + "/ckpt", d);
    return d;
  };
  std::string d = copy("no_tokenizer");
  fs::remove(d + "/tokenizer.model");
  expect_error(d, d + "/tokenizer.model");
  d = copy("other_vocab");
  json config = read_json_file(d + "/config.json");
  config["vocab_size"] = 999;
  write_json_file(d + "/config.json", config);
  expect_error(d, "vocab_size 999");
  d = copy("bad_policy");
  json policy = read_json_file(d + "/policy.json");
  policy["start"]["tags"] = {"<|nope|>"};
  write_json_file(d + "/policy.json", policy);
  expect_error(d, "<|nope|>");
  d = copy("truncated");
  const std::string weights = read_file(d + "/model.safetensors");
  write_file_atomic(d + "/model.safetensors", weights.substr(0, weights.size() / 2));
  expect_error(d, "model.safetensors");
  EXPECT_THROW(parse_gguf_file_type("q4_0"), Error);
  for (const auto& e : fs::directory_iterator(*dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << "left behind: " << e.path();
}
