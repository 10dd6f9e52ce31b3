// The production build as a teacher deploys it: dist/ copied under a sub-path of a plain static file server
// that sends no COOP/COEP (python3 -m http.server, as a university web folder or GitHub Pages serves it).
// The service worker must make the page cross-origin isolated (threads) after at most one reload, keep the
// learner's runs across a reload, and bring the whole app back with the server process stopped.
// Witnesses: the Node CLI for the tokens; the server's own request log for "nothing was fetched".
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, launch, ROOT } from '../../tools/browser.ts';
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
async function staticServer(dir: string, port: number, probe: string): Promise<{ proc: ChildProcess; log: () => string }> {
  let log = '';
  const proc = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (b) => (log += b));
  proc.stderr!.on('data', (b) => (log += b));
  // Ready when it answers.
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/${probe}`)).ok) break;
    } catch {
      if (i > 200 || proc.exitCode !== null) throw new Error(`python3 -m http.server did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 50)); // polling a server that is starting, not a wait for the page
    }
  }
  return { proc, log: () => log };
}

async function waitReady(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
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
    server = await staticServer(www, port, `${SUB}/manifest.webmanifest`);
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
    expect(await page.locator('#backend').textContent()).toMatch(/threads/);
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
    await page.waitForSelector('body[data-saved-runs="2"]', { timeout: 60_000 });
    await page.reload();
    await waitReady(page);
    const runs = page.locator('nav.runs button.run');
    await expect.poll(() => runs.count(), { timeout: 60_000 }).toBe(2);
    const texts = await runs.allTextContents();
    expect(texts[0]).toContain(PROMPT);
    expect(texts[1]).toContain('Once upon a time');
    // The restored run shows its tokens, and a step of it recomputes its distribution.
    await runs.first().click();
    expect((await outputTokens(page)).map((t) => t.id)).toEqual(cliIds);
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
    await page.getByRole('button', { name: 'Clear runs' }).click();
    await expect.poll(() => page.locator('nav.runs button.run').count()).toBe(0);
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
});
