// Each objective as the trainer builds it (make_objective with default options)
// on a real batch of a scored dataset: its loss() against a hand computation in
// double that uses PHF's published constants written out here (unlikelihood
// alpha 0.01, RWR beta 10, AWR alpha 0.05 / beta 1) and the per-token scores and
// labels the batch carries. A wrong default, a loss that ignored the batch's
// labels or scores, or one that dropped the tag tokens fails here, where
// "the loss falls" could not tell any of them from MLE.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "core/error.hpp"
#include "dataset_fixture.hpp"
#include "model/llama.hpp"
#include "train/objective.hpp"

using namespace prealign;

namespace {

class ObjectiveWiring : public prealign::testing::ScoredDatasetSuite {
 protected:
  struct Step {
    Batch batch;
    BatchTensors tensors;
    ForwardOutput out;
  };
  // One batch planned by `obj`, through a small random model.
  Step step(Objective& obj, const Dataset& data, LlamaModel model) {
    BatchStream stream(data.train, [&](const DocumentView& d, DocumentPlan& p) { obj.plan(d, p); }, 4, 48, 11, false);
    Step s;
    stream.next(s.batch);
    s.tensors = to_tensors(s.batch, torch::kCPU);
    s.out = model->forward_full(s.tensors.inputs);
    return s;
  }
  LlamaModel model(int vocab) {
    torch::manual_seed(5);
    LlamaModel m(ModelConfig::parse("dim=32,layers=2,heads=2,ctx=64", vocab));
    return m;
  }
  // log p(target) of every position, in double, from the logits alone.
  static std::vector<double> log_probs(const Step& s) {
    auto logits = s.out.logits.detach().to(torch::kFloat64).contiguous();
    const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
    auto a = logits.accessor<double, 3>();
    std::vector<double> out;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        double m = -1e300, sum = 0;
        for (int64_t v = 0; v < V; ++v) m = std::max(m, a[b][t][v]);
        for (int64_t v = 0; v < V; ++v) sum += std::exp(a[b][t][v] - m);
        out.push_back(a[b][t][s.batch.targets[size_t(b * T + t)]] - m - std::log(sum));
      }
    return out;
  }
  // The dataset, its tokenizer, objective `name` with every option at its default (as
  // `prealign train --objective NAME` builds it), a small random model and one batch.
  struct Setup {
    Dataset data;
    Tokenizer tok;
    std::unique_ptr<Objective> obj;
    LlamaModel m{nullptr};
    Step s;
  };
  // On the heap: the objective was built from `data`, which must not move under it.
  std::unique_ptr<Setup> set_up(const std::string& name) {
    auto u = std::unique_ptr<Setup>(new Setup{Dataset::open(*data_), Tokenizer::load_dir(*data_), nullptr, LlamaModel(nullptr), Step{}});
    u->obj = make_objective(defaults(name), u->data, u->tok, torch::kCPU, 32);
    u->m = model(u->tok.vocab_size());
    u->s = step(*u->obj, u->data, u->m);
    return u;
  }
  static ObjectiveOptions defaults(const std::string& name) {
    ObjectiveOptions o;  // everything at its default, as `prealign train --objective NAME` gives
    o.name = name;
    return o;
  }
  // The fixture's lines score 0 (good) or 0.1 (bad); the default threshold is 0.
  static void expect_both_labels(const Step& s) {
    int good = 0, bad = 0;
    for (size_t i = 0; i < s.batch.label.size(); ++i) {
      if (s.batch.label[i] == kLabelBad) {
        ++bad;
        EXPECT_NEAR(s.batch.score[i], 0.1, 1e-6) << i;
      } else if (s.batch.label[i] == kLabelGood) {
        ++good;
        EXPECT_EQ(s.batch.score[i], 0.0f) << i;
      }
    }
    ASSERT_GT(good, 10);
    ASSERT_GT(bad, 10) << "the batch must hold bad tokens, or the checks below could not tell the objective from MLE";
  }
};

}  // namespace

TEST_F(ObjectiveWiring, UnlikelihoodUsesTheBatchLabelsAndPhfAlpha) {
  const auto u = set_up("unlikelihood");
  Step& s = u->s;
  Objective* obj = u->obj.get();
  expect_both_labels(s);
  const auto lp = log_probs(s);
  const double alpha = 0.01;  // PHF configs/pep8/unlikelihood.yml
  double sum = 0, mle = 0;
  for (size_t i = 0; i < lp.size(); ++i) {
    const bool bad = s.batch.label[i] == kLabelBad;
    sum += bad ? -alpha * std::log(std::max(1 - std::exp(lp[i]), 1e-20)) : -lp[i];
    mle += -lp[i];
  }
  const double got = obj->loss(s.out, s.tensors).loss.item<double>();
  EXPECT_NEAR(got, sum / double(lp.size()), 1e-5);
  EXPECT_GT(std::abs(got - mle / double(lp.size())), 1e-2) << "indistinguishable from MLE";
}

