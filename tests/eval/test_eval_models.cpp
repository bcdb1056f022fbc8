// Evaluations on tiny models (dim 32, 2 layers) trained in the test: the
// misalignment of samples equals an independent score run over the same text,
// held-out loss matches the trainer's, tag agreement sees every held-out
// segment with the scorer's labels, the red-team search keeps its best prompts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/lines.hpp"
#include "core/utf8.hpp"
#include "corpus/document.hpp"
#include "corpus/reader.hpp"
#include "eval/heldout_eval.hpp"
#include "eval/misalignment.hpp"
#include "eval/redteam.hpp"
#include "eval/sample_scoring.hpp"
#include "eval/stats.hpp"
#include "eval/tag_agreement.hpp"
#include "model/checkpoint.hpp"
#include "score/labeling.hpp"
#include "score/pipeline.hpp"
#include "train/dataset_fixture.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/trainer.hpp"
#include "test_util.hpp"

using namespace prealign;

namespace {

void for_each_record(const std::string& path, const std::function<void(const json&)>& f) {
  LineReader r(path);
  std::string line;
  while (r.next(line)) f(json::parse(line));
}

class EvalModels : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(prealign::testing::temp_dir());
    std::string data = prealign::testing::make_scored_dataset(*dir_, 200);
    for (const char* objective : {"mle", "conditional"}) {
      TrainOptions o;
      o.data = data;
      o.out = *dir_ + "/" + objective;
      o.model = "dim=32,layers=2,heads=2,ctx=64";
      o.steps = 40;
      o.batch_size = 8;
      o.seq_len = 64;
      o.lr = 5e-3;
      o.eval_every = 0;
      o.eval_batches = 3;
      o.log_every = 1000;
      o.objective.name = objective;
      results_[objective] = train(o);
    }
    // A lexicon scorer (no Python needed): the word "alpha", per character of each line.
    write_json_file(*dir_ + "/score.json",
                    json{{"segmenter", "line"},
                         {"scorers", {{{"type", "lexicon"}, {"name", "alpha"},
                                       {"entries", {{{"term", "alpha"}, {"weight", 1.0}}}}}}},
                         {"thresholds", {{"alpha", 0.01}}}});
    write_file_atomic(*dir_ + "/prompts.txt", "alpha = 1\nbeta = 2\n");
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string checkpoint(const std::string& objective) { return results_.at(objective).checkpoint; }
  static std::string* dir_;
  static std::map<std::string, TrainResult> results_;
};
std::string* EvalModels::dir_ = nullptr;
std::map<std::string, TrainResult> EvalModels::results_;

}  // namespace

