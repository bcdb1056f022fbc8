// `export hf`: the directory has what transformers reads and nothing of the
// training state; an independent Hugging Face Llama forward pass (Python +
// torch, tests/interop/hf_llama_reference.py) gives prealign's logits from it;
// LlamaTokenizer's logic as the exported files configure it
// (hf_llama_tokenizer.py, with Debian's python3-sentencepiece) gives prealign's
// ids; and export -> import gives back identical logits.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "decode/generator.hpp"
#include "hf_fixture.hpp"
#include "interop/hf_export.hpp"
#include "interop/hf_import.hpp"
#include "model/safetensors_header.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

const char* const kGqaSpec = "dim=48,layers=2,heads=6,kv_heads=2,hidden=80,ctx=64,tie=0,theta=300";
const char* const kTiedSpec = "dim=48,layers=2,heads=4,hidden=80,ctx=64";

std::vector<std::string> sorted_entries(const std::string& dir) { return entries(dir); }

// Prealign's logits for `tokens` against the reference's, read from the exported directory.
void expect_reference_logits(const std::string& ckpt, const std::string& exported, const std::vector<int64_t>& tokens) {
  const std::string tmp = exported + "-reference";
  make_directories(tmp);
  write_file_atomic(tmp + "/tokens.json", json(tokens).dump());
  const std::string cmd = "/usr/bin/python3 '" + source_path("tests/interop/hf_llama_reference.py") + "' '" + exported +
                          "' '" + tmp + "/tokens.json' '" + tmp + "/logits.f32'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const LoadedCheckpoint ck = load_checkpoint(ckpt, torch::kCPU);
  const int64_t V = ck.config.vocab_size;
  std::string raw = read_file(tmp + "/logits.f32");
  ASSERT_EQ(raw.size(), tokens.size() * V * sizeof(float));
  const torch::Tensor theirs = torch::from_blob(raw.data(), {int64_t(tokens.size()), V}, torch::kFloat32).clone();
  const torch::Tensor ours = logits_of(ck.model, tokens);
  EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-4);
  EXPECT_GT(theirs.abs().max().item<double>(), 1.0);  // not vacuous
}

std::vector<int64_t> some_tokens(const Tokenizer& tok) {
  std::vector<int64_t> ids = {Tokenizer::kBos, tok.tag_ids()[0]};
  for (int id : tok.encode_start("def value(x):\n    return the model 12")) ids.push_back(id);
  ids.push_back(tok.tag_ids()[1]);
  for (int id : tok.encode(" and never acts badly")) ids.push_back(id);
  return ids;
}

// An imported Llama-style model (add_dummy_prefix, no <pad>, GQA, untied).
std::string imported_checkpoint(const std::string& root) {
  const LlamaModel m = random_model(ModelConfig::parse(kGqaSpec, llama_tokenizer_pieces()), 12);
  write_hf_dir(root + "/hf", m, llama_tokenizer_model(), {torch::kBFloat16, 2});
  import_hf(root + "/hf", good_bad_tagset(), root + "/imported");
  return root + "/imported";
}

}  // namespace

