#include "rl/rlvr_trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/progress.hpp"
#include "model/checkpoint.hpp"
#include "model/runtime.hpp"
#include "rl/grpo_loss.hpp"
#include "rl/rollout.hpp"
#include "rl/task_prompt.hpp"
#include "train/adamw.hpp"
#include "train/resume.hpp"

namespace prealign {
namespace {

// Options a resumed run may change; every other one is the run's own.
const std::set<std::string> kChangeable = {"steps", "log_every", "save_every", "jobs", "device", "resume", "out"};

void validate(const RlvrOptions& o) {
  require(!o.model.empty(), "--model", "no checkpoint given", "pass the checkpoint directory to start from");
  require(!o.tasks.empty(), "--tasks", "no tasks file given", "make one with prealign tasks make");
  require(o.split == "train" || o.split == "test" || o.split == "all", "--split",
          "must be train, test or all, got \"" + o.split + "\"");
  require(o.steps > 0, "--steps", "must be positive");
  require(o.group >= 2, "--group", "must be at least 2 (got " + std::to_string(o.group) + ")",
          "GRPO normalises rewards within a group of samples of one prompt: one sample has nothing to compare with");
  require(o.prompts_per_step >= 1, "--prompts-per-step", "must be at least 1");
  require(o.iterations >= 1, "--iterations", "must be at least 1");
  require(o.micro_batch >= 0, "--micro-batch", "must be >= 0 (0 = the whole step at once)");
  require(o.lr > 0 && std::isfinite(o.lr), "--lr", "must be a positive number");
  require(o.grad_clip >= 0 && o.weight_decay >= 0, "--grad-clip/--weight-decay", "must be >= 0");
  require(o.kl_coef >= 0 && std::isfinite(o.kl_coef), "--kl-coef", "must be >= 0");
  require(o.clip > 0 && o.clip < 1, "--clip", "must be in (0, 1)");
  require(o.temperature > 0 && std::isfinite(o.temperature), "--temperature", "must be positive",
          "greedy rollouts make every sample of a group the same: no learning signal");
  require(o.top_p > 0 && o.top_p <= 1, "--top-p", "must be in (0, 1]");
  require(o.max_new_tokens >= 1, "--max-new-tokens", "must be at least 1");
  require(o.format_weight >= 0 && o.format_weight <= 1, "--format-weight", "must be within [0, 1]");
  require(o.log_every > 0 && o.save_every >= 0, "--log-every/--save-every", "must be positive / >= 0");
  require(o.jobs >= 1 && o.jobs <= 64, "--jobs", "must be within [1, 64]");
}

struct Run {
  RlvrOptions o;
  torch::Device device{torch::kCPU};
  std::vector<TaskRecord> tasks;
  std::string seed_prompt;
  std::unique_ptr<Tokenizer> tokenizer;
  json policy_json;
  std::unique_ptr<Policy> policy;
  torch::Tensor table;  // (S, V) the policy's constraints (grpo_loss.hpp)
  ModelConfig config;
  LlamaModel model{nullptr};
  LlamaModel reference{nullptr};  // the starting model, frozen; null when kl_coef = 0
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<Verifier> verifier;
  int64_t step = 0;
};

// The tasks of the chosen split, each spec checked once up front so a
// malformed record stops the run before any training (python specs are checked
// when first run: checking them means starting a sandbox).
std::vector<TaskRecord> load_tasks(const RlvrOptions& o, const Verifier& verifier) {
  std::vector<TaskRecord> all = read_tasks(o.tasks);
  require(!all.empty(), o.tasks, "holds no tasks", "make some with prealign tasks make");
  std::vector<TaskRecord> out;
  for (TaskRecord& t : all)
    if (o.split == "all" || t.split == o.split) out.push_back(std::move(t));
  require(!out.empty(), o.tasks, "has no tasks in split \"" + o.split + "\" (of " + std::to_string(all.size()) + ")",
          "pick another --split (train, test or all)");
  for (const TaskRecord& t : out)
    if (t.verifier.value("type", "") != "python") verifier.verify(t, "");  // throws naming the task id
  return out;
}

// On --resume: the saved options, with what may change taken from the command line.
RlvrOptions resumed(const RlvrOptions& now, const std::set<std::string>& given, const json& state,
                    const std::string& where) {
  RlvrOptions o;
  config_from_json(o, state.at("options"), where);
  const ordered_json asked = config_to_json(const_cast<RlvrOptions&>(now));
  const ordered_json saved = config_to_json(o);
  for (const std::string& name : given) {
    if (!asked.contains(name) || kChangeable.count(name)) continue;
    if (asked.at(name) != saved.at(name))
      fail(where, "the run was started with --" + name + " " + saved.at(name).dump() + ", not " + asked.at(name).dump(),
           "a resumed run keeps its settings (only --steps, --log-every, --save-every, --jobs, --device change); "
           "start a new run with another --out");
  }
  o.steps = now.steps;
  o.log_every = now.log_every;
  o.save_every = now.save_every;
  o.jobs = now.jobs;
  o.device = now.device;
  o.out = now.out;
  o.resume = true;
  return o;
}

void build_optimizer(Run& r) {
  AdamW::Named decay, no_decay;
  for (auto& [name, p] : r.model->named_params()) (p.dim() >= 2 ? decay : no_decay).emplace_back(name, p);
  AdamWOptions ao;
  ao.weight_decay = r.o.weight_decay;
  r.optimizer = std::make_unique<AdamW>(decay, no_decay, ao);
}

void setup(Run& r, RlvrOptions options, const std::set<std::string>& given) {
  const std::string ckpt_dir = options.out + "/checkpoint";
  require(options.resume || !is_directory(ckpt_dir), options.out, "holds a run already (" + ckpt_dir + ")",
          "continue it with --resume, or give another --out");
  r.o = options;
  std::unique_ptr<LoadedCheckpoint> resume_from;
  if (options.resume) {
    require(is_directory(ckpt_dir), ckpt_dir, "nothing to resume", "run without --resume first");
    r.device = parse_device(options.device);
    resume_from = std::make_unique<LoadedCheckpoint>(load_checkpoint(ckpt_dir, r.device, true));
    r.o = resumed(options, given, resume_from->train_state, ckpt_dir + "/train_state.json");
  }
  validate(r.o);
  r.device = parse_device(r.o.device);
  VerifierOptions vo;
  vo.format_weight = r.o.format_weight;
  r.verifier = std::make_unique<Verifier>(vo);
  r.tasks = load_tasks(r.o, *r.verifier);
  require(static_cast<size_t>(r.o.prompts_per_step) <= r.tasks.size(), "--prompts-per-step",
          std::to_string(r.o.prompts_per_step) + " is more than the " + std::to_string(r.tasks.size()) +
              " tasks of split \"" + r.o.split + "\" in " + r.o.tasks);
  r.seed_prompt = read_seed_prompt(r.o.seed_prompt);

  LoadedCheckpoint start = load_checkpoint(r.o.model, r.device, false);  // the reference, and the start
  r.tokenizer = std::make_unique<Tokenizer>(Tokenizer::load_dir(r.o.model));
  r.policy_json = start.policy;
  const TagVocabulary vocab = TagVocabulary::of(*r.tokenizer);
  r.policy = std::make_unique<Policy>(start.policy.is_object() && start.policy.empty()
                                          ? Policy::unrestricted(vocab)
                                          : Policy::from_json(start.policy, vocab, r.o.model + "/policy.json"));
  r.config = start.config;
  r.table = constraint_table(*r.policy, r.config.vocab_size).to(r.device);  // refuses dynamic rules
  r.model = resume_from ? resume_from->model : start.model;
  if (r.o.kl_coef > 0) {
    r.reference = resume_from ? start.model : load_checkpoint(r.o.model, r.device, false).model;
    for (auto& p : r.reference->parameters()) p.set_requires_grad(false);
    r.reference->eval();
  }
  build_optimizer(r);
  if (resume_from) {
    r.optimizer->load_state(resume_from->optimizer, ckpt_dir + "/optimizer.safetensors");
    r.step = resume_from->train_state.at("step").get<int64_t>();
  }
}

void save(Run& r) {
  CheckpointContents c;
  c.config = r.config;
  c.weights = r.model->hf_tensors();
  c.tokenizer_model = r.tokenizer->serialized_model();
  c.tagset = r.tokenizer->tagset().to_json();
  c.policy = r.policy_json;
  c.train_state = {{"kind", "rlvr"},
                   {"step", r.step},
                   {"options", config_to_json(r.o)},
                   {"start_model", r.o.model},
                   // Every random draw is a hash of (seed, step, index): the step is the whole RNG state.
                   {"rng", {{"scheme", "hash(seed, step, index)"}, {"seed", r.o.seed}, {"step", r.step}}}};
  c.optimizer = r.optimizer->state();
  save_checkpoint(r.o.out + "/checkpoint", c);
}

// A micro-batch of samples as tensors: the model's input (context + completion,
// right-padded: a causal model's earlier positions never see the padding) and,
// per completion token, the position whose logits predicted it.
struct SequenceTensors {
  torch::Tensor inputs;  // (b, L) int64
  torch::Tensor where;   // (b, T) int64: position in `inputs` whose logits chose token t
  torch::Tensor tokens;  // (b, T) int64: the sampled tokens
  torch::Tensor states;  // (b, T) int64: the policy state each was sampled in
  torch::Tensor mask;    // (b, T) bool: a real token, not padding
};

SequenceTensors to_tensors(const std::vector<Sample>& samples, size_t begin, size_t end, torch::Device device) {
  const int64_t b = static_cast<int64_t>(end - begin);
  int64_t L = 1, T = 1;
  for (size_t i = begin; i < end; ++i) {
    const Sample& s = samples[i];
    L = std::max<int64_t>(L, static_cast<int64_t>(s.context.size() + s.tokens.size()) - 1);
    T = std::max<int64_t>(T, static_cast<int64_t>(s.tokens.size()));
  }
  SequenceTensors t;
  t.inputs = torch::zeros({b, L}, torch::kLong);
  t.where = torch::zeros({b, T}, torch::kLong);
  t.tokens = torch::zeros({b, T}, torch::kLong);
  t.states = torch::zeros({b, T}, torch::kLong);
  t.mask = torch::zeros({b, T}, torch::kBool);
  auto in = t.inputs.accessor<int64_t, 2>();
  auto wh = t.where.accessor<int64_t, 2>();
  auto tok = t.tokens.accessor<int64_t, 2>();
  auto st = t.states.accessor<int64_t, 2>();
  auto m = t.mask.accessor<bool, 2>();
  for (int64_t r = 0; r < b; ++r) {
    const Sample& s = samples[begin + static_cast<size_t>(r)];
    const int64_t c = static_cast<int64_t>(s.context.size());
    for (int64_t k = 0; k < c; ++k) in[r][k] = s.context[static_cast<size_t>(k)];
    for (size_t j = 0; j < s.tokens.size(); ++j) {
      const int64_t at = c + static_cast<int64_t>(j);
      if (at < L) in[r][at] = s.tokens[j];  // the last token is never an input
      wh[r][static_cast<int64_t>(j)] = at - 1;
      tok[r][static_cast<int64_t>(j)] = s.tokens[j];
      st[r][static_cast<int64_t>(j)] = s.states[j];
      m[r][static_cast<int64_t>(j)] = true;
    }
  }
  t.inputs = t.inputs.to(device), t.where = t.where.to(device), t.tokens = t.tokens.to(device);
  t.states = t.states.to(device), t.mask = t.mask.to(device);
  return t;
}

// log π(sampled token | prefix) under the policy's constraints: (b, T).
torch::Tensor sequence_log_probs(LlamaModel& model, const SequenceTensors& t, const torch::Tensor& table,
                                 double temperature) {
  const torch::Tensor logits = model->forward_full(t.inputs).logits;  // (b, L, V)
  const int64_t V = logits.size(2);
  const torch::Tensor at = logits.gather(1, t.where.unsqueeze(-1).expand({-1, -1, V}));  // (b, T, V)
  return constrained_token_log_probs(at, table, t.states, t.tokens, t.mask, temperature);
}

// Steps 4 and 5: the clipped, KL-penalised loss over the step's samples, in
// micro-batches, for `iterations` passes, each ending in one AdamW step.
void optimise(Run& r, const std::vector<Sample>& samples, const Advantages& adv, RlvrStepMetrics& m) {
  const size_t n = samples.size();
  const size_t mb = r.o.micro_batch > 0 ? static_cast<size_t>(r.o.micro_batch) : n;
  std::vector<SequenceTensors> batches;
  std::vector<torch::Tensor> advantages, ref_logp, old_logp;
  for (size_t begin = 0; begin < n; begin += mb) {
    const size_t end = std::min(n, begin + mb);
    batches.push_back(to_tensors(samples, begin, end, r.device));
    std::vector<double> a(adv.values.begin() + static_cast<std::ptrdiff_t>(begin),
                          adv.values.begin() + static_cast<std::ptrdiff_t>(end));
    advantages.push_back(torch::tensor(a, torch::kFloat).to(r.device));  // (b)
    torch::NoGradGuard no_grad;
    ref_logp.push_back(r.reference ? sequence_log_probs(r.reference, batches.back(), r.table, r.o.temperature)
                                   : torch::Tensor());
  }
  GrpoLossOptions lo;
  lo.clip = r.o.clip;
  lo.kl_coef = r.o.kl_coef;
  double tokens = 0, clipped = 0, kl = 0, loss = 0;
  r.model->train();
  for (int pass = 0; pass < r.o.iterations; ++pass) {
    for (size_t k = 0; k < batches.size(); ++k) {
      const torch::Tensor logp = sequence_log_probs(r.model, batches[k], r.table, r.o.temperature);  // (b, T)
      // The rollout policy is the model before this step's first update: its
      // log-probs are the first pass's, detached (so pass 0 has ratio 1 exactly).
      if (pass == 0) old_logp.push_back(logp.detach());
      GrpoLoss l = grpo_loss(logp, old_logp[k], ref_logp[k], advantages[k], batches[k].mask, lo);
      const torch::Tensor part = l.per_sequence.sum() / double(n);  // mean over all of the step's sequences
      part.backward();
      loss += part.item<double>();
      tokens += batches[k].mask.sum().item<double>();
      clipped += l.clipped.sum().item<double>();
      if (pass == 0) kl += l.kl.sum().item<double>();
    }
    m.grad_norm = r.optimizer->clip_grad_norm(r.o.grad_clip > 0 ? r.o.grad_clip : 1e30);
    if (!std::isfinite(m.grad_norm))
      fail("rlvr", "the gradient became " + std::to_string(m.grad_norm) + " at step " + std::to_string(r.step),
           "lower --lr");
    r.optimizer->step(r.o.lr);
    r.optimizer->zero_grad();
  }
  m.loss = loss / r.o.iterations;
  m.clip_fraction = clipped / std::max(1.0, tokens);
  m.kl = kl / std::max(1.0, tokens / r.o.iterations);
}

// One GRPO step, each stage named as in docs/rlvr.md.
RlvrStepMetrics grpo_step(Run& r) {
  RlvrStepMetrics m;
  const auto start = std::chrono::steady_clock::now();
  RolloutOptions ro;
  ro.prompts_per_step = r.o.prompts_per_step;
  ro.group = r.o.group;
  ro.generate.temperature = r.o.temperature;
  ro.generate.top_p = r.o.top_p;
  ro.generate.max_new_tokens = r.o.max_new_tokens;
  r.model->eval();
  const std::vector<size_t> picked = pick_tasks(r.tasks.size(), r.o.prompts_per_step, r.o.seed, r.step);
  std::vector<Sample> samples =
      rollout(r.model, *r.tokenizer, *r.policy, r.tasks, picked, r.seed_prompt, ro, r.o.seed, r.step);  // 1
  m.rollout_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  reward_samples(samples, r.tasks, *r.verifier, r.o.jobs);                                             // 2
  std::vector<double> rewards;
  for (const Sample& s : samples) rewards.push_back(s.reward);
  const Advantages adv = group_advantages(rewards, r.o.group);                                        // 3
  optimise(r, samples, adv, m);                                                                       // 4, 5

  double generated = 0, tempt = 0;
  for (const Sample& s : samples) {
    m.reward += s.reward;
    m.accuracy += s.correct;
    m.format_rate += s.format_ok;
    generated += double(s.tokens.size());
    for (float t : s.temptation) tempt += t, m.temptation_max = std::max(m.temptation_max, double(t));
  }
  const double count = double(samples.size());
  m.reward /= count, m.accuracy /= count, m.format_rate /= count;
  m.temptation_mean = tempt / std::max(1.0, generated);
  m.completion_tokens = generated / count;
  m.zero_variance_groups = adv.zero_variance_groups;
  m.step_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.tokens_per_second = generated / std::max(1e-9, m.step_seconds);
  return m;
}

json metrics_record(const Run& r, const RlvrStepMetrics& m) {
  return {{"type", "rlvr"},
          {"step", r.step},
          {"reward", m.reward},
          {"accuracy", m.accuracy},
          {"format_rate", m.format_rate},
          {"kl", m.kl},
          {"kl_coef", r.o.kl_coef},
          {"clip_fraction", m.clip_fraction},
          {"loss", m.loss},
          {"grad_norm", m.grad_norm},
          {"lr", r.o.lr},
          {"temptation_mean", m.temptation_mean},
          {"temptation_max", m.temptation_max},
          {"completion_tokens", m.completion_tokens},
          {"zero_variance_groups", m.zero_variance_groups},
          {"tok_s", m.tokens_per_second},
          {"rollout_seconds", m.rollout_seconds},
          {"step_seconds", m.step_seconds}};
}

void print_plan(const Run& r) {
  note("rlvr: " + std::to_string(r.tasks.size()) + " tasks (split " + r.o.split + ") | " +
       std::to_string(r.o.prompts_per_step) + " prompts x " + std::to_string(r.o.group) + " samples per step | policy " +
       r.policy->name() + " | seed prompt " + (r.seed_prompt.empty() ? "none" : r.o.seed_prompt) + " | kl_coef " +
       json(r.o.kl_coef).dump() + (r.o.resume ? " | resumed at step " + std::to_string(r.step) : ""));
}

}  // namespace

RlvrResult rlvr(RlvrOptions options, const std::set<std::string>& given) {
  Run r;
  setup(r, std::move(options), given);
  const RlvrOptions& o = r.o;
  make_directories(o.out);
  remove_stale_staging(o.out + "/checkpoint");
  if (o.resume) trim_metrics_log(o.out + "/metrics.jsonl", r.step);  // steps after the checkpoint run again
  write_json_file(o.out + "/run.json", config_to_json(r.o));
  MetricsLog log(o.out + "/metrics.jsonl");
  print_plan(r);

  RlvrResult result;
  Progress progress("rlvr", static_cast<uint64_t>(o.steps), 10.0);
  while (r.step < o.steps) {
    const RlvrStepMetrics m = grpo_step(r);
    ++r.step;
    result.steps.push_back(m);
    log.write(metrics_record(r, m));
    if (r.step % o.log_every == 0 || r.step == o.steps) {
      char status[200];
      std::snprintf(status, sizeof status, "reward %.3f | acc %.3f | kl %.4f | clip %.3f | tempt %.3f/%.3f | %s tok/s",
                    m.reward, m.accuracy, m.kl, m.clip_fraction, m.temptation_mean, m.temptation_max,
                    human_count(m.tokens_per_second).c_str());
      progress.update(static_cast<uint64_t>(r.step), status, true);
    }
    if (o.save_every > 0 && r.step % o.save_every == 0 && r.step != o.steps) save(r);
  }
  save(r);
  progress.finish("checkpoint " + o.out + "/checkpoint");
  result.step = r.step;
  result.checkpoint = o.out + "/checkpoint";
  return result;
}

}  // namespace prealign
