// The row order of llama.cpp's `llama` files. Its converter permuted each head's q and k rows of a Hugging Face
// Llama into adjacent-pair order (it rotates adjacent pairs); the engine rotates halves (Hugging Face's layout), so
// those rows are put back as each tensor is read. Qwen2 and Qwen3 files are written unpermuted.
import type { QuantBlocks } from '../runtime/quant.ts';
import type { GgufFile, GgufTensor } from './gguf.ts';

/** The heads whose rows `t` holds in llama.cpp's order (q: the query heads, k: the kv heads), or undefined. */
export function permutedHeads(gguf: GgufFile, t: GgufTensor): number | undefined {
  const arch = String(gguf.metadata.get('general.architecture') ?? '');
  const m = /^blk\.\d+\.attn_(q|k)\.(weight|bias)$/.exec(t.name);
  if (arch !== 'llama' || !m) return undefined;
  const count = (key: string) => {
    const v = gguf.metadata.get(`llama.${key}`);
    return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
  };
  const H = count('attention.head_count');
  return m[1] === 'q' ? H : (count('attention.head_count_kv') ?? H);
}

/** A tensor's values (floats or blocks) in the engine's row order. */
export function inEngineOrder<V extends Float32Array | QuantBlocks>(gguf: GgufFile, t: GgufTensor, value: V): V {
  const heads = permutedHeads(gguf, t);
  if (!heads) return value;
  if (!(value instanceof Float32Array)) return unpermuteBlockRows(value, heads) as V;
  // A bias is its rows' values one each (width 1); a matrix's rows are ne[0] wide.
  return (t.ne.length === 1 ? unpermuteRows(value, t.ne[0], 1, heads) : unpermuteRows(value, t.ne[1], t.ne[0], heads)) as V;
}

/**
 * llama.cpp's converter wrote each head's rows [h, i, half] (adjacent pairs); Hugging Face's order is
 * [h, half, i] (halves). Row r of the result (h, half, i) is row h·hd + 2i + half of the file.
 */
function fileRowOf(r: number, heads: number, rows: number): number {
  const hd = rows / heads;
  const h = Math.floor(r / hd);
  const half = Math.floor((r % hd) / (hd / 2));
  const i = r % (hd / 2);
  return h * hd + 2 * i + half;
}

function unpermuteRows(data: Float32Array, n: number, width: number, heads: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < n; r++) {
    const from = fileRowOf(r, heads, n);
    out.set(data.subarray(from * width, (from + 1) * width), r * width);
  }
  return out;
}

function unpermuteBlockRows(b: QuantBlocks, heads: number): QuantBlocks {
  const perRow = b.cols / 32;
  const qPerRow = b.type === 'q8_0' ? b.cols : b.cols / 2;
  const scales = new Float32Array(b.scales.length);
  const quants = b.type === 'q8_0' ? new Int8Array(b.quants.length) : new Uint8Array(b.quants.length);
  for (let r = 0; r < b.rows; r++) {
    const from = fileRowOf(r, heads, b.rows);
    scales.set(b.scales.subarray(from * perRow, (from + 1) * perRow), r * perRow);
    (quants as Uint8Array).set((b.quants as Uint8Array).subarray(from * qPerRow, (from + 1) * qPerRow), r * qPerRow);
  }
  return { ...b, scales, quants };
}
