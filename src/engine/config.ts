// Model configuration, read from a Hugging Face `config.json`.

export interface GPT2Config {
  modelType: 'gpt2';
  vocabSize: number;
  contextLength: number; // n_positions
  nEmbd: number;
  nLayer: number;
  nHead: number;
  layerNormEpsilon: number;
  eosTokenId: number | null;
}

export type ModelConfig = GPT2Config;

export const SUPPORTED_MODEL_TYPES = ['gpt2'] as const;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function positiveInt(json: Record<string, unknown>, key: string, file: string): number {
  const v = json[key];
  if (!Number.isInteger(v) || (v as number) <= 0) {
    throw new ConfigError(`${file}: "${key}" must be a positive whole number, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!json || typeof json !== 'object') throw new ConfigError(`${file}: expected a JSON object`);
  const c = json as Record<string, unknown>;
  const type = c.model_type;
  if (type !== 'gpt2') {
    throw new ConfigError(
      `${file}: model_type ${JSON.stringify(type)} is not supported. NextToken runs decoder-only models of these types: ${SUPPORTED_MODEL_TYPES.join(', ')}.`,
    );
  }
  const act = c.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
    throw new ConfigError(`${file}: activation_function "${String(act)}" is not supported (GPT-2 uses the tanh GELU, "gelu_new")`);
  }
  const cfg: GPT2Config = {
    modelType: 'gpt2',
    vocabSize: positiveInt(c, 'vocab_size', file),
    contextLength: positiveInt(c, 'n_positions', file),
    nEmbd: positiveInt(c, 'n_embd', file),
    nLayer: positiveInt(c, 'n_layer', file),
    nHead: positiveInt(c, 'n_head', file),
    layerNormEpsilon: typeof c.layer_norm_epsilon === 'number' ? c.layer_norm_epsilon : 1e-5,
    eosTokenId: Number.isInteger(c.eos_token_id) ? (c.eos_token_id as number) : null,
  };
  if (cfg.nEmbd % cfg.nHead !== 0) throw new ConfigError(`${file}: n_embd (${cfg.nEmbd}) must be divisible by n_head (${cfg.nHead})`);
  return cfg;
}