TEST(HfExport, WritesWhatTransformersReadsAndNoTrainingState) {
  const std::string root = temp_dir(), ckpt = root + "/ckpt", out = root + "/hf";
  const LlamaModel m = write_prealign_checkpoint(ckpt, kGqaSpec, 1);
  ASSERT_TRUE(file_exists(ckpt + "/optimizer.safetensors") && file_exists(ckpt + "/train_state.json"));
  export_hf(ckpt, out);
  EXPECT_EQ(sorted_entries(out),
            (std::vector<std::string>{"config.json", "generation_config.json", "model.safetensors",
                                      "special_tokens_map.json", "tokenizer.model", "tokenizer_config.json"}));
  EXPECT_EQ(sorted_entries(root), (std::vector<std::string>{"ckpt", "hf"}));  // no staging left

  const json config = read_json_file(out + "/config.json");
  const ModelConfig& c = m->config();
  EXPECT_EQ(config["architectures"], json({"LlamaForCausalLM"}));
  EXPECT_EQ(config["model_type"], "llama");
  EXPECT_EQ(config["hidden_size"], c.dim);
  EXPECT_EQ(config["intermediate_size"], c.resolved_hidden_dim());
  EXPECT_EQ(config["num_hidden_layers"], c.n_layers);
  EXPECT_EQ(config["num_attention_heads"], c.n_heads);
  EXPECT_EQ(config["num_key_value_heads"], c.n_kv_heads);
  EXPECT_EQ(config["max_position_embeddings"], c.max_seq_len);
  EXPECT_EQ(config["vocab_size"], c.vocab_size);
  EXPECT_EQ(config["tie_word_embeddings"], false);
  EXPECT_EQ(config["hidden_act"], "silu");
  EXPECT_DOUBLE_EQ(config["rope_theta"].get<double>(), 300.0);
  EXPECT_DOUBLE_EQ(config["rms_norm_eps"].get<double>(), c.norm_eps);
  EXPECT_EQ(config["torch_dtype"], "float32");
  EXPECT_EQ(config["bos_token_id"], 1);
  EXPECT_EQ(config["eos_token_id"], 2);
  EXPECT_EQ(config["pad_token_id"], 3);
  EXPECT_FALSE(config.contains("prealign"));

  const SafetensorsHeader h = read_safetensors_header(out + "/model.safetensors");
  EXPECT_EQ(h.metadata.at("format"), "pt");
  std::map<std::string, std::vector<int64_t>> stored;
  for (const auto& e : h.entries) {
    stored[e.name] = e.shape;
    EXPECT_EQ(e.dtype, "F32") << e.name;
  }
  std::map<std::string, std::vector<int64_t>> want;
  for (const auto& [name, shape] : hf_tensor_shapes(c)) want[name] = shape;
  EXPECT_EQ(stored, want);
  EXPECT_TRUE(stored.count("lm_head.weight"));
  EXPECT_EQ(read_file(out + "/tokenizer.model"), read_file(ckpt + "/tokenizer.model"));

  const json tc = read_json_file(out + "/tokenizer_config.json");
  EXPECT_EQ(tc["tokenizer_class"], "LlamaTokenizer");
  EXPECT_EQ(tc["add_bos_token"], true);
  EXPECT_EQ(tc["add_eos_token"], false);
  EXPECT_EQ(tc["legacy"], true);               // SentencePiece's own add_dummy_prefix decides ...
  EXPECT_EQ(tc["add_prefix_space"], false);    // ... and it is off: no "▁" before a text
  EXPECT_EQ(tc["bos_token"], "<s>");
  EXPECT_EQ(tc["eos_token"], "</s>");
  EXPECT_EQ(tc["unk_token"], "<unk>");
  EXPECT_EQ(tc["pad_token"], "<pad>");
  EXPECT_EQ(tc["model_max_length"], c.max_seq_len);
  const json& added = tc["added_tokens_decoder"];
  EXPECT_EQ(added.size(), 6u);
  for (const auto& [id, name] : std::vector<std::pair<std::string, std::string>>{
           {"0", "<unk>"}, {"1", "<s>"}, {"2", "</s>"}, {"3", "<pad>"}, {"4", "<|good|>"}, {"5", "<|bad|>"}}) {
    EXPECT_EQ(added[id]["content"], name);
    EXPECT_EQ(added[id]["special"], true);
    EXPECT_EQ(added[id]["normalized"], false);
  }
  EXPECT_EQ(tc["additional_special_tokens"], json({"<|good|>", "<|bad|>"}));

  const json sm = read_json_file(out + "/special_tokens_map.json");
  EXPECT_EQ(sm["bos_token"]["content"], "<s>");
  EXPECT_EQ(sm["eos_token"]["content"], "</s>");
  EXPECT_EQ(sm["unk_token"]["content"], "<unk>");
  EXPECT_EQ(sm["pad_token"]["content"], "<pad>");
  ASSERT_EQ(sm["additional_special_tokens"].size(), 2u);
  EXPECT_EQ(sm["additional_special_tokens"][0]["content"], "<|good|>");
  EXPECT_EQ(sm["additional_special_tokens"][1]["content"], "<|bad|>");

  // good_only: <|good|> before the prompt; <|bad|> allowed in no state, so banned outright.
  const json g = read_json_file(out + "/generation_config.json");
  EXPECT_EQ(g["bos_token_id"], 1);
  EXPECT_EQ(g["eos_token_id"], 2);
  EXPECT_EQ(g["pad_token_id"], 3);
  EXPECT_EQ(g["bad_words_ids"], json::array({json::array({5})}));
  EXPECT_EQ(g["prealign"]["policy"], "good_only");
  EXPECT_EQ(g["prealign"]["start_tags"], json({"<|good|>"}));
  EXPECT_EQ(g["prealign"]["start_tag_ids"], json::array({4}));
  EXPECT_EQ(g["prealign"]["start_position"], "before_prompt");
  EXPECT_EQ(g["prealign"]["banned_tags"], json({"<|bad|>"}));
  EXPECT_EQ(g["prealign"]["tags"], json({{"<|good|>", 4}, {"<|bad|>", 5}}));
}

