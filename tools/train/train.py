#!/usr/bin/env python3
"""Step 3 of `npm run train`: trains the embedded GPT-2-architecture model with PyTorch on the CPU
and exports it in the Hugging Face GPT-2 layout.

Why PyTorch: on 2 cores it trains ~10x faster than TF.js-wasm (see README), and it gives the
TypeScript engine an independent implementation to be checked against.
Resumable: a checkpoint is written every CKPT_EVERY steps; re-running continues from it.
Deterministic schedule: a fixed number of steps (not wall-clock), fixed seeds.

Usage: train.py WORK_DIR OUT_MODEL_DIR
"""
import json
import math
import os
import platform
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

WORK = sys.argv[1] if len(sys.argv) > 1 else '.cache/train-work'
OUT = sys.argv[2] if len(sys.argv) > 2 else 'models/nexttoken-3m'

CFG = dict(vocab_size=4096, n_positions=256, n_embd=192, n_layer=5, n_head=6)
SEED = 1337
STEPS = int(os.environ.get('TRAIN_STEPS', 4000))
# Phase 2, "fact tuning": half of each batch from the seen-fact corpus, at a lower learning rate, so
# the model memorises the facts it is meant to know. Held-out facts are in no corpus at all.
FACT_STEPS = int(os.environ.get('FACT_STEPS', 1000))
FACT_LR_MAX, FACT_LR_MIN = 5e-4, 5e-5
BATCH, CTX = 16, 256
LR_MAX, LR_MIN, WARMUP = 2e-3, 2e-4, 100
WEIGHT_DECAY, GRAD_CLIP = 0.1, 1.0
EVAL_EVERY, CKPT_EVERY = 300, 200
THREADS = int(os.environ.get('TRAIN_THREADS', os.cpu_count() or 2))


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x, mask):
        B, T, D = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=2)
        hd = D // self.h
        q, k, v = (t.view(B, T, self.h, hd).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        att = att.masked_fill(mask[:T, :T] == 0, float('-inf')).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.c_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))
        return x


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.wte = nn.Embedding(c['vocab_size'], c['n_embd'])
        self.wpe = nn.Embedding(c['n_positions'], c['n_embd'])
        self.h = nn.ModuleList(Block(c['n_embd'], c['n_head']) for _ in range(c['n_layer']))
        self.ln_f = nn.LayerNorm(c['n_embd'], eps=1e-5)
        self.register_buffer('mask', torch.tril(torch.ones(c['n_positions'], c['n_positions'])), persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * c['n_layer']) if name.endswith(('c_proj.weight', 'mlp_proj.weight')) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith('bias'):
                nn.init.zeros_(p)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.h:
            x = b(x, self.mask)
        logits = self.ln_f(x) @ self.wte.weight.T  # tied head, as GPT-2
        if targets is None:
            return logits
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction='sum')


def val_windows(ids):
    """Non-overlapping windows of CTX inputs; each token after the first is predicted exactly once."""
    for i in range(0, len(ids) - 1, CTX):
        x = ids[i:i + CTX]
        y = ids[i + 1:i + CTX + 1]
        yield x[:len(y)], y


@torch.no_grad()
def evaluate(model, val_ids):
    model.eval()
    nats, n = 0.0, 0
    for x, y in val_windows(val_ids):
        nats += model(torch.from_numpy(x.astype(np.int64))[None], torch.from_numpy(y.astype(np.int64))[None]).item()
        n += len(y)
    model.train()
    return nats, n


def lr_at(step):
    if step >= STEPS:
        p = (step - STEPS) / max(1, FACT_STEPS)
        return FACT_LR_MIN + 0.5 * (FACT_LR_MAX - FACT_LR_MIN) * (1 + math.cos(math.pi * min(1.0, p)))
    if step < WARMUP:
        return LR_MAX * (step + 1) / WARMUP
    p = (step - WARMUP) / max(1, STEPS - WARMUP)
    return LR_MIN + 0.5 * (LR_MAX - LR_MIN) * (1 + math.cos(math.pi * min(1.0, p)))


