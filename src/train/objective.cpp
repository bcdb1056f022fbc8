#include "train/objective.hpp"

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/json_io.hpp"
#include "train/objectives.hpp"

namespace prealign {

BatchTensors to_tensors(const Batch& b, torch::Device device) {
  auto make = [&](const void* data, torch::ScalarType type) {
    // from_blob does not own the memory: clone so the tensor outlives the batch buffers.
    return torch::from_blob(const_cast<void*>(data), {b.B, b.T}, torch::TensorOptions().dtype(type))
        .clone()
        .to(device);
  };
  BatchTensors t;
  t.inputs = make(b.inputs.data(), torch::kInt64);
  t.targets = make(b.targets.data(), torch::kInt64);
  t.score = make(b.score.data(), torch::kFloat32);
  t.label = make(b.label.data(), torch::kInt8);
  t.is_tag = make(b.is_tag.data(), torch::kUInt8).to(torch::kBool);
  return t;
}

torch::Tensor token_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets) {
  const auto V = logits.size(-1);
  auto ce = torch::nn::functional::cross_entropy(
      logits.reshape({-1, V}), targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  return ce.view(targets.sizes());  // (B, T)
}

torch::Tensor masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets,
                                   const torch::Tensor& mask) {
  auto ce = token_cross_entropy(logits, targets);
  auto m = mask.to(ce.dtype());
  return (ce * m).sum() / m.sum().clamp_min(1.0);
}

// The labeling an objective applies at batch time: from a `prealign label`
// config file when given (the same rules, context tags and drop decisions the
// label report shows), else one rule built from the objective's flags.
LabelingConfig labeling_for(const ObjectiveOptions& o, const Dataset& data) {
  if (!o.labeling.empty()) {
    LabelingConfig cfg = LabelingConfig::from_json(read_json_file(o.labeling), o.labeling);
    if (cfg.rules.empty() && cfg.context.empty() && cfg.bands.empty())
      fail(o.labeling, "no labeling rules, context tags or bands",
           "add {\"rules\": [{\"category\": ..., \"threshold\": ...}]}");
    if (o.name != "conditional") cfg.drop_fraction = 0.0;  // only conditional leaves segments untagged
    return cfg;
  }
  LabelingConfig cfg;
  LabelRule rule;
  rule.category = o.category.empty() ? data.categories.front() : o.category;
  rule.threshold = ThresholdSpec::parse(o.threshold, "--threshold");
  rule.good_tag = o.good_tag;
  rule.bad_tag = o.bad_tag;
  cfg.rules.push_back(rule);
  cfg.drop_fraction = o.name == "conditional" ? o.drop_fraction : 0.0;
  cfg.seed = 0x7a6d;
  return cfg;
}

Objective::Objective(const ObjectiveOptions& o, const Dataset& data) : options_(o) {
  if (o.tag_position != "line_start" && o.tag_position != "after_indent" && o.tag_position != "line_end")
    fail("--tag-position", "unknown position \"" + o.tag_position + "\"", "use line_start, after_indent or line_end");
  if (o.tag_position != "line_start" && o.name != "conditional")  // accepted and ignored would mislead
    fail("--tag-position", "only the conditional objective inserts tags; " + o.name + " has none to place");
  if (data.categories.empty()) {
    if (!o.labeling.empty()) fail(o.labeling, "the dataset has no segment scores to label");
    return;
  }
  labeler_ = std::make_unique<Labeler>(labeling_for(o, data), data.categories, data.dir + "/dataset.json");
  if (labeler_->needs_fit()) {
    labeler_->fit([&](const std::function<void(const float*)>& visit) {
      for (const auto& shard : data.train)
        for (uint64_t s = 0; s < shard->n_segments(); ++s) visit(shard->segment_scores(s));
    });
  }
}

namespace {

bool all_of_chars(const std::string& s, const char* set) {
  return !s.empty() && s.find_first_not_of(set) == std::string::npos;
}

}  // namespace

