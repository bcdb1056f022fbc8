#include "score/fasttext_model.hpp"

#include <fasttext/fasttext.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/files.hpp"

namespace prealign {

struct FastTextModel::Impl {
  fasttext::FastText ft;
};

FastTextModel::FastTextModel() : impl_(std::make_unique<Impl>()) {}
FastTextModel::~FastTextModel() = default;

namespace {

bool ascii_punct(unsigned char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

// fastText reads a line as words separated by ' ', '\t', '\v', '\f', '\r', '\0'
// and ends it at '\n'; all of these, and other control bytes, become one space.
bool separator(unsigned char c) { return c <= ' ' || c == 0x7f; }

}  // namespace

std::string fasttext_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  bool space = true;  // at the start: drop leading separators
  for (unsigned char c : text) {
    if (separator(c)) {
      if (!space) out += ' ';
      space = true;
    } else if (ascii_punct(c)) {
      if (!space) out += ' ';
      out += static_cast<char>(c);
      out += ' ';
      space = true;
    } else {
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
      space = false;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string fasttext_example(const std::string& label, std::string_view text) {
  return "__label__" + label + " " + fasttext_text(text) + "\n";
}

std::shared_ptr<const FastTextModel> FastTextModel::load(const std::string& path) {
  if (!file_exists(path)) fail(path, "fastText model not found", "train one with: prealign classifier train");
  std::shared_ptr<FastTextModel> m(new FastTextModel());
  m->path_ = path;
  try {
    m->impl_->ft.loadModel(path);
  } catch (const std::exception& e) {
    fail(path, std::string("not a fastText model: ") + e.what(), "train one with: prealign classifier train");
  }
  if (m->impl_->ft.getArgs().model != fasttext::model_name::sup)
    fail(path, "this fastText model is not a supervised classifier (it holds word vectors)",
         "train one with: prealign classifier train");
  if (m->impl_->ft.getArgs().loss != fasttext::loss_name::softmax)
    fail(path, "this fastText classifier was not trained with a softmax loss, so its outputs are not probabilities",
         "train one with: prealign classifier train");
  return m;
}

void FastTextModel::train(const std::string& examples, const FastTextTrainOptions& o, const std::string& out) {
  fasttext::Args a;
  a.input = examples;
  a.model = fasttext::model_name::sup;
  a.loss = fasttext::loss_name::softmax;
  a.epoch = o.epoch;
  a.lr = o.lr;
  a.dim = o.dim;
  a.wordNgrams = o.word_ngrams;
  a.minCount = o.min_count;
  a.minn = o.minn;
  a.maxn = o.maxn;
  a.bucket = o.bucket;
  a.thread = o.threads;
  a.seed = o.seed;
  a.verbose = 0;
  fasttext::FastText ft;
  try {
    ft.train(a);
  } catch (const std::exception& e) {
    fail(examples, std::string("fastText training failed: ") + e.what(),
         "are there labeled examples of at least two labels?");
  }
  const std::string tmp = out + ".tmp-train";
  try {
    ft.saveModel(tmp);
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    fail(out, std::string("cannot save the model: ") + e.what(), "check that the directory exists and is writable");
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(out, "cannot rename the saved model into place");
  }
  std::string dir = out.find('/') == std::string::npos ? "." : out.substr(0, out.find_last_of('/'));
  fsync_directory(dir.empty() ? "/" : dir);
}

std::vector<std::string> FastTextModel::labels() const {
  auto dict = impl_->ft.getDictionary();
  std::vector<std::string> out;
  for (int32_t i = 0; i < dict->nlabels(); ++i) {
    std::string l = dict->getLabel(i);
    out.push_back(l.rfind("__label__", 0) == 0 ? l.substr(9) : l);
  }
  return out;
}

int FastTextModel::label_id(const std::string& label) const {
  const auto names = labels();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == label) return static_cast<int>(i);
  return -1;
}

double FastTextModel::probability(const std::string& normalized, int label_id) const {
  auto dict = impl_->ft.getDictionary();
  // "\n" ends the line as in training, adding the end-of-sentence token, so even
  // an empty text has one input and gets the model's prior rather than nothing.
  std::istringstream in(normalized + "\n");
  std::vector<int32_t> words, labels;
  dict->getLine(in, words, labels);
  fasttext::Predictions preds;
  impl_->ft.predict(dict->nlabels(), words, preds, 0.0);
  for (const auto& [log_p, id] : preds)
    if (id == label_id) return std::exp(static_cast<double>(log_p));
  return 0.0;
}

}  // namespace prealign
