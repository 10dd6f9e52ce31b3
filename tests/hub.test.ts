// The Hub path, end to end in Node, against a local server in the Hub's URL layout (no internet):
// the CLI loads GPT-2- and Llama-layout models through it, the second run asks only which commit main names,
// a dropped connection leaves no corrupt cache and a retry succeeds, a sharded checkpoint loads,
// and each failure says what is wrong.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { endpointKey, forgetRevisionChecks, HubError, loadHubFiles, parseHubRef } from '../src/engine/load/hub.ts';
import { buildModel, type LoadedModel } from '../src/engine/load/load.ts';
import { diskStore } from '../src/node/diskStore.ts';
import { loadModelDir, readGgufFile } from '../src/node/loadDir.ts';
import { lastLogits } from '../src/engine/model/model.ts';
import { argmax } from '../src/sampling/sampler.ts';
import { startHubServer, type HubServer } from '../tools/hubServer.ts';

const ROOT = join(import.meta.dirname, '..');
const FIX = join(ROOT, 'tests', 'fixtures');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const run = promisify(execFile);

async function generateCli(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(TSX, ['src/cli/generate.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return { ...r, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}
/** Two loads of the same weights give identical logits for `text`; both models are released. */
async function expectSameLogits(a: LoadedModel, b: LoadedModel, text: string): Promise<void> {
  const ids = b.tokenizer.encode(text);
  const [x, y] = [a.model.forward(ids), b.model.forward(ids)];
  expect(Array.from(await x.data())).toEqual(Array.from(await y.data()));
  x.dispose();
  y.dispose();
  a.model.dispose();
  b.model.dispose();
}
const tokens = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((o) => !o.summary).map((o) => o.id as number);

/** Splits a safetensors file into two shards plus model.safetensors.index.json, as large Hub checkpoints are stored. */
function shard(srcDir: string, outDir: string): void {
  cpSync(srcDir, outDir, { recursive: true });
  const bytes = readFileSync(join(outDir, 'model.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  delete (header as Record<string, unknown>).__metadata__;
  const names = Object.keys(header);
  const groups = [names.slice(0, names.length >> 1), names.slice(names.length >> 1)];
  const weightMap: Record<string, string> = {};
  groups.forEach((group, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    const h: Record<string, unknown> = {};
    const parts: Buffer[] = [];
    let off = 0;
    for (const name of group) {
      const t = header[name];
      const data = bytes.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]);
      h[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + data.length] };
      parts.push(data);
      off += data.length;
      weightMap[name] = file;
    }
    const json = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(join(outDir, file), Buffer.concat([len, json, ...parts]));
  });
  writeFileSync(join(outDir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  // No single file any more: the loader must find the index.
  rmSync(join(outDir, 'model.safetensors'));
}

describe('Hub loader against a local Hub-layout server', () => {
  let hub: HubServer;
  let work: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'nexttoken-hub-'));
    const sharded = join(work, 'sharded-src');
    shard(join(FIX, 'tiny-llama'), sharded);
    const bert = join(work, 'bert');
    cpSync(join(FIX, 'tiny-gpt2'), bert, { recursive: true });
    writeFileSync(join(bert, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: 32 }));
    hub = await startHubServer(
      { 'test/tiny-gpt2': join(FIX, 'tiny-gpt2'), 'test/tiny-llama': join(FIX, 'tiny-llama'), 'test/tiny-qwen3': join(FIX, 'tiny-qwen3'), 'test/sharded-llama': sharded, 'test/bert': bert, 'test/flaky': join(FIX, 'tiny-gpt2'), 'test/stories-gguf': join(ROOT, 'models', 'stories15m') },
      ['test/private'],
    );
    await selectBackend({ order: ['wasm'] });
  });
  afterAll(async () => {
    await hub?.close();
  });

  for (const [id, local, chat] of [
    ['test/tiny-gpt2', 'tiny-gpt2', false],
    ['test/tiny-llama', 'tiny-llama', true],
    ['test/tiny-qwen3', 'tiny-qwen3', true],
  ] as const) {
    it(`the CLI loads ${id} through the Hub path, and the second run is served from the cache, asking only for the commit`, async () => {
      const cache = join(work, `cache-${local}`);
      const args = ['--prompt', 'Hello world', '--max-tokens', '6', '--temperature', '0', '--json', ...(chat ? ['--chat'] : [])];
      const env = { HF_ENDPOINT: hub.url };
      const before = hub.requests.length;
      const first = await generateCli(['--model', id, '--cache-dir', cache, ...args], env);
      expect(first.stderr).not.toMatch(/error/);
      expect(first.code).toBe(0);
      const fetched = hub.requests.slice(before);
      expect(fetched[0]).toBe(`GET /api/models/${id}/revision/main`);
      expect(fetched).toContain(`GET /${id}/resolve/${hub.mainCommit(id)}/config.json`);
      expect(fetched).toContain(`GET /${id}/resolve/${hub.mainCommit(id)}/model.safetensors`);
      expect(first.stderr).toMatch(/downloading model\.safetensors/);
      // Same tokens as the model loaded from its folder.
      const fromDir = await generateCli(['--model', join('tests/fixtures', local), ...args], {});
      expect(tokens(first.stdout)).toEqual(tokens(fromDir.stdout));
      expect(tokens(first.stdout).length).toBeGreaterThan(0);

      const mark = hub.requests.length;
      const second = await generateCli(['--model', id, '--cache-dir', cache, ...args], env);
      expect(second.code).toBe(0);
      expect(hub.requests.slice(mark)).toEqual([`GET /api/models/${id}/revision/main`]); // a new process: one check, no file
      expect(tokens(second.stdout)).toEqual(tokens(first.stdout));
    });
  }

  it('a GGUF file of a Hub repository (owner/name/file.gguf) loads through the cache: the tokens of the local file, then only the commit check', async () => {
    const cache = join(work, 'cache-gguf');
    const id = 'test/stories-gguf/stories15m-q4_0.gguf';
    const args = ['--prompt', 'Once upon a time', '--max-tokens', '6', '--temperature', '0', '--json'];
    const env = { HF_ENDPOINT: hub.url };
    const mark = hub.requests.length;
    const first = await generateCli(['--model', id, '--cache-dir', cache, ...args], env);
    expect(first.code).toBe(0);
    expect(hub.requests.slice(mark)).toEqual(['GET /api/models/test/stories-gguf/revision/main', `GET /test/stories-gguf/resolve/${hub.mainCommit('test/stories-gguf')}/stories15m-q4_0.gguf`]);
    expect(first.stderr).toMatch(/downloading stories15m-q4_0\.gguf: 9\.3 MB of 9\.3 MB/);
    const local = await generateCli(['--model', 'models/stories15m/stories15m-q4_0.gguf', ...args], {});
    expect(tokens(first.stdout)).toEqual(tokens(local.stdout));
    expect(tokens(first.stdout).length).toBe(6);
    const again = hub.requests.length;
    const second = await generateCli(['--model', id, '--cache-dir', cache, ...args], env);
    expect(second.code).toBe(0);
    expect(hub.requests.slice(again)).toEqual(['GET /api/models/test/stories-gguf/revision/main']);
    expect(tokens(second.stdout)).toEqual(tokens(first.stdout));
  });

  it('a GGUF file the repository does not have, or one too large for the device, is named with what to do', async () => {
    const store = diskStore(join(work, 'cache-gguf-missing'));
    await expect(loadHubFiles(parseHubRef('test/stories-gguf/nope-q8_0.gguf')!, { endpoint: hub.url, store })).rejects.toThrow(
      `test/stories-gguf has no nope-q8_0.gguf on ${hub.url} (HTTP 404). Check the model id (owner/name) and revision.`,
    );
    await expect(loadHubFiles(parseHubRef('test/stories-gguf/stories15m-q4_0.gguf')!, { endpoint: hub.url, store, maxWeightBytes: 4e6 })).rejects.toThrow(
      'test/stories-gguf/stories15m-q4_0.gguf is 9.3 MB, more than this device allows for a model (4.0 MB). Pick a smaller model, or a lower-precision file of this one if the repository has one.',
    );
    expect(await store.has(`${endpointKey(hub.url)}/test/stories-gguf/${hub.mainCommit('test/stories-gguf')}/stories15m-q4_0.gguf`)).toBe(false);
  });

  it('a Hub GGUF streams through the cache (read as it arrives, never whole): a damaged cached copy is said, dropped and fetched again', async () => {
    const cache = join(work, 'cache-gguf-stream');
    const store = diskStore(cache);
    const ref = parseHubRef('test/stories-gguf/stories15m-q4_0.gguf')!;
    const key = `${endpointKey(hub.url)}/test/stories-gguf/${hub.mainCommit('test/stories-gguf')}/stories15m-q4_0.gguf`;
    // Reading the GGUF from the store whole would defeat streaming: count such reads.
    let wholeReads = 0;
    const counted = { ...store, get: async (k: string) => (k === key && wholeReads++, store.get(k)) };
    const greedy = async (files: Awaited<ReturnType<typeof loadHubFiles>>) => {
      const lm = buildModel(files);
      const ids = lm.tokenizer.encode('Once upon a time');
      const out: number[] = [];
      for (let i = 0; i < 6; i++) {
        const logits = await lastLogits(lm.model.forward(i ? [out[i - 1]] : ids, true));
        out.push(argmax(logits));
      }
      lm.model.dispose();
      return out;
    };
    const first = await greedy(await loadHubFiles(ref, { endpoint: hub.url, store: counted }));
    const local = await greedy(readGgufFile(join(ROOT, 'models', 'stories15m', 'stories15m-q4_0.gguf')));
    expect(first).toEqual(local);
    // The cache holds the whole file, as served.
    const path = join(cache, endpointKey(hub.url), 'test--stories-gguf', hub.mainCommit('test/stories-gguf'), 'stories15m-q4_0.gguf');
    expect(readFileSync(path).equals(readFileSync(join(ROOT, 'models', 'stories15m', 'stories15m-q4_0.gguf')))).toBe(true);
    // The cached copy cut short: said as damaged, removed, downloaded again, the same tokens.
    writeFileSync(path, readFileSync(path).subarray(0, 5_000_000));
    const warnings: string[] = [];
    const mark = hub.requests.length;
    const again = await greedy(await loadHubFiles(ref, { endpoint: hub.url, store: counted, onWarning: (m) => warnings.push(m) }));
    expect(warnings.join(' ')).toMatch(/the cached file was damaged \(.*the file has 5000000: it is truncated or damaged.*\); it was removed from the cache and downloaded again/);
    expect(hub.requests.slice(mark)).toContain(`GET /test/stories-gguf/resolve/${hub.mainCommit('test/stories-gguf')}/stories15m-q4_0.gguf`);
    expect(again).toEqual(local);
    expect(await store.has(key)).toBe(true);
    expect(wholeReads).toBe(0);
  });

  it('a connection dropped mid-file gives a clear error, keeps no partial file, and a retry succeeds', async () => {
    const cache = join(work, 'cache-flaky');
    const ref = parseHubRef('test/flaky')!;
    hub.dropOnce('test/flaky/model.safetensors');
    const err = await loadHubFiles(ref, { endpoint: hub.url, store: diskStore(cache) }).catch((e) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err.kind).toBe('interrupted');
    expect(err.message).toMatch(/broke off|ended after/);
    expect(err.message).toMatch(/load the model again/);
    const held = readdirSync(join(cache, endpointKey(hub.url), 'test--flaky', hub.mainCommit('test/flaky')));
    expect(held).not.toContain('model.safetensors');
    expect(held.some((f) => f.includes('partial') || f.includes('manifest'))).toBe(false);

    const files = await loadHubFiles(ref, { endpoint: hub.url, store: diskStore(cache) });
    expect(files.weightBytes).toBe(readFileSync(join(FIX, 'tiny-gpt2', 'model.safetensors')).length);
    await expectSameLogits(buildModel(files), loadModelDir(join(FIX, 'tiny-gpt2')), 'The cat sat');
  });

  it('loads a sharded checkpoint (model.safetensors.index.json + shards) with the same logits as the single file', async () => {
    const mark = hub.requests.length;
    const files = await loadHubFiles(parseHubRef('test/sharded-llama')!, { endpoint: hub.url, store: diskStore(join(work, 'cache-sharded')) });
    const got = hub.requests.slice(mark);
    const at = hub.mainCommit('test/sharded-llama');
    expect(got).toContain(`GET /test/sharded-llama/resolve/${at}/model.safetensors.index.json`);
    expect(got).toContain(`GET /test/sharded-llama/resolve/${at}/model-00001-of-00002.safetensors`);
    expect(got).toContain(`GET /test/sharded-llama/resolve/${at}/model-00002-of-00002.safetensors`);
    await expectSameLogits(buildModel(files), loadModelDir(join(FIX, 'tiny-llama')), 'Hello world');
  });

  it('refuses a model too large for the device before downloading its weights, from the safetensors header', async () => {
    const mark = hub.requests.length;
    const err = await loadHubFiles(parseHubRef('test/tiny-llama')!, { endpoint: hub.url, store: diskStore(join(work, 'cache-small')), maxWeightBytes: 50_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err.kind).toBe('too-large');
    expect(err.message).toMatch(/needs about .* MB .* more than this device allows/);
    const weightGets = hub.requests.slice(mark).filter((r) => /\/model\.safetensors( |$)/.test(r));
    // Only the two header range requests, never the whole file.
    expect(weightGets).toEqual([`GET /test/tiny-llama/resolve/${hub.mainCommit('test/tiny-llama')}/model.safetensors bytes=0-7`, expect.stringMatching(/bytes=8-\d+$/)]);
  });

  it('explains an unknown id, a gated id, an unsupported architecture and an unreachable server', async () => {
    const load = (id: string, endpoint = hub.url) =>
      loadHubFiles(parseHubRef(id)!, { endpoint, store: diskStore(join(work, 'cache-errors')) }).then(
        (): HubError => {
          throw new Error(`${id} loaded, but should have failed`);
        },
        (e: HubError) => e,
      );
    const missing = await load('test/no-such-model');
    expect([missing.kind, missing.message]).toEqual(['not-found', expect.stringMatching(/test\/no-such-model has no config\.json .*404.*Check the model id/)]);
    const gated = await load('test/private');
    expect([gated.kind, gated.message]).toEqual(['gated', expect.stringMatching(/gated or private \(HTTP 401\)/)]);
    const bert = await load('test/bert');
    expect([bert.kind, bert.message]).toEqual(['unsupported', expect.stringMatching(/"bert" model\. NextToken runs .*: gpt2, llama/)]);
    const closed = await load('test/tiny-gpt2', 'http://127.0.0.1:9');
    expect([closed.kind, closed.message]).toEqual(['network', expect.stringMatching(/Could not reach http:\/\/127\.0\.0\.1:9 .*Check the network connection/)]);
    expect(existsSync(join(work, 'cache-errors', endpointKey(hub.url), 'test--bert', hub.mainCommit('test/bert'), 'model.safetensors'))).toBe(false);
  });

  it('a cache that refuses files (quota, private browsing) costs a warning, not the load', async () => {
    const warnings: string[] = [];
    const full = { has: async () => false, get: async () => null, delete: async () => {}, put: async () => Promise.reject(new Error('QuotaExceededError')) };
    const files = await loadHubFiles(parseHubRef('test/tiny-gpt2')!, { endpoint: hub.url, store: full, onWarning: (w) => warnings.push(w) });
    expect(buildModel(files).config.modelType).toBe('gpt2');
    expect(warnings).toEqual([expect.stringMatching(/test\/tiny-gpt2 is loaded but could not be cached \(QuotaExceededError\)/)]);
  });

  it('the CLI says what is wrong with a --model that is neither a folder nor a Hub id', async () => {
    const r = await generateCli(['--model', 'not a model', '--prompt', 'x'], {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/neither a model folder nor a Hugging Face Hub id/);
  });
});

// Hub revisions: a branch is resolved to its commit (the Hub API's `sha`) once per page load (here: per
// forgetRevisionChecks()), files are cached by commit, and the model follows main when it moves.
describe('Hub revisions: the cache follows the commit main names', () => {
  let hub: HubServer;
  let work: string;
  const A = join(FIX, 'tiny-gpt2');
  const B = join(FIX, 'tiny-llama');
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'nexttoken-revisions-'));
    hub = await startHubServer({ 'test/moving': A, 'test/offline': A, 'test/resume': A, 'test/moving-gguf': join(ROOT, 'models', 'stories15m') });
    await selectBackend({ order: ['wasm'] });
  });
  afterAll(async () => {
    await hub?.close();
    rmSync(work, { recursive: true, force: true });
  });
  const served = (from: number) => hub.requests.slice(from);
  const modelDir = (cache: string, id: string) => join(cache, endpointKey(hub.url), id.replace('/', '--'));
  const short = (sha: string) => sha.slice(0, 7);

  it('after main moves, the next page load downloads the new commit, says the model was updated and drops the old files', async () => {
    const id = 'test/moving';
    const cache = join(work, 'cache-moving');
    const updates: string[] = [];
    const load = () => loadHubFiles(parseHubRef(id)!, { endpoint: hub.url, store: diskStore(cache), onUpdated: (m) => updates.push(m) });
    forgetRevisionChecks();
    const a = hub.mainCommit(id);
    let mark = hub.requests.length;
    const first = buildModel(await load());
    expect(first.config.modelType).toBe('gpt2');
    first.model.dispose();
    expect(served(mark)).toContain(`GET /api/models/${id}/revision/main`);
    expect(served(mark)).toContain(`GET /${id}/resolve/${a}/model.safetensors`);

    const b = hub.moveMain(id, B);
    expect(b).not.toBe(a);
    // The same page load has checked already: the cached commit, no request.
    mark = hub.requests.length;
    const same = buildModel(await load());
    expect(same.config.modelType).toBe('gpt2');
    same.model.dispose();
    expect(served(mark)).toEqual([]);

    forgetRevisionChecks(); // the next page load
    mark = hub.requests.length;
    const files = await load();
    const got = served(mark);
    expect(got[0]).toBe(`GET /api/models/${id}/revision/main`);
    expect(got).toContain(`GET /${id}/resolve/${b}/config.json`);
    expect(got).toContain(`GET /${id}/resolve/${b}/model.safetensors`);
    expect(got.filter((r) => r.includes(a))).toEqual([]);
    await expectSameLogits(buildModel(files), loadModelDir(B), 'Hello world');
    expect(updates).toEqual([`${id} was updated on the Hub (commit ${short(a)} → ${short(b)}); the new files were downloaded.`]);
    // The old commit's files are gone: the cache holds one copy of the model, and the pointer to its commit.
    expect(readdirSync(modelDir(cache, id)).sort()).toEqual([b, 'refs'].sort());

    // A later page load with main unchanged: only the check, no file, no notice.
    forgetRevisionChecks();
    mark = hub.requests.length;
    const again = buildModel(await load());
    expect(again.config.modelType).toBe('llama');
    again.model.dispose();
    expect(served(mark)).toEqual([`GET /api/models/${id}/revision/main`]);
    expect(updates.length).toBe(1);
  });

  it('offline, the cached commit loads with no request reaching the Hub; a model never cached says it cannot be reached', async () => {
    const id = 'test/offline';
    const cache = join(work, 'cache-offline');
    forgetRevisionChecks();
    buildModel(await loadHubFiles(parseHubRef(id)!, { endpoint: hub.url, store: diskStore(cache) })).model.dispose();
    hub.moveMain(id, B); // a commit this machine has not seen, and cannot reach
    const tried: string[] = [];
    const offline = (async (url: string | URL | Request) => {
      tried.push(String(url));
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    forgetRevisionChecks();
    const mark = hub.requests.length;
    const files = await loadHubFiles(parseHubRef(id)!, { endpoint: hub.url, store: diskStore(cache), fetch: offline });
    expect(served(mark)).toEqual([]);
    expect(tried).toEqual([`${hub.url}/api/models/${id}/revision/main`]); // the page load's one check, which failed
    await expectSameLogits(buildModel(files), loadModelDir(A), 'The cat sat');

    const err = await loadHubFiles(parseHubRef(id)!, { endpoint: hub.url, store: diskStore(join(work, 'cache-offline-empty')), fetch: offline }).catch((e) => e);
    expect([err.kind, err.message]).toEqual(['network', expect.stringMatching(/Could not reach .* for test\/offline \(fetch failed\)\. Check the network connection/)]);
  });

  it('a download broken off under one commit resumes under the new one with its files only, and the partial files go', async () => {
    const id = 'test/resume';
    const cache = join(work, 'cache-resume');
    const updates: string[] = [];
    const load = () => loadHubFiles(parseHubRef(id)!, { endpoint: hub.url, store: diskStore(cache), onUpdated: (m) => updates.push(m) });
    const a = hub.mainCommit(id);
    hub.dropOnce(`${id}/model.safetensors`);
    forgetRevisionChecks();
    const err = await load().catch((e) => e);
    expect(err.kind).toBe('interrupted');
    expect(readdirSync(join(modelDir(cache, id), a))).toContain('config.json'); // A's small files arrived

    const b = hub.moveMain(id, B);
    forgetRevisionChecks();
    const mark = hub.requests.length;
    const files = await load();
    const got = served(mark);
    // Every file comes from B, the small ones too: A's cached config.json would not match B's weights.
    expect(got.filter((r) => r.includes('/resolve/') && !r.includes(`/resolve/${b}/`))).toEqual([]);
    expect(got).toContain(`GET /${id}/resolve/${b}/config.json`);
    expect(got).toContain(`GET /${id}/resolve/${b}/tokenizer.json`);
    await expectSameLogits(buildModel(files), loadModelDir(B), 'Hello world');
    expect(readdirSync(modelDir(cache, id)).sort()).toEqual([b, 'refs'].sort());
    expect(updates).toEqual([]); // nothing was loaded before, so nothing was updated
  });

  it('a GGUF file follows main too: the new commit\'s file is downloaded, the old one removed', async () => {
    const id = 'test/moving-gguf';
    const cache = join(work, 'cache-gguf');
    const updates: string[] = [];
    const ref = parseHubRef(`${id}/stories15m-q4_0.gguf`)!;
    const load = () => loadHubFiles(ref, { endpoint: hub.url, store: diskStore(cache), onUpdated: (m) => updates.push(m) });
    forgetRevisionChecks();
    const a = hub.mainCommit(id);
    await load();
    const moved = join(work, 'stories-moved');
    cpSync(join(ROOT, 'models', 'stories15m'), moved, { recursive: true });
    const b = hub.moveMain(id, moved);
    forgetRevisionChecks();
    const mark = hub.requests.length;
    await load();
    expect(served(mark)).toEqual([`GET /api/models/${id}/revision/main`, `GET /${id}/resolve/${b}/stories15m-q4_0.gguf`]);
    expect(updates).toEqual([`${id}/stories15m-q4_0.gguf was updated on the Hub (commit ${short(a)} → ${short(b)}); the new files were downloaded.`]);
    expect(readdirSync(modelDir(cache, id)).sort()).toEqual([b, 'refs'].sort());
  });

  it('a server without the revision API (a plain mirror) still works: files are kept under the revision name', async () => {
    const noApi = (async (url: string | URL | Request, init?: RequestInit) =>
      String(url).includes('/api/models/') ? new Response('Not found', { status: 404 }) : fetch(url, init)) as typeof fetch;
    const cache = join(work, 'cache-no-api');
    forgetRevisionChecks();
    const mark = hub.requests.length;
    const files = await loadHubFiles(parseHubRef('test/offline')!, { endpoint: hub.url, store: diskStore(cache), fetch: noApi });
    expect(served(mark)).toContain('GET /test/offline/resolve/main/config.json');
    expect(readdirSync(modelDir(cache, 'test/offline'))).toEqual(['main']);
    buildModel(files).model.dispose();
  });
});
