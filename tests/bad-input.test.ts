// The bad-input table (docs/bad-input.md), row by row (the UI rows are in tests/e2e/service.e2e.test.ts and force.e2e.test.ts): each bad
// input is given to the real CLI, loader or engine, and the message it produces must be the row's,
// word for word. Each row also checks that nothing was lost or left behind (tensors, cache files).
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../src/engine/generate/generate.ts';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { loadHubFiles, parseHubRef, type FileStore } from '../src/engine/load/hub.ts';
import { buildModel } from '../src/engine/load/load.ts';
import { diskStore } from '../src/node/diskStore.ts';
import { loadModelDir, readGgufFile } from '../src/node/loadDir.ts';
import { writeFixtureGguf } from '../tools/ggufWrite.ts';
import { en } from '../src/ui/i18n/en.ts';
import { readSetup } from '../src/ui/urlState.ts';
import { startHubServer, type HubServer } from '../tools/hubServer.ts';
import { writeSafetensors } from '../tools/safetensorsFile.ts';
import { readF32Safetensors } from './reference/naive-gpt2.ts';
import { expectRow, normalise, badInputRows } from './shared/badInputTable.ts';
import { cli, ROOT } from './shared/cli.ts';

const FIX = join(ROOT, 'tests', 'fixtures');
const rows = badInputRows();
let work: string;
let hub: HubServer;

/** A copy of a fixture model folder with some files changed. */
function variant(name: string, from: string, change: (dir: string) => void): string {
  const dir = join(work, name);
  cpSync(join(FIX, from), dir, { recursive: true });
  change(dir);
  return dir;
}
const json = (dir: string, file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));
const writeJson = (dir: string, file: string, value: unknown) => writeFileSync(join(dir, file), JSON.stringify(value));

/** The tiny GPT-2's weights, with `edit` applied, written back (float32). */
function rewriteWeights(dir: string, edit: (w: Map<string, { shape: number[]; data: Float64Array }>) => void): void {
  const w = readF32Safetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  edit(w);
  writeSafetensors(join(dir, 'model.safetensors'), [...w].map(([name, t]) => [name, t.shape, Float32Array.from(t.data)]));
}

/** What a failing call says, normalised for the table; fails the test if it does not fail. */
async function messageOf(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    return normalise((e as Error).message, { [work]: '{dir}', [ROOT + '/']: '' });
  }
  throw new Error('expected an error, but it succeeded');
}

