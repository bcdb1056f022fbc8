// The GGUF export checked by the real consumer: llama.cpp, as the npm package
// node-llama-cpp ships it prebuilt (scripts/node_llama_cpp.sh installs it once
// into ~/.cache/prealign/npm; the tests are skipped, and shown as skipped, when
// npm or the registry is missing). A small model is trained here, exported with
// `prealign export gguf`, and llama.cpp must
//  - decode greedily, from the context `prealign generate` builds (BOS, the
//    policy's start tag, the prompt) with the policy's banned tag biased out,
//    the same tokens as `prealign generate --temperature 0`;
//  - give every next-token distribution within kProbTolerance of prealign's own
//    forward pass (renormalised without the banned tag, as the bias does);
//  - see the tags as control tokens, and tokenize text as prealign does;
//  - decode f16 and q8_0 exports close to the f32 tokens.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <set>

#include "core/files.hpp"
#include "core/json_io.hpp"
#include "model/checkpoint.hpp"
#include "test_util.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/dataset_fixture.hpp"
#include "train/trainer.hpp"

using namespace prealign;

namespace {

// F32 weights, F32 KV cache, no flash attention: the two implementations differ
// only in summation order and in how RoPE angles are rounded (llama.cpp builds
// them in float, prealign in double). Measured: 2.0e-6 over 200 tokens.
constexpr double kProbTolerance = 1e-4;
constexpr int kMaxNewTokens = 40;

struct Prealign {
  std::vector<int> context, tokens;
  std::vector<float> p_raw;
  std::string finish;
};

class GgufLlamaCpp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(prealign::testing::temp_dir());
    int status = 0;
    const std::string err = *dir_ + "/install.err";
    const std::string out =
        prealign::testing::run_capture(prealign::testing::source_path("scripts/node_llama_cpp.sh") + " 2>" + err, &status);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 2 || code == 3) {
      skip_ = new std::string("node-llama-cpp not installable here: " + read_file(err));
      return;
    }
    if (code != 0) {
      install_error_ = new std::string("scripts/node_llama_cpp.sh failed (" + std::to_string(code) + "): " + read_file(err));
      return;
    }
    install_ = new std::string(out.substr(0, out.find_last_not_of("\n") + 1));

    const std::string data = prealign::testing::make_scored_dataset(*dir_, 200);
    TrainOptions o;
    o.data = data;
    o.out = *dir_ + "/run";
    o.model = "dim=64,layers=2,heads=4,kv_heads=2,hidden=128,ctx=128";
    o.steps = 80;
    o.batch_size = 8;
    o.seq_len = 64;
    o.lr = 5e-3;
    o.eval_every = 0;
    o.log_every = 1000;
    o.objective.name = "conditional";  // policy good_only: <|good|> forced, <|bad|> banned
    checkpoint_ = new std::string(train(o).checkpoint);
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete skip_;
    delete install_error_;
    delete install_;
    delete checkpoint_;
  }
  void SetUp() override {
    if (skip_) GTEST_SKIP() << *skip_;
    ASSERT_EQ(install_error_, nullptr) << *install_error_;
  }

  static std::string export_gguf(const std::string& type) {
    const std::string path = *dir_ + "/model-" + type + ".gguf";
    int status = 0;
    const std::string out = prealign::testing::run_capture(std::string("'") + PREALIGN_BINARY + "' export gguf '" +
                                                               *checkpoint_ + "' -o '" + path + "' --type " + type + " 2>&1",
                                                           &status);
    EXPECT_EQ(status, 0) << out;
    return path;
  }

  // `prealign generate --temperature 0 --json`, one record per prompt.
  static std::vector<Prealign> prealign_generate(const std::vector<std::string>& prompts) {
    const std::string file = *dir_ + "/prompts.jsonl";
    std::string lines;
    for (const auto& p : prompts) lines += json{{"prompt", p}}.dump() + "\n";
    write_file_atomic(file, lines);
    int status = 0;
    const std::string out = prealign::testing::run_capture(
        std::string("'") + PREALIGN_BINARY + "' generate --model '" + *checkpoint_ + "' --prompts '" + file +
            "' --temperature 0 --max-new-tokens " + std::to_string(kMaxNewTokens) + " --batch-size 1 --json 2>/dev/null",
        &status);
    EXPECT_EQ(status, 0);
    std::vector<Prealign> gens;
    const Tokenizer tok = Tokenizer::load_dir(*checkpoint_);
    const json policy = read_json_file(*checkpoint_ + "/policy.json");
    for (size_t start = 0, end; (end = out.find('\n', start)) != std::string::npos; start = end + 1) {
      if (out[start] != '{') continue;
      const json rec = json::parse(out.substr(start, end - start));
      Prealign g;
      // The context generate builds: BOS, the start tags (before the prompt), the prompt.
      g.context = {Tokenizer::kBos};
      for (const auto& t : policy["start"]["tags"]) g.context.push_back(tok.tag_id(t.get<std::string>()));
      for (int id : tok.encode(prompts.at(gens.size()))) g.context.push_back(id);
      EXPECT_EQ(rec["context_tokens"].get<size_t>(), g.context.size());
      for (const auto& t : rec["tokens"]) {
        g.tokens.push_back(t["id"]);
        g.p_raw.push_back(t["p_raw"]);
      }
      g.finish = rec["finish_reason"];
      gens.push_back(g);
    }
    EXPECT_EQ(gens.size(), prompts.size()) << out;
    return gens;
  }

  static json run_llama_cpp(const json& request) {
    const std::string req = *dir_ + "/request.json", res = *dir_ + "/result.json";
    write_json_file(req, request);
    int status = 0;
    const std::string out = prealign::testing::run_capture(
        "node '" + prealign::testing::source_path("tests/interop/llama_cpp_check.mjs") + "' '" + *install_ + "' '" +
            req + "' > '" + res + "' 2>&1", &status);
    EXPECT_EQ(status, 0) << read_file(res);
    return json::parse(read_file(res));
  }

  // Raw next-token distributions from prealign's model over context + tokens:
  // row i is the distribution that chose tokens[i].
  static std::vector<std::vector<double>> prealign_distributions(const Prealign& g) {
    static LoadedCheckpoint ck = load_checkpoint(*checkpoint_, torch::kCPU);
    torch::NoGradGuard no_grad;
    std::vector<int64_t> ids(g.context.begin(), g.context.end());
    ids.insert(ids.end(), g.tokens.begin(), g.tokens.end());
    torch::Tensor logits = ck.model->forward(torch::tensor(ids).view({1, -1})).index({0}).to(torch::kFloat64);  // (T, V)
    torch::Tensor p = torch::softmax(logits, -1).contiguous();
    std::vector<std::vector<double>> rows;
    for (size_t i = 0; i < g.tokens.size(); ++i) {
      torch::Tensor r = p[int64_t(g.context.size() + i - 1)];
      rows.emplace_back(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
    }
    return rows;
  }

  static std::vector<int> banned_tags() {  // good_only bans every tag but <|good|>
    const Tokenizer tok = Tokenizer::load_dir(*checkpoint_);
    return {tok.tag_id("<|bad|>")};
  }

  static inline std::string *dir_ = nullptr, *skip_ = nullptr, *install_error_ = nullptr, *install_ = nullptr,
                            *checkpoint_ = nullptr;
};

