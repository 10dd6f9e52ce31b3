import { cpSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

// Two builds from one config:
// - `npm run build` (the app): dist/, what a teacher deploys. Every URL is relative to the page (base './'),
//   so the same dist/ works at a domain root and under any sub-path. A service worker (src/sw.ts) makes it
//   work offline after one visit and cross-origin isolated (threaded WASM) on hosts that send no headers.
// - `npm run build:bench` (--mode bench): dist-bench/, the benchmark page and its peer (llama.cpp in
//   WebAssembly, 8.7 MB) — developer tooling that never ships with the app.
const ROOT = import.meta.dirname;

// The embedded model lives in models/ at the top level; the dev server serves it from there, and a
// production build copies it next to the app.
const shipModels = (): Plugin => ({
  name: 'ship-models',
  apply: 'build',
  writeBundle(options) {
    cpSync(resolve(ROOT, 'models'), resolve(options.dir ?? 'dist', 'models'), { recursive: true, filter: (src) => !src.includes('/data') });
  },
});

// Cross-origin isolation lets tfjs-backend-wasm use its threaded build (SharedArrayBuffer). The dev and
// preview servers send the headers; on a static host the service worker adds them.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// Vite 8's default minifier rewrites a guard inside tfjs-backend-wasm's thread-worker source (which
// is re-evaluated from Function.toString()), and the threads then crash. Mangle and strip
// whitespace, but do not "compress".
const safeMinify = { compress: false, mangle: true, codegen: { removeWhitespace: true } } as const;

// vite-plugin-pwa (Workbox underneath) builds src/sw.ts and writes into it the list of files to keep
// offline, each with a content revision: hand-written, that list and its per-file update logic are what
// go stale. Models are listed too (sw.ts caches them on first use rather than at install).
const offline = () =>
  VitePWA({
    strategies: 'injectManifest',
    srcDir: 'src',
    filename: 'sw.ts',
    injectRegister: false, // src/offline.ts registers it: isolation needs a reload the library does not do
    manifest: {
      name: 'NextToken — watch a language model predict the next token',
      short_name: 'NextToken',
      description: 'A small GPT-style model predicting text one token at a time, in your browser.',
      start_url: './',
      scope: './',
      display: 'standalone',
      background_color: '#ffffff',
      theme_color: '#1f4e8c',
      icons: [
        { src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
        { src: 'icon-512.png', sizes: '512x512', type: 'image/png' },
        { src: 'icon.svg', sizes: 'any', type: 'image/svg+xml' },
      ],
    },
    injectManifest: {
      globPatterns: ['**/*.{html,js,css,wasm,svg,png,webmanifest}', 'models/**/*'],
      maximumFileSizeToCacheInBytes: 16 * 2 ** 20, // the model is 7 MB
      rollupFormat: 'iife',
      // Each file's size rides along, so the page can say how much is kept offline.
      manifestTransforms: [async (entries) => ({ manifest: entries.map((e) => ({ ...e, bytes: e.size })), warnings: [] })],
    },
  });

export default defineConfig(({ mode }) => {
  const bench = mode === 'bench';
  return {
    base: './',
    plugins: [shipModels(), ...(bench ? [] : [offline()])],
    resolve: { alias: { 'onnxruntime-web': resolve(ROOT, 'src/shims/onnxruntime-web.ts') } },
    server: { headers: isolation },
    preview: { headers: isolation },
    // The engine runs in a worker, which Vite bundles separately: it needs the same minifier setting.
    worker: { format: 'es', rolldownOptions: { output: { minify: safeMinify } } },
    build: {
      target: 'es2022',
      outDir: bench ? 'dist-bench' : 'dist',
      chunkSizeWarningLimit: 4096,
      rolldownOptions: { input: resolve(ROOT, bench ? 'bench.html' : 'index.html'), output: { minify: safeMinify } },
    },
  };
});
