// prealign demo: the whole pipeline on data already on the machine, no network.
//   Python files -> pep8 score per line -> tokenizer -> shards
//   -> an MLE model and a conditional model on the same token budget
//   -> samples from held-out function signatures, conditional under good_only
//   -> a table: pep8 violations per character of the samples, held-out loss, temptation.
#include <algorithm>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/lines.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "core/utf8.hpp"
#include "corpus/document.hpp"
#include "corpus/reader.hpp"
#include "data/tokenize.hpp"
#include "decode/generator.hpp"
#include "model/checkpoint.hpp"
#include "score/pep8.hpp"
#include "score/pipeline.hpp"
#include "train/trainer.hpp"

namespace prealign {
namespace {

struct DemoOptions {
  std::string out = "runs/demo";
  std::string corpus = "/usr/lib/python3.11";  // top-level *.py files of this directory
  uint64_t max_bytes = 6000000;
  int vocab_size = 2048;
  double val_fraction = 0.1;  // files held out: held-out loss and the signature prompts
  std::string model = "dim=192,layers=4,heads=6,ctx=256";
  int64_t steps = 600;
  int batch_size = 16;
  int seq_len = 128;
  double lr = 2e-3;
  int samples = 64;
  int max_new_tokens = 128;
  double temperature = 0.7;  // PHF sampling settings
  double top_p = 0.9;
  uint64_t seed = 1;

