#include "train/trainer.hpp"

#include <chrono>
#include <cmath>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "decode/policy.hpp"
#include "model/checkpoint.hpp"
#include "model/runtime.hpp"
#include "train/adamw.hpp"
#include "train/heldout.hpp"
#include "train/throughput.hpp"

namespace prealign {
namespace {

void validate(const TrainOptions& o) {
  require(!o.data.empty(), "--data", "no dataset given", "pass the directory written by prealign tokenize");
  require(o.steps > 0, "--steps", "must be positive");
  require(o.batch_size > 0 && o.seq_len > 1 && o.grad_accum > 0, "--batch-size/--seq-len/--grad-accum",
          "must be positive (seq-len at least 2)");
  require(o.lr > 0 && std::isfinite(o.lr), "--lr", "must be a positive number");
  require(!(o.resume && !o.init_from.empty()), "--resume/--init-from", "give one or the other");
}

// Options of a resumed run: everything as saved, except what may change between
// invocations of the same run.
TrainOptions resumed_options(const TrainOptions& now, const json& saved, const std::string& where) {
  TrainOptions o;
  config_from_json(o, saved, where);
  o.resume = true;
  o.stop_after = now.stop_after;
  o.device = now.device;
  o.out = now.out;
  return o;
}

// PHF inference for conditional models: start with the good tag, ban the bad one.
// Every other model gets a policy that allows every tag (nothing banned).
json default_policy(const TrainOptions& o, const Tokenizer& tok) {
  if (!o.policy.empty()) return read_json_file(resolve_config(o.policy, kPolicyFolder));
  const auto& ob = o.objective;
  if (ob.name == "conditional") {
    return {{"name", "good_only"},
            {"description", "PHF conditional inference: " + ob.good_tag + " before the prompt, " + ob.bad_tag + " banned"},
            {"initial_state", "good"},
            {"start", {{"tags", {ob.good_tag}}, {"position", "before_prompt"}}},
            {"states", {{"good", {{"allow", {{ob.good_tag, "good"}}}, {"end", true}}}}},
            {"temptation", json::array({{{"tag", ob.bad_tag}, {"threshold", 0.5}, {"action", "flag"}}})}};
  }
  json allow = json::object();
  for (const auto& t : tok.tagset().tags()) allow[t.name] = "any";
  return {{"name", "unrestricted"},
          {"description", "every tag allowed"},
          {"initial_state", "any"},
          {"states", {{"any", {{"allow", allow}, {"end", true}}}}}};
}

// PHF fine-tuning: tags the pretrained model never saw start as the mean
// embedding plus small noise instead of their random initialisation.
void reinit_tag_rows(LlamaModel& model, const std::vector<int>& tags) {
  if (tags.empty()) return;
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : model->hf_tensors()) {  // views of the parameters
    if (name != "model.embed_tokens.weight" && name != "lm_head.weight") continue;
    auto mask = torch::ones({p.size(0)}, torch::kBool);
    for (int t : tags) mask[t] = false;
    auto mean = p.index({mask.to(p.device())}).mean(0);  // (C)
    for (int t : tags) p[t].copy_(mean + 0.01 * torch::randn_like(mean));
  }
}

struct Run {
  TrainOptions o;
  torch::Device device{torch::kCPU};
  Dataset data;
  std::unique_ptr<Tokenizer> tokenizer;
  LlamaModel model{nullptr};
  std::unique_ptr<Objective> objective;
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<BatchStream> stream;
  json policy;
  int64_t step = 0;
  uint64_t tokens = 0;
  double peak_flops = 0;
};

void build_model(Run& r, const LoadedCheckpoint* from) {
  const int vocab = r.tokenizer->vocab_size();
  torch::manual_seed(r.o.seed);
  if (from) {
    if (from->config.vocab_size != vocab)
      fail(from->dir, "vocabulary size " + std::to_string(from->config.vocab_size) + " differs from the dataset's " +
           std::to_string(vocab), "fine-tune on a dataset tokenized with the checkpoint's tokenizer");
    r.model = from->model;
  } else {
    ModelConfig cfg = ModelConfig::parse(r.o.model, vocab);
    cfg.max_seq_len = std::max(cfg.max_seq_len, r.o.seq_len);
    r.model = LlamaModel(cfg);
  }
  r.model->to(r.device);
  r.model->train();
}

void build_optimizer(Run& r) {
  AdamW::Named decay, no_decay;
  for (auto& [name, p] : r.model->named_params()) (p.dim() >= 2 ? decay : no_decay).emplace_back(name, p);
  for (auto& [name, p] : r.objective->parameters()) (p.dim() >= 2 ? decay : no_decay).emplace_back("objective." + name, p);
  AdamWOptions ao;
  ao.beta1 = r.o.beta1;
  ao.beta2 = r.o.beta2;
  ao.weight_decay = r.o.weight_decay;
  r.optimizer = std::make_unique<AdamW>(decay, no_decay, ao);
}

void save(Run& r, const std::string& dir) {
  CheckpointContents c;
  c.config = r.model->config();
  c.weights = r.model->hf_tensors();
  c.tokenizer_model = r.tokenizer->serialized_model();
  c.tagset = r.tokenizer->tagset().to_json();
  c.policy = r.policy;
  c.train_state = {{"step", r.step},
                   {"tokens", r.tokens},
                   {"cursor", r.stream->cursor().to_json()},
                   {"options", config_to_json(r.o)},
                   {"objective", r.objective->describe()},
                   {"dataset", r.data.dir}};
  c.optimizer = r.optimizer->state();
  for (auto& [name, p] : r.objective->parameters()) c.extra.emplace_back(name, p.detach().cpu());
  save_checkpoint(dir, c);
}

void save_all(Run& r) {
  save(r, r.o.out + "/checkpoint");
  if (r.o.keep_checkpoints) {
    char name[32];
    std::snprintf(name, sizeof name, "step-%06lld", static_cast<long long>(r.step));
    make_directories(r.o.out + "/checkpoints");
    save(r, r.o.out + "/checkpoints/" + name);
  }
}

// One optimizer step: grad_accum micro-batches, clip, AdamW. Returns the mean loss.
double train_step(Run& r, double lr, double* grad_norm, std::map<std::string, double>& metrics) {
  Batch batch;
  double loss_sum = 0;
  metrics.clear();
  for (int micro = 0; micro < r.o.grad_accum; ++micro) {
    r.stream->next(batch);
    BatchTensors t = to_tensors(batch, r.device);
    ForwardOutput out = r.model->forward_full(t.inputs);
    LossResult lr_ = r.objective->loss(out, t);
    (lr_.loss / r.o.grad_accum).backward();
    loss_sum += lr_.loss.item<double>();
    for (auto& [k, v] : lr_.metrics) metrics[k] += v / r.o.grad_accum;
  }
  *grad_norm = r.optimizer->clip_grad_norm(r.o.grad_clip);
  r.optimizer->step(lr);
  r.optimizer->zero_grad();
  r.tokens += static_cast<uint64_t>(r.o.batch_size) * r.o.seq_len * r.o.grad_accum;
  return loss_sum / r.o.grad_accum;
}

double evaluate(Run& r, MetricsLog& log) {
  // Every held-out document counts, also those a filter objective drops in training.
  auto planner = [&](const DocumentView& d, DocumentPlan& p) {
    r.objective->plan(d, p);
    p.keep = true;
  };
  HeldoutLoss h = heldout_loss(r.model, r.data, planner, r.o.batch_size, r.o.seq_len, r.o.eval_batches);
  log.write({{"type", "eval"}, {"step", r.step}, {"tokens", r.tokens}, {"val_loss", h.loss},
             {"val_ppl", h.perplexity}, {"val_tag_loss", h.tag_loss}, {"val_tokens", h.tokens}});
  return h.loss;
}

void setup(Run& r, TrainOptions options) {
  std::unique_ptr<LoadedCheckpoint> ckpt;
  const std::string ckpt_dir = options.out + "/checkpoint";
  validate(options);  // as asked: --resume with --init-from is a conflict; a resumed run's own saved init_from is not
  if (options.resume) {
    if (!is_directory(ckpt_dir)) fail(ckpt_dir, "nothing to resume", "run without --resume first");
    ckpt = std::make_unique<LoadedCheckpoint>(load_checkpoint(ckpt_dir, parse_device(options.device), true));
    options = resumed_options(options, ckpt->train_state.at("options"), ckpt_dir + "/train_state.json");
  }
  r.o = options;
  r.device = parse_device(r.o.device);
  r.data = Dataset::open(r.o.data);
  r.tokenizer = std::make_unique<Tokenizer>(Tokenizer::load_dir(r.data.dir));
  // init_from starts a fine-tuning run; resuming one continues its own weights (init_from stays
  // in its saved options as a record of where it started).
  const bool start_from_init = !r.o.resume && !r.o.init_from.empty();
  if (start_from_init) ckpt = std::make_unique<LoadedCheckpoint>(load_checkpoint(r.o.init_from, r.device, false));
  build_model(r, ckpt.get());
  r.objective = make_objective(r.o.objective, r.data, *r.tokenizer, r.device, r.model->config().dim);
  if (start_from_init) reinit_tag_rows(r.model, r.objective->tags_used());
  build_optimizer(r);
  auto planner = [obj = r.objective.get()](const DocumentView& d, DocumentPlan& p) { obj->plan(d, p); };
  r.stream = std::make_unique<BatchStream>(r.data.train, planner, r.o.batch_size, r.o.seq_len, r.o.seed, true);
  r.policy = default_policy(r.o, *r.tokenizer);
  Policy::from_json(r.policy, TagVocabulary::of(*r.tokenizer), "policy");  // validate before training
  if (options.resume) {
    r.optimizer->load_state(ckpt->optimizer, ckpt_dir + "/optimizer.safetensors");
    r.stream->seek(StreamCursor::from_json(ckpt->train_state.at("cursor"), ckpt_dir + "/train_state.json"));
    r.step = ckpt->train_state.at("step").get<int64_t>();
    torch::NoGradGuard no_grad;  // objective-owned weights (AWR value head) continue too
    for (auto& [name, p] : r.objective->parameters()) {
      auto it = ckpt->extra.find(name);
      if (it == ckpt->extra.end()) fail(ckpt_dir + "/extra.safetensors", "missing " + name, "the checkpoint is incomplete");
      p.copy_(it->second.to(p.device()));
    }
    r.tokens = ckpt->train_state.at("tokens").get<uint64_t>();
  }
  r.peak_flops = measure_matmul_peak_flops(r.device);
}

}  // namespace

