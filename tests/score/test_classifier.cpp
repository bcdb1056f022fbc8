// fastText classifiers: text normalisation, training from labeled JSONL and from
// segment scores, the held-out split, precision/recall/F1 against fastText's own
// Meter, and the fasttext scorer against fastText's predictLine.
#include <fasttext/fasttext.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "score/classifier.hpp"
#include "score/fasttext_model.hpp"
#include "score/scorer.hpp"
#include "score_helpers.hpp"
#include "test_util.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

// Sentences of neutral words; "bad" ones carry one of a few marker words.
// `noise` of the labels are flipped so the classifier cannot be perfect.
std::string synthetic_corpus(const std::string& path, int n, double noise, uint64_t seed) {
  static const char* neutral[] = {"the",      "river", "runs",   "past",  "old",    "mill",  "and",
                                  "a",        "dog",   "sleeps", "under", "green",  "tree",  "while",
                                  "children", "play",  "near",   "stone", "bridge", "today", "weather",
                                  "is",       "calm",  "market", "opens", "early",  "bread", "sells"};
  static const char* marker[] = {"idiot", "moron", "stupid", "loser"};
  Rng rng(seed);
  std::string body;
  for (int i = 0; i < n; ++i) {
    const bool bad = rng() % 3 == 0;
    std::string text;
    const int words = 5 + static_cast<int>(rng() % 8);
    const int at = static_cast<int>(rng() % words);
    for (int w = 0; w < words; ++w) {
      if (!text.empty()) text += ' ';
      text += (bad && w == at) ? marker[rng() % 4] : neutral[rng() % 28];
    }
    text[0] = static_cast<char>(std::toupper(text[0]));
    text += ".";
    const bool label = (std::uniform_real_distribution<double>(0, 1)(rng) < noise) ? !bad : bad;
    body += json({{"id", "doc" + std::to_string(i)}, {"text", text}, {"label", label ? "bad" : "good"}}).dump() + "\n";
  }
  write_text(path, body);
  return path;
}

}  // namespace

TEST(FastTextText, LowercasesSplitsPunctuationAndFoldsWhitespace) {
  EXPECT_EQ(fasttext_text("  Idiot!\n\tYou  ARE,\r\nok "), "idiot ! you are , ok");
  EXPECT_EQ(fasttext_text("Ünïcode STAYS"), "Ünïcode stays");  // only ASCII is folded
  EXPECT_EQ(fasttext_text(""), "");
  EXPECT_EQ(fasttext_text("\n\n"), "");
  // a text cannot smuggle a label into a training line
  EXPECT_EQ(fasttext_example("good", "__label__bad x"), "__label__good _ _ label _ _ bad x\n");
}

TEST(Classifier, TrainsFromLabelsAndMatchesFastTextsOwnMeter) {
  const std::string dir = temp_dir();
  const std::string corpus = synthetic_corpus(dir + "/labeled.jsonl", 3000, 0.05, 7);
  ClassifierDataOptions d;
  d.valid_fraction = 0.2;
  ExampleCounts c = write_examples({corpus}, d, dir + "/train.txt", dir + "/valid.txt");
  EXPECT_EQ(c.train + c.valid, 3000u);
  EXPECT_NEAR(double(c.valid) / 3000.0, 0.2, 0.03);
  // the split is by id, deterministic: a second run holds out the same documents
  ExampleCounts again = write_examples({corpus}, d, "", dir + "/valid2.txt");
  EXPECT_EQ(read_text(dir + "/valid.txt"), read_text(dir + "/valid2.txt"));
  EXPECT_EQ(again.valid, c.valid);

  FastTextTrainOptions t;
  t.epoch = 5;
  FastTextModel::train(dir + "/train.txt", t, dir + "/m.bin");
  auto model = FastTextModel::load(dir + "/m.bin");
  EXPECT_EQ(model->labels().size(), 2u);
  Evaluation e = evaluate_classifier(*model, dir + "/valid.txt", "bad", 0.5);
  EXPECT_EQ(e.at_threshold.total(), c.valid);
  std::printf("held-out P %.4f R %.4f F1 %.4f (%llu examples, 5%% label noise)\n", e.at_threshold.precision(),
              e.at_threshold.recall(), e.at_threshold.f1(), (unsigned long long)e.at_threshold.total());
  EXPECT_GT(e.at_threshold.f1(), 0.85);  // 5% label noise caps it near 0.95
  EXPECT_LT(e.at_threshold.f1(), 0.999);

  // fastText's Meter on the same file: top-1 prediction of a two-label softmax = P(bad) > 0.5
  fasttext::FastText ft;
  ft.loadModel(dir + "/m.bin");
  fasttext::Meter meter(true);  // true: count gold labels per label (recall)
  std::ifstream in(dir + "/valid.txt");
  ft.test(in, 1, 0.0, meter);
  const int32_t bad = ft.getLabelId("__label__bad");
  EXPECT_NEAR(e.at_threshold.precision(), meter.precision(bad), 1e-9);
  EXPECT_NEAR(e.at_threshold.recall(), meter.recall(bad), 1e-9);
  EXPECT_NEAR(e.at_threshold.f1(), meter.f1Score(bad), 1e-9);
  // the sweep is monotone in recall
  for (size_t i = 1; i < e.sweep.size(); ++i) EXPECT_LE(e.sweep[i].second.recall(), e.sweep[i - 1].second.recall());
}

