#include "interop/hf_import.hpp"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "interop/hf_config.hpp"
#include "interop/hf_tokenizer_import.hpp"
#include "interop/hf_weights.hpp"
#include "model/checkpoint.hpp"
#include "model/llama.hpp"

namespace prealign {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Every tensor the config implies is stored, in a float dtype, with its shape;
// nothing else is stored but what transformers itself would ignore. Checked on
// the headers alone, before any tensor is read.
void check_weights(const HfWeights& w, const ModelConfig& c, const std::string& dir) {
  std::set<std::string> expected;
  for (const auto& [name, shape] : hf_tensor_shapes(c)) {
    expected.insert(name);
    const HfWeights::Stored* s = w.find(name);
    if (!s)
      fail(dir, "no tensor \"" + name + "\" in " + (w.files().size() == 1 ? w.files()[0] : "the shards") +
                    ", which config.json implies",
           name == "lm_head.weight" ? "config.json says tie_word_embeddings is false, so an output matrix must be stored"
                                    : "config.json and the weights come from different models");
    if (s->entry.shape != shape)
      fail(s->file, "tensor \"" + name + "\" has shape " + shape_text(s->entry.shape) + ", config.json implies " +
                        shape_text(shape),
           "config.json and the weights come from different models");
    w.require_float(name);
  }
  for (const auto& [name, s] : w.tensors()) {
    if (expected.count(name) || ends_with(name, "rotary_emb.inv_freq")) continue;  // recomputed, as transformers does
    if (name == "lm_head.weight" && c.tie_embeddings) continue;  // transformers ties it to the embedding
    fail(s.file, "unexpected tensor \"" + name + "\"",
         "not part of a Llama model with this config.json (biases? another architecture?)");
  }
}

// The unrestricted policy: an imported model has not learned its tags yet.
json unrestricted_policy(const Tagset& tagset) {
  json allow = json::object();
  for (const TagSpec& t : tagset.tags()) allow[t.name] = "any";
  return {{"name", "unrestricted"},
          {"description", "every tag allowed (an imported model; train it with its tags, e.g. --objective conditional)"},
          {"initial_state", "any"},
          {"states", {{"any", {{"allow", allow}, {"end", true}}}}}};
}

}  // namespace

HfImportResult import_hf(const std::string& dir, const Tagset& tagset, const std::string& out,
                         const HfImportOptions& options) {
  require(is_directory(dir), dir, "not a directory", "pass a Hugging Face model directory (config.json, ...)");
  require(!out.empty(), "-o", "no output directory given");
  if (file_exists(out)) {
    require(!std::filesystem::equivalent(dir, out), out, "is the model directory itself", "choose another -o");
    require(options.force, out, "exists", "choose another -o, or pass --force to replace it");
  }
  require(tagset.size() > 0, "tagset", "the tagset has no tags", "pass e.g. --tagset good_bad");
  require(options.noise >= 0 && std::isfinite(options.noise), "--noise", "must be a non-negative number");

  // Everything is checked before anything is read in bulk or written.
  const HfLlamaConfig hf = read_hf_llama_config(dir + "/config.json");
  ImportedTokenizer tok = import_hf_tokenizer(dir, tagset, hf.model.vocab_size);
  const HfWeights weights = HfWeights::open(dir);
  check_weights(weights, hf.model, dir);

  ModelConfig config = hf.model;
  config.vocab_size = tok.tokenizer->vocab_size();
  config.pad_token_id = tok.tokenizer->pad_id();
  config.validate(dir + "/config.json");

  CheckpointContents c;
  c.config = config;
  torch::manual_seed(options.seed);
  const int64_t base = tok.base_vocab, added = static_cast<int64_t>(tok.appended_ids.size());
  for (const auto& [name, shape] : hf_tensor_shapes(config)) {
    torch::Tensor t = torch::empty(shape, torch::kFloat32);
    const bool vocab_rows = name == "model.embed_tokens.weight" || name == "lm_head.weight";
    if (vocab_rows && added > 0) {
      weights.read_float32(name, t.narrow(0, 0, base));  // rows are contiguous: a prefix of the storage
      torch::NoGradGuard no_grad;
      const torch::Tensor mean = t.narrow(0, 0, base).mean(0);
      t.narrow(0, base, added).copy_(mean.expand({added, mean.size(0)}) +
                                     options.noise * torch::randn({added, mean.size(0)}));
    } else {
      weights.read_float32(name, t);
    }
    c.weights.emplace_back(name, std::move(t));
  }
  c.tokenizer_model = tok.model_bytes;
  c.tagset = tagset.to_json();
  c.policy = unrestricted_policy(tagset);
  c.train_state = {{"imported_from",
                    {{"format", "huggingface"},
                     {"dir", std::filesystem::absolute(dir).lexically_normal().string()},
                     {"architecture", hf.architecture},
                     {"torch_dtype", hf.torch_dtype},
                     {"tags_appended", tok.appended_ids},
                     {"tags_existing", tok.existing_ids},
                     {"new_rows", "mean of the existing rows + N(0, noise^2)"},
                     {"noise", options.noise},
                     {"seed", options.seed}}}};
  save_checkpoint(out, c);

  HfImportResult r;
  r.config = config;
  r.torch_dtype = hf.torch_dtype;
  r.weight_files = weights.files();
  r.appended_tags = static_cast<int>(added);
  r.existing_tags = static_cast<int>(tok.existing_ids.size());
  r.add_dummy_prefix = tok.tokenizer->add_dummy_prefix();
  return r;
}

}  // namespace prealign