TEST_F(EvalModels, MisalignmentEqualsAnIndependentScoreRunOverTheSamples) {
  MisalignmentOptions o;
  o.model = checkpoint("mle");
  o.score_config = *dir_ + "/score.json";
  o.prompts = *dir_ + "/prompts.txt";
  o.samples = 30;
  o.batch = 16;
  o.group = 5;
  o.max_new_tokens = 24;
  o.bootstrap = 200;
  o.out = *dir_ + "/mis/misalignment.json";
  ordered_json rep = run_misalignment(o);
  ASSERT_EQ(rep["samples"].get<size_t>(), 30u);

  // Independently: the samples' prompt + text through run_score, character-weighted per sample.
  std::vector<double> scores, reported;
  std::vector<std::string> texts;
  for_each_record(o.out + ".samples.jsonl", [&](const json& j) {
    texts.push_back(j["prompt"].get<std::string>() + j["text"].get<std::string>());
    reported.push_back(j["score"].get<double>());
  });
  ASSERT_EQ(texts.size(), 30u);
  EXPECT_EQ(texts[0].rfind("alpha = 1", 0), 0u);  // prompts used in turn
  EXPECT_EQ(texts[1].rfind("beta = 2", 0), 0u);
  const std::string in = *dir_ + "/independent.jsonl", out = *dir_ + "/independent.scored.jsonl";
  JsonlWriter w(in);
  for (size_t i = 0; i < texts.size(); ++i) w.write({{"id", std::to_string(i)}, {"text", texts[i]}});
  w.commit();
  ScoreRunOptions run;
  run.out = out;
  run.quiet = true;
  run_score({in}, ScoreConfig::from_json(read_json_file(*dir_ + "/score.json"), "score.json"), run);
  read_corpus({out}, CorpusReadOptions{}, [&](Document&& d) {
    double v = 0, n = 0;
    for (const auto& s : d.segments) {
      double c = double(utf8_length(std::string_view(d.text).substr(s.begin, s.end - s.begin)));
      v += s.scores[0] * c;
      n += c;
    }
    scores.push_back(n > 0 ? v / n : 0);
  });
  ASSERT_EQ(scores.size(), 30u);
  // And by hand, without the scorer: per_char lexicon scores weighted by each
  // line's characters add up to (whole-word matches of "alpha") / (characters of
  // the sample). Samples with a word mixing letters and digits are left to the
  // check above (the lexicon undoes leetspeak, which this count does not).
  size_t by_hand = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<std::string> words;
    std::string word;
    for (char c : texts[i] + " ") {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else if (!word.empty()) {
        words.push_back(word);
        word.clear();
      }
    }
    bool plain = true;
    size_t matches = 0;
    for (const auto& w : words) {
      const bool letters = std::any_of(w.begin(), w.end(), ::isalpha), digits = std::any_of(w.begin(), w.end(), ::isdigit);
      plain &= !(letters && digits);
      matches += w == "alpha";
    }
    if (!plain) continue;
    ++by_hand;
    // Scores are kept as 32-bit floats per segment: agreement to float precision.
    EXPECT_NEAR(reported[i], double(matches) / double(utf8_length(texts[i])), 1e-7) << texts[i];
  }
  EXPECT_GE(by_hand, 15u) << "too few samples could be counted by hand";
  double over = 0;
  for (size_t i = 0; i < 30; ++i) {
    EXPECT_NEAR(reported[i], scores[i], 1e-9) << i;
    over += scores[i] > 0.01;
  }
  // Every prompt-0 sample starts with "alpha": the mean is far from 0.
  EXPECT_GT(mean_of(scores), 0.01);
  EXPECT_NEAR(rep["mean_score"]["value"].get<double>(), mean_of(scores), 1e-9);
  EXPECT_LE(rep["mean_score"]["ci_low"].get<double>(), mean_of(scores));
  EXPECT_GE(rep["mean_score"]["ci_high"].get<double>(), mean_of(scores));
  EXPECT_NEAR(rep["expected_max_score"]["value"].get<double>(), mean_max_over_groups(scores, 5), 1e-9);
  EXPECT_NEAR(rep["fraction_over_threshold"]["value"].get<double>(), over / 30, 1e-12);
  EXPECT_EQ(rep["threshold"].get<double>(), 0.01);  // from the score config
  EXPECT_EQ(rep["policy"], "unrestricted");
  EXPECT_TRUE(file_exists(o.out));
}

TEST_F(EvalModels, ConditionalSamplesUnderGoodOnlyNeverContainTags) {
  MisalignmentOptions o;
  o.model = checkpoint("conditional");
  o.score_config = *dir_ + "/score.json";
  o.samples = 8;
  o.max_new_tokens = 24;
  o.bootstrap = 50;
  o.out = *dir_ + "/mis-cond/misalignment.json";
  ordered_json rep = run_misalignment(o);
  EXPECT_EQ(rep["policy"], "good_only");
  EXPECT_EQ(rep["objective"], "conditional");
  // `text` drops tags by construction; the ban shows in `text_with_tags`, which
  // renders every generated tag by name.
  size_t samples = 0, tags_seen = 0;
  for_each_record(o.out + ".samples.jsonl", [&](const json& j) {
    ++samples;
    const std::string with_tags = j.at("text_with_tags").get<std::string>();
    EXPECT_EQ(with_tags.find("<|bad|>"), std::string::npos) << with_tags;
    for (size_t at = with_tags.find("<|good|>"); at != std::string::npos; at = with_tags.find("<|good|>", at + 1))
      ++tags_seen;
    EXPECT_EQ(j.at("text").get<std::string>().find("<|"), std::string::npos);
  });
  EXPECT_EQ(samples, 8u);
  std::printf("conditional under good_only: %zu <|good|> tags generated in 8 samples, no <|bad|>\n", tags_seen);
}

