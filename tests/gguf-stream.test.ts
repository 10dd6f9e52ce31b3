// A GGUF read as it arrives (src/engine/load/ggufStream.ts): the header parsed once its bytes are in, each
// tensor turned into blocks or floats when complete, the file never held whole. Witness: the same file read
// whole from disk (the CLI's path, tested against the float32 engine and float64 in gguf.test.ts) — the
// streamed model must give the same logits bit for bit, whatever the chunk sizes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildModel, type LoadedModel } from '../src/engine/load/load.ts';
import { GgufError } from '../src/engine/load/gguf.ts';
import { ggufModelFilesOf } from '../src/engine/load/ggufModel.ts';
import { readGgufStream } from '../src/engine/load/ggufStream.ts';
import { readData, selectBackend } from '../src/engine/runtime/backend.ts';
import { readGgufFile } from '../src/node/loadDir.ts';
import { writeFixtureGguf } from '../tools/ggufWrite.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
let tmp: string;
beforeAll(async () => {
  expect((await selectBackend({ order: ['wasm'] })).backend).toBe('wasm');
  tmp = mkdtempSync(join(tmpdir(), 'nexttoken-gguf-stream-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The bytes as a stream of chunks of these sizes, in turn (a network hands over what it has). */
function chunked(bytes: Uint8Array, sizes: number[], stopAt = bytes.length): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= stopAt) return c.close();
      const n = Math.min(sizes[i++ % sizes.length], stopAt - at);
      c.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

async function logits(lm: LoadedModel, prompt: number[]): Promise<Float32Array[]> {
  const rows: Float32Array[] = [];
  for (const step of [prompt, [prompt[0]], [prompt[1]]]) {
    const out = lm.model.forward(step);
    rows.push(Float32Array.from(await readData(out)));
    out.dispose();
  }
  lm.model.dispose();
  return rows;
}

for (const name of ['tiny-llama', 'tiny-qwen3', 'tiny-gpt2']) {
  for (const type of ['Q8_0', 'Q4_0', 'F16'] as const) {
    it(`${name} ${type}: streamed in uneven chunks, the same logits as the file read whole; at f32 and re-quantized too`, async () => {
      const path = join(tmp, `${name}-${type}.gguf`);
      writeFixtureGguf(join(FIXTURES, name), path, type);
      const bytes = new Uint8Array(readFileSync(path));
      const { prompt } = JSON.parse(readFileSync(join(FIXTURES, name, 'reference_ids.json'), 'utf8')) as { prompt: number[] };
      for (const dtype of [undefined, 'f32', 'q4_0'] as const) {
        const seen: number[] = [];
        const { gguf, store } = await readGgufStream(chunked(bytes, [1, 7, 333, 4096, 65537, 19]), bytes.length, path, (n) => seen.push(n));
        expect(seen.at(-1)).toBe(bytes.length);
        const streamed = await logits(buildModel(ggufModelFilesOf(path, gguf, store), { dtype }), prompt);
        const whole = await logits(buildModel(readGgufFile(path), { dtype }), prompt);
        expect(streamed).toEqual(whole);
      }
    });
  }
}

it('each tensor is handed over once (a streamed file keeps no copy): a second model from the same stream is refused', async () => {
  const path = join(tmp, 'again.gguf');
  writeFixtureGguf(join(FIXTURES, 'tiny-llama'), path, 'Q8_0');
  const bytes = new Uint8Array(readFileSync(path));
  const { gguf, store } = await readGgufStream(chunked(bytes, [50_000]), bytes.length, path);
  const files = ggufModelFilesOf(path, gguf, store);
  buildModel(files).model.dispose();
  expect(() => buildModel(files)).toThrow(/handed to the engine already/);
});

it('a stream that ends early is refused, saying where (inside the header, inside a tensor)', async () => {
  const path = join(tmp, 'cut.gguf');
  writeFixtureGguf(join(FIXTURES, 'tiny-llama'), path, 'Q4_0');
  const bytes = new Uint8Array(readFileSync(path));
  await expect(readGgufStream(chunked(bytes, [4096], 100), bytes.length, path)).rejects.toThrow(GgufError);
  await expect(readGgufStream(chunked(bytes, [4096], 100), bytes.length, path)).rejects.toThrow(/ends at byte 100 inside its header/);
  await expect(readGgufStream(chunked(bytes, [4096], bytes.length - 10), bytes.length, path)).rejects.toThrow(/inside tensor "/);
  // Not a GGUF at all: said at once, not after the whole download.
  await expect(readGgufStream(chunked(new TextEncoder().encode('{"not": "gguf"}'.padEnd(200_000)), [65536]), 200_000, 'x.gguf')).rejects.toThrow(/not a GGUF file/);
});

it('a refused or cancelled stream is let go at once (its source cancelled), not read to the end', async () => {
  const source = (bytes: Uint8Array) => {
    const seen = { cancelled: false, pulled: 0 };
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= bytes.length) return c.close();
        c.enqueue(bytes.slice(at, at + 65536));
        at += 65536;
        seen.pulled++;
      },
      cancel() {
        seen.cancelled = true;
      },
    });
    return { body, seen };
  };
  const notGguf = source(new Uint8Array(4_000_000).fill(65));
  await expect(readGgufStream(notGguf.body, 4_000_000, 'x.gguf')).rejects.toThrow(/not a GGUF file/);
  expect(notGguf.seen.cancelled).toBe(true);
  expect(notGguf.seen.pulled).toBeLessThan(5); // refused from its first bytes, not after 61 chunks
  const path = join(tmp, 'cancel.gguf');
  writeFixtureGguf(join(FIXTURES, 'tiny-llama'), path, 'Q8_0');
  const bytes = new Uint8Array(readFileSync(path));
  const cancelled = source(bytes);
  const stop = new AbortController();
  stop.abort();
  await expect(readGgufStream(cancelled.body, bytes.length, path, undefined, stop.signal)).rejects.toThrow(/cancelled/);
  expect(cancelled.seen.cancelled).toBe(true);
});