const std::vector<std::string> kPrompts = {"", "alpha = 1", "total = 42\ngamma", "count", "delta =  7\nitem = "};

json runs_for(const std::vector<Prealign>& gens, const std::vector<int>& ban) {
  json runs = json::array();
  for (const auto& g : gens) runs.push_back({{"context", g.context}, {"max_tokens", kMaxNewTokens}, {"ban", ban}});
  return runs;
}

}  // namespace

TEST_F(GgufLlamaCpp, F32DecodesGreedilyAsPrealignWithTheSameProbabilities) {
  const std::string gguf = export_gguf("f32");
  const std::vector<Prealign> gens = prealign_generate(kPrompts);
  const std::vector<int> ban = banned_tags();
  const json res = run_llama_cpp({{"model", gguf}, {"threads", 1}, {"runs", runs_for(gens, ban)}});
  ASSERT_EQ(res["runs"].size(), gens.size());
  double worst = 0;
  size_t compared = 0, total = 0;
  for (size_t k = 0; k < gens.size(); ++k) {
    const Prealign& g = gens[k];
    const std::vector<int> theirs = res["runs"][k]["tokens"];
    const auto& probs = res["runs"][k]["probs"];
    const auto ref = prealign_distributions(g);
    total += g.tokens.size();
    for (size_t i = 0; i < g.tokens.size(); ++i) {
      // The reference with the banned tag removed and the rest renormalised, as a
      // -inf bias does; generate's own p_raw must be the reference's too.
      std::vector<double> want = ref[i];
      EXPECT_NEAR(want[g.tokens[i]], g.p_raw[i], 1e-5) << "prompt " << k << " step " << i;
      double banned = 0;
      for (int b : ban) banned += want[b], want[b] = 0;
      for (double& p : want) p /= 1.0 - banned;
      ASSERT_LT(i, theirs.size()) << "llama.cpp stopped early on prompt " << k;
      for (size_t v = 0; v < want.size(); ++v) worst = std::max(worst, std::fabs(want[v] - probs[i][v].get<double>()));
      ++compared;
      if (theirs[i] != g.tokens[i]) {
        // Only a tie within the tolerance may be decided the other way.
        std::vector<double> sorted = want;
        std::sort(sorted.rbegin(), sorted.rend());
        EXPECT_LT(sorted[0] - sorted[1], 2 * kProbTolerance)
            << "prompt " << k << " step " << i << ": llama.cpp chose " << theirs[i] << ", prealign " << g.tokens[i];
        break;
      }
    }
    if (g.finish == "length") {
      EXPECT_EQ(theirs.size(), g.tokens.size()) << "prompt " << k;
    }
  }
  EXPECT_LT(worst, kProbTolerance) << "largest difference of a next-token probability";
  EXPECT_EQ(compared, total) << "every prealign token compared (no tie cut a comparison short)";
  EXPECT_GT(total, 4u * 10u);
  std::printf("[ llama.cpp ] %zu greedy tokens of %zu prompts agree; max |p_llama.cpp - p_prealign| = %.2e\n", compared,
              gens.size(), worst);
}

