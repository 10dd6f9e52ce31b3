// Runs a CLI as a user runs it: a child process through tsx, in the repository root.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

export async function cli(script: 'generate' | 'bench' | 'eval', args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(TSX, [`src/cli/${script}.ts`, ...args], { cwd: ROOT, maxBuffer: 64 << 20, env: { ...process.env, ...env } });
    return { ...r, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}
