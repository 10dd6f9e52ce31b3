// attention.wat's two loops (a query's scores against cached keys; the weighted sum of cached values), bound
// to TF.js's own WASM memory so they read the KV cache where it lies. The module is instantiated once per
// memory: with threads, TF.js's memory is shared, and a module must import it as shared (the flag byte of
// the import's limits is set for that variant; the code is the same).
import { ATTENTION_WASM_BASE64 } from './attentionWasm.ts';

export interface AttentionLoops {
  /** s[j] = scale · q·k_j for j < n: q, k (n rows of hd), s as byte addresses in the memory. */
  scores(q: number, k: number, s: number, n: number, hd: number, scale: number): void;
  /** o = Σ_j w[j]·v_j over n rows of hd. */
  weighted(w: number, v: number, o: number, n: number, hd: number): void;
}

/** Set false to run the loops in JavaScript (tests compare the two). */
export const attentionSimd = { enabled: true };

interface EmscriptenModule {
  wasmMemory?: WebAssembly.Memory; // the threaded build's (shared) memory
  asm?: { memory?: WebAssembly.Memory }; // the single-threaded build exports its memory
}

const bound = new WeakMap<WebAssembly.Memory, AttentionLoops | null>();
const compiled = new Map<boolean, WebAssembly.Module | null>();

/** The module for a plain or a shared memory, or null where that variant does not validate (no SIMD; no shared memory). */
function compile(shared: boolean): WebAssembly.Module | null {
  if (compiled.has(shared)) return compiled.get(shared)!;
  const bytes = Uint8Array.from(atob(ATTENTION_WASM_BASE64), (c) => c.charCodeAt(0));
  let ok = true;
  if (shared) {
    // The memory import's limits: kind 2 (memory), flags 1 (a maximum), minimum 1, maximum 65536 (LEB128).
    const limits = [0x02, 0x01, 0x01, 0x80, 0x80, 0x04];
    const at = bytes.findIndex((_, i) => limits.every((b, k) => bytes[i + k] === b));
    if (at >= 0) bytes[at + 1] = 0x03; // a maximum, and shared
    ok = at >= 0;
  }
  const m = ok && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  compiled.set(shared, m);
  return m;
}

/** The loops on the WASM backend's memory, or null (no SIMD, or a memory they cannot import): use JavaScript. */
export function attentionLoops(backend: unknown): AttentionLoops | null {
  if (!attentionSimd.enabled) return null;
  const wasm = (backend as { wasm?: EmscriptenModule }).wasm;
  const memory = wasm?.wasmMemory ?? wasm?.asm?.memory;
  if (!memory) return null;
  if (bound.has(memory)) return bound.get(memory)!;
  const m = compile(typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer);
  let loops: AttentionLoops | null = null;
  if (m) {
    try {
      loops = new WebAssembly.Instance(m, { env: { memory } }).exports as unknown as AttentionLoops;
    } catch {
      loops = null; // limits that do not match (another TF.js build): JavaScript it is
    }
  }
  bound.set(memory, loops);
  return loops;
}
