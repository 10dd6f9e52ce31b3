// Writing safetensors files (the test fixtures, the 124M load-test model): an 8-byte little-endian
// header length, the JSON header padded with spaces to a multiple of 8 bytes, then every tensor's
// float32 bytes in header order.
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';

/** The file's first bytes (length + header) for float32 tensors of these shapes, and how many data bytes follow. */
export function safetensorsHead(tensors: [name: string, shape: number[]][]): { head: Uint8Array; dataBytes: number } {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  header.__metadata__ = { format: 'pt' };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + text.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(text.length), true);
  head.set(text, 8);
  return { head, dataBytes: off };
}

/** A whole safetensors file of float32 tensors, written at once (small models). */
export function writeSafetensors(path: string, tensors: [string, number[], Float32Array][]): void {
  const { head, dataBytes } = safetensorsHead(tensors.map(([name, shape]) => [name, shape]));
  const buf = new Uint8Array(head.length + dataBytes);
  buf.set(head);
  let p = head.length;
  for (const [, , data] of tensors) {
    buf.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), p);
    p += data.byteLength;
  }
  writeFileSync(path, buf);
}

/**
 * A large safetensors file of random float32 weights (the full-size shapes for memory and speed measurements),
 * written tensor by tensor so the whole file is never held at once. Weights are 0.034 · U(−1, 1) from an LCG
 * (fast, and good enough for random weights; the same seed gives the same bytes), plus 1 for norm weights.
 * `fixed` gives a tensor's data instead (a buffer, not a parameter: GPT-2's causal mask). Returns the parameters.
 */
export function writeRandomSafetensors(path: string, tensors: [name: string, shape: number[]][], o: { seed: number; isNorm: (name: string) => boolean; fixed?: (name: string, shape: number[]) => Float32Array | null }): number {
  const { head } = safetensorsHead(tensors);
  const fd = openSync(path, 'w');
  writeSync(fd, head);
  let state = o.seed >>> 0;
  let params = 0;
  for (const [name, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data = o.fixed?.(name, shape) ?? null;
    if (!data) {
      params += n;
      data = new Float32Array(n);
      const base = o.isNorm(name) ? 1 : 0;
      for (let i = 0; i < n; i++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        data[i] = base + 0.02 * ((state / 2 ** 32) * 2 - 1) * 1.7;
      }
    }
    writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  closeSync(fd);
  return params;
}
