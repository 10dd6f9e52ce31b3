import { defineConfig } from 'vite';

// Cross-origin isolation lets tfjs-backend-wasm use its threaded build (SharedArrayBuffer).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    // Vite 8's default minifier rewrites a guard inside tfjs-backend-wasm's thread-worker source
    // (which is re-evaluated from Function.toString()), and the workers then crash. Mangle and strip
    // whitespace, but do not "compress".
    rolldownOptions: { output: { minify: { compress: false, mangle: true, codegen: { removeWhitespace: true } } } },
  },
});
