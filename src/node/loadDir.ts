// Reads a Hugging Face model folder from disk (the CLI and tests). Node only.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ggufModelFiles } from '../engine/load/ggufModel.ts';
import { buildModel, type BuildOptions, type LoadedModel, type ModelFiles } from '../engine/load/load.ts';
import { memoryWeights } from '../engine/load/safetensors.ts';
import { parseCheckpointIndex, snapshotOf, type CheckpointIndex } from '../engine/tools/checkpoints.ts';

function readJson(dir: string, file: string): unknown {
  const path = join(dir, file);
  if (!existsSync(path)) throw new Error(`${path} is missing: a model folder needs config.json, tokenizer.json, tokenizer_config.json and model.safetensors`);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(path)));
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export function readModelDir(dir: string): ModelFiles {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`Model folder "${dir}" does not exist.`);
  const index = join(dir, 'model.safetensors.index.json');
  const shardNames = existsSync(index)
    ? [...new Set(Object.values((readJson(dir, 'model.safetensors.index.json') as { weight_map: Record<string, string> }).weight_map))]
    : ['model.safetensors'];
  const shards = shardNames.map((name) => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new Error(`${path} is missing`);
    return { name: path, bytes: new Uint8Array(readFileSync(path)) };
  });
  return {
    name: dir.replace(/\/+$/, '').split('/').pop() ?? dir,
    config: readJson(dir, 'config.json'),
    tokenizer: readJson(dir, 'tokenizer.json'),
    tokenizerConfig: readJson(dir, 'tokenizer_config.json') as Record<string, unknown>,
    generationConfig: existsSync(join(dir, 'generation_config.json')) ? (readJson(dir, 'generation_config.json') as Record<string, unknown>) : undefined,
    weights: memoryWeights(shards),
    weightBytes: shards.reduce((s, f) => s + f.bytes.length, 0),
  };
}

/** A .gguf file's model files (the whole file read into memory once). */
export function readGgufFile(path: string): ModelFiles {
  return ggufModelFiles(basename(path), new Uint8Array(readFileSync(path)));
}

export function loadModelDir(dir: string, opts: BuildOptions = {}): LoadedModel {
  return buildModel(readModelDir(dir), opts);
}

/** The folder's training snapshots (checkpoints.json), or null when it has none. */
export function readCheckpointIndex(dir: string): CheckpointIndex | null {
  return existsSync(join(dir, 'checkpoints.json')) ? parseCheckpointIndex(readJson(dir, 'checkpoints.json'), join(dir, 'checkpoints.json')) : null;
}

/** The model `lm` (loaded from `dir`) with the weights of its training snapshot at `step`. */
export function loadSnapshot(lm: LoadedModel, dir: string, step: number): LoadedModel {
  const index = readCheckpointIndex(dir);
  if (!index) throw new Error(`${dir} has no training snapshots (checkpoints.json); only the embedded model ships them.`);
  const point = index.checkpoints.find((p) => p.step === step);
  if (!point) throw new Error(`${dir} has no snapshot at step ${step}; it has steps ${index.checkpoints.map((p) => p.step).join(', ')}.`);
  if (point.file === 'model.safetensors') return lm;
  lm.model.dispose();
  return snapshotOf(lm, point.file, new Uint8Array(readFileSync(join(dir, point.file))));
}
