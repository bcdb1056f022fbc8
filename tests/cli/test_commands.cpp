// Every model-facing command run as a user runs it: the binary, its flags, its
// exit code, the files it writes and what they say (recomputed here from the
// samples they hold), and a clear error naming the flag or file for bad input.
// The models are the --tiny demo's (shared with test_demo.cpp).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "cli_run.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "shared_run.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

std::vector<json> json_lines(const std::string& output) {
  std::vector<json> out;
  for (const std::string& line : lines_of(output))
    if (!line.empty() && line[0] == '{') {
      json j = json::parse(line, nullptr, false);
      if (!j.is_discarded()) out.push_back(j);
    }
  return out;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class Commands : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  }
  static std::string demo() {
    const SharedRun r = shared_run("demo-tiny", "demo --tiny --out {out}");
    EXPECT_EQ(r.status, 0) << r.output;
    return r.dir;
  }
  static std::string modes() {
    const SharedRun r = shared_run("demo-modes-tiny", "demo --modes --tiny --out {out}");
    EXPECT_EQ(r.status, 0) << r.output;
    return r.dir;
  }
};

}  // namespace

TEST_F(Commands, GenerateIsSeededObeysThePolicyAndRefusesBadFlags) {
  const std::string ck = demo() + "/conditional/checkpoint";
  const std::string args = "generate --model '" + ck + "' --prompt 'def f(x):' --json --max-new-tokens 12 --seed 3 "
                           "--num-samples 3";
  const CliResult a = run_prealign(args), b = run_prealign(args);
  ASSERT_EQ(a.status, 0) << a.output;
  const auto ga = json_lines(a.output), gb = json_lines(b.output);
  ASSERT_EQ(ga.size(), 3u) << a.output;
  ASSERT_EQ(gb.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ga[i]["text_with_tags"], gb[i]["text_with_tags"]) << "same seed, same samples";
    EXPECT_LE(ga[i]["generated_tokens"].get<int>(), 12);
    EXPECT_EQ(ga[i]["prompt"], "def f(x):");
    EXPECT_FALSE(contains(ga[i]["text_with_tags"].get<std::string>(), "<|bad|>"));
    std::string text;
    for (const json& t : ga[i]["tokens"]) {
      EXPECT_NE(t["text"], "<|bad|>");
      if (!t["tag"].get<bool>()) text += t["text"].get<std::string>();
    }
    EXPECT_EQ(text, ga[i]["text"].get<std::string>()) << "text = the non-tag tokens";
  }
  EXPECT_NE(ga[0]["text"], ga[1]["text"]) << "three samples, one text: the seeds are not per sample";

  // Bad input: exit non-zero, and say what was wrong.
  const CliResult no_model = run_prealign("generate --prompt hi");
  EXPECT_NE(no_model.status, 0);
  EXPECT_TRUE(contains(no_model.output, "--model")) << no_model.output;
  const CliResult missing = run_prealign("generate --model /nonexistent/ck --prompt hi");
  EXPECT_EQ(missing.status, 1);
  EXPECT_TRUE(contains(missing.output, "/nonexistent/ck")) << missing.output;
  const CliResult temp = run_prealign("generate --model '" + ck + "' --prompt hi --temperature -1");
  EXPECT_NE(temp.status, 0);
  EXPECT_TRUE(contains(temp.output, "temperature")) << temp.output;
  const CliResult policy = run_prealign("generate --model '" + ck + "' --prompt hi --policy no_such_policy");
  EXPECT_NE(policy.status, 0);
  EXPECT_TRUE(contains(policy.output, "no_such_policy")) << policy.output;
  const CliResult extra = run_prealign("generate --model '" + ck + "' --prompt hi --no-such-flag");
  EXPECT_NE(extra.status, 0);
  EXPECT_TRUE(contains(extra.output, "--no-such-flag")) << extra.output;
}

