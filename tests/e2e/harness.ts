// Drives the production build (vite build + vite preview) in headless Debian Chromium.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launch, ROOT, startApp, stopApp } from '../../tools/browser.ts';

export { ROOT };

export const ARTEFACTS = join(ROOT, 'test-results');
const run = promisify(execFile);

export interface OpenPage {
  page: Page;
  consoleErrors: string[];
  externalRequests: string[];
  dialogs: string[];
}

export interface AppUnderTest {
  /** The preview server's address, once started. */
  readonly base: string;
  readonly browser: Browser;
  /** Opens the app at `query` (see openApp). */
  open(query: string, width?: number): Promise<OpenPage>;
}

/**
 * For one test file: builds and serves the app and launches Chromium before its tests, and closes both
 * after them (after the file's own afterAll hooks, which run first).
 */
export function useApp(): AppUnderTest {
  let base = '';
  let browser: Browser | undefined;
  beforeAll(async () => {
    base = await startApp();
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await stopApp();
  });
  return {
    get base() {
      return base;
    },
    get browser() {
      if (!browser) throw new Error('useApp: the browser starts in beforeAll; use it inside a test or hook');
      return browser;
    },
    open(query, width) {
      return openApp(this.browser, base, query, width);
    },
  };
}

/** Opens the app; test models are served from tests/fixtures at /test-models/<name>/; anything off this machine is blocked and recorded. */
export async function openApp(browser: Browser, base: string, query: string, width = 1280): Promise<OpenPage> {
  // The preview server sends COOP/COEP itself; the service worker (offline copy, isolation on plain static
  // hosts) has its own test, deploy.e2e.test.ts. Blocked here so every page does not also copy 25 MB of models.
  const page = await browser.newPage({ viewport: { width, height: 900 }, serviceWorkers: 'block' });
  const o: OpenPage = { page, consoleErrors: [], externalRequests: [], dialogs: [] };
  page.on('console', (m) => m.type() === 'error' && o.consoleErrors.push(m.text()));
  page.on('pageerror', (e) => o.consoleErrors.push(String(e)));
  page.on('dialog', (d) => {
    o.dialogs.push(d.message());
    void d.dismiss();
  });
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost' && !url.protocol.startsWith('blob') && !url.protocol.startsWith('data')) {
      o.externalRequests.push(url.href);
      return route.abort();
    }
    const m = /^\/test-models\/([\w-]+)\/([\w.-]+)$/.exec(url.pathname);
    if (m) {
      const path = join(ROOT, 'tests', 'fixtures', m[1], m[2]);
      return existsSync(path)
        ? route.fulfill({ path, headers: { 'Cross-Origin-Resource-Policy': 'same-origin' } })
        : route.fulfill({ status: 404, body: 'not found' });
    }
    return route.continue();
  });
  await page.goto(base + query);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
  return o;
}

/** Clicks a button that starts a generation and waits until the generation has finished. */
export async function runAndWait(page: Page, button: string): Promise<void> {
  const before = Number((await page.evaluate(() => document.body.dataset.runs)) ?? 0);
  await page.getByRole('button', { name: button, exact: true }).click();
  await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, before, { timeout: 240_000 });
}

export interface TokenChip {
  id: number;
  name: string;
}
export async function outputTokens(page: Page): Promise<TokenChip[]> {
  return page.$$eval('section[aria-label="Output"] button.token[data-active="true"]', (els) =>
    els.map((e) => ({ id: Number((e as HTMLElement).dataset.id), name: e.getAttribute('aria-label') ?? '' })),
  );
}

export interface CliStep {
  id: number;
  token: string;
  prob: number;
  rawProb: number;
  entropy: number;
  kept: number;
  draw: number | null;
  stages: { name: string; value: number; kept: number; chosen: number }[];
  top: { id: number; token: string; rawProb: number; prob: number }[];
}
export async function cliSteps(args: string[]): Promise<CliStep[]> {
  const { stdout } = await run(join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli/generate.ts', ...args, '--json'], { cwd: ROOT, maxBuffer: 64 << 20 });
  return stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((o) => !o.summary);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTEFACTS, { recursive: true });
  const path = join(ARTEFACTS, name);
  // A full-page capture re-lays out and repaints the whole page (a software WebGPU canvas included); on a busy
  // 2-core machine that took over Playwright's default 30 s once, so it gets the same patience as a model load.
  await page.screenshot({ path, fullPage: true, timeout: 120_000 });
  return path;
}

export interface HeapUsage {
  /** V8 heap in use (JS objects). */
  usedSize: number;
  /** ArrayBuffer backing stores (download buffers, for one). Threaded WASM's shared memory, where the weights end up, is not counted here. */
  backingStorageSize: number;
}

/**
 * Reads the JS heap of the app's engine worker (where the model loads) through the browser's DevTools
 * protocol: attaches to the worker target and asks it for Runtime.getHeapUsage. Returns null until the
 * worker exists. The page's own heap is the smaller half of the story; the weights live in the worker.
 */
export async function engineWorkerHeap(browser: Browser): Promise<() => Promise<HeapUsage | null>> {
  const cdp = await browser.newBrowserCDPSession();
  const pending = new Map<number, (v: HeapUsage | null) => void>();
  let nextId = 1;
  let sessionId = '';
  cdp.on('Target.receivedMessageFromTarget', (e: { message: string }) => {
    const m = JSON.parse(e.message) as { id?: number; result?: HeapUsage };
    if (m.id && pending.has(m.id)) {
      pending.get(m.id)!(m.result ?? null);
      pending.delete(m.id);
    }
  });
  return async () => {
    if (!sessionId) {
      const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
      const worker = targetInfos.find((t) => t.type === 'worker' && /engine\.worker/.test(t.url));
      if (!worker) return null;
      sessionId = ((await cdp.send('Target.attachToTarget', { targetId: worker.targetId, flatten: false })) as { sessionId: string }).sessionId;
    }
    const id = nextId++;
    const reply = new Promise<HeapUsage | null>((r) => pending.set(id, r));
    await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) });
    return reply;
  };
}

/** Opens the "More settings, model and engine" drawer as a learner would (a click on its summary), unless it is open. */
export async function openMore(page: Page): Promise<void> {
  const open = await page.locator('details.more').evaluate((d) => (d as HTMLDetailsElement).open);
  if (!open) await page.locator('details.more > summary').click();
}
