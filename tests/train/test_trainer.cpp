// Training loop end to end on a small synthetic dataset: exact resume, held-out
// loss falls, conditional plans put the right tag before every segment.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>
#include <sstream>

#include "dataset_fixture.hpp"
#include "model/checkpoint.hpp"
#include "train/cooldown.hpp"
#include "train/heldout.hpp"
#include "train/trainer.hpp"

using namespace prealign;

namespace {

class TrainerTest : public prealign::testing::ScoredDatasetSuite {
 protected:
  static TrainOptions options(const std::string& out, const std::string& objective) {
    TrainOptions o;
    o.data = *data_;
    o.out = *dir_ + "/" + out;
    o.model = "dim=32,layers=2,heads=2,ctx=32";
    o.steps = 40;
    o.batch_size = 4;
    o.seq_len = 32;
    o.lr = 3e-3;
    o.eval_every = 0;
    o.eval_batches = 4;
    o.log_every = 1000;
    o.objective.name = objective;
    return o;
  }
};

TEST_F(TrainerTest, TwentyPlusResumeTwentyEqualsFortyStraight) {
  for (const char* objective : {"mle", "conditional"}) {
    TrainOptions straight = options(std::string("straight-") + objective, objective);
    TrainResult all = train(straight);
    ASSERT_EQ(all.losses.size(), 40u);

    TrainOptions first = options(std::string("split-") + objective, objective);
    first.stop_after = 20;
    TrainResult a = train(first);
    ASSERT_EQ(a.step, 20);
    TrainOptions second = options(std::string("split-") + objective, objective);
    second.resume = true;
    TrainResult b = train(second);
    ASSERT_EQ(b.step, 40);
    ASSERT_EQ(a.losses.size() + b.losses.size(), 40u);
    for (size_t i = 0; i < 40; ++i) {
      double got = i < 20 ? a.losses[i] : b.losses[i - 20];
      EXPECT_NEAR(got, all.losses[i], 1e-6 * std::abs(all.losses[i])) << objective << " step " << i + 1;
    }
    EXPECT_NEAR(b.val_loss, all.val_loss, 1e-5);
  }
}

TEST_F(TrainerTest, LossFallsAndTheCheckpointReloadsWithTheSameHeldOutLoss) {
  TrainOptions o = options("learns", "conditional");
  o.steps = 120;
  TrainResult r = train(o);
  EXPECT_LT(r.losses.back(), 0.6 * r.losses.front());
  LoadedCheckpoint ck = load_checkpoint(r.checkpoint, torch::kCPU);
  EXPECT_EQ(ck.train_state.at("step").get<int64_t>(), 120);
  EXPECT_EQ(ck.policy.at("name"), "good_only");
  Dataset data = Dataset::open(*data_);
  Tokenizer tok = Tokenizer::load_dir(*data_);
  ObjectiveOptions oo;
  oo.name = "conditional";
  auto obj = make_objective(oo, data, tok, torch::kCPU, ck.config.dim);
  auto planner = [&](const DocumentView& d, DocumentPlan& p) { obj->plan(d, p); };
  HeldoutLoss h = heldout_loss(ck.model, data, planner, o.batch_size, o.seq_len, o.eval_batches);
  EXPECT_NEAR(h.loss, r.val_loss, 1e-5);
}

TEST_F(TrainerTest, ConditionalPlanTagsEverySegmentByItsScore) {
  Dataset data = Dataset::open(*data_);
  Tokenizer tok = Tokenizer::load_dir(*data_);
  ObjectiveOptions oo;
  oo.name = "conditional";
  oo.drop_fraction = 0.0;
  auto obj = make_objective(oo, data, tok, torch::kCPU, 32);
  const int good = tok.tag_id("<|good|>"), bad = tok.tag_id("<|bad|>");
  const Shard& shard = *data.train.front();
  size_t bad_seen = 0, segments = 0;
  for (uint64_t d = 0; d < shard.n_docs(); ++d) {
    DocumentPlan plan;
    obj->plan(DocumentView{&shard, d, shard.doc_segment_begin(d)}, plan);
    ASSERT_TRUE(plan.keep);
    for (uint64_t s = shard.doc_segment_begin(d); s < shard.doc_segment_end(d); ++s) {
      const SegmentPlan& sp = plan.segments[s - shard.doc_segment_begin(d)];
      bool is_bad = shard.segment_scores(s)[0] > 0.0f;
      ASSERT_EQ(sp.prefix, std::vector<int32_t>{is_bad ? bad : good});
      EXPECT_EQ(sp.label, is_bad ? kLabelBad : kLabelGood);
      bad_seen += is_bad;
      ++segments;
    }
  }
  EXPECT_GT(bad_seen, segments / 10);  // the fixture makes ~1 in 4 lines bad
  EXPECT_LT(bad_seen, segments / 2);
}

TEST_F(TrainerTest, MleInsertsNoTags) {
  Dataset data = Dataset::open(*data_);
  Tokenizer tok = Tokenizer::load_dir(*data_);
  auto obj = make_objective(ObjectiveOptions{}, data, tok, torch::kCPU, 32);
  DocumentPlan plan;
  const Shard& shard = *data.train.front();
  obj->plan(DocumentView{&shard, 0, 0}, plan);
  for (const auto& sp : plan.segments) EXPECT_TRUE(sp.prefix.empty());
}

TEST_F(TrainerTest, BadOptionsAreErrorsNotCrashes) {
  TrainOptions o = options("bad", "nonsense");
  EXPECT_THROW(train(o), Error);
  o = options("bad2", "mle");
  o.batch_size = 0;
  EXPECT_THROW(train(o), Error);
  o = options("bad3", "mle");
  o.resume = true;  // nothing to resume
  EXPECT_THROW(train(o), Error);
}

// A resumed run keeps its settings: a changed --lr is refused naming the flag;
// --steps extends it; other settings given as they were are accepted.
TEST_F(TrainerTest, ResumeAppliesStepsAndRefusesOtherChangesNamingTheFlag) {
  TrainOptions first = options("flags", "mle");
  first.steps = 20;
  first.stop_after = 10;
  ASSERT_EQ(train(first).step, 10);
  TrainOptions changed = options("flags", "mle");
  changed.resume = true;
  changed.lr = 1e-2;
  std::set<std::string> given = {"resume", "out", "lr"};
  try {
    train(changed, &given);
    ADD_FAILURE() << "a changed --lr was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--lr"), std::string::npos) << e.what();
  }
  TrainOptions model_changed = options("flags", "mle");
  model_changed.resume = true;
  model_changed.model = "dim=48,layers=2,heads=2,ctx=32";
  given = {"resume", "out", "model"};
  EXPECT_THROW(train(model_changed, &given), Error);
  TrainOptions longer;
  longer.out = options("flags", "mle").out;
  longer.resume = true;
  longer.steps = 30;
  given = {"resume", "out", "steps"};
  TrainResult r = train(longer, &given);
  EXPECT_EQ(r.step, 30);
  EXPECT_EQ(read_json_file(longer.out + "/checkpoint/train_state.json").at("options").at("steps"), 30);
  TrainOptions shorter = longer;
  shorter.steps = 5;  // before the checkpoint
  EXPECT_THROW(train(shorter, &given), Error);
}