  template <class V>
  void visit(V& v) {
    v("out", out, "directory for everything the demo writes");
    v("corpus", corpus, "directory whose top-level *.py files are the corpus");
    v("max_bytes", max_bytes, "read at most this many bytes of Python");
    v("vocab_size", vocab_size, "tokenizer vocabulary size");
    v("val_fraction", val_fraction, "fraction of the files held out (held-out loss, prompts)");
    v("model", model, "model preset or spec, the same for both models");
    v("steps", steps, "training steps for each model");
    v("batch_size", batch_size, "sequences per step");
    v("seq_len", seq_len, "tokens per sequence");
    v("lr", lr, "peak learning rate");
    v("samples", samples, "samples per model (prompts: held-out function signatures)");
    v("max_new_tokens", max_new_tokens, "tokens per sample");
    v("temperature", temperature, "sampling temperature");
    v("top_p", top_p, "nucleus sampling mass");
    v("seed", seed, "seed for everything");
  }
};

std::vector<std::string> python_files(const DemoOptions& o) {
  std::vector<std::string> files;
  uint64_t total = 0;
  for (const auto& f : list_files(o.corpus, "*.py")) {
    if (f.find('/', o.corpus.size() + 1) != std::string::npos) continue;  // top level only
    uint64_t size = file_size(f);
    if (size == 0 || size > 400000) continue;
    if (total + size > o.max_bytes) break;
    files.push_back(f);
    total += size;
  }
  if (files.empty()) fail(o.corpus, "no Python files found", "pass --corpus DIR with *.py files");
  return files;
}

// The scoring stage proper (what `prealign score --config pep8` runs): each file
// is a document whose segments are its lines, scored by pycodestyle file by file.
std::vector<Document> score_corpus(const std::vector<std::string>& files, const std::string& scored) {
  const std::string config = find_shipped_file("configs/score/pep8.json");
  ScoreRunOptions run;
  run.out = scored;
  run.quiet = true;
  run.skip_bad = true;  // a stray non-UTF-8 file in the library is passed over, not fatal
  run_score(files, ScoreConfig::from_json(read_json_file(config), config), run);
  std::vector<Document> docs;
  read_corpus({scored}, CorpusReadOptions{}, [&](Document&& d) { docs.push_back(std::move(d)); });
  return docs;
}

// Held-out prompts, as PHF: function signatures from files of the validation split.
std::vector<std::string> signature_prompts(const std::vector<Document>& docs, const TokenizeOptions& t, int n) {
  std::vector<std::string> prompts;
  for (const auto& d : docs) {
    if (!is_validation_document(d.id, t.seed, t.val_fraction)) continue;
    for (const auto& [b, e] : split_lines(d.text)) {
      std::string line = d.text.substr(b, e - b);
      if (line.rfind("def ", 0) == 0 && line.find("):") != std::string::npos) prompts.push_back(line);
    }
  }
  if (prompts.empty()) fail("demo", "no function signatures in the held-out files", "use a larger --max-bytes");
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prompts[static_cast<size_t>(i) % prompts.size()]);
  return out;
}

struct SampleStats {
  double pep8_per_char = 0, with_violation = 0, mean_temptation = 0, max_temptation = 0;
  int flagged = 0;
};

SampleStats sample_and_score(const std::string& checkpoint, const std::vector<std::string>& prompts,
                             const DemoOptions& o, const std::string& samples_path) {
  LoadedCheckpoint ck = load_checkpoint(checkpoint, torch::kCPU);
  Tokenizer tok = Tokenizer::load_dir(checkpoint);
  Policy policy = Policy::from_json(ck.policy, TagVocabulary::of(tok), checkpoint + "/policy.json");
  Generator gen(ck.model, tok, policy);
  Pep8Scorer scorer;
  JsonlWriter out(samples_path);
  SampleStats s;
  double temptation_sum = 0;
  size_t tokens = 0;
  GenerateOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.temperature = o.temperature;
  g.top_p = o.top_p;
  std::vector<uint64_t> seeds;
  for (size_t i = 0; i < prompts.size(); ++i) seeds.push_back(o.seed * 1000003 + i);
  for (const Generation& r : gen.generate_batch(prompts, g, seeds)) {
    double score = scorer.score_text(r.prompt + r.text);  // PHF scores prompt + continuation
    s.pep8_per_char += score / double(prompts.size());
    s.with_violation += (score > 0) / double(prompts.size());
    for (const auto& t : r.tokens) temptation_sum += t.temptation_total;
    tokens += r.tokens.size();
    s.max_temptation = std::max<double>(s.max_temptation, r.max_temptation);
    s.flagged += r.flags;
    json rec = generation_to_json(r);
    rec["pep8_per_char"] = score;
    out.write(rec);
  }
  out.commit();
  s.mean_temptation = tokens ? temptation_sum / double(tokens) : 0;
  return s;
}

TrainResult train_model(const DemoOptions& o, const std::string& objective, const std::string& data) {
  TrainOptions t;
  t.data = data;
  t.out = o.out + "/" + objective;
  t.model = o.model;
  t.steps = o.steps;
  t.batch_size = o.batch_size;
  t.seq_len = o.seq_len;
  t.lr = o.lr;
  t.seed = o.seed;
  t.eval_every = 0;
  t.eval_batches = 32;
  t.objective.name = objective;  // PHF pep8 defaults: threshold 0, drop_fraction 0.1
  t.auto_resume = true;          // a second demo in the same --out reuses (or finishes) its models
  return train(t);
}

void run_demo(const DemoOptions& o) {
  Progress total("demo", 0);
  make_directories(o.out);
  note("demo: 1/6 scoring Python files with pycodestyle (violations per character of each line)");
  const std::string scored = o.out + "/corpus.scored.jsonl";
  std::vector<Document> docs = score_corpus(python_files(o), scored);

  note("demo: 2/6 training a tokenizer (tags as control symbols)");
  TokenizeOptions tokopt;
  tokopt.out = o.out + "/data";
  tokopt.seed = o.seed;
  tokopt.val_fraction = o.val_fraction;
  Tagset tags = Tagset::load(find_shipped_file("configs/tagsets/good_bad.json"));
  make_directories(o.out + "/tokenizer");
  size_t next = 0;
  TokenizerTrainOptions tt;
  tt.vocab_size = o.vocab_size;
  Tokenizer::train(
      [&](std::string& text) {
        while (next < docs.size() && is_validation_document(docs[next].id, tokopt.seed, tokopt.val_fraction)) ++next;
        if (next >= docs.size()) return false;
        text = docs[next++].text;
        return true;
      },
      tags, tt, o.out + "/tokenizer/tokenizer.model");
  write_json_file(o.out + "/tokenizer/tagset.json", tags.to_json());
  Tokenizer tok = Tokenizer::load_dir(o.out + "/tokenizer");

  note("demo: 3/6 tokenizing into shards (segment scores kept; tags are chosen at batch time)");
  TokenizeStats ts = tokenize_corpus({scored}, tok, tokopt);
  note(format_tokenize_summary(ts));

  note("demo: 4/6 training the MLE baseline");
  TrainResult mle = train_model(o, "mle", tokopt.out);
  note("demo: 5/6 training the conditional model (<|good|>/<|bad|> before every line)");
  TrainResult cond = train_model(o, "conditional", tokopt.out);

  note("demo: 6/6 sampling from held-out function signatures and scoring the samples");
  auto prompts = signature_prompts(docs, tokopt, o.samples);
  SampleStats ms = sample_and_score(mle.checkpoint, prompts, o, o.out + "/mle/samples.jsonl");
  SampleStats cs = sample_and_score(cond.checkpoint, prompts, o, o.out + "/conditional/samples.jsonl");
  double corpus_rate = 0, corpus_chars = 0;
  for (const auto& d : docs)
    for (const auto& s : d.segments) {
      corpus_rate += s.scores[0] * double(utf8_length(std::string_view(d.text).substr(s.begin, s.end - s.begin)));
      corpus_chars += double(utf8_length(std::string_view(d.text).substr(s.begin, s.end - s.begin)));
    }

  std::printf("\nprealign demo: PEP8 on %zu Python files (%s tokens), %lld steps x %d x %d tokens per model\n\n",
              docs.size(), human_count(double(ts.tokens())).c_str(), static_cast<long long>(o.steps), o.batch_size,
              o.seq_len);
  std::printf("| model | policy | pep8 violations/char of samples | samples with a violation | held-out loss "
              "| mean temptation | max temptation |\n|---|---|---|---|---|---|---|\n");
  std::printf("| mle | unrestricted | %.5f | %.0f%% | %.4f | - | - |\n", ms.pep8_per_char, 100 * ms.with_violation,
              mle.val_loss);
  std::printf("| conditional | good_only | %.5f | %.0f%% | %.4f | %.4f | %.3f |\n", cs.pep8_per_char,
              100 * cs.with_violation, cond.val_loss, cs.mean_temptation, cs.max_temptation);
  std::printf("\ncorpus itself: %.5f violations/char. conditional/mle ratio of sample violations: %.2f\n",
              corpus_chars > 0 ? corpus_rate / corpus_chars : 0.0,
              ms.pep8_per_char > 0 ? cs.pep8_per_char / ms.pep8_per_char : 0.0);
  std::printf("held-out loss excludes tag tokens; temptation = p(<|bad|>) under the raw logits at each sampled token.\n");
  std::printf("\nwritten: %s/{corpus.scored.jsonl, tokenizer/, data/, mle/, conditional/}\n", o.out.c_str());
  std::printf("  checkpoints: %s/mle/checkpoint, %s/conditional/checkpoint\n", o.out.c_str(), o.out.c_str());
  std::printf("  samples with per-token temptation: %s/conditional/samples.jsonl; logs: */metrics.jsonl\n",
              o.out.c_str());
  std::printf("  try: prealign generate --model %s/conditional/checkpoint --prompt 'def parse(path):' --json\n",
              o.out.c_str());
  std::printf("demo took %s\n", human_duration(total.elapsed_seconds()).c_str());
}

}  // namespace

