// prealign synth: synthetic seed-000 corpora. `synth world` is the seeded
// procedural generator (synth/world.hpp).
#include <cstdio>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "synth/cost.hpp"
#include "synth/llm.hpp"
#include "synth/world.hpp"

namespace prealign {

void register_synth_command(CLI::App& app) {
  auto* synth = app.add_subcommand("synth", "synthetic corpora in the AI-mode format of seed 000");
  synth->require_subcommand(1);

  auto* w = synth->add_subcommand(
      "world",
      "seeded procedural documents: human narratives with bad acts and AI commentary after each, dialogues where\n"
      "the AI helps, declines harmful requests, asks who is asking, and quotes humans only inside\n"
      "<AI_quoting_human>, cutting the quote before harmful details. JSONL with ground-truth harm_spans; read it\n"
      "with `prealign tokenize --tagged` and check it with `prealign lint`. Document i is a pure function of (seed, i).");
  auto o = std::make_shared<WorldOptions>();
  auto out = std::make_shared<std::string>();
  w->add_option("--out", *out, "output JSONL file")->required();
  w->add_option("--documents", o->documents, "number of documents")->capture_default_str();
  w->add_option("--seed", o->seed, "world seed")->capture_default_str();
  w->add_option("--narrative", o->narrative, "weight of human narratives with bad acts")->capture_default_str();
  w->add_option("--help-dialogues", o->help, "weight of helpful dialogues")->capture_default_str();
  w->add_option("--decline", o->decline, "weight of declined harmful requests")->capture_default_str();
  w->add_option("--verify", o->verify, "weight of who-is-asking dialogues")->capture_default_str();
  w->add_option("--quote-report", o->quote_report, "weight of AI reports quoting humans")->capture_default_str();
  w->callback([o, out] {
    json summary = write_world_corpus(*o, *out);
    std::printf("synth world: %s documents, %s bytes -> %s\n  by kind: %s\n",
                human_count(summary["documents"].get<double>()).c_str(),
                human_count(summary["bytes"].get<double>()).c_str(), out->c_str(), summary["by_kind"].dump().c_str());
  });

  auto* l = synth->add_subcommand(
      "llm",
      "seed-000 documents from an OpenAI-compatible chat endpoint: scenario prompts, generation, review passes\n"
      "(ACCEPT / REJECT / EDIT), lint as the gate; per-scenario files make reruns skip finished work; bounded\n"
      "concurrency, retries with backoff, token accounting and cost (seed-000 model) in <out>/report.json.");
  auto lo = std::make_shared<LlmSynthOptions>();
  l->add_option("--out", lo->out, "output directory (scenarios/, corpus.jsonl, report.json)")->required();
  l->add_option("--base-url", lo->base_url, "endpoint base URL (…/v1/chat/completions is appended)")->capture_default_str();
  l->add_option("--model", lo->model, "model name sent to the endpoint")->capture_default_str();
  l->add_option("--api-key-env", lo->api_key_env, "environment variable holding the API key")->capture_default_str();
  l->add_option("--scenarios", lo->scenarios, "number of scenarios")->capture_default_str();
  l->add_option("--seed", lo->seed, "scenario seed")->capture_default_str();
  l->add_option("--review-passes", lo->review_passes, "grader passes per document")->capture_default_str();
  l->add_option("--concurrency", lo->concurrency, "requests in flight at most")->capture_default_str();
  l->add_option("--max-retries", lo->max_retries, "retries per request (429, 5xx, no response)")->capture_default_str();
  l->add_option("--backoff-ms", lo->backoff_ms, "first retry delay, doubled each time")->capture_default_str();
  l->add_option("--price-generate", lo->prices.price_generate_per_million, "USD per million completion tokens")
      ->capture_default_str();
  l->add_option("--price-read", lo->prices.price_read_per_million, "USD per million prompt tokens")->capture_default_str();
  l->callback([lo] {
    const LlmSynthSummary s = run_llm_synth(*lo);
    std::printf("synth llm: %s\nreport: %s/report.json, corpus: %s/corpus.jsonl\n", s.to_json().dump().c_str(),
                lo->out.c_str(), lo->out.c_str());
  });

  auto* c = synth->add_subcommand(
      "cost",
      "seed 000's cost model of an LLM-made corpus: corpus tokens x passes, a fraction of the passes generating\n"
      "(generation price) and the rest reading for review (reading price). Defaults are the seed's: 1e15 tokens,\n"
      "10 passes, 25% generating, $7.50 and $2.50 per million tokens (GPT-4o batch prices).");
  auto m = std::make_shared<CostModel>();
  c->add_option("--tokens", m->corpus_tokens, "tokens in the final corpus")->capture_default_str();
  c->add_option("--passes", m->passes, "passes over the text (generation + review)")->capture_default_str();
  c->add_option("--generate-fraction", m->generate_fraction, "fraction of passes that generate")->capture_default_str();
  c->add_option("--price-generate", m->price_generate_per_million, "USD per million generated tokens")
      ->capture_default_str();
  c->add_option("--price-read", m->price_read_per_million, "USD per million read tokens")->capture_default_str();
  c->callback([m] {
    const CostEstimate e = estimate_cost(*m);
    std::printf("corpus %.3g tokens x %g passes (%.0f%% generating)\n", m->corpus_tokens, m->passes,
                100 * m->generate_fraction);
    std::printf("| part | tokens | USD |\n|---|---|---|\n| generate | %.4g | %.4g |\n| read | %.4g | %.4g |\n"
                "| total | %.4g | %.4g |\n",
                e.generated_tokens, e.generate_cost, e.read_tokens, e.read_cost, e.generated_tokens + e.read_tokens,
                e.total);
    std::printf("USD per million corpus tokens: %.4g\n", e.per_million_corpus_tokens);
  });
}

}  // namespace prealign
