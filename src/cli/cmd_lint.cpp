// prealign lint: a tagged corpus checked against a policy's grammar. Prints each
// violation (record, document id, byte offset, what), then the mode statistics;
// exits with an error when anything was found, so it can gate a pipeline.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/shipped.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "corpus/lint.hpp"
#include "corpus/reader.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {
namespace {

struct LintArgs {
  std::vector<std::string> inputs;
  std::string policy = "ai_mode";
  std::string tagset = "ai_modes";
  std::string tokenizer;  // optional: count tokens per mode
  std::string report;     // optional JSON report
  std::string text_field = "text", id_field = "id";
  int show = 50;
  bool allow_unfinished = false;
};

void print_stats(const ModeStats& s) {
  std::printf("documents %llu | with violations %llu | violations %llu\n",
              static_cast<unsigned long long>(s.documents), static_cast<unsigned long long>(s.documents_with_violations),
              static_cast<unsigned long long>(s.violations));
  for (const auto& [kind, n] : s.violations_by_kind)
    std::printf("  %-14s %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
  std::printf("| state | bytes | tokens |\n|---|---|---|\n");
  for (const auto& [state, b] : s.bytes) {
    auto t = s.tokens.find(state);
    std::printf("| %s | %s | %s |\n", state.c_str(), human_count(double(b)).c_str(),
                t == s.tokens.end() ? "-" : human_count(double(t->second)).c_str());
  }
  std::printf("quotes %llu | cut short %llu | documents with AI text %llu | with AI text after human text %llu\n",
              static_cast<unsigned long long>(s.quotes), static_cast<unsigned long long>(s.quotes_cut_short),
              static_cast<unsigned long long>(s.documents_with_ai),
              static_cast<unsigned long long>(s.documents_with_commentary));
}

void run_lint(const LintArgs& a) {
  const std::string policy_path = resolve_config(a.policy, kPolicyFolder);
  const ModeGrammar grammar = ModeGrammar::load(policy_path);
  const Tagset tagset = Tagset::load(resolve_config(a.tagset, kTagsetFolder));
  std::unique_ptr<Tokenizer> tok;
  if (!a.tokenizer.empty()) tok = std::make_unique<Tokenizer>(Tokenizer::load_dir(a.tokenizer));
  LintOptions lo;
  lo.require_end = !a.allow_unfinished;

  CorpusReadOptions ro;
  ro.tagged = true;
  ro.text_field = a.text_field;
  ro.id_field = a.id_field;
  ModeStats stats;
  json shown = json::array();
  read_corpus(a.inputs, ro, [&](Document&& doc) {
    std::vector<LintViolation> found;
    lint_text(grammar, tagset, doc.text, doc.id, lo, found, stats, tok.get());
    for (const LintViolation& v : found) {
      if (static_cast<int>(shown.size()) >= a.show) break;
      std::printf("%s: document \"%s\" byte %llu: %s: %s\n", doc.where.c_str(), v.document.c_str(),
                  static_cast<unsigned long long>(v.offset), v.kind.c_str(), v.message.c_str());
      shown.push_back({{"where", doc.where}, {"document", v.document}, {"offset", v.offset}, {"kind", v.kind},
                       {"message", v.message}});
    }
  });
  print_stats(stats);
  if (!a.report.empty()) {
    ordered_json r;
    r["policy"] = policy_path;
    r["inputs"] = a.inputs;
    r["stats"] = stats.to_json();
    r["violations_shown"] = shown;
    write_json_file(a.report, r);
  }
  if (stats.violations > 0)
    fail(a.inputs.front(), std::to_string(stats.violations) + " grammar violations in " +
                               std::to_string(stats.documents_with_violations) + " documents",
         "fix the documents listed above (--show N lists more)");
}

}  // namespace

void register_lint_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "lint",
      "check a tagged corpus (inline tags, JSONL or text) against a policy's grammar: balanced tags, only\n"
      "allowed transitions, every quote closed inside AI mode, no near-miss tags such as <ai>. Prints each\n"
      "violation with document id and byte offset, then bytes/tokens per mode, quotes, quotes cut short\n"
      "and documents with AI text after human text. Exits non-zero when there is any violation.");
  auto a = std::make_shared<LintArgs>();
  cmd->add_option("inputs", a->inputs, "tagged corpus: JSONL files, text files or directories")->required();
  accept_shipped(cmd->add_option("--policy", a->policy, "policy file or name")->capture_default_str(),
                 ShippedKind::policy);
  accept_shipped(
      cmd->add_option("--tagset", a->tagset, "tagset file or name (which tag names are tags)")->capture_default_str(),
      ShippedKind::tagset);
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer directory: also count tokens per mode");
  cmd->add_option("--report", a->report, "write the statistics and listed violations as JSON here");
  cmd->add_option("--show", a->show, "list at most this many violations")->capture_default_str();
  cmd->add_option("--text-field", a->text_field, "JSONL field holding the text")->capture_default_str();
  cmd->add_option("--id-field", a->id_field, "JSONL field holding the document id")->capture_default_str();
  cmd->add_flag("--allow-unfinished", a->allow_unfinished,
                "documents may end inside AI mode (truncated generations)");
  cmd->callback([a] { run_lint(*a); });
}

}  // namespace prealign
