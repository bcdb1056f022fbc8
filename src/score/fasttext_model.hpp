// fastText supervised classifiers (Debian libfasttext): train from labeled
// examples, load, and read the probability of one label for a text. Every text
// goes through fasttext_text() both when training and when scoring, so the
// classifier sees at scoring time exactly the kind of input it was trained on.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace prealign {

struct FastTextTrainOptions {
  int epoch = 10;
  double lr = 0.5;
  int dim = 50;
  int word_ngrams = 2;
  int min_count = 1;
  int minn = 0, maxn = 0;  // character n-grams (0 = off)
  int bucket = 200000;     // hash buckets for n-grams
  int threads = 1;         // 1 = reproducible (fastText's threads race by design)
  int seed = 0;

  template <class V>
  void visit(V& v) {
    v("epoch", epoch, "fastText: passes over the training examples");
    v("lr", lr, "fastText: learning rate");
    v("dim", dim, "fastText: embedding size");
    v("word_ngrams", word_ngrams, "fastText: word n-gram length");
    v("min_count", min_count, "fastText: minimum word count");
    v("minn", minn, "fastText: shortest character n-gram (0 = none)");
    v("maxn", maxn, "fastText: longest character n-gram (0 = none)");
    v("bucket", bucket, "fastText: hash buckets for n-grams");
    v("threads", threads, "fastText training threads (1 = reproducible)");
    v("seed", seed, "fastText: random seed");
  }
};

// One line of tokens: ASCII letters lower-cased, every run of whitespace or
// control characters one space, ASCII punctuation split off as its own token
// ("Idiot!\n" -> "idiot !").
std::string fasttext_text(std::string_view text);

// "__label__<label> <fasttext_text(text)>\n": one line of a training file.
std::string fasttext_example(const std::string& label, std::string_view text);

class FastTextModel {
 public:
  // Error naming the file if it is missing or not a supervised fastText model.
  static std::shared_ptr<const FastTextModel> load(const std::string& path);
  // Trains on a file of fasttext_example() lines and saves the model to `out`
  // (written beside it first, then renamed into place).
  static void train(const std::string& examples, const FastTextTrainOptions& options, const std::string& out);

  ~FastTextModel();
  std::vector<std::string> labels() const;       // without the "__label__" prefix
  int label_id(const std::string& label) const;  // -1 if the model has no such label
  // P(label | text) for a text already passed through fasttext_text(); thread-safe.
  double probability(const std::string& normalized, int label_id) const;
  const std::string& path() const { return path_; }

 private:
  FastTextModel();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace prealign
