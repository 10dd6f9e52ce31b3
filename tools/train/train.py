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
import shutil
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

WORK = sys.argv[1] if len(sys.argv) > 1 else '.cache/train-work'
OUT = sys.argv[2] if len(sys.argv) > 2 else 'models/nexttoken-3m'

CFG = dict(vocab_size=6144, n_positions=256, n_embd=192, n_layer=5, n_head=6)
EOS = CFG['vocab_size'] - 1
SEED = 1337
STEPS = int(os.environ.get('TRAIN_STEPS', 3300))
# Phase 2, "fact tuning": half of each batch from the seen-fact corpus, at a lower learning rate, so
# the model memorises the facts it is meant to know. Held-out facts are in no corpus at all.
FACT_STEPS = int(os.environ.get('FACT_STEPS', 700))
FACT_LR_MAX, FACT_LR_MIN = 5e-4, 5e-5
# Phase 3, "polish": starts from phase 2's exported model (its F16 weights) with a fresh optimizer and its
# own seed, as fine-tuning a released model does, so it can be rerun on the committed phase-2 model alone
# (POLISH_FROM). Fact rows start at the start of a line: a learner's bare prompt ("法国的首都是") sits at
# position 0 with nothing before it, and phases 1-2 almost never put a fact there. General text fills the
# rest of each batch, so the language model keeps improving while the facts are drilled.
POLISH_STEPS = int(os.environ.get('POLISH_STEPS', 400))
POLISH_LR_MAX, POLISH_LR_MIN, POLISH_WARMUP = 3e-4, 3e-5, 20
POLISH_FACT_ROWS = 6
# Of those fact rows, how many start at a bare fact ("法国的首都是巴黎。" at position 0). Taking rows from the
# other fact rows cost held-out English answers their plausibility (docs/models.md, "Bare prompts"): 0.
POLISH_BARE_ROWS = int(os.environ.get('POLISH_BARE_ROWS', 0))
# Short rows: besides the batch, this many rows of BARE_SHORT_LEN tokens, each starting at a bare fact, so
# position 0 sees a fact 32 times a step where a full row puts only its first line there. A learner's bare
# prompt has nothing before it: with full rows alone the model knew 法国的首都是 → 巴黎 only after a "\n"
# (46%; 16% at position 0). Their tokens weigh as any other token's; general text and the other fact rows are
# drawn as before (own RNG), so the language model is not traded for them.
POLISH_BARE_SHORT = int(os.environ.get('POLISH_BARE_SHORT', 32))
BARE_SHORT_LEN = 16
BATCH, CTX = 16, 256
LR_MAX, LR_MIN, WARMUP = 2e-3, 2e-4, 100
WEIGHT_DECAY, GRAD_CLIP = 0.1, 1.0
EVAL_EVERY, CKPT_EVERY = int(os.environ.get("EVAL_EVERY", 300)), 200
THREADS = int(os.environ.get('TRAIN_THREADS', os.cpu_count() or 2))
# Checks a fresh clone against the committed run without the whole run: stop after this step (same
# schedule, same data), record the validation loss and export nothing. 0 = train to the end.
STOP_AT = int(os.environ.get('STOP_AT', 0))
# Snapshots of the same run for the app's training scrubber, as shares of all steps: the untrained
# network, then early, middle and late. Stored int8 (see export_int8); the final model is F16.
SNAPSHOT_SHARES = (0.0, 0.02, 0.10, 0.40)
LANGS = ('en', 'zh')


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
    """Total nats and tokens over one validation stream."""
    model.eval()
    nats, n = 0.0, 0
    for x, y in val_windows(val_ids):
        nats += model(torch.from_numpy(x.astype(np.int64))[None], torch.from_numpy(y.astype(np.int64))[None]).item()
        n += len(y)
    model.train()
    return nats, n


def cosine(p, lr_max, lr_min):
    """Cosine decay from lr_max (p = 0) to lr_min (p >= 1)."""
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * min(1.0, p)))


