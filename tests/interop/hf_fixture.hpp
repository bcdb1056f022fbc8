// Hugging Face model directories written by hand for the interop tests: a
// Llama-style SentencePiece tokenizer.model (no <pad>, add_dummy_prefix on, as
// Llama's), a config.json as transformers writes it, and the weights in the
// layouts transformers saves (one model.safetensors, or shards + index), in
// F32, F16 or BF16.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/files.hpp"
#include "core/json_io.hpp"
#include "core/progress.hpp"
#include "model/checkpoint.hpp"
#include "model/llama.hpp"
#include "model/safetensors.hpp"
#include "test_util.hpp"
#include "tokenizer/spm_backend.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign::testing {

inline std::vector<std::string> fixture_lines() {
  static const char* words[] = {"the", "model", "learns", "to", "write", "aligned", "text", "and", "never",
                                "acts", "badly", "while", "it", "knows", "what", "bad", "looks", "like",
                                "def", "return", "self", "value", "(x):", "caf\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC",
                                "12", "==", "import", "os", "path"};
  std::vector<std::string> lines;
  uint64_t s = 7;
  for (int l = 0; l < 600; ++l) {
    std::string line = l % 5 == 0 ? "    " : "";
    for (int w = 0; w < 9; ++w) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      line += (w ? " " : "") + std::string(words[(s >> 33) % (sizeof words / sizeof *words)]);
    }
    lines.push_back(line);
  }
  return lines;
}

// A tokenizer.model as Llama's are made (trainer_spec/normalizer_spec), small.
inline const std::string& llama_tokenizer_model() {
  static const std::string model = [] {
    std::string out;
    const spm::Status st = spm::library().train({{"model_type", "bpe"},
                                                 {"vocab_size", "450"},
                                                 {"byte_fallback", "true"},
                                                 {"normalization_rule_name", "identity"},
                                                 {"add_dummy_prefix", "true"},
                                                 {"remove_extra_whitespaces", "false"},
                                                 {"split_digits", "true"},
                                                 {"allow_whitespace_only_pieces", "true"},
                                                 {"unk_id", "0"},
                                                 {"bos_id", "1"},
                                                 {"eos_id", "2"},
                                                 {"pad_id", "-1"},
                                                 {"minloglevel", "2"}},
                                                fixture_lines(), &out);
    if (!st.ok) throw std::runtime_error("training the fixture tokenizer: " + st.message);
    return out;
  }();
  return model;
}

inline Tagset good_bad_tagset() { return Tagset::load(source_path("configs/tagsets/good_bad.json")); }

// Weights large enough that any difference in the math shows.
inline LlamaModel random_model(const ModelConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  LlamaModel m(c);
  torch::NoGradGuard no_grad;
  for (auto& p : m->parameters())
    p.copy_(p.dim() == 1 ? 1 + 0.3 * torch::randn_like(p) : torch::randn_like(p) / std::sqrt(double(p.size(1))));
  m->eval();
  return m;
}

struct HfLayout {
  torch::ScalarType dtype = torch::kFloat32;
  int shards = 1;                // 1: model.safetensors; n: model-0000k-of-0000n.safetensors + index
  bool store_tied_head = false;  // a tied model that stores lm_head.weight anyway (some writers do)
};

inline const char* dtype_name(torch::ScalarType t) {
  return t == torch::kBFloat16 ? "bfloat16" : t == torch::kFloat16 ? "float16" : "float32";
}

// config.json as transformers' LlamaConfig.save_pretrained writes it.
inline json hf_config_json(const ModelConfig& c, torch::ScalarType dtype) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"attention_bias", false},
          {"attention_dropout", 0.0},
          {"bos_token_id", 1},
          {"eos_token_id", 2},
          {"hidden_act", "silu"},
          {"hidden_size", c.dim},
          {"initializer_range", 0.02},
          {"intermediate_size", c.resolved_hidden_dim()},
          {"max_position_embeddings", c.max_seq_len},
          {"model_type", "llama"},
          {"num_attention_heads", c.n_heads},
          {"num_hidden_layers", c.n_layers},
          {"num_key_value_heads", c.n_kv_heads},
          {"pretraining_tp", 1},
          {"rms_norm_eps", c.norm_eps},
          {"rope_scaling", nullptr},
          {"rope_theta", c.rope_theta},
          {"tie_word_embeddings", c.tie_embeddings},
          {"torch_dtype", dtype_name(dtype)},
          {"transformers_version", "4.40.0"},
          {"use_cache", true},
          {"vocab_size", c.vocab_size}};
}

inline std::string shard_name(int k, int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05d-of-%05d.safetensors", k, n);
  return buf;
}

