// A GGUF file in the app (production build): ?modelUrl= naming a .gguf loads it in the worker, on WASM and on
// WebGPU's software adapter, and greedy generation gives the CLI's ids for the same file. The file is written by
// the test-side converter (tools/ggufWrite.ts) from the embedded model, into an ignored folder.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureGguf } from '../../tools/ggufWrite.ts';
import { cliSteps, outputTokens, ROOT, runAndWait, useApp, type OpenPage } from './harness.ts';

const app = useApp();
const DIR = join(ROOT, 'tests', 'fixtures', 'gguf'); // git-ignored: written here, served at /test-models/gguf/
const PROMPT = 'The capital of France is';

beforeAll(() => {
  mkdirSync(DIR, { recursive: true });
  writeFixtureGguf(join(ROOT, 'models', 'nexttoken-3m'), join(DIR, 'nexttoken-3m-Q4_0.gguf'), 'Q4_0');
});

for (const backend of ['wasm', 'webgpu'] as const) {
  describe(`a Q4_0 GGUF on ${backend}`, () => {
    let o: OpenPage;
    beforeAll(async () => {
      o = await app.open(`?backend=${backend}&modelUrl=${encodeURIComponent('/test-models/gguf/nexttoken-3m-Q4_0.gguf')}&prompt=${encodeURIComponent(PROMPT)}&t=0&max=12`);
    });
    afterAll(async () => {
      expect(o.consoleErrors).toEqual([]);
      await o.page.close();
    });

    it('loads with its precision named, and greedy tokens are the CLI’s for the same file', async () => {
      const info = await o.page.locator('#model-info').textContent();
      expect(info).toContain('nexttoken-3m-Q4_0.gguf');
      expect(info).toContain('Q4_0');
      await runAndWait(o.page, 'Generate');
      const ui = (await outputTokens(o.page)).map((c) => c.id);
      const cli = (await cliSteps(['--model', join(DIR, 'nexttoken-3m-Q4_0.gguf'), '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '12'])).map((s) => s.id);
      expect(ui).toEqual(cli);
    });
  });
}

describe('the shipped stories15M (a Q4_0 GGUF, Llama) on WebGPU’s software adapter', () => {
  it('greedy tokens from "Once upon a time" are the float64 NumPy reference’s on the same file', async () => {
    const reference = JSON.parse(readFileSync(join(ROOT, 'tests/fixtures/stories15m/reference.json'), 'utf8')) as { steps: { id: number }[] };
    const o = await app.open(`?backend=webgpu&model=stories&prompt=${encodeURIComponent('Once upon a time')}&t=0&max=8`);
    try {
      expect(await o.page.locator('#backend').textContent()).toMatch(/^webgpu/);
      await runAndWait(o.page, 'Generate');
      expect((await outputTokens(o.page)).map((c) => c.id)).toEqual(reference.steps.slice(0, 8).map((s) => s.id));
      expect(o.consoleErrors).toEqual([]);
    } finally {
      await o.page.close();
    }
  });
});
