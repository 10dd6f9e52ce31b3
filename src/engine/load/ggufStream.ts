// A GGUF file read as it arrives (a download, or a cache), never held whole: the header is parsed once its bytes
// are in, then each tensor's bytes are gathered into a buffer of that tensor's size and, as soon as they are
// complete, put where the engine keeps them: a Q8_0/Q4_0 matrix into the quantized memory the model will own
// (a QuantArena, which the model adopts when it runs at the file's precision), the rest as floats. The raw bytes
// go at once. The engine takes each tensor once (TensorStore.take), so nothing it has moved into its own memory is
// held here as well: at the file's precision the weights are in memory once, in the engine's form (at another
// precision the file's blocks are held until the model is built from them, then released).
import { ggufBlocks, GgufError, ggufFloats, GgufHeaderIncomplete, parseGguf, type GgufFile, type GgufTensor } from './gguf.ts';
import { inEngineOrder } from './ggufRows.ts';
import { QuantArena, type QuantBlocks, type QuantMatrix } from '../runtime/quant.ts';

/** A tensor as the engine keeps it, in its row order: blocks (or a matrix already in an arena) when quantized, else floats. */
export type TensorValue = QuantBlocks | QuantMatrix | Float32Array;

/** Where a GGUF's tensors come from: the whole file in memory, or what a stream left (each taken once). */
export interface TensorStore {
  /** The tensor's value; a streamed store hands each tensor over once (a second ask is an error, not a copy). */
  take(t: GgufTensor): TensorValue;
  /** Where a streamed file's quantized matrices already are (null: nowhere yet, the model makes its own). */
  readonly arena: QuantArena | null;
  /** The model is built: what it did not take (and an arena it did not adopt) is let go. */
  release(): void;
}

/** Over the file's bytes, all in memory (the CLI, or a cached copy read whole): nothing to hand over. */
export function bytesStore(gguf: GgufFile, bytes: Uint8Array): TensorStore {
  return { arena: null, release: () => {}, take: (t) => inEngineOrder(gguf, t, t.type === 'Q8_0' || t.type === 'Q4_0' ? ggufBlocks(bytes, t) : ggufFloats(bytes, t)) };
}

/**
 * Reads a GGUF from `body` (`size` bytes in all), reporting bytes as they arrive. Throws GgufError for a file
 * that is not a GGUF, holds a type it cannot read, or ends early.
 */
export async function readGgufStream(body: ReadableStream<Uint8Array>, size: number, file: string, onBytes?: (loaded: number) => void, signal?: AbortSignal): Promise<{ gguf: GgufFile; store: TensorStore }> {
  const reader = body.getReader();
  try {
    return await read(reader, size, file, onBytes, signal);
  } catch (e) {
    await reader.cancel(e).catch(() => {}); // refused or cancelled: the download (or the cache's file) is let go at once
    throw e;
  }
}

/** The stream ended before the file did: a download cut short or a damaged copy, not a malformed file. */
export class GgufTruncated extends GgufError {}

async function read(reader: ReadableStreamDefaultReader<Uint8Array>, size: number, file: string, onBytes?: (loaded: number) => void, signal?: AbortSignal): Promise<{ gguf: GgufFile; store: TensorStore }> {
  let loaded = 0;
  // The header: gathered until it parses. Parsed again only when what has arrived has doubled (its metadata, a
  // tokenizer's whole vocabulary, can be megabytes): a few tries, not one per chunk.
  let head = new Uint8Array(Math.min(size, 1 << 16));
  let headLength = 0;
  let nextTry = Math.min(size, 1 << 16);
  let gguf: GgufFile | null = null;
  const values = new Map<string, TensorValue>();
  let arena: QuantArena | null = null; // made at the first quantized tensor
  let order: GgufTensor[] = [];
  let next = 0; // the next tensor (in file order) to complete
  let buffer: Uint8Array | null = null; // its bytes so far
  let filled = 0;

  // Hands file bytes [from, from + chunk.length) to the tensors they belong to.
  const feed = (chunk: Uint8Array, from: number) => {
    let i = 0;
    while (i < chunk.length && next < order.length) {
      const t = order[next];
      const pos = from + i;
      if (pos < t.start) {
        i += Math.min(chunk.length - i, t.start - pos); // alignment padding between tensors
        continue;
      }
      buffer ??= new Uint8Array(t.bytes);
      const n = Math.min(chunk.length - i, t.bytes - filled);
      buffer.set(chunk.subarray(i, i + n), filled);
      filled += n;
      i += n;
      if (filled === t.bytes) {
        const local = { ...t, start: 0 };
        if (t.type === 'Q8_0' || t.type === 'Q4_0') values.set(t.name, (arena ??= new QuantArena()).add(inEngineOrder(gguf!, t, ggufBlocks(buffer, local))));
        else values.set(t.name, inEngineOrder(gguf!, t, ggufFloats(buffer, local)));
        buffer = null;
        filled = 0;
        next++;
      }
    }
  };

  // Parses the header from what has arrived; false while it runs past that.
  const tryHeader = (): boolean => {
    try {
      gguf = parseGguf(head.subarray(0, headLength), file, size);
    } catch (e) {
      if (e instanceof GgufHeaderIncomplete) return false;
      throw e;
    }
    order = [...gguf.tensors.values()].sort((a, b) => a.start - b.start);
    feed(head.subarray(0, headLength), 0); // the first tensors' bytes may have come with the header
    head = new Uint8Array(0);
    return true;
  };

  for (;;) {
    if (signal?.aborted) throw new DOMException('The load was cancelled.', 'AbortError');
    const { done, value } = await reader.read();
    if (done) break;
    const from = loaded;
    loaded += value.length;
    if (loaded > size) throw new GgufError(`${file} is longer than the ${size} bytes announced: the download is damaged. Load it again.`);
    onBytes?.(loaded);
    if (gguf) {
      feed(value, from);
      continue;
    }
    if (headLength + value.length > head.length) {
      const grown = new Uint8Array(Math.min(size, Math.max(2 * head.length, headLength + value.length)));
      grown.set(head.subarray(0, headLength));
      head = grown;
    }
    head.set(value, headLength);
    headLength += value.length;
    if (headLength < nextTry && headLength < size) continue;
    if (!tryHeader()) nextTry = Math.min(size, 2 * headLength);
  }
  if (!gguf && headLength) tryHeader(); // the stream ended before the next try: what did arrive, parsed
  if (!gguf || next < order.length || loaded !== size) {
    const where = !gguf ? 'inside its header' : next < order.length ? `inside tensor "${order[next].name}"` : 'after its last tensor';
    throw new GgufTruncated(`${file}: the file ends at byte ${loaded} ${where} (${size} bytes were announced): it is truncated or damaged. Download it again.`);
  }
  const store = {
    arena: arena as QuantArena | null,
    release: () => {
      values.clear();
      store.arena = null;
    },
    take: (t: GgufTensor): TensorValue => {
      const v = values.get(t.name);
      if (!v) throw new Error(`${file}: tensor "${t.name}" was handed to the engine already (a streamed GGUF keeps no copy)`);
      values.delete(t.name);
      return v;
    },
  };
  return { gguf, store };
}
