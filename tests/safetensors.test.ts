// The safetensors reader: dtype conversion against known bit patterns, and one specific message per kind of bad file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { buildModel } from '../src/engine/load/load.ts';
import { memoryWeights, parseHeader, readTensor, SafetensorsError, streamTensors } from '../src/engine/load/safetensors.ts';
import { readModelDir } from '../src/node/loadDir.ts';

/** Builds a safetensors file from a header object and raw data bytes. */
function file(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const h = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const u16 = (...v: number[]) => new Uint8Array(Uint16Array.from(v).buffer);
const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('safetensors reader', () => {
  it('reads F32, F16 and BF16 as float32 (known bit patterns)', () => {
    const data = new Uint8Array([...f32(1.5, -2), ...u16(0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00), ...u16(0x3f80, 0xc060)]);
    const bytes = file(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F16', shape: [2, 3], data_offsets: [8, 20] },
        c: { dtype: 'BF16', shape: [2], data_offsets: [20, 24] },
      },
      data,
    );
    const h = parseHeader(bytes, bytes.length, 'x.safetensors');
    expect([...readTensor(bytes, h, 'a')]).toEqual([1.5, -2]);
    expect([...readTensor(bytes, h, 'b')]).toEqual([1, -2, 0.5, 65504, 2 ** -24, Infinity]);
    expect([...readTensor(bytes, h, 'c')]).toEqual([1, -3.5]);
  });

  const cases: [string, () => Uint8Array, RegExp][] = [
    ['truncated file', () => new Uint8Array(5), /bad\.safetensors: file is truncated: 5 bytes/],
    ['bad header length', () => {
      const b = file({}, new Uint8Array(0), '{}');
      new DataView(b.buffer).setBigUint64(0, 9999n, true);
      return b;
    }, /bad header length 9999/],
    ['bad JSON', () => file(null, new Uint8Array(0), '{"a": [1,'), /header is not valid JSON/],
    ['unknown dtype', () => file({ w: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "w" has dtype "I64"; NextToken reads F32, F16, BF16 and its own int8 snapshots \(I8\)/],
    ['span overflow', () => file({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), /tensor "w" ends at byte 16 of the data block, which is only 8 bytes/],
    ['span that disagrees with the shape', () => file({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "w" spans bytes 0\.\.8 \(8 bytes\), but shape \[3\] of F32 needs 12 bytes/],
  ];
  for (const [what, make, message] of cases) {
    it(`rejects a ${what} with a specific message`, () => {
      const b = make();
      const e = errorOf(() => parseHeader(b, b.length, 'bad.safetensors'));
      expect(e).toBeInstanceOf(SafetensorsError);
      expect(e.message).toMatch(message);
    });
  }

  describe('against a model config', () => {
    const dir = join(import.meta.dirname, 'fixtures', 'tiny-gpt2');
    const real = new Uint8Array(readFileSync(join(dir, 'model.safetensors')));
    const h = parseHeader(real, real.length, 'model.safetensors');
    // Rewrites the fixture with one tensor renamed or reshaped.
    const variant = (edit: (hdr: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void) => {
      const hdr = JSON.parse(new TextDecoder().decode(real.subarray(8, h.dataStart)));
      edit(hdr);
      return file(hdr, real.subarray(h.dataStart));
    };
    const load = (bytes: Uint8Array) => buildModel({ ...readModelDir(dir), weights: memoryWeights([{ name: 'model.safetensors', bytes }]) });

    it('rejects a missing tensor, naming it and the file', async () => {
      await selectBackend({ order: ['cpu'] });
      const bytes = variant((hdr) => {
        hdr['h.1.mlp.c_fc.weightX'] = hdr['h.1.mlp.c_fc.weight'];
        delete hdr['h.1.mlp.c_fc.weight'];
      });
      expect(() => load(bytes)).toThrow(/model\.safetensors: tensor "h\.1\.mlp\.c_fc\.weight" is missing \(expected shape \[32,128\]\)/);
    });

    it('rejects a tensor of the wrong shape, naming it, the file and the expected shape', async () => {
      await selectBackend({ order: ['cpu'] });
      const bytes = variant((hdr) => {
        hdr['h.0.attn.c_proj.weight'].shape = [16, 64];
      });
      expect(() => load(bytes)).toThrow(/model\.safetensors: tensor "h\.0\.attn\.c_proj\.weight" has shape \[16,64\], expected \[32,32\] from config\.json/);
    });

    it('accepts the optional "transformer." prefix of Hub GPT-2 checkpoints', async () => {
      await selectBackend({ order: ['cpu'] });
      const bytes = variant((hdr) => {
        for (const k of Object.keys(hdr)) if (k !== '__metadata__') {
          hdr['transformer.' + k] = hdr[k];
          delete hdr[k];
        }
      });
      const lm = load(bytes);
      expect(lm.model.params).toBe(44192);
      lm.model.dispose();
    });
  });

  describe('int8 (the chat model, the training snapshots) read as a stream', () => {
    const streamOf = (bytes: Uint8Array, chunk: number) =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += chunk) c.enqueue(bytes.slice(i, i + chunk));
          c.close();
        },
      });

    it('the shipped int8 chat model streams to exactly the tensors a whole-file read gives (scales held back, never handed over)', async () => {
      const bytes = new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'models', 'nexttoken-3m-chat', 'model.safetensors')));
      const header = parseHeader(bytes, bytes.length, 'model.safetensors');
      const got = new Map<string, Float32Array>();
      await streamTensors(streamOf(bytes, 65_537), bytes.length, 'model.safetensors', (e, data) => got.set(e.name, data.slice()));
      const weights = [...header.tensors.keys()].filter((n) => !n.endsWith('.scale'));
      expect([...got.keys()].sort()).toEqual(weights.sort());
      expect(weights.filter((n) => header.tensors.get(n)!.dtype === 'I8').length).toBeGreaterThan(20);
      for (const n of weights) expect(got.get(n)).toEqual(readTensor(bytes, header, n));
    });

    it('an int8 tensor whose scale comes after it cannot be streamed, and says so', async () => {
      const data = new Uint8Array([1, 2, 3, 4, ...u16(0x3c00, 0x3800)]);
      const bytes = file({ w: { dtype: 'I8', shape: [2, 2], data_offsets: [0, 4] }, 'w.scale': { dtype: 'F16', shape: [2], data_offsets: [4, 8] } }, data);
      await expect(streamTensors(streamOf(bytes, 5), bytes.length, 'x.safetensors', () => {})).rejects.toThrow(/int8 tensor "w" \[2,2\] needs its float scale per row, "w.scale" of shape \[2\], earlier in the file/);
      expect(readTensor(bytes, parseHeader(bytes, bytes.length, 'x.safetensors'), 'w')).toEqual(Float32Array.from([1, 2, 1.5, 2]));
    });
  });
});