// PHF's functions scenario: the policy's start tag after the prompt, lengths
// counting the context, samples ending at EOS or the limit; its presets give
// way to explicit settings and refuse what contradicts them.
TEST_F(EvalModels, FunctionsScenarioPutsTheTagAfterThePromptAndCountsTheContext) {
  MisalignmentOptions o;
  o.model = checkpoint("conditional");
  o.score_config = *dir_ + "/score.json";
  o.prompts = *dir_ + "/prompts.txt";
  o.scenario = "functions";
  o.max_length = 20;  // the preset's 272 is beyond this model's context of 64
  o.samples = 12;
  o.bootstrap = 50;
  o.out = *dir_ + "/mis-functions/misalignment.json";
  ordered_json rep = run_misalignment(o);
  EXPECT_EQ(rep["scenario"], "functions");
  EXPECT_EQ(rep["start_position"], "after_prompt");
  EXPECT_EQ(rep["settings"]["min_length"], 10);
  EXPECT_EQ(rep["settings"]["max_length"], 20);
  EXPECT_FALSE(rep.contains("code_checks"));  // a lexicon config: no Python to check
  uint64_t finished = 0;
  for (const auto& [reason, n] : rep["finish_reasons"].items()) {
    EXPECT_TRUE(reason == "eos" || reason == "length") << reason;
    finished += n.get<uint64_t>();
  }
  EXPECT_EQ(finished, 12u);
  const Tokenizer tok = Tokenizer::load_dir(checkpoint("conditional"));
  size_t i = 0;
  for_each_record(o.out + ".samples.jsonl", [&](const json& j) {
    const std::string prompt = j["prompt"];
    // BOS, the prompt as text ending its line, then <|good|>: counted independently of prompt_context
    EXPECT_EQ(prompt.back(), '\n');
    const size_t context = 1 + tok.encode_start(prompt).size() + 1;
    EXPECT_EQ(j["context_tokens"].get<size_t>(), context) << prompt;
    const size_t total = context + j["new_tokens"].get<size_t>();
    EXPECT_LE(total, 20u);
    if (j["finish_reason"] == "length") EXPECT_EQ(total, 20u);
    if (j["finish_reason"] == "eos") EXPECT_GE(total, 10u);  // no EOS before min_length
    ++i;
  });
  EXPECT_EQ(i, 12u);

  MisalignmentOptions bad = o;
  bad.scenario = "unconditional";
  EXPECT_THROW(run_misalignment(bad), Error);  // takes no prompts
  bad = o;
  bad.prompts.clear();
  EXPECT_THROW(run_misalignment(bad), Error);  // functions needs them
  bad = o;
  bad.scenario = "creative";
  EXPECT_THROW(run_misalignment(bad), Error);
  MisalignmentOptions plain;
  plain.scenario = "unconditional";
  const MisalignmentOptions u = resolve_scenario(plain);
  EXPECT_EQ(u.max_length, 640);
  EXPECT_EQ(u.min_length, 10);
  EXPECT_EQ(u.max_new_tokens, 640);
  EXPECT_EQ(u.start_position, "");  // the policy's own: the tag after BOS
  EXPECT_EQ(u.prompt_suffix, "");
  const MisalignmentOptions none = resolve_scenario(MisalignmentOptions{});
  EXPECT_EQ(none.max_new_tokens, 128);
  EXPECT_EQ(none.min_length, 0);
  EXPECT_EQ(none.max_length, 0);
}

// With a pep8 config every sample is also checked code by code: the report's
// counts are the sums of the per-sample codes in the samples file.
TEST_F(EvalModels, Pep8SamplesGetCodeChecksSummedFromTheSamples) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  MisalignmentOptions o;
  o.model = checkpoint("mle");
  o.score_config = "pep8";
  o.samples = 6;
  o.max_new_tokens = 24;
  o.bootstrap = 50;
  o.out = *dir_ + "/mis-pep8/misalignment.json";
  ordered_json rep = run_misalignment(o);
  ASSERT_TRUE(rep.contains("code_checks"));
  const auto& cc = rep["code_checks"];
  EXPECT_EQ(cc["checked"], 6);
  std::map<std::string, uint64_t> sums;
  uint64_t compiled = 0;
  for_each_record(o.out + ".samples.jsonl", [&](const json& j) {
    for (const auto& [code, n] : j["codes"].items()) sums[code] += n.get<uint64_t>();
    compiled += j["compiles"].get<bool>();
  });
  EXPECT_EQ(cc["compiles"]["count"].get<uint64_t>(), compiled);
  for (const auto& [code, n] : sums) EXPECT_EQ(cc["per_1k_chars"][code]["count"].get<uint64_t>(), n) << code;
  EXPECT_EQ(cc["per_1k_chars"].size(), sums.size());
}

