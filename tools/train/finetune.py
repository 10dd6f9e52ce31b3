#!/usr/bin/env python3
"""Fine-tuning stage, step 3: supervised fine-tuning (SFT) of the base model into a chat model.

Starts from the base's exported weights (F16, exactly what ships in models/nexttoken-3m), adds the two
ChatML turn tokens as new embedding rows (every base id keeps its row), and trains on the chat set of
chat_data.py, encoded by chat_tokens.ts: loss on the assistant's tokens only (each reply and the
<|im_end|> that ends it). Then exports the chat model in the Hugging Face GPT-2 layout.

Why these choices:
- From the shipped base, with a fresh optimizer: it is what fine-tuning a released model is, and it can
  be rerun from a fresh clone in minutes, reproducing the chat model byte for byte.
- New rows start at the mean of the base's embeddings: a neutral token the model can learn from.
- Stored int8 (per row, as the training snapshots): both models and the snapshots fit in 32 MB, and the
  eval measures the weights that ship, not the float32 ones.

Usage: finetune.py WORK_DIR BASE_MODEL_DIR OUT_MODEL_DIR
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import train as T  # noqa: E402  (the base's model, its safetensors reader and writer)

WORK, BASE, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
SEED = 2024
STEPS = int(os.environ.get('SFT_STEPS', 700))
BATCH = 16
LR_MAX, LR_MIN, WARMUP = 3e-4, 3e-5, 20
WEIGHT_DECAY, GRAD_CLIP = 0.0, 1.0
# Rehearsal: each step also trains on a few windows of the base's own training text, so that tuning for chat
# does not wash out what pretraining learned (without it, plain-text validation loss rose from 4.02 to 5.20
# nats/token in English and from 3.74 to 6.22 in Chinese).
REHEARSAL_ROWS, REHEARSAL_CTX = int(os.environ.get('SFT_REHEARSAL_ROWS', 4)), 128
VAL_SHARE = 20  # every 20th conversation is held out for the SFT validation loss
EVAL_EVERY = 100


def conversations():
    ids = np.fromfile(os.path.join(WORK, 'chat_ids.bin'), dtype=np.uint16).astype(np.int64)
    mask = np.fromfile(os.path.join(WORK, 'chat_mask.bin'), dtype=np.uint8)
    offsets = json.load(open(os.path.join(WORK, 'chat_offsets.json')))
    return [(ids[a:b], mask[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]


def batch_of(convs):
    """Right-padded inputs and targets; a target counts only where the mask marks a trained token."""
    n = max(len(c[0]) for c in convs) - 1
    x = torch.zeros(len(convs), n, dtype=torch.long)
    y = torch.full((len(convs), n), -100, dtype=torch.long)
    for i, (ids, mask) in enumerate(convs):
        t = torch.from_numpy(ids)
        x[i, :len(ids) - 1] = t[:-1]
        keep = torch.from_numpy(mask[1:].astype(bool))
        y[i, :len(ids) - 1] = torch.where(keep, t[1:], torch.tensor(-100))
    return x, y


def loss_of(model, x, y):
    logits = model(x)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), ignore_index=-100, reduction='sum'), int((y != -100).sum())


@torch.no_grad()
def sft_val(model, convs):
    model.eval()
    nats, n = 0.0, 0
    for i in range(0, len(convs), 32):
        l, k = loss_of(model, *batch_of(convs[i:i + 32]))
        nats, n = nats + l.item(), n + k
    model.train()
    return nats / n


def text_val(model, val_ids):
    nats, n = T.evaluate(model, val_ids)
    return nats / n


def save_int8(path, tensors):
    """int8 per row as train.quantize_int8, each scale written before its weight: the app can read the
    file as it streams in (it needs a row's scale when the row arrives)."""
    q = T.quantize_int8(tensors)
    ordered = {}
    for name in tensors:
        if name + '.scale' in q:
            ordered[name + '.scale'] = q[name + '.scale']
        ordered[name] = q[name]
    T.save_safetensors(path, ordered, 'F16')


def main():
    torch.set_num_threads(T.THREADS)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    tok = json.load(open(os.path.join(WORK, 'chat', 'tokenizer.json'), encoding='utf-8'))
    vocab = max(t['id'] for t in tok['added_tokens']) + 1
    base_cfg = json.load(open(os.path.join(BASE, 'config.json')))
    cfg = dict(T.CFG, vocab_size=vocab)
    assert base_cfg['vocab_size'] == T.CFG['vocab_size'] < vocab, 'the chat vocabulary extends the base one'
    model = T.GPT(cfg)
    w = T.load_safetensors(os.path.join(BASE, 'model.safetensors'))
    wte = w['wte.weight']
    w['wte.weight'] = np.concatenate([wte, np.repeat(wte.mean(axis=0, keepdims=True), vocab - len(wte), axis=0)])
    T.load_hf_tensors(model, w)

    convs = conversations()
    train = [c for i, c in enumerate(convs) if i % VAL_SHARE != VAL_SHARE - 1]
    val = [c for i, c in enumerate(convs) if i % VAL_SHARE == VAL_SHARE - 1]
    val_text = {lang: np.fromfile(os.path.join(WORK, f'val_{lang}.bin'), dtype=np.uint16) for lang in T.LANGS}
    train_text = np.fromfile(os.path.join(WORK, 'train.bin'), dtype=np.uint16).astype(np.int64)
    decay = [p for p in model.parameters() if p.dim() == 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': WEIGHT_DECAY}, {'params': rest, 'weight_decay': 0.0}], lr=LR_MAX, betas=(0.9, 0.95))
    log, elapsed, ema = [], 0.0, None

    def record(step):
        entry = {'step': step, 'trainLoss': ema, 'sftValLoss': sft_val(model, val), 'elapsedS': round(elapsed, 1)}
        if step in (0, STEPS):  # the plain-text loss (what fine-tuning costs the language model): first and last only
            entry['textValLoss'] = {lang: text_val(model, v) for lang, v in val_text.items()}
        log.append(entry)
        print(json.dumps(entry), flush=True)

    record(0)
    t_last = time.time()
    for step in range(STEPS):
        lr = LR_MAX * (step + 1) / WARMUP if step < WARMUP else T.cosine((step - WARMUP) / max(1, STEPS - WARMUP), LR_MAX, LR_MIN)
        for g in opt.param_groups:
            g['lr'] = lr
        x, y = batch_of([train[i] for i in rng.integers(0, len(train), BATCH)])
        l, n = loss_of(model, x, y)
        loss = l / n
        if REHEARSAL_ROWS:
            rows = np.stack([train_text[s:s + REHEARSAL_CTX + 1] for s in rng.integers(0, len(train_text) - REHEARSAL_CTX - 1, REHEARSAL_ROWS)])
            lt, nt = loss_of(model, torch.from_numpy(rows[:, :-1]), torch.from_numpy(rows[:, 1:]))
            loss = loss + lt / nt
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        now = time.time()
        elapsed += now - t_last
        t_last = now
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if (step + 1) % EVAL_EVERY == 0 or step + 1 == STEPS:
            record(step + 1)
            t_last = time.time()

    os.makedirs(OUT, exist_ok=True)
    tensors = T.hf_tensors(model)
    save_int8(os.path.join(OUT, 'model.safetensors'), tensors)
    # What int8 storage costs, measured here on the validation text (the eval measures the shipped file).
    T.load_hf_tensors(model, T.load_safetensors(os.path.join(OUT, 'model.safetensors')))
    stored = {lang: text_val(model, v) for lang, v in val_text.items()}
    stored_sft = sft_val(model, val)
    cfg_out = dict(json.load(open(os.path.join(BASE, 'config.json'))), vocab_size=vocab, torch_dtype='int8')
    json.dump(cfg_out, open(os.path.join(OUT, 'config.json'), 'w'), indent=2)
    gen = json.load(open(os.path.join(BASE, 'generation_config.json')))
    json.dump(gen, open(os.path.join(OUT, 'generation_config.json'), 'w'), indent=2)
    nparams = sum(p.numel() for p in model.parameters())
    json.dump({'params': nparams, 'baseModel': os.path.basename(os.path.normpath(BASE)), 'method': 'supervised fine-tuning (SFT)',
               'seed': SEED, 'steps': STEPS, 'batchConversations': BATCH,
               'optimizer': {'name': 'AdamW', 'betas': [0.9, 0.95], 'lrMax': LR_MAX, 'lrMin': LR_MIN, 'warmupSteps': WARMUP,
                             'schedule': 'cosine over steps', 'weightDecay': WEIGHT_DECAY, 'gradClip': GRAD_CLIP},
               'lossOn': 'assistant replies and their <|im_end|>', 'newTokenInit': 'mean of the base embeddings',
               'rehearsal': {'rowsPerStep': REHEARSAL_ROWS, 'tokensPerRow': REHEARSAL_CTX, 'from': "the base's training text (train.bin)",
                             'loss': 'added to the chat loss, each the mean over its own tokens'},
               'conversations': {'train': len(train), 'val': len(val)},
               'trainedTokens': int(sum(int(m[1:].sum()) for _, m in train)),
               'storedAs': 'int8 per row (F16 scales)', 'storedInt8': {'sftValLoss': stored_sft, 'textValLoss': stored},
               'wallTimeS': round(elapsed, 1), 'hardware': {'cpu': T.cpu_name(), 'threads': T.THREADS, 'torch': torch.__version__},
               'curve': log, 'final': log[-1]},
              open(os.path.join(OUT, 'training_log.json'), 'w'), indent=1)
    print('exported to', OUT, flush=True)


if __name__ == '__main__':
    main()
