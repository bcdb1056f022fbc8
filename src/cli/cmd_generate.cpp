// prealign generate: checkpoint + policy + prompts -> samples, each token with
// the policy state it was generated in and the temptation of the banned tags.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/config.hpp"
#include "core/lines.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "decode/generator.hpp"
#include "decode/tag_search.hpp"
#include "eval/ensemble.hpp"
#include "eval/probe.hpp"
#include "model/checkpoint.hpp"
#include "model/runtime.hpp"

namespace prealign {

namespace {

struct GenerateArgs {
  std::string model, policy, prompt, prompts_file, device = "cpu";
  std::vector<std::string> ensemble;  // --ensemble m1,m2,m3 (eval/ensemble.hpp)
  std::string probe, probe_alarm;      // --probe probe.json: a live mode-probe monitor (eval/probe.hpp)
  std::vector<std::string> context_tags;  // --context-tags: after BOS, as training placed them (seed 004)
  std::string start_position;              // --start-position: override the policy's (before_prompt | after_prompt)
  bool prompt_given = false;
  int num_samples = 1;
  int batch_size = 16;
  bool json_output = false;
  GenerateOptions options;
  SearchOptions search;  // --search best-of|beam, --beam N (decode/tag_search.hpp)
};

// "" = the checkpoint's policy.json, "none" = no restrictions, else a file or a
// shipped policy name (configs/policies/<name>.json).
Policy resolve_policy(const GenerateArgs& a, const LoadedCheckpoint& ck, const TagVocabulary& vocab) {
  if (a.policy == "none") return Policy::unrestricted(vocab);
  if (!a.policy.empty()) return Policy::load(resolve_config(a.policy, kPolicyFolder), vocab);
  if (ck.policy.is_object() && ck.policy.empty()) {
    warn("generate: " + a.model + "/policy.json is empty; generating without restrictions");
    return Policy::unrestricted(vocab);
  }
  return Policy::from_json(ck.policy, vocab, a.model + "/policy.json");
}

// One prompt per line; a line starting with '{' is JSON {"prompt": "..."}
// (the way to give prompts with newlines). Blank lines are skipped.
std::vector<std::string> read_prompts(const std::string& path) {
  std::vector<std::string> prompts;
  LineReader in(path);
  std::string line;
  while (in.next(line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (line[0] == '{') {
      prompts.push_back(json_required<std::string>(parse_json(line, in.where()), "prompt", in.where()));
    } else {
      prompts.push_back(line);
    }
  }
  if (prompts.empty()) fail(path, "no prompts in the file", "one prompt per line, or JSONL {\"prompt\": ...}");
  return prompts;
}

// The prompt, then the generated text with tags dimmed on a terminal.
void print_sample(const Generation& g, bool tty) {
  std::string out = g.prompt;
  for (const TokenRecord& r : g.tokens) out += r.is_tag && tty ? "\x1b[2m" + r.text + "\x1b[0m" : r.text;
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::map<std::string, int> flags;
  for (const TokenRecord& r : g.tokens)
    for (const auto& f : r.flags) ++flags[f];
  std::string flag_text;
  for (const auto& [label, n] : flags) flag_text += " " + label + " x" + std::to_string(n);
  std::string rule_text;  // each firing as label@token number (1 = the first generated token)
  for (size_t i = 0; i < g.tokens.size(); ++i)
    for (const RuleFiring& f : g.tokens[i].rules) rule_text += " " + f.rule + "@" + std::to_string(i + 1);
  std::printf("\n[%zu tokens | %s%s | temptation max %.4f mean %.4f | flags:%s%s%s]\n", g.tokens.size(),
              g.finish_reason.c_str(), g.stopped_by.empty() ? "" : (" (" + g.stopped_by + ")").c_str(),
              g.max_temptation, g.mean_temptation, flag_text.empty() ? " none" : flag_text.c_str(),
              rule_text.empty() ? "" : " | rules:", rule_text.c_str());
}

// --context-tags as ids: each must be a tag of the model's tagset and not one of
// the policy's start tags (those the policy places itself).
std::vector<int> context_tag_ids(const GenerateArgs& a, const Tokenizer& tokenizer, const Policy& policy) {
  std::vector<int> ids;
  for (const std::string& name : a.context_tags) {
    if (!tokenizer.tagset().find(name))
      fail("--context-tags", "\"" + name + "\" is not a tag of " + a.model + "/tagset.json",
           "the model can only be conditioned on tags it was trained with");
    const int id = tokenizer.tag_id(name);
    const auto& start = policy.start_tags();
    if (std::find(start.begin(), start.end(), id) != start.end())
      fail("--context-tags", "\"" + name + "\" is already a start tag of policy " + policy.name());
    ids.push_back(id);
  }
  return ids;
}

// A rule that reads a monitor never fires without one: say so before decoding.
void warn_unread_monitors(const Policy& policy, bool have_monitor) {
  if (have_monitor) return;
  for (int m = 0; m < policy.members(); ++m)
    for (const PolicyRule& r : policy.member(m).rules())
      if (r.when == RuleWhen::Monitor)
        warn("generate: rule \"" + r.label + "\" reads the monitor \"" + r.watched +
             "\", but no monitor is attached (--probe): it will never fire");
}

// --search best-of|beam: one search per prompt (and per --num-samples for best-of,
// whose draw k of pick j uses seed + j * N + k), the chosen continuation printed
// with the search's statistics.
void run_search(const GenerateArgs& a, const SearchOptions& search, LlamaModel model, const Tokenizer& tokenizer,
                const Policy& policy, const std::vector<std::string>& prompts, const std::vector<int>& context_tags) {
  if (search.search == "beam" && a.num_samples > 1)
    fail("--num-samples", "beam search is deterministic: one output per prompt", "use --search best-of for several");
  ModelLogits source(std::move(model));
  auto text = [&tokenizer](int id) { return tokenizer.token_bytes(id); };
  const bool tty = ::isatty(STDOUT_FILENO);
  uint64_t pick = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::vector<int> context = prompt_context(tokenizer, policy, prompts[i], context_tags);
    for (int s = 0; s < a.num_samples; ++s, ++pick) {
      SearchResult r;
      if (search.search == "beam") {
        r = beam_search(source, policy, context, policy.state_after_start(), a.options, search, text);
      } else {
        std::vector<uint64_t> seeds;
        for (int k = 0; k < search.beam; ++k) seeds.push_back(a.options.seed + pick * uint64_t(search.beam) + uint64_t(k));
        r = best_of(source, policy, context, policy.state_after_start(), a.options, search, seeds, text);
      }
      r.generation.prompt = prompts[i];
      if (a.json_output) {
        json rec = generation_to_json(r.generation);
        rec["prompt_index"] = i;
        rec["sample"] = s;
        rec["policy"] = policy.name();
        rec["search"] = r.stats.to_json();
        std::printf("%s\n", rec.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
      } else {
        if (prompts.size() > 1 || a.num_samples > 1) std::printf("--- prompt %zu, pick %d ---\n", i + 1, s + 1);
        print_sample(r.generation, tty);
        std::printf("[%s]\n", r.stats.to_json().dump().c_str());
      }
      std::fflush(stdout);
    }
  }
}

void run_generate(const GenerateArgs& a) {
  SearchOptions search = a.search;
  search.check();
  if (search.search != "sample" && (!a.probe.empty() || !a.ensemble.empty()))
    fail("--search", "--probe and --ensemble work with sampling only");
  if (!a.ensemble.empty() && !a.context_tags.empty())
    fail("--context-tags", "not supported with --ensemble", "generate from one --model");
  if (!a.ensemble.empty() && !a.start_position.empty())
    fail("--start-position", "not supported with --ensemble", "generate from one --model");
  if (!a.ensemble.empty()) {
    EnsembleOptions e;
    e.models = a.ensemble;
    if (!a.policy.empty()) e.policy = a.policy;
    e.generate = a.options;
    run_ensemble_generate(e, a.prompts_file.empty() ? std::vector<std::string>{a.prompt} : read_prompts(a.prompts_file),
                          a.json_output);
    return;
  }
  if (a.model.empty()) fail("--model", "no checkpoint directory given", "pass --model DIR");
  if (a.num_samples < 1) fail("--num-samples", "must be at least 1");
  if (a.batch_size < 1) fail("--batch-size", "must be at least 1");
  if (a.prompt_given && !a.prompts_file.empty()) fail("--prompts", "give --prompt or --prompts, not both");
  GenerateOptions shown = a.options;
  note("generate: options " + config_to_json(shown).dump());
  if (search.search != "sample") note("generate: search " + config_to_json(search).dump());

  LoadedCheckpoint ck = load_checkpoint(a.model, parse_device(a.device));
  Tokenizer tokenizer = Tokenizer::load_dir(a.model);
  Policy policy = resolve_policy(a, ck, TagVocabulary::of(tokenizer));
  if (!a.start_position.empty()) policy.set_start_after_prompt(a.start_position == "after_prompt");
  note("generate: policy " + policy.name() + ", generation starts in state \"" +
       policy.state(policy.state_after_start()).name + "\"" +
       (policy.has_rules() ? ", with dynamic rules (docs/policies.md)" : ""));
  const std::vector<std::string> prompts =
      a.prompts_file.empty() ? std::vector<std::string>{a.prompt} : read_prompts(a.prompts_file);
  Generator generator(ck.model, tokenizer, policy);  // checks model, tokenizer and policy agree
  const std::vector<int> context_tags = context_tag_ids(a, tokenizer, policy);
  generator.set_context_tags(context_tags);
  if (search.search != "sample") return run_search(a, search, ck.model, tokenizer, policy, prompts, context_tags);
  ProbeSet probes;
  ResidualMonitor monitor;
  if (!a.probe.empty()) {
    probes = ProbeSet::load(a.probe);
    monitor = probe_monitor(probes, ProbeAlarm::parse(a.probe_alarm, probes));
  }
  warn_unread_monitors(policy, bool(monitor));

  // Every (prompt, sample) pair in order; sample k overall uses seed + k. They are
  // decoded batch_size at a time (the same samples as one by one, faster).
  struct Job {
    size_t prompt;
    int sample;
    uint64_t seed;
  };
  std::vector<Job> jobs;
  for (size_t i = 0; i < prompts.size(); ++i)
    for (int s = 0; s < a.num_samples; ++s) jobs.push_back({i, s, a.options.seed + jobs.size()});
  const bool tty = ::isatty(STDOUT_FILENO);
  for (size_t first = 0; first < jobs.size(); first += static_cast<size_t>(a.batch_size)) {
    const size_t end = std::min(jobs.size(), first + static_cast<size_t>(a.batch_size));
    std::vector<std::string> batch_prompts;
    std::vector<uint64_t> seeds;
    for (size_t j = first; j < end; ++j) {
      batch_prompts.push_back(prompts[jobs[j].prompt]);
      seeds.push_back(jobs[j].seed);
    }
    const std::vector<Generation> out = generator.generate_batch(batch_prompts, a.options, seeds, nullptr, monitor);
    for (size_t j = first; j < end; ++j) {
      const Job& job = jobs[j];
      const Generation& g = out[j - first];
      if (a.json_output) {
        json rec = generation_to_json(g);
        rec["prompt_index"] = job.prompt;
        rec["sample"] = job.sample;
        rec["seed"] = job.seed;
        rec["policy"] = policy.name();
        std::printf("%s\n", rec.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
      } else {
        if (prompts.size() > 1 || a.num_samples > 1)
          std::printf("--- prompt %zu, sample %d (seed %llu) ---\n", job.prompt + 1, job.sample + 1,
                      static_cast<unsigned long long>(job.seed));
        print_sample(g, tty);
      }
    }
    std::fflush(stdout);
  }
}

}  // namespace

void register_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "generate",
      "generate text from a checkpoint under a tag policy, reporting per token the policy state and the\n"
      "temptation (raw probability of the tags the policy bans there). Prompts are plain text: tags typed\n"
      "in a prompt stay text. Policy format: docs/formats.md.");
  auto a = std::make_shared<GenerateArgs>();
  cmd->add_option("--model", a->model, "checkpoint directory");
  cmd->add_option("--ensemble", a->ensemble,
                  "mode models m1,m2,m3 instead of --model: each sample is teacher-forced through the others and "
                  "printed only if a majority keep temptation at most 0.5 (docs/modes.md)")
      ->delimiter(',');
  cmd->add_option("--probe", a->probe,
                  "attach a probe (prealign probe train) as a monitor: per-token mode readings in --json output");
  cmd->add_option("--probe-alarm", a->probe_alarm,
                  "MODE:P: flag tokens where the probe's p(MODE) > P while the policy is in another state (human:0.9)");
  accept_shipped(cmd->add_option("--policy", a->policy,
                                 "policy file or name, or \"none\" = no restrictions (default: the checkpoint's "
                                 "policy.json)"),
                 ShippedKind::policy, {"none"});
  auto* prompt = cmd->add_option("--prompt", a->prompt, "the prompt (default: empty, i.e. unconditional)");
  cmd->add_option("--prompts", a->prompts_file, "file of prompts: one per line, or JSONL {\"prompt\": ...}");
  cmd->add_option("--num-samples", a->num_samples, "samples per prompt (sample k uses seed + k)")
      ->capture_default_str();
  cmd->add_option("--batch-size", a->batch_size, "sequences decoded together (same samples, faster)")
      ->capture_default_str();
  cmd->add_option("--context-tags", a->context_tags,
                  "context or band tags to start after, e.g. <iq_130_145>: placed right after BOS, where\n"
                  "training put a document's context tags (before the policy's start tags)")
      ->delimiter(',');
  cmd->add_option("--start-position", a->start_position,
                  "where the policy's start tags go: before_prompt or after_prompt (PHF's prompt_before_control;\n"
                  "end the prompt with a newline so the tag starts a line). Default: the policy's")
      ->check(CLI::IsMember({"before_prompt", "after_prompt"}));
  cmd->add_flag("--json", a->json_output, "one JSON object per sample per line (per-token records)");
  cmd->add_option("--device", a->device, "cpu, cuda, cuda:N")->capture_default_str();
  add_options(*cmd, a->options);
  add_options(*cmd, a->search);
  cmd->callback([a, prompt] {
    a->prompt_given = prompt->count() > 0;
    run_generate(*a);
  });
}

}  // namespace prealign