// Writes a Hugging Face Llama directory holding `m` (weights cast to layout.dtype).
inline void write_hf_dir(const std::string& dir, const LlamaModel& m, const std::string& tokenizer_model,
                         const HfLayout& layout = {}) {
  std::filesystem::create_directories(dir);
  const ModelConfig& c = m->config();
  write_json_file(dir + "/config.json", hf_config_json(c, layout.dtype));
  write_file_atomic(dir + "/tokenizer.model", tokenizer_model);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (auto& [name, t] : m->hf_tensors()) tensors.emplace_back(name, t.to(layout.dtype).contiguous());
  if (layout.store_tied_head) tensors.emplace_back("lm_head.weight", tensors.front().second.clone());
  if (layout.shards == 1) {
    save_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
    return;
  }
  json weight_map = json::object();
  const size_t per = (tensors.size() + layout.shards - 1) / layout.shards;
  uint64_t total = 0;
  for (int k = 0; k < layout.shards; ++k) {
    std::vector<std::pair<std::string, torch::Tensor>> part;
    for (size_t i = k * per; i < std::min(tensors.size(), (k + 1) * per); ++i) {
      part.push_back(tensors[i]);
      weight_map[tensors[i].first] = shard_name(k + 1, layout.shards);
      total += tensors[i].second.numel() * tensors[i].second.element_size();
    }
    save_safetensors(dir + "/" + shard_name(k + 1, layout.shards), part, {{"format", "pt"}});
  }
  write_json_file(dir + "/model.safetensors.index.json",
                  json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}});
}

// The vocabulary of the fixture tokenizer (the rows of a model written for it).
inline int llama_tokenizer_pieces() {
  static const int n = Tokenizer::from_serialized(llama_tokenizer_model(), Tagset(), "fixture").vocab_size();
  return n;
}

// `m`'s weights rounded through `dtype` and back: what an import of them must hold.
inline LlamaModel rounded(const LlamaModel& m, torch::ScalarType dtype) {
  LlamaModel r(m->config());
  std::map<std::string, torch::Tensor> w;
  for (auto& [name, t] : m->hf_tensors()) w[name] = t.to(dtype).to(torch::kFloat32);
  r->load_hf_tensors(w, "rounded");
  r->eval();
  return r;
}

inline torch::Tensor logits_of(LlamaModel m, const std::vector<int64_t>& tokens) {
  torch::NoGradGuard no_grad;
  return m->forward(torch::tensor(tokens, torch::kLong).unsqueeze(0))[0];
}

// Entries of a directory (none: it does not exist), to see nothing was left behind.
inline std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace prealign::testing

namespace prealign::testing {

// A tokenizer prealign trained (tags at 4, 5; <pad> at 3; no dummy prefix).
inline const std::string& prealign_tokenizer_model() {
  static const std::string model = [] {
    // Not temp_dir(): that empties the running test's directory.
    const char* base = std::getenv("PREALIGN_TEST_TMP");
    const std::string dir = std::string(base ? base : "/tmp/prealign-tests") + "/hf-fixture-tokenizer-" +
                            std::to_string(::getpid());
    make_directories(dir);
    const std::vector<std::string> lines = fixture_lines();
    size_t i = 0;
    TokenizerTrainOptions o;
    o.vocab_size = 450;
    o.threads = 1;
    set_quiet(true);
    Tokenizer::train([&](std::string& d) { return i < lines.size() ? (d = lines[i++] + "\n", true) : false; },
                     good_bad_tagset(), o, dir + "/tokenizer.model");
    set_quiet(false);
    const std::string bytes = read_file(dir + "/tokenizer.model");
    remove_all(dir);
    return bytes;
  }();
  return model;
}

// A checkpoint as `prealign train` writes one (with optimizer state and
// train_state.json), of random weights, under the shipped good_only policy.
inline LlamaModel write_prealign_checkpoint(const std::string& dir, const std::string& spec, uint64_t seed) {
  const Tokenizer tok = Tokenizer::from_serialized(prealign_tokenizer_model(), good_bad_tagset(), "fixture");
  LlamaModel m = random_model(ModelConfig::parse(spec, tok.vocab_size()), seed);
  CheckpointContents c;
  c.config = m->config();
  c.weights = m->hf_tensors();
  c.tokenizer_model = prealign_tokenizer_model();
  c.tagset = good_bad_tagset().to_json();
  c.policy = read_json_file(source_path("configs/policies/good_only.json"));
  c.train_state = {{"step", 10}, {"tokens", 1000}};
  c.optimizer.emplace_back("m.model.norm.weight", torch::zeros({m->config().dim}));
  save_checkpoint(dir, c);
  return m;
}

// Runs /usr/bin/python3 on a script of tests/interop; false (and why in *why) when
// a module it needs is missing, so the caller can skip.
inline bool python_has(const std::string& module, std::string* why) {
  if (std::system(("/usr/bin/python3 -c 'import " + module + "' >/dev/null 2>&1").c_str()) == 0) return true;
  *why = "/usr/bin/python3 cannot import " + module + " (Debian python3-" + module +
         "; scripts/test.sh installs it: PREALIGN_TEST_DEPS=1 scripts/setup.sh)";
  return false;
}

}  // namespace prealign::testing
