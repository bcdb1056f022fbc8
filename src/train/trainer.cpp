#include "train/trainer.hpp"

#include <chrono>
#include <cmath>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "data/data_mix.hpp"
#include "decode/policy.hpp"
#include "dist/grad_reducer.hpp"
#include "dist/process_group.hpp"
#include "model/checkpoint.hpp"
#include "model/matmul.hpp"
#include "model/runtime.hpp"
#include "train/adamw.hpp"
#include "train/cooldown.hpp"
#include "train/heldout.hpp"
#include "train/memory_estimate.hpp"
#include "train/mixed_precision.hpp"
#include "train/resume.hpp"
#include "train/throughput.hpp"

namespace prealign {
namespace {

// The options a run trains with (after --resume has restored the saved ones).
void validate(const TrainOptions& o) {
  require(!o.data.empty(), "--data", "no dataset given", "pass the directory written by prealign tokenize");
  require(o.steps > 0, "--steps", "must be positive");
  require(o.batch_size > 0 && o.seq_len > 1 && o.grad_accum > 0, "--batch-size/--seq-len/--grad-accum",
          "must be positive (seq-len at least 2)");
  require(o.lr > 0 && std::isfinite(o.lr), "--lr", "must be a positive number");
  require(o.grad_bucket_mb > 0 && o.dist_timeout > 0, "--grad-bucket-mb/--dist-timeout", "must be positive");
  require(o.log_every > 0, "--log-every", "must be positive (metrics.jsonl gets every step anyway)");
  require(o.cooldown_fraction >= 0 && o.cooldown_fraction < 1, "--cooldown-fraction", "must be within [0, 1)");
  precision_dtype(o.precision);  // an Error for an unknown precision
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
  std::unique_ptr<ProcessGroup> group;  // a world of one unless launched as a rank
  DataMix data;
  std::unique_ptr<Tokenizer> tokenizer;
  LlamaModel model{nullptr};
  std::unique_ptr<Objective> objective;
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<GradReducer> reducer;
  std::unique_ptr<BatchStream> stream;
  torch::ScalarType autocast = torch::kFloat;
  std::unique_ptr<LossScaler> scaler;
  json policy;
  int64_t step = 0;
  uint64_t tokens = 0;
  double peak_flops = 0;
  int64_t global_batch() const { return int64_t(o.batch_size) * o.grad_accum * group->size(); }
  bool writes() const { return group->is_main(); }  // rank 0 alone writes files and progress
};

std::vector<torch::Tensor> trained_parameters(Run& r) {
  std::vector<torch::Tensor> out;
  for (auto& [name, p] : r.model->named_params()) out.push_back(p);
  for (auto& [name, p] : r.objective->parameters()) out.push_back(p);
  return out;
}

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
    cfg.pad_token_id = r.tokenizer->pad_id();
    r.model = LlamaModel(cfg);
  }
  r.model->to(r.device);
  r.model->train();
  r.model->set_grad_checkpoint(r.o.grad_checkpoint);
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
                   {"dataset", r.o.data},
                   {"world_size", r.group->size()},
                   {"global_batch", r.global_batch()},
                   {"loss_scaler", r.scaler->state()}};
  c.optimizer = r.optimizer->state();
  for (auto& [name, p] : r.objective->parameters()) c.extra.emplace_back(name, p.detach().cpu());
  save_checkpoint(dir, c);
}

void save_all(Run& r) {
  if (!r.writes()) return;
  save(r, r.o.out + "/checkpoint");
  if (r.o.keep_checkpoints) {
    char name[32];
    std::snprintf(name, sizeof name, "step-%06lld", static_cast<long long>(r.step));
    make_directories(r.o.out + "/checkpoints");
    save(r, r.o.out + "/checkpoints/" + name);
  }
}

struct StepResult {
  double loss = 0, grad_norm = 0;
  bool applied = true;  // false: fp16 overflow, the step was skipped
  std::map<std::string, double> metrics;
};

