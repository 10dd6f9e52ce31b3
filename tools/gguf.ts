// Converts a GPT-2 model folder (Hugging Face layout: config.json, tokenizer.json, model.safetensors)
// to GGUF v3 with F32 tensors, for llama.cpp's `gpt2` architecture, so the benchmark's peer
// (llama.cpp in WebAssembly) runs the very same weights. Written from the GGUF specification:
//   "GGUF", version 3, tensor count (u64), metadata count (u64), the metadata key/values, the tensor
//   infos (name, dims, type, offset), padding to `general.alignment` (32), then the tensor data, each
//   tensor at an offset aligned to 32. A tensor's dims (ggml `ne`) list the fastest-varying one first.
// Conv1D weights are stored [in, out] by Hugging Face; llama.cpp wants ne {in, out}, i.e. [out, in] row-major.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { memoryWeights } from '../src/engine/load/safetensors.ts';

const ALIGN = 32;
enum T {
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
}
type Value = { t: T.U32 | T.I32 | T.F32; v: number } | { t: T.BOOL; v: boolean } | { t: T.STRING; v: string } | { t: T.ARRAY; of: T.STRING; v: string[] } | { t: T.ARRAY; of: T.I32; v: number[] };

class Bytes {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  private fixed(size: number, write: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    write(b);
    this.push(b);
  }
  u32 = (n: number) => this.fixed(4, (b) => b.writeUInt32LE(n));
  i32 = (n: number) => this.fixed(4, (b) => b.writeInt32LE(n));
  u64 = (n: number) => this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(n)));
  f32 = (n: number) => this.fixed(4, (b) => b.writeFloatLE(n));
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  value(x: Value): void {
    this.u32(x.t);
    switch (x.t) {
      case T.U32:
        return this.u32(x.v);
      case T.I32:
        return this.i32(x.v);
      case T.F32:
        return this.f32(x.v);
      case T.BOOL:
        return this.push(Buffer.from([x.v ? 1 : 0]));
      case T.STRING:
        return this.str(x.v);
      case T.ARRAY:
        this.u32(x.of);
        this.u64(x.v.length);
        if (x.of === T.STRING) for (const s of x.v as string[]) this.str(s);
        else for (const n of x.v as number[]) this.i32(n);
    }
  }
  concat(): Buffer {
    return Buffer.concat(this.parts);
  }
}

interface Tensor {
  name: string;
  ne: number[]; // fastest-varying first
  data: () => Float32Array; // row-major, last numpy dim fastest
}

/** [rows, cols] row-major → [cols, rows] row-major. */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