void run_modes_demo(const std::string& out, bool tiny);  // cmd_demo_modes.cpp: seed 000 at toy size

// --tiny: the whole pipeline in seconds, for smoke tests (the numbers mean nothing).
void make_tiny(DemoOptions& o) {
  o.max_bytes = 1000000;
  o.val_fraction = 0.3;  // a few dozen files: enough held out for signature prompts
  o.vocab_size = 400;
  o.model = "dim=32,layers=1,heads=2,ctx=64";
  o.steps = 8;
  o.batch_size = 4;
  o.seq_len = 64;
  o.samples = 6;
  o.max_new_tokens = 24;
}

void register_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "train an MLE and a conditional model on PEP8-scored Python and compare them");
  auto options = std::make_shared<DemoOptions>();
  add_options(*cmd, *options);
  accept_model_spec(cmd->get_option("--model"));
  auto modes = std::make_shared<bool>(false);
  cmd->add_flag("--modes", *modes, "instead: the seed-000 AI-mode demo (synth world, lint, mode model, lock, jailbreaks)");
  auto tiny = std::make_shared<bool>(false);
  cmd->add_flag("--tiny", *tiny,
                "a seconds-long run of the same pipeline, for smoke tests: sizes overridden, the figures mean nothing");
  cmd->callback([options, modes, tiny] {
    if (*modes) return run_modes_demo(options->out == "runs/demo" ? "runs/demo-modes" : options->out, *tiny);
    if (*tiny) make_tiny(*options);
    run_demo(*options);
  });
}

}  // namespace prealign
