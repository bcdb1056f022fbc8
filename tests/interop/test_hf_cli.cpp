// The commands end to end, as a user runs them: `import hf` of a sharded BF16
// directory, then the imported checkpoint through tokenize, `train --init-from
// --objective conditional`, `generate`, `tokenizer encode` and `export hf`; and
// refusals that exit non-zero, say why and write nothing.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <sstream>

#include "hf_fixture.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

struct CliResult {
  int status = -1;
  std::string output;  // stdout, then stderr
};

CliResult run_prealign(const std::string& args) {
  int st = 0;
  std::string out = run_capture("'" + std::string(PREALIGN_BINARY) + "' " + args + " 2>&1", &st);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A scored corpus: lines of the fixture text, every other segment "bad".
void write_scored_corpus(const std::string& path) {
  const std::vector<std::string> lines = fixture_lines();
  std::string out;
  for (int d = 0; d < 60; ++d) {
    const std::string a = lines[2 * d] + "\n", b = lines[2 * d + 1] + "\n";
    json doc = {{"id", "doc" + std::to_string(d)},
                {"text", a + b},
                {"segments",
                 {{{"start", 0}, {"end", a.size()}, {"scores", {{"toxicity", 0.0}}}},
                  {{"start", a.size()}, {"end", a.size() + b.size()}, {"scores", {{"toxicity", d % 2 ? 1.0 : 0.0}}}}}}};
    out += doc.dump() + "\n";
  }
  write_file_atomic(path, out);
}

json last_json_line(const std::string& output) {
  json last;
  for (const std::string& line : lines_of(output))
    if (!line.empty() && line[0] == '{') {
      json j = json::parse(line, nullptr, false);
      if (!j.is_discarded()) last = j;
    }
  return last;
}

}  // namespace

TEST(HfCli, ImportTrainConditionalGenerateExport) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const std::string root = temp_dir();
  const LlamaModel m = random_model(
      ModelConfig::parse("dim=64,layers=2,heads=4,kv_heads=2,hidden=96,ctx=64,tie=0", llama_tokenizer_pieces()), 21);
  write_hf_dir(root + "/hf", m, llama_tokenizer_model(), {torch::kBFloat16, 2});

  CliResult r = run_prealign("import hf '" + root + "/hf' --tagset good_bad -o '" + root + "/ckpt'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("2 appended as control pieces"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("add_dummy_prefix"), std::string::npos) << r.output;

  // `tokenizer encode` on the checkpoint: SentencePiece's ids for the whole text, no tag from typed markup.
  const Tokenizer tok = Tokenizer::load_dir(root + "/ckpt");
  r = run_prealign("tokenizer encode --tokenizer '" + root + "/ckpt' --json ' the <|good|> model\n  writes'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(last_json_line(r.output)["ids"].get<std::vector<int>>(), tok.encode_start(" the <|good|> model\n  writes"));
  for (int id : last_json_line(r.output)["ids"]) EXPECT_FALSE(tok.is_tag(id));

  write_scored_corpus(root + "/corpus.jsonl");
  r = run_prealign("tokenize '" + root + "/corpus.jsonl' --tokenizer '" + root + "/ckpt' --out '" + root +
                   "/data' --val-fraction 0.1");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_prealign("train --data '" + root + "/data' --out '" + root + "/run' --init-from '" + root +
                   "/ckpt' --objective conditional --threshold 0.5 --steps 3 --batch-size 2 --seq-len 32 "
                   "--eval-batches 1 --lr 1e-4");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string trained = root + "/run/checkpoint";
  EXPECT_EQ(read_json_file(trained + "/policy.json")["name"], "good_only");
  EXPECT_TRUE(read_json_file(trained + "/config.json")["pad_token_id"].is_null());  // still the imported tokenizer's

  r = run_prealign("generate --model '" + trained + "' --prompt 'the model' --max-new-tokens 8 --temperature 0 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const json gen = last_json_line(r.output);
  ASSERT_TRUE(gen.contains("tokens")) << r.output;
  EXPECT_EQ(gen["policy"], "good_only");
  for (const json& t : gen["tokens"]) EXPECT_NE(t["text"], "<|bad|>");

  r = run_prealign("export hf '" + trained + "' -o '" + root + "/out-hf'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(root + "/out-hf/tokenizer_config.json"));
  EXPECT_FALSE(fs::exists(root + "/out-hf/train_state.json"));
  EXPECT_FALSE(fs::exists(root + "/out-hf/optimizer.safetensors"));
}

TEST(HfCli, RefusalsExitNonZeroSayWhyAndWriteNothing) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const std::string root = temp_dir();
  const LlamaModel m = random_model(ModelConfig::parse("dim=32,layers=1,heads=4,hidden=64,ctx=32", llama_tokenizer_pieces()), 22);
  write_hf_dir(root + "/hf", m, llama_tokenizer_model());
  json j = read_json_file(root + "/hf/config.json");
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["model_type"] = "qwen2";
  write_json_file(root + "/hf/config.json", j);
  CliResult r = run_prealign("import hf '" + root + "/hf' --tagset good_bad -o '" + root + "/ckpt'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("config.json"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Qwen2ForCausalLM"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(root + "/ckpt"));
  r = run_prealign("export hf '" + root + "/nothing' -o '" + root + "/out'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("nothing"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(root + "/out"));
  EXPECT_EQ(entries(root), std::vector<std::string>{"hf"});
}
