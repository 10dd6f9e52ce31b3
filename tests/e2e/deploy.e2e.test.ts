// The production build as a teacher deploys it: dist/ copied under a sub-path of a plain static file server
// that sends no COOP/COEP (python3 -m http.server, as a university web folder or GitHub Pages serves it).
// The service worker must make the page cross-origin isolated (threads) after at most one reload, keep the
// learner's runs across a reload, and bring the whole app back with the server process stopped.
// Witnesses: the Node CLI for the tokens; the server's own request log for "nothing was fetched".
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, launch, ROOT } from '../../tools/browser.ts';
import { startHubServer } from '../../tools/hubServer.ts';
import { cliSteps, outputTokens, runAndWait, screenshot } from './harness.ts';

const SUB = 'some/sub/path';
const PROMPT = 'The capital of France is';
const QUERY = `?backend=wasm&prompt=${encodeURIComponent(PROMPT)}&t=0&max=6&seed=42`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A plain static server: python3's http.server, which sends no isolation headers and no cache rules. */
async function staticServer(dir: string, port: number): Promise<{ proc: ChildProcess; log: () => string }> {
  let log = '';
  // -u: unbuffered, so its "Serving HTTP on …" line arrives when it is listening.
  const proc = spawn('python3', ['-u', '-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stderr!.on('data', (b) => (log += b)); // its request log
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (b) => {
      log += b;
      if (/Serving HTTP/.test(log)) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`python3 -m http.server exited (${code}): ${log}`)));
  });
  return { proc, log: () => log };
}

async function waitReady(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
}

/** Until the run store holds `runs` runs and every step the page has. */
async function waitSaved(page: Page, runs: number): Promise<void> {
  await page.waitForFunction((n) => document.body.dataset.savedRuns === String(n) && document.body.dataset.savedSteps === document.body.dataset.steps, runs, { timeout: 60_000 });
}