TEST(HfExport, AnImportedModelKeepsItsTokenizerSettings) {
  const std::string root = temp_dir(), out = root + "/hf-out";
  export_hf(imported_checkpoint(root), out);
  const json tc = read_json_file(out + "/tokenizer_config.json");
  EXPECT_EQ(tc["add_prefix_space"], true);  // Llama's add_dummy_prefix
  EXPECT_TRUE(tc["pad_token"].is_null());
  EXPECT_FALSE(read_json_file(out + "/special_tokens_map.json").contains("pad_token"));
  EXPECT_TRUE(read_json_file(out + "/config.json")["pad_token_id"].is_null());
  const json g = read_json_file(out + "/generation_config.json");
  EXPECT_FALSE(g.contains("pad_token_id"));
  EXPECT_FALSE(g.contains("bad_words_ids"));  // unrestricted: nothing banned
  EXPECT_EQ(g["prealign"]["policy"], "unrestricted");
  EXPECT_EQ(g["prealign"]["start_tags"], json::array());
}

TEST(HfExport, RefusalsLeaveNothingBehind) {
  const std::string root = temp_dir(), ckpt = root + "/ckpt";
  write_prealign_checkpoint(ckpt, kTiedSpec, 2);
  auto refused = [&](const std::string& from, const std::string& out, const std::vector<std::string>& needles,
                     HfExportOptions o = {}) {
    try {
      export_hf(from, out, o);
      ADD_FAILURE() << "exported " << from << " -> " << out;
    } catch (const Error& e) {
      for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
    }
  };
  refused(root + "/nope", root + "/a", {"nope", "not a checkpoint"});
  HfExportOptions bad_dtype;
  bad_dtype.dtype = "q4";
  refused(ckpt, root + "/b", {"q4", "f32, bf16 or f16"}, bad_dtype);
  std::filesystem::create_directories(root + "/full");
  write_file_atomic(root + "/full/mine.txt", "keep");
  refused(ckpt, root + "/full", {"full", "not empty", "--force"});
  EXPECT_EQ(read_file(root + "/full/mine.txt"), "keep");
  std::filesystem::copy(ckpt, root + "/broken", std::filesystem::copy_options::recursive);
  std::filesystem::remove(root + "/broken/tokenizer.model");
  refused(root + "/broken", root + "/c", {"broken/tokenizer.model", "missing"});
  EXPECT_EQ(sorted_entries(root), (std::vector<std::string>{"broken", "ckpt", "full"}));
}

TEST(HfExport, SameLogitsAsAnIndependentHuggingFaceForwardPass) {
  std::string why;
  if (!python_has("torch", &why)) GTEST_SKIP() << why;
  const std::string root = temp_dir();
  for (const char* spec : {kTiedSpec, kGqaSpec}) {
    SCOPED_TRACE(spec);
    const std::string ckpt = root + "/ckpt-" + std::to_string(std::hash<std::string>()(spec)), out = ckpt + "-hf";
    write_prealign_checkpoint(ckpt, spec, 3);
    export_hf(ckpt, out);
    expect_reference_logits(ckpt, out, some_tokens(Tokenizer::load_dir(ckpt)));
  }
  const std::string imported = imported_checkpoint(root);  // sharded BF16 in, float32 out
  export_hf(imported, root + "/imported-hf");
  expect_reference_logits(imported, root + "/imported-hf", some_tokens(Tokenizer::load_dir(imported)));
}