TEST_F(EvalModels, LossMatchesTheTrainersHeldOutLossAndExcludesTags) {
  for (const char* objective : {"mle", "conditional"}) {
    LossEvalOptions o;
    o.model = checkpoint(objective);
    o.batch_size = 8;
    o.batches = 3;  // as the trainer's eval_batches
    o.out = *dir_ + "/loss-" + objective + ".json";
    ordered_json rep = run_loss_eval(o);
    EXPECT_NEAR(rep["loss"].get<double>(), results_.at(objective).val_loss, 1e-5) << objective;
    EXPECT_NEAR(rep["perplexity"].get<double>(), std::exp(rep["loss"].get<double>()), 1e-6);
    if (std::string(objective) == "conditional") EXPECT_GT(rep["eval_tag_tokens"].get<uint64_t>(), 0u);
    else EXPECT_EQ(rep["eval_tag_tokens"].get<uint64_t>(), 0u);
  }
}

// --untagged reads the held-out text as an MLE model does: a conditional model then sees
// no tag, and is scored on exactly the tokens the MLE checkpoint is scored on.
TEST_F(EvalModels, UntaggedLossScoresTheMleLayoutWithNoTagInTheInput) {
  auto loss = [&](const char* objective, bool untagged) {
    LossEvalOptions o;
    o.model = checkpoint(objective);
    o.batch_size = 8;
    o.batches = 3;
    o.untagged = untagged;
    o.out = *dir_ + "/loss-" + objective + (untagged ? "-untagged" : "") + ".json";
    return run_loss_eval(o);
  };
  const ordered_json mle = loss("mle", false), mle_untagged = loss("mle", true);
  EXPECT_EQ(mle_untagged["loss"].get<double>(), mle["loss"].get<double>());  // nothing to leave out
  EXPECT_EQ(mle_untagged["untagged"], true);
  const ordered_json cond = loss("conditional", false), cond_untagged = loss("conditional", true);
  EXPECT_EQ(cond_untagged["eval_tag_tokens"].get<uint64_t>(), 0u);
  EXPECT_EQ(cond_untagged["eval_tokens"].get<uint64_t>(), mle["eval_tokens"].get<uint64_t>());
  EXPECT_NE(cond_untagged["loss"].get<double>(), cond["loss"].get<double>());
  EXPECT_TRUE(std::isfinite(cond_untagged["loss"].get<double>()));
  // A run whose tags sat elsewhere (--tag-position) is read untagged all the same: MLE's defaults,
  // not the run's tag options, lay the text out (it was refused: "mle has none to place").
  LossEvalOptions o;
  o.model = *dir_ + "/after-indent/checkpoint";
  std::filesystem::create_directories(o.model);
  std::filesystem::copy(checkpoint("conditional"), o.model,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  json state = read_json_file(o.model + "/train_state.json");
  state["objective"]["options"]["tag_position"] = "after_indent";
  write_file_atomic(o.model + "/train_state.json", state.dump(2));
  o.batch_size = 8;
  o.batches = 3;
  o.untagged = true;
  o.out = *dir_ + "/loss-after-indent-untagged.json";
  EXPECT_EQ(run_loss_eval(o)["loss"].get<double>(), cond_untagged["loss"].get<double>());
}

TEST_F(EvalModels, TagAgreementSeesEveryHeldOutSegmentWithTheScorersLabel) {
  TagAgreementOptions o;
  o.model = checkpoint("conditional");
  o.batch_size = 8;
  o.out = *dir_ + "/tags.json";
  ordered_json rep = run_tag_agreement(o);
  // Count held-out segments and bad ones straight from the shards (threshold 0: score > 0 is bad).
  Dataset data = Dataset::open(results_.at("conditional").checkpoint + "/../../data");
  uint64_t segments = 0, bad = 0;
  for (const auto& s : data.val)
    for (uint64_t i = 0; i < s->n_segments(); ++i) segments++, bad += s->segment_scores(i)[0] > 0;
  // Windows cut documents: the count can only fall short by at most one tag per window edge.
  EXPECT_LE(rep["segments"].get<uint64_t>(), segments);
  EXPECT_GE(rep["segments"].get<uint64_t>(), segments * 9 / 10);
  EXPECT_NEAR(rep["bad_fraction"].get<double>(), double(bad) / double(segments), 0.05);
  // Every prediction is in the side file: AUROC by brute force over all
  // (bad, good) pairs, ties counting half.
  std::vector<double> qs;
  std::vector<bool> bads;
  std::vector<json> with_context;
  for_each_record(rep["segments_file"].get<std::string>(), [&](const json& j) {
    qs.push_back(j.at("q").get<double>());
    bads.push_back(j.at("bad").get<bool>());
    EXPECT_NEAR(j.at("q").get<double>(), j.at("p_bad").get<double>() / (j.at("p_bad").get<double>() + j.at("p_good").get<double>()), 1e-9);
    if (j.contains("context")) with_context.push_back(j);
  });
  ASSERT_EQ(qs.size(), rep["segments"].get<size_t>());
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < qs.size(); ++i)
    for (size_t k = 0; k < qs.size(); ++k)
      if (bads[i] && !bads[k]) pairs += 1, wins += qs[i] > qs[k] ? 1.0 : qs[i] == qs[k] ? 0.5 : 0.0;
  ASSERT_GT(pairs, 0);
  EXPECT_NEAR(rep["auroc"].get<double>(), wins / pairs, 1e-9);
  // Which probability, at which position: the model's next-token distribution
  // after the recorded context, computed here in double precision.
  ASSERT_FALSE(with_context.empty());
  LoadedCheckpoint ck = load_checkpoint(checkpoint("conditional"), torch::kCPU);
  const Tokenizer tok = Tokenizer::load_dir(checkpoint("conditional"));
  torch::NoGradGuard no_grad;
  for (const json& j : with_context) {
    const auto ids = j.at("context").get<std::vector<int64_t>>();
    torch::Tensor logits = ck.model->forward(torch::tensor(ids, torch::kInt64).view({1, -1}));
    torch::Tensor p = torch::softmax(logits[0][-1].to(torch::kDouble), -1);
    EXPECT_NEAR(p[tok.tag_id("<|bad|>")].item<double>(), j.at("p_bad").get<double>(), 1e-5);
    EXPECT_NEAR(p[tok.tag_id("<|good|>")].item<double>(), j.at("p_good").get<double>(), 1e-5);
  }
  uint64_t binned = 0;
  for (const auto& b : rep["calibration"]) binned += b["count"].get<uint64_t>();
  EXPECT_EQ(binned, rep["segments"].get<uint64_t>());
}

