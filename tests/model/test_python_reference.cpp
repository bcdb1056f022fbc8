// Our model against the PyTorch-Python reference the training benchmark compares
// with (bench/reference_llama.py): same weights in, same logits out. Skipped when
// Debian's python3-torch (or the reference) is not installed; nothing else needs Python.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>

#include "core/files.hpp"
#include "model/llama.hpp"
#include "model/safetensors.hpp"
#include "test_util.hpp"

using namespace prealign;
using torch::Tensor;

namespace {

// Reads our safetensors file by the specification (struct + json only), maps the
// HF names onto the reference module, and writes its logits as raw float32.
const char* kScript = R"(import json, struct, sys, torch
sys.path.insert(0, sys.argv[1])
import reference_llama as R
d = sys.argv[2]
cfg = json.load(open(d + "/shape.json"))
raw = open(d + "/weights.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
data = raw[8 + n:]
w = {}
for k, v in hdr.items():
    if k == "__metadata__": continue
    b, e = v["data_offsets"]
    w[k] = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32).reshape(v["shape"])
m = R.Llama(cfg["vocab"], cfg["dim"], cfg["layers"], cfg["heads"], cfg["kv_heads"], cfg["hidden"], cfg["ctx"],
            theta=cfg["theta"], eps=cfg["eps"])
names = {"input_layernorm": "attn_norm", "self_attn.q_proj": "q", "self_attn.k_proj": "k", "self_attn.v_proj": "v",
         "self_attn.o_proj": "o", "post_attention_layernorm": "mlp_norm", "mlp.gate_proj": "gate",
         "mlp.up_proj": "up", "mlp.down_proj": "down"}
state = {"embed.weight": w["model.embed_tokens.weight"], "norm.weight": w["model.norm.weight"]}
for i in range(cfg["layers"]):
    for hf, ours in names.items():
        state["blocks.%d.%s.weight" % (i, ours)] = w["model.layers.%d.%s.weight" % (i, hf)]
missing, unexpected = m.load_state_dict(state, strict=False)
assert not unexpected and all(k in ("cos", "sin", "mask") for k in missing), (missing, unexpected)
tokens = torch.tensor(cfg["tokens"]).unsqueeze(0)
with torch.no_grad():
    logits = m(tokens)[0].contiguous()
open(d + "/logits.f32", "wb").write(logits.numpy().tobytes())
)";

void compare_with_python(const ModelConfig& c) {
  const std::string bench = prealign::testing::source_path("bench");
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-torch not installed (scripts/test.sh installs it: PREALIGN_TEST_DEPS=1 scripts/setup.sh)";
  if (!file_exists(bench + "/reference_llama.py")) GTEST_SKIP() << "bench/reference_llama.py not present";
  const std::string dir = prealign::testing::temp_dir();

  torch::manual_seed(21);
  LlamaModel m(c);
  {  // weights large enough that any difference in the math shows
    torch::NoGradGuard no_grad;
    for (auto& p : m->parameters()) p.copy_(p.dim() == 1 ? 1 + 0.3 * torch::randn_like(p)
                                                         : torch::randn_like(p) / std::sqrt(double(p.size(1))));
  }
  std::vector<int64_t> tokens;
  for (int i = 0; i < 19; ++i) tokens.push_back((i * 37 + 5) % c.vocab_size);
  save_safetensors(dir + "/weights.safetensors", m->hf_tensors());
  json shape = {{"vocab", c.vocab_size}, {"dim", c.dim},       {"layers", c.n_layers},
                {"heads", c.n_heads},    {"kv_heads", c.n_kv_heads}, {"hidden", c.resolved_hidden_dim()},
                {"ctx", c.max_seq_len},  {"theta", c.rope_theta},    {"eps", c.norm_eps},
                {"tokens", tokens}};
  write_file_atomic(dir + "/shape.json", shape.dump());
  write_file_atomic(dir + "/check.py", kScript);
  ASSERT_EQ(std::system(("/usr/bin/python3 " + dir + "/check.py " + bench + " " + dir).c_str()), 0);

  std::string raw = read_file(dir + "/logits.f32");
  ASSERT_EQ(raw.size(), tokens.size() * c.vocab_size * sizeof(float));
  Tensor theirs = torch::from_blob(raw.data(), {int64_t(tokens.size()), c.vocab_size}, torch::kFloat32).clone();
  torch::NoGradGuard no_grad;
  Tensor ours = m->forward(torch::tensor(tokens, torch::kLong).unsqueeze(0))[0];
  EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-4);
  EXPECT_GT(theirs.abs().max().item<double>(), 1.0);  // not vacuous
}

}  // namespace

TEST(PythonReference, SameLogitsAsTheBenchmarkReference) {
  compare_with_python(ModelConfig::parse("dim=48,layers=2,heads=4,hidden=80,ctx=32", 97));
}

TEST(PythonReference, SameLogitsWithGroupedQueryAttention) {
  compare_with_python(ModelConfig::parse("dim=48,layers=2,heads=6,kv_heads=2,hidden=80,ctx=32,theta=300", 97));
}
