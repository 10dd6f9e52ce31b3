// The auto backend choice measures the likely winner last, so that it is the model still loaded when the
// measuring ends and no third load is needed (src/worker/chooseBackend.ts). The statuses here are written
// as selectBackend reports them; which backend wins on a real GPU is measured at load, not decided here.
import { expect, it } from 'vitest';
import { measuringOrder } from '../src/worker/chooseBackend.ts';
import type { BackendStatus } from '../src/engine/runtime/backend.ts';

const status = (backend: 'webgpu' | 'wasm', fallback?: boolean): { status: BackendStatus } => ({
  status: { backend, attempts: [{ name: backend, ok: true }], ...(fallback === undefined ? {} : { adapter: { vendor: 'v', architecture: 'a', isFallbackAdapter: fallback } }) } as unknown as BackendStatus,
});

it('a hardware GPU is measured last (usually the faster); a software adapter first (WASM usually wins there)', () => {
  const order = (cs: { status: BackendStatus }[]) => measuringOrder(cs).map((c) => `${c.status.backend}${c.status.adapter?.isFallbackAdapter ? ' (software)' : ''}`);
  expect(order([status('webgpu', false), status('wasm')])).toEqual(['wasm', 'webgpu']);
  expect(order([status('webgpu', true), status('wasm')])).toEqual(['webgpu (software)', 'wasm']);
  expect(order([status('wasm'), status('webgpu', false)])).toEqual(['wasm', 'webgpu']);
  expect(order([status('wasm')])).toEqual(['wasm']);
});