// One optimizer step over the global batch: this rank's grad_accum micro-batches
// (its slice of each), forward and backward under autocast, gradients averaged
// over ranks, clipping, AdamW. Loss and metrics are means over all ranks.
StepResult train_step(Run& r, double lr) {
  StepResult s;
  Batch batch;
  std::vector<double> sums;                 // loss, then each metric, then targets per data source
  std::vector<std::string> metric_names;
  std::vector<uint64_t> source_targets(r.data.datasets.size(), 0);
  for (int micro = 0; micro < r.o.grad_accum; ++micro) {
    r.stream->next_slice(batch, r.group->rank(), r.group->size());
    for (size_t k = 0; k < source_targets.size(); ++k) source_targets[k] += batch.source_targets[k];
    BatchTensors t = to_tensors(batch, r.device);
    r.reducer->before_backward(micro == r.o.grad_accum - 1);
    AutocastGuard autocast(r.autocast);
    ForwardOutput out = r.model->forward_full(t.inputs);
    LossResult l = r.objective->loss(out, t);
    r.scaler->scale_loss(l.loss / r.o.grad_accum).backward();
    s.loss += l.loss.item<double>() / r.o.grad_accum;
    for (auto& [k, v] : l.metrics) s.metrics[k] += v / r.o.grad_accum;
  }
  r.reducer->finish();  // every rank now holds the mean gradient of the global batch
  sums.push_back(s.loss);
  for (auto& [k, v] : s.metrics) metric_names.push_back(k), sums.push_back(v);
  for (uint64_t n : source_targets) sums.push_back(double(n));
  sums = r.group->sum(sums);
  s.loss = sums[0] / r.group->size();
  for (size_t i = 0; i < metric_names.size(); ++i) s.metrics[metric_names[i]] = sums[1 + i] / r.group->size();
  if (r.data.mixed())
    for (size_t k = 0; k < source_targets.size(); ++k)
      s.metrics["share/" + r.data.names[k]] = sums[1 + metric_names.size() + k] / (double(r.global_batch()) * r.o.seq_len);

  auto params = trained_parameters(r);
  r.scaler->unscale(params);
  s.grad_norm = r.optimizer->clip_grad_norm(r.o.grad_clip);
  s.applied = std::isfinite(s.grad_norm);
  r.scaler->update(s.applied);
  if (s.applied) r.optimizer->step(lr);
  else if (!r.scaler->enabled())
    fail("train", "the gradient became " + std::to_string(s.grad_norm) + " at step " + std::to_string(r.step),
         "lower --lr or check the data");
  r.optimizer->zero_grad();
  r.tokens += static_cast<uint64_t>(r.global_batch()) * r.o.seq_len;
  return s;
}

// Held-out loss on each dataset's validation shards (the ranks split the windows);
// for a mix, val_loss is the mean weighted like the mix.
double evaluate(Run& r, MetricsLog& log) {
  // Every held-out document counts, also those a filter objective drops in training.
  auto planner = [&](const DocumentView& d, DocumentPlan& p) {
    r.objective->plan(d, p);
    p.keep = true;
  };
  json rec = {{"type", "eval"}, {"step", r.step}, {"tokens", r.tokens}};
  double weighted = 0, weight = 0, tag_loss = 0;
  uint64_t tokens = 0;
  for (size_t k = 0; k < r.data.datasets.size(); ++k) {
    if (r.data.datasets[k].val.empty()) continue;
    // eval_batches global batches of held-out sequences, whatever the split over ranks and micro-batches.
    HeldoutLoss h = heldout_loss(r.model, r.data.datasets[k], planner, r.o.batch_size, r.o.seq_len,
                                 r.o.eval_batches * r.o.grad_accum, r.group.get());
    weighted += r.data.weights[k] * h.loss;
    weight += r.data.weights[k];
    tag_loss += r.data.weights[k] * h.tag_loss;
    tokens += h.tokens;
    if (r.data.mixed()) rec["val_loss/" + r.data.names[k]] = h.loss;
  }
  const double loss = weighted / weight;
  rec["val_loss"] = loss;
  rec["val_ppl"] = std::exp(loss);
  rec["val_tag_loss"] = tag_loss / weight;
  rec["val_tokens"] = tokens;
  if (r.writes()) log.write(rec);
  return loss;
}