void Objective::resolve_tags(const Tokenizer& tokenizer) {
  if (options_.tag_position != "line_start") {  // the tokens the tag moves past, from the start or the end
    tag_at_end_ = options_.tag_position == "line_end";
    const char* skipped = tag_at_end_ ? "\r\n" : " \t";
    tag_skips_.assign(static_cast<size_t>(tokenizer.vocab_size()), 0);
    for (int id = 0; id < tokenizer.vocab_size(); ++id)
      if (!tokenizer.is_tag(id) && id != Tokenizer::kBos && id != Tokenizer::kEos)
        tag_skips_[size_t(id)] = all_of_chars(tokenizer.token_bytes(id), skipped);
  }
  std::vector<std::string> names;
  if (labeler_) {
    for (const LabelRule& r : labeler_->config().rules) names.insert(names.end(), {r.good_tag, r.bad_tag});
    for (const std::string& tag : labeler_->document_tag_names()) names.push_back(tag);  // context and band tags
  } else {
    names = {options_.good_tag, options_.bad_tag};
  }
  for (const std::string& tag : names) {
    if (tag.empty() || tag_id_of_.count(tag)) continue;
    const int id = tokenizer.tag_id(tag);  // an Error listing the tagset's tags when unknown
    tag_id_of_[tag] = id;
    tag_ids_.push_back(id);
  }
}

void Objective::plan(const DocumentView& doc, DocumentPlan& plan) const { plan_scores(doc, plan, false); }

uint32_t Objective::tag_offset(const Shard& shard, uint64_t segment) const {
  const uint64_t b = shard.segment_token_begin(segment), e = shard.segment_token_end(segment);
  auto skips = [&](uint64_t k) {
    const auto id = static_cast<size_t>(shard.token(k));
    return id < tag_skips_.size() && tag_skips_[id];
  };
  uint64_t at = tag_at_end_ ? e : b;
  if (tag_at_end_) {
    while (at > b && skips(at - 1)) --at;
  } else {
    while (at < e && skips(at)) ++at;
  }
  return static_cast<uint32_t>(at - b);
}

void Objective::plan_scores(const DocumentView& doc, DocumentPlan& plan, bool with_tags) const {
  const Shard& shard = *doc.shard;
  const uint64_t first = shard.doc_segment_begin(doc.doc), end = shard.doc_segment_end(doc.doc);
  plan.keep = true;
  plan.prefix.clear();
  if (with_tags && labeler_ && labeler_->has_document_tags()) {  // document-level tags from metadata: context, bands
    const json info = shard.doc_info(doc.doc);
    for (const std::string& tag : labeler_->context_tags(info.contains("meta") ? info.at("meta") : json::object()))
      plan.prefix.push_back(tag_id_of_.at(tag));
  }
  plan.segments.resize(end - first);
  for (uint64_t s = first; s < end; ++s) {
    SegmentPlan& sp = plan.segments[s - first];
    sp.prefix.clear();
    if (!labeler_) {
      sp.label = kLabelNone;
      sp.score = 0.f;
      continue;
    }
    SegmentLabel l = labeler_->label(shard.segment_scores(s), doc.global_segment + (s - first));
    sp.label = l.bad ? kLabelBad : kLabelGood;
    sp.score = l.score;
    if (with_tags)
      for (const auto& tag : l.tags) sp.prefix.push_back(tag_id_of_.at(tag));
    if (with_tags && !sp.prefix.empty() && !tag_skips_.empty()) sp.prefix_at = tag_offset(shard, s);
  }
}

ordered_json Objective::describe() const {
  ordered_json j;
  j["name"] = name();
  j["options"] = config_to_json(const_cast<ObjectiveOptions&>(options_));
  if (labeler_) j["labeling"] = labeler_->describe();
  return j;
}

std::vector<std::string> objective_names() { return {"mle", "conditional", "filter", "unlikelihood", "rwr", "awr"}; }

std::unique_ptr<Objective> make_objective(const ObjectiveOptions& o, const Dataset& data, const Tokenizer& tokenizer,
                                          torch::Device device, int model_dim) {
  bool needs_scores = o.name != "mle";
  if (needs_scores && data.categories.empty())
    fail("--objective " + o.name, "the dataset has no segment scores",
         "tokenize a scored JSONL corpus (prealign score) or use --objective mle");
  if (o.name == "mle") return make_mle_objective(o, data);
  if (o.name == "conditional") return make_conditional_objective(o, data, tokenizer);
  if (o.name == "filter") return make_filter_objective(o, data);
  if (o.name == "unlikelihood") return make_unlikelihood_objective(o, data);
  if (o.name == "rwr") return make_rwr_objective(o, data);
  if (o.name == "awr") return make_awr_objective(o, data, device, model_dim);
  std::string known;
  for (const auto& n : objective_names()) known += (known.empty() ? "" : ", ") + n;
  fail("--objective", "unknown or not yet available objective \"" + o.name + "\"", "available: " + known);
}

}  // namespace prealign
