// The weights of a model whose safetensors files were streamed: each tensor was handed to the backend
// as its bytes arrived (see the Hub loader), so the model takes handles instead of reading floats.
import { streamTensors, type WeightSource } from './safetensors.ts';

/** A WeightSource over tensors handed over while streaming: shapes from the headers, data already uploaded. */
export class StreamedWeights implements WeightSource {
  private readonly entries = new Map<string, { file: string; shape: number[] }>();
  private readonly handles = new Map<string, unknown>();

  async add(file: string, body: ReadableStream<Uint8Array>, size: number, onTensor: (name: string, shape: number[], data: Float32Array) => unknown, onBytes: (n: number) => void): Promise<void> {
    await streamTensors(body, size, file, (entry, data) => {
      this.entries.set(entry.name, { file, shape: entry.shape });
      this.handles.set(entry.name, onTensor(entry.name, entry.shape, data));
    }, onBytes);
  }
  describe(name: string): string {
    return this.entries.get(name)?.file ?? [...new Set([...this.entries.values()].map((e) => e.file))].join(', ');
  }
  shape(name: string): number[] | undefined {
    return this.entries.get(name)?.shape;
  }
  read(name: string): Float32Array {
    throw new Error(`${this.describe(name)}: tensor "${name}" was streamed to the backend and can be taken only once`);
  }
  take(name: string): unknown {
    const h = this.handles.get(name);
    this.handles.delete(name);
    return h;
  }
  /** The load failed: every handle made so far is released. */
  discardAll(discard?: (handle: unknown) => void): void {
    for (const h of this.handles.values()) discard?.(h);
    this.handles.clear();
  }
  leftovers(): unknown[] {
    const rest = [...this.handles.values()];
    this.handles.clear();
    return rest;
  }
}
