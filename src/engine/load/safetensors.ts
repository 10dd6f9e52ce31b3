// Safetensors reader: 8-byte little-endian header length N, N bytes of JSON, then the data block.
// Every check names the file and the tensor or field at fault, and says what was expected.
import type { WeightSource } from '../model/weights.ts';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'I8';
export const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, I8: 1 };
/**
 * An I8 tensor is NextToken's int8 snapshot format (tools/train/train.py, quantize_int8): a 2-D tensor
 * stored as int8 with one scale per row in a companion tensor `<name>.scale` (F16), w = q · scale.
 */
export const INT8_SCALE_SUFFIX = '.scale';

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number; // byte offsets inside the data block
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  dataStart: number; // byte offset of the data block in the file
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

const MAX_HEADER = 100 * 1024 * 1024; // the format's own limit

/**
 * Parses and validates the header. `fileSize` is the whole file's size; `head` must hold at least
 * the first 8 + N bytes (the whole file is fine), so a large file can be validated before its data is read.
 */
export function parseHeader(head: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  if (fileSize < 8 || head.length < 8) {
    throw new SafetensorsError(file, `file is truncated: ${fileSize} bytes, but a safetensors file starts with an 8-byte header length. Download the file again.`);
  }
  const n = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  if (n === 0 || n > MAX_HEADER || 8 + n > fileSize) {
    throw new SafetensorsError(file, `bad header length ${n}: the file has ${fileSize} bytes, so the JSON header must be 1..${Math.min(MAX_HEADER, fileSize - 8)} bytes. Is this a safetensors file?`);
  }
  if (head.length < 8 + n) throw new SafetensorsError(file, `need the first ${8 + n} bytes to read the header, got ${head.length}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(8, 8 + n)));
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid JSON (${(e as Error).message}). The file is damaged; download it again.`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new SafetensorsError(file, 'header must be a JSON object of tensors');
  const dataStart = 8 + n;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info?.dtype !== 'string' || !(info.dtype in DTYPE_BYTES)) {
      throw new SafetensorsError(file, `tensor "${name}" has dtype ${JSON.stringify(info?.dtype)}; NextToken reads F32, F16, BF16 and its own int8 snapshots (I8)`);
    }
    const dtype = info.dtype as SafetensorsDtype;
    if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `tensor "${name}" has an invalid shape ${JSON.stringify(info.shape)}`);
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new SafetensorsError(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const shape = info.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end < begin || end - begin !== expected) {
      throw new SafetensorsError(file, `tensor "${name}" spans bytes ${begin}..${end} (${end - begin} bytes), but shape [${shape}] of ${dtype} needs ${expected} bytes`);
    }
    if (end > dataSize) {
      throw new SafetensorsError(file, `tensor "${name}" ends at byte ${end} of the data block, which is only ${dataSize} bytes: the file is truncated or damaged. Download it again.`);
    }
    tensors.set(name, { name, dtype, shape, begin, end });
  }
  return { file, dataStart, tensors, metadata };
}

/** Converts one tensor's bytes (as stored) to float32. */
export function toFloat32(bytes: Uint8Array, dtype: Exclude<SafetensorsDtype, 'I8'>): Float32Array {
  // Typed arrays need aligned offsets; a tensor may start at any byte in the file, so copy only then.
  const width = dtype === 'F32' ? 4 : 2;
  const aligned = bytes.byteOffset % width === 0 ? bytes : bytes.slice();
  if (dtype === 'F32') return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4).slice();
  const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2);
  const out = new Float32Array(halves.length);
  if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16; // bf16 is the top half of an f32
    return out;
  }
  for (let i = 0; i < halves.length; i++) out[i] = f16ToF32(halves[i]);
  return out;
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Reads a tensor out of a whole file held in memory. */
export function readTensor(file: Uint8Array, header: SafetensorsHeader, name: string): Float32Array {
  const t = header.tensors.get(name);
  if (!t) throw new SafetensorsError(header.file, `tensor "${name}" is missing`);
  const bytes = file.subarray(header.dataStart + t.begin, header.dataStart + t.end);
  if (t.dtype !== 'I8') return toFloat32(bytes, t.dtype);
  const s = header.tensors.get(name + INT8_SCALE_SUFFIX);
  const rows = t.shape[0] ?? 0;
  if (t.shape.length !== 2 || !s || s.dtype === 'I8' || s.shape.length !== 1 || s.shape[0] !== rows) {
    throw new SafetensorsError(header.file, `int8 tensor "${name}" [${t.shape}] needs a float scale per row, "${name}${INT8_SCALE_SUFFIX}" of shape [${rows}]${s ? `, not [${s.shape}] ${s.dtype}` : ', which is missing'}`);
  }
  return dequantizeRows(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length), toFloat32(file.subarray(header.dataStart + s.begin, header.dataStart + s.end), s.dtype));
}

