#include "eval/bias_bands.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/lines.hpp"
#include "core/progress.hpp"
#include "core/utf8.hpp"
#include "eval/eval_model.hpp"
#include "eval/misalignment.hpp"
#include "eval/stats.hpp"

namespace prealign {

namespace {

struct Band {
  std::string name;  // as given: "0", "-2", "ban"
  double bias = 0;
  bool banned = false;
};

std::vector<Band> parse_bands(const std::string& list) {
  std::vector<Band> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    Band b{item, 0.0, item == "ban"};
    if (!b.banned) {
      size_t used = 0;
      try {
        b.bias = std::stod(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (item.empty() || used != item.size() || !std::isfinite(b.bias) || std::fabs(b.bias) > 100)
        fail("--biases", "\"" + item + "\" is neither a number in [-100, 100] nor \"ban\"", "e.g. --biases 0,-2,-4,ban");
    }
    out.push_back(b);
  }
  if (out.empty()) fail("--biases", "no bands given", "e.g. --biases 0,-2,-4,ban");
  return out;
}

// The policy objects of a policy file: the file's own and its "policies".
std::vector<json*> policy_objects(json& j) {
  std::vector<json*> out{&j};
  if (j.contains("policies") && j["policies"].is_object())
    for (auto it = j["policies"].begin(); it != j["policies"].end(); ++it) out.push_back(&it.value());
  return out;
}

}  // namespace

TagCount count_tag(const std::vector<Generation>& samples, int tag_id) {
  TagCount c;
  for (const Generation& g : samples) {
    int here = 0;
    c.raw_p.emplace_back();
    for (const TokenRecord& r : g.tokens) {
      if (r.id != tag_id) continue;
      ++here;
      c.raw_p.back().push_back(r.p_raw);
      ++c.by_raw_p[r.p_raw < 0.1f ? 0 : r.p_raw < 0.5f ? 1 : 2];
    }
    c.per_sample.push_back(here);
    c.tokens_per_sample.push_back(static_cast<int>(g.tokens.size()));
    c.samples += 1;
    c.samples_with_tag += here > 0;
    c.occurrences += here;
    c.tokens += static_cast<int64_t>(g.tokens.size());
  }
  return c;
}

json band_policy(const json& base, const std::string& tag, double bias, bool banned) {
  json j = base;
  bool allowed_somewhere = false;
  for (json* p : policy_objects(j)) {
    if (p->contains("states") && (*p)["states"].is_object())
      for (auto it = (*p)["states"].begin(); it != (*p)["states"].end(); ++it) {
        json& state = it.value();
        if (!state.contains("allow") || !state["allow"].contains(tag)) continue;
        allowed_somewhere = true;
        if (banned) state["allow"].erase(tag);
      }
    if (banned) {
      if (p->contains("bias")) (*p)["bias"].erase(tag);
    } else {
      (*p)["bias"][tag] = bias;
    }
  }
  if (!allowed_somewhere)
    fail("--tag " + tag, "the base policy bans it in every state: no bias can change how often it appears",
         "give a --policy that allows it (e.g. \"none\", or a copy of yours with the tag allowed)");
  if (banned && j.contains("start") && j["start"].contains("tags"))
    for (const json& t : j["start"]["tags"])
      if (t == tag) fail("--tag " + tag, "is one of the policy's start tags and cannot be banned");
  j["name"] = j.value("name", std::string("policy")) + (banned ? "+ban" : "+bias");
  return j;
}

ordered_json run_bias_bands(const BiasBandOptions& o) {
  require(o.samples > 0 && o.batch > 0, "--samples/--batch", "must be positive");
  require(!o.tag.empty(), "--tag", "no tag given", "the tag to bias and count, e.g. --tag '<|bad|>'");
  const std::vector<Band> bands = parse_bands(o.biases);
  EvalModel m = load_eval_model(o.model, o.device);
  const TagVocabulary vocab = TagVocabulary::of(*m.tokenizer);
  const int tag_id = vocab.id(o.tag, "--tag");
  const Policy base = resolve_eval_policy(o.policy, m);
  const std::vector<std::string> prompts = o.prompts.empty() ? std::vector<std::string>{""} : read_prompts(o.prompts);
  make_directories(o.out);
  GenerateOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.temperature = o.temperature;
  g.top_p = o.top_p;

  ordered_json rep = report_header("bias_bands", m);
  rep["policy"] = base.name();
  rep["tag"] = o.tag;
  rep["prompts"] = o.prompts.empty() ? "unconditional" : o.prompts;
  rep["settings"] = config_to_json(const_cast<BiasBandOptions&>(o));
  rep["bands"] = ordered_json::array();
  std::printf("bias bands: %s, %d samples per band of at most %d tokens, policy %s, temperature %g, top-p %g\n",
              o.tag.c_str(), o.samples, o.max_new_tokens, base.name().c_str(), o.temperature, o.top_p);
  std::printf("| bias | samples with %s [95%% Wilson] | per 1k tokens [95%% bootstrap] | occurrences | at raw p < 0.1 "
              "/ 0.1-0.5 / >= 0.5 | tokens |\n",
              o.tag.c_str());
  std::printf("|---|---|---|---|---|---|\n");
  for (const Band& band : bands) {
    const Policy policy = Policy::from_json(band_policy(base.source(), o.tag, band.bias, band.banned), vocab,
                                            "policy " + base.name() + " with " + o.tag + " at " + band.name);
    Generator gen(m.checkpoint.model, *m.tokenizer, policy);
    std::vector<Generation> gens;
    Progress progress("bias " + band.name, static_cast<uint64_t>(o.samples));
    for (int start = 0; start < o.samples; start += o.batch) {
      std::vector<std::string> batch;
      std::vector<uint64_t> seeds;
      for (int i = start; i < std::min(o.samples, start + o.batch); ++i) {
        batch.push_back(prompts[size_t(i) % prompts.size()]);
        seeds.push_back(o.seed * 1000003ULL + uint64_t(i));  // the same in every band
      }
      for (auto& r : gen.generate_batch(batch, g, seeds)) gens.push_back(std::move(r));
      progress.update(gens.size(), "sampling");
    }
    progress.finish(std::to_string(gens.size()) + " samples");
    const TagCount c = count_tag(gens, tag_id);
    const std::string samples_file = o.out + "/samples_" + band.name + ".jsonl";
    JsonlWriter w(samples_file);
    for (size_t i = 0; i < gens.size(); ++i) {
      json rec = generation_to_json(gens[i]);
      rec.erase("tokens");  // the counts are in tag_count; the text keeps every tag
      rec["band"] = band.name;
      rec["sample"] = i;
      rec["tag_count"] = c.per_sample[i];
      rec["tag_raw_p"] = c.raw_p[i];
      w.write(rec);
    }
    w.commit();
    const Estimate share = wilson_interval(static_cast<uint64_t>(c.samples_with_tag), static_cast<uint64_t>(c.samples));
    // Per 1k tokens, resampling whole samples: the bootstrap draws sample indices.
    std::vector<double> index(gens.size());
    for (size_t i = 0; i < index.size(); ++i) index[i] = double(i);
    const Estimate rate = bootstrap(
        index,
        [&c](const std::vector<double>& picked) {
          double occ = 0, tok = 0;
          for (double i : picked) {
            occ += c.per_sample[static_cast<size_t>(i)];
            tok += c.tokens_per_sample[static_cast<size_t>(i)];
          }
          return tok > 0 ? 1000.0 * occ / tok : 0.0;
        },
        o.bootstrap, 0.95, o.seed + 7);
    ordered_json b;
    b["band"] = band.name;
    b["bias"] = band.banned ? json(nullptr) : json(band.bias);
    b["banned"] = band.banned;
    b["samples"] = c.samples;
    b["samples_with_tag"] = c.samples_with_tag;
    b["share_of_samples"] = share.to_json();
    b["occurrences"] = c.occurrences;
    b["tokens"] = c.tokens;
    b["per_1k_tokens"] = rate.to_json();
    b["occurrences_by_raw_p"] = {{"below_0.1", c.by_raw_p[0]}, {"0.1_to_0.5", c.by_raw_p[1]}, {"0.5_and_above", c.by_raw_p[2]}};
    b["samples_file"] = samples_file;
    rep["bands"].push_back(b);
    std::printf("| %s | %.3f [%.3f, %.3f] (%d/%d) | %.2f [%.2f, %.2f] | %lld | %lld / %lld / %lld | %lld |\n",
                band.banned ? "banned" : band.name.c_str(), share.value, share.low, share.high, c.samples_with_tag,
                c.samples, rate.value, rate.low, rate.high, static_cast<long long>(c.occurrences),
                static_cast<long long>(c.by_raw_p[0]), static_cast<long long>(c.by_raw_p[1]),
                static_cast<long long>(c.by_raw_p[2]), static_cast<long long>(c.tokens));
    std::fflush(stdout);
  }
  write_report(o.out + "/report.json", rep);
  return rep;
}

}  // namespace prealign
