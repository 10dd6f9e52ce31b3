#!/usr/bin/env python3
"""Why llama.cpp and NextToken part on a Q4_0 GGUF: an independent float64 GPT-2 forward pass over the file's
dequantized weights (NumPy; the GGUF reader of gguf_llama_reference.py), run two ways:

  float    the activations as they are (NextToken's arithmetic: dequantized weights x float32 activations);
  ggml     each product's activations first quantized to Q8_0 blocks of 32, as llama.cpp's CPU backend does
           before a Q4_0 or Q8_0 dot product (quantize_row_q8_0: d = max|x| / 127, q = roundf(x / d), d kept
           as fp16), and optionally GELU through an fp16 table (--gelu-f16, ggml's GGML_GELU_FP16).

Given the prompt ids and both engines' greedy ids (bench:peer prints projectIds and peerIds where they part), it
continues the prompt greedily each way and says which engine's ids each way reproduces.

Usage: python3 tools/reference/ggml_activations.py FILE.gguf '[prompt ids]' '[NextToken ids]' '[llama.cpp ids]' [--gelu-f16]
Needs NumPy only. Nothing runs it in CI: it is a witness for a closing note.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from gguf_llama_reference import read_gguf  # noqa: E402


def fp16(x):
    return np.asarray(x, np.float32).astype(np.float16).astype(np.float64)


def q8_0(x):
    """Rows of x as ggml's quantize_row_q8_0 leaves them (float32 arithmetic), dequantized."""
    x = np.asarray(x, np.float32)
    b = x.reshape(*x.shape[:-1], -1, 32)
    amax = np.abs(b).max(-1, keepdims=True)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide='ignore'):
        inv = np.where(d > 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    q = np.trunc(b * inv + np.copysign(np.float32(0.5), b * inv))  # roundf: halves away from zero
    return (q.astype(np.float64) * fp16(d)).reshape(x.shape)


def gelu(x, table):
    if table:  # ggml: gelu of the fp16 input, stored as fp16
        x = fp16(x)
    y = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * x * (1 + 0.044715 * x * x)))
    return fp16(y) if table else y


def logits_of(meta, w, ids, act_q8, gelu_f16):
    assert meta['general.architecture'] == 'gpt2', meta['general.architecture']
    D = meta['gpt2.embedding_length']
    H = meta['gpt2.attention.head_count']
    L = meta['gpt2.block_count']
    eps = meta['gpt2.attention.layer_norm_epsilon']
    hd = D // H
    T = len(ids)

    def mm(x, name):  # x · Wᵀ + b, W [out, in] as the file stores it
        a = q8_0(x) if act_q8 else x
        y = a @ w[name + '.weight'].T
        return y + w[name + '.bias'] if name + '.bias' in w else y

    def ln(x, name):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + eps) * w[name + '.weight'] + w[name + '.bias']

    x = w['token_embd.weight'][ids] + w['position_embd.weight'][:T]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(L):
        p = f'blk.{i}.'
        qkv = mm(ln(x, p + 'attn_norm'), p + 'attn_qkv').reshape(T, 3, H, hd)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
        s = np.einsum('thd,uhd->htu', q, k) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        x = x + mm(np.einsum('htu,uhd->thd', s, v).reshape(T, D), p + 'attn_output')
        x = x + mm(gelu(mm(ln(x, p + 'ffn_norm'), p + 'ffn_up'), gelu_f16), p + 'ffn_down')
    h = ln(x[-1:], 'output_norm')
    a = q8_0(h) if act_q8 else h
    return (a @ w.get('output.weight', w['token_embd.weight']).T)[0]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    gelu_f16 = '--gelu-f16' in sys.argv
    path, prompt, mine, theirs = args[0], json.loads(args[1]), json.loads(args[2]), json.loads(args[3])
    meta, w = read_gguf(path)
    n = len(mine)
    report = {'file': os.path.basename(path), 'steps': n, 'geluF16': gelu_f16}
    split = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), n)  # where the engines part
    for way, act_q8 in (('float', False), ('ggml', True)):
        ids = list(prompt)
        out, gaps = [], []
        for step in range(n):
            z = logits_of(meta, w, ids, act_q8, gelu_f16 and act_q8)
            top = np.argsort(-z, kind='stable')[:2]
            out.append(int(top[0]))
            gaps.append(float(z[top[0]] - z[top[1]]))
            if step == split < n:
                # On the engines' shared text so far (this way's too, if it followed them): how far apart it puts their two choices.
                at_split = {'step': step, 'logitNextTokenMinusLlamaCpp': float(z[mine[step]] - z[theirs[step]]), 'logitSpread': float(z.max() - z.min())}
            ids.append(int(top[0]))
        first = lambda other: next((i for i, (a, b) in enumerate(zip(out, other)) if a != b), n)
        report[way] = {'ids': out, 'agreesWithNextTokenFor': first(mine), 'agreesWithLlamaCppFor': first(theirs),
                       'smallestTop2LogitGap': min(gaps), **({'atFirstDivergence': at_split} if split < n and first(mine) >= split else {})}
    print(json.dumps(report))


if __name__ == '__main__':
    main()