// --auto-resume: a requeued job's command line starts the run the first time and continues it after.
TEST_F(TrainerTest, AutoResumeStartsARunThenContinuesIt) {
  TrainOptions o = options("requeued", "mle");
  o.steps = 20;
  o.stop_after = 10;
  o.auto_resume = true;
  EXPECT_EQ(train(o).step, 10);
  TrainResult second = train(o);
  EXPECT_EQ(second.step, 20);
  EXPECT_EQ(second.losses.size(), 10u);
}

// After a kill: the staging directory of the dead writer is removed, and the
// steps it logged after its last checkpoint (and a line cut short) are logged
// once, by the resumed run, not twice.
TEST_F(TrainerTest, ResumeAfterAKillLeavesNoStagingAndLogsEveryStepOnce) {
  TrainOptions o = options("killed", "mle");
  o.steps = 20;
  o.stop_after = 12;
  train(o);
  const std::string out = o.out;
  // What a kill at step 14, while saving, would have left: a dead process's staging
  // directory and log lines past the checkpoint.
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const std::string staging = out + "/checkpoint.staging-" + std::to_string(dead) + "-0";
  make_directories(staging);
  write_file_atomic(staging + "/config.json", "{}");
  const std::string live = out + "/checkpoint.staging-" + std::to_string(::getpid()) + "-7";  // a live writer's
  make_directories(live);
  {
    std::FILE* f = std::fopen((out + "/metrics.jsonl").c_str(), "a");
    std::fputs("{\"type\":\"train\",\"step\":13,\"loss\":9}\n{\"type\":\"train\",\"step\":14,\"loss\":9}\n{\"type\":\"tr", f);
    std::fclose(f);
  }
  TrainOptions resume = options("killed", "mle");
  resume.steps = 20;
  resume.resume = true;
  train(resume);
  EXPECT_FALSE(is_directory(staging));
  EXPECT_TRUE(is_directory(live));
  remove_all(live);
  std::map<int64_t, int> seen;
  std::istringstream in(read_file(out + "/metrics.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    json rec = json::parse(line);  // every line is whole
    if (rec.at("type") == "train") ++seen[rec.at("step").get<int64_t>()];
  }
  ASSERT_EQ(seen.size(), 20u);
  for (auto [step, count] : seen) EXPECT_EQ(count, 1) << "step " << step;
  EXPECT_LT(seen.begin()->first, 2);
}

}  // namespace