// Joins the other ranks (if any) and picks this rank's device: a CUDA rank uses
// the GPU of its LOCAL_RANK unless --device names one.
void join_group(Run& r, const std::string& device_flag) {
  const DistEnv env = DistEnv::from_environment();
  torch::Device device = parse_device(device_flag);
  if (env.distributed() && device.is_cuda() && device_flag == "cuda")
    device = parse_device("cuda:" + std::to_string(env.local_rank));
  ProcessGroupOptions po;
  po.timeout = std::chrono::seconds(r.o.dist_timeout);
  r.group = ProcessGroup::join(env, device, po);
  r.device = device;
}

// Every rank starts from rank 0's weights (they are equal when seeded alike;
// this makes it so whatever the initialisation or checkpoint did).
void synchronise_weights(Run& r) {
  if (r.group->size() == 1) return;
  torch::NoGradGuard no_grad;
  auto params = trained_parameters(r);
  r.group->broadcast_from_main(params);
}

void restore(Run& r, const LoadedCheckpoint& ckpt, const std::string& ckpt_dir) {
  const std::string state = ckpt_dir + "/train_state.json";
  r.optimizer->load_state(ckpt.optimizer, ckpt_dir + "/optimizer.safetensors");
  r.stream->seek(StreamCursor::from_json(ckpt.train_state.at("cursor"), state));
  r.step = ckpt.train_state.at("step").get<int64_t>();
  torch::NoGradGuard no_grad;  // objective-owned weights (AWR value head) continue too
  for (auto& [name, p] : r.objective->parameters()) {
    auto it = ckpt.extra.find(name);
    if (it == ckpt.extra.end()) fail(ckpt_dir + "/extra.safetensors", "missing " + name, "the checkpoint is incomplete");
    p.copy_(it->second.to(p.device()));
  }
  r.tokens = ckpt.train_state.at("tokens").get<uint64_t>();
  if (ckpt.train_state.contains("loss_scaler")) r.scaler->load_state(ckpt.train_state.at("loss_scaler"), state);
}

