// prealign probe train|eval|attach: linear probes for the modes on the residual
// stream of a mode model (eval/probe.hpp). attach generates under the policy and
// reads the probe at every generated token, next to the temptation.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/error.hpp"
#include "core/json_io.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "core/utf8.hpp"
#include "corpus/reader.hpp"
#include "eval/mode_samples.hpp"
#include "eval/probe.hpp"

namespace prealign {
namespace {

struct ProbeArgs {
  std::string model, corpus, probe, out, policy = "ai_mode", prompt;
  std::string device = "cpu";
  size_t documents = 400;
  double heldout = 0.25;
  int horizon = 4, steps = 300, samples = 4;
  double human_threshold = 0.5;
  GenerateOptions generate;
};

std::vector<std::string> corpus_texts(const std::string& path, size_t n) {
  std::vector<std::string> texts;
  CorpusReadOptions ro;
  ro.tagged = true;
  read_corpus({path}, ro, [&](Document&& d) {
    if (texts.size() < n) texts.push_back(std::move(d.text));
  });
  return texts;
}

void print_layers(const json& layers, const char* mode_key, const char* transition_key) {
  std::printf("| layer | mode accuracy | transition accuracy |\n|---|---|---|\n");
  for (const json& l : layers)
    std::printf("| %d | %.4f | %.4f |\n", l["layer"].get<int>(), l[mode_key].get<double>(),
                l[transition_key].get<double>());
}

void run_train(const ProbeArgs& a) {
  ModeModel m = ModeModel::load(a.model, a.policy, a.device);
  const std::vector<std::string> texts = corpus_texts(a.corpus, a.documents);
  note("probe train: " + std::to_string(texts.size()) + " documents, " +
       std::to_string(m.checkpoint.model->config().n_layers) + " layers");
  ProbeSet p = train_probes(m.checkpoint.model, m.tokenizer, m.grammar, texts, a.heldout, a.horizon, a.steps);
  write_json_file(a.out, p.to_json());
  print_layers(p.report["layers"], "mode_heldout_accuracy", "transition_heldout_accuracy");
  std::printf("held-out positions %lld | mode majority baseline %.4f | transition majority baseline %.4f | best layer "
              "%d\nprobe: %s\n",
              static_cast<long long>(p.report["heldout_positions"].get<int64_t>()),
              p.report["mode_majority_baseline_heldout"].get<double>(),
              p.report["transition_majority_baseline_heldout"].get<double>(), p.best_layer, a.out.c_str());
}

void run_eval(const ProbeArgs& a) {
  ModeModel m = ModeModel::load(a.model, a.policy, a.device);
  const ProbeSet p = ProbeSet::load(a.probe);
  const ProbeData d =
      collect_probe_data(m.checkpoint.model, m.tokenizer, m.grammar, corpus_texts(a.corpus, a.documents), p.horizon);
  const json r = evaluate_probes(p, d);
  if (!a.out.empty()) write_json_file(a.out, r);
  print_layers(r["layers"], "mode_accuracy", "transition_accuracy");
  std::printf("positions %lld | mode majority baseline %.4f | transition majority baseline %.4f\n",
              static_cast<long long>(r["positions"].get<int64_t>()), r["mode_majority_baseline"].get<double>(),
              r["transition_majority_baseline"].get<double>());
}

// Generates under the policy, then reads the probe over each sample: per token
// the probe's mode and p(transition) beside the state and temptation.
void run_attach(const ProbeArgs& a) {
  ModeModel m = ModeModel::load(a.model, a.policy, a.device);
  const ProbeSet p = ProbeSet::load(a.probe);
  std::vector<Scenario> scenarios(static_cast<size_t>(a.samples), Scenario{"prompt", {a.prompt}, false, ""});
  std::vector<ModeSample> samples = sample_scenarios(m, scenarios, true, a.generate, a.samples);
  const int human = m.grammar.state_index(m.grammar.states[static_cast<size_t>(m.grammar.initial)]);
  for (size_t s = 0; s < samples.size(); ++s) {
    const Generation& g = samples[s].generation;
    std::vector<int> generated;
    for (const TokenRecord& r : g.tokens) generated.push_back(r.id);
    const ProbeReading pr = read_probe(m.checkpoint.model, p, scenario_context(m, scenarios[s], true), generated);
    json tokens = json::array();
    int disagree = 0, human_alarms = 0;
    for (size_t i = 0; i < pr.mode.size(); ++i) {
      const auto& pm = pr.mode[i];
      const size_t arg = static_cast<size_t>(std::max_element(pm.begin(), pm.end()) - pm.begin());
      disagree += p.states[arg] != g.tokens[i].state;
      human_alarms += pm[static_cast<size_t>(human)] > a.human_threshold;
      tokens.push_back({{"text", replace_invalid_utf8(g.tokens[i].text)}, {"state", g.tokens[i].state},
                        {"probe_mode", p.states[arg]}, {"probe_p", pm}, {"probe_transition", pr.transition[i]},
                        {"temptation_total", g.tokens[i].temptation_total}});
    }
    json rec = {{"sample", s},
                {"text", replace_invalid_utf8(g.text_with_tags)},
                {"finish_reason", g.finish_reason},
                {"probe_layer", p.best_layer},
                {"probe_disagrees_with_state", disagree},
                {"probe_human_alarms", human_alarms},
                {"max_temptation", g.max_temptation},
                {"tokens", tokens}};
    std::printf("%s\n", rec.dump().c_str());
  }
}

}  // namespace

void register_probe_command(CLI::App& app) {
  auto* probe = app.add_subcommand("probe", "linear probes for the AI/human/quoted modes on the residual stream");
  probe->require_subcommand(1);
  auto a = std::make_shared<ProbeArgs>();
  a->generate.max_new_tokens = 64;

  auto* train = probe->add_subcommand(
      "train",
      "train per-layer logistic-regression probes (mode, and a transition within --horizon tokens) on a tagged\n"
      "corpus teacher-forced through the model; held-out accuracy per layer against majority baselines");
  auto* eval = probe->add_subcommand("eval", "accuracy per layer of a trained probe on another tagged corpus");
  auto* attach = probe->add_subcommand(
      "attach", "generate under the policy and read the probe at every generated token (JSON lines), beside the\n"
                "policy state and the temptation");
  for (auto* c : {train, eval, attach}) {
    c->add_option("--model", a->model, "checkpoint directory of a mode model")->required();
    accept_shipped(c->add_option("--policy", a->policy, "policy file or name")->capture_default_str(),
                   ShippedKind::policy);
    c->add_option("--device", a->device, "where the model runs: cpu, cuda, cuda:N")->capture_default_str();
  }
  for (auto* c : {train, eval}) {
    c->add_option("--corpus", a->corpus, "tagged JSONL corpus (e.g. synth world with another seed)")->required();
    c->add_option("--documents", a->documents, "documents to use")->capture_default_str();
  }
  train->add_option("--out", a->out, "probe JSON to write")->required();
  train->add_option("--heldout", a->heldout, "fraction of the documents held out")->capture_default_str();
  train->add_option("--horizon", a->horizon, "transition within this many tokens")->capture_default_str();
  train->add_option("--steps", a->steps, "optimizer steps per probe")->capture_default_str();
  for (auto* c : {eval, attach}) c->add_option("--probe", a->probe, "probe JSON from probe train")->required();
  eval->add_option("--out", a->out, "JSON report");
  attach->add_option("--prompt", a->prompt, "the prompt (plain text)");
  attach->add_option("--samples", a->samples, "samples")->capture_default_str();
  attach->add_option("--human-threshold", a->human_threshold, "count tokens where p(human) exceeds this")
      ->capture_default_str();
  add_options(*attach, a->generate);
  train->callback([a] { run_train(*a); });
  eval->callback([a] { run_eval(*a); });
  attach->callback([a] { run_attach(*a); });
}

}  // namespace prealign