def save_safetensors(path, tensors, dtype):
    """Writes the safetensors format directly (8-byte header length, JSON header, raw little-endian data)."""
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        a = np.ascontiguousarray(arr.astype(np.float16 if dtype == 'F16' else np.float32))
        b = a.tobytes()
        header[name] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header['__metadata__'] = {'format': 'pt'}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def export(model, out):
    """Hugging Face GPT-2 names; Conv1D weights are [in, out], i.e. nn.Linear's weight transposed."""
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    t = {'wte.weight': sd['wte.weight'], 'wpe.weight': sd['wpe.weight']}
    for i in range(model.c['n_layer']):
        p = f'h.{i}.'
        t[p + 'ln_1.weight'], t[p + 'ln_1.bias'] = sd[p + 'ln_1.weight'], sd[p + 'ln_1.bias']
        t[p + 'attn.c_attn.weight'], t[p + 'attn.c_attn.bias'] = sd[p + 'c_attn.weight'].T, sd[p + 'c_attn.bias']
        t[p + 'attn.c_proj.weight'], t[p + 'attn.c_proj.bias'] = sd[p + 'c_proj.weight'].T, sd[p + 'c_proj.bias']
        t[p + 'ln_2.weight'], t[p + 'ln_2.bias'] = sd[p + 'ln_2.weight'], sd[p + 'ln_2.bias']
        t[p + 'mlp.c_fc.weight'], t[p + 'mlp.c_fc.bias'] = sd[p + 'c_fc.weight'].T, sd[p + 'c_fc.bias']
        t[p + 'mlp.c_proj.weight'], t[p + 'mlp.c_proj.bias'] = sd[p + 'mlp_proj.weight'].T, sd[p + 'mlp_proj.bias']
    t['ln_f.weight'], t['ln_f.bias'] = sd['ln_f.weight'], sd['ln_f.bias']
    save_safetensors(os.path.join(out, 'model.safetensors'), t, 'F16')