/** w[r][c] = q[r][c] · scale[r]: int8 rows back to float32. */
export function dequantizeRows(q: Int8Array, scale: Float32Array): Float32Array {
  const cols = q.length / scale.length;
  const out = new Float32Array(q.length);
  for (let r = 0; r < scale.length; r++) {
    const sr = scale[r];
    for (let c = r * cols; c < (r + 1) * cols; c++) out[c] = q[c] * sr;
  }
  return out;
}

export type { WeightSource }; // defined beside the model code that reads it (model/ knows nothing of load/)

/** A WeightSource over whole safetensors files held in memory (one, or several shards). */
export function memoryWeights(files: { name: string; bytes: Uint8Array }[]): WeightSource {
  const where = new Map<string, { bytes: Uint8Array; header: SafetensorsHeader }>();
  for (const f of files) {
    const header = parseHeader(f.bytes, f.bytes.length, f.name);
    for (const name of header.tensors.keys()) where.set(name, { bytes: f.bytes, header });
  }
  return {
    describe: (name) => where.get(name)?.header.file ?? files.map((f) => f.name).join(', '),
    shape: (name) => where.get(name)?.header.tensors.get(name)?.shape,
    read: (name) => {
      const w = where.get(name);
      if (!w) throw new SafetensorsError(files.map((f) => f.name).join(', '), `tensor "${name}" is missing`);
      return readTensor(w.bytes, w.header, name);
    },
  };
}

/**
 * Reads a safetensors file as it streams in and hands over each tensor (as float32) as soon as its
 * bytes have arrived, keeping at most one tensor's bytes: a model can be uploaded while it downloads,
 * and the file itself is never held whole. Tensors come in file order.
 */
export async function streamTensors(
  stream: ReadableStream<Uint8Array>,
  fileSize: number,
  file: string,
  onTensor: (entry: TensorEntry, data: Float32Array) => void,
  onBytes?: (loaded: number) => void,
): Promise<SafetensorsHeader> {
  const reader = stream.getReader();
  const queue: Uint8Array[] = [];
  let queued = 0;
  let loaded = 0;
  /** Exactly n bytes from the stream (n may be 0). */
  const take = async (n: number): Promise<Uint8Array> => {
    while (queued < n) {
      const { done, value } = await reader.read();
      if (done) throw new SafetensorsError(file, `file is truncated: the stream ended after ${loaded} of ${fileSize} bytes. Download it again.`);
      queue.push(value);
      queued += value.length;
      loaded += value.length;
      onBytes?.(loaded);
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const head = queue[0];
      const k = Math.min(head.length, n - o);
      out.set(head.subarray(0, k), o);
      o += k;
      if (k === head.length) queue.shift();
      else queue[0] = head.subarray(k);
    }
    queued -= n;
    return out;
  };
  const eight = await take(8);
  const n = Number(new DataView(eight.buffer).getBigUint64(0, true));
  if (n === 0 || n > MAX_HEADER || 8 + n > fileSize) parseHeader(eight, fileSize, file); // throws the specific message
  const head = new Uint8Array(8 + n);
  head.set(eight);
  head.set(await take(n), 8);
  const header = parseHeader(head, fileSize, file);
  let pos = 0;
  // An int8 tensor's row scales, kept until the tensor itself arrives (they must come first in the file).
  const scales = new Map<string, Float32Array>();
  for (const entry of [...header.tensors.values()].sort((a, b) => a.begin - b.begin)) {
    if (entry.begin < pos) throw new SafetensorsError(file, `tensor "${entry.name}" overlaps the tensor before it`);
    await take(entry.begin - pos);
    const bytes = await take(entry.end - entry.begin); // a fresh, aligned buffer: F32 needs no copy
    pos = entry.end;
    if (entry.dtype === 'I8') {
      const scale = scales.get(entry.name);
      const rows = entry.shape[0] ?? 0;
      if (entry.shape.length !== 2 || !scale || scale.length !== rows) {
        throw new SafetensorsError(file, `int8 tensor "${entry.name}" [${entry.shape}] needs its float scale per row, "${entry.name}${INT8_SCALE_SUFFIX}" of shape [${rows}], earlier in the file (to be read as it streams)`);
      }
      scales.delete(entry.name);
      onTensor(entry, dequantizeRows(new Int8Array(bytes.buffer, 0, bytes.length), scale));
      continue;
    }
    const data = entry.dtype === 'F32' ? new Float32Array(bytes.buffer, 0, bytes.length / 4) : toFloat32(bytes, entry.dtype);
    const scaled = entry.name.endsWith(INT8_SCALE_SUFFIX) ? entry.name.slice(0, -INT8_SCALE_SUFFIX.length) : null;
    if (scaled !== null && header.tensors.get(scaled)?.dtype === 'I8') scales.set(scaled, data);
    else onTensor(entry, data);
  }
  await take(fileSize - header.dataStart - pos);
  reader.releaseLock();
  return header;
}
