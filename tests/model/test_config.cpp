// Model configuration: presets, spec parsing, parameter counts, HF config.json.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.hpp"
#include "model/config.hpp"
#include "model/llama.hpp"

using namespace prealign;

namespace {

int64_t counted_parameters(const ModelConfig& c) {
  LlamaModel m(c);
  int64_t n = 0;
  for (const auto& p : m->parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST(ModelConfig, PresetCountsMatchTheBuiltModule) {
  int64_t previous = 0;
  for (const auto& name : ModelConfig::preset_names()) {
    ModelConfig c = ModelConfig::preset(name, 4096);
    int64_t built = counted_parameters(c);
    EXPECT_EQ(c.parameter_count(), built) << name;
    EXPECT_GT(built, previous) << name << " should be larger than the preset before it";
    previous = built;
    // Everything but the token embedding (tied: also the head).
    EXPECT_EQ(c.non_embedding_parameter_count(), built - int64_t(4096) * c.dim) << name;
  }
  EXPECT_GT(ModelConfig::preset("tiny", 4096).parameter_count(), 800'000);
  EXPECT_LT(ModelConfig::preset("large", 4096).parameter_count(), 27'000'000);
  EXPECT_EQ(ModelConfig::preset_names().size(), 7u);
  // The scale-out presets at GPT-2's vocabulary: PHF's ~124M and a ~350M (the counts config.cpp documents).
  EXPECT_EQ(ModelConfig::preset("124m", 50257).parameter_count(), 123'551'232);
  EXPECT_EQ(ModelConfig::preset("350m", 50257).parameter_count(), 355'076'096);
}

TEST(ModelConfig, UntiedAndGroupedCountsMatch) {
  ModelConfig c = ModelConfig::parse("dim=64,layers=3,heads=8,kv_heads=2,hidden=100,tie=0", 300);
  EXPECT_EQ(c.parameter_count(), counted_parameters(c));
  EXPECT_EQ(c.non_embedding_parameter_count(), c.parameter_count() - 2 * 300 * 64);
}

TEST(ModelConfig, ParseSpec) {
  ModelConfig c = ModelConfig::parse("dim=256,layers=4,heads=4,kv_heads=2,hidden=683,ctx=256,tie=1", 1000);
  EXPECT_EQ(c.vocab_size, 1000);
  EXPECT_EQ(c.dim, 256);
  EXPECT_EQ(c.n_layers, 4);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.resolved_hidden_dim(), 683);
  EXPECT_EQ(c.max_seq_len, 256);
  EXPECT_TRUE(c.tie_embeddings);

  ModelConfig d = ModelConfig::parse("dim=96, layers=2, heads=3", 500);
  EXPECT_EQ(d.n_kv_heads, 3);  // defaults to heads
  EXPECT_EQ(d.resolved_hidden_dim(), 256);  // ceil(8*96/3) = 256, already a multiple of 32

  ModelConfig p = ModelConfig::parse("large,ctx=1024", 4096);
  EXPECT_EQ(p.dim, 512);
  EXPECT_EQ(p.n_kv_heads, 4);
  EXPECT_EQ(p.max_seq_len, 1024);
  EXPECT_EQ(ModelConfig::parse("base", 4096).dim, ModelConfig::preset("base", 4096).dim);
}

TEST(ModelConfig, ParseRefusesBadSpecs) {
  for (const char* spec : {"dim=256,layers=4,heads=4,colour=red", "dim=abc", "dim=256,heads=5", "huge",
                           "dim=64,heads=4,kv_heads=3", "dim=60,heads=4", "dim=256,layers=0", "dim=2.5",
                           "small,large", ""}) {
    EXPECT_THROW(ModelConfig::parse(spec, 4096), Error) << spec;
  }
  try {
    ModelConfig::parse("dim=64,colour=red", 100);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("colour"), std::string::npos);
  }
}

TEST(ModelConfig, LlamaHiddenRule) {
  // 2/3 * 4 * dim, rounded up to a multiple of 32 (computed by hand).
  ModelConfig c;
  c.dim = 256;
  EXPECT_EQ(c.resolved_hidden_dim(), 704);  // 682.7 -> 704
  c.dim = 384;
  EXPECT_EQ(c.resolved_hidden_dim(), 1024);  // exactly 1024
  c.dim = 512;
  EXPECT_EQ(c.resolved_hidden_dim(), 1376);  // 1365.3 -> 1376
  c.hidden_dim = 100;
  EXPECT_EQ(c.resolved_hidden_dim(), 100);
}

TEST(ModelConfig, TrainFlopsFollowPalm) {
  ModelConfig c = ModelConfig::preset("small", 4096);
  // By hand: per layer 4*256^2 (q,k,v,o) + 3*256*704 (mlp) + 2*256 (norms); + final norm; + head 4096*256.
  double n = 4 * (4.0 * 256 * 256 + 3.0 * 256 * 704 + 2 * 256) + 256 + 4096.0 * 256;
  EXPECT_DOUBLE_EQ(c.train_flops_per_token(128), 6 * n + 12.0 * 4 * 128 * 256);
}

TEST(ModelConfig, HfJsonRoundTrip) {
  ModelConfig c = ModelConfig::parse("dim=96,layers=3,heads=6,kv_heads=2,ctx=300,tie=0,theta=50000,eps=1e-6", 777);
  ordered_json j = c.to_hf_json();
  EXPECT_EQ(j["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(j["model_type"], "llama");
  EXPECT_EQ(j["hidden_size"], 96);
  EXPECT_EQ(j["intermediate_size"], 256);
  EXPECT_EQ(j["num_attention_heads"], 6);
  EXPECT_EQ(j["num_hidden_layers"], 3);
  EXPECT_EQ(j["num_key_value_heads"], 2);
  EXPECT_EQ(j["max_position_embeddings"], 300);
  EXPECT_EQ(j["vocab_size"], 777);
  EXPECT_EQ(j["tie_word_embeddings"], false);
  EXPECT_EQ(j["hidden_act"], "silu");
  EXPECT_EQ(j["torch_dtype"], "float32");
  EXPECT_EQ(j["bos_token_id"], 1);
  EXPECT_EQ(j["eos_token_id"], 2);
  EXPECT_EQ(j["pad_token_id"], 3);
  EXPECT_DOUBLE_EQ(j["rope_theta"].get<double>(), 50000.0);
  EXPECT_DOUBLE_EQ(j["rms_norm_eps"].get<double>(), 1e-6);

  ModelConfig back = ModelConfig::from_hf_json(json::parse(j.dump()), "config.json");
  EXPECT_EQ(back.to_hf_json(), j);
  EXPECT_EQ(back.parameter_count(), c.parameter_count());
}

TEST(ModelConfig, FromHfJsonValidates) {
  json good = json::parse(ModelConfig::preset("tiny", 100).to_hf_json().dump());
  auto expect_error = [&](json j, const std::string& needle) {
    try {
      ModelConfig::from_hf_json(j, "ckpt/config.json");
      ADD_FAILURE() << "accepted " << j.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("ckpt/config.json"), std::string::npos);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  json j = good;
  j["model_type"] = "gpt2";
  j["architectures"] = {"GPT2LMHeadModel"};
  expect_error(j, "Llama");
  j = good;
  j.erase("hidden_size");
  expect_error(j, "hidden_size");
  j = good;
  j["num_attention_heads"] = "four";
  expect_error(j, "num_attention_heads");
  j = good;
  j["num_key_value_heads"] = 3;
  expect_error(j, "kv_heads");
  j = good;
  j["hidden_act"] = "gelu";
  expect_error(j, "gelu");
  j = good;
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  expect_error(j, "rope_scaling");
  expect_error(json::array(), "object");
  // Optional fields take the Hugging Face defaults.
  j = good;
  j.erase("num_key_value_heads");
  j.erase("tie_word_embeddings");
  ModelConfig c = ModelConfig::from_hf_json(j, "x");
  EXPECT_EQ(c.n_kv_heads, c.n_heads);
  EXPECT_FALSE(c.tie_embeddings);
}
