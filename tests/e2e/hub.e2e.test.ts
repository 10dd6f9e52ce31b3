// Hub models in the app, end to end: production build, headless Chromium, a local server in the
// Hub's URL layout (no internet). Loads a Llama-layout model through the Hub path and chats with its
// ChatML template, reloads from Cache Storage asking only which commit main names, survives a gated id and a
// dropped connection without losing the current model or the prompt, and removes the cache. When main moves, the
// next visit downloads the new commit and says so; offline, the cached commit loads.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../../tools/hubServer.ts';
import { cliSteps, openMore, type OpenPage, outputTokens, ROOT, runAndWait, useApp } from './harness.ts';

const app = useApp();
const FIX = join(ROOT, 'tests', 'fixtures');
let hub: HubServer;

beforeAll(async () => {
  hub = await startHubServer(
    { 'test/tiny-llama': join(FIX, 'tiny-llama'), 'test/tiny-gpt2': join(FIX, 'tiny-gpt2'), 'test/flaky': join(FIX, 'tiny-llama-tied'), 'test/flaky-auto': join(FIX, 'tiny-llama-tied'), 'test/stories-gguf': join(ROOT, 'models', 'stories15m'), 'test/moving': join(FIX, 'tiny-gpt2') },
    ['test/private'],
  );
});
afterAll(async () => {
  await hub?.close();
});

const served = (from: number) => hub.requests.slice(from);
/** The request a page load makes for a cached model: which commit main names now (once per page load). */
const check = (id: string) => `GET /api/models/${id}/revision/main`;