TEST_F(ObjectiveWiring, RwrWeightsEachTokenByItsSegmentScoreWithPhfBeta) {
  const auto u = set_up("rwr");
  Step& s = u->s;
  Objective* obj = u->obj.get();
  expect_both_labels(s);
  const auto lp = log_probs(s);
  const double beta = 10;  // PHF configs/pep8/rwr.yml
  double sum = 0, mle = 0;
  for (size_t i = 0; i < lp.size(); ++i) {
    sum += std::exp(-double(s.batch.score[i]) / beta) * -lp[i];
    mle += -lp[i];
  }
  const double got = obj->loss(s.out, s.tensors).loss.item<double>();
  EXPECT_NEAR(got, sum / double(lp.size()), 1e-5);
  EXPECT_GT(std::abs(got - mle / double(lp.size())), 1e-4) << "indistinguishable from MLE";
}

TEST_F(ObjectiveWiring, AwrWeightsByAdvantageWithPhfAlphaBetaAndTrainsTheTrunkThroughTheValueHead) {
  const auto u = set_up("awr");
  Step& s = u->s;
  Dataset& data = u->data;
  Objective* obj = u->obj.get();
  LlamaModel& m = u->m;
  expect_both_labels(s);
  const auto lp = log_probs(s);
  // The value head, read back from the objective: V = hidden . w + b.
  auto params = obj->parameters();
  ASSERT_EQ(params.size(), 2u);
  auto w = params[0].second.detach().to(torch::kFloat64), bias = params[1].second.detach().to(torch::kFloat64);
  auto value = (s.out.hidden.detach().to(torch::kFloat64).matmul(w.t()) + bias).reshape({-1});
  const double alpha = 0.05, beta = 1.0;  // PHF configs/pep8/awr.yml
  double wce = 0, mse = 0;
  for (size_t i = 0; i < lp.size(); ++i) {
    const double r = -double(s.batch.score[i]), v = value[int64_t(i)].item<double>();
    wce += std::min(std::exp((r - v) / beta), 1000.0) * -lp[i];
    mse += (v - r) * (v - r);
  }
  const double n = double(lp.size());
  LossResult got = obj->loss(s.out, s.tensors);
  EXPECT_NEAR(got.loss.item<double>(), alpha * wce / n + (1 - alpha) * mse / n, 1e-5);
  EXPECT_NEAR(got.metrics.at("value_mse"), mse / n, 1e-5);

  // The value head's MSE reaches the trunk: the trunk's gradient of the full loss
  // differs from that of its CE part alone by the gradient of (1 - alpha) * MSE.
  auto trunk = m->named_params().front().second;  // the embedding
  got.loss.backward();
  auto full = trunk.grad().clone();
  m->zero_grad();
  Step again = step(*obj, data, m);
  auto value_grad_free = (again.out.hidden.detach().matmul(params[0].second.detach().t()) + params[1].second.detach())
                             .squeeze(-1);
  auto ce_only = alpha * (torch::clamp(torch::exp((-again.tensors.score - value_grad_free) / beta), 0.0, 1000.0) *
                          token_cross_entropy(again.out.logits, again.tensors.targets))
                             .mean();
  ce_only.backward();
  auto from_ce = trunk.grad().clone();
  EXPECT_GT((full - from_ce).abs().max().item<double>(), 1e-7) << "the value loss does not reach the trunk";
}

TEST_F(ObjectiveWiring, ConditionalTrainsOnTagTokensAndLeavesATenthUntagged) {
  const auto u = set_up("conditional");
  Step& s = u->s;
  Dataset& data = u->data;
  Tokenizer& tok = u->tok;
  Objective* obj = u->obj.get();
  const auto lp = log_probs(s);
  double all = 0, text = 0;
  int tags = 0;
  for (size_t i = 0; i < lp.size(); ++i) {
    all += -lp[i];
    if (s.batch.is_tag[i]) {
      ++tags;
      EXPECT_TRUE(tok.is_tag(int(s.batch.targets[i]))) << i;
    } else {
      text += -lp[i];
    }
  }
  ASSERT_GT(tags, 5);
  LossResult got = obj->loss(s.out, s.tensors);
  EXPECT_NEAR(got.loss.item<double>(), all / double(lp.size()), 1e-5) << "tag tokens are trained on";
  EXPECT_NEAR(got.metrics.at("text_ce"), text / double(lp.size() - size_t(tags)), 1e-5);

  // PHF's default: 10% of segments carry no tag. Count over every training document.
  size_t segments = 0, untagged = 0;
  for (const auto& shard : data.train)
    for (uint64_t d = 0; d < shard->n_docs(); ++d) {
      DocumentPlan plan;
      obj->plan(DocumentView{shard.get(), d, shard->doc_segment_begin(d)}, plan);
      for (const auto& sp : plan.segments) {
        ++segments;
        untagged += sp.prefix.empty();
      }
    }
  ASSERT_GT(segments, 1500u);
  const double frac = double(untagged) / double(segments);
  const double sd = std::sqrt(0.1 * 0.9 / double(segments));
  EXPECT_NEAR(frac, 0.1, 4 * sd) << untagged << " of " << segments;
}

