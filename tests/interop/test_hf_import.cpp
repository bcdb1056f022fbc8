// `import hf`: directories in every layout transformers writes (one file or
// shards + index; F32, F16, BF16; grouped-query attention; tied or untied
// embeddings) become checkpoints whose logits are the source weights' logits,
// with the tags as new control pieces that text never produces; every refusal
// names the file and says why, and leaves no output behind.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "hf_fixture.hpp"
#include "interop/hf_import.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

ModelConfig gqa_untied() {
  ModelConfig c = ModelConfig::parse("dim=64,layers=2,heads=4,kv_heads=2,hidden=96,ctx=64,tie=0,theta=500000",
                                     llama_tokenizer_pieces());
  return c;
}

std::vector<int64_t> text_tokens(const Tokenizer& tok) {
  std::vector<int64_t> ids = {Tokenizer::kBos};
  for (int id : tok.encode_start("the model learns to write aligned text\n    def value(x): return 12"))
    ids.push_back(id);
  return ids;
}

void expect_error_naming(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

// Imports `dir` and checks the checkpoint against `source` rounded through `dtype`.
void expect_imported(const std::string& dir, const LlamaModel& source, torch::ScalarType dtype) {
  const std::string out = dir + "-ckpt";
  const HfImportResult r = import_hf(dir, good_bad_tagset(), out);
  const int V = source->config().vocab_size;
  EXPECT_EQ(r.appended_tags, 2);
  EXPECT_EQ(r.config.vocab_size, V + 2);
  EXPECT_TRUE(r.add_dummy_prefix);

  LoadedCheckpoint ck = load_checkpoint(out, torch::kCPU);
  const Tokenizer tok = Tokenizer::load_dir(out);
  EXPECT_EQ(tok.vocab_size(), V + 2);
  EXPECT_EQ(tok.tag_ids(), (std::vector<int>{V, V + 1}));  // appended: every old id keeps its meaning
  EXPECT_EQ(tok.pad_id(), -1);
  EXPECT_TRUE(tok.add_dummy_prefix());
  EXPECT_TRUE(read_json_file(out + "/config.json")["pad_token_id"].is_null());
  EXPECT_EQ(ck.train_state["imported_from"]["format"], "huggingface");

  // Logits over the old vocabulary are the source weights' (as rounded by the file's dtype).
  const std::vector<int64_t> tokens = text_tokens(tok);
  const torch::Tensor ours = logits_of(ck.model, tokens), want = logits_of(rounded(source, dtype), tokens);
  EXPECT_LT((ours.narrow(1, 0, V) - want).abs().max().item<double>(), 1e-5);

  // The new rows: the mean of the old ones plus small noise, different per tag.
  std::map<std::string, torch::Tensor> w;
  for (auto& [name, t] : ck.model->hf_tensors()) w[name] = t;
  for (const char* name : {"model.embed_tokens.weight", "lm_head.weight"}) {
    if (!w.count(name)) continue;
    const torch::Tensor rows = w[name], mean = rows.narrow(0, 0, V).mean(0);
    for (int id : tok.tag_ids()) {
      const double off = (rows[id] - mean).abs().max().item<double>();
      EXPECT_GT(off, 0.0) << name;
      EXPECT_LT(off, 0.06) << name;  // noise of std 0.01
    }
    EXPECT_FALSE(torch::equal(rows[V], rows[V + 1])) << name;
  }

  // The injection rule holds for the imported tokenizer: typed tag markup stays text.
  for (const std::string& s : {std::string("say <|good|> or <|bad|>"), std::string("<|bad|>"), std::string("x<|good|>")}) {
    for (int id : tok.encode_start(s)) EXPECT_FALSE(tok.is_tag(id) || tok.is_special(id)) << s;
    for (int id : tok.encode(s)) EXPECT_FALSE(tok.is_tag(id) || tok.is_special(id)) << s;
    EXPECT_EQ(tok.decode_start(tok.encode_start(s)), s);
  }
}

}  // namespace

TEST(HfImport, ShardedBf16GroupedQueryUntied) {
  const std::string dir = temp_dir() + "/hf";
  const LlamaModel m = random_model(gqa_untied(), 3);
  write_hf_dir(dir, m, llama_tokenizer_model(), {torch::kBFloat16, 2});
  ASSERT_TRUE(file_exists(dir + "/model-00002-of-00002.safetensors"));
  expect_imported(dir, m, torch::kBFloat16);
}

TEST(HfImport, SingleFileF16Tied) {
  const std::string dir = temp_dir() + "/hf";
  const LlamaModel m = random_model(ModelConfig::parse("dim=48,layers=2,heads=4,hidden=80,ctx=64", llama_tokenizer_pieces()), 4);
  write_hf_dir(dir, m, llama_tokenizer_model(), {torch::kFloat16, 1});
  expect_imported(dir, m, torch::kFloat16);
}