TEST_F(GgufLlamaCpp, TagsAreControlTokensAndTextTokenizesAsInPrealign) {
  const std::string gguf = export_gguf("f32");
  const Tokenizer tok = Tokenizer::load_dir(*checkpoint_);
  const int good = tok.tag_id("<|good|>"), bad = tok.tag_id("<|bad|>");
  const std::vector<std::string> texts = {"alpha = 1\nbeta  = 22", "total = count", "x <|good|> y </AI>", "é ü 漢"};
  const json res = run_llama_cpp({{"model", gguf}, {"runs", json::array()}, {"texts", texts},
                                  {"inspect", {good, bad, Tokenizer::kBos, Tokenizer::kEos, tok.encode("alpha")[0]}}});
  EXPECT_EQ(res["vocab_size"], tok.vocab_size());
  EXPECT_EQ(res["bos"], Tokenizer::kBos);
  EXPECT_EQ(res["eos"], Tokenizer::kEos);
  EXPECT_EQ(res["add_space_prefix"], false);
  EXPECT_EQ(res["prealign"]["policy"]["start_tags"], json::array({"<|good|>"}));
  for (int tag : {good, bad}) {
    const json& a = res["attributes"][std::to_string(tag)];
    EXPECT_TRUE(a["control"].get<bool>()) << tag;
    EXPECT_FALSE(a["normal"].get<bool>()) << tag;
    EXPECT_EQ(a["text"], "") << "a control token renders as nothing unless asked";
    EXPECT_EQ(a["specialText"], tok.tag_name(tag));
  }
  EXPECT_TRUE(res["attributes"][std::to_string(tok.encode("alpha")[0])]["normal"].get<bool>());
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int> ours = tok.encode(texts[i]);
    EXPECT_EQ(res["tokenized"][i].get<std::vector<int>>(), ours) << texts[i];
  }
  // Without special parsing the typed tag stays text; with it (llama.cpp's server
  // default for prompts) it becomes the tag: why the guarantee is prealign's server's.
  const std::vector<int> plain = res["tokenized"][2], special = res["tokenized_special"][2];
  EXPECT_EQ(std::count(plain.begin(), plain.end(), good), 0);
  EXPECT_EQ(std::count(special.begin(), special.end(), good), 1);
}

TEST_F(GgufLlamaCpp, F16AndQ8_0DecodeCloseToF32) {
  const std::vector<Prealign> gens = prealign_generate(kPrompts);
  const std::vector<int> ban = banned_tags();
  // Floors of the share of prealign's tokens reproduced before the first divergence,
  // and of the largest probability difference. Measured on this model: f16 200 of 200
  // tokens, max 1.7e-4; q8_0 134 of 200 (near-ties decided the other way), max 2.5e-3.
  const std::map<std::string, std::pair<double, double>> floors = {{"f16", {0.9, 2e-3}}, {"q8_0", {0.5, 0.02}}};
  for (const auto& [type, floor] : floors) {
    const json res = run_llama_cpp({{"model", export_gguf(type)}, {"threads", 1}, {"runs", runs_for(gens, ban)}});
    size_t agreed = 0, total = 0;
    double worst = 0;
    for (size_t k = 0; k < gens.size(); ++k) {
      const std::vector<int> theirs = res["runs"][k]["tokens"];
      const auto ref = prealign_distributions(gens[k]);
      total += gens[k].tokens.size();
      for (size_t i = 0; i < gens[k].tokens.size() && i < theirs.size(); ++i) {
        double banned = 0;
        for (int b : ban) banned += ref[i][b];
        for (size_t v = 0; v < ref[i].size(); ++v)
          if (std::find(ban.begin(), ban.end(), int(v)) == ban.end())
            worst = std::max(worst, std::fabs(ref[i][v] / (1 - banned) - res["runs"][k]["probs"][i][v].get<double>()));
        if (theirs[i] != gens[k].tokens[i]) break;
        ++agreed;
      }
    }
    const double share = double(agreed) / double(total);
    std::printf("[ llama.cpp ] %s: %zu of %zu tokens as f32 prealign (%.3f), max |dp| before divergence %.2e\n",
                type.c_str(), agreed, total, share, worst);
    EXPECT_GE(share, floor.first) << type;
    EXPECT_LT(worst, floor.second) << type;
  }
}
