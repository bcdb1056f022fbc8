#include "eval/eval_model.hpp"

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "model/runtime.hpp"

namespace prealign {

namespace {

// The trainer's options a checkpoint was made with. An RLVR checkpoint records
// rlvr's own options (a different set), and RL changes neither the dataset nor
// the tags, so those come from the model it started from, followed back (a
// bounded number of hops: a copied checkpoint could name itself).
void read_trained_options(const std::string& dir, const json& train_state, TrainOptions& out) {
  json state = train_state;
  std::string at = dir;
  for (int hop = 0; hop < 8 && state.value("kind", "") == "rlvr"; ++hop) {
    at = state.value("start_model", "");
    if (at.empty() || !file_exists(at + "/train_state.json")) return;
    state = read_json_file(at + "/train_state.json");
  }
  if (state.value("kind", "") == "rlvr") return;
  if (state.contains("options")) config_from_json(out, state.at("options"), at + "/train_state.json");
}

}  // namespace

EvalModel load_eval_model(const std::string& dir, const std::string& device) {
  EvalModel m;
  m.checkpoint = load_checkpoint(dir, parse_device(device));
  m.tokenizer = std::make_unique<Tokenizer>(Tokenizer::load_dir(dir));
  read_trained_options(dir, m.checkpoint.train_state, m.trained);
  return m;
}

Policy resolve_eval_policy(const std::string& name, const EvalModel& m) {
  TagVocabulary vocab = TagVocabulary::of(*m.tokenizer);
  if (name == "none") return Policy::unrestricted(vocab);
  if (!name.empty()) return Policy::load(resolve_config(name, kPolicyFolder), vocab);
  if (m.checkpoint.policy.is_object() && m.checkpoint.policy.empty()) return Policy::unrestricted(vocab);
  return Policy::from_json(m.checkpoint.policy, vocab, m.checkpoint.dir + "/policy.json");
}

ordered_json report_header(const std::string& kind, const EvalModel& m) {
  const json& ts = m.checkpoint.train_state;
  ordered_json j;
  j["kind"] = kind;
  j["checkpoint"] = m.checkpoint.dir;
  j["step"] = ts.value("step", int64_t(0));
  j["tokens"] = ts.value("tokens", uint64_t(0));
  j["objective"] = ts.value("kind", "") == "rlvr"   ? "rlvr"
                   : ts.contains("objective") ? ts.at("objective").value("name", "mle")
                                              : "mle";
  j["parameters"] = m.checkpoint.config.parameter_count();
  return j;
}

void make_parent_directory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) make_directories(path.substr(0, slash));
}

void write_report(const std::string& path, const ordered_json& report) {
  make_parent_directory(path);
  write_json_file(path, report);
  note("report: " + path);
}

}  // namespace prealign
