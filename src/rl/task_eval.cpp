#include "rl/task_eval.hpp"

#include <algorithm>
#include <map>
#include <cstdio>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/lines.hpp"
#include "core/progress.hpp"
#include "core/utf8.hpp"
#include "decode/generator.hpp"
#include "eval/stats.hpp"
#include "rl/task_prompt.hpp"
#include "tasks/python_sandbox.hpp"
#include "tasks/report.hpp"

namespace prealign {

bool is_system_rule_family(const std::string& family) { return family.rfind("system-", 0) == 0; }

std::vector<TaskRecord> select_split(const std::vector<TaskRecord>& tasks, const std::string& split,
                                     const std::string& path) {
  require(split == "test" || split == "train" || split == "all", "--split",
          "unknown split \"" + split + "\"", "use test, train or all");
  std::vector<TaskRecord> out;
  for (const TaskRecord& t : tasks)
    if (split == "all" || t.split == split) out.push_back(t);
  if (out.empty())
    fail(path, tasks.empty() ? "holds no tasks" : "has no records in split \"" + split + "\"",
         "make tasks with prealign tasks make (--held-out-families, --test-fraction), or pick another --split");
  return out;
}

std::vector<TaskSample> sample_tasks(EvalModel& m, const Policy& policy, const std::vector<TaskRecord>& tasks,
                                     const std::string& seed_prompt, const TaskSamplingOptions& o) {
  const Tokenizer& tok = *m.tokenizer;
  const int64_t window = m.checkpoint.config.max_seq_len;
  std::vector<std::vector<int>> contexts;
  for (const TaskRecord& t : tasks) {
    contexts.push_back(task_context(t, tok, policy, seed_prompt));
    if (static_cast<int64_t>(contexts.back().size()) >= window)  // not even one token would fit
      fail(o.tasks, "task \"" + t.id + "\": its context is " + std::to_string(contexts.back().size()) +
                        " tokens, the model's window " + std::to_string(window),
           "leave its family out, shorten the seed prompt, or use a model with a longer max_seq_len");
  }
  GenerateOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.temperature = o.temperature;
  g.greedy = o.temperature == 0;
  g.top_p = o.top_p;

  // Sample j = i * K + k: task i, its k-th sample; decoded `batch` at a time.
  const size_t k_per = static_cast<size_t>(o.samples), total = tasks.size() * k_per;
  std::vector<TaskSample> samples(total);
  Progress progress("task samples", total);
  for (size_t start = 0; start < total; start += static_cast<size_t>(o.batch)) {
    const size_t end = std::min(total, start + static_cast<size_t>(o.batch));
    std::vector<std::vector<int>> ctx;
    std::vector<uint64_t> seeds;
    for (size_t j = start; j < end; ++j) {
      ctx.push_back(contexts[j / k_per]);
      seeds.push_back(o.seed * 1000003ULL + j);
    }
    const std::vector<int> states(ctx.size(), policy.state_after_start());
    const std::vector<Generation> gens = decode_batch(m.checkpoint.model, policy, ctx, states, g, seeds,
                                                      [&](int id) { return tok.token_bytes(id); });
    for (size_t j = start; j < end; ++j) {
      const Generation& gen = gens[j - start];
      TaskSample& s = samples[j];
      s.task = j / k_per;
      s.sample = static_cast<int>(j % k_per);
      s.completion = replace_invalid_utf8(gen.text);
      s.finish_reason = gen.finish_reason;
      s.tokens = static_cast<int>(gen.tokens.size());
      s.mean_temptation = gen.mean_temptation;
      s.max_temptation = gen.max_temptation;
    }
    progress.update(end, "sampling");
  }
  progress.finish(std::to_string(total) + " samples");
  return samples;
}

void verify_samples(const std::vector<TaskRecord>& tasks, std::vector<TaskSample>& samples, int jobs) {
  std::vector<Completion> completions;
  for (size_t j = 0; j < samples.size(); ++j)
    completions.push_back({tasks[samples[j].task].id, samples[j].completion, "sample " + std::to_string(j)});
  const ordered_json report = verify_completions(tasks, completions, Verifier(), jobs);
  const ordered_json& verdicts = report.at("verdicts");  // one per completion, in order
  for (size_t j = 0; j < samples.size(); ++j) {
    const ordered_json& v = verdicts.at(j);
    Verdict& d = samples[j].verdict;
    d.reward = v.at("reward").get<double>();
    d.correct = v.at("correct").get<bool>();
    d.task_ok = v.at("task_ok").get<bool>();
    d.rule_ok = v.at("rule_ok").get<bool>();
    d.format_ok = v.at("format_ok").get<bool>();
    d.reason = v.at("reason").get<std::string>();
  }
}

void write_completions(const std::string& path, const std::vector<TaskRecord>& tasks,
                       const std::vector<TaskSample>& samples) {
  JsonlWriter w(path);
  for (const TaskSample& s : samples) {
    const TaskRecord& t = tasks[s.task];
    ordered_json j;
    j["id"] = t.id;
    j["completion"] = s.completion;
    j["sample"] = s.sample;
    j["family"] = t.family;
    j["split"] = t.split;
    j["finish_reason"] = s.finish_reason;
    j["tokens"] = s.tokens;
    j["mean_temptation"] = s.mean_temptation;
    j["max_temptation"] = s.max_temptation;
    j["task_ok"] = s.verdict.task_ok;
    j["rule_ok"] = s.verdict.rule_ok;
    j["correct"] = s.verdict.correct;
    j["format_ok"] = s.verdict.format_ok;
    j["reason"] = s.verdict.reason;
    w.write(j);
  }
  w.commit();
}

void TaskTally::add(const TaskSample& s) {
  ++n;
  task_ok += s.verdict.task_ok;
  rule_ok += s.verdict.rule_ok;
  correct += s.verdict.correct;
  format_ok += s.verdict.format_ok;
  temptation_sum += s.mean_temptation;
  temptation_max = std::max(temptation_max, s.max_temptation);
}

namespace {

ordered_json rate_json(uint64_t count, uint64_t n) {
  const Estimate e = wilson_interval(count, n);
  return {{"count", count}, {"value", e.value}, {"ci_low", e.low}, {"ci_high", e.high}};
}

}  // namespace

ordered_json TaskTally::to_json(bool with_rule) const {
  ordered_json j;
  j["n"] = n;
  j["task_accuracy"] = rate_json(task_ok, n);
  if (with_rule) j["rule_adherence"] = rate_json(rule_ok, n);
  j["correct"] = rate_json(correct, n);
  j["format_ok"] = rate_json(format_ok, n);
  j["temptation"] = {{"mean", n ? temptation_sum / double(n) : 0.0}, {"max", temptation_max}};
  return j;
}

TaskRun run_task_samples(const TaskSamplingOptions& o, const std::string& out, bool (*keep)(const TaskRecord&)) {
  require(o.samples >= 1 && o.samples <= 1000, "--samples", "must be within [1, 1000]");
  require(o.batch >= 1, "--batch", "must be positive");
  require(o.jobs >= 1 && o.jobs <= 64, "--jobs", "must be within [1, 64]");
  require(o.max_new_tokens >= 1, "--max-new-tokens", "must be positive");
  require(o.temperature >= 0 && o.top_p > 0 && o.top_p <= 1, "--temperature/--top-p",
          "need temperature >= 0 and top-p in (0, 1]");
  TaskRun run;
  run.all_tasks = read_tasks(o.tasks);
  run.tasks = select_split(run.all_tasks, o.split, o.tasks);
  if (keep) {
    run.tasks.erase(std::remove_if(run.tasks.begin(), run.tasks.end(), [&](const TaskRecord& t) { return !keep(t); }),
                    run.tasks.end());
    if (run.tasks.empty())
      fail(o.tasks, "has no system-rule records in split \"" + o.split + "\"",
           "make them with prealign tasks make --kind system-rules");
  }
  // Python tasks run in the sandbox; where it cannot isolate the network every
  // verification would fail, so say so before anything is decoded.
  const bool any_python = std::any_of(run.tasks.begin(), run.tasks.end(),
                                      [](const TaskRecord& t) { return t.verifier.value("type", "") == "python"; });
  if (any_python && !network_isolation_available())
    fail(o.tasks, "has python tasks, and no network namespace can be made here for their sandbox",
         "evaluate them where one can (root or unprivileged user namespaces), or leave the python family out");
  const std::string seed_prompt = read_seed_prompt(o.seed_prompt);
  run.model = load_eval_model(o.model, o.device);
  run.policy = resolve_eval_policy(o.policy, run.model);
  make_parent_directory(out);

  run.samples = sample_tasks(run.model, run.policy, run.tasks, seed_prompt, o);
  verify_samples(run.tasks, run.samples, o.jobs);
  run.completions_path = o.completions.empty() ? out + ".completions.jsonl" : o.completions;
  make_parent_directory(run.completions_path);
  write_completions(run.completions_path, run.tasks, run.samples);
  return run;
}

ordered_json task_run_header(const std::string& kind, const TaskRun& run, const TaskSamplingOptions& o) {
  ordered_json rep = report_header(kind, run.model);
  rep["policy"] = run.policy.name();
  rep["tasks_file"] = o.tasks;
  rep["split"] = o.split;
  rep["seed_prompt"] = o.seed_prompt.empty() ? ordered_json(nullptr) : ordered_json(o.seed_prompt);
  rep["settings"] = config_to_json(const_cast<TaskSamplingOptions&>(o));
  rep["tasks"] = run.tasks.size();
  rep["samples_per_task"] = o.samples;
  rep["samples"] = run.samples.size();
  rep["completions_file"] = run.completions_path;
  return rep;
}

ordered_json run_task_eval(const TaskEvalOptions& o) {
  const TaskRun run = run_task_samples(o.sampling, o.out);

  TaskTally all;
  std::map<std::string, TaskTally> families;
  for (const TaskSample& s : run.samples) {
    all.add(s);
    families[run.tasks[s.task].family].add(s);
  }
  ordered_json rep = task_run_header("tasks", run, o.sampling);
  rep["families"] = ordered_json::object();
  for (const auto& [name, tally] : families) rep["families"][name] = tally.to_json(is_system_rule_family(name));
  const bool any_rule = std::any_of(families.begin(), families.end(),
                                    [](const auto& f) { return is_system_rule_family(f.first); });
  rep["overall"] = all.to_json(any_rule);
  write_report(o.out, rep);
  return rep;
}

std::string format_task_eval(const ordered_json& report) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-22s %5s %20s %20s %8s %8s %9s\n", "family", "n", "task acc [95% CI]",
                "rule kept [95% CI]", "correct", "format", "tempt max");
  out += line;
  auto rate = [](const ordered_json& r) {
    char b[64];
    std::snprintf(b, sizeof b, "%.3f [%.2f,%.2f]", r.at("value").get<double>(), r.at("ci_low").get<double>(),
                  r.at("ci_high").get<double>());
    return std::string(b);
  };
  auto row = [&](const std::string& name, const ordered_json& f) {
    const std::string rule = f.contains("rule_adherence") ? rate(f.at("rule_adherence")) : "-";
    std::snprintf(line, sizeof line, "%-22s %5llu %20s %20s %8.3f %8.3f %9.3f\n", name.c_str(),
                  static_cast<unsigned long long>(f.at("n").get<uint64_t>()), rate(f.at("task_accuracy")).c_str(),
                  rule.c_str(), f.at("correct").at("value").get<double>(), f.at("format_ok").at("value").get<double>(),
                  f.at("temptation").at("max").get<double>());
    out += line;
  };
  for (const auto& [name, f] : report.at("families").items()) row(name, f);
  row("all", report.at("overall"));
  return out;
}

}  // namespace prealign