/** A CLI run that must fail with a usage (2) or runtime (1) error; its one-line message. */
async function cliMessage(args: string[], code: 1 | 2, command: 'generate' | 'eval' = 'generate'): Promise<string> {
  const r = await cli(command, args);
  expect(r.code).toBe(code);
  expect(r.stdout).toBe(''); // no partial output presented as a result
  return normalise(r.stderr.replace(/^error: /, ''), { [work]: '{dir}' });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nexttoken-bad-'));
  await selectBackend({ order: ['wasm'] });
  hub = await startHubServer({ 'test/tiny-gpt2': join(FIX, 'tiny-gpt2'), 'test/stories-gguf': join(FIX, '..', '..', 'models', 'stories15m'), 'test/bert': variant('bert', 'tiny-gpt2', (d) => writeJson(d, 'config.json', { model_type: 'bert', hidden_size: 32 })) }, ['test/private']);
});
afterAll(async () => {
  await hub?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('bad model files: refused with the file and the fault named, nothing uploaded left behind', () => {
  /** Loading must fail and leave the backend's tensor count where it was. */
  async function refusedLoad(dir: string): Promise<string> {
    const before = tf.memory().numTensors;
    const msg = await messageOf(() => loadModelDir(dir));
    expect(tf.memory().numTensors).toBe(before);
    return msg;
  }

  it('B01 a truncated safetensors file', async () => {
    const dir = variant('truncated', 'tiny-gpt2', (d) => {
      const bytes = readFileSync(join(d, 'model.safetensors'));
      writeFileSync(join(d, 'model.safetensors'), bytes.subarray(0, bytes.length >> 1));
    });
    expectRow(rows, 'B01', 'model file', 'model.safetensors cut to half its length', await refusedLoad(dir));
  });

  it('B02 a safetensors header whose length field is garbage', async () => {
    const dir = variant('garbage-header', 'tiny-gpt2', (d) => {
      const bytes = readFileSync(join(d, 'model.safetensors'));
      bytes.writeBigUInt64LE(2n ** 40n, 0);
      writeFileSync(join(d, 'model.safetensors'), bytes);
    });
    expectRow(rows, 'B02', 'model file', 'model.safetensors whose first 8 bytes say the header is 1 TB', await refusedLoad(dir));
  });

  it('B03 a header whose offsets lie', async () => {
    const dir = variant('lying-offsets', 'tiny-gpt2', (d) => {
      const bytes = readFileSync(join(d, 'model.safetensors'));
      const n = Number(bytes.readBigUInt64LE(0));
      const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
      header['ln_f.bias'].data_offsets[1] += 4096; // ends past the data
      let text = JSON.stringify(header);
      text += ' '.repeat((8 - (text.length % 8)) % 8);
      const head = Buffer.alloc(8);
      head.writeBigUInt64LE(BigInt(text.length));
      writeFileSync(join(d, 'model.safetensors'), Buffer.concat([head, Buffer.from(text), bytes.subarray(8 + n)]));
    });
    expectRow(rows, 'B03', 'model file', 'a tensor whose data_offsets end past the data', await refusedLoad(dir));
  });

  it('B04 a tensor shape that does not match config.json (after the other layers were uploaded)', async () => {
    const dir = variant('shape', 'tiny-gpt2', (d) =>
      rewriteWeights(d, (w) => {
        const t = w.get('h.1.mlp.c_proj.weight')!;
        w.set('h.1.mlp.c_proj.weight', { shape: [t.shape[1], t.shape[0]], data: t.data });
      }),
    );
    expectRow(rows, 'B04', 'model file', 'h.1.mlp.c_proj.weight stored transposed', await refusedLoad(dir));
  });

  it('B05 a config.json without a required field', async () => {
    const dir = variant('no-embd', 'tiny-gpt2', (d) => {
      const c = json(d, 'config.json');
      delete c.n_embd;
      writeJson(d, 'config.json', c);
    });
    expectRow(rows, 'B05', 'model file', 'config.json without n_embd', await refusedLoad(dir));
  });

  it('B06 a tokenizer with more tokens than vocab_size', async () => {
    const dir = variant('small-vocab', 'tiny-gpt2', (d) => {
      const c = json(d, 'config.json');
      c.vocab_size = 300;
      writeJson(d, 'config.json', c);
      rewriteWeights(d, (w) => {
        const wte = w.get('wte.weight')!;
        w.set('wte.weight', { shape: [300, wte.shape[1]], data: wte.data.slice(0, 300 * wte.shape[1]) });
      });
    });
    expectRow(rows, 'B06', 'model file', 'tokenizer.json with 329 tokens, vocab_size 300', await refusedLoad(dir));
  });

  it('B07 a model type the engine does not implement (from the Hub)', async () => {
    const msg = await messageOf(() => loadHubFiles(parseHubRef('test/bert')!, { endpoint: hub.url, store: diskStore(join(work, 'cache-b07')) }));
    expectRow(rows, 'B07', 'model file', 'config.json with model_type "bert"', msg);
  });

  it('B08 rope_scaling in a Llama config', async () => {
    const dir = variant('rope-scaling', 'tiny-llama', (d) => writeJson(d, 'config.json', { ...json(d, 'config.json'), rope_scaling: { type: 'linear', factor: 4 } }));
    expectRow(rows, 'B08', 'model file', 'config.json with rope_scaling {"type":"linear","factor":4}', await refusedLoad(dir));
  });

  it('B44 rope_scaling in a Qwen2 config (the YaRN setting of long-context Qwen2.5)', async () => {
    const dir = variant('qwen2-rope-scaling', 'tiny-qwen2', (d) => writeJson(d, 'config.json', { ...json(d, 'config.json'), rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } }));
    expectRow(rows, 'B44', 'model file', 'a qwen2 config.json with rope_scaling {"type":"yarn","factor":4,"original_max_position_embeddings":32768}', await refusedLoad(dir));
  });

  it('B45 sliding-window attention in a Qwen2 config', async () => {
    const dir = variant('qwen2-sliding', 'tiny-qwen2', (d) => writeJson(d, 'config.json', { ...json(d, 'config.json'), use_sliding_window: true }));
    expectRow(rows, 'B45', 'model file', 'a qwen2 config.json with use_sliding_window true', await refusedLoad(dir));
  });

  it('B09 a config.json that is not valid UTF-8', async () => {
    const dir = variant('latin1', 'tiny-gpt2', (d) => {
      const text = readFileSync(join(d, 'config.json'));
      writeFileSync(join(d, 'config.json'), Buffer.concat([text.subarray(0, 1), Buffer.from([0xff, 0xfe]), text.subarray(1)]));
    });
    expectRow(rows, 'B09', 'model file', 'config.json with the bytes FF FE after its first {', await refusedLoad(dir));
  });

  it('B10 a chat template that does not parse: chat refused, the message kept by the caller', async () => {
    const dir = variant('bad-template', 'tiny-llama', (d) => writeJson(d, 'tokenizer_config.json', { ...json(d, 'tokenizer_config.json'), chat_template: '{% for m in messages %}{{ m.content }' }));
    const lm = loadModelDir(dir);
    const msg = await messageOf(() => lm.tokenizer.applyChatTemplate([{ role: 'user', content: 'Hello' }]));
    lm.model.dispose();
    expectRow(rows, 'B10', 'model file', 'chat_template with an unclosed {% for %}', msg);
  });

  it('B11 weights with a NaN: the first step is refused, nothing is sampled', async () => {
    const dir = variant('nan', 'tiny-gpt2', (d) => rewriteWeights(d, (w) => (w.get('ln_f.weight')!.data[3] = NaN)));
    const lm = loadModelDir(dir);
    const steps: number[] = [];
    const msg = await messageOf(async () => {
      for await (const s of generate(lm, lm.tokenizer.encode('Hello'), { temperature: 1, topK: 0, topP: 1, maxTokens: 5, seed: 1 })) steps.push(s.id);
    });
    lm.model.dispose();
    expect(steps).toEqual([]);
    expectRow(rows, 'B11', 'model file', 'ln_f.weight with one NaN', msg);
  });
});

describe('Hub and network faults: a message that says what to do, and no partial file in the cache', () => {
  const ref = (id: string) => parseHubRef(id)!;
  const load = (id: string, cacheDir: string, extra: Partial<Parameters<typeof loadHubFiles>[1]> = {}) => loadHubFiles(ref(id), { endpoint: hub.url, store: diskStore(join(work, cacheDir)), ...extra });

  it('B12 HTTP 401 (a gated or private model)', async () => {
    expectRow(rows, 'B12', 'Hub', 'test/private (the server answers 401)', await messageOf(() => load('test/private', 'c12')));
  });
  it('B13 HTTP 404 (no such model)', async () => {
    expectRow(rows, 'B13', 'Hub', 'test/no-such-model', await messageOf(() => load('test/no-such-model', 'c13')));
  });
  it('B14 HTTP 503 (the server fails)', async () => {
    hub.statusOnce('test/tiny-gpt2/config.json', 503);
    expectRow(rows, 'B14', 'Hub', 'config.json answered with HTTP 503', await messageOf(() => load('test/tiny-gpt2', 'c14')));
  });
  it('B15 network cut (nothing listens at the endpoint)', async () => {
    const msg = await messageOf(() => loadHubFiles(ref('test/tiny-gpt2'), { endpoint: 'http://127.0.0.1:9', store: diskStore(join(work, 'c15')) }));
    expectRow(rows, 'B15', 'Hub', 'endpoint http://127.0.0.1:9', msg.replace(/\(fetch failed\)/, '(fetch failed)'));
  });
  it('B16 the connection drops halfway through the weights', async () => {
    hub.dropOnce('test/tiny-gpt2/model.safetensors');
    const msg = await messageOf(() => load('test/tiny-gpt2', 'c16'));
    expect(readdirNames(join(work, 'c16'))).not.toContain('model.safetensors');
    expectRow(rows, 'B16', 'Hub', 'model.safetensors cut off after half its bytes', msg.replace(/after [\d.]+ (MB|of)/, 'after <n> $1').replace(/ended after \d+ of \d+ bytes/, 'ended after <n> of <size> bytes'));
  });
  it('B17 the download stalls (no bytes for the stall limit)', async () => {
    hub.stallOnce('test/tiny-gpt2/model.safetensors');
    const msg = await messageOf(() => load('test/tiny-gpt2', 'c17', { stallMs: 500 }));
    expect(readdirNames(join(work, 'c17'))).not.toContain('model.safetensors');
    expectRow(rows, 'B17', 'Hub', 'model.safetensors sends half, then nothing (stall limit 0.5 s; 60 s in the app)', msg.replace(/after [\d.]+ MB/, 'after <n> MB'));
  });
  it('B18 the cache refuses to store (storage quota)', async () => {
    const warnings: string[] = [];
    const full: FileStore = { has: async () => false, get: async () => null, delete: async () => {}, put: () => Promise.reject(new Error('QuotaExceededError')) };
    const files = await loadHubFiles(ref('test/tiny-gpt2'), { endpoint: hub.url, store: full, onWarning: (w) => warnings.push(w) });
    buildModel(files).model.dispose(); // the load itself succeeds
    expectRow(rows, 'B18', 'Hub', 'every cache write fails with QuotaExceededError', normalise(warnings[0]));
  });
  it('B19 a cached file damaged on disk: evicted and downloaded again', async () => {
    const cache = join(work, 'c19');
    buildModel(await load('test/tiny-gpt2', 'c19')).model.dispose();
    const [cached] = findFiles(cache, 'model.safetensors');
    const bytes = readFileSync(cached);
    writeFileSync(cached, bytes.subarray(0, 100)); // damaged in place, the manifest still says complete
    const warnings: string[] = [];
    const lm = buildModel(await load('test/tiny-gpt2', 'c19', { onWarning: (w) => warnings.push(w) }));
    lm.model.dispose();
    expect(readFileSync(cached).equals(bytes)).toBe(true); // fetched again, whole
    expectRow(rows, 'B19', 'Hub', 'a cached model.safetensors cut to 100 bytes', normalise(warnings[0]));
  });
  it('B20 a model larger than the device allows', async () => {
    expectRow(rows, 'B20', 'Hub', 'a model over the memory limit (1 KB in this test)', await messageOf(() => load('test/tiny-gpt2', 'c20', { maxWeightBytes: 1000 })));
  });
  it('B55 a model larger than the device allows at the precision asked for (Q4_0: the blocks, and the downloaded file held while they are made)', async () => {
    expectRow(rows, 'B55', 'Hub', 'the same at Q4_0', await messageOf(() => load('test/tiny-gpt2', 'c55', { maxWeightBytes: 1000, dtype: 'q4_0' })));
  });
  it('B56 a GGUF file of a Hub repository larger than the device allows (from the server\'s length, before the download)', async () => {
    expectRow(rows, 'B56', 'Hub', 'test/stories-gguf/stories15m-q4_0.gguf over the memory limit (1 KB in this test)', await messageOf(() => load('test/stories-gguf/stories15m-q4_0.gguf', 'c56', { maxWeightBytes: 1000 })));
  });
  it('B21 a download cancelled by the user', async () => {
    const ctl = new AbortController();
    hub.stallOnce('test/tiny-gpt2/model.safetensors');
    const msg = messageOf(() => load('test/tiny-gpt2', 'c21', { signal: ctl.signal, onProgress: (p) => p.file === 'model.safetensors' && p.loaded > 0 && ctl.abort() }));
    expectRow(rows, 'B21', 'Hub', 'Cancel pressed during the weights download', await msg);
    expect(readdirNames(join(work, 'c21'))).not.toContain('model.safetensors');
  });
});

describe('the generate CLI: each bad flag named with its allowed range, exit code 2 (usage) or 1', () => {
  const model = ['--model', 'tests/fixtures/tiny-gpt2'];
  const cases: [id: string, args: string[], code: 1 | 2][] = [
    ['B22', ['--temperature', '5'], 2],
    ['B23', ['--temperature', 'abc'], 2],
    ['B24', ['--top-p', '0'], 2],
    ['B25', ['--top-k', '-1'], 2],
    ['B26', ['--max-tokens', '0'], 2],
    ['B27', ['--max-tokens', '1000000000'], 2],
    ['B28', ['--seed', '-1'], 2],
    ['B29', ['--temp', '0.5'], 2],
    ['B30', ['--prompt', ''], 1],
    ['B31', ['--prompt-ids', '99999'], 2],
    ['B32', ['--prompt', 'word '.repeat(400)], 1],
    ['B41', ['--min-p', '2'], 2],
    ['B42', ['--repetition-penalty', '0'], 2],
    ['B46', ['--checkpoint', '3'], 1],
  ];
  for (const [id, args, code] of cases) {
    it(`${id} ${args.join(' ').slice(0, 40)}`, async () => {
      const full = args.includes('--prompt') || args.includes('--prompt-ids') ? [...model, ...args] : [...model, '--prompt', 'Hello', ...args];
      const shown = args[0] === '--prompt' && args[1].length > 20 ? '--prompt "word word …" (400 words, 256-token context)' : args.map((a) => (a === '' ? '""' : a)).join(' ');
      expectRow(rows, id, 'CLI', shown, await cliMessage(full, code));
    });
  }
  it('B33 a model folder that does not exist', async () => {
    expectRow(rows, 'B33', 'CLI', '--model ./no-such-folder', await cliMessage(['--model', './no-such-folder', '--prompt', 'Hi'], 2));
  });
  it('B47 a training snapshot the embedded model does not have', async () => {
    expectRow(rows, 'B47', 'CLI', '--model models/nexttoken-3m --checkpoint 7', await cliMessage(['--model', 'models/nexttoken-3m', '--checkpoint', '7', '--prompt', 'Hi'], 1));
  });
  describe('GGUF files (written by the test-side converter, then spoiled)', () => {
    /** Loading the GGUF must fail and leave the backend's tensor count where it was. */
    async function refusedGguf(path: string): Promise<string> {
      const before = tf.memory().numTensors;
      const msg = await messageOf(() => buildModel(readGgufFile(path)));
      expect(tf.memory().numTensors).toBe(before);
      return msg;
    }
    it('B51 a tensor type NextToken does not read (Q4_K)', async () => {
      const path = join(work, 'q4k.gguf');
      writeFixtureGguf(join(FIX, 'tiny-llama'), path, 'Q4_0', { tensorTypeId: 12 });
      expectRow(rows, 'B51', 'model file', 'a GGUF whose matrices are Q4_K', await refusedGguf(path));
    });
    it('B52 a truncated GGUF', async () => {
      const path = join(work, 'cut.gguf');
      writeFixtureGguf(join(FIX, 'tiny-llama'), path, 'Q8_0');
      const bytes = readFileSync(path);
      writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      expectRow(rows, 'B52', 'model file', 'a GGUF cut to 60% of its length', await refusedGguf(path));
    });
    it('B53 an architecture NextToken does not run', async () => {
      const path = join(work, 'mamba.gguf');
      writeFixtureGguf(join(FIX, 'tiny-llama'), path, 'Q8_0', { arch: 'mamba' });
      expectRow(rows, 'B53', 'model file', 'a GGUF with general.architecture "mamba"', await refusedGguf(path));
    });
    it('B54 a tokenizer kind NextToken cannot build yet', async () => {
      const path = join(work, 'rwkv.gguf');
      writeFixtureGguf(join(FIX, 'tiny-llama'), path, 'Q8_0', { tokenizerModel: 'rwkv' });
      expectRow(rows, 'B54', 'model file', 'a GGUF with tokenizer.ggml.model "rwkv"', await refusedGguf(path));
    });
  });
  it('B49 a weight precision the engine does not run', async () => {
    expectRow(rows, 'B49', 'CLI', '--dtype q5_k', await cliMessage(['--dtype', 'q5_k', '--prompt', 'Hi'], 2));
  });
  it('B48 an eval form that does not exist', async () => {
    expectRow(rows, 'B48', 'CLI', 'eval --form bare', await cliMessage(['--form', 'bare', '--skip-loss'], 2, 'eval'));
  });
});

describe('a link with bad values: corrected, and the page says to what (the same rules as the CLI)', () => {
  for (const [id, query] of [
    ['B34', '?t=9'],
    ['B35', '?max=0&seed=abc'],
    ['B36', '?p=0&k=2.5'],
    ['B43', '?minp=-1&rep=9'],
  ] as const) {
    it(`${id} ${query}`, () => {
      const { corrections } = readSetup(query);
      const text = en.corrected(corrections.map((c) => en.correctedItem(c.key, c.given, c.used, en.urlRules[c.key])).join('; '));
      expectRow(rows, id, 'link', query, text);
    });
  }
});

it('every row of the bad-input table has its test (the UI rows are in tests/e2e/service.e2e.test.ts, force.e2e.test.ts and precision.e2e.test.ts)', () => {
  if (process.env.BAD_INPUT_TABLE_OUT) return;
  const here = ['bad-input.test.ts', 'e2e/service.e2e.test.ts', 'e2e/force.e2e.test.ts', 'e2e/precision.e2e.test.ts'].map((f) => readFileSync(join(ROOT, 'tests', f), 'utf8')).join('\n');
  for (const id of rows.keys()) expect(here, `row ${id}`).toContain(`'${id}'`);
  expect(rows.size).toBeGreaterThanOrEqual(25);
});

function readdirNames(dir: string): string[] {
  return findFiles(dir, '').map((f) => f.split('/').pop()!);
}
function findFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!name || e.name === name) out.push(p);
    }
  };
  walk(dir);
  return out;
}