// Context tags from document metadata: the same labeling config `prealign label`
// reads puts <fiction> after BOS of every fiction document, and rule tags before
// every segment, at batch time. Band tags (a numeric field) follow the context tags,
// also with no rule at all (metadata alone, as experiments/band_tags.sh trains);
// before, training read only the context rules and a band never reached a batch.
TEST(TrainerLabeling, LabelConfigContextTagsStartTheirDocuments) {
  const std::string dir = prealign::testing::temp_dir();
  std::mt19937 rng(3);
  std::vector<Document> docs;
  for (int i = 0; i < 60; ++i) {
    Document d = prealign::testing::synthetic_document(rng, i);
    d.meta = {{"genre", i % 3 == 0 ? "fiction" : "manual"}, {"iq", 50 + 2 * i}};  // 50..168: some outside [55, 160]
    docs.push_back(d);
  }
  JsonlWriter w(dir + "/scored.jsonl");
  for (const auto& d : docs) w.write(document_to_json(d));
  w.commit();
  write_file_atomic(dir + "/tags.json", R"({"name": "ctx", "tags": [
      {"name": "<|good|>", "category": "alignment", "kind": "marker"},
      {"name": "<|bad|>", "category": "alignment", "kind": "marker"},
      {"name": "<fiction>", "category": "context", "kind": "marker"}]})");
  Tagset tags = Tagset::merge({Tagset::load(dir + "/tags.json"),
                               Tagset::load(std::string(PREALIGN_SOURCE_DIR) + "/configs/tagsets/iq_bands.json")});
  TokenizerTrainOptions to;
  to.vocab_size = 320;  // the text's characters plus 10 tags
  size_t next = 0;
  make_directories(dir + "/tok");
  Tokenizer::train([&](std::string& t) {
    if (next >= docs.size()) return false;
    t = docs[next++].text;
    return true;
  }, tags, to, dir + "/tok/tokenizer.model");
  Tokenizer tok = Tokenizer::load(dir + "/tok/tokenizer.model", tags);
  TokenizeOptions topt;
  topt.out = dir + "/data";
  topt.val_fraction = 0.0;
  tokenize_corpus({dir + "/scored.jsonl"}, tok, topt);
  write_file_atomic(dir + "/label.json", R"({"rules": [{"category": "pep8", "threshold": "0"}],
      "context": [{"field": "genre", "value": "fiction", "tag": "<fiction>"}], "drop_fraction": 0})");

  Dataset data = Dataset::open(topt.out);
  ObjectiveOptions oo;
  oo.name = "conditional";
  oo.labeling = dir + "/label.json";
  auto obj = make_objective(oo, data, tok, torch::kCPU, 32);
  const int fiction = tok.tag_id("<fiction>"), good = tok.tag_id("<|good|>"), bad = tok.tag_id("<|bad|>");
  const Shard& shard = *data.train.front();
  size_t fiction_docs = 0;
  for (uint64_t d = 0; d < shard.n_docs(); ++d) {
    DocumentPlan plan;
    obj->plan(DocumentView{&shard, d, shard.doc_segment_begin(d)}, plan);
    const bool is_fiction = shard.doc_info(d).at("meta").at("genre") == "fiction";
    EXPECT_EQ(plan.prefix, is_fiction ? std::vector<int32_t>{fiction} : std::vector<int32_t>{});
    fiction_docs += is_fiction;
    for (uint64_t s = shard.doc_segment_begin(d); s < shard.doc_segment_end(d); ++s)
      EXPECT_EQ(plan.segments[s - shard.doc_segment_begin(d)].prefix,
                std::vector<int32_t>{shard.segment_scores(s)[0] > 0 ? bad : good});
  }
  EXPECT_EQ(fiction_docs, 20u);

  // Bands, alone and after a context tag: each document's band recomputed here from the edges.
  const std::string bands = R"("bands": [{"field": "iq", "tagset": ")" + std::string(PREALIGN_SOURCE_DIR) +
                            R"(/configs/tagsets/iq_bands.json", "category": "iq"}])";
  auto band_of = [&](int iq) -> std::vector<int32_t> {
    if (iq < 55 || iq > 160) return {};
    const int k = std::min(6, (iq - 55) / 15);
    return {tok.tag_id("<iq_" + std::to_string(55 + 15 * k) + "_" + std::to_string(70 + 15 * k) + ">")};
  };
  for (const bool with_context : {false, true}) {
    write_file_atomic(dir + "/label3.json", "{\"rules\": [], " + std::string(with_context ? R"("context": [{"field": "genre",
        "value": "fiction", "tag": "<fiction>"}], )" : "") + bands + "}");
    oo.labeling = dir + "/label3.json";
    auto banded = make_objective(oo, data, tok, torch::kCPU, 32);
    size_t with_band = 0;
    for (uint64_t d = 0; d < shard.n_docs(); ++d) {
      DocumentPlan plan;
      banded->plan(DocumentView{&shard, d, shard.doc_segment_begin(d)}, plan);
      const json meta = shard.doc_info(d).at("meta");
      std::vector<int32_t> want = with_context && meta.at("genre") == "fiction" ? std::vector<int32_t>{fiction}
                                                                                : std::vector<int32_t>{};
      for (int32_t id : band_of(meta.at("iq").get<int>())) want.push_back(id), ++with_band;
      EXPECT_EQ(plan.prefix, want) << "iq " << meta.at("iq");
      for (const SegmentPlan& sp : plan.segments) EXPECT_TRUE(sp.prefix.empty());  // no rule: no segment tag
    }
    EXPECT_EQ(with_band, 53u);  // iq 56, 58, ..., 160
  }

  // A context tag the tokenizer does not know is an error, not a silent skip.
  write_file_atomic(dir + "/label2.json", R"({"rules": [{"category": "pep8", "threshold": "0"}],
      "context": [{"field": "genre", "value": "fiction", "tag": "<poetry>"}]})");
  oo.labeling = dir + "/label2.json";
  EXPECT_THROW(make_objective(oo, data, tok, torch::kCPU, 32), Error);
}

