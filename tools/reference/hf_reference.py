#!/usr/bin/env python3
"""Independent reference logits for the test fixtures, in PyTorch (float64), written from the
Hugging Face modeling semantics (GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM),
not from NextToken's engine.

For each fixture folder: reads config.json, model.safetensors and reference_ids.json (or, where the folder has
a weights.json {"config": path, "weights": path}, those files: e.g. an int8 training snapshot of the embedded model)
({prompt: [...], decode: [...]}), runs the whole sequence prompt + decode in one pass with no KV cache,
and writes reference_logits.f32 (float32 little-endian, [len(prompt) + len(decode), vocab]) and
reference.json (what made it). The TS tests run prefill + cached decode and compare every row.

Usage: /usr/bin/python3 tools/reference/hf_reference.py FIXTURE_DIR [FIXTURE_DIR ...]
Needs Debian's python3-torch and python3-numpy (hence /usr/bin/python3); CI does not run it (its output is committed).
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

DT = torch.float64


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == '__metadata__':
            continue
        b, e = t['data_offsets']
        np_dtype = {'F32': '<f4', 'F16': '<f2', 'I8': 'i1'}.get(t['dtype'])
        if np_dtype is None:
            raise SystemExit(f'{path}: {name} is {t["dtype"]}; the reference reads F32, F16 and int8 snapshots')
        out[name] = np.frombuffer(raw[base + b:base + e], dtype=np_dtype).reshape(t['shape']).astype(np.float64)
    # An int8 snapshot (tools/train/train.py, quantize_int8): w = q * scale, one scale per row.
    for name in [n for n in out if n + '.scale' in out]:
        out[name] = out[name] * out.pop(name + '.scale')[:, None]
    return {k: torch.from_numpy(v) for k, v in out.items()}


def gpt2_logits(cfg, w, ids):
    w = {k[len('transformer.'):] if k.startswith('transformer.') else k: v for k, v in w.items()}
    D, H = cfg['n_embd'], cfg['n_head']
    hd = D // H
    eps = cfg.get('layer_norm_epsilon', 1e-5)
    T = len(ids)
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (D,), w[p + '.weight'], w[p + '.bias'], eps)
    gelu_new = lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    x = w['wte.weight'][ids] + w['wpe.weight'][:T]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(cfg['n_layer']):
        p = f'h.{i}.'
        qkv = ln(x, p + 'ln_1') @ w[p + 'attn.c_attn.weight'] + w[p + 'attn.c_attn.bias']  # Conv1D: [in, out]
        q, k, v = qkv.split(D, dim=1)
        q, k, v = (t.view(T, H, hd).transpose(0, 1) for t in (q, k, v))
        s = (q @ k.transpose(1, 2)) / math.sqrt(hd)
        s = s.masked_fill(~causal, float('-inf')).softmax(-1)
        y = (s @ v).transpose(0, 1).reshape(T, D)
        x = x + y @ w[p + 'attn.c_proj.weight'] + w[p + 'attn.c_proj.bias']
        m = gelu_new(ln(x, p + 'ln_2') @ w[p + 'mlp.c_fc.weight'] + w[p + 'mlp.c_fc.bias'])
        x = x + m @ w[p + 'mlp.c_proj.weight'] + w[p + 'mlp.c_proj.bias']
    return ln(x, 'ln_f') @ w['wte.weight'].T


def llama_logits(cfg, w, ids):
    D, H = cfg['hidden_size'], cfg['num_attention_heads']
    KV = cfg.get('num_key_value_heads') or H
    hd = cfg.get('head_dim') or D // H
    eps = cfg.get('rms_norm_eps', 1e-6)
    theta = cfg.get('rope_theta', 10000.0)
    T = len(ids)

    def rms(x, name):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w[name]

    def linear(x, name):  # nn.Linear: weight [out, in]
        y = x @ w[name + '.weight'].T
        return y + w[name + '.bias'] if name + '.bias' in w else y

    # LlamaRotaryEmbedding + apply_rotary_pos_emb ("rotate half")
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=DT) / hd))
    freqs = torch.outer(torch.arange(T, dtype=DT), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()

    def rotate_half(x):
        x1, x2 = x[..., :hd // 2], x[..., hd // 2:]
        return torch.cat((-x2, x1), dim=-1)

    x = w['model.embed_tokens.weight'][ids]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        h = rms(x, p + 'input_layernorm.weight')
        q = linear(h, p + 'self_attn.q_proj').view(T, H, hd).transpose(0, 1)
        k = linear(h, p + 'self_attn.k_proj').view(T, KV, hd).transpose(0, 1)
        if p + 'self_attn.q_norm.weight' in w:  # Qwen3: RMSNorm over each head's q and k, before RoPE
            q = rms(q, p + 'self_attn.q_norm.weight')
            k = rms(k, p + 'self_attn.k_norm.weight')
        v = linear(h, p + 'self_attn.v_proj').view(T, KV, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=0)  # repeat_kv: kv head j serves query heads j·g .. j·g+g-1
        v = v.repeat_interleave(H // KV, dim=0)
        s = (q @ k.transpose(1, 2)) / math.sqrt(hd)
        s = s.masked_fill(~causal, float('-inf')).softmax(-1)
        y = (s @ v).transpose(0, 1).reshape(T, H * hd)
        x = x + linear(y, p + 'self_attn.o_proj')
        m = rms(x, p + 'post_attention_layernorm.weight')
        g = linear(m, p + 'mlp.gate_proj')
        x = x + linear(torch.nn.functional.silu(g) * linear(m, p + 'mlp.up_proj'), p + 'mlp.down_proj')
    head = w['model.embed_tokens.weight'] if cfg.get('tie_word_embeddings', False) else w['lm_head.weight']
    return rms(x, 'model.norm.weight') @ head.T


def main():
    for d in sys.argv[1:]:
        paths = {'config': 'config.json', 'weights': 'model.safetensors'}
        if os.path.exists(os.path.join(d, 'weights.json')):
            paths = json.load(open(os.path.join(d, 'weights.json')))
        cfg = json.load(open(os.path.join(d, paths['config'])))
        ref = json.load(open(os.path.join(d, 'reference_ids.json')))
        ids = ref['prompt'] + ref['decode']
        w = read_safetensors(os.path.join(d, paths['weights']))
        # Qwen2 (q/k/v biases, read where present) and Qwen3 (q/k norms) share the Llama layout.
        fn = {'gpt2': gpt2_logits, 'llama': llama_logits, 'qwen2': llama_logits, 'qwen3': llama_logits}[cfg['model_type']]
        with torch.no_grad():
            logits = fn(cfg, w, torch.tensor(ids))
        logits.numpy().astype('<f4').tofile(os.path.join(d, 'reference_logits.f32'))
        json.dump({'script': 'tools/reference/hf_reference.py', 'torch': torch.__version__, 'dtype': 'float64 compute, float32 stored',
                   'rows': len(ids), 'vocab': int(logits.shape[1])}, open(os.path.join(d, 'reference.json'), 'w'), indent=1)
        print(f'{d}: {len(ids)} x {logits.shape[1]} reference logits')


if __name__ == '__main__':
    main()
