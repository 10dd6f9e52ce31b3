// GGUF (llama.cpp's model file), read from its bytes: the metadata, the tensor table and each tensor's data.
// Written from the specification (GGUF v3):
//   "GGUF", uint32 version, uint64 tensor count, uint64 metadata count; the metadata (key, uint32 type,
//   value); the tensor infos (name, uint32 n_dims, uint64 ne[n_dims] fastest axis first, uint32 ggml type,
//   uint64 offset); then, at the next multiple of general.alignment (32), the data, each tensor at its offset.
// Why not @huggingface/gguf: it reads metadata over fetch and range requests; the engine needs the tensors'
// bytes too, from a file already in memory (the CLI) or the Hub cache, and the format is small enough to read here.
import { dequantize, f16BitsToF32, QK, type QuantBlocks, type QuantType } from '../runtime/quant.ts';

export class GgufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GgufError';
  }
}

/** ggml's tensor types NextToken reads, by id; the others are named in the refusal. */
export const GGML_TYPES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K',
  12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL',
  21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 30: 'BF16',
};
const SUPPORTED = new Set(['F32', 'F16', 'Q8_0', 'Q4_0']);
/** Bytes of one block (of 32, or of 1 for the float types) in the file. */
const FILE_BLOCK: Record<string, { weights: number; bytes: number }> = { F32: { weights: 1, bytes: 4 }, F16: { weights: 1, bytes: 2 }, Q8_0: { weights: QK, bytes: 34 }, Q4_0: { weights: QK, bytes: 18 } };

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensor {
  name: string;
  /** ne: fastest-varying axis first (a [out, in] matrix has ne = [in, out]). */
  ne: number[];
  type: 'F32' | 'F16' | 'Q8_0' | 'Q4_0';
  /** Where its data starts in the file, and how many bytes it takes. */
  start: number;
  bytes: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: Map<string, GgufTensor>;
}

/** The first bytes of a file (a download under way) end inside its header: read more, then parse again. */
export class GgufHeaderIncomplete extends Error {}

/**
 * Reads the header, metadata and tensor table of a GGUF file; `file` names it in messages. `fileSize`: the
 * whole file's length when `bytes` are only its first bytes (a stream): a header that runs past them then
 * throws GgufHeaderIncomplete, and the tensors' extents are checked against the whole file.
 */
