// Loading weights into a model, shared by every architecture: each tensor is checked against the
// shape the config implies, uploaded one at a time, and remembered, so that the model can free all
// of them at once and a load that fails part-way frees what it had already uploaded.
import * as tf from '@tensorflow/tfjs';
import { uploadNow } from '../runtime/backend.ts';
import { expectShape } from './model.ts';

/** Where a model's weights come from: one file in memory, shards, or a stream (see the Hub loader). */
export interface WeightSource {
  describe(name: string): string; // "model.safetensors" — for error messages
  shape(name: string): number[] | undefined;
  read(name: string): Float32Array;
  /** A streaming loader's already-uploaded tensor for `name` (the model then owns it), if there is one. */
  take?(name: string): unknown;
  /** Handles nobody took (tensors the model does not use), for the loader to release. */
  leftovers?(): unknown[];
}

export class WeightReader {
  params = 0;
  private readonly held = new Set<tf.Tensor>();

  constructor(
    private readonly src: WeightSource,
    private readonly prefix = '',
  ) {}

  /** One tensor from the file, checked and uploaded (or the one already streamed to the backend). */
  read(name: string, shape: number[]): tf.Tensor {
    const full = this.prefix + name;
    expectShape(full, this.src.shape(full), shape, this.src.describe(full));
    this.params += shape.reduce((a, b) => a * b, 1);
    return this.own((this.src.take?.(full) as tf.Tensor | undefined) ?? uploadNow(tf.tensor(this.src.read(full), shape)));
  }

  /** Whether the file has this tensor (for weights an architecture may or may not carry, such as Qwen2's q/k/v biases). */
  has(name: string): boolean {
    return this.src.shape(this.prefix + name) !== undefined;
  }

  /** A tensor computed at load time (a transpose, a split, a table): kept with the weights. */
  own<T extends tf.Tensor>(t: T): T {
    this.held.add(tf.keep(t));
    return t;
  }

  /** Frees a tensor that served only to compute others (the untransposed original). */
  release(t: tf.Tensor): void {
    this.held.delete(t);
    t.dispose();
  }

  /** Every tensor the model holds. */
  tensors(): tf.Tensor[] {
    return [...this.held];
  }

  /** Frees everything read so far. */
  abandon(): void {
    for (const t of this.held) if (!t.isDisposed) t.dispose();
    this.held.clear();
  }
}

/** Runs `build` with a reader; if it throws, every tensor it uploaded is freed before the error goes on. */
export function loadWeights<T>(src: WeightSource, prefix: string, build: (r: WeightReader) => T): T {
  const reader = new WeightReader(src, prefix);
  try {
    return build(reader);
  } catch (e) {
    reader.abandon();
    throw e;
  }
}
