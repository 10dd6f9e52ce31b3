// The engine benchmark in a page (used by `npm run -s bench:browser`): ?backend=&model=&promptTokens=&tokens=&fused=0
import { selectBackend, type BackendName } from '../engine/runtime/backend.ts';
import { runBenchmark } from '../engine/measure/bench.ts';
import { fetchModelFiles } from '../engine/load/fetchModel.ts';
import { buildModel } from '../engine/load/load.ts';
import { WASM_PATHS } from '../engine/runtime/wasmPaths.ts';
import { fusedKernels } from '../engine/runtime/fused.ts';

const q = new URLSearchParams(location.search);
const out = document.getElementById('out')!;
const w = window as unknown as { __bench?: unknown };
// fused=0: TF.js's own kernels only, for before/after figures in one harness.
fusedKernels.enabled = q.get('fused') !== '0';
try {
  const status = await selectBackend({ order: [(q.get('backend') ?? 'wasm') as BackendName], wasmPaths: WASM_PATHS });
  const files = await fetchModelFiles(q.get('model') ?? `${import.meta.env.BASE_URL}models/nexttoken-3m/`);
  const lm = buildModel({ ...files, name: q.get('name') ?? files.name });
  const r = await runBenchmark(lm, Number(q.get('promptTokens') ?? 32), Number(q.get('tokens') ?? 64));
  const adapter = status.adapter ? `${status.adapter.vendor} ${status.adapter.architecture}${status.adapter.isFallbackAdapter ? ' (software adapter: timings say nothing about real GPUs)' : ''}`.trim() : null;
  w.__bench = { ...r, fusedKernels: fusedKernels.enabled, adapter, wasm: status.wasm ?? null, crossOriginIsolated: self.crossOriginIsolated };
} catch (e) {
  w.__bench = { error: (e as Error).message };
}
out.textContent = JSON.stringify(w.__bench, null, 2);
document.title = 'done';
