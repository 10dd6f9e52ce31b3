// Training snapshots (the app's "Training replay"): the int8 safetensors format they use, checked on
// hand-made bytes; the embedded model's snapshots against an independent PyTorch reference that reads the
// same int8 file itself (tools/reference/hf_reference.py); and each snapshot's place on the loss curve.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { memoryWeights, SafetensorsError } from '../src/engine/load/safetensors.ts';
import { validationLoss } from '../src/engine/tools/evaluate.ts';
import { loadModelDir, loadSnapshot, readCheckpointIndex } from '../src/node/loadDir.ts';

const DIR = join(import.meta.dirname, '..', 'models', 'nexttoken-3m');
const FIXTURE = join(import.meta.dirname, 'fixtures', 'training-snapshot');

/** A safetensors file from a header and raw tensor bytes, laid out in order. */
function safetensors(tensors: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[]): Uint8Array {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.length] };
    off += t.bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

describe('int8 safetensors (the snapshot format)', () => {
  // F16 bit patterns: 0x3800 = 0.5, 0x4000 = 2.
  const q = new Int8Array([1, -2, 127, -127, 0, 3]);
  const scale = new Uint8Array(new Uint16Array([0x3800, 0x4000]).buffer);

  it('dequantizes each row by its own scale: w = q · scale', () => {
    const w = memoryWeights([{ name: 's.safetensors', bytes: safetensors([{ name: 'w', dtype: 'I8', shape: [2, 3], bytes: new Uint8Array(q.buffer) }, { name: 'w.scale', dtype: 'F16', shape: [2], bytes: scale }]) }]);
    expect(Array.from(w.read('w'))).toEqual([0.5, -1, 63.5, -254, 0, 6]);
  });

  it('refuses an int8 tensor without its scale, saying which tensor and what it needs', () => {
    const w = memoryWeights([{ name: 's.safetensors', bytes: safetensors([{ name: 'w', dtype: 'I8', shape: [2, 3], bytes: new Uint8Array(q.buffer) }]) }]);
    expect(() => w.read('w')).toThrow(SafetensorsError);
    expect(() => w.read('w')).toThrow('int8 tensor "w" [2,3] needs a float scale per row, "w.scale" of shape [2], which is missing');
  });
});

describe('the embedded model ships its training snapshots', () => {
  const index = readCheckpointIndex(DIR)!;

  beforeAll(async () => {
    await selectBackend({ order: ['wasm'] });
  });

  it('lists every snapshot, from the untrained network to the final model, and all of it fits in 25 MB', () => {
    expect(index.checkpoints[0].step).toBe(0);
    expect(index.checkpoints.at(-1)!.file).toBe('model.safetensors');
    expect(index.checkpoints.at(-1)!.step).toBe(index.totalSteps);
    expect(index.checkpoints.length).toBeGreaterThanOrEqual(5);
    const total = index.checkpoints.reduce((s, p) => s + statSync(join(DIR, p.file)).size, 0);
    expect(total).toBeLessThanOrEqual(25 * 1024 * 1024);
    // The curve falls from snapshot to snapshot: each is a later point of the same run.
    for (let i = 1; i < index.checkpoints.length; i++) expect(index.checkpoints[i].valLoss).toBeLessThan(index.checkpoints[i - 1].valLoss);
  });

  it('the 10% snapshot (int8): prefill and 8 cached decode steps within 1e-3 of the PyTorch reference that dequantizes the same file', async () => {
    const { step, prompt, decode } = JSON.parse(readFileSync(join(FIXTURE, 'reference_ids.json'), 'utf8')) as { step: number; prompt: number[]; decode: number[] };
    // A retrained model needs a new reference (tests/fixtures/make-training-snapshot.ts says how).
    expect(step, 'the fixture was made for another run: regenerate it').toBe(index.checkpoints[2].step);
    const ref = new Float32Array(new Uint8Array(readFileSync(join(FIXTURE, 'reference_logits.f32'))).buffer);
    const lm = loadSnapshot(loadModelDir(DIR), DIR, step);
    const V = lm.config.vocabSize;
    expect(ref.length).toBe((prompt.length + decode.length) * V);
    let worst = 0;
    const prefill = lm.model.forward(prompt);
    const rows = (await prefill.data()) as Float32Array;
    prefill.dispose();
    for (let i = 0; i < rows.length; i++) worst = Math.max(worst, Math.abs(rows[i] - ref[i]));
    for (let k = 0; k < decode.length; k++) {
      const out = lm.model.forward([decode[k]]);
      const row = (await out.data()) as Float32Array;
      out.dispose();
      const at = (prompt.length + k) * V;
      for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(row[i] - ref[at + i]));
    }
    lm.model.dispose();
    expect(Math.max(...Array.from(ref.subarray(0, V), Math.abs))).toBeGreaterThan(1);
    expect(worst).toBeLessThanOrEqual(1e-3);
  });

  it("an int8 snapshot keeps its point on the curve: its Chinese validation loss is within 2% of the trainer's float32 figure", async () => {
    const docs = readFileSync(join(DIR, 'validation.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { lang: string; text: string });
    const point = index.checkpoints.at(-2)!; // the last int8 snapshot
    const lm = loadSnapshot(loadModelDir(DIR), DIR, point.step);
    const r = await validationLoss(lm, docs.filter((d) => d.lang === 'zh').map((d) => d.text));
    lm.model.dispose();
    expect(Math.abs(r.valLoss - point.byLanguage.zh.valLoss) / point.byLanguage.zh.valLoss).toBeLessThan(0.02);
  });
});