describe('Hub models in the app (WASM)', () => {
  let o: OpenPage;
  afterAll(async () => {
    expect(o.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    expect(o.externalRequests).toEqual([]);
    await o.page.close();
  });

  it('loads a Llama-layout model through the Hub path and chats with its chat template, tokens as the CLI', async () => {
    const mark = hub.requests.length;
    o = await app.open(`?backend=wasm&mode=chat&t=0&max=10&model=test/tiny-llama&hubEndpoint=${encodeURIComponent(hub.url)}`);
    const got = served(mark);
    expect(got).toContain(`GET /test/tiny-llama/resolve/${hub.mainCommit('test/tiny-llama')}/config.json`);
    expect(got).toContain(`GET /test/tiny-llama/resolve/${hub.mainCommit('test/tiny-llama')}/model.safetensors`);
    await expect.poll(() => o.page.locator('#model-info').textContent()).toMatch(/test\/tiny-llama/);
    expect(await o.page.getByLabel('Model', { exact: true }).inputValue()).toBe('other');
    expect(await o.page.getByLabel('Hub model id').inputValue()).toBe('test/tiny-llama');

    await o.page.getByLabel('Message', { exact: true }).fill('Hello world');
    await runAndWait(o.page, 'Send');
    const ui = await outputTokens(o.page);
    const cli = await cliSteps(['--model', 'tests/fixtures/tiny-llama', '--chat', '--prompt', 'Hello world', '--temperature', '0', '--max-tokens', '10']);
    expect(ui.map((t) => t.id)).toEqual(cli.map((s) => s.id).slice(0, ui.length));
    expect(ui.length).toBeGreaterThan(0);
    // The template's special tokens are visible in the tokens view, never in the chat text.
    const chips = await o.page.locator('[aria-label="Prompt tokens"] .chip.special').allTextContents();
    expect(chips.some((c) => c.startsWith('<|im_start|>'))).toBe(true);
    expect(chips.some((c) => c.startsWith('<|im_end|>'))).toBe(true);
    const userTurn = await o.page.locator('.turn.user').first().textContent();
    expect(userTurn).toBe('You: Hello world');
  });

  it('a reload is served from Cache Storage, asking the Hub only which commit main names', async () => {
    const mark = hub.requests.length;
    await o.page.reload();
    await o.page.waitForSelector('body[data-ready="true"]');
    expect(await o.page.locator('#model-info').textContent()).toMatch(/test\/tiny-llama/);
    expect(served(mark)).toEqual([check('test/tiny-llama')]);
  });

  it('a weights file damaged in Cache Storage is evicted and downloaded again, and the page says so', async () => {
    const damaged = await o.page.evaluate(async (commit) => {
      const cache = await caches.open('nexttoken-hub-v2');
      const key = (await cache.keys()).find((r) => r.url.endsWith(`/test/tiny-llama/${commit}/model.safetensors`));
      if (!key) return null;
      await cache.put(key, new Response(new Uint8Array(100), { headers: { 'Content-Length': '100' } }));
      return key.url;
    }, hub.mainCommit('test/tiny-llama'));
    expect(damaged).toContain(`/127.0.0.1_${new URL(hub.url).port}/test/tiny-llama/${hub.mainCommit('test/tiny-llama')}/`); // the key names the endpoint and the commit
    const mark = hub.requests.length;
    await o.page.reload();
    await o.page.waitForSelector('body[data-ready="true"]');
    expect(await o.page.locator('#model-info').textContent()).toMatch(/test\/tiny-llama/);
    await expect.poll(() => o.page.getByRole('alert').textContent()).toMatch(/test\/tiny-llama: the cached model\.safetensors was damaged \(.*100 bytes.*\); it was removed from the cache and downloaded again\./);
    expect(served(mark)).toContain(`GET /test/tiny-llama/resolve/${hub.mainCommit('test/tiny-llama')}/model.safetensors`);
    // Whole again: the next reload asks the Hub for no file.
    const again = hub.requests.length;
    await o.page.reload();
    await o.page.waitForSelector('body[data-ready="true"]');
    expect(served(again)).toEqual([check('test/tiny-llama')]);
  });

  it('a gated id and a dropped download leave the current model, prompt and settings in place; a retry succeeds', async () => {
    const page = o.page;
    await page.getByRole('button', { name: 'Complete', exact: true }).click();
    await page.getByLabel('Prompt', { exact: true }).fill('The cat sat');
    await openMore(page); // the model picker is in the drawer
    await page.getByLabel('Model', { exact: true }).selectOption('other');
    await page.getByLabel('Hub model id').fill('test/private');
    await page.getByRole('button', { name: 'Load model' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/test\/private is gated or private \(HTTP 401\)/);
    expect(await page.locator('#model-info').textContent()).toMatch(/test\/tiny-llama/);
    expect(await page.getByLabel('Prompt', { exact: true }).inputValue()).toBe('The cat sat');
    await runAndWait(page, 'Generate');
    expect((await outputTokens(page)).length).toBeGreaterThan(0);

    hub.dropOnce('test/flaky/model.safetensors');
    await page.getByLabel('Hub model id').fill('test/flaky');
    await page.getByRole('button', { name: 'Load model' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/test\/flaky.*(broke off|ended after).*load the model again/);
    expect(await page.locator('#model-info').textContent()).toMatch(/test\/tiny-llama/);
    expect(await page.getByLabel('Prompt', { exact: true }).inputValue()).toBe('The cat sat');

    const mark = hub.requests.length;
    await page.getByRole('button', { name: 'Load model' }).click();
    await expect.poll(() => page.locator('#model-info').textContent()).toMatch(/test\/flaky/);
    // The small files were cached before the drop; only the weights are fetched again.
    expect(served(mark).filter((r) => r.endsWith('config.json'))).toEqual([]);
    expect(served(mark)).toContain(`GET /test/flaky/resolve/${hub.mainCommit('test/flaky')}/model.safetensors`);
    await runAndWait(page, 'Generate');
    expect((await outputTokens(page)).length).toBeGreaterThan(0);
  });

  it('a GGUF file of a Hub repository (owner/name/file.gguf) loads, writes the CLI\'s tokens, and a reload asks only the commit', async () => {
    const page = o.page;
    const mark = hub.requests.length;
    await page.getByLabel('Prompt', { exact: true }).fill('Once upon a time');
    await page.getByLabel('Hub model id').fill('test/stories-gguf/stories15m-q4_0.gguf');
    await page.getByRole('button', { name: 'Load model' }).click();
    await expect.poll(() => page.locator('#model-info').textContent(), { timeout: 120_000 }).toMatch(/test\/stories-gguf\/stories15m-q4_0\.gguf/);
    expect(served(mark)).toEqual([check('test/stories-gguf'), `GET /test/stories-gguf/resolve/${hub.mainCommit('test/stories-gguf')}/stories15m-q4_0.gguf`]);
    await runAndWait(page, 'Generate');
    const cli = await cliSteps(['--model', 'models/stories15m/stories15m-q4_0.gguf', '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '10']);
    const ui = await outputTokens(page);
    expect(ui.map((t) => t.id)).toEqual(cli.map((s) => s.id).slice(0, ui.length));
    expect(ui.length).toBeGreaterThan(0);
    const again = hub.requests.length;
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('#model-info').textContent()).toMatch(/stories15m-q4_0\.gguf/);
    expect(served(again)).toEqual([check('test/stories-gguf')]);
  });

  it('lists cached models with their sizes and removes them', async () => {
    const page = o.page;
    await openMore(page);
    await page.getByText('Hub settings and cache').click();
    const list = page.getByRole('list', { name: 'Cached models' });
    // Each entry names the server it came from (this test's local one, not the Hub).
    await expect.poll(() => list.textContent()).toMatch(/test\/tiny-llama \(127\.0\.0\.1_\d+\) · 0\.2 MB/);
    expect(await list.textContent()).toMatch(/test\/flaky \(127\.0\.0\.1_\d+\) · 0\.\d MB/);
    expect(await list.textContent()).toMatch(/test\/stories-gguf \(127\.0\.0\.1_\d+\) · 9\.3 MB/); // complete: a GGUF is cached only whole
    await page.getByRole('button', { name: 'Remove cached models' }).click();
    await expect.poll(() => list.textContent()).toBe('No models cached yet.');
  });
});

describe('Hub revisions in the app', () => {
  it('after main moves, the next visit downloads the new commit and says the model was updated; offline, the cached commit loads with no request reaching the Hub', async () => {
    const id = 'test/moving';
    const a = hub.mainCommit(id);
    const mark = hub.requests.length;
    const o = await app.open(`?backend=wasm&model=${id}&hubEndpoint=${encodeURIComponent(hub.url)}`);
    const page = o.page;
    try {
      expect(served(mark)).toContain(`GET /${id}/resolve/${a}/model.safetensors`);
      await expect.poll(() => page.locator('#model-info').textContent()).toMatch(/test\/moving/);
      const before = await page.locator('#model-info').textContent();

      const b = hub.moveMain(id, join(FIX, 'tiny-llama')); // a push to the Hub: another model under the same id
      let at = hub.requests.length;
      await page.reload(); // the next visit: the same browser profile, so the same Cache Storage
      await page.waitForSelector('body[data-ready="true"]');
      await expect.poll(() => page.getByRole('alert').textContent()).toContain(`${id} was updated on the Hub (commit ${a.slice(0, 7)} → ${b.slice(0, 7)}); the new files were downloaded.`);
      expect(served(at)).toContain(`GET /${id}/resolve/${b}/model.safetensors`);
      expect(served(at).filter((r) => r.includes(a))).toEqual([]);
      await expect.poll(() => page.locator('#model-info').textContent()).not.toBe(before); // the new commit's model (Llama-layout)

      // Offline: every request to the Hub fails; the page load's one check is tried, and the cached commit loads.
      const tried: string[] = [];
      await page.route(`${hub.url}/**`, (route) => {
        tried.push(route.request().url());
        return route.abort('internetdisconnected');
      });
      at = hub.requests.length;
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      await expect.poll(() => page.locator('#model-info').textContent()).toMatch(/test\/moving/);
      expect(await page.locator('#model-info').textContent()).not.toBe(before);
      expect(served(at)).toEqual([]);
      expect(tried).toEqual([`${hub.url}/api/models/${id}/revision/main`]);
    } finally {
      await page.close();
    }
  });
});

describe('a load that fails mid-way, with the backend measured at each load (?backend=auto)', () => {
  it('leaves the previous model on the backend it computes on, generating the CLI\'s ids (issue 29, hole 5)', async () => {
    const o = await app.open(`?backend=auto&t=0&max=8&prompt=${encodeURIComponent('Hello world')}&model=test/tiny-gpt2&hubEndpoint=${encodeURIComponent(hub.url)}`);
    const page = o.page;
    try {
      const status = (await page.locator('#backend').textContent()) ?? '';
      const chosen = /^auto → (webgpu|wasm)\b.*measured at load: webgpu [\d.]+ ms\/token, wasm [\d.]+ ms\/token/.exec(status)?.[1];
      expect(chosen, `both backends were measured: ${status}`).toBeDefined();
      // WebGPU is measured first, so the failed load below leaves TF.js on WebGPU unless it is switched back: where
      // WASM won (the software adapter of these tests), that is the hole this test catches.
      // The engine's own report: the backend TF.js computes on is the one the model lives on.
      await expect.poll(() => page.evaluate(() => document.body.dataset.engineBackend)).toBe(chosen);

      // Choosing a backend for the next model switches TF.js's active one before its weights arrive; they break off.
      hub.dropOnce('test/flaky-auto/model.safetensors');
      await openMore(page);
      await page.getByLabel('Model', { exact: true }).selectOption('other');
      await page.getByLabel('Hub model id').fill('test/flaky-auto');
      await page.getByRole('button', { name: 'Load model' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/test\/flaky-auto.*(broke off|ended after)/);
      expect(await page.locator('#model-info').textContent()).toMatch(/test\/tiny-gpt2/);
      await expect.poll(() => page.evaluate(() => [document.body.dataset.engine, document.body.dataset.engineBackend])).toEqual(['ready', chosen]);

      await runAndWait(page, 'Generate');
      const cli = await cliSteps(['--model', 'tests/fixtures/tiny-gpt2', '--prompt', 'Hello world', '--temperature', '0', '--max-tokens', '8']);
      expect((await outputTokens(page)).map((t) => t.id)).toEqual(cli.map((s) => s.id));
      expect(await page.evaluate(() => document.body.dataset.engineBackend)).toBe(chosen);
    } finally {
      await page.close();
    }
  });
});
