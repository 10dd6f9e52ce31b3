// npm run -s bench:browser -- [--model <dir>] [--prompt-tokens N] [--tokens M] [--backends wasm,webgpu] [--no-fused] --json
// Runs the engine benchmark in headless Chromium on each backend; prints one JSON object per backend.
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs, runMain, UsageError } from '../src/cli/args.ts';
import { launch, ROOT, startApp, stopApp } from './browser.ts';
import { startHubServer } from './hubServer.ts';

runMain(async () => {
  const a = parseArgs(process.argv.slice(2), { model: 'string', 'prompt-tokens': 'int', tokens: 'int', backends: 'string', json: 'boolean', 'no-fused': 'boolean' });
  const dir = resolve((a.model as string | undefined) ?? join(ROOT, 'models', 'nexttoken-3m'));
  if (!existsSync(join(dir, 'config.json'))) throw new UsageError(`--model: ${dir} is not a model folder (no config.json)`);
  const tokens = (a.tokens as number | undefined) ?? 64;
  if (tokens < 64) throw new UsageError('--tokens must be at least 64.');
  const base = await startApp({ bench: true });
  const browser = await launch();
  // The model folder is served over HTTP, streamed from disk (handing a 548 MB file to the page through
  // the browser driver would make it one string, too long for V8). The page fetches it like any model.
  const server = await startHubServer({ [`bench/${basename(dir)}`]: dir });
  try {
    for (const backend of ((a.backends as string | undefined) ?? 'wasm,webgpu').split(',')) {
      const page = await browser.newPage();
      const q = new URLSearchParams({ backend, name: basename(dir), model: `${server.url}/bench/${basename(dir)}/resolve/main/`, promptTokens: String((a['prompt-tokens'] as number | undefined) ?? 32), tokens: String(tokens), ...(a['no-fused'] ? { fused: '0' } : {}) });
      await page.goto(`${base}bench.html?${q}`);
      await page.waitForFunction(() => document.title === 'done', null, { timeout: 600_000 });
      const r = await page.evaluate(() => (window as unknown as { __bench: unknown }).__bench);
      console.log(a.json ? JSON.stringify({ ...(r as object), backendRequested: backend }) : JSON.stringify(r, null, 2));
      await page.close();
    }
  } finally {
    await server.close();
    await browser.close();
    await stopApp();
  }
});
