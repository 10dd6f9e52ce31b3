// Writes a model of SmolLM2-135M's shape (Llama architecture: 30 layers, width 576, 9 query heads and 3
// key/value heads of 64, SwiGLU MLP 1,536, tied embeddings, RoPE θ = 100,000) with random float32 weights and
// GPT-2's tokenizer, so its table has 50,257 rows where SmolLM2's has 49,152 (135M parameters become 136M).
// For speed measurements on the Llama shape people chat with, without the network (bench:peer's
// `--models smollm2-135m`):  npx tsx tools/smollm2-135m-shape.ts [out-dir]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gpt2TokenizerJson } from './gpt2-124m.ts';
import { writeRandomSafetensors } from './safetensorsFile.ts';

export const SMOLLM2_135M = { hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, rope_theta: 100000, rms_norm_eps: 1e-5, max_position_embeddings: 8192 };

/** Writes the model folder; returns the parameter count. */
export function writeSmolLM2Shape(out: string, seed = 1): number {
  const { hidden_size: D, intermediate_size: I, num_hidden_layers: L, num_attention_heads: H, num_key_value_heads: KV } = SMOLLM2_135M;
  const V = 50257;
  const hd = D / H;
  const tensors: [string, number[]][] = [['model.embed_tokens.weight', [V, D]]];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}.`;
    tensors.push([p + 'input_layernorm.weight', [D]], [p + 'post_attention_layernorm.weight', [D]]);
    tensors.push([p + 'self_attn.q_proj.weight', [H * hd, D]], [p + 'self_attn.k_proj.weight', [KV * hd, D]], [p + 'self_attn.v_proj.weight', [KV * hd, D]], [p + 'self_attn.o_proj.weight', [D, H * hd]]);
    tensors.push([p + 'mlp.gate_proj.weight', [I, D]], [p + 'mlp.up_proj.weight', [I, D]], [p + 'mlp.down_proj.weight', [D, I]]);
  }
  tensors.push(['model.norm.weight', [D]]);
  mkdirSync(out, { recursive: true });
  const params = writeRandomSafetensors(join(out, 'model.safetensors'), tensors, { seed, isNorm: (name) => name.endsWith('norm.weight') });
  const config = { model_type: 'llama', architectures: ['LlamaForCausalLM'], ...SMOLLM2_135M, vocab_size: V, head_dim: hd, hidden_act: 'silu', tie_word_embeddings: true, attention_bias: false, mlp_bias: false, bos_token_id: 50256, eos_token_id: 50256, torch_dtype: 'float32' };
  writeFileSync(join(out, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson()));
  writeFileSync(join(out, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GPT2Tokenizer', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', add_bos_token: false, add_prefix_space: false, model_max_length: 8192 }));
  return params;
}

if (process.argv[1]?.endsWith('smollm2-135m-shape.ts')) {
  const out = process.argv[2] ?? '.cache/smollm2-135m-random';
  console.log(`wrote ${out}: ${writeSmolLM2Shape(out)} parameters`);
}
