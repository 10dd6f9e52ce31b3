// Builds a runnable model (weights + tokenizer) from the files of a Hugging Face model folder,
// wherever they came from: the disk (CLI), the app's bundled models, or the Hub cache.
import { ConfigError, isLlamaLayout, parseConfig, type ModelConfig } from '../model/config.ts';
import { GPT2 } from '../model/gpt2.ts';
import { Llama } from '../model/llama.ts';
import type { LanguageModel } from '../model/model.ts';
import type { WeightDType } from '../runtime/quant.ts';
import type { WeightSource } from './safetensors.ts';
import { Tokenizer } from './tokenizer.ts';

export interface ModelFiles {
  name: string;
  config: unknown;
  tokenizer: unknown;
  tokenizerConfig: Record<string, unknown>;
  generationConfig?: Record<string, unknown>;
  weights: WeightSource;
  weightBytes: number;
}

export interface LoadedModel {
  name: string;
  config: ModelConfig;
  model: LanguageModel;
  tokenizer: Tokenizer;
  /** Generation stops at any of these. */
  eosIds: number[];
  /** The precision of the weights in the file it was built from (a quantized GGUF's type; f32 for safetensors). */
  sourceDType: WeightDType;
  weightBytes: number;
}

/** The network for a config, its weights read from `weights`. */
export function modelFor(config: ModelConfig, weights: WeightSource, asked?: WeightDType): LanguageModel {
  const dtype = asked ?? weights.nativeDType ?? 'f32'; // a quantized GGUF stays as it is unless asked otherwise
  return isLlamaLayout(config) ? Llama.load(config, weights, dtype) : GPT2.load(config, weights, dtype);
}

/** How to build: `dtype` quantizes the weight matrices on load (f32: float32; unset: as the file holds them). */
export interface BuildOptions {
  dtype?: WeightDType;
}

export function buildModel(files: ModelFiles, opts: BuildOptions = {}): LoadedModel {
  const config = parseConfig(files.config);
  const tokenizer = Tokenizer.fromJSON(files.tokenizer, files.tokenizerConfig);
  // A tokenizer may have fewer tokens than the embedding table (padded vocabularies), never more.
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new ConfigError(
      `${files.name}: tokenizer.json has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${config.vocabSize}, so token ids ${config.vocabSize} to ${tokenizer.vocabSize - 1} have no embedding. The tokenizer and the weights come from different models.`,
    );
  }
  let model: ReturnType<typeof modelFor>;
  try {
    model = modelFor(config, files.weights, opts.dtype);
  } finally {
    files.weights.release?.(); // a streamed file's leftovers go now, not when the files object is collected
  }
  const eos = new Set<number>();
  for (const v of [config.eosTokenId, files.generationConfig?.eos_token_id, tokenizer.eosId].flat()) {
    if (Number.isInteger(v)) eos.add(v as number);
  }
  return { name: files.name, config, model, tokenizer, eosIds: [...eos], weightBytes: files.weightBytes, sourceDType: files.weights.nativeDType ?? 'f32' };
}
