// The loaded model's relatives, built on first use and kept with it: its training snapshots (Checkpoints),
// its fine-tuning sibling (Before/after, Ask both) and itself at other precisions (Precision). A new model, a
// new backend or a lost device lets them all go (`forget`, `lose`).
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../engine/load/load.ts';
import { fetchBytes } from '../engine/load/fetchModel.ts';
import { WEIGHT_DTYPES, type WeightDType } from '../engine/runtime/quant.ts';
import { predictAt, snapshotOf } from '../engine/tools/checkpoints.ts';
import { compareBeforeAfter, chatIds } from '../engine/tools/finetune.ts';
import { comparePrecisions, type PrecisionComparison } from '../engine/tools/precision.ts';
import { loadSource, type LoadedSource } from './loadSource.ts';
import type { BeforeAfterArgs, Jobs, ModelSource, PrecisionArgs } from './protocol.ts';

/** What the relatives need of the worker: the model loaded now, where it came from, and its snapshots. */
export interface RelativesHost {
  need(): LoadedModel;
  source(): ModelSource | null;
  snapshots(): LoadedSource['snapshots'];
}

export class Relatives {
  private readonly snapshotModels = new Map<number, LoadedModel>();
  private sibling: { key: string; lm: LoadedModel } | null = null;
  private readonly precisionModels = new Map<WeightDType, LoadedModel>();

  constructor(private readonly host: RelativesHost) {}

  /** The prompt through each training snapshot, oldest first; the last one is the loaded model itself. */
  async checkpoints(a: Jobs['checkpoints']['args'], signal: AbortSignal): Promise<Jobs['checkpoints']['result']> {
    const m = this.host.need();
    const snapshots = this.host.snapshots();
    if (!snapshots) throw new Error(`${m.name} has no training snapshots: only a model trained by this project (the embedded one) ships them.`);
    const predictions = [];
    for (const point of snapshots.index.checkpoints) {
      if (signal.aborted) throw new Error('Cancelled: a new model is loading.');
      let at = point.file === 'model.safetensors' ? m : this.snapshotModels.get(point.step);
      if (!at) {
        at = snapshotOf(m, point.file, await fetchBytes(snapshots.baseUrl + point.file, undefined, signal));
        this.snapshotModels.set(point.step, at);
      }
      predictions.push(await predictAt(at, point, a.promptIds, a.settings, a.seed, a.maxTokens));
    }
    return { totalSteps: snapshots.index.totalSteps, predictions };
  }

  /** The loaded model's fine-tuning sibling, loaded on first use onto the same backend and kept with it. */
  async siblingOf(source: ModelSource): Promise<LoadedModel> {
    // At the loaded model's precision: a comparison of fine-tuning must not also measure quantization.
    const dtype = this.host.need().model.dtype;
    const key = JSON.stringify([source, dtype]);
    if (this.sibling?.key !== key) {
      this.sibling?.lm.model.dispose();
      this.sibling = null;
      // Small models only (the shipped pair): holding both costs at most twice the loaded one's memory.
      const next = await loadSource(source, tf.getBackend(), { onWarning: () => {}, dtype });
      this.sibling = { key, lm: next.lm };
    }
    return this.sibling.lm;
  }

  /** Both models' next-token distributions at one step: the loaded one and its fine-tuning sibling. */
  async beforeAfter(a: BeforeAfterArgs): Promise<Jobs['beforeAfter']['result']> {
    const m = this.host.need();
    const other = await this.siblingOf(a.other);
    const otherIds = a.chat ? [...chatIds(other, a.chat.messages), ...a.chat.replyIds] : a.contextIds;
    const [base, tuned] = a.otherIs === 'base' ? [other, m] : [m, other];
    const [baseIds, tunedIds] = a.otherIs === 'base' ? [otherIds, a.contextIds] : [a.contextIds, otherIds];
    return compareBeforeAfter(base, tuned, baseIds, tunedIds, a.chosenId);
  }

  /** The loaded model at every precision, side by side at one step. */
  async precision(a: PrecisionArgs): Promise<PrecisionComparison> {
    const models = [];
    for (const dtype of WEIGHT_DTYPES) models.push({ dtype, lm: await this.atPrecision(dtype) });
    return comparePrecisions(models, a.contextIds, a.chosenId, a.promptIds, a.greedyTokens);
  }

  /** The loaded model at `dtype`: itself, or built from its files again, quantized on load, and kept with it. */
  private async atPrecision(dtype: WeightDType): Promise<LoadedModel> {
    const m = this.host.need();
    if (m.model.dtype === dtype) return m;
    let other = this.precisionModels.get(dtype);
    if (!other) {
      const source = this.host.source();
      if (!source) throw new Error('No model is loaded.');
      other = (await loadSource(source, tf.getBackend(), { onWarning: () => {}, dtype })).lm;
      this.precisionModels.set(dtype, other);
    }
    return other;
  }

  /** Frees the other precisions (they are rebuilt on demand): before a load, so it holds at most the old model and the new. */
  forgetPrecisions(): void {
    for (const p of this.precisionModels.values()) p.model.dispose();
    this.precisionModels.clear();
  }

  /** A new model (or a new backend): every relative is freed. */
  forget(): void {
    this.forgetPrecisions();
    for (const s of this.snapshotModels.values()) s.model.dispose();
    this.snapshotModels.clear();
    this.sibling?.lm.model.dispose();
    this.sibling = null;
  }

  /** The device they lived on is lost: nothing to free, nothing left to compute with. */
  lose(): void {
    this.snapshotModels.clear();
    this.sibling = null;
    this.precisionModels.clear();
  }
}