TEST_F(ObjectiveWiring, FilterIsMleOverTheDocumentsItKeeps) {
  const auto u = set_up("filter");
  Step& s = u->s;
  Objective* obj = u->obj.get();
  const auto lp = log_probs(s);
  double all = 0;
  for (double x : lp) all += -x;
  EXPECT_NEAR(obj->loss(s.out, s.tensors).loss.item<double>(), all / double(lp.size()), 1e-5);
  // Default p90: about 90% of training documents kept, and every kept one at or
  // under the resolved threshold (checked by hand in test_objectives_phf.cpp).
  const double kept = obj->describe().at("kept_documents_fraction").get<double>();
  EXPECT_GE(kept, 0.88);
  EXPECT_LT(kept, 1.0);
  for (size_t i = 0; i < s.batch.is_tag.size(); ++i) EXPECT_FALSE(s.batch.is_tag[i]);
}

// Where conditional training puts a segment's tag (--tag-position, an ablation
// of the indentation collapse in docs/eval.md): the batch's token stream, with
// tags rendered by name, checked against the lines' text. line_start: the tag
// opens the line; after_indent: exactly the line's leading spaces come first;
// line_end: exactly its newline comes after.
TEST(TagPosition, TagsSitWhereTheOptionSaysInTheBatch) {
  const std::string dir = prealign::testing::temp_dir();
  const std::string data_dir = prealign::testing::make_scored_dataset(dir, 120, true);
  Dataset data = Dataset::open(data_dir);
  Tokenizer tok = Tokenizer::load_dir(data_dir);
  for (const std::string position : {"line_start", "after_indent", "line_end"}) {
    SCOPED_TRACE(position);
    ObjectiveOptions o;
    o.name = "conditional";
    o.drop_fraction = 0;  // every line tagged
    o.tag_position = position;
    auto obj = make_objective(o, data, tok, torch::kCPU, 32);
    BatchStream stream(data.train, [&](const DocumentView& d, DocumentPlan& p) { obj->plan(d, p); }, 4, 64, 3, false);
    Batch b;
    stream.next(b);
    // Each row as text, tags by name, rows apart ("\x02"); the first target of a row follows its first input.
    std::string text;
    int tags = 0, indented_lines = 0;
    for (int r = 0; r < b.B; ++r) {
      text += "\x02\n";  // a new row starts a new (cut) line, skipped below
      for (int t = 0; t < b.T; ++t) {
        const int id = static_cast<int>(b.targets[size_t(r * b.T + t)]);
        if (tok.is_tag(id)) ++tags;
        text += tok.is_tag(id) ? "[" + tok.tag_name(id) + "]" : id == Tokenizer::kEos ? std::string("\x01") : tok.token_bytes(id);
      }
    }
    ASSERT_GT(tags, 20);
    // Split into lines at "\n"; a line holds the tag of its own segment, or (line_end) the tag before its "\n".
    std::vector<std::string> lines;
    for (size_t a = 0, e; a < text.size(); a = e + 1) {
      e = text.find('\n', a);
      if (e == std::string::npos) break;  // the row's cut last line
      lines.push_back(text.substr(a, e - a));
    }
    ASSERT_GT(lines.size(), 8u);
    for (size_t i = 1; i < lines.size(); ++i) {  // the line after a row start may start mid-line (a window)
      if (lines[i - 1].find('\x02') != std::string::npos || lines[i].find('\x02') != std::string::npos) continue;
      std::string l = lines[i];
      if (l.find('\x01') != std::string::npos) l = l.substr(l.rfind('\x01') + 1);  // a document boundary
      if (l.empty()) continue;
      const size_t open = l.find('['), close = l.find(']');
      ASSERT_NE(open, std::string::npos) << "a line without its tag: \"" << l << "\"";
      const std::string before = l.substr(0, open), after = l.substr(close + 1);
      const size_t spaces = l.find_first_not_of(' ');
      indented_lines += spaces > 0 && spaces != std::string::npos;
      if (position == "line_start") {
        EXPECT_EQ(open, 0u) << l;
      } else if (position == "after_indent") {
        EXPECT_EQ(before.find_first_not_of(' '), std::string::npos) << l;  // only spaces before the tag ...
        EXPECT_NE(after.rfind(' ', 0), 0u) << l;                             // ... and none of them after it
      } else {
        EXPECT_EQ(after, "") << l;  // only the newline follows the tag
      }
    }
    if (position != "line_start") EXPECT_GT(indented_lines, 3);
  }
  ObjectiveOptions bad;
  bad.name = "conditional";
  bad.tag_position = "middle";
  EXPECT_THROW(make_objective(bad, data, tok, torch::kCPU, 32), Error);
  ObjectiveOptions untagged;  // an objective without tags refuses the flag rather than ignore it
  untagged.name = "unlikelihood";
  untagged.tag_position = "after_indent";
  EXPECT_THROW(make_objective(untagged, data, tok, torch::kCPU, 32), Error);
}
