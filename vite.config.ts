import { cpSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

// The embedded model lives in models/ at the top level; the dev server serves it from there, and a
// production build copies it next to the app so the built site works offline too.
const shipModels = (): Plugin => ({
  name: 'ship-models',
  apply: 'build',
  writeBundle(options) {
    cpSync(resolve(import.meta.dirname, 'models'), resolve(options.dir ?? 'dist', 'models'), { recursive: true, filter: (src) => !src.includes('/data') });
  },
});

// Cross-origin isolation lets tfjs-backend-wasm use its threaded build (SharedArrayBuffer).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// Vite 8's default minifier rewrites a guard inside tfjs-backend-wasm's thread-worker source (which
// is re-evaluated from Function.toString()), and the threads then crash. Mangle and strip
// whitespace, but do not "compress".
const safeMinify = { compress: false, mangle: true, codegen: { removeWhitespace: true } } as const;

export default defineConfig({
  plugins: [shipModels()],
  resolve: { alias: { 'onnxruntime-web': resolve(import.meta.dirname, 'src/shims/onnxruntime-web.ts') } },
  server: { headers: isolation },
  preview: { headers: isolation },
  // The engine runs in a worker, which Vite bundles separately: it needs the same minifier setting.
  worker: { format: 'es', rolldownOptions: { output: { minify: safeMinify } } },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rolldownOptions: { input: { main: resolve(import.meta.dirname, 'index.html'), bench: resolve(import.meta.dirname, 'bench.html') }, output: { minify: safeMinify } },
  },
});
