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

/** The Llama layout and its relatives: Qwen2 (q/k/v biases) and Qwen3 (RMSNorm on each head's q and k, an explicit head_dim). */
export interface LlamaConfig {
  modelType: 'llama' | 'qwen2' | 'qwen3';
  vocabSize: number;
  /** max_position_embeddings, capped at MAX_CONTEXT: the KV cache is allocated at this length. */
  contextLength: number;
  /** What config.json declares, before the cap. */
  declaredContextLength: number;
  nEmbd: number; // hidden_size
  nLayer: number;
  nHead: number;
  nKvHead: number; // num_key_value_heads: grouped-query attention when < nHead
  headDim: number;
  intermediateSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  /** Biases on q_proj, k_proj, v_proj, o_proj (Llama's attention_bias). */
  attentionBias: boolean;
  /** Biases on q_proj, k_proj and v_proj only, o_proj without (Qwen2). */
  qkvBias: boolean;
  /** An RMSNorm over each head's query and key, after the projection and before the rotary embedding (Qwen3). */
  qkNorm: boolean;
  mlpBias: boolean;
  eosTokenId: number | number[] | null;
}

export type ModelConfig = GPT2Config | LlamaConfig;

export const SUPPORTED_MODEL_TYPES = ['gpt2', 'llama', 'qwen2', 'qwen3'] as const;

/** GPT-2's own layout, or the Llama layout (Llama, Qwen2, Qwen3). */
export function isLlamaLayout(c: ModelConfig): c is LlamaConfig {
  return c.modelType !== 'gpt2';
}

/** The longest context NextToken allocates a KV cache for: SmolLM2 declares 8192, which would cost
 * hundreds of MB of cache for conversations a learner never reaches. */
export const MAX_CONTEXT = 2048;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function positiveInt(json: Record<string, unknown>, key: string, file: string): number {
  const v = json[key];
  if (v === undefined) throw new ConfigError(`${file}: "${key}" is missing; this model type needs it (a positive whole number)`);
  if (!Number.isInteger(v) || (v as number) <= 0) {
    throw new ConfigError(`${file}: "${key}" must be a positive whole number, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!json || typeof json !== 'object') throw new ConfigError(`${file}: expected a JSON object`);
  const c = json as Record<string, unknown>;
  const type = c.model_type;
  if (type === 'llama' || type === 'qwen2' || type === 'qwen3') return parseLlama(c, file, type);
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

function parseLlama(c: Record<string, unknown>, file: string, type: LlamaConfig['modelType']): LlamaConfig {
  const num = (key: string, fallback: number) => (typeof c[key] === 'number' ? (c[key] as number) : fallback);
  // What the engine does not implement is refused by name, never computed some other way.
  if (c.rope_scaling != null) {
    throw new ConfigError(`${file}: rope_scaling ${JSON.stringify(c.rope_scaling)} is not supported: NextToken implements plain rotary embeddings (as in SmolLM2, TinyLlama, Qwen2.5 and Qwen3 at their native context), not scaled ones. Pick a model without rope_scaling.`);
  }
  if (c.use_sliding_window === true) {
    throw new ConfigError(`${file}: use_sliding_window is true: sliding-window attention is not supported (NextToken attends over the whole context). Pick a model with use_sliding_window false.`);
  }
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ConfigError(`${file}: hidden_act "${String(act)}" is not supported (the Llama layout uses "silu")`);
  const nEmbd = positiveInt(c, 'hidden_size', file);
  const nHead = positiveInt(c, 'num_attention_heads', file);
  const nKvHead = c.num_key_value_heads == null ? nHead : positiveInt(c, 'num_key_value_heads', file);
  const headDim = c.head_dim == null ? nEmbd / nHead : positiveInt(c, 'head_dim', file);
  if (!Number.isInteger(headDim)) throw new ConfigError(`${file}: hidden_size (${nEmbd}) must be divisible by num_attention_heads (${nHead})`);
  if (nHead % nKvHead !== 0) throw new ConfigError(`${file}: num_attention_heads (${nHead}) must be a multiple of num_key_value_heads (${nKvHead})`);
  if (headDim % 2 !== 0) throw new ConfigError(`${file}: the head size (${headDim}) must be even for rotary embeddings`);
  const declared = positiveInt(c, 'max_position_embeddings', file);
  const eos = c.eos_token_id;
  return {
    modelType: type,
    vocabSize: positiveInt(c, 'vocab_size', file),
    contextLength: Math.min(declared, MAX_CONTEXT),
    declaredContextLength: declared,
    nEmbd,
    nLayer: positiveInt(c, 'num_hidden_layers', file),
    nHead,
    nKvHead,
    headDim,
    intermediateSize: positiveInt(c, 'intermediate_size', file),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    // The Hugging Face LlamaConfig default is false: a head of its own unless config.json says otherwise.
    tieWordEmbeddings: c.tie_word_embeddings === true,
    attentionBias: c.attention_bias === true,
    // Qwen2 has no flag for its q/k/v biases (the loader reads them where the file has them).
    qkvBias: type === 'qwen2',
    qkNorm: type === 'qwen3',
    mlpBias: c.mlp_bias === true,
    eosTokenId: Number.isInteger(eos) || Array.isArray(eos) ? (eos as number | number[]) : null,
  };
}
