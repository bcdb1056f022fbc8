// prealign demo --modes: seed 000 at toy size, no arguments, a few minutes:
//   synth world -> lint -> tokenizer -> shards -> tiny mode model ->
//   the lock (samples linted, harmful rate vs human-mode starts) -> jailbreak suite.
#include <cstdio>

#include "core/files.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "corpus/lint.hpp"
#include "data/tokenize.hpp"
#include "eval/mode_evals.hpp"
#include "synth/world.hpp"
#include "train/trainer.hpp"

namespace prealign {

void run_modes_demo(const std::string& out, bool tiny) {
  Progress total("demo --modes", 0);
  make_directories(out);
  const std::string tagset_path = find_shipped_file("configs/tagsets/ai_modes.json");
  const std::string policy_path = find_shipped_file("configs/policies/ai_mode.json");
  const Tagset tags = Tagset::load(tagset_path);

  note("demo --modes: 1/6 synth world: 2000 documents with ground-truth harm spans");
  WorldOptions wo;
  wo.documents = tiny ? 300 : 2000;  // --tiny: a smoke test's size, the figures mean nothing
  const std::string corpus = out + "/corpus.jsonl";
  write_world_corpus(wo, corpus);

  note("demo --modes: 2/6 lint against the ai_mode grammar");
  const ModeGrammar grammar = ModeGrammar::load(policy_path);
  std::vector<LintViolation> violations;
  ModeStats stats;
  std::vector<std::string> texts;
  for (uint64_t i = 0; i < wo.documents; ++i) texts.push_back(world_document(wo, i).text);
  for (size_t i = 0; i < texts.size(); ++i) lint_text(grammar, tags, texts[i], std::to_string(i), {}, violations, stats);

  note("demo --modes: 3/6 tokenizer (tags as control symbols) and shards");
  make_directories(out + "/tokenizer");
  size_t next = 0;
  TokenizerTrainOptions tt;
  tt.vocab_size = tiny ? 400 : 1024;
  Tokenizer::train(
      [&](std::string& text) {
        if (next >= texts.size()) return false;
        text.clear();
        for (const MarkupPiece& p : parse_markup(texts[next++], tags))
          if (!p.is_tag) text += p.text + "\n";  // no piece learned across a tag
        return true;
      },
      tags, tt, out + "/tokenizer/tokenizer.model");
  write_json_file(out + "/tokenizer/tagset.json", tags.to_json());
  Tokenizer tok = Tokenizer::load_dir(out + "/tokenizer");
  TokenizeOptions to;
  to.out = out + "/data";
  to.tagged = true;
  const TokenizeStats ts = tokenize_corpus({corpus}, tok, to);

  note("demo --modes: 4/6 training a tiny mode model (mle on the tagged text, ai_mode policy stored)");
  TrainOptions t;
  t.data = to.out;
  t.out = out + "/model";
  t.model = tiny ? "dim=32,layers=1,heads=2,ctx=256" : "tiny";  // ctx: the longest jailbreak prompt + 24
  t.steps = tiny ? 6 : 200;
  t.batch_size = tiny ? 4 : 16;
  t.seq_len = tiny ? 128 : 256;
  t.eval_batches = tiny ? 4 : t.eval_batches;
  t.lr = 2e-3;
  t.eval_every = 0;
  t.policy = policy_path;
  t.auto_resume = true;  // a second run in the same out reuses (or finishes) its model
  const TrainResult tr = train(t);

  note("demo --modes: 5/6 the lock");
  ModeEvalOptions eo;
  eo.model = tr.checkpoint;
  eo.policy = policy_path;
  eo.samples = tiny ? 30 : 300;
  eo.generate.max_new_tokens = tiny ? 24 : 64;
  eo.generate.seed = 1;
  eo.out = out + "/lock.json";
  const ordered_json lock = run_lock_eval(eo);
  note("demo --modes: 6/6 jailbreak suite");
  eo.samples = tiny ? 2 : 12;
  eo.out = out + "/jailbreak.json";
  const ordered_json jb = run_jailbreak_eval(eo);

  std::printf("\nprealign demo --modes: %llu documents (%s tokens), lint violations %llu, quotes %llu (all cut short: %s)\n",
              static_cast<unsigned long long>(stats.documents), human_count(double(ts.tokens())).c_str(),
              static_cast<unsigned long long>(stats.violations), static_cast<unsigned long long>(stats.quotes),
              stats.quotes == stats.quotes_cut_short ? "yes" : "no");
  std::printf("mode model: %s, %lld steps, held-out loss %.4f\n", t.model.c_str(), static_cast<long long>(tr.step), tr.val_loss);
  std::printf("lock: %d samples, grammar violations %.0f; harmful rate on story openings: locked %.3f vs human mode %.3f\n",
              lock["locked"]["samples"].get<int>(), lock["locked"]["violations"].get<double>(),
              lock["locked"]["by_family"]["bad_act_opening"]["harmful_rate"].get<double>(),
              lock["human_start"]["harmful_rate"].get<double>());
  std::printf("jailbreaks: harmful rate %.3f over %d samples; AUROC of max temptation vs benign %s\n",
              jb["all_jailbreaks"]["harmful_rate"].get<double>(), jb["all_jailbreaks"]["samples"].get<int>(),
              jb["auroc_max_temptation_jailbreak_vs_benign"].dump().c_str());
  std::printf("written: %s/{corpus.jsonl, tokenizer/, data/, model/, lock.json, jailbreak.json}; docs/modes.md\n",
              out.c_str());
  std::printf("demo --modes took %s\n", human_duration(total.elapsed_seconds()).c_str());
}

}  // namespace prealign