TEST(HfImport, F32ShardsAndATiedHeadStoredAnyway) {
  const std::string dir = temp_dir() + "/hf";
  const LlamaModel m = random_model(ModelConfig::parse("dim=48,layers=3,heads=6,kv_heads=3,hidden=64,ctx=64", llama_tokenizer_pieces()), 5);
  write_hf_dir(dir, m, llama_tokenizer_model(), {torch::kFloat32, 3, /*store_tied_head=*/true});
  expect_imported(dir, m, torch::kFloat32);
}

TEST(HfImport, RefusesWhatItCannotImportAndLeavesNothingBehind) {
  const std::string root = temp_dir();
  const LlamaModel m = random_model(gqa_untied(), 6);
  int cases = 0;
  // Each case: a fresh directory, a change to it, the words the Error must contain.
  auto refused = [&](const std::string& name, const std::function<void(const std::string&)>& change,
                     const std::vector<std::string>& needles, const Tagset& tagset = good_bad_tagset()) {
    SCOPED_TRACE(name);
    const std::string dir = root + "/" + name, parent = root + "/out-" + name, out = parent + "/ckpt";
    write_hf_dir(dir, m, llama_tokenizer_model(), {torch::kBFloat16, 2});
    change(dir);
    std::filesystem::create_directories(parent);
    expect_error_naming([&] { import_hf(dir, tagset, out); }, needles);
    EXPECT_EQ(entries(parent), std::vector<std::string>{}) << "left behind in " << parent;
    ++cases;
  };
  refused(
      "mistral",
      [](const std::string& d) {
        json j = read_json_file(d + "/config.json");
        j["architectures"] = {"MistralForCausalLM"};
        j["model_type"] = "mistral";
        write_json_file(d + "/config.json", j);
      },
      {"config.json", "MistralForCausalLM", "not supported"});
  refused(
      "gpt2",
      [](const std::string& d) {
        json j = read_json_file(d + "/config.json");
        j.erase("architectures");
        j["model_type"] = "gpt2";
        write_json_file(d + "/config.json", j);
      },
      {"config.json", "gpt2"});
  refused(
      "rope_scaling",
      [](const std::string& d) {
        json j = read_json_file(d + "/config.json");
        j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
        write_json_file(d + "/config.json", j);
      },
      {"config.json", "rope_scaling"});
  refused(
      "tokenizer_json_only",
      [](const std::string& d) {
        std::filesystem::remove(d + "/tokenizer.model");
        write_json_file(d + "/tokenizer.json",
                        json{{"version", "1.0"},
                             {"model", {{"type", "BPE"}, {"vocab", json::object()}, {"merges", json::array()}}},
                             {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
                             {"decoder", {{"type", "ByteLevel"}}}});
      },
      {"tokenizer.model", "tokenizer.json", "byte-level BPE", "SentencePiece"});
  refused(
      "no_tokenizer", [](const std::string& d) { std::filesystem::remove(d + "/tokenizer.model"); },
      {"tokenizer.model", "no tokenizer"});
  refused(
      "f64",
      [&](const std::string& d) {
        std::vector<std::pair<std::string, torch::Tensor>> t;
        for (auto& [name, x] : m->hf_tensors()) t.emplace_back(name, x.to(torch::kFloat64).contiguous());
        std::filesystem::remove(d + "/model-00001-of-00002.safetensors");
        std::filesystem::remove(d + "/model-00002-of-00002.safetensors");
        std::filesystem::remove(d + "/model.safetensors.index.json");
        save_safetensors(d + "/model.safetensors", t);
      },
      {"model.safetensors", "F64", "F32, F16 and BF16"});
  refused(
      "i8",
      [&](const std::string& d) {  // by hand: prealign's writer has no I8
        const std::string header = R"({"model.norm.weight":{"dtype":"I8","shape":[64],"data_offsets":[0,64]}})";
        std::string bytes(8, '\0');
        for (int i = 0; i < 8; ++i) bytes[i] = char((header.size() >> (8 * i)) & 0xff);
        write_file_atomic(d + "/model-00002-of-00002.safetensors", bytes + header + std::string(64, '\1'));
      },
      {"model-00002-of-00002.safetensors", "I8", "quantized"});
  refused(
      "missing_shard", [](const std::string& d) { std::filesystem::remove(d + "/model-00002-of-00002.safetensors"); },
      {"model-00002-of-00002.safetensors", "missing", "model.safetensors.index.json"});
  refused(
      "no_weights",
      [](const std::string& d) {
        std::filesystem::remove(d + "/model.safetensors.index.json");
        write_file_atomic(d + "/pytorch_model.bin", "pickle");
      },
      {"model.safetensors", "pytorch_model.bin"});
  refused(
      "shape",
      [](const std::string& d) {
        json j = read_json_file(d + "/config.json");
        j["intermediate_size"] = 128;
        write_json_file(d + "/config.json", j);
      },
      {".safetensors", "mlp.gate_proj.weight", "shape [96, 64]", "[128, 64]"});
  refused(
      "vocab",
      [](const std::string& d) {
        json j = read_json_file(d + "/config.json");
        j["vocab_size"] = j["vocab_size"].get<int>() + 64;
        write_json_file(d + "/config.json", j);
      },
      {"tokenizer.model", "vocab_size"});
  refused(
      "bias",
      [&](const std::string& d) {
        std::vector<std::pair<std::string, torch::Tensor>> t;
        t.emplace_back("model.layers.0.self_attn.q_proj.bias", torch::zeros({64}));
        for (auto& [name, x] : m->hf_tensors()) t.emplace_back(name, x.contiguous());
        save_safetensors(d + "/model.safetensors", t);  // the single file wins over the index, as in transformers
      },
      {"model.safetensors", "unexpected tensor", "q_proj.bias"});
  refused(
      "nan",
      [&](const std::string& d) {
        std::vector<std::pair<std::string, torch::Tensor>> t;
        for (auto& [name, x] : m->hf_tensors()) t.emplace_back(name, x.clone());
        t.back().second[0][0] = std::nan("");
        save_safetensors(d + "/model.safetensors", t);
      },
      {"model.safetensors", "NaN"});
  // A tag whose name is already a piece text can produce: some multi-character piece of the model.
  const Tokenizer plain = Tokenizer::from_serialized(llama_tokenizer_model(), Tagset(), "fixture");
  std::string word;
  for (int id = 3; id < plain.vocab_size() && word.empty(); ++id) {
    const std::string p = plain.piece(id);
    if (p.size() >= 3 && p.find("\xE2\x96\x81") == std::string::npos && p[0] != '<' && p.find(' ') == std::string::npos)
      word = p;
  }
  ASSERT_FALSE(word.empty());
  refused(
      "tag_is_text", [](const std::string&) {}, {"tokenizer.model", "\"" + word + "\"", "normal piece"},
      Tagset::from_json({{"name", "t"}, {"tags", json::array({{{"name", word}}})}}, "t.json"));
  EXPECT_EQ(cases, 14);
}

TEST(HfImport, RefusesAnExistingOutputWithoutForce) {
  const std::string root = temp_dir(), dir = root + "/hf", out = root + "/ckpt";
  const LlamaModel m = random_model(gqa_untied(), 7);
  write_hf_dir(dir, m, llama_tokenizer_model());
  std::filesystem::create_directories(out);
  write_file_atomic(out + "/mine.txt", "keep");
  expect_error_naming([&] { import_hf(dir, good_bad_tagset(), out); }, {out, "exists", "--force"});
  EXPECT_EQ(read_file(out + "/mine.txt"), "keep");
  HfImportOptions o;
  o.force = true;
  import_hf(dir, good_bad_tagset(), out, o);
  EXPECT_FALSE(file_exists(out + "/mine.txt"));
  EXPECT_TRUE(file_exists(out + "/model.safetensors"));
  expect_error_naming([&] { import_hf(dir, good_bad_tagset(), dir, o); }, {"model directory itself"});
}

// Tensor by tensor: the peak is the float32 weights once, not a file's contents beside them.
TEST(HfImport, StreamsTensorByTensor) {
  const std::string root = temp_dir(), dir = root + "/hf";
  // ~70 MB of float32 weights, ~35 MB on disk in BF16.
  ModelConfig c = ModelConfig::parse("dim=512,layers=6,heads=8,kv_heads=4,hidden=1376,ctx=64,tie=0",
                                     llama_tokenizer_pieces());
  {
    const LlamaModel m = random_model(c, 8);
    write_hf_dir(dir, m, llama_tokenizer_model(), {torch::kBFloat16, 2});
  }
  const double fp32_bytes = double(c.parameter_count()) * 4;
  const uint64_t before = reset_peak_rss();
  import_hf(dir, good_bad_tagset(), root + "/ckpt");
  const double grew = double(peak_rss()) - double(before);
  std::printf("[ info ] import of %.1f MB float32 weights (%.1f MB in BF16): peak RSS grew %.1f MB\n", fp32_bytes / 1e6,
              fp32_bytes / 2e6, grew / 1e6);
  // Holding the BF16 files beside the result would be 1.5x; one tensor's buffer is ~3% of the model.
  EXPECT_LT(grew, 1.25 * fp32_bytes);
}
