#include "rl/sft_trainer.hpp"

#include <chrono>
#include <cmath>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "data/permutation.hpp"
#include "dist/dist_env.hpp"
#include "model/checkpoint.hpp"
#include "model/runtime.hpp"
#include "rl/sft_data.hpp"
#include "rl/sft_report.hpp"
#include "rl/task_prompt.hpp"
#include "train/adamw.hpp"
#include "train/resume.hpp"

namespace prealign {
namespace {

// What a resumed run may change of the sft flags: only what it measures at the end.
const std::set<std::string> kSftChangeable = {"kl_data", "kl_sequences", "drift_tokens", "drift_prompts"};

void validate(const TrainOptions& o, const SftOptions& s) {
  require(!o.init_from.empty(), "--init-from", "sft fine-tunes a checkpoint", "pass the checkpoint to start from");
  require(!o.data.empty(), "--data", "no pairs given", "pass a PAIRS.jsonl ({\"prompt\", \"response\"} per line)");
  require(o.steps > 0 && o.batch_size > 0 && o.grad_accum > 0 && o.seq_len > 1, "--steps/--batch-size/--grad-accum/--seq-len",
          "must be positive (seq-len at least 2)");
  require(o.lr > 0 && std::isfinite(o.lr), "--lr", "must be a positive number");
  require(o.log_every > 0, "--log-every", "must be positive");
  require(o.precision == "fp32", "--precision", "sft trains in fp32 only");
  require(s.eval_fraction >= 0 && s.eval_fraction < 1, "--eval-fraction", "must be within [0, 1)");
  require(s.kl_sequences > 0 && s.drift_tokens > 0 && s.drift_prompts >= 0, "--kl-sequences/--drift-tokens/--drift-prompts",
          "must be positive");
  require(!DistEnv::from_environment().distributed(), "train --objective sft", "runs in one process",
          "launch it without torchrun / prealign launch");
}

struct SftRun {
  TrainOptions o;
  SftOptions s;
  torch::Device device{torch::kCPU};
  std::unique_ptr<Tokenizer> tokenizer;
  json policy_json;
  std::unique_ptr<Policy> policy;
  std::string seed_prompt;
  LlamaModel model{nullptr};
  std::vector<SftExample> train, heldout;
  std::unique_ptr<AdamW> optimizer;
  int64_t step = 0;
  uint64_t tokens = 0;  // response tokens trained on
  int64_t global_batch() const { return int64_t(o.batch_size) * o.grad_accum; }
};

// The pairs split into training and held-out: --eval-data, or a seeded
// fraction of --data (the same on resume: same file, same seed).
void load_pairs(SftRun& r) {
  std::vector<SftPair> pairs = read_pairs(r.o.data), heldout;
  if (!r.s.eval_data.empty()) {
    heldout = read_pairs(r.s.eval_data);
  } else if (r.s.eval_fraction > 0) {
    const size_t n = std::min(pairs.size() - 1, size_t(std::llround(r.s.eval_fraction * double(pairs.size()))));
    const Permutation order(pairs.size(), hash_combine(r.o.seed, 0x5f7ULL));
    std::vector<char> held(pairs.size(), 0);
    for (size_t i = 0; i < n; ++i) held[order(i)] = 1;
    std::vector<SftPair> kept;
    for (size_t i = 0; i < pairs.size(); ++i) (held[i] ? heldout : kept).push_back(std::move(pairs[i]));
    pairs = std::move(kept);
  }
  r.train = make_examples(pairs, *r.tokenizer, *r.policy, r.seed_prompt, r.o.seq_len + 1);
  r.heldout = make_examples(heldout, *r.tokenizer, *r.policy, r.seed_prompt, r.o.seq_len + 1);
}

// The options of a resumed run: TrainOptions as train --resume decides them,
// the sft flags kept unless they only change the final measurements.
void resume_options(SftRun& r, const std::set<std::string>& given, const json& state, const std::string& where) {
  r.o = resumed_options(r.o, given, state, 1, where);
  SftOptions saved;
  config_from_json(saved, state.at("sft"), where);
  ordered_json asked = config_to_json(r.s), old = config_to_json(saved);
  for (const std::string& field : given) {
    if (!asked.contains(field) || asked[field] == old[field]) continue;
    if (!kSftChangeable.count(field))
      fail(where, "--" + field + " " + asked[field].dump() + " differs from the run's " + old[field].dump(),
           "a resumed run keeps its data and seed prompt: drop the flag, or start a new run (another --out)");
    old[field] = asked[field];
  }
  config_from_json(r.s, old, where);
  r.seed_prompt = json_required<std::string>(state, "seed_prompt", where);
}

void build(SftRun& r, const LoadedCheckpoint& start, const std::string& start_dir) {
  r.tokenizer = std::make_unique<Tokenizer>(Tokenizer::load_dir(start_dir));
  const TagVocabulary vocab = TagVocabulary::of(*r.tokenizer);
  r.policy_json = r.o.policy.empty() ? start.policy : read_json_file(resolve_config(r.o.policy, kPolicyFolder));
  r.policy = std::make_unique<Policy>(r.policy_json.is_object() && r.policy_json.empty()
                                          ? Policy::unrestricted(vocab)
                                          : Policy::from_json(r.policy_json, vocab, start_dir + "/policy.json"));
  require(r.o.seq_len <= start.config.max_seq_len, "--seq-len",
          std::to_string(r.o.seq_len) + " is over the model's context of " + std::to_string(start.config.max_seq_len));
  r.model = start.model;
  r.model->to(r.device);
  r.model->train();
  r.model->set_grad_checkpoint(r.o.grad_checkpoint);
  AdamW::Named decay, no_decay;
  for (auto& [name, p] : r.model->named_params()) (p.dim() >= 2 ? decay : no_decay).emplace_back(name, p);
  AdamWOptions ao;
  ao.beta1 = r.o.beta1;
  ao.beta2 = r.o.beta2;
  ao.weight_decay = r.o.weight_decay;
  r.optimizer = std::make_unique<AdamW>(decay, no_decay, ao);
}

void setup(SftRun& r, const std::set<std::string>& given) {
  const std::string ckpt_dir = r.o.out + "/checkpoint";
  if (r.o.auto_resume && is_directory(ckpt_dir)) r.o.resume = true;
  require(r.o.resume || !is_directory(ckpt_dir), r.o.out, "holds a run already (" + ckpt_dir + ")",
          "continue it with --resume (or --auto-resume), or give another --out");
  std::unique_ptr<LoadedCheckpoint> start;
  if (r.o.resume) {
    // --init-from may repeat the run's own (a requeued --auto-resume command line); another is refused below
    if (!is_directory(ckpt_dir)) fail(ckpt_dir, "nothing to resume", "run without --resume first");
    const json state = read_json_file(ckpt_dir + "/train_state.json");
    resume_options(r, given, state, ckpt_dir + "/train_state.json");
  } else {
    r.seed_prompt = read_seed_prompt(r.s.seed_prompt);
  }
  validate(r.o, r.s);
  r.device = parse_device(r.o.device);
  torch::manual_seed(r.o.seed);
  const std::string start_dir = r.o.resume ? ckpt_dir : r.o.init_from;
  start = std::make_unique<LoadedCheckpoint>(load_checkpoint(start_dir, r.device, r.o.resume));
  build(r, *start, start_dir);
  load_pairs(r);
  if (r.o.resume) {
    r.optimizer->load_state(start->optimizer, ckpt_dir + "/optimizer.safetensors");
    r.step = start->train_state.at("step").get<int64_t>();
    r.tokens = start->train_state.at("tokens").get<uint64_t>();
  }
}

void save(SftRun& r) {
  CheckpointContents c;
  c.config = r.model->config();
  c.weights = r.model->hf_tensors();
  c.tokenizer_model = r.tokenizer->serialized_model();
  c.tagset = r.tokenizer->tagset().to_json();
  c.policy = r.policy_json;  // the base's policy (or --policy): the tuned model decodes as it was tuned
  c.train_state = {{"step", r.step},
                   {"tokens", r.tokens},
                   {"options", config_to_json(r.o)},
                   {"sft", config_to_json(r.s)},
                   {"seed_prompt", r.seed_prompt},
                   {"objective", {{"name", "sft"}, {"base", r.o.init_from}, {"policy", r.policy->name()}}},
                   {"pairs", {{"train", r.train.size()}, {"heldout", r.heldout.size()}}}};
  c.optimizer = r.optimizer->state();
  save_checkpoint(r.o.out + "/checkpoint", c);
}

// The examples of micro-batch `micro` of optimizer step `step`: consecutive
// positions of an endless stream of epochs, each a seeded permutation.
std::vector<const SftExample*> batch_at(const SftRun& r, int64_t step, int micro) {
  std::vector<const SftExample*> rows;
  const uint64_t n = r.train.size();
  const uint64_t first = uint64_t(step) * uint64_t(r.global_batch()) + uint64_t(micro) * uint64_t(r.o.batch_size);
  for (uint64_t p = first; p < first + uint64_t(r.o.batch_size); ++p) {
    const Permutation order(n, hash_combine(r.o.seed, p / n));
    rows.push_back(&r.train[order(p % n)]);
  }
  return rows;
}

struct StepResult {
  double loss = 0, grad_norm = 0;
  int64_t tokens = 0;
};

StepResult train_step(SftRun& r, double lr) {
  StepResult s;
  for (int micro = 0; micro < r.o.grad_accum; ++micro) {
    const SftBatch b = collate(batch_at(r, r.step, micro), r.device);
    torch::Tensor loss = sft_loss(r.model->forward(b.inputs), b);  // logits (B, T, V) -> scalar
    (loss / r.o.grad_accum).backward();
    s.loss += loss.item<double>() / r.o.grad_accum;
    s.tokens += b.response_tokens;
  }
  s.grad_norm = r.optimizer->clip_grad_norm(r.o.grad_clip);
  if (!std::isfinite(s.grad_norm) || !std::isfinite(s.loss))
    fail("train", "the loss or gradient became non-finite at step " + std::to_string(r.step), "lower --lr or check the pairs");
  r.optimizer->step(lr);
  r.optimizer->zero_grad();
  r.tokens += uint64_t(s.tokens);
  return s;
}

double evaluate(SftRun& r, MetricsLog& log) {
  if (r.heldout.empty()) return 0;
  const ResponseLoss l = response_loss(r.model, r.heldout, r.o.batch_size);
  log.write({{"type", "eval"}, {"step", r.step}, {"tokens", r.tokens}, {"val_loss", l.loss}, {"val_tokens", l.tokens}});
  return l.loss;
}

std::string end_name(const Policy& p) {
  const int end = sft_end_token(p);
  return p.is_tag(end) ? p.tag_name(end) : "EOS";
}

void print_plan(const SftRun& r) {
  note("train sft: " + human_count(double(r.model->config().parameter_count())) + " parameters from " + r.o.init_from +
       " | " + std::to_string(r.train.size()) + " pairs, " + std::to_string(r.heldout.size()) + " held out | policy " +
       r.policy->name() + " (responses end in " + end_name(*r.policy) + ") | seed prompt " +
       (r.seed_prompt.empty() ? "none" : std::to_string(r.seed_prompt.size()) + " bytes") +
       (r.o.resume ? " | resumed at step " + std::to_string(r.step) : ""));
}

// The end of the run: the base against the tuned model, written to sft_report.json.
ordered_json final_report(SftRun& r, double heldout_after) {
  LoadedCheckpoint base = load_checkpoint(r.o.init_from, r.device);
  ordered_json j;
  j["kind"] = "sft";
  j["checkpoint"] = r.o.out + "/checkpoint";
  j["base"] = r.o.init_from;
  j["steps"] = r.step;
  j["response_tokens_trained"] = r.tokens;
  j["seed_prompt"] = r.seed_prompt;
  j["pairs"] = {{"train", r.train.size()}, {"heldout", r.heldout.size()}};
  if (!r.heldout.empty()) {
    const ResponseLoss before = response_loss(base.model, r.heldout, r.o.batch_size);
    j["heldout_response_loss"] = {{"before", before.loss}, {"after", heldout_after}, {"tokens", before.tokens}};
    LightTouchInputs in;
    in.tuned = r.model;
    in.base = base.model;
    in.tokenizer = r.tokenizer.get();
    in.policy = r.policy.get();
    in.heldout = r.heldout;
    in.kl_data = r.s.kl_data;
    in.kl_sequences = r.s.kl_sequences;
    in.seq_len = r.o.seq_len;
    in.batch_size = r.o.batch_size;
    in.drift_tokens = r.s.drift_tokens;
    in.drift_prompts = r.s.drift_prompts;
    j["light_touch"] = light_touch_report(in);
  } else {
    warn("train sft: no held-out pairs (--eval-fraction 0 and no --eval-data): no light-touch report");
  }
  return j;
}

}  // namespace

SftResult train_sft(TrainOptions options, SftOptions sft, const std::set<std::string>& given) {
  SftRun r;
  r.o = std::move(options);
  r.s = std::move(sft);
  setup(r, given);
  const TrainOptions& o = r.o;
  make_directories(o.out);
  remove_stale_staging(o.out + "/checkpoint");
  if (o.resume) trim_metrics_log(o.out + "/metrics.jsonl", r.step);
  write_json_file(o.out + "/run.json", ordered_json{{"options", config_to_json(r.o)}, {"sft", config_to_json(r.s)}});
  MetricsLog log(o.out + "/metrics.jsonl");
  print_plan(r);

  SftResult result;
  const int64_t warmup = o.warmup_steps >= 0 ? o.warmup_steps : std::max<int64_t>(1, o.steps / 100);
  const int64_t end = o.stop_after > 0 ? std::min(o.steps, r.step + o.stop_after) : o.steps;
  if (r.step == 0) evaluate(r, log);  // the base's held-out loss: step 0 of the curve
  Progress progress("train sft", uint64_t(o.steps), 10.0);
  while (r.step < end) {
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = lr_at(r.step, o.steps, warmup, o.lr, o.min_lr_ratio);
    const StepResult s = train_step(r, lr);
    ++r.step;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double tok_s = double(s.tokens) / std::max(1e-9, secs);
    log.write({{"type", "train"}, {"step", r.step}, {"tokens", r.tokens}, {"loss", s.loss}, {"lr", lr},
               {"grad_norm", s.grad_norm}, {"response_tokens", s.tokens}, {"tok_s", tok_s}});
    result.final_loss = s.loss;
    if (r.step % o.log_every == 0 || r.step == end) {
      char status[160];
      std::snprintf(status, sizeof status, "loss %.4f | lr %.2e | %s response tok/s", s.loss, lr, human_count(tok_s).c_str());
      progress.update(uint64_t(r.step), status, true);
    }
    if (o.eval_every > 0 && r.step % o.eval_every == 0 && r.step != end) evaluate(r, log);
    if (o.save_every > 0 && r.step % o.save_every == 0 && r.step != end) save(r);
  }
  result.heldout_after = evaluate(r, log);
  save(r);
  progress.finish("checkpoint " + o.out + "/checkpoint");
  if (r.step < o.steps) {  // stopped early (--stop-after): the report waits for the end of the run
    result.step = r.step;
    result.checkpoint = o.out + "/checkpoint";
    return result;
  }
  result.report_json = final_report(r, result.heldout_after);
  result.report = o.out + "/sft_report.json";
  write_json_file(result.report, result.report_json);
  if (result.report_json.contains("heldout_response_loss"))
    result.heldout_before = result.report_json["heldout_response_loss"]["before"].get<double>();
  result.step = r.step;
  result.checkpoint = o.out + "/checkpoint";
  return result;
}

}  // namespace prealign
