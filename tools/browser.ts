// Shared by the e2e tests and the browser benchmark: build + preview the app, launch Debian's Chromium.
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';

export const ROOT = join(import.meta.dirname, '..');
// A software WebGPU adapter (right for correctness, meaningless for speed), and no background
// network traffic: this machine has no internet.
export const CHROMIUM_ARGS = ['--enable-unsafe-webgpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let server: PreviewServer | null = null;

/** A page of the app at `url`, `width` px wide, once the model is loaded (for the screenshot tools). */
export async function openReady(browser: Browser, url: string, width: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
  return page;
}

/** Builds the production app (or the benchmark page: `bench`) with Vite; returns the output folder. */
export async function buildApp(bench = false): Promise<string> {
  const outDir = join(ROOT, bench ? 'dist-bench' : 'dist');
  await build({ root: ROOT, logLevel: 'warn', mode: bench ? 'bench' : 'production', build: { outDir } });
  return outDir;
}

/**
 * Serves the production app with `vite preview` (COOP/COEP included) and returns its URL. It builds first,
 * unless the test run already has (NEXTTOKEN_PREBUILT, set by tests/e2e/global-setup.ts: one build per run).
 */
export async function startApp(opts: { bench?: boolean } = {}): Promise<string> {
  if (!server) {
    const outDir = opts.bench || !process.env.NEXTTOKEN_PREBUILT ? await buildApp(opts.bench) : join(ROOT, 'dist');
    server = await preview({ root: ROOT, logLevel: 'warn', mode: opts.bench ? 'bench' : 'production', build: { outDir }, preview: { port: 0, host: '127.0.0.1' } });
  }
  const addr = server.httpServer.address();
  if (!addr || typeof addr === 'string') throw new Error('preview server has no port');
  return `http://127.0.0.1:${addr.port}/`;
}

export async function stopApp(): Promise<void> {
  await server?.close();
  server = null;
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}
