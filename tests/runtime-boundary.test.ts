// The engine's layers: TF.js's private internals are reached only inside src/engine/runtime/, behind a check of
// the pinned version; the model code knows nothing of loading. Read from the source tree and the installed
// packages (what a reviewer would grep), and the version check run on the real and on a mismatched set.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPinnedTfjs, PINNED_TFJS } from '../src/engine/runtime/tfjsInternals.ts';

const ROOT = join(import.meta.dirname, '..');
const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : []));
const src = files(join(ROOT, 'src')).map((f) => ({ path: relative(ROOT, f), text: readFileSync(f, 'utf8') }));
const PRIVATE = /typedArrayFromHeap|makeOutput|dataIdMap|HEAPF32|HEAPU8|tensorMap|commandEncoder|runWebGPUProgram|uploadToGPU|recordAndSubmit|endComputePassEncoder/;

describe('the runtime boundary', () => {
  it('private TF.js internals are named only in src/engine/runtime/', () => {
    const using = src.filter((f) => PRIVATE.test(f.text)).map((f) => f.path);
    expect(using.length).toBeGreaterThan(0); // the fused kernels do use them
    expect(using.filter((p) => !p.startsWith('src/engine/runtime/'))).toEqual([]);
    // Nor is tf.backend() cast to reach its fields anywhere else.
    expect(src.filter((f) => !f.path.startsWith('src/engine/runtime/') && /tf\.backend\(\) as unknown/.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  it('every tensor read in the engine and the worker goes through readData (it races a lost GPU device), never a bare data()', () => {
    const bare = src.filter((f) => /^src\/(engine|worker)\//.test(f.path) && !f.path.startsWith('src/engine/runtime/') && /\.(data|array|dataSync|arraySync)\(\)/.test(f.text)).map((f) => f.path);
    expect(bare).toEqual([]);
  });

  it('the model code imports neither loading nor anything above it; the runtime imports no model code', () => {
    const imports = (dir: string) => src.filter((f) => f.path.startsWith(dir)).flatMap((f) => [...f.text.matchAll(/^import [^;]*from '([^']+)'/gm)].map((m) => `${f.path} → ${m[1]}`));
    expect(imports('src/engine/model/').filter((i) => /\/(load|tools|generate|ui|worker)\//.test(i))).toEqual([]);
    expect(imports('src/engine/runtime/').filter((i) => /'?\.\.\//.test(i.split(' → ')[1]))).toEqual([]);
  });

  it('developer measurement (src/engine/measure/) is apart from the product: the app, the worker and the learner’s tools never import it', () => {
    const product = src.filter((f) => /^src\/(ui|worker|engine\/(tools|model|load|generate|runtime))\//.test(f.path) || f.path === 'src/main.ts');
    expect(product.length).toBeGreaterThan(20);
    expect(product.filter((f) => /from '[^']*\/measure\//.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  it('package.json pins every @tensorflow package to the version the internals were written for, and that is what is installed', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const tfjs = Object.entries(pkg.dependencies).filter(([name]) => name.startsWith('@tensorflow/'));
    expect(tfjs.map(([name]) => name).sort()).toEqual(['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu']);
    for (const [name, range] of tfjs) {
      expect(range, name).toBe(PINNED_TFJS); // exact: no ^ or ~
      expect(JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version, name).toBe(PINNED_TFJS);
    }
  });

  it('the backends refuse to start on other TF.js versions, naming what was found and what to do', () => {
    expect(() => checkPinnedTfjs()).not.toThrow(); // the installed set
    expect(() => checkPinnedTfjs({ '@tensorflow/tfjs-core': '4.23.0', '@tensorflow/tfjs-backend-wasm': PINNED_TFJS })).toThrow(
      `NextToken's engine uses internals of TensorFlow.js ${PINNED_TFJS} and found @tensorflow/tfjs-core 4.23.0. Install the pinned versions (npm ci)`,
    );
  });
});
