// Training snapshots: the same training run saved at a few points (the untrained network, then early,
// middle, late, and the final model), so a learner can run one prompt through each and watch the model
// go from noise to words to facts. `checkpoints.json` next to the model lists them with their point on
// the loss curve; the snapshots are int8 safetensors (see safetensors.ts), the final one is the model.
import { generate } from '../generate/generate.ts';
import { modelFor, type LoadedModel } from '../load/load.ts';
import { memoryWeights } from '../load/safetensors.ts';
import type { SamplingSettings } from '../../sampling/sampler.ts';
import { readCharacters, type CharacterReading } from './characters.ts';
import { unpackTop } from '../../sampling/topColumns.ts';

export interface CheckpointPoint {
  step: number;
  file: string; // relative to the model folder; the last point's is model.safetensors
  dtype: 'int8' | 'F16';
  share: number; // step / totalSteps
  tokens: number; // training tokens seen by then
  trainLoss: number | null; // smoothed training loss (null before the first step)
  valLoss: number; // validation loss, nats per token, both languages
  byLanguage: Record<string, { valLoss: number; valBitsPerByte: number }>;
  bytes: number;
}

export interface CheckpointIndex {
  totalSteps: number;
  checkpoints: CheckpointPoint[];
}

/** Reads checkpoints.json, saying what is wrong with it if anything is. */
export function parseCheckpointIndex(json: unknown, where: string): CheckpointIndex {
  const idx = json as Partial<CheckpointIndex> | null;
  if (!idx || !Number.isInteger(idx.totalSteps) || !Array.isArray(idx.checkpoints) || !idx.checkpoints.length) {
    throw new Error(`${where} must be {"totalSteps": n, "checkpoints": [...]} with at least one checkpoint.`);
  }
  let last = -1;
  for (const p of idx.checkpoints) {
    if (!Number.isInteger(p?.step) || p.step <= last || typeof p.file !== 'string' || typeof p.valLoss !== 'number') {
      throw new Error(`${where}: each checkpoint needs a step (increasing), a file and a valLoss; found ${JSON.stringify(p)}.`);
    }
    if (p.file.includes('..') || p.file.startsWith('/')) throw new Error(`${where}: checkpoint file "${p.file}" must be inside the model folder.`);
    last = p.step;
  }
  return idx as CheckpointIndex;
}

/** The same model (config, tokenizer) with a snapshot's weights. */
export function snapshotOf(lm: LoadedModel, file: string, bytes: Uint8Array): LoadedModel {
  const weights = memoryWeights([{ name: file, bytes }]);
  return { ...lm, name: `${lm.name} @ ${file}`, model: modelFor(lm.config, weights, lm.model.dtype), weightBytes: bytes.length };
}

export interface CheckpointPrediction {
  step: number;
  share: number;
  tokens: number;
  valLoss: number;
  trainLoss: number | null;
  /** The next-token distribution after the prompt (raw, T = 1): its top tokens; one that is part of a character, read on to that character. */
  top: { id: number; token: string; prob: number; character?: CharacterReading }[];
  entropy: number; // bits, of that distribution
  /** A continuation drawn at the given settings and seed (greedy at temperature 0). */
  sampleIds: number[];
  sample: string;
}

/** What one checkpoint predicts after `promptIds`: its next-token distribution and a continuation. */
export async function predictAt(lm: LoadedModel, point: CheckpointPoint, promptIds: number[], settings: SamplingSettings, seed: number, maxTokens: number, topN = 8): Promise<CheckpointPrediction> {
  const sampleIds: number[] = [];
  let first: Pick<CheckpointPrediction, 'top' | 'entropy'> | null = null;
  lm.model.truncate(0);
  try {
    for await (const s of generate(lm, promptIds, { ...settings, seed, maxTokens, topN })) {
      first ??= { top: unpackTop(s.top).map((c) => ({ id: c.id, token: lm.tokenizer.tokenLabel(c.id), prob: c.rawProb })), entropy: s.entropy };
      if (lm.eosIds.includes(s.id)) break;
      sampleIds.push(s.id);
    }
  } finally {
    lm.model.truncate(0);
  }
  if (!first) throw new Error('maxTokens must be at least 1 to see a prediction.');
  const characters = await readCharacters(lm, promptIds, first.top.map((c) => c.id));
  first.top = first.top.map((c) => (characters[c.id] ? { ...c, character: characters[c.id] } : c));
  return { step: point.step, share: point.share, tokens: point.tokens, valLoss: point.valLoss, trainLoss: point.trainLoss, ...first, sampleIds, sample: lm.tokenizer.decode(sampleIds, true) };
}