export function writeGguf(modelDir: string, outPath: string): { tensors: number; bytes: number } {
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
  if (config.model_type !== 'gpt2') throw new Error(`${modelDir}: only model_type gpt2 is converted, not ${config.model_type}`);
  const tok = JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8'));
  const weights = memoryWeights([{ name: join(modelDir, 'model.safetensors'), bytes: new Uint8Array(readFileSync(join(modelDir, 'model.safetensors'))) }]);
  const prefix = weights.shape('transformer.wte.weight') ? 'transformer.' : '';
  const read = (n: string) => weights.read(prefix + n);
  const { n_embd: D, n_layer: L, n_head: H, vocab_size: V } = config;
  const N = config.n_positions ?? config.n_ctx;
  const F = config.n_inner ?? 4 * D;

  // Tokens in id order; ids the tokenizer does not name (a padded vocabulary) get filler names.
  const tokens: string[] = Array.from({ length: V }, (_, i) => `<unused${i}>`);
  const types: number[] = new Array(V).fill(1); // 1 = normal
  for (const [piece, id] of Object.entries(tok.model.vocab as Record<string, number>)) if (id < V) tokens[id] = piece;
  for (const t of tok.added_tokens ?? []) {
    if (t.id >= V) continue;
    tokens[t.id] = t.content;
    if (t.special) types[t.id] = 3; // control
  }
  const merges = (tok.model.merges as (string | [string, string])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const eos = Number(config.eos_token_id ?? V - 1);
  const bos = Number(config.bos_token_id ?? eos);
  const meta: [string, Value][] = [
    ['general.architecture', { t: T.STRING, v: 'gpt2' }],
    ['general.name', { t: T.STRING, v: modelDir.replace(/\/+$/, '').split('/').pop()! }],
    ['general.file_type', { t: T.U32, v: 0 }], // all F32
    ['general.alignment', { t: T.U32, v: ALIGN }],
    ['gpt2.context_length', { t: T.U32, v: N }],
    ['gpt2.embedding_length', { t: T.U32, v: D }],
    ['gpt2.feed_forward_length', { t: T.U32, v: F }],
    ['gpt2.block_count', { t: T.U32, v: L }],
    ['gpt2.attention.head_count', { t: T.U32, v: H }],
    ['gpt2.attention.layer_norm_epsilon', { t: T.F32, v: config.layer_norm_epsilon ?? 1e-5 }],
    ['tokenizer.ggml.model', { t: T.STRING, v: 'gpt2' }],
    ['tokenizer.ggml.pre', { t: T.STRING, v: 'gpt-2' }],
    ['tokenizer.ggml.tokens', { t: T.ARRAY, of: T.STRING, v: tokens }],
    ['tokenizer.ggml.token_type', { t: T.ARRAY, of: T.I32, v: types }],
    ['tokenizer.ggml.merges', { t: T.ARRAY, of: T.STRING, v: merges }],
    ['tokenizer.ggml.bos_token_id', { t: T.U32, v: bos }],
    ['tokenizer.ggml.eos_token_id', { t: T.U32, v: eos }],
    ['tokenizer.ggml.add_bos_token', { t: T.BOOL, v: false }],
  ];

  const vec = (name: string, from: string): Tensor => ({ name, ne: [weights.shape(prefix + from)![0]], data: () => read(from) });
  // A Conv1D weight [in, out] → ne {in, out} (numpy [out, in]).
  const conv = (name: string, from: string): Tensor => {
    const [i, o] = weights.shape(prefix + from)!;
    return { name, ne: [i, o], data: () => transpose(read(from), i, o) };
  };
  const tensors: Tensor[] = [
    { name: 'token_embd.weight', ne: [D, V], data: () => read('wte.weight') },
    { name: 'position_embd.weight', ne: [D, N], data: () => read('wpe.weight') },
  ];
  // llama.cpp's name ← Hugging Face's, per block; norms are vectors, the rest Conv1D matrices (each with a bias).
  const BLOCK: [gguf: string, hf: string, conv1d: boolean][] = [
    ['attn_norm', 'ln_1', false],
    ['attn_qkv', 'attn.c_attn', true],
    ['attn_output', 'attn.c_proj', true],
    ['ffn_norm', 'ln_2', false],
    ['ffn_up', 'mlp.c_fc', true],
    ['ffn_down', 'mlp.c_proj', true],
  ];
  for (let l = 0; l < L; l++) {
    for (const [g, h, isConv] of BLOCK) {
      tensors.push((isConv ? conv : vec)(`blk.${l}.${g}.weight`, `h.${l}.${h}.weight`), vec(`blk.${l}.${g}.bias`, `h.${l}.${h}.bias`));
    }
  }
  tensors.push(vec('output_norm.weight', 'ln_f.weight'), vec('output_norm.bias', 'ln_f.bias')); // no output.weight: tied to token_embd

  const head = new Bytes();
  head.push(Buffer.from('GGUF', 'ascii'));
  head.u32(3);
  head.u64(tensors.length);
  head.u64(meta.length);
  for (const [k, v] of meta) {
    head.str(k);
    head.value(v);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    head.str(t.name);
    head.u32(t.ne.length);
    for (const d of t.ne) head.u64(d);
    head.u32(0); // GGML_TYPE_F32
    head.u64(offset);
    offsets.push(offset);
    offset += Math.ceil((t.ne.reduce((a, d) => a * d, 1) * 4) / ALIGN) * ALIGN;
  }
  const headBytes = head.concat();
  mkdirSync(dirname(outPath), { recursive: true });
  const fd = openSync(outPath, 'w');
  try {
    writeSync(fd, headBytes);
    const pad = (n: number) => (ALIGN - (n % ALIGN)) % ALIGN;
    let written = headBytes.length;
    writeSync(fd, Buffer.alloc(pad(written)));
    written += pad(written);
    const dataStart = written;
    tensors.forEach((t, i) => {
      const data = t.data();
      if (data.length !== t.ne.reduce((a, d) => a * d, 1)) throw new Error(`${t.name}: ${data.length} values for dims ${t.ne}`);
      const at = dataStart + offsets[i];
      if (at > written) writeSync(fd, Buffer.alloc(at - written));
      writeSync(fd, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      written = at + data.byteLength;
    });
    return { tensors: tensors.length, bytes: written };
  } finally {
    closeSync(fd);
  }
}

if (process.argv[1]?.endsWith('gguf.ts')) {
  const [dir, out] = process.argv.slice(2);
  if (!dir || !out || !existsSync(join(dir, 'config.json'))) {
    console.error('usage: npx tsx tools/gguf.ts <model folder> <out.gguf>');
    process.exit(2);
  }
  console.log(JSON.stringify(writeGguf(dir, out)));
}
