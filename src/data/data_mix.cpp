#include "data/data_mix.hpp"

#include <cmath>
#include <cstdlib>

#include "core/error.hpp"

namespace prealign {
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

double parse_weight(const std::string& text, const std::string& where) {
  char* end = nullptr;
  const double w = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(w) || w <= 0)
    fail(where, "the weight \"" + text + "\" is not a positive number", "e.g. --data a=0.9,b=0.1");
  return w;
}

std::string tokenizer_hash(const Dataset& d) {
  const json& t = d.manifest.at("tokenizer");
  return t.contains("model_hash") ? t.at("model_hash").get<std::string>() : "";
}

}  // namespace

DataMix DataMix::open(const std::string& spec) {
  const std::string where = "--data " + spec;
  if (spec.empty()) fail("--data", "no dataset given", "pass the directory written by prealign tokenize");
  DataMix mix;
  const auto items = split_commas(spec);
  double total = 0;
  for (const std::string& item : items) {
    const size_t eq = item.rfind('=');
    const bool weighted = eq != std::string::npos;
    if (!weighted && items.size() > 1)
      fail(where, "\"" + item + "\" has no weight", "give every dataset of a mix one: a=0.9,b=0.1");
    const std::string dir = weighted ? item.substr(0, eq) : item;
    if (dir.empty()) fail(where, "a dataset directory is empty", "e.g. --data a=0.9,b=0.1");
    const double w = weighted ? parse_weight(item.substr(eq + 1), where) : 1.0;
    for (const auto& seen : mix.names)
      if (seen == dir) fail(where, "\"" + dir + "\" appears twice", "list each dataset once");
    mix.datasets.push_back(Dataset::open(dir));
    mix.names.push_back(dir);
    mix.weights.push_back(w);
    total += w;
  }
  for (double& w : mix.weights) w /= total;
  const Dataset& a = mix.first();
  for (size_t i = 1; i < mix.datasets.size(); ++i) {
    const Dataset& b = mix.datasets[i];
    if (tokenizer_hash(a) != tokenizer_hash(b) || a.manifest.at("tokenizer") != b.manifest.at("tokenizer"))
      fail(b.dir + "/dataset.json", "made with another tokenizer than " + a.dir,
           "tokenize every dataset of a mix with the same tokenizer");
    if (a.categories != b.categories)
      fail(b.dir + "/dataset.json", "its score categories differ from " + a.dir + "'s",
           "score every dataset of a mix with the same scorers");
  }
  return mix;
}

Dataset DataMix::combined() const {
  Dataset all = first();
  for (size_t i = 1; i < datasets.size(); ++i) {
    all.train.insert(all.train.end(), datasets[i].train.begin(), datasets[i].train.end());
    all.val.insert(all.val.end(), datasets[i].val.begin(), datasets[i].val.end());
  }
  return all;
}

std::vector<StreamSource> DataMix::train_sources() const {
  std::vector<StreamSource> out;
  for (size_t i = 0; i < datasets.size(); ++i) {
    if (datasets[i].train.empty())
      fail(datasets[i].dir, "the dataset has no training shards", "tokenize with --val-fraction below 1");
    out.push_back({names[i], datasets[i].train, weights[i]});
  }
  return out;
}

uint64_t DataMix::train_tokens() const {
  uint64_t n = 0;
  for (const auto& d : datasets) n += d.train_tokens();
  return n;
}

bool DataMix::has_validation() const {
  for (const auto& d : datasets)
    if (!d.val.empty()) return true;
  return false;
}

}  // namespace prealign
