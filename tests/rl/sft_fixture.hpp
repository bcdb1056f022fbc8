// A tiny fine-tuning setting made on the fly: a real SentencePiece tokenizer
// with both shipped tagsets (good_bad + ai_modes) trained on task text, a small
// random model saved as a checkpoint under a shipped policy, and pairs built
// from generated tasks (reference replies, each verified).
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/files.hpp"
#include "core/json_io.hpp"
#include "core/lines.hpp"
#include "core/paths.hpp"
#include "model/checkpoint.hpp"
#include "rl/sft_data.hpp"
#include "tasks/make.hpp"
#include "tasks/reference_reply.hpp"
#include "tasks/verifier.hpp"
#include "test_util.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign::testing {

inline const std::string kSeedPrompt = "You are a careful, honest and helpful AI. You answer exactly what was asked.";

inline std::vector<TaskRecord> fixture_tasks(size_t n_per_family, uint64_t seed) {
  std::vector<TaskRecord> all;
  for (const char* kind : {"arithmetic", "strings", "system-rules"}) {
    MakeOptions o;
    o.kind = kind;
    o.n = n_per_family;
    o.seed = seed;
    for (TaskRecord& t : make_tasks(o)) all.push_back(std::move(t));
  }
  return all;
}

// Pairs whose response passes the task's verifier.
inline std::vector<SftPair> fixture_pairs(size_t n_per_family, uint64_t seed) {
  const Verifier verifier;
  std::vector<SftPair> out;
  for (const TaskRecord& t : fixture_tasks(n_per_family, seed)) {
    auto reply = reference_reply(t);
    if (!reply || !verifier.verify(t, *reply).correct) continue;
    out.push_back({t.id, t.system, t.prompt, *reply, "tasks:" + t.id});
  }
  return out;
}

inline void write_pairs(const std::string& path, const std::vector<SftPair>& pairs) {
  JsonlWriter w(path);
  for (const SftPair& p : pairs) {
    json j = {{"id", p.id}, {"prompt", p.prompt}, {"response", p.response}};
    if (!p.system.empty()) j["system"] = p.system;
    w.write(j);
  }
  w.commit();
}

inline Tagset both_tagsets() {
  return Tagset::merge({Tagset::load(find_shipped_file("configs/tagsets/good_bad.json")),
                        Tagset::load(find_shipped_file("configs/tagsets/ai_modes.json"))});
}

// <dir>/tokenizer.model trained on task text and the seed prompt.
inline Tokenizer fixture_tokenizer(const std::string& dir) {
  const Tagset tags = both_tagsets();
  std::vector<std::string> docs = {kSeedPrompt, "System: User: Assistant:"};
  for (const SftPair& p : fixture_pairs(40, 3)) docs.push_back(p.system + "\n" + p.prompt + "\n" + p.response);
  TokenizerTrainOptions to;
  to.vocab_size = 400;
  size_t next = 0;
  Tokenizer::train([&](std::string& t) {
    if (next >= docs.size()) return false;
    t = docs[next++];
    return true;
  }, tags, to, dir + "/tokenizer.model");
  return Tokenizer::load(dir + "/tokenizer.model", tags);
}

// A random model saved as a checkpoint with `policy` (a shipped policy name) in `dir`.
inline void save_fixture_checkpoint(const std::string& dir, const Tokenizer& tok, const std::string& policy,
                                    uint64_t seed = 1) {
  torch::manual_seed(seed);
  ModelConfig cfg = ModelConfig::parse("dim=48,layers=2,heads=4,hidden=96,ctx=512", tok.vocab_size());
  LlamaModel m(cfg);
  CheckpointContents c;
  c.config = m->config();
  c.weights = m->hf_tensors();
  c.tokenizer_model = tok.serialized_model();
  c.tagset = tok.tagset().to_json();
  c.policy = read_json_file(find_shipped_file("configs/policies/" + policy + ".json"));
  save_checkpoint(dir, c);
}

inline Policy fixture_policy(const Tokenizer& tok, const std::string& name) {
  return Policy::load(find_shipped_file("configs/policies/" + name + ".json"), TagVocabulary::of(tok));
}

}  // namespace prealign::testing