TEST(Classifier, FastTextScorerIsTheProbabilityOfTheBadLabel) {
  const std::string dir = temp_dir();
  const std::string corpus = synthetic_corpus(dir + "/labeled.jsonl", 1500, 0.0, 11);
  ClassifierDataOptions d;
  write_examples({corpus}, d, dir + "/train.txt", "");
  FastTextTrainOptions t;
  t.epoch = 5;
  FastTextModel::train(dir + "/train.txt", t, dir + "/m.bin");
  auto scorer = make_scorer({{"type", "fasttext"}, {"name", "tox"}, {"model", dir + "/m.bin"}}, "test");
  EXPECT_EQ(scorer->categories(), std::vector<std::string>{"tox"});
  const std::string text = "The river runs past the mill. You idiot, the dog sleeps!\nCalm weather today.";
  std::vector<Span> spans = segment_text(text, SegmenterKind::Sentence);
  ASSERT_EQ(spans.size(), 3u);
  ScoreResult r = scorer->clone()->score(text, spans);
  fasttext::FastText ft;
  ft.loadModel(dir + "/m.bin");
  for (size_t s = 0; s < spans.size(); ++s) {
    std::istringstream in(fasttext_text(text.substr(spans[s].begin, spans[s].end - spans[s].begin)) + "\n");
    std::vector<std::pair<fasttext::real, std::string>> preds;
    ft.predictLine(in, preds, 2, 0.0);
    double p = 0;
    for (auto& [prob, label] : preds)
      if (label == "__label__bad") p = prob;
    EXPECT_NEAR(r.scores[s][0], p, 1e-5);
  }
  EXPECT_GT(r.scores[1][0], 0.9f);
  EXPECT_LT(r.scores[0][0], 0.1f);
  EXPECT_THROW(make_scorer({{"type", "fasttext"}, {"model", dir + "/m.bin"}, {"label", "toxic"}}, "t"), Error);
  EXPECT_THROW(make_scorer({{"type", "fasttext"}, {"model", dir + "/nope.bin"}}, "t"), Error);
  write_text(dir + "/junk.bin", "not a model at all");
  EXPECT_THROW(make_scorer({{"type", "fasttext"}, {"model", dir + "/junk.bin"}}, "t"), Error);
}

TEST(Classifier, FromScoresMakesOneExamplePerSegmentLabeledByTheLabeler) {
  const std::string dir = temp_dir();
  // two documents, segments scored in "pii"; threshold 0.01: bad iff score > 0.01
  write_text(
      dir + "/scored.jsonl",
      R"({"id": "a", "text": "Mail x@y.com now\nplain\n", "segments": [{"start": 0, "end": 17, "scores": {"pii": 0.06}}, {"start": 17, "end": 23, "scores": {"pii": 0}}]})"
      "\n"
      R"({"id": "b", "text": "ok\n   \n", "segments": [{"start": 0, "end": 3, "scores": {"pii": 0.01}}, {"start": 3, "end": 7, "scores": {"pii": 0.5}}]})"
      "\n");
  ClassifierDataOptions d;
  d.from_scores = "pii";
  d.threshold = "0.01";
  d.valid_fraction = 0;
  ExampleCounts c = write_examples({dir + "/scored.jsonl"}, d, dir + "/train.txt", "");
  EXPECT_EQ(c.train, 3u);  // the whitespace-only segment is not an example
  EXPECT_EQ(read_text(dir + "/train.txt"),
            "__label__bad mail x @ y . com now\n__label__good plain\n__label__good ok\n");
  d.from_scores = "pep8";
  EXPECT_THROW(write_examples({dir + "/scored.jsonl"}, d, "", ""), Error);
  d.skip_bad = true;
  EXPECT_THROW(write_examples({dir + "/scored.jsonl"}, d, "", ""), Error);  // skipped all: no examples
}

TEST(Classifier, BadLabelsAreErrorsNamingTheRecord) {
  const std::string dir = temp_dir();
  write_text(dir + "/l.jsonl",
             "{\"text\": \"a\", \"label\": \"bad\"}\n{\"text\": \"b\"}\n{\"text\": \"c\", \"label\": true}\n");
  ClassifierDataOptions d;
  d.valid_fraction = 0;
  try {
    write_examples({dir + "/l.jsonl"}, d, "", "");
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("l.jsonl:2"), std::string::npos) << e.what();
  }
  d.skip_bad = true;
  ExampleCounts c = write_examples({dir + "/l.jsonl"}, d, "", "");
  EXPECT_EQ(c.train, 2u);
  EXPECT_EQ(c.skipped, 1u);
  EXPECT_EQ(c.train_labels.at("bad"), 2u);  // true means bad
}