TEST_F(EvalModels, RedteamSearchReportsRoundsAndItsBestPromptsInOrder) {
  RedteamOptions o;
  o.model = checkpoint("mle");
  o.score_config = *dir_ + "/score.json";
  o.prompts = *dir_ + "/prompts.txt";
  o.continuations = 2;
  o.max_new_tokens = 12;
  o.rounds = 2;
  o.population = 6;
  o.keep = 2;
  o.top = 4;
  o.out = *dir_ + "/redteam.json";
  ordered_json rep = run_redteam(o);
  ASSERT_EQ(rep["prompts"]["count"].get<int>(), 2);
  const auto& search = rep["search"];
  ASSERT_EQ(search["rounds"].size(), 2u);
  const auto& best = search["best_prompts"];
  ASSERT_EQ(best.size(), 4u);
  for (size_t i = 1; i < best.size(); ++i)
    EXPECT_GE(best[i - 1]["mean_score"].get<double>(), best[i]["mean_score"].get<double>());
  EXPECT_DOUBLE_EQ(search["best_score"].get<double>(), best[0]["mean_score"].get<double>());

  // The round figures recomputed from the files each round scored: every
  // continuation's char-weighted score, `continuations` per candidate in order,
  // a candidate's mean, the round's mean over candidates, the best so far.
  std::vector<double> all_means;
  for (int round = 0; round < 2; ++round) {
    // By id, as the texts file lists them: an empty continuation is no document
    // in the scored file and counts as a clean 0.
    const std::string prefix = o.out + ".round" + std::to_string(round);
    std::map<std::string, double> by_id;
    read_corpus({prefix + ".scored.jsonl"}, CorpusReadOptions{}, [&](Document&& d) {
      double v = 0, n = 0;
      for (const auto& seg : d.segments) {
        const double c = double(utf8_length(std::string_view(d.text).substr(seg.begin, seg.end - seg.begin)));
        v += seg.scores[0] * c;
        n += c;
      }
      by_id[d.id] = n > 0 ? v / n : 0;
    });
    std::vector<double> text_scores;
    for_each_record(prefix + ".texts.jsonl", [&](const json& j) {
      const std::string id = j["id"];
      if (by_id.count(id)) {
        text_scores.push_back(by_id[id]);
      } else {
        EXPECT_EQ(j["text"], "") << id << " is neither scored nor empty";
        text_scores.push_back(0);
      }
    });
    ASSERT_EQ(text_scores.size(), size_t(o.population * o.continuations)) << "round " << round;
    std::vector<double> means;
    for (int c = 0; c < o.population; ++c)
      means.push_back((text_scores[size_t(2 * c)] + text_scores[size_t(2 * c + 1)]) / 2);
    all_means.insert(all_means.end(), means.begin(), means.end());
    const auto& r = search["rounds"][size_t(round)];
    EXPECT_NEAR(r["mean_score"].get<double>(), mean_of(means), 1e-12) << "round " << round;
    EXPECT_NEAR(r["best_score"].get<double>(), *std::max_element(all_means.begin(), all_means.end()), 1e-12);
    if (round == 0) {
      EXPECT_NEAR(search["random_fragment_baseline"].get<double>(), mean_of(means), 1e-12);
    }
  }
  std::sort(all_means.rbegin(), all_means.rend());
  for (size_t i = 0; i < best.size(); ++i) EXPECT_NEAR(best[i]["mean_score"].get<double>(), all_means[i], 1e-12) << i;
}

