// prealign eval kl: KL(model || base) per token on held-out text (src/eval/kl.hpp,
// docs/sft.md): how far fine-tuning moved a model from where it started. --data
// is a tokenized dataset directory, or a PAIRS.jsonl whose pairs are laid out
// as train --objective sft lays them out (seed prompt, --model's policy).
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/files.hpp"
#include "eval/eval_model.hpp"
#include "eval/kl.hpp"
#include "model/runtime.hpp"
#include "rl/sft_data.hpp"
#include "rl/task_prompt.hpp"

namespace prealign {
namespace {

struct KlOptions {
  std::string model, base, data, seed_prompt, policy;
  int seq_len = 256, batch_size = 8, max_sequences = 256;
  std::string out = "kl.json", device = "cpu";

  template <class V>
  void visit(V& v) {
    v("model", model, "the fine-tuned checkpoint (p in KL(p || q))");
    v("base", base, "the checkpoint it started from (q)");
    v("data", data, "a tokenized dataset directory, or a PAIRS.jsonl (full sequences as sft trains them)");
    v("seed_prompt", seed_prompt, "pairs: the seed prompt file placed before every pair");
    v("policy", policy, "pairs: the policy whose chat template lays them out (default: --model's)");
    v("seq_len", seq_len, "dataset: tokens per window; pairs: longer sequences are refused");
    v("batch_size", batch_size, "sequences per forward pass");
    v("max_sequences", max_sequences, "at most this many windows or pairs");
    v("device", device, "where the models run: cpu, cuda, cuda:N");
  }
};

void run_kl(const KlOptions& o) {
  EvalModel m = load_eval_model(o.model, o.device);
  LoadedCheckpoint base = load_checkpoint(o.base, parse_device(o.device));
  std::vector<std::vector<int>> sequences;
  std::string kind;
  if (is_directory(o.data)) {
    kind = "dataset";
    sequences = dataset_windows(o.data, o.seq_len, o.max_sequences);
  } else {
    kind = "pairs";
    const Policy policy = resolve_eval_policy(o.policy, m);
    std::vector<SftPair> pairs = read_pairs(o.data);
    if (pairs.size() > size_t(o.max_sequences)) pairs.resize(size_t(o.max_sequences));
    for (const SftExample& e : make_examples(pairs, *m.tokenizer, policy, read_seed_prompt(o.seed_prompt), o.seq_len + 1))
      sequences.push_back(e.tokens);
  }
  const KlResult r = kl_on_sequences(m.checkpoint.model, base.model, sequences, o.batch_size);
  ordered_json report = report_header("kl", m);
  report["base"] = o.base;
  report["data"] = o.data;
  report["data_kind"] = kind;
  report["kl"] = r.to_json();
  write_report(o.out, report);
  std::printf("KL(model || base) %.6f nats/token over %llu positions of %llu %s sequences (max at one position %.4f)\n",
              r.mean, static_cast<unsigned long long>(r.positions), static_cast<unsigned long long>(r.sequences),
              kind.c_str(), r.max_position);
}

}  // namespace

void register_eval_kl_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand("kl", "KL(model || base) per token on held-out text: how far fine-tuning moved a model");
  auto options = std::make_shared<KlOptions>();
  add_options(*cmd, *options);
  cmd->add_option("-o,--out", options->out, "report JSON")->capture_default_str();
  cmd->get_option("--model")->required();
  cmd->get_option("--base")->required();
  cmd->get_option("--data")->required();
  accept_shipped(*cmd, "--policy", ShippedKind::policy);
  cmd->callback([options] { run_kl(*options); });
}

}  // namespace prealign
