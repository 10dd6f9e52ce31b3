#!/usr/bin/env python3
"""Independent float64 reference for a Llama-architecture GGUF file (the shipped stories15M, Q4_0), in NumPy,
written from llama.cpp's GGUF layout and llama2.c's run.c semantics, not from NextToken's engine:
its own GGUF parser, its own Q4_0 / Q8_0 / F16 dequantization, and RoPE applied to adjacent pairs (the layout the
file keeps: llama2.c's and Meta's), so the engine's un-permutation to Hugging Face's halves is checked too.

Reads FIXTURE_DIR/reference_ids.json {"model": path to the .gguf, "prompt": [ids], "steps": n}, continues the
prompt greedily for n steps (each step a full pass with no cache) and writes FIXTURE_DIR/reference.json: for each
step the argmax id and the ten most probable ids with their probabilities.

Usage: python3 tools/reference/gguf_llama_reference.py tests/fixtures/stories15m
Needs NumPy only. CI does not run it (its output is committed).
"""
import json
import os
import struct
import sys

import numpy as np


def read_gguf(path):
    raw = open(path, 'rb').read()
    at = 0

    def take(fmt):
        nonlocal at
        v = struct.unpack_from('<' + fmt, raw, at)
        at += struct.calcsize('<' + fmt)
        return v[0]

    def string():
        nonlocal at
        n = take('Q')
        s = raw[at:at + n].decode('utf-8')
        at += n
        return s

    scalar = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            of, n = take('I'), take('Q')
            return [value(of) for _ in range(n)]
        return take(scalar[t])

    assert raw[:4] == b'GGUF', 'not a GGUF file'
    at = 4
    version, n_tensors, n_kv = take('I'), take('Q'), take('Q')
    assert version == 3, version
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take('I'))
    infos = []
    for _ in range(n_tensors):
        name = string()
        ne = [take('Q') for _ in range(take('I'))]
        infos.append((name, ne, take('I'), take('Q')))
    align = meta.get('general.alignment', 32)
    base = (at + align - 1) // align * align
    tensors = {}
    for name, ne, t, off in infos:
        n = int(np.prod(ne))
        p = base + off
        if t == 0:  # F32
            x = np.frombuffer(raw, '<f4', n, p).astype(np.float64)
        elif t == 1:  # F16
            x = np.frombuffer(raw, '<f2', n, p).astype(np.float64)
        elif t == 8:  # Q8_0: fp16 d, 32 int8
            b = np.frombuffer(raw, np.uint8, n // 32 * 34, p).reshape(-1, 34)
            d = b[:, :2].copy().view('<f2').astype(np.float64)
            x = (b[:, 2:].view(np.int8).astype(np.float64) * d).reshape(-1)
        elif t == 2:  # Q4_0: fp16 d, 16 bytes; low nibbles are values 0..15, high nibbles 16..31, offset 8
            b = np.frombuffer(raw, np.uint8, n // 32 * 18, p).reshape(-1, 18)
            d = b[:, :2].copy().view('<f2').astype(np.float64)
            q = np.concatenate([b[:, 2:] & 15, b[:, 2:] >> 4], axis=1).astype(np.float64) - 8
            x = (q * d).reshape(-1)
        else:
            raise SystemExit(f'{path}: {name} has GGUF type {t}; this reference reads F32, F16, Q8_0 and Q4_0')
        tensors[name] = x.reshape(list(reversed(ne)))  # numpy order: [rows, cols] = [ne1, ne0]
    return meta, tensors


def logits_of(meta, w, ids):
    arch = meta['general.architecture']
    assert arch == 'llama', arch
    D = meta['llama.embedding_length']
    L = meta['llama.block_count']
    H = meta['llama.attention.head_count']
    KV = meta.get('llama.attention.head_count_kv', H)
    eps = meta['llama.attention.layer_norm_rms_epsilon']
    theta = meta.get('llama.rope.freq_base', 10000.0)
    hd = D // H
    T = len(ids)

    def rms(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g

    # run.c: pairs (2i, 2i+1) of each head turn by pos / theta^(2i / head_size)
    freq = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    ang = np.outer(np.arange(T), freq)  # [T, hd/2]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]

    def rope(x):  # x: [T, heads, hd]
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = a * sin + b * cos
        return out

    x = w['token_embd.weight'][ids]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(L):
        p = f'blk.{i}.'
        h = rms(x, w[p + 'attn_norm.weight'])
        q = rope((h @ w[p + 'attn_q.weight'].T).reshape(T, H, hd))
        k = rope((h @ w[p + 'attn_k.weight'].T).reshape(T, KV, hd))
        v = (h @ w[p + 'attn_v.weight'].T).reshape(T, KV, hd)
        k = np.repeat(k, H // KV, axis=1)
        v = np.repeat(v, H // KV, axis=1)
        s = np.einsum('thd,uhd->htu', q, k) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        y = np.einsum('htu,uhd->thd', s, v).reshape(T, H * hd)
        x = x + y @ w[p + 'attn_output.weight'].T
        m = rms(x, w[p + 'ffn_norm.weight'])
        g = m @ w[p + 'ffn_gate.weight'].T
        x = x + ((g / (1 + np.exp(-g))) * (m @ w[p + 'ffn_up.weight'].T)) @ w[p + 'ffn_down.weight'].T
    head = w.get('output.weight', w['token_embd.weight'])
    return rms(x, w['output_norm.weight']) @ head.T


def main():
    for d in sys.argv[1:]:
        spec = json.load(open(os.path.join(d, 'reference_ids.json')))
        meta, w = read_gguf(spec['model'])
        ids = list(spec['prompt'])
        steps = []
        for _ in range(spec['steps']):
            z = logits_of(meta, w, ids)[-1]
            p = np.exp(z - z.max())
            p /= p.sum()
            top = np.argsort(-p, kind='stable')[:10]
            steps.append({'id': int(top[0]), 'top': [[int(t), float(p[t])] for t in top]})
            ids.append(int(top[0]))
        json.dump({'script': 'tools/reference/gguf_llama_reference.py', 'numpy': np.__version__, 'dtype': 'float64',
                   'model': spec['model'], 'prompt': spec['prompt'], 'steps': steps}, open(os.path.join(d, 'reference.json'), 'w'), indent=1)
        print(f'{d}: {len(steps)} greedy steps, ids {[s["id"] for s in steps]}')


if __name__ == '__main__':
    main()
