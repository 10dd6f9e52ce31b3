// A full-size model through the Hub path in the browser: a 124M-parameter GPT-2-shaped checkpoint
// (random weights, GPT-2's real tokenizer, 548 MB of float32 like openai-community/gpt2) is served by
// the local Hub-layout server and loaded by the app on WASM. Records the renderer's peak memory during
// the load in test-results/hub-124m.json (a measurement, not an assertion), with the engine worker's
// JS heap and ArrayBuffer peaks read through the DevTools protocol. The weights end in threaded WASM's
// shared memory, which neither heap figure counts: the renderer's resident memory is the whole bill.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeGpt2Random } from '../../tools/gpt2-124m.ts';
import { startHubServer, type HubServer } from '../../tools/hubServer.ts';
import { ARTEFACTS, engineWorkerHeap, outputTokens, runAndWait, useApp } from './harness.ts';

const app = useApp();
let dir = '';
let hub: HubServer;
let params = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nexttoken-124m-'));
  params = writeGpt2Random(dir);
  hub = await startHubServer({ 'test/gpt2-124m-random': dir });
});
afterAll(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

function rssBytes(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

it('loads a 124M-parameter GPT-2-shaped model through the Hub path on WASM and generates with GPT-2 tokens', async () => {
  const cdp = await app.browser.newBrowserCDPSession();
  const renderers = async () =>
    ((await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; id: number }[] }).processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
  const workerHeap = await engineWorkerHeap(app.browser);
  let peak = 0;
  let peakWorkerHeap = 0;
  let peakWorkerBuffers = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const pids = await renderers().catch(() => [] as number[]);
      peak = Math.max(peak, pids.reduce((s, pid) => s + rssBytes(pid), 0));
      // A worker busy in a long synchronous stretch may answer late; never let that stall the RSS sampling.
      const heap = await Promise.race([workerHeap().catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), 500))]);
      if (heap) {
        peakWorkerHeap = Math.max(peakWorkerHeap, heap.usedSize);
        peakWorkerBuffers = Math.max(peakWorkerBuffers, heap.backingStorageSize);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const t0 = Date.now();
  const o = await app.open(`?backend=wasm&t=0&max=3&prompt=Hello%20world&model=test/gpt2-124m-random&hubEndpoint=${encodeURIComponent(hub.url)}`);
  const loadMs = Date.now() - t0;
  sampling = false;
  await sampler;
  const page = o.page;
  const session = await page.context().newCDPSession(page);
  await session.send('Performance.enable');
  const metrics = ((await session.send('Performance.getMetrics').catch(() => ({ metrics: [] }))) as { metrics: { name: string; value: number }[] }).metrics;
  const mainHeap = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? null;

  expect(await page.locator('#model-info').textContent()).toMatch(/test\/gpt2-124m-random · 124\.44M parameters · 548\.1 MB · context 1024/);
  // GPT-2's own ids for "Hello world".
  const ids = await page.locator('[aria-label="Prompt tokens"] sub').allTextContents();
  expect(ids).toEqual(['15496', '995']);
  await runAndWait(page, 'Generate');
  expect((await outputTokens(page)).length).toBe(3);
  expect(o.consoleErrors).toEqual([]);
  // Resident after the load, with the model in place: the peak minus this is what loading cost on top.
  const rssAfterLoad = (await renderers()).reduce((s, pid) => s + rssBytes(pid), 0);
  const workerAfterLoad = await workerHeap();

  const engineMb = Number(/ · ([\d.]+) MB in the engine/.exec((await page.locator('#model-info').textContent()) ?? '')?.[1]);
  const record = { engineMb, model: 'GPT-2-shaped, random weights, F32', params, fileBytes: 548105312, backend: 'wasm', loadMs, peakRendererRssBytes: peak, rendererRssAfterLoadBytes: rssAfterLoad, mainThreadJsHeapUsedBytes: mainHeap, peakWorkerJsHeapUsedBytes: peakWorkerHeap, peakWorkerArrayBufferBytes: peakWorkerBuffers, workerAfterLoad };
  mkdirSync(ARTEFACTS, { recursive: true });
  writeFileSync(join(ARTEFACTS, 'hub-124m.json'), JSON.stringify(record, null, 1));
  console.log(JSON.stringify(record));
  // The bound the docs promise: the engine holds the weights as float32 and a KV cache, nothing more (no second
  // copy of the file). Witness: the model's own config (params, layers, width, context), not the engine.
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { n_layer: number; n_embd: number; n_positions: number };
  const weights = params * 4;
  const kvFull = 2 * cfg.n_layer * cfg.n_positions * cfg.n_embd * 4;
  expect(engineMb * 1e6).toBeGreaterThanOrEqual(weights - 0.05e6);
  expect(engineMb * 1e6).toBeLessThanOrEqual(weights + kvFull + 0.05e6);
  // Resident memory is more than the weights (the WASM heap grows in steps; the browser's own share), but the file is
  // not held twice on top of them.
  expect(peak).toBeGreaterThan(weights);
  expect(peak).toBeLessThan(4 * weights);
  // The worker's heap was really read (the DevTools path works), not left at its initial zero.
  expect(workerAfterLoad?.usedSize).toBeGreaterThan(0);
  expect(peakWorkerHeap).toBeGreaterThan(0);
  await page.close();
});