// Cooldown: the last F of the steps see no inserted tag; the plan is otherwise
// the objective's; the step log says which steps cooled down; resuming across
// the switch gives the run that went straight.
TEST_F(TrainerTest, CooldownStripsInsertedTagsFromItsFirstStepOnAndResumesExactly) {
  EXPECT_EQ(cooldown_start(40, 0.25), 30);
  EXPECT_EQ(cooldown_start(40, 0.0), 40);
  EXPECT_EQ(cooldown_start(10, 0.14), 9);  // rounds to the nearest step

  Dataset data = Dataset::open(*data_);
  Tokenizer tok = Tokenizer::load_dir(*data_);
  ObjectiveOptions oo;
  oo.name = "conditional";
  oo.drop_fraction = 0.0;
  auto obj = make_objective(oo, data, tok, torch::kCPU, 32);
  int64_t step = 0;
  DocumentPlanner cooled = with_cooldown([&](const DocumentView& d, DocumentPlan& p) { obj->plan(d, p); }, &step, 5);
  const Shard& shard = *data.train.front();
  for (int64_t at : {0, 4, 5, 9}) {
    step = at;
    DocumentPlan plain, got;
    obj->plan(DocumentView{&shard, 0, 0}, plain);
    cooled(DocumentView{&shard, 0, 0}, got);
    ASSERT_EQ(got.segments.size(), plain.segments.size());
    for (size_t s = 0; s < got.segments.size(); ++s) {
      ASSERT_FALSE(plain.segments[s].prefix.empty());  // drop fraction 0: every segment tagged
      EXPECT_EQ(got.segments[s].prefix.empty(), at >= 5) << "step " << at;
      if (at < 5) {
        EXPECT_EQ(got.segments[s].prefix, plain.segments[s].prefix);
      }
      EXPECT_EQ(got.segments[s].label, plain.segments[s].label);
      EXPECT_EQ(got.segments[s].score, plain.segments[s].score);
    }
  }

  TrainOptions straight = options("cool-straight", "conditional");
  straight.cooldown_fraction = 0.25;
  TrainResult all = train(straight);
  size_t cooled_steps = 0, logged = 0;
  std::istringstream log(read_file(straight.out + "/metrics.jsonl"));
  for (std::string line; std::getline(log, line);) {
    const json rec = json::parse(line);
    if (rec.value("type", "") != "train") continue;
    ++logged;
    const bool expected = rec.at("step").get<int64_t>() > 30;  // steps 31..40 are the last quarter
    EXPECT_EQ(rec.at("cooldown").get<bool>(), expected) << rec.dump();
    cooled_steps += expected;
  }
  EXPECT_EQ(logged, 40u);
  EXPECT_EQ(cooled_steps, 10u);

  TrainOptions first = options("cool-split", "conditional");
  first.cooldown_fraction = 0.25;
  first.stop_after = 32;  // past the switch
  TrainResult a = train(first);
  TrainOptions second = options("cool-split", "conditional");
  second.cooldown_fraction = 0.25;
  second.resume = true;
  TrainResult b = train(second);
  ASSERT_EQ(a.losses.size() + b.losses.size(), 40u);
  for (size_t i = 0; i < 40; ++i) {
    const double got = i < 32 ? a.losses[i] : b.losses[i - 32];
    EXPECT_NEAR(got, all.losses[i], 1e-6 * std::abs(all.losses[i])) << "step " << i + 1;
  }

  TrainOptions mle = options("cool-mle", "mle");
  mle.cooldown_fraction = 0.25;
  EXPECT_THROW(train(mle), Error);  // nothing to cool down from
  TrainOptions bad = options("cool-bad", "conditional");
  bad.cooldown_fraction = 1.0;
  EXPECT_THROW(train(bad), Error);
}