describe('a deploy under a sub-path of a plain static host', () => {
  let www = '';
  let url = '';
  let server: Awaited<ReturnType<typeof staticServer>> | null = null;
  let context: BrowserContext;
  let page: Page;
  let browser: Awaited<ReturnType<typeof launch>>;
  let cliIds: number[] = [];

  beforeAll(async () => {
    const dist = process.env.NEXTTOKEN_PREBUILT ? join(ROOT, 'dist') : await buildApp();
    www = mkdtempSync(join(tmpdir(), 'nexttoken-www-'));
    cpSync(dist, join(www, SUB), { recursive: true });
    const port = await freePort();
    server = await staticServer(www, port);
    url = `http://127.0.0.1:${port}/${SUB}/`;
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    cliIds = (await cliSteps(['--prompt', PROMPT, '--temperature', '0', '--max-tokens', '6'])).map((s) => s.id);
  });

  afterAll(async () => {
    server?.proc.kill();
    await browser?.close();
    if (www) rmSync(www, { recursive: true, force: true });
  });

  it('loads at the sub-path, becomes cross-origin isolated after at most one reload, and runs threaded', async () => {
    let navigations = 0;
    page.on('framenavigated', (f) => f === page.mainFrame() && navigations++);
    await page.goto(url + QUERY);
    await waitReady(page);
    expect(navigations).toBeLessThanOrEqual(2); // the visit, and at most one automatic reload
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.locator('#backend').textContent()).toMatch(/multithreaded build, \d+ threads?\)/); // the threaded binary runs (its pool: half the cores)
    // What ships is the app: the benchmark page and its peer are in their own build.
    expect(readdirSync(join(www, SUB), { recursive: true }).map(String).filter((f) => /wllama|bench/i.test(f))).toEqual([]);
    // Every file came from under the sub-path: nothing was asked of the server's root.
    const rootHits = server!.log().split('\n').filter((l) => /"GET \/(?!some\/sub\/path\/)/.test(l));
    expect(rootHits).toEqual([]);
    await runAndWait(page, 'Generate');
    expect((await outputTokens(page)).map((t) => t.id)).toEqual(cliIds);
    await screenshot(page, 'deploy-subpath-1280.png');
  });

  it('keeps the runs across a reload', async () => {
    await page.getByRole('textbox', { name: 'Prompt' }).fill('Once upon a time');
    await runAndWait(page, 'Generate');
    await waitSaved(page, 2);
    const runs = page.locator('nav.runs button.run');
    const before = await runs.allTextContents(); // "Run 1 “The capital of France is” · 6 tokens"
    await page.reload();
    await waitReady(page);
    await expect.poll(() => runs.count(), { timeout: 60_000 }).toBe(2);
    const texts = await runs.allTextContents();
    expect(texts).toEqual(before);
    expect(texts[0]).toContain(PROMPT);
    expect(texts[1]).toContain('Once upon a time');
    // The restored run shows its tokens.
    await runs.first().click();
    expect((await outputTokens(page)).map((t) => t.id)).toEqual(cliIds);
    // Clear runs forgets them, here and after a reload.
    await page.getByRole('button', { name: 'Clear runs' }).click();
    await page.waitForSelector('body[data-saved-runs="0"]');
    expect(await outputTokens(page)).toEqual([]);
    await page.reload();
    await waitReady(page);
    expect(await page.locator('body').getAttribute('data-saved-runs')).toBe('0');
    expect(await outputTokens(page)).toEqual([]);
  });

  it('runs saved by an older version are dropped with a notice, never a broken page', async () => {
    await page.goto(url + QUERY); // the prompt in the link again (the last test typed another)
    await waitReady(page);
    await runAndWait(page, 'Generate');
    await waitSaved(page, 1);
    const key = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open('nexttoken');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const keys = await new Promise<IDBValidKey[]>((resolve) => {
        const r = db.transaction('runs').objectStore('runs').getAllKeys();
        r.onsuccess = () => resolve(r.result);
      });
      const tx = db.transaction('runs', 'readwrite');
      tx.objectStore('runs').put({ shape: 0, runs: 'an older shape' }, keys[0]);
      await new Promise((r) => (tx.oncomplete = r));
      db.close();
      return String(keys[0]);
    });
    expect(key).toMatch(/^url:.*models\/nexttoken-3m\/$/);
    await page.reload();
    await waitReady(page);
    await expect.poll(() => page.locator('#notice').textContent()).toContain('Runs saved by an older version of NextToken could not be read and were removed.');
    expect(await outputTokens(page)).toEqual([]);
    await runAndWait(page, 'Generate');
    expect((await outputTokens(page)).map((t) => t.id)).toEqual(cliIds);
    await waitSaved(page, 1);
  });

  it('a new deploy is offered with a Reload notice; Reload switches to it, and a changed model file replaces the old one', async () => {
    await page.waitForSelector('body[data-offline="ready"]', { timeout: 180_000 });
    // The next deploy: a build writes its file list and revisions into sw.js; here eval.json "changed".
    const swPath = join(www, SUB, 'sw.js');
    const sw = readFileSync(swPath, 'utf8');
    const m = /"revision":"([0-9a-f]{32})","url":"models\/nexttoken-3m\/eval\.json"/.exec(sw);
    expect(m).not.toBeNull();
    const next = 'f'.repeat(32);
    writeFileSync(swPath, sw.replace(m![0], m![0].replace(m![1], next)));
    const evalKeys = () =>
      page.evaluate(async () => (await (await caches.open('nexttoken-models')).keys()).map((r) => r.url).filter((u) => u.includes('/nexttoken-3m/eval.json')));
    expect((await evalKeys()).map((u) => u.split('__rev=')[1])).toEqual([m![1]]);
    await page.reload();
    await waitReady(page);
    const notice = page.getByRole('status').filter({ hasText: 'A new version of NextToken is available.' });
    await expect.poll(() => notice.isVisible(), { timeout: 60_000 }).toBe(true);
    // Reload: the new version takes over and the page reloads itself.
    await Promise.all([page.waitForEvent('framenavigated', { timeout: 180_000 }), notice.getByRole('button', { name: 'Reload' }).click()]);
    await waitReady(page);
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting ?? null)).toBeNull();
    expect(await notice.isVisible()).toBe(false);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    // The old revision of the changed file is gone and the new one is kept.
    await page.waitForSelector('body[data-offline="ready"]', { timeout: 180_000 });
    expect((await evalKeys()).map((u) => u.split('__rev=')[1])).toEqual([next]);
    const cacheNames = await page.evaluate(() => caches.keys());
    expect(cacheNames.filter((n) => n !== 'nexttoken-models' && !n.startsWith('workbox-precache-v2-'))).toEqual([]);
  });

  it('a Hub model downloads and runs in the isolated page (the stand-in Hub, another origin)', async () => {
    const hub = await startHubServer({ 'test/tiny-gpt2': join(ROOT, 'tests', 'fixtures', 'tiny-gpt2') }, []);
    const hubPage = await context.newPage();
    try {
      await hubPage.goto(`${url}?backend=wasm&t=0&max=8&prompt=${encodeURIComponent('Hello')}&model=test/tiny-gpt2&hubEndpoint=${encodeURIComponent(hub.url)}`);
      await waitReady(hubPage);
      expect(await hubPage.evaluate(() => crossOriginIsolated)).toBe(true);
      await expect.poll(() => hubPage.locator('#model-info').textContent()).toMatch(/test\/tiny-gpt2/);
      expect(hub.requests).toContain(`GET /test/tiny-gpt2/resolve/${hub.mainCommit('test/tiny-gpt2')}/model.safetensors`);
      await runAndWait(hubPage, 'Generate');
      const cli = await cliSteps(['--model', 'tests/fixtures/tiny-gpt2', '--prompt', 'Hello', '--temperature', '0', '--max-tokens', '8']);
      expect((await outputTokens(hubPage)).map((t) => t.id)).toEqual(cli.map((x) => x.id));
    } finally {
      await hubPage.close();
      await hub.close();
    }
  });

  it('a deploy missing one of its files says which, instead of a white page', async () => {
    const broken = join(www, 'broken');
    cpSync(join(www, SUB), broken, { recursive: true });
    const main = readdirSync(join(broken, 'assets')).find((f) => /^index-.*\.js$/.test(f))!;
    rmSync(join(broken, 'assets', main));
    const other = await browser.newPage({ serviceWorkers: 'block' });
    await other.goto(url.replace(`${SUB}/`, 'broken/'));
    const alert = other.getByRole('alert');
    await expect.poll(() => alert.textContent(), { timeout: 30_000 }).toContain(`/broken/assets/${main}`);
    expect(await other.locator('#boot').textContent()).toContain('Loading NextToken');
    await other.close();
  });

  it('with the server process stopped, a reload brings the app back: it generates and replays training', async () => {
    // Everything the app ships is kept offline once the page says so.
    await page.waitForSelector('body[data-offline="ready"]', { timeout: 180_000 });
    server!.proc.kill();
    await new Promise<void>((r) => (server!.proc.exitCode !== null ? r() : server!.proc.once('exit', () => r())));
    await expect(fetch(url)).rejects.toThrow(); // the server is really gone
    const t0 = Date.now();
    await page.goto(url + QUERY);
    await waitReady(page);
    const readyMs = Date.now() - t0;
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await runAndWait(page, 'Generate');
    expect((await outputTokens(page)).map((t) => t.id)).toEqual(cliIds);
    const index = JSON.parse(readFileSync(join(ROOT, 'models/nexttoken-3m/checkpoints.json'), 'utf8')) as { checkpoints: { step: number }[] };
    const replay = page.locator('section.panel.replay');
    await replay.locator('button.primary').click();
    const cards = replay.locator('article.replay-card');
    await expect.poll(() => cards.count(), { timeout: 120_000 }).toBe(index.checkpoints.length);
    const steps = await cards.evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.step)));
    expect(steps[0]).toBe(0);
    expect(steps).toEqual(index.checkpoints.map((p) => p.step));
    expect(await cards.last().locator('ol.replay-top li').first().getAttribute('data-id')).toBe(String((await cliSteps(['--prompt', PROMPT, '--temperature', '0', '--max-tokens', '1']))[0].top[0].id));
    await screenshot(page, 'deploy-offline-1280.png');
    console.log(JSON.stringify({ offlineReloadToReadyMs: readyMs }));
  });

  it('offline too, the shipped storyteller (stories15M, a Q4_0 GGUF) writes the CLI\'s tokens and its panel shows the CLI\'s distribution', async () => {
    const prompt = 'Once upon a time, there was a little girl named';
    const cli = await cliSteps(['--model', 'models/stories15m/stories15m-q4_0.gguf', '--prompt', prompt, '--temperature', '0', '--max-tokens', '4']);
    await page.goto(url + `?backend=wasm&model=stories&prompt=${encodeURIComponent(prompt)}&t=0&max=4&seed=42`);
    await waitReady(page);
    await runAndWait(page, 'Generate');
    expect((await outputTokens(page)).map((t) => t.id)).toEqual(cli.map((s) => s.id));
    await page.getByRole('region', { name: 'Output' }).locator('button.token[data-active="true"]').first().click();
    const rows = await page.getByRole('region', { name: 'Next-token distribution' }).evaluate((root) =>
      [...root.querySelectorAll('ol.candidates li[data-id]')].map((li) => ({ id: Number(li.getAttribute('data-id')), raw: li.querySelector('.raw')?.textContent ?? '' })),
    );
    expect(rows.length).toBeGreaterThanOrEqual(5);
    for (const row of rows.slice(0, 5)) {
      const witness = cli[0].top.find((c) => c.id === row.id);
      expect(witness, `candidate ${row.id} is among the CLI's top 10`).toBeDefined();
      expect(Math.abs(parseFloat(row.raw) - witness!.rawProb * 100)).toBeLessThanOrEqual(0.1);
    }
    // Typed text continues the story: " Lily" is ▁L + ily, with no second space before it (SentencePiece's dummy prefix).
    await page.getByRole('textbox', { name: 'Or force your own next token(s):' }).fill(' Lily');
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await expect.poll(() => page.locator('.forced .chip').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.id)))).toEqual([365, 2354]); // Llama 2's ids for ▁L, ily
    // What applies to it: a story model, no facts for the lens to check.
    await expect.poll(() => page.locator('.model-about').textContent()).toContain('stories15M');
    await expect.poll(() => page.locator('section.panel.lens p.blocked').textContent(), { timeout: 60_000 }).toContain('not facts'); // once no other view holds the engine
    await screenshot(page, 'stories15m-offline-1280.png');
  });
});
