// What the CLIs share: the default model and backend start-up.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend, type BackendName, type BackendStatus } from '../engine/backend.ts';
import type { LoadedModel } from '../engine/load.ts';
import { loadModelDir } from '../node/loadDir.ts';

export const DEFAULT_MODEL = join(import.meta.dirname, '..', '..', 'models', 'nexttoken-3m');

export async function startEngine(modelArg: string | undefined, backend?: string): Promise<{ lm: LoadedModel; status: BackendStatus }> {
  const order = backend ? [backend as BackendName] : undefined;
  if (backend && !['wasm', 'cpu'].includes(backend)) throw new Error(`--backend must be wasm or cpu in Node, got "${backend}"`);
  const status = await selectBackend({ order });
  const dir = modelArg ?? DEFAULT_MODEL;
  if (!modelArg && !existsSync(dir)) throw new Error(`The embedded model is missing at ${dir}; pass --model <dir> or run "npm run train".`);
  return { lm: loadModelDir(dir), status };
}
