// The Node CLI, run as a user runs it (a child process through tsx).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const FIXTURE = 'tests/fixtures/tiny-gpt2';
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

export async function cli(script: 'generate' | 'bench' | 'eval', args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(TSX, [`src/cli/${script}.ts`, ...args], { cwd: ROOT, maxBuffer: 64 << 20 });
    return { ...r, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}
const lines = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l));

describe('generate CLI', () => {
  it('--json at temperature 0 is identical run to run, one object per token and a summary', async () => {
    const args = ['--model', FIXTURE, '--prompt', 'Hello', '--max-tokens', '8', '--temperature', '0', '--json'];
    const [a, b] = await Promise.all([cli('generate', args), cli('generate', args)]);
    expect(a.code).toBe(0);
    // Identical apart from the measured timings in the summary.
    const untimed = (s: string) => s.replace(/"(prefillMs|msPerToken)":[0-9.e-]+/g, '"$1":0');
    expect(untimed(a.stdout)).toBe(untimed(b.stdout));
    expect(a.stdout.split('\n').length).toBeGreaterThan(2);
    const out = lines(a.stdout);
    const summary = out.pop().summary;
    expect(out.length).toBeGreaterThan(0);
    for (const [i, s] of out.entries()) {
      expect(s.step).toBe(i);
      for (const k of ['id', 'token', 'prob', 'rawProb', 'logprob', 'entropy', 'top']) expect(s).toHaveProperty(k);
      expect(s.top[0]).toEqual(expect.objectContaining({ id: s.id, rawProb: s.rawProb }));
      expect(Math.exp(s.logprob)).toBeCloseTo(s.rawProb, 5);
    }
    expect(summary.promptIds.length).toBeGreaterThan(0);
    expect(summary.generatedTokens).toBe(out.length);
    expect(summary.backend).toBe('wasm');
    expect(typeof summary.msPerToken).toBe('number');
  });

  it('different seeds at temperature 1 give different tokens; the same seed the same', async () => {
    const base = ['--model', FIXTURE, '--prompt', 'Hello', '--max-tokens', '16', '--temperature', '1', '--json'];
    const ids = (s: string) => lines(s).filter((o) => !o.summary).map((o) => o.id);
    const [s1, s2, s1again] = await Promise.all([cli('generate', [...base, '--seed', '1']), cli('generate', [...base, '--seed', '2']), cli('generate', [...base, '--seed', '1'])]);
    expect(ids(s1.stdout)).not.toEqual(ids(s2.stdout));
    expect(ids(s1.stdout)).toEqual(ids(s1again.stdout));
  });

  it('plain mode streams the decoded text', async () => {
    const r = await cli('generate', ['--model', FIXTURE, '--prompt', 'The cat', '--max-tokens', '5', '--temperature', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(1);
  });

  const bad: [string[], RegExp][] = [
    [['--model', FIXTURE], /--prompt is required/],
    [['--model', FIXTURE, '--prompt', 'x', '--temperature', 'hot'], /--temperature must be a number, got "hot"/],
    [['--model', FIXTURE, '--prompt', 'x', '--top-p', '1.5'], /--top-p must be in \(0, 1\]/],
    [['--model', FIXTURE, '--prompt', 'x', '--max-tokens', '2.5'], /--max-tokens must be a whole number/],
    [['--model', FIXTURE, '--prompt', 'x', '--colour', 'red'], /Unknown flag --colour/],
    [['--model', 'no/such/dir', '--prompt', 'x'], /Model folder "no\/such\/dir" does not exist/],
  ];
  for (const [args, message] of bad) {
    it(`rejects ${args.slice(2).join(' ') || 'a missing prompt'} with a message and a non-zero exit`, async () => {
      const r = await cli('generate', args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
    });
  }
});

describe('eval CLI', () => {
  it('--lens on a model without facts of its own asks the bundled general facts and reports the lens table', async () => {
    const r = await cli('eval', ['--model', FIXTURE, '--json', '--skip-loss', '--lens']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.lens).toHaveLength(1);
    expect(out.lens[0]).toEqual(expect.objectContaining({ group: 'all', questions: 22 }));
    expect(out.lens[0].accuracy).toBeGreaterThanOrEqual(0);
    expect(out).not.toHaveProperty('factsSeenTop1'); // a fixture has no facts of its own
  });
});

describe('bench CLI', () => {
  it('prints one JSON object with the documented fields and a steady tensor count', async () => {
    const r = await cli('bench', ['--model', FIXTURE, '--json']);
    expect(r.code).toBe(0);
    const b = JSON.parse(r.stdout);
    for (const k of ['model', 'params', 'backend', 'promptTokens', 'prefillMs', 'decodeTokensPerSec', 'msPerToken', 'tensorsBefore', 'tensorsAfter']) expect(b).toHaveProperty(k);
    expect(b.params).toBe(44192);
    expect(b.decodedTokens).toBeGreaterThanOrEqual(64);
    expect(b.tensorsAfter).toBe(b.tensorsBefore);
  });
});