def cpu_name():
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def main():
    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    train_ids = np.fromfile(os.path.join(WORK, 'train.bin'), dtype=np.uint16)
    val_ids = np.fromfile(os.path.join(WORK, 'val.bin'), dtype=np.uint16)
    fact_ids = np.fromfile(os.path.join(WORK, 'facts.bin'), dtype=np.uint16)
    val_bytes = sum(len(json.loads(l)['text'].encode('utf-8')) for l in open(os.path.join(WORK, 'docs_val.jsonl'), encoding='utf-8'))
    model = GPT(CFG)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': WEIGHT_DECAY}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=LR_MAX, betas=(0.9, 0.95))
    ckpt_path = os.path.join(WORK, 'ckpt.pt')
    step, log, elapsed = 0, [], 0.0
    rng = np.random.default_rng(SEED)
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        step, log, elapsed = ck['step'], ck['log'], ck['elapsed']
        rng.bit_generator.state = ck['rng']
        torch.set_rng_state(ck['torch_rng'])
        print(f'resumed at step {step}', flush=True)
    global STEPS, FACT_STEPS
    if os.environ.get('EXPORT_ONLY'):  # export the latest checkpoint as it is (to inspect a run in progress)
        STEPS, FACT_STEPS = step, 0
    total = STEPS + FACT_STEPS
    nparams = sum(p.numel() for p in model.parameters())
    print(json.dumps({'params': nparams, 'trainTokens': int(len(train_ids)), 'steps': STEPS, 'threads': THREADS}), flush=True)

    def record(train_loss):
        nats, n = evaluate(model, val_ids)
        entry = {'step': step, 'tokens': step * BATCH * CTX, 'trainLoss': train_loss, 'valLoss': nats / n,
                 'valBitsPerByte': nats / math.log(2) / val_bytes, 'elapsedS': round(elapsed, 1)}
        log.append(entry)
        print(json.dumps(entry), flush=True)

    if step == 0 and total > 0:
        record(None)
    ema = None
    t_last = time.time()
    while step < total:
        n_fact = BATCH // 2 if step >= STEPS else 0
        starts = rng.integers(0, len(train_ids) - CTX - 1, BATCH - n_fact)
        fstarts = rng.integers(0, len(fact_ids) - CTX - 1, n_fact)
        rows = [train_ids[s:s + CTX + 1] for s in starts] + [fact_ids[s:s + CTX + 1] for s in fstarts]
        x = torch.from_numpy(np.stack([r[:-1] for r in rows]).astype(np.int64))
        y = torch.from_numpy(np.stack([r[1:] for r in rows]).astype(np.int64))
        for g in opt.param_groups:
            g['lr'] = lr_at(step)
        loss = model(x, y) / (BATCH * CTX)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        step += 1
        now = time.time()
        elapsed += now - t_last
        t_last = now
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % EVAL_EVERY == 0 or step == STEPS or step == total:
            record(ema)
            t_last = time.time()  # evaluation time is not training time
        if step % CKPT_EVERY == 0 or step == total:
            torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'step': step, 'log': log, 'elapsed': elapsed,
                        'rng': rng.bit_generator.state, 'torch_rng': torch.get_rng_state()}, ckpt_path + '.tmp')
            os.replace(ckpt_path + '.tmp', ckpt_path)

    os.makedirs(OUT, exist_ok=True)
    export(model, OUT)
    cfg = {'model_type': 'gpt2', 'architectures': ['GPT2LMHeadModel'], 'activation_function': 'gelu_new',
           'vocab_size': CFG['vocab_size'], 'n_positions': CFG['n_positions'], 'n_ctx': CFG['n_positions'],
           'n_embd': CFG['n_embd'], 'n_layer': CFG['n_layer'], 'n_head': CFG['n_head'], 'n_inner': None,
           'layer_norm_epsilon': 1e-5, 'tie_word_embeddings': True, 'bos_token_id': 4095, 'eos_token_id': 4095,
           'torch_dtype': 'float16'}
    json.dump(cfg, open(os.path.join(OUT, 'config.json'), 'w'), indent=2)
    json.dump({'bos_token_id': 4095, 'eos_token_id': 4095, 'do_sample': True, 'temperature': 0.8, 'max_new_tokens': 100},
              open(os.path.join(OUT, 'generation_config.json'), 'w'), indent=2)
    json.dump({'params': nparams, 'config': CFG, 'seed': SEED, 'steps': STEPS, 'factSteps': FACT_STEPS, 'batch': BATCH, 'context': CTX,
               'optimizer': {'name': 'AdamW', 'betas': [0.9, 0.95], 'lrMax': LR_MAX, 'lrMin': LR_MIN, 'warmupSteps': WARMUP,
                             'schedule': 'cosine over steps', 'weightDecay': WEIGHT_DECAY, 'gradClip': GRAD_CLIP,
                             'factTuning': {'steps': FACT_STEPS, 'lrMax': FACT_LR_MAX, 'lrMin': FACT_LR_MIN, 'factShareOfBatch': 0.5}},
               'tokensSeen': total * BATCH * CTX, 'trainTokens': int(len(train_ids)), 'factTokens': int(len(fact_ids)),
               'epochs': (STEPS * BATCH * CTX + FACT_STEPS * (BATCH - BATCH // 2) * CTX) / len(train_ids),
               'valTokens': int(len(val_ids)), 'valBytes': val_bytes, 'wallTimeS': round(elapsed, 1),
               'hardware': {'cpu': cpu_name(), 'threads': THREADS, 'torch': torch.__version__},
               'curve': log, 'final': log[-1]},
              open(os.path.join(OUT, 'training_log.json'), 'w'), indent=1)
    print('exported to', OUT, flush=True)


if __name__ == '__main__':
    main()