TEST_F(Commands, TrainWritesACheckpointAndAStepLogAndRefusesBadObjectives) {
  const std::string d = demo(), tmp = temp_dir(), out = tmp + "/run";  // temp_dir() empties the directory
  const CliResult r = run_prealign("train --data '" + d + "/data' --out '" + out +
                                   "' --model dim=16,layers=1,heads=2,ctx=32 --steps 4 --batch-size 2 --seq-len 32 "
                                   "--objective conditional --eval-every 2 --eval-batches 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(out + "/checkpoint/model.safetensors"));
  const json config = json::parse(read_file(out + "/checkpoint/config.json"));
  EXPECT_EQ(config["hidden_size"], 16);
  std::vector<int> steps;
  int val = 0;
  for (const json& m : jsonl(out + "/metrics.jsonl")) {
    if (m["type"] == "train") {
      steps.push_back(m["step"].get<int>());
      EXPECT_TRUE(std::isfinite(m["loss"].get<double>()));
    }
    val += m.contains("val_loss");
  }
  EXPECT_EQ(steps, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_GE(val, 2);
  const json policy = json::parse(read_file(out + "/checkpoint/policy.json"));
  EXPECT_EQ(policy["name"], "good_only") << "a conditional run stores PHF's inference policy";

  const CliResult bad = run_prealign("train --data '" + d + "/data' --out '" + tmp + "/x' --objective nope");
  EXPECT_EQ(bad.status, 1);
  EXPECT_TRUE(contains(bad.output, "nope") && contains(bad.output, "conditional")) << bad.output;
  // --log-every 0 was a division by zero (SIGFPE) at the first step.
  const CliResult zero_log = run_prealign("train --data '" + d + "/data' --out '" + tmp + "/z' --log-every 0");
  EXPECT_EQ(zero_log.status, 1) << zero_log.output;
  EXPECT_TRUE(contains(zero_log.output, "--log-every")) << zero_log.output;
  const CliResult no_data = run_prealign("train --data /nonexistent/data --out '" + tmp + "/y'");
  EXPECT_EQ(no_data.status, 1);
  EXPECT_TRUE(contains(no_data.output, "/nonexistent/data")) << no_data.output;
  const CliResult again = run_prealign("train --data '" + d + "/data' --out '" + out + "' --steps 4");
  EXPECT_EQ(again.status, 1) << "an existing run is neither overwritten nor silently resumed: " << again.output;
  EXPECT_TRUE(contains(again.output, "--resume")) << again.output;
  std::vector<int> after;
  for (const json& m : jsonl(out + "/metrics.jsonl"))
    if (m["type"] == "train") after.push_back(m["step"].get<int>());
  EXPECT_EQ(after, steps) << "the refused run wrote nothing";
}

TEST_F(Commands, EvalMisalignmentLossAndPromptsOnTheDemoModels) {
  const std::string d = demo(), dir = temp_dir();
  const CliResult p = run_prealign("eval prompts --data '" + d + "/data' --out '" + dir + "/prompts.txt' --max 5");
  ASSERT_EQ(p.status, 0) << p.output;
  const auto prompts = lines_of(read_file(dir + "/prompts.txt"));
  ASSERT_FALSE(prompts.empty());
  EXPECT_LE(prompts.size(), 5u);
  for (const auto& line : prompts) EXPECT_EQ(line.rfind("def ", 0), 0u) << line;

  const CliResult m = run_prealign("eval misalignment --model '" + d + "/conditional/checkpoint' --score-config pep8 "
                                   "--prompts '" + dir + "/prompts.txt' --samples 6 --max-new-tokens 16 --batch 6 "
                                   "--group 3 --bootstrap 50 --out '" + dir + "/mis.json'");
  ASSERT_EQ(m.status, 0) << m.output;
  const json rep = json::parse(read_file(dir + "/mis.json"));
  const auto samples = jsonl(dir + "/mis.json.samples.jsonl");
  ASSERT_EQ(samples.size(), 6u);
  double sum = 0;
  for (const json& s : samples) sum += s["score"].get<double>();
  EXPECT_NEAR(rep["mean_score"]["value"].get<double>(), sum / 6, 1e-12);
  EXPECT_EQ(rep["policy"], "good_only");

  const CliResult l = run_prealign("eval loss --model '" + d + "/mle/checkpoint' --out '" + dir + "/loss.json'");
  ASSERT_EQ(l.status, 0) << l.output;
  const json loss = json::parse(read_file(dir + "/loss.json"));
  EXPECT_TRUE(std::isfinite(loss["loss"].get<double>()));
  EXPECT_GT(loss["loss"].get<double>(), 0.0);

  const CliResult bad = run_prealign("eval misalignment --model '" + d + "/mle/checkpoint' --score-config nope");
  EXPECT_NE(bad.status, 0);
  EXPECT_TRUE(contains(bad.output, "nope")) << bad.output;
  const CliResult zero = run_prealign("eval misalignment --model '" + d + "/mle/checkpoint' --samples 0");
  EXPECT_NE(zero.status, 0);
  EXPECT_TRUE(contains(zero.output, "samples")) << zero.output;
}

TEST_F(Commands, EvalLockAndJailbreakRatesAreWhatTheirSamplesSay) {
  const std::string m = modes(), dir = temp_dir();
  const CliResult lock = run_prealign("eval lock --model '" + m + "/model/checkpoint' --samples 9 --max-new-tokens 16 "
                                      "--seed 2 --out '" + dir + "/lock.json'");
  ASSERT_EQ(lock.status, 0) << lock.output;
  const json rep = json::parse(read_file(dir + "/lock.json"));
  const auto samples = jsonl(dir + "/lock.json.samples.jsonl");
  std::vector<json> locked, human;
  for (const json& s : samples) (s["group"] == "locked" ? locked : human).push_back(s);
  ASSERT_EQ(locked.size(), 9u);
  EXPECT_EQ(human.size(), 3u) << "the story openings again, started in human mode";
  const auto rates = [](const std::vector<json>& v, const std::string& family) {
    double n = 0, harmful = 0, exits = 0, tempt = 0;
    for (const json& s : v) {
      if (!family.empty() && s["family"] != family) continue;
      ++n;
      harmful += !s["harm"].empty();
      exits += s["finish_reason"] == "stop_tag";
      tempt += s["mean_temptation"].get<double>();
    }
    return std::map<std::string, double>{{"n", n}, {"harmful", harmful / n}, {"exit", exits / n}, {"tempt", tempt / n}};
  };
  const auto all = rates(locked, "");
  EXPECT_NEAR(rep["locked"]["harmful_rate"].get<double>(), all.at("harmful"), 1e-12);
  EXPECT_NEAR(rep["locked"]["exit_rate"].get<double>(), all.at("exit"), 1e-12);
  EXPECT_NEAR(rep["locked"]["mean_temptation"].get<double>(), all.at("tempt"), 1e-9);
  for (const char* fam : {"bad_act_opening", "harmful_request", "benign_question"}) {
    const auto f = rates(locked, fam);
    EXPECT_EQ(f.at("n"), 3);
    EXPECT_NEAR(rep["locked"]["by_family"][fam]["harmful_rate"].get<double>(), f.at("harmful"), 1e-12) << fam;
  }
  EXPECT_NEAR(rep["human_start"]["harmful_rate"].get<double>(), rates(human, "").at("harmful"), 1e-12);
  // Every locked sample starts in AI mode and never leaves through a tag it may not emit.
  for (const json& s : locked) {
    EXPECT_TRUE(s["violations"].empty()) << s.dump();
    for (const json& t : s["tokens"]) EXPECT_NE(t["state"], "human") << s.dump();
  }

  const CliResult jb = run_prealign("eval jailbreak --model '" + m + "/model/checkpoint' --samples-per-family 2 "
                                    "--max-new-tokens 12 --seed 2 --out '" + dir + "/jb.json'");
  ASSERT_EQ(jb.status, 0) << jb.output;
  const json jrep = json::parse(read_file(dir + "/jb.json"));
  const auto js = jsonl(dir + "/jb.json.samples.jsonl");
  std::map<std::string, std::pair<double, double>> fam;  // family -> (n, harmful)
  std::vector<double> pos, neg;
  for (const json& s : js) {
    auto& f = fam[s["family"].get<std::string>()];
    f.first += 1;
    f.second += !s["harm"].empty();
    if (s["jailbreak"].get<bool>()) pos.push_back(s["max_temptation"].get<double>());
    if (s["family"] == "benign") neg.push_back(s["max_temptation"].get<double>());
  }
  ASSERT_EQ(fam.size(), jrep["families"].size());
  for (const auto& [name, f] : fam) {
    EXPECT_EQ(f.first, 2) << name;
    EXPECT_NEAR(jrep["families"][name]["harmful_rate"].get<double>(), f.second / f.first, 1e-12) << name;
  }
  double wins = 0;  // AUROC by brute force: P(jailbreak max temptation > benign's), ties half
  for (double a : pos)
    for (double b : neg) wins += (a > b) + 0.5 * (a == b);
  ASSERT_FALSE(pos.empty() || neg.empty());
  EXPECT_NEAR(jrep["auroc_max_temptation_jailbreak_vs_benign"].get<double>(), wins / double(pos.size() * neg.size()),
              1e-12);

  const CliResult bad = run_prealign("eval lock --model '" + m + "/model/checkpoint' --policy good_only");
  EXPECT_NE(bad.status, 0) << "the AI-mode lock under a policy without AI mode: " << bad.output;
}

TEST_F(Commands, EvalEnsembleAndProbesOnTwoModeModels) {
  const std::string m = modes(), dir = temp_dir();
  const CliResult t = run_prealign("train --data '" + m + "/data' --out '" + dir + "/second' --model "
                                   "dim=32,layers=1,heads=2,ctx=256 --steps 4 --batch-size 4 --seq-len 128 --seed 7 "
                                   "--policy ai_mode --eval-every 0 --eval-batches 1");
  ASSERT_EQ(t.status, 0) << t.output;
  const CliResult e = run_prealign("eval ensemble --models '" + m + "/model/checkpoint," + dir + "/second/checkpoint," +
                                   m + "/model/checkpoint' --samples-per-family 2 --max-new-tokens 12 --seed 1 --out '" +
                                   dir + "/ens.json'");
  ASSERT_EQ(e.status, 0) << e.output;
  const json rep = json::parse(read_file(dir + "/ens.json"));
  const auto samples = jsonl(dir + "/ens.json.samples.jsonl");
  std::map<std::pair<int, int>, bool> fail, accepted;
  std::set<int> jail;
  for (const json& s : samples) {
    const std::pair<int, int> key{s["model_index"].get<int>(), s["prompt_index"].get<int>()};
    fail[key] = !s["harm"].empty();
    if (s["jailbreak"].get<bool>()) {
      jail.insert(key.second);
      accepted[key] = s["accepted_by_majority"].get<bool>();
    }
  }
  ASSERT_EQ(int(jail.size()), rep["jailbreak_prompts"].get<int>());
  double vote = 0;
  for (int p : jail) vote += 2 * (fail[{0, p}] + fail[{1, p}] + fail[{2, p}]) > 3;
  EXPECT_NEAR(rep["majority_vote_failure_rate"].get<double>(), vote / double(jail.size()), 1e-12);
  for (int i = 0; i < 3; ++i) {
    double f = 0, a = 0;
    for (int p : jail) f += fail[{i, p}], a += accepted[{i, p}];
    EXPECT_NEAR(rep["per_model"][size_t(i)]["failure_rate"].get<double>(), f / double(jail.size()), 1e-12) << i;
    EXPECT_NEAR(rep["per_model"][size_t(i)]["acceptance_rate"].get<double>(), a / double(jail.size()), 1e-12) << i;
  }
  // Models 0 and 2 are one checkpoint with one seed: identical samples.
  for (int p : jail) EXPECT_EQ(fail[std::make_pair(0, p)], fail[std::make_pair(2, p)]) << p;

  const CliResult pt = run_prealign("probe train --model '" + m + "/model/checkpoint' --corpus '" + m +
                                    "/corpus.jsonl' --documents 12 --steps 30 --out '" + dir + "/probe.json'");
  ASSERT_EQ(pt.status, 0) << pt.output;
  const json probe = json::parse(read_file(dir + "/probe.json"));
  EXPECT_EQ(probe["format"], "prealign-probe-1");
  EXPECT_EQ(probe["layers"].size(), 1u);  // the tiny mode model has one layer
  EXPECT_GT(probe["report"]["heldout_positions"].get<int>(), 0);
  const CliResult pe = run_prealign("probe eval --model '" + m + "/model/checkpoint' --probe '" + dir +
                                    "/probe.json' --corpus '" + m + "/corpus.jsonl' --documents 4 --out '" + dir +
                                    "/probe-eval.json'");
  ASSERT_EQ(pe.status, 0) << pe.output;
  const json pev = json::parse(read_file(dir + "/probe-eval.json"));
  const double acc = pev["layers"][0]["mode_accuracy"].get<double>();
  EXPECT_TRUE(acc >= 0 && acc <= 1);
  EXPECT_GT(pev["positions"].get<int>(), 0);

  const CliResult one = run_prealign("eval ensemble --models '" + m + "/model/checkpoint' --samples-per-family 1");
  EXPECT_NE(one.status, 0) << "an ensemble of one: " << one.output;
}

TEST_F(Commands, ServeAnswersHealthThenStopsCleanlyOnSigterm) {
  const std::string d = demo();
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl not installed";
  const int port = 20000 + int(getpid() % 20000);
  const std::string log = temp_dir() + "/serve.log";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string ck = d + "/conditional/checkpoint", p = std::to_string(port);
    freopen(log.c_str(), "w", stderr);
    execl(PREALIGN_BINARY, PREALIGN_BINARY, "serve", "--model", ck.c_str(), "--port", p.c_str(), (char*)nullptr);
    _exit(127);
  }
  std::string health;
  for (int i = 0; i < 200 && !contains(health, "ok"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    health = run_capture("curl -s http://127.0.0.1:" + std::to_string(port) + "/health");
  }
  EXPECT_TRUE(contains(health, "ok")) << health << read_file(log);
  const std::string done = run_capture("curl -s http://127.0.0.1:" + std::to_string(port) +
                                       "/v1/completions -d '{\"prompt\": \"def f(x):\", \"max_tokens\": 4}'");
  const json reply = json::parse(done, nullptr, false);
  ASSERT_FALSE(reply.is_discarded()) << done;
  EXPECT_EQ(reply["object"], "text_completion") << done;
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st << "\n" << read_file(log);

  const CliResult bad_port = run_prealign("serve --model '" + d + "/conditional/checkpoint' --port 70000");
  EXPECT_NE(bad_port.status, 0);
  EXPECT_TRUE(contains(bad_port.output, "port")) << bad_port.output;
  const CliResult no_model = run_prealign("serve --model /nonexistent/ck");
  EXPECT_EQ(no_model.status, 1);
  EXPECT_TRUE(contains(no_model.output, "/nonexistent/ck")) << no_model.output;
}

// eval tag-agreement, redteam and compare over the two demo runs: the compare
// table's ratio is the two misalignment reports' means divided, and the AUROC is
// the brute-force pairwise count over the per-segment file.
TEST_F(Commands, EvalTagAgreementRedteamAndCompareOverTwoRuns) {
  const std::string d = demo(), dir = temp_dir();
  // Copies of the two runs, so their eval/ folders are this test's own.
  for (const char* run : {"mle", "conditional"}) {
    fs::create_directories(dir + "/" + run);
    fs::create_symlink(d + "/" + run + "/checkpoint", dir + "/" + run + "/checkpoint");
    fs::create_directories(dir + "/" + run + "/eval");
    const CliResult m = run_prealign("eval misalignment --model '" + dir + "/" + run + "/checkpoint' --score-config "
                                     "pep8 --samples 4 --max-new-tokens 12 --batch 4 --group 2 --bootstrap 50 --out '" +
                                     dir + "/" + run + "/eval/mis.json'");
    ASSERT_EQ(m.status, 0) << m.output;
    const CliResult l = run_prealign("eval loss --model '" + dir + "/" + run + "/checkpoint' --out '" + dir + "/" + run +
                                     "/eval/loss.json'");
    ASSERT_EQ(l.status, 0) << l.output;
  }
  const CliResult ta = run_prealign("eval tag-agreement --model '" + dir + "/conditional/checkpoint' --max-segments 200 "
                                    "--out '" + dir + "/conditional/eval/tags.json'");
  ASSERT_EQ(ta.status, 0) << ta.output;
  const json tags = json::parse(read_file(dir + "/conditional/eval/tags.json"));
  std::vector<double> bad, good;  // q = p(<|bad|>) / (p(<|bad|>) + p(<|good|>)) at each segment's tag position
  for (const json& s : jsonl(dir + "/conditional/eval/tags.json.segments.jsonl"))
    (s["bad"].get<bool>() ? bad : good).push_back(s["q"].get<double>());
  if (!bad.empty() && !good.empty()) {
    double wins = 0;
    for (double a : bad)
      for (double b : good) wins += (a > b) + 0.5 * (a == b);
    EXPECT_NEAR(tags["auroc"].get<double>(), wins / double(bad.size() * good.size()), 1e-9);
  }

  write_file_atomic(dir + "/prompts.txt", "def f(x):\n");
  const CliResult rt = run_prealign("eval redteam --model '" + dir + "/mle/checkpoint' --score-config pep8 --prompts '" +
                                    dir + "/prompts.txt' --continuations 2 --max-new-tokens 8 --rounds 1 --population 4 "
                                    "--keep 2 --top 2 --out '" + dir + "/mle/eval/redteam.json'");
  ASSERT_EQ(rt.status, 0) << rt.output;
  EXPECT_EQ(json::parse(read_file(dir + "/mle/eval/redteam.json"))["search"]["best_prompts"].size(), 2u);

  const CliResult c = run_prealign("eval compare '" + dir + "/mle' '" + dir + "/conditional' --baseline mle --out '" +
                                   dir + "/report'");
  ASSERT_EQ(c.status, 0) << c.output;
  const json rep = json::parse(read_file(dir + "/report/compare.json"));
  ASSERT_EQ(rep["rows"].size(), 2u);
  const double mle = json::parse(read_file(dir + "/mle/eval/mis.json"))["mean_score"]["value"].get<double>();
  const double cond = json::parse(read_file(dir + "/conditional/eval/mis.json"))["mean_score"]["value"].get<double>();
  if (mle > 0) {
    EXPECT_NEAR(rep["rows"][1]["misalignment_ratio_to_baseline"].get<double>(), cond / mle, 1e-12);
  }
  EXPECT_TRUE(fs::exists(dir + "/report/compare.md"));

  const CliResult none = run_prealign("eval compare '" + dir + "/nothing-here' --baseline mle --out '" + dir + "/r2'");
  EXPECT_EQ(none.status, 1);
  EXPECT_TRUE(contains(none.output, "nothing-here")) << none.output;
}