// LlamaTokenizer, configured by the exported files alone, against prealign's
// context: [<s>] + encode_start(text); with the policy's start tags typed before
// the prompt (generation_config.json's "usage"), prealign's Generator context.
TEST(HfExport, LlamaTokenizerGivesPrealignsIds) {
  std::string why;
  if (!python_has("sentencepiece", &why)) GTEST_SKIP() << why;
  const std::string root = temp_dir();
  write_prealign_checkpoint(root + "/native", kTiedSpec, 4);
  const std::vector<std::string> ckpts = {root + "/native", imported_checkpoint(root)};
  const std::vector<std::string> texts = {"Hello world",
                                          "the model learns",
                                          " leading space",
                                          "  two leading spaces",
                                          "trailing space ",
                                          "\nstarts with a newline",
                                          "line one\nline two\n",
                                          "\ttab\tand\ttabs\t\t",
                                          "def parse(path):\n    return open(path).read()  # 12345",
                                          "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 \xEF\xAC\x81 unseen: \xD0\x96",
                                          "x",
                                          "",
                                          "CRLF\r\nline"};
  for (const std::string& ckpt : ckpts) {
    SCOPED_TRACE(ckpt);
    const std::string out = ckpt + "-hf";
    export_hf(ckpt, out);
    const Tokenizer tok = Tokenizer::load_dir(ckpt);
    const LoadedCheckpoint ck = load_checkpoint(ckpt, torch::kCPU);
    const Policy good_only = Policy::load(source_path("configs/policies/good_only.json"), TagVocabulary::of(tok));
    const Generator gen(ck.model, tok, good_only);
    std::vector<std::string> inputs;
    std::vector<std::vector<int>> want;
    for (const std::string& t : texts) {
      inputs.push_back(t);
      std::vector<int> ids = {Tokenizer::kBos};
      for (int id : tok.encode_start(t)) ids.push_back(id);
      want.push_back(ids);
      inputs.push_back("<|good|>" + t);  // the start tag as a Hugging Face user types it
      want.push_back(gen.context_for(t));
    }
    const std::string tmp = out + "-tokenizer";
    std::filesystem::create_directories(tmp);
    write_file_atomic(tmp + "/texts.json", json(inputs).dump());
    const std::string cmd = "/usr/bin/python3 '" + source_path("tests/interop/hf_llama_tokenizer.py") + "' '" + out +
                            "' '" + tmp + "/texts.json' '" + tmp + "/ids.json'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const json got = read_json_file(tmp + "/ids.json");
    ASSERT_EQ(got.size(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i)
      EXPECT_EQ(got[i].get<std::vector<int>>(), want[i]) << json(inputs[i]).dump();
  }
}

TEST(HfExport, ExportThenImportGivesIdenticalLogits) {
  const std::string root = temp_dir();
  for (const std::string& ckpt : {root + "/native", imported_checkpoint(root)}) {
    SCOPED_TRACE(ckpt);
    if (ckpt == root + "/native") write_prealign_checkpoint(ckpt, kGqaSpec, 5);
    export_hf(ckpt, ckpt + "-hf");
    const HfImportResult r = import_hf(ckpt + "-hf", good_bad_tagset(), ckpt + "-back");
    EXPECT_EQ(r.appended_tags, 0);  // the export's tokenizer has them: reused, rows kept
    EXPECT_EQ(r.existing_tags, 2);
    const LoadedCheckpoint a = load_checkpoint(ckpt, torch::kCPU), b = load_checkpoint(ckpt + "-back", torch::kCPU);
    EXPECT_EQ(a.config.to_hf_json(), b.config.to_hf_json());
    EXPECT_EQ(read_file(ckpt + "/tokenizer.model"), read_file(ckpt + "-back/tokenizer.model"));
    const std::vector<int64_t> tokens = some_tokens(Tokenizer::load_dir(ckpt));
    EXPECT_TRUE(torch::equal(logits_of(a.model, tokens), logits_of(b.model, tokens)));
  }
}

TEST(HfExport, Bf16ExportImportsAsTheRoundedWeights) {
  const std::string root = temp_dir();
  const LlamaModel m = write_prealign_checkpoint(root + "/ckpt", kGqaSpec, 6);
  HfExportOptions o;
  o.dtype = "bf16";
  export_hf(root + "/ckpt", root + "/hf", o);
  EXPECT_EQ(read_json_file(root + "/hf/config.json")["torch_dtype"], "bfloat16");
  for (const auto& e : read_safetensors_header(root + "/hf/model.safetensors").entries) EXPECT_EQ(e.dtype, "BF16");
  import_hf(root + "/hf", good_bad_tagset(), root + "/back");
  const std::vector<int64_t> tokens = some_tokens(Tokenizer::load_dir(root + "/ckpt"));
  const torch::Tensor got = logits_of(load_checkpoint(root + "/back", torch::kCPU).model, tokens);
  EXPECT_LT((got - logits_of(rounded(m, torch::kBFloat16), tokens)).abs().max().item<double>(), 1e-5);
}