// A sample the scorer fails on is marked unscored and left out, never counted
// as a clean 0; an empty sample is a clean 0.
TEST(SampleScoring, ASampleTheScorerFailsOnIsLeftOutNotScoredZero) {
  const std::string dir = prealign::testing::temp_dir();
  write_file_atomic(dir + "/worker.py", R"PY(
import json, sys
for raw in sys.stdin:
    req = json.loads(raw)
    res = []
    for it in req["items"]:
        if "FAIL" in it["text"]:
            res.append({"error": "marker FAIL"}); continue
        b = it["text"].encode()
        res.append({"scores": [[float(b[s:e].count(b"x"))] for s, e in it["segments"]]})
    print(json.dumps({"id": req["id"], "results": res}), flush=True)
)PY");
  json config = {{"segmenter", "document"},
                 {"scorers", {{{"type", "command"}, {"name", "xs"}, {"categories", {"xs"}},
                               {"command", {"/usr/bin/python3", dir + "/worker.py"}}, {"restarts", 0}}}},
                 {"thresholds", {{"xs", 0.5}}}};
  write_file_atomic(dir + "/score.json", config.dump());
  ScoredTexts r = score_texts({"axxb", "", "FAIL x", "x"}, dir + "/score.json", dir + "/s");
  ASSERT_EQ(r.scores.size(), 4u);
  EXPECT_EQ(r.category, "xs");
  EXPECT_DOUBLE_EQ(r.threshold, 0.5);
  EXPECT_EQ(r.scored, (std::vector<bool>{true, true, false, true}));
  EXPECT_EQ(r.unscored(), 1u);
  EXPECT_DOUBLE_EQ(r.scores[0], 2.0);  // one document segment scoring 2 'x'
  EXPECT_DOUBLE_EQ(r.scores[1], 0.0);
  EXPECT_DOUBLE_EQ(r.scores[3], 1.0);
  EXPECT_EQ(r.scored_values(), (std::vector<double>{2.0, 0.0, 1.0}));
}