void setup(Run& r, TrainOptions options, const std::set<std::string>& given) {
  std::unique_ptr<LoadedCheckpoint> ckpt;
  const std::string ckpt_dir = options.out + "/checkpoint";
  if (options.auto_resume && is_directory(ckpt_dir)) options.resume = true;
  // A fresh run never writes over a trained model: its checkpoint and its log are the user's.
  require(options.resume || !is_directory(ckpt_dir), options.out,
          "holds a run already (" + ckpt_dir + ")",
          "continue it with --resume (or --auto-resume), or give another --out");
  // As asked: --resume with --init-from is a conflict; a resumed run's own saved init_from is not.
  require(!(options.resume && !options.init_from.empty()), "--resume/--init-from", "give one or the other");
  if (!options.resume) validate(options);
  r.o = options;
  // A resumed run stays on its device unless --device says otherwise.
  std::string device = options.device;
  if (options.resume && !given.count("device") && file_exists(ckpt_dir + "/train_state.json"))
    device = read_json_file(ckpt_dir + "/train_state.json").at("options").value("device", device);
  join_group(r, device);
  if (options.resume) {
    if (!is_directory(ckpt_dir)) fail(ckpt_dir, "nothing to resume", "run without --resume first");
    ckpt = std::make_unique<LoadedCheckpoint>(load_checkpoint(ckpt_dir, r.device, true));
    r.o = resumed_options(options, given, ckpt->train_state, r.group->size(), ckpt_dir + "/train_state.json");
    validate(r.o);
  }
  r.data = DataMix::open(r.o.data);
  r.tokenizer = std::make_unique<Tokenizer>(Tokenizer::load_dir(r.data.first().dir));
  // init_from starts a fine-tuning run; resuming one continues its own weights (init_from stays
  // in its saved options as a record of where it started).
  const bool start_from_init = !r.o.resume && !r.o.init_from.empty();
  if (start_from_init) ckpt = std::make_unique<LoadedCheckpoint>(load_checkpoint(r.o.init_from, r.device, false));
  build_model(r, ckpt.get());
  r.objective = make_objective(r.o.objective, r.data.combined(), *r.tokenizer, r.device, r.model->config().dim);
  if (start_from_init) reinit_tag_rows(r.model, r.objective->tags_used());
  build_optimizer(r);
  if (r.o.cooldown_fraction > 0 && r.objective->tags_used().empty())
    fail("--cooldown-fraction", "objective " + r.objective->name() + " inserts no tags: there is nothing to cool down from",
         "use it with --objective conditional");
  DocumentPlanner planner = [obj = r.objective.get()](const DocumentView& d, DocumentPlan& p) { obj->plan(d, p); };
  if (r.o.cooldown_fraction > 0) planner = with_cooldown(planner, &r.step, cooldown_start(r.o.steps, r.o.cooldown_fraction));
  r.stream = std::make_unique<BatchStream>(r.data.train_sources(), planner, r.o.batch_size, r.o.seq_len, r.o.seed, true);
  r.policy = default_policy(r.o, *r.tokenizer);
  Policy::from_json(r.policy, TagVocabulary::of(*r.tokenizer), "policy");  // validate before training
  r.autocast = precision_dtype(r.o.precision);
  r.scaler = std::make_unique<LossScaler>(r.o.precision == "fp16");
  if (r.o.resume) restore(r, *ckpt, ckpt_dir);
  synchronise_weights(r);
  r.reducer = std::make_unique<GradReducer>(*r.group, trained_parameters(r), r.o.grad_bucket_mb, r.o.grad_overlap);
  r.peak_flops = peak_flops(r.device, r.autocast) * r.group->size();  // every rank brings its own
}

void print_plan(const Run& r) {
  const ModelConfig& c = r.model->config();
  note("train: " + human_count(double(c.parameter_count())) + " parameters (" + std::to_string(c.parameter_count()) +
       ") | objective " + r.objective->name() + " | " + human_count(double(r.data.train_tokens())) + " train tokens" +
       (r.data.mixed() ? " in " + std::to_string(r.data.datasets.size()) + " datasets" : "") + " | " +
       describe_compute() + " | precision " + r.o.precision + (r.o.resume ? " | resumed at step " + std::to_string(r.step) : ""));
  note("train: " + human_count(double(r.global_batch()) * r.o.seq_len) + " tokens per step = " +
       std::to_string(r.o.batch_size) + " x " + std::to_string(r.o.seq_len) + " tokens x " +
       std::to_string(r.o.grad_accum) + " micro-batches x " + std::to_string(r.group->size()) + " rank" +
       (r.group->size() == 1 ? "" : "s (" + r.group->backend() + ")"));
  note("train: memory per rank, estimated: " +
       estimate_training_memory(c, r.o.batch_size, r.o.seq_len, r.o.precision, r.o.grad_checkpoint).describe());
  if (!r.data.has_validation())
    note("train: warning: no dataset has validation shards, so there is no held-out loss "
         "(tokenize with --val-fraction > 0 and enough documents)");
}

}  // namespace

