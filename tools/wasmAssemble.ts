// WebAssembly text → binary with wabt (the WebAssembly project's own toolkit, compiled to JavaScript).
import wabtInit from 'wabt';

export const QUANT_WASM_TS = 'src/engine/runtime/quantWasm.ts';
export const ATTENTION_WASM_TS = 'src/engine/runtime/attentionWasm.ts';

export function assembleQuantWasm(wat: string): Promise<Uint8Array> {
  return assembleWat('quant.wat', wat);
}

export function assembleAttentionWasm(wat: string): Promise<Uint8Array> {
  return assembleWat('attention.wat', wat);
}

async function assembleWat(name: string, wat: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat(name, wat, { simd: true });
  try {
    module.validate();
    return module.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    module.destroy();
  }
}