TrainResult train(TrainOptions options) {
  Run r;
  setup(r, std::move(options));
  const TrainOptions& o = r.o;
  make_directories(o.out);
  write_json_file(o.out + "/run.json", config_to_json(r.o));
  MetricsLog log(o.out + "/metrics.jsonl");
  const int64_t warmup = o.warmup_steps >= 0 ? o.warmup_steps : std::max<int64_t>(1, o.steps / 100);
  const int64_t end = o.stop_after > 0 ? std::min(o.steps, r.step + o.stop_after) : o.steps;
  const double flops_per_token = r.model->config().train_flops_per_token(o.seq_len);
  note("train: " + std::to_string(r.model->config().parameter_count()) + " parameters | objective " +
       r.objective->name() + " | " + human_count(double(r.data.train_tokens())) + " train tokens | " +
       describe_compute() + (o.resume ? " | resumed at step " + std::to_string(r.step) : ""));

  TrainResult result;
  Progress progress("train", static_cast<uint64_t>(o.steps), 10.0);
  auto window_start = std::chrono::steady_clock::now();
  uint64_t window_tokens = r.tokens;
  std::map<std::string, double> metrics;
  while (r.step < end) {
    const double lr = lr_at(r.step, o.steps, warmup, o.lr, o.min_lr_ratio);
    double grad_norm = 0;
    const double loss = train_step(r, lr, &grad_norm, metrics);
    if (!std::isfinite(loss)) fail("train", "loss became " + std::to_string(loss) + " at step " + std::to_string(r.step),
                                   "lower --lr or check the data");
    ++r.step;
    result.losses.push_back(loss);
    if (r.step % o.log_every == 0 || r.step == end) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      double tok_s = double(r.tokens - window_tokens) / std::max(1e-9, secs);
      double mfu = flops_per_token * tok_s / r.peak_flops;
      json rec = {{"type", "train"}, {"step", r.step}, {"tokens", r.tokens}, {"loss", loss}, {"lr", lr},
                  {"grad_norm", grad_norm}, {"tok_s", tok_s}, {"mfu", mfu}};
      for (auto& [k, v] : metrics) rec[k] = v;
      log.write(rec);
      char status[160];
      std::snprintf(status, sizeof status, "loss %.4f | lr %.2e | %s tok/s | mfu %.0f%%", loss, lr,
                    human_count(tok_s).c_str(), 100 * mfu);
      progress.update(static_cast<uint64_t>(r.step), status, true);
      result.tokens_per_second = tok_s;
      result.mfu = mfu;
      window_start = std::chrono::steady_clock::now();
      window_tokens = r.tokens;
    }
    if (o.eval_every > 0 && r.step % o.eval_every == 0 && r.step != end) result.val_loss = evaluate(r, log);
    if (o.save_every > 0 && r.step % o.save_every == 0 && r.step != end) save_all(r);
  }
  result.val_loss = evaluate(r, log);
  save_all(r);
  progress.finish("val loss " + std::to_string(result.val_loss) + " | checkpoint " + o.out + "/checkpoint");
  result.step = r.step;
  result.tokens = r.tokens;
  result.final_loss = result.losses.empty() ? 0 : result.losses.back();
  result.checkpoint = o.out + "/checkpoint";
  return result;
}

}  // namespace prealign