TrainResult train(TrainOptions options, const std::set<std::string>* given_flags) {
  Run r;
  const std::set<std::string> given = given_flags ? *given_flags : fields_changed_from_defaults(options);
  setup(r, std::move(options), given);
  const TrainOptions& o = r.o;
  std::unique_ptr<MetricsLog> log = std::make_unique<MetricsLog>();
  if (r.writes()) {
    make_directories(o.out);
    remove_stale_staging(o.out + "/checkpoint");
    if (o.resume) trim_metrics_log(o.out + "/metrics.jsonl", r.step);  // steps after the checkpoint run again
    ordered_json run = config_to_json(r.o);
    run["world_size"] = r.group->size();
    run["global_batch"] = r.global_batch();
    write_json_file(o.out + "/run.json", run);
    log = std::make_unique<MetricsLog>(o.out + "/metrics.jsonl");
    print_plan(r);
  } else {
    set_quiet(true);  // one rank speaks for the run; errors still reach stderr
  }
  const int64_t warmup = o.warmup_steps >= 0 ? o.warmup_steps : std::max<int64_t>(1, o.steps / 100);
  const int64_t end = o.stop_after > 0 ? std::min(o.steps, r.step + o.stop_after) : o.steps;
  const double flops_per_token = r.model->config().train_flops_per_token(o.seq_len);
  const bool has_val = r.data.has_validation();

  TrainResult result;
  Progress progress("train", static_cast<uint64_t>(o.steps), 10.0);
  auto window_start = std::chrono::steady_clock::now();
  uint64_t window_tokens = r.tokens;
  while (r.step < end) {
    const auto step_start = std::chrono::steady_clock::now();
    const double lr = lr_at(r.step, o.steps, warmup, o.lr, o.min_lr_ratio);
    StepResult s = train_step(r, lr);
    if (!std::isfinite(s.loss)) fail("train", "loss became " + std::to_string(s.loss) + " at step " + std::to_string(r.step),
                                     "lower --lr or check the data");
    ++r.step;
    result.losses.push_back(s.loss);
    const double step_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    const double step_tok_s = double(r.global_batch()) * o.seq_len / std::max(1e-9, step_secs);
    json rec = {{"type", "train"}, {"step", r.step}, {"tokens", r.tokens}, {"loss", s.loss}, {"lr", lr},
                {"grad_norm", s.grad_norm}, {"tok_s", step_tok_s}, {"mfu", flops_per_token * step_tok_s / r.peak_flops}};
    if (r.scaler->enabled()) rec["loss_scale"] = r.scaler->scale(), rec["step_skipped"] = !s.applied;
    if (o.cooldown_fraction > 0) rec["cooldown"] = r.step - 1 >= cooldown_start(o.steps, o.cooldown_fraction);
    for (auto& [k, v] : s.metrics) rec[k] = v;
    if (r.writes()) log->write(rec);
    if (r.step % o.log_every == 0 || r.step == end) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      double tok_s = double(r.tokens - window_tokens) / std::max(1e-9, secs);
      if (flops_per_token * tok_s > r.peak_flops)  // the cached peak was measured on a busy machine
        r.peak_flops = raise_peak_flops(r.device, r.autocast, flops_per_token * tok_s / r.group->size()) *
                       r.group->size();
      double mfu = flops_per_token * tok_s / r.peak_flops;
      char status[160];
      std::snprintf(status, sizeof status, "loss %.4f | lr %.2e | %s tok/s | mfu %.0f%%", s.loss, lr,
                    human_count(tok_s).c_str(), 100 * mfu);
      if (r.writes()) progress.update(static_cast<uint64_t>(r.step), status, true);
      result.tokens_per_second = tok_s;
      result.mfu = mfu;
      window_start = std::chrono::steady_clock::now();
      window_tokens = r.tokens;
    }
    if (has_val && o.eval_every > 0 && r.step % o.eval_every == 0 && r.step != end) result.val_loss = evaluate(r, *log);
    if (o.save_every > 0 && r.step % o.save_every == 0 && r.step != end) save_all(r);
  }
  if (has_val) result.val_loss = evaluate(r, *log);
  save_all(r);
  r.group->shutdown();  // every rank waits for rank 0's checkpoint
  if (r.writes())
    progress.finish((has_val ? "val loss " + std::to_string(result.val_loss) : std::string("no held-out loss")) +
                    " | checkpoint " + o.out + "/checkpoint");
  result.step = r.step;
  result.tokens = r.tokens;
  result.final_loss = result.losses.empty() ? 0 : result.losses.back();
  result.checkpoint = o.out + "/checkpoint";
  result.global_batch = r.global_batch();
  result.world_size = r.group->size();
  return result;
}

}  // namespace prealign
