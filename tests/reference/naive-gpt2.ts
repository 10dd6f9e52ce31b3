// An independent GPT-2 forward pass for tests: float64, plain loops, no TF.js, no KV cache
// (every position recomputed from scratch), its own tiny safetensors reader (F32 and F16).
// Written separately from src/engine so that a shared mistake is unlikely.

type Weights = Map<string, { shape: number[]; data: Float64Array }>;

export function readF32Safetensors(bytes: Uint8Array): Weights {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const w: Weights = new Map();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F32' && t.dtype !== 'F16') throw new Error(`reference reads F32 and F16 only, not ${t.dtype}`);
    const [b, e] = t.data_offsets;
    const size = t.dtype === 'F32' ? 4 : 2;
    const data = new Float64Array((e - b) / size);
    for (let i = 0; i < data.length; i++) data[i] = size === 4 ? dv.getFloat32(8 + n + b + 4 * i, true) : half(dv.getUint16(8 + n + b + 2 * i, true));
    w.set(name.replace(/^transformer\./, ''), { shape: t.shape, data });
  }
  return w;
}

interface Cfg {
  n_embd: number;
  n_head: number;
  n_layer: number;
  vocab_size: number;
  layer_norm_epsilon?: number;
}

/** IEEE 754 half precision → number: sign, 5-bit exponent, 10-bit fraction (subnormals included). */
function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Logits for every position of `ids`: number[T][V], in float64. */
export function referenceLogits(cfg: Cfg, w: Weights, ids: number[], onAttention?: (layer: number, head: number, query: number, weights: number[]) => void): Float64Array[] {
  const D = cfg.n_embd;
  const H = cfg.n_head;
  const hd = D / H;
  const eps = cfg.layer_norm_epsilon ?? 1e-5;
  const T = ids.length;
  const W = (name: string) => {
    const t = w.get(name);
    if (!t) throw new Error(`reference: missing ${name}`);
    return t.data;
  };
  // x[t][d]
  let x: Float64Array[] = ids.map((id, t) => {
    const row = new Float64Array(D);
    for (let d = 0; d < D; d++) row[d] = W('wte.weight')[id * D + d] + W('wpe.weight')[t * D + d];
    return row;
  });
  const layerNorm = (v: Float64Array, g: Float64Array, b: Float64Array) => {
    let mean = 0;
    for (const a of v) mean += a;
    mean /= v.length;
    let vr = 0;
    for (const a of v) vr += (a - mean) ** 2;
    vr /= v.length;
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = ((v[i] - mean) / Math.sqrt(vr + eps)) * g[i] + b[i];
    return out;
  };
  // Conv1D: y[o] = sum_i v[i] * W[i][o] + b[o], W stored [in, out]
  const conv1d = (v: Float64Array, Wt: Float64Array, b: Float64Array, nOut: number) => {
    const out = new Float64Array(nOut);
    for (let o = 0; o < nOut; o++) {
      let s = b[o];
      for (let i = 0; i < v.length; i++) s += v[i] * Wt[i * nOut + o];
      out[o] = s;
    }
    return out;
  };
  const gelu = (a: number) => 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a ** 3)));

  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `h.${l}.`;
    const qkv = x.map((row) => conv1d(layerNorm(row, W(p + 'ln_1.weight'), W(p + 'ln_1.bias')), W(p + 'attn.c_attn.weight'), W(p + 'attn.c_attn.bias'), 3 * D));
    const attnOut = x.map(() => new Float64Array(D));
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const scores: number[] = [];
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += qkv[t][h * hd + d] * qkv[s][D + h * hd + d];
          scores.push(dot / Math.sqrt(hd));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        onAttention?.(l, h, t, e.map((v) => v / z));
        for (let s = 0; s <= t; s++) for (let d = 0; d < hd; d++) attnOut[t][h * hd + d] += (e[s] / z) * qkv[s][2 * D + h * hd + d];
      }
    }
    x = x.map((row, t) => {
      const a = conv1d(attnOut[t], W(p + 'attn.c_proj.weight'), W(p + 'attn.c_proj.bias'), D);
      const r1 = row.map((v, i) => v + a[i]);
      const hid = conv1d(layerNorm(r1, W(p + 'ln_2.weight'), W(p + 'ln_2.bias')), W(p + 'mlp.c_fc.weight'), W(p + 'mlp.c_fc.bias'), 4 * D).map(gelu);
      const m = conv1d(hid, W(p + 'mlp.c_proj.weight'), W(p + 'mlp.c_proj.bias'), D);
      return r1.map((v, i) => v + m[i]);
    });
  }
  const wte = W('wte.weight');
  return x.map((row) => {
    const hN = layerNorm(row, W('ln_f.weight'), W('ln_f.bias'));
    const logits = new Float64Array(cfg.vocab_size);
    for (let v = 0; v < cfg.vocab_size; v++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += hN[d] * wte[v * D + d];
      logits[v] = s;
    }
    return logits;
  });
}
