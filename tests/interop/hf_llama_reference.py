#!/usr/bin/python3
"""An independent Hugging Face Llama forward pass, for prealign's export tests.

Written from the formulas of transformers' models/llama/modeling_llama.py
(LlamaRMSNorm, LlamaRotaryEmbedding + rotate_half/apply_rotary_pos_emb,
repeat_kv, eager LlamaAttention, LlamaMLP, LlamaDecoderLayer, LlamaModel,
LlamaForCausalLM) with nothing but the standard library and torch: it reads a
model directory as transformers would -- config.json for the hyperparameters,
model.safetensors (or model.safetensors.index.json and its shards) parsed with
struct and json -- and shares no code with prealign.

usage: hf_llama_reference.py MODEL_DIR TOKENS_JSON OUT_F32
  TOKENS_JSON  a JSON list of token ids (one sequence)
  OUT_F32      written: the logits, float32, row-major (len(tokens), vocab_size)
"""
import json
import math
import os
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[entry["dtype"]])
        out[name] = t.reshape(entry["shape"]).to(torch.float32)
    return out


def read_weights(model_dir):
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
        weight_map = json.load(f)["weight_map"]
    weights = {}
    for shard in sorted(set(weight_map.values())):
        weights.update(read_safetensors(os.path.join(model_dir, shard)))
    return weights


class Config:
    def __init__(self, j):
        assert "LlamaForCausalLM" in j["architectures"] and j["model_type"] == "llama", j
        assert j.get("hidden_act", "silu") == "silu" and not j.get("attention_bias", False)
        assert j.get("rope_scaling") is None
        self.vocab_size = j["vocab_size"]
        self.hidden_size = j["hidden_size"]
        self.intermediate_size = j["intermediate_size"]
        self.num_hidden_layers = j["num_hidden_layers"]
        self.num_attention_heads = j["num_attention_heads"]
        self.num_key_value_heads = j.get("num_key_value_heads", self.num_attention_heads)
        self.head_dim = self.hidden_size // self.num_attention_heads
        self.rms_norm_eps = j.get("rms_norm_eps", 1e-6)
        self.rope_theta = j.get("rope_theta", 10000.0)
        self.tie_word_embeddings = j.get("tie_word_embeddings", False)


def rms_norm(hidden_states, weight, eps):
    # LlamaRMSNorm.forward
    input_dtype = hidden_states.dtype
    hidden_states = hidden_states.to(torch.float32)
    variance = hidden_states.pow(2).mean(-1, keepdim=True)
    hidden_states = hidden_states * torch.rsqrt(variance + eps)
    return weight * hidden_states.to(input_dtype)


def rotary_cos_sin(cfg, seq_len):
    # LlamaRotaryEmbedding: inv_freq over even dims, emb = cat(freqs, freqs)
    dim = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    t = torch.arange(seq_len, dtype=torch.int64).float()
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    cos = cos.unsqueeze(0).unsqueeze(0)  # (1, 1, T, head_dim): broadcast over batch and heads
    sin = sin.unsqueeze(0).unsqueeze(0)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


def repeat_kv(hidden_states, n_rep):
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def linear(x, w):
    return x @ w.t()


def attention(cfg, w, p, hidden_states, cos, sin, mask):
    bsz, q_len, _ = hidden_states.shape
    q = linear(hidden_states, w[p + "q_proj.weight"]).view(bsz, q_len, cfg.num_attention_heads, cfg.head_dim).transpose(1, 2)
    k = linear(hidden_states, w[p + "k_proj.weight"]).view(bsz, q_len, cfg.num_key_value_heads, cfg.head_dim).transpose(1, 2)
    v = linear(hidden_states, w[p + "v_proj.weight"]).view(bsz, q_len, cfg.num_key_value_heads, cfg.head_dim).transpose(1, 2)
    q, k = apply_rotary_pos_emb(q, k, cos, sin)
    n_rep = cfg.num_attention_heads // cfg.num_key_value_heads
    k = repeat_kv(k, n_rep)
    v = repeat_kv(v, n_rep)
    attn_weights = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(cfg.head_dim)
    attn_weights = attn_weights + mask
    attn_weights = torch.nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(q.dtype)
    attn_output = torch.matmul(attn_weights, v)
    attn_output = attn_output.transpose(1, 2).contiguous().reshape(bsz, q_len, cfg.hidden_size)
    return linear(attn_output, w[p + "o_proj.weight"])


def mlp(w, p, x):
    # LlamaMLP: down_proj(act_fn(gate_proj(x)) * up_proj(x)), act_fn = silu
    gate = torch.nn.functional.silu(linear(x, w[p + "gate_proj.weight"]))
    return linear(gate * linear(x, w[p + "up_proj.weight"]), w[p + "down_proj.weight"])


def forward(cfg, w, input_ids):
    hidden_states = w["model.embed_tokens.weight"][input_ids]  # (1, T, C)
    seq_len = input_ids.shape[1]
    cos, sin = rotary_cos_sin(cfg, seq_len)
    mask = torch.full((seq_len, seq_len), torch.finfo(torch.float32).min).triu(1)[None, None]
    for i in range(cfg.num_hidden_layers):
        p = "model.layers.%d." % i
        residual = hidden_states
        hidden_states = rms_norm(hidden_states, w[p + "input_layernorm.weight"], cfg.rms_norm_eps)
        hidden_states = residual + attention(cfg, w, p + "self_attn.", hidden_states, cos, sin, mask)
        residual = hidden_states
        hidden_states = rms_norm(hidden_states, w[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps)
        hidden_states = residual + mlp(w, p + "mlp.", hidden_states)
    hidden_states = rms_norm(hidden_states, w["model.norm.weight"], cfg.rms_norm_eps)
    lm_head = w["model.embed_tokens.weight"] if cfg.tie_word_embeddings else w["lm_head.weight"]
    return linear(hidden_states, lm_head)


def main():
    model_dir, tokens_path, out_path = sys.argv[1:4]
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = Config(json.load(f))
    weights = read_weights(model_dir)
    expected = {"model.embed_tokens.weight", "model.norm.weight"}
    for i in range(cfg.num_hidden_layers):
        for n in ("input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                  "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"):
            expected.add("model.layers.%d.%s.weight" % (i, n))
    if not cfg.tie_word_embeddings:
        expected.add("lm_head.weight")
    assert set(weights) == expected, (sorted(set(weights) - expected), sorted(expected - set(weights)))
    assert weights["model.embed_tokens.weight"].shape == (cfg.vocab_size, cfg.hidden_size)
    with open(tokens_path) as f:
        tokens = json.load(f)
    with torch.no_grad():
        logits = forward(cfg, weights, torch.tensor([tokens]))[0].contiguous()
    with open(out_path, "wb") as f:
        f.write(logits.numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