def lr_at(step):
    polish = step - STEPS - FACT_STEPS
    if polish >= 0:
        if polish < POLISH_WARMUP:
            return POLISH_LR_MAX * (polish + 1) / POLISH_WARMUP
        return cosine(polish / max(1, POLISH_STEPS), POLISH_LR_MAX, POLISH_LR_MIN)
    if step >= STEPS:
        return cosine((step - STEPS) / max(1, FACT_STEPS), FACT_LR_MAX, FACT_LR_MIN)
    if step < WARMUP:
        return LR_MAX * (step + 1) / WARMUP
    return cosine((step - WARMUP) / max(1, STEPS - WARMUP), LR_MAX, LR_MIN)


def save_safetensors(path, tensors, dtype):
    """Writes the safetensors format directly (8-byte header length, JSON header, raw little-endian data).
    `tensors` values are numpy arrays, written as F16/F32 (`dtype`), or as they are when already int8."""
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        if arr.dtype == np.int8:
            a, dt = np.ascontiguousarray(arr), 'I8'
        else:
            a, dt = np.ascontiguousarray(arr.astype(np.float16 if dtype == 'F16' else np.float32)), dtype
        b = a.tobytes()
        header[name] = {'dtype': dt, 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
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


def quantize_int8(tensors):
    """Symmetric int8 per row (axis 0) for 2-D tensors, with an F16 scale per row stored as `<name>.scale`:
    w ≈ q · scale. Vectors (biases, layer norms) stay F16. A quarter of F32's bytes, half of F16's: five
    snapshots fit in the budget, and a snapshot only has to show what the model predicted at that point."""
    out = {}
    for name, w in tensors.items():
        if w.ndim != 2:
            out[name] = w
            continue
        scale = np.abs(w).max(axis=1) / 127.0
        scale = np.where(scale == 0, 1.0, scale).astype(np.float16)
        out[name] = np.clip(np.rint(w / scale.astype(np.float32)[:, None]), -127, 127).astype(np.int8)
        out[name + '.scale'] = scale
    return out


def hf_tensors(model):
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
    return t


def export(model, out):
    save_safetensors(os.path.join(out, 'model.safetensors'), hf_tensors(model), 'F16')


def snapshot_path(out, step):
    return os.path.join(out, 'checkpoints', f'step-{step:05d}.safetensors')


def cpu_name():
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def load_safetensors(path):
    """Reads tensors written by save_safetensors as float32 numpy arrays; int8 ones times their row scales."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {'F16': np.float16, 'F32': np.float32, 'I8': np.int8}
    raw = {name: np.frombuffer(data[h['data_offsets'][0]:h['data_offsets'][1]], dtype=dtypes[h['dtype']]).reshape(h['shape']).astype(np.float32)
           for name, h in header.items() if name != '__metadata__'}
    return {name: a * raw[name + '.scale'][:, None] if header[name]['dtype'] == 'I8' else a
            for name, a in raw.items() if not (name.endswith('.scale') and name[:-len('.scale')] in raw)}


def load_hf_tensors(model, t):
    """The inverse of hf_tensors: Hugging Face GPT-2 names (Conv1D [in, out]) into the model."""
    sd = {'wte.weight': t['wte.weight'], 'wpe.weight': t['wpe.weight'], 'ln_f.weight': t['ln_f.weight'], 'ln_f.bias': t['ln_f.bias']}
    for i in range(model.c['n_layer']):
        p = f'h.{i}.'
        for ours, theirs, transpose in (('ln_1', 'ln_1', False), ('c_attn', 'attn.c_attn', True), ('c_proj', 'attn.c_proj', True),
                                        ('ln_2', 'ln_2', False), ('c_fc', 'mlp.c_fc', True), ('mlp_proj', 'mlp.c_proj', True)):
            sd[p + ours + '.weight'] = t[p + theirs + '.weight'].T if transpose else t[p + theirs + '.weight']
            sd[p + ours + '.bias'] = t[p + theirs + '.bias']
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()})


def make_optimizer(model):
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{'params': decay, 'weight_decay': WEIGHT_DECAY}, {'params': no_decay, 'weight_decay': 0.0}],
                             lr=LR_MAX, betas=(0.9, 0.95))


def line_starts(ids, eos, newline):
    """Offsets of the tokens that start a line or a document, with a whole row after them."""
    prev = ids[:-1]
    at = np.nonzero((prev == eos) | (prev == newline))[0] + 1
    return at[at + CTX + 1 <= len(ids)]


def main():
    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    train_ids = np.fromfile(os.path.join(WORK, 'train.bin'), dtype=np.uint16)
    fact_ids = np.fromfile(os.path.join(WORK, 'facts.bin'), dtype=np.uint16)
    # Validation per language: each language's documents as their own stream (what the eval does too).
    val_ids = {lang: np.fromfile(os.path.join(WORK, f'val_{lang}.bin'), dtype=np.uint16) for lang in LANGS}
    val_docs = [json.loads(l) for l in open(os.path.join(WORK, 'docs_val.jsonl'), encoding='utf-8')]
    val_bytes = {lang: sum(len(d['text'].encode('utf-8')) for d in val_docs if d['lang'] == lang) for lang in LANGS}
    newline = json.load(open(os.path.join(WORK, 'tokenizer.json'), encoding='utf-8'))['model']['vocab']['\u010a']  # "\n", byte-level
    # Phase 3's fact rows: the fact corpus and the capitals on their own (polish.bin), each row from a line start.
    polish_ids = np.concatenate([fact_ids, np.fromfile(os.path.join(WORK, 'polish.bin'), dtype=np.uint16)])
    polish_line_starts = line_starts(polish_ids, EOS, newline)
    bare_ids = np.fromfile(os.path.join(WORK, 'bare.bin'), dtype=np.uint16)
    bare_line_starts = line_starts(bare_ids, EOS, newline)
    model = GPT(CFG)
    opt = make_optimizer(model)
    ckpt_path = os.path.join(WORK, 'ckpt.pt')
    step, log, elapsed = 0, [], 0.0
    rng = np.random.default_rng(SEED)
    rng_short = np.random.default_rng(SEED + 4)
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        step, log, elapsed = ck['step'], ck['log'], ck['elapsed']
        rng.bit_generator.state = ck['rng']
        if 'rng_short' in ck:
            rng_short.bit_generator.state = ck['rng_short']
        torch.set_rng_state(ck['torch_rng'])
        print(f'resumed at step {step}', flush=True)
    global STEPS, FACT_STEPS, POLISH_STEPS
    polish_from = os.environ.get('POLISH_FROM')
    if polish_from and step == 0:
        # Phase 3 alone, on an exported phase-2 model (e.g. the committed one): its curve so far comes with it.
        prior = json.load(open(os.path.join(polish_from, 'training_log.json')))
        assert prior['steps'] == STEPS and prior['factSteps'] == FACT_STEPS, 'POLISH_FROM: a model of other phase lengths'
        step, log, elapsed = STEPS + FACT_STEPS, [e for e in prior['curve'] if e['step'] <= STEPS + FACT_STEPS], prior['wallTimeS']
        print(f'phase 3 from {polish_from} at step {step}', flush=True)
    if os.environ.get('EXPORT_ONLY'):  # export the latest checkpoint as it is (to inspect a run in progress)
        STEPS, FACT_STEPS, POLISH_STEPS = step, 0, 0
    pretrain = STEPS + FACT_STEPS
    total = pretrain + POLISH_STEPS
    # Shares of phases 1-2: the scrubber shows the model learning language and facts; the last point is the final model.
    snapshot_steps = sorted({round(share * pretrain) for share in SNAPSHOT_SHARES})
    os.makedirs(os.path.join(OUT, 'checkpoints'), exist_ok=True)
    nparams = sum(p.numel() for p in model.parameters())
    print(json.dumps({'params': nparams, 'trainTokens': int(len(train_ids)), 'steps': STEPS, 'threads': THREADS}), flush=True)

    def record(train_loss):
        per = {lang: evaluate(model, val_ids[lang]) for lang in LANGS}
        nats, n = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
        entry = {'step': step, 'tokens': step * BATCH * CTX, 'trainLoss': train_loss, 'valLoss': nats / n,
                 'valBitsPerByte': nats / math.log(2) / sum(val_bytes.values()),
                 'byLanguage': {lang: {'valLoss': v[0] / v[1], 'valBitsPerByte': v[0] / math.log(2) / val_bytes[lang]} for lang, v in per.items()},
                 'elapsedS': round(elapsed, 1)}
        log.append(entry)
        print(json.dumps(entry), flush=True)

    def start_polish():
        """Phase 3 starts from the exported phase-2 model: F16 weights, a fresh optimizer, its own seed."""
        nonlocal opt, rng, rng_short
        path = os.path.join(polish_from, 'model.safetensors') if polish_from else os.path.join(WORK, 'phase2.safetensors')
        if not polish_from:
            save_safetensors(path, hf_tensors(model), 'F16')
        load_hf_tensors(model, load_safetensors(path))
        opt = make_optimizer(model)
        rng = np.random.default_rng(SEED + 3)
        rng_short = np.random.default_rng(SEED + 4)

    def snapshot():
        if step in snapshot_steps and step < total:
            save_safetensors(snapshot_path(OUT, step), quantize_int8(hf_tensors(model)), 'F16')

    if step == 0 and total > 0:
        record(None)
        snapshot()
    ema = None
    t_last = time.time()
    while step < total:
        if step == pretrain:
            start_polish()
        if step >= pretrain:
            starts = rng.integers(0, len(train_ids) - CTX - 1, BATCH - POLISH_FACT_ROWS)
            fstarts = rng.choice(polish_line_starts, POLISH_FACT_ROWS - POLISH_BARE_ROWS)
            bstarts = rng.choice(bare_line_starts, POLISH_BARE_ROWS) if POLISH_BARE_ROWS else []
            rows = [train_ids[s:s + CTX + 1] for s in starts] + [polish_ids[s:s + CTX + 1] for s in fstarts] + \
                   [bare_ids[s:s + CTX + 1] for s in bstarts]
        else:
            n_fact = BATCH // 2 if step >= STEPS else 0
            starts = rng.integers(0, len(train_ids) - CTX - 1, BATCH - n_fact)
            fstarts = rng.integers(0, len(fact_ids) - CTX - 1, n_fact)
            rows = [train_ids[s:s + CTX + 1] for s in starts] + [fact_ids[s:s + CTX + 1] for s in fstarts]
        x = torch.from_numpy(np.stack([r[:-1] for r in rows]).astype(np.int64))
        y = torch.from_numpy(np.stack([r[1:] for r in rows]).astype(np.int64))
        for g in opt.param_groups:
            g['lr'] = lr_at(step)
        loss = model(x, y) / (BATCH * CTX)
        tokens = BATCH * CTX
        if step >= pretrain and POLISH_BARE_SHORT:
            sstarts = rng_short.choice(bare_line_starts, POLISH_BARE_SHORT)
            short = np.stack([bare_ids[s:s + BARE_SHORT_LEN + 1] for s in sstarts]).astype(np.int64)
            loss = loss + model(torch.from_numpy(short[:, :-1]), torch.from_numpy(short[:, 1:])) / (BATCH * CTX)
            tokens += POLISH_BARE_SHORT * BARE_SHORT_LEN
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        step += 1
        now = time.time()
        elapsed += now - t_last
        t_last = now
        per_token = loss.item() * BATCH * CTX / tokens  # the mean over every token trained on this step
        ema = per_token if ema is None else 0.98 * ema + 0.02 * per_token
        if step % EVAL_EVERY == 0 or step in (STEPS, pretrain, total) or step in snapshot_steps or step == STOP_AT:
            record(ema)
            snapshot()
            t_last = time.time()  # evaluation time is not training time
        if step == STOP_AT:
            json.dump(log, open(os.path.join(WORK, 'partial_log.json'), 'w'), indent=1)
            print(f'stopped at step {step} (STOP_AT); nothing exported', flush=True)
            return
        if step % CKPT_EVERY == 0 or step == total:
            torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'step': step, 'log': log, 'elapsed': elapsed,
                        'rng': rng.bit_generator.state, 'rng_short': rng_short.bit_generator.state, 'torch_rng': torch.get_rng_state()}, ckpt_path + '.tmp')
            os.replace(ckpt_path + '.tmp', ckpt_path)

    os.makedirs(OUT, exist_ok=True)
    export(model, OUT)
    cfg = {'model_type': 'gpt2', 'architectures': ['GPT2LMHeadModel'], 'activation_function': 'gelu_new',
           'vocab_size': CFG['vocab_size'], 'n_positions': CFG['n_positions'], 'n_ctx': CFG['n_positions'],
           'n_embd': CFG['n_embd'], 'n_layer': CFG['n_layer'], 'n_head': CFG['n_head'], 'n_inner': None,
           'layer_norm_epsilon': 1e-5, 'tie_word_embeddings': True, 'bos_token_id': EOS, 'eos_token_id': EOS,
           'torch_dtype': 'float16'}
    json.dump(cfg, open(os.path.join(OUT, 'config.json'), 'w'), indent=2)
    json.dump({'bos_token_id': EOS, 'eos_token_id': EOS, 'do_sample': True, 'temperature': 0.8, 'max_new_tokens': 100},
              open(os.path.join(OUT, 'generation_config.json'), 'w'), indent=2)
    json.dump({'params': nparams, 'config': CFG, 'seed': SEED, 'steps': STEPS, 'factSteps': FACT_STEPS, 'polishSteps': POLISH_STEPS,
               'batch': BATCH, 'context': CTX,
               'optimizer': {'name': 'AdamW', 'betas': [0.9, 0.95], 'lrMax': LR_MAX, 'lrMin': LR_MIN, 'warmupSteps': WARMUP,
                             'schedule': 'cosine over steps', 'weightDecay': WEIGHT_DECAY, 'gradClip': GRAD_CLIP,
                             'factTuning': {'steps': FACT_STEPS, 'lrMax': FACT_LR_MAX, 'lrMin': FACT_LR_MIN, 'factShareOfBatch': 0.5},
                             'polish': {'steps': POLISH_STEPS, 'lrMax': POLISH_LR_MAX, 'lrMin': POLISH_LR_MIN, 'warmupSteps': POLISH_WARMUP,
                                        'factShareOfBatch': POLISH_FACT_ROWS / BATCH, 'factRowsStartAt': 'line start',
                                        'bareFactRows': POLISH_BARE_ROWS,
                                        'bareShortRows': POLISH_BARE_SHORT, 'bareShortRowTokens': BARE_SHORT_LEN,
                                        'startsFrom': 'the exported phase-2 model (F16), a fresh optimizer, seed + 3'}},
               'tokensSeen': total * BATCH * CTX, 'trainTokens': int(len(train_ids)), 'factTokens': int(len(fact_ids)),
               'epochs': (STEPS * BATCH + FACT_STEPS * (BATCH - BATCH // 2) + POLISH_STEPS * (BATCH - POLISH_FACT_ROWS)) * CTX / len(train_ids),
               'valTokens': {lang: int(len(v)) for lang, v in val_ids.items()}, 'valBytes': val_bytes, 'wallTimeS': round(elapsed, 1),
               'hardware': {'cpu': cpu_name(), 'threads': THREADS, 'torch': torch.__version__},
               'curve': log, 'final': log[-1]},
              open(os.path.join(OUT, 'training_log.json'), 'w'), indent=1)
    # The scrubber's index: each snapshot with its point on the loss curve (the final model is the last point).
    at = {e['step']: e for e in log}
    for st in snapshot_steps:  # phase 3 alone: the snapshots of phases 1-2 come with the model it started from
        if polish_from and not os.path.exists(snapshot_path(OUT, st)):
            shutil.copyfile(snapshot_path(polish_from, st), snapshot_path(OUT, st))
    points = [{'step': st, 'file': os.path.relpath(snapshot_path(OUT, st), OUT), 'dtype': 'int8'} for st in snapshot_steps if st < total]
    points.append({'step': total, 'file': 'model.safetensors', 'dtype': 'F16'})
    for p in points:
        e = at[p['step']]
        p.update({'share': p['step'] / total, 'tokens': e['tokens'], 'trainLoss': e['trainLoss'], 'valLoss': e['valLoss'],
                  'byLanguage': e['byLanguage'], 'bytes': os.path.getsize(os.path.join(OUT, p['file']))})
    json.dump({'totalSteps': total, 'checkpoints': points}, open(os.path.join(OUT, 'checkpoints.json'), 'w'), indent=1)
    print('exported to', OUT, flush=True)


if __name__ == '__main__':
    main()