export function parseGguf(bytes: Uint8Array, file: string, fileSize = bytes.length): GgufFile {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number, what: string) => {
    if (at + n <= bytes.length) return;
    if (bytes.length < fileSize) throw new GgufHeaderIncomplete(`${file}: the header runs past the first ${bytes.length} bytes`);
    throw new GgufError(`${file}: the file ends at byte ${bytes.length} inside ${what}: it is truncated or damaged. Download it again.`);
  };
  const u32 = (what: string) => (need(4, what), (at += 4), dv.getUint32(at - 4, true));
  const u64 = (what: string) => {
    need(8, what);
    at += 8;
    const v = dv.getBigUint64(at - 8, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`${file}: ${what} is ${v}, too large to be real: the file is damaged.`);
    return Number(v);
  };
  const str = (what: string) => {
    const n = u64(what);
    need(n, what);
    at += n;
    return new TextDecoder().decode(bytes.subarray(at - n, at));
  };
  need(8, 'the header');
  if (new TextDecoder().decode(bytes.subarray(0, 4)) !== 'GGUF') throw new GgufError(`${file} is not a GGUF file (it does not start with "GGUF").`);
  at = 4;
  const version = u32('the header');
  if (version !== 2 && version !== 3) throw new GgufError(`${file}: GGUF version ${version}; NextToken reads versions 2 and 3.`);
  const tensorCount = u64('the header');
  const metaCount = u64('the header');

  const value = (type: number, key: string): GgufValue => {
    const what = `the value of ${key}`;
    switch (type) {
      case 0: return (need(1, what), dv.getUint8(at++));
      case 1: return (need(1, what), dv.getInt8(at++));
      case 2: return (need(2, what), (at += 2), dv.getUint16(at - 2, true));
      case 3: return (need(2, what), (at += 2), dv.getInt16(at - 2, true));
      case 4: return u32(what);
      case 5: return (need(4, what), (at += 4), dv.getInt32(at - 4, true));
      case 6: return (need(4, what), (at += 4), dv.getFloat32(at - 4, true));
      case 7: return (need(1, what), dv.getUint8(at++) !== 0);
      case 8: return str(what);
      case 9: {
        const of = u32(what);
        const n = u64(what);
        const out: GgufValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = value(of, key);
        return out;
      }
      case 10: return (need(8, what), (at += 8), dv.getBigUint64(at - 8, true));
      case 11: return (need(8, what), (at += 8), dv.getBigInt64(at - 8, true));
      case 12: return (need(8, what), (at += 8), dv.getFloat64(at - 8, true));
      default: throw new GgufError(`${file}: metadata ${key} has value type ${type}, which GGUF does not define: the file is damaged.`);
    }
  };
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < metaCount; i++) {
    const key = str('the metadata');
    metadata.set(key, value(u32(`the type of ${key}`), key));
  }
  const infos: { name: string; ne: number[]; typeId: number; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str('the tensor table');
    const dims = u32(`the tensor info of ${name}`);
    if (dims < 1 || dims > 4) throw new GgufError(`${file}: tensor "${name}" has ${dims} dimensions; ggml tensors have 1 to 4: the file is damaged.`);
    const ne = Array.from({ length: dims }, () => u64(`the tensor info of ${name}`));
    infos.push({ name, ne, typeId: u32(`the tensor info of ${name}`), offset: u64(`the tensor info of ${name}`) });
  }
  const alignment = Number(metadata.get('general.alignment') ?? 32);
  const dataStart = Math.ceil(at / alignment) * alignment;
  const tensors = new Map<string, GgufTensor>();
  const unsupported = new Map<string, string[]>();
  for (const t of infos) {
    const type = GGML_TYPES[t.typeId] ?? `type ${t.typeId}`;
    if (!SUPPORTED.has(type)) {
      unsupported.set(type, [...(unsupported.get(type) ?? []), t.name]);
      continue;
    }
    const count = t.ne.reduce((a, b) => a * b, 1);
    const block = FILE_BLOCK[type];
    if (count % block.weights !== 0 || t.ne[0] % block.weights !== 0) throw new GgufError(`${file}: tensor "${t.name}" has rows of ${t.ne[0]} values, not whole ${type} blocks of ${block.weights}: the file is damaged.`);
    const start = dataStart + t.offset;
    const size = (count / block.weights) * block.bytes;
    if (start + size > fileSize) throw new GgufError(`${file}: tensor "${t.name}" ends at byte ${start + size} but the file has ${fileSize}: it is truncated or damaged. Download it again.`);
    tensors.set(t.name, { name: t.name, ne: t.ne, type: type as GgufTensor['type'], start, bytes: size });
  }
  if (unsupported.size) {
    const list = [...unsupported].map(([type, names]) => `${type} (${names.length} tensor${names.length === 1 ? '' : 's'}, e.g. "${names[0]}")`).join(', ');
    throw new GgufError(`${file} holds tensors of type ${list}. NextToken reads GGUF tensors of type F32, F16, Q8_0 and Q4_0: pick the Q8_0, Q4_0 or F16 file of this model.`);
  }
  return { version, metadata, tensors };
}

/** A tensor's values as float32 (F32 copied, F16 widened, Q8_0/Q4_0 dequantized), in the file's row-major order. */
export function ggufFloats(bytes: Uint8Array, t: GgufTensor): Float32Array {
  if (t.type === 'Q8_0' || t.type === 'Q4_0') return dequantize(ggufBlocks(bytes, t)); // the engine's own dequantization
  const count = t.ne.reduce((a, b) => a * b, 1);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + t.start, t.bytes);
  const out = new Float32Array(count);
  if (t.type === 'F32') for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
  else for (let i = 0; i < count; i++) out[i] = f16BitsToF32(dv.getUint16(2 * i, true));
  return out;
}

/** A Q8_0 or Q4_0 matrix's blocks as the engine keeps them (scales as float32, the quants packed apart). */
export function ggufBlocks(bytes: Uint8Array, t: GgufTensor): QuantBlocks {
  if (t.type !== 'Q8_0' && t.type !== 'Q4_0') throw new Error(`ggufBlocks: ${t.name} is ${t.type}`);
  const type: QuantType = t.type === 'Q8_0' ? 'q8_0' : 'q4_0';
  const cols = t.ne[0];
  const rows = t.ne.slice(1).reduce((a, b) => a * b, 1);
  const n = (rows * cols) / QK;
  const scales = new Float32Array(n);
  const per = type === 'q8_0' ? 32 : 16;
  const quants = type === 'q8_0' ? new Int8Array(n * 32) : new Uint8Array(n * 16);
  const src = bytes.subarray(t.start, t.start + t.bytes);
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const stride = per + 2;
  for (let b = 0; b < n; b++) {
    scales[b] = f16BitsToF32(dv.getUint16(b * stride, true));
    const q = src.subarray(b * stride + 2, b * stride + stride);
    if (type === 'q8_0') (quants as Int8Array).set(new Int8Array(q.buffer, q.byteOffset, 32), b * 32);
    else (quants as Uint8Array).set(q, b * 16);
  }
  return { type, rows, cols, scales, quants };
}
