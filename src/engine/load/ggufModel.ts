// A GGUF file as the model files the engine builds from: config.json, tokenizer.json and tokenizer_config.json
// rebuilt from its metadata, and its tensors under Hugging Face's names and layouts — Q8_0 and Q4_0 matrices
// handed over as blocks (nothing re-quantized), the rest as floats.
//
// The easy-to-miss part: llama.cpp's `llama` architecture rotates adjacent pairs of each head's dimensions,
// and its converter permuted the q and k rows of a Hugging Face Llama into that order; the engine rotates
// halves (Hugging Face's layout), so those rows are put back. Qwen2 and Qwen3 files are written unpermuted.
import { dequantize, QuantMatrix, type QuantBlocks, type WeightDType } from '../runtime/quant.ts';
import { GgufError, parseGguf, type GgufFile, type GgufTensor, type GgufValue } from './gguf.ts';
import { bytesStore, type TensorStore } from './ggufStream.ts';
import type { ModelFiles } from './load.ts';
import { sentencePieceTokenizerJson } from './sentencePiece.ts';
import { transpose, type WeightSource } from '../model/weights.ts';

export const GGUF_ARCHITECTURES = ['gpt2', 'llama', 'qwen2', 'qwen3'] as const;

/** Byte-level BPE pre-tokenizers by tokenizer.ggml.pre: the split each model's own tokenizer.json makes. */
const PRE_TOKENIZERS: Record<string, object> = {
  'gpt-2': { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  qwen2: splitThenBytes("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
  'llama-bpe': splitThenBytes("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
};
PRE_TOKENIZERS.default = PRE_TOKENIZERS['gpt-2'];

function splitThenBytes(regex: string): object {
  return {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    ],
  };
}

/** The model files of a GGUF file's bytes; `name` names it in messages and in the app. */
export function ggufModelFiles(name: string, bytes: Uint8Array): ModelFiles {
  const gguf = parseGguf(bytes, name);
  return ggufModelFilesOf(name, gguf, bytesStore(gguf, bytes));
}

/** The model files of a parsed GGUF whose tensors come from `store` (the bytes in memory, or what a stream left). */
export function ggufModelFilesOf(name: string, gguf: GgufFile, store: TensorStore): ModelFiles {
  const meta = (key: string): GgufValue | undefined => gguf.metadata.get(key);
  const arch = String(meta('general.architecture') ?? '');
  if (!(GGUF_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new GgufError(`${name}: architecture "${arch || '(none)'}" is not one NextToken runs. It reads GGUF files of these architectures: ${GGUF_ARCHITECTURES.join(', ')}.`);
  }
  const num = (key: string): number | undefined => {
    const v = meta(`${arch}.${key}`);
    return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
  };
  const required = (key: string): number => {
    const v = num(key);
    if (v === undefined) throw new GgufError(`${name}: the metadata has no ${arch}.${key}, which this architecture needs.`);
    return v;
  };
  const tokenizer = tokenizerOf(gguf, name);
  const template = meta('tokenizer.chat_template'); // either tokenizer kind
  if (typeof template === 'string') tokenizer.config.chat_template = template;
  const vocabSize = gguf.tensors.get('token_embd.weight')?.ne[1] ?? tokenizer.tokens;
  const tied = !gguf.tensors.has('output.weight');
  const bos = num2(meta('tokenizer.ggml.bos_token_id'));
  const eos = num2(meta('tokenizer.ggml.eos_token_id'));
  const H = required('attention.head_count');
  const D = required('embedding_length');
  const config: Record<string, unknown> =
    arch === 'gpt2'
      ? { model_type: 'gpt2', vocab_size: vocabSize, n_positions: required('context_length'), n_embd: D, n_layer: required('block_count'), n_head: H, n_inner: num('feed_forward_length'), layer_norm_epsilon: num('attention.layer_norm_epsilon') ?? 1e-5, eos_token_id: eos, bos_token_id: bos }
      : {
          model_type: arch,
          vocab_size: vocabSize,
          hidden_size: D,
          intermediate_size: required('feed_forward_length'),
          num_hidden_layers: required('block_count'),
          num_attention_heads: H,
          num_key_value_heads: num('attention.head_count_kv') ?? H,
          head_dim: num('attention.key_length') ?? D / H,
          max_position_embeddings: required('context_length'),
          rms_norm_eps: num('attention.layer_norm_rms_epsilon') ?? 1e-6,
          rope_theta: num('rope.freq_base') ?? 10000,
          tie_word_embeddings: tied,
          // No metadata says so: by the tensors the file has (Qwen2's q/k/v biases are implied by its type).
          attention_bias: arch === 'llama' && gguf.tensors.has('blk.0.attn_output.bias'),
          mlp_bias: gguf.tensors.has('blk.0.ffn_up.bias'),
          eos_token_id: eos,
          bos_token_id: bos,
        };
  const weights = ggufWeights(gguf, store, name, arch, config);
  // llama.cpp's end-of-turn token also ends generation (stories15M's is BOS: its stories were separated by BOS alone).
  const eot = num2(meta('tokenizer.ggml.eot_token_id'));
  return {
    name,
    config,
    tokenizer: tokenizer.json,
    tokenizerConfig: tokenizer.config,
    generationConfig: { eos_token_id: [eos, eot].filter((v) => v !== undefined) },
    weights,
    weightBytes: [...gguf.tensors.values()].reduce((n, t) => n + t.bytes, 0),
  };
}

/** The piece whose id the metadata key holds (tokenizer.ggml.bos_token_id …), if any. */
function tokenNamed(gguf: GgufFile, pieces: string[], key: string): string | undefined {
  const id = num2(gguf.metadata.get(key));
  return id !== undefined && id < pieces.length ? pieces[id] : undefined;
}

function num2(v: GgufValue | undefined): number | undefined {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
}

/** tokenizer.json and tokenizer_config.json from the tokenizer.ggml.* metadata. */
function tokenizerOf(gguf: GgufFile, name: string): { json: object; config: Record<string, unknown>; tokens: number } {
  const meta = (key: string) => gguf.metadata.get(key);
  const kind = String(meta('tokenizer.ggml.model') ?? '');
  const tokens = meta('tokenizer.ggml.tokens');
  if (!Array.isArray(tokens)) throw new GgufError(`${name}: the metadata has no tokenizer.ggml.tokens, so the text cannot be tokenized.`);
  if (kind === 'llama') return sentencePieceOf(gguf, name, tokens.map(String));
  if (kind !== 'gpt2') {
    throw new GgufError(`${name}: tokenizer kind "${kind}" (tokenizer.ggml.model) is one NextToken cannot build yet; it builds the byte-level BPE kind "gpt2" (GPT-2, SmolLM2, Qwen) and the SentencePiece kind "llama" (Llama 2, TinyLlama, llama2.c). Use the model's safetensors files (with tokenizer.json) instead.`);
  }
  const pre = String(meta('tokenizer.ggml.pre') ?? 'default');
  const preTokenizer = PRE_TOKENIZERS[pre];
  if (!preTokenizer) throw new GgufError(`${name}: pre-tokenizer "${pre}" (tokenizer.ggml.pre) is one NextToken cannot build yet; it builds ${Object.keys(PRE_TOKENIZERS).join(', ')}. Use the model's safetensors files (with tokenizer.json) instead.`);
  const merges = meta('tokenizer.ggml.merges');
  if (!Array.isArray(merges)) throw new GgufError(`${name}: a "gpt2" tokenizer needs tokenizer.ggml.merges, which the metadata does not have.`);
  const types = (meta('tokenizer.ggml.token_type') as number[] | undefined) ?? [];
  const vocab: Record<string, number> = {};
  tokens.forEach((t, id) => (vocab[String(t)] = id));
  // Control (3) and user-defined (4) tokens are matched whole before the BPE, as tokenizer.json's added_tokens.
  const added = tokens.flatMap((t, id) => (types[id] === 3 || types[id] === 4 ? [{ id, content: String(t), single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[id] === 3 }] : []));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: merges.map(String) },
  };
  const tokenAt = (key: string) => tokenNamed(gguf, tokens.map(String), key);
  const config: Record<string, unknown> = {
    tokenizer_class: 'GPT2Tokenizer',
    bos_token: tokenAt('tokenizer.ggml.bos_token_id'),
    eos_token: tokenAt('tokenizer.ggml.eos_token_id'),
    add_bos_token: meta('tokenizer.ggml.add_bos_token') === true,
    clean_up_tokenization_spaces: false,
  };
  return { json, config, tokens: tokens.length };
}

/** The `llama` kind: SentencePiece BPE with byte fallback, ranked by tokenizer.ggml.scores (sentencePiece.ts). */
function sentencePieceOf(gguf: GgufFile, name: string, pieces: string[]): { json: object; config: Record<string, unknown>; tokens: number } {
  const meta = (key: string) => gguf.metadata.get(key);
  const scores = meta('tokenizer.ggml.scores');
  const types = meta('tokenizer.ggml.token_type');
  if (!Array.isArray(scores) || !Array.isArray(types) || scores.length !== pieces.length || types.length !== pieces.length) {
    throw new GgufError(`${name}: a "llama" tokenizer needs tokenizer.ggml.scores and tokenizer.ggml.token_type, one per token, which the metadata does not have.`);
  }
  const tokenAt = (key: string) => tokenNamed(gguf, pieces, key);
  if (meta('tokenizer.ggml.add_space_prefix') === false) {
    throw new GgufError(`${name}: its SentencePiece tokenizer adds no space before the text (tokenizer.ggml.add_space_prefix = false), which NextToken cannot build yet. Use the model's safetensors files (with tokenizer.json) instead.`);
  }
  const addBos = meta('tokenizer.ggml.add_bos_token');
  const config: Record<string, unknown> = {
    tokenizer_class: 'LlamaTokenizer',
    bos_token: tokenAt('tokenizer.ggml.bos_token_id'),
    eos_token: tokenAt('tokenizer.ggml.eos_token_id'),
    unk_token: tokenAt('tokenizer.ggml.unknown_token_id'),
    add_bos_token: addBos === undefined ? true : addBos === true, // llama.cpp's default for this kind: BOS first
    clean_up_tokenization_spaces: false,
  };
  const json = sentencePieceTokenizerJson({ pieces, scores: scores.map(Number), types: types.map(Number) });
  return { json, config, tokens: pieces.length };
}

interface Mapped {
  tensor: GgufTensor;
  /** Hugging Face's shape for this name. */
  shape: number[];
  /** GPT-2's Conv1D matrices are [in, out] in Hugging Face's files, [out, in] in GGUF. */
  transposed: boolean;
}

function ggufWeights(gguf: GgufFile, store: TensorStore, file: string, arch: string, config: Record<string, unknown>): WeightSource {
  const map = new Map<string, Mapped>();
  const add = (hf: string, gg: string, opts: { transposed?: boolean } = {}) => {
    const tensor = gguf.tensors.get(gg);
    if (!tensor) return;
    const numpy = [...tensor.ne].reverse(); // [out, in] for a matrix
    map.set(hf, { tensor, shape: opts.transposed ? [numpy[1], numpy[0]] : numpy, transposed: !!opts.transposed });
  };
  const L = Number(arch === 'gpt2' ? config.n_layer : config.num_hidden_layers);
  if (arch === 'gpt2') {
    add('wte.weight', 'token_embd.weight');
    add('wpe.weight', 'position_embd.weight');
    add('ln_f.weight', 'output_norm.weight');
    add('ln_f.bias', 'output_norm.bias');
    for (let i = 0; i < L; i++) {
      const [h, b] = [`h.${i}.`, `blk.${i}.`];
      for (const [hf, gg, matrix] of [['ln_1', 'attn_norm', false], ['attn.c_attn', 'attn_qkv', true], ['attn.c_proj', 'attn_output', true], ['ln_2', 'ffn_norm', false], ['mlp.c_fc', 'ffn_up', true], ['mlp.c_proj', 'ffn_down', true]] as const) {
        add(`${h}${hf}.weight`, `${b}${gg}.weight`, { transposed: matrix });
        add(`${h}${hf}.bias`, `${b}${gg}.bias`);
      }
    }
  } else {
    add('model.embed_tokens.weight', 'token_embd.weight');
    add('lm_head.weight', 'output.weight');
    add('model.norm.weight', 'output_norm.weight');
    for (let i = 0; i < L; i++) {
      const [h, b] = [`model.layers.${i}.`, `blk.${i}.`];
      add(`${h}input_layernorm.weight`, `${b}attn_norm.weight`);
      add(`${h}post_attention_layernorm.weight`, `${b}ffn_norm.weight`);
      // llama's q/k rows come back in Hugging Face's order from the store (ggufRows.ts).
      for (const [proj, gg] of [['q_proj', 'attn_q'], ['k_proj', 'attn_k'], ['v_proj', 'attn_v'], ['o_proj', 'attn_output']] as const) {
        add(`${h}self_attn.${proj}.weight`, `${b}${gg}.weight`);
        add(`${h}self_attn.${proj}.bias`, `${b}${gg}.bias`);
      }
      add(`${h}self_attn.q_norm.weight`, `${b}attn_q_norm.weight`);
      add(`${h}self_attn.k_norm.weight`, `${b}attn_k_norm.weight`);
      for (const [proj, gg] of [['gate_proj', 'ffn_gate'], ['up_proj', 'ffn_up'], ['down_proj', 'ffn_down']] as const) add(`${h}mlp.${proj}.weight`, `${b}${gg}.weight`);
    }
  }
  const get = (name: string): Mapped => {
    const m = map.get(name);
    if (!m) throw new GgufError(`${file}: tensor for "${name}" is missing`);
    return m;
  };
  // The file's precision: its matrices' most common quantized type (a Q4_K_M-style mix is refused by the reader).
  const counts = { q8_0: 0, q4_0: 0 };
  for (const t of gguf.tensors.values()) if (t.type === 'Q8_0') counts.q8_0++;
  else if (t.type === 'Q4_0') counts.q4_0++;
  const nativeDType: WeightDType = counts.q8_0 + counts.q4_0 === 0 ? 'f32' : counts.q8_0 >= counts.q4_0 ? 'q8_0' : 'q4_0';
  return {
    nativeDType,
    describe: (name) => (map.has(name) ? `${file} (tensor "${map.get(name)!.tensor.name}")` : file),
    shape: (name) => map.get(name)?.shape,
    read: (name) => {
      const m = get(name);
      const value = store.take(m.tensor);
      const data = value instanceof Float32Array ? value : dequantize(value instanceof QuantMatrix ? value.arena.blocks(value) : value); // the engine's own dequantization
      return m.transposed ? transpose(data, m.tensor.ne[1] ?? 1, m.tensor.ne[0]) : data;
    },
    quantized: (name) => {
      const m = map.get(name);
      if (!m || (m.tensor.type !== 'Q8_0' && m.tensor.type !== 'Q4_0')) return undefined;
      return store.take(m.tensor) as QuantBlocks | QuantMatrix;
    },
    get arena() {
      return store.arena ?? undefined; // gone once released
    },
    release: () => store.release(),
  };
}
